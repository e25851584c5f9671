//! Approval tokens: JWTs signed with Ed25519 (`alg: EdDSA`).
//!
//! Why JWT rather than PASETO v4.public: both sign with Ed25519, but an
//! app's backend is written in whatever its team uses, and every mainstream
//! JOSE library (Node `jose`, Python `PyJWT`/`joserfc`, Java `nimbus`, Go
//! `go-jose`, …) verifies EdDSA JWTs against a JWKS URL, while PASETO
//! libraries are fewer and less maintained. JWT's well-known weakness,
//! algorithm confusion, does not apply here: this server signs and accepts
//! `EdDSA` only and never reads `alg` to pick a key; verifiers should pin
//! `EdDSA` too (the README says so). The format is small enough to write
//! directly over `ed25519-dalek`, with no JOSE dependency.
//!
//! Claims: `iss`, `sub` (the verified number, E.164), `aud` (the app id),
//! `iat` (= verification time), `exp`, `jti` (the verification id), and
//! `test: true` for a configured test number.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The claims of an approval token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (`tokens.issuer`).
    pub iss: String,
    /// The verified phone number, E.164.
    pub sub: String,
    /// The app the verification belongs to.
    pub aud: String,
    /// When the number was verified (seconds since the epoch).
    pub iat: i64,
    /// When the token stops being valid (seconds since the epoch).
    pub exp: i64,
    /// The verification id.
    pub jti: String,
    /// Present and `true` when the number is a configured test number
    /// (fixed code, no call): an app's backend may refuse such sign-ins.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: String,
    kid: String,
}

/// Signs and checks tokens with the server's Ed25519 key.
pub struct TokenSigner {
    key: SigningKey,
    kid: String,
}

impl TokenSigner {
    /// From the 32-byte Ed25519 seed.
    pub fn new(seed: [u8; 32]) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(key.verifying_key().as_bytes())[..12]);
        Self { key, kid }
    }

    /// The key id in token headers and the JWKS.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// A compact JWS over `claims`.
    pub fn sign(&self, claims: &Claims) -> String {
        let header = Header {
            alg: "EdDSA".into(),
            typ: "JWT".into(),
            kid: self.kid.clone(),
        };
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("header"));
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims"));
        let signing_input = format!("{header}.{payload}");
        let signature = self.key.sign(signing_input.as_bytes());
        format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.to_bytes())
        )
    }

    /// The claims of `token` if its signature is ours and its header says
    /// `EdDSA` with our key id. Expiry and audience are the caller's to check.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        if token.len() > 4096 {
            return None;
        }
        let mut parts = token.split('.');
        let (header_b64, payload_b64, sig_b64) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header: Header =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header_b64).ok()?).ok()?;
        if header.alg != "EdDSA" || header.kid != self.kid {
            return None;
        }
        let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(sig_b64).ok()?.try_into().ok()?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        self.key
            .verifying_key()
            .verify(signing_input.as_bytes(), &Signature::from_bytes(&sig))
            .ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload_b64).ok()?).ok()
    }

    /// The JWKS document (`GET /v1/keys`): one OKP/Ed25519 key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "use": "sig",
                "alg": "EdDSA",
                "kid": self.kid,
                "x": URL_SAFE_NO_PAD.encode(self.key.verifying_key().as_bytes()),
            }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            iss: "motp".into(),
            sub: "+447700900123".into(),
            aud: "app_1".into(),
            iat: 1_700_000_000,
            exp: 1_700_000_600,
            jti: "vf_1".into(),
            test: false,
        }
    }

    #[test]
    fn sign_then_verify() {
        let signer = TokenSigner::new([9; 32]);
        let token = signer.sign(&claims());
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(signer.verify(&token), Some(claims()));
    }

    #[test]
    fn tampering_and_foreign_keys_are_rejected() {
        let signer = TokenSigner::new([9; 32]);
        let token = signer.sign(&claims());
        let mut other = claims();
        other.sub = "+447700900999".into();
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&other).unwrap());
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(signer.verify(&forged), None);
        assert_eq!(TokenSigner::new([8; 32]).verify(&token), None);
        // alg: none, HS256 and friends are never accepted.
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"x"}"#);
        assert_eq!(signer.verify(&format!("{none_header}.{}.", parts[1])), None);
        for junk in ["", ".", "..", "a.b.c", "a.b.c.d", &"x".repeat(10_000)] {
            assert_eq!(signer.verify(junk), None);
        }
    }

    #[test]
    fn jwks_publishes_the_public_key() {
        let signer = TokenSigner::new([9; 32]);
        let jwks = signer.jwks();
        let x = jwks["keys"][0]["x"].as_str().unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.decode(x).unwrap(),
            signer.verifying_key().as_bytes()
        );
        assert_eq!(jwks["keys"][0]["kid"], signer.kid());
    }
}
