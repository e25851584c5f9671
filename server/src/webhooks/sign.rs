//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>):
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`
//! under the secret's key bytes (the base64 after `whsec_`); several
//! signatures separated by spaces while two secrets are valid.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::codes::random_bytes;

/// The secret prefix of the specification.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and 32 random bytes in base64 (the specification
/// asks for 24 to 64 bytes).
pub fn new_secret() -> String {
    format!("{SECRET_PREFIX}{}", STANDARD.encode(random_bytes::<32>()))
}

/// The key bytes of a `whsec_…` secret.
pub fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
        .filter(|k| !k.is_empty())
}

/// One `v1,…` signature of a message.
pub fn signature(key: &[u8], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// The `webhook-signature` header value: one signature per secret.
pub fn header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .filter_map(|s| key_of(s))
        .map(|key| signature(&key, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's published example (also the test vector of its
    /// reference libraries).
    #[test]
    fn the_specifications_test_vector() {
        let key = key_of("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn two_secrets_two_signatures() {
        let (a, b) = (new_secret(), new_secret());
        assert!(a.starts_with("whsec_") && a != b);
        assert_eq!(key_of(&a).unwrap().len(), 32);
        let h = header(&[&a, &b], "msg_1", 5, b"{}");
        let parts: Vec<&str> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], signature(&key_of(&a).unwrap(), "msg_1", 5, b"{}"));
        assert_eq!(parts[1], signature(&key_of(&b).unwrap(), "msg_1", 5, b"{}"));
    }
}
