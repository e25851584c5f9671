//! The approval token as the demo prints it: the JWT's claims decoded (so
//! a reader sees what the token asserts) and the server's introspection
//! answer beside them (what the app's backend must rely on instead of
//! decoding it).
//!
//! Decoding here checks no signature: it is for display only.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::deadline::Failure;
use super::time_text::rfc3339;
use crate::tokens::Claims;

/// Prints `token`'s claims, noting whether its audience is `app_id`, and the
/// fields of its `introspection`.
pub fn print_token(
    token: &str,
    app_id: &str,
    introspection: &serde_json::Value,
) -> Result<(), Failure> {
    let claims = claims_of(token)?;
    let head: String = token.chars().take(24).collect();
    println!(
        "  token: an EdDSA-signed JWT of {} characters, {head}…",
        token.len()
    );
    let app = if claims.aud == app_id {
        "the app"
    } else {
        "another app?"
    };
    println!("  claims (the JWT payload, decoded):");
    println!("    iss  {:<27} issuer", claims.iss);
    println!("    sub  {:<27} the verified number", claims.sub);
    println!("    aud  {:<27} {app}", claims.aud);
    println!(
        "    iat  {:<27} verified at {}",
        claims.iat,
        rfc3339(claims.iat)
    );
    println!(
        "    exp  {:<27} valid until {} ({} s)",
        claims.exp,
        rfc3339(claims.exp),
        claims.exp - claims.iat
    );
    println!("    jti  {:<27} the verification", claims.jti);
    let field = |name: &str| introspection[name].as_str().unwrap_or("?").to_string();
    println!(
        "  introspection (POST /v1/tokens/introspect with the secret key, as the backend does):"
    );
    println!(
        "    active: true, phone_number {}, verified_at {}, verification_id {}",
        field("phone_number"),
        field("verified_at"),
        field("verification_id"),
    );
    Ok(())
}

/// The claims of a JWT's payload, unverified.
fn claims_of(token: &str) -> Result<Claims, Failure> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| "the token is not a JWT".to_string())?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| format!("the token's payload is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the token's claims are unreadable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_are_read_from_the_payload() {
        let claims = Claims {
            iss: "motp".into(),
            sub: "+447400123456".into(),
            aud: "app_1".into(),
            iat: 1_800_000_000,
            exp: 1_800_000_600,
            jti: "vf_1".into(),
            test: false,
        };
        let token = crate::tokens::TokenSigner::new([7; 32]).sign(&claims);
        assert_eq!(claims_of(&token).unwrap(), claims);
        assert!(claims_of("nope").is_err());
    }
}
