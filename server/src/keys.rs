//! API keys. A *publishable* key (`pk_…`) ships inside the app and may
//! start and check verifications; a *secret* key (`sk_…`) stays on the app's
//! backend and may also introspect tokens. Keys are 192 random bits, so a
//! plain SHA-256 is enough to store them: there is nothing to brute-force.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::codes::random_bytes;

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `pk_…`: verification calls.
    Publishable,
    /// `sk_…`: everything, including token introspection.
    Secret,
}

impl KeyKind {
    /// The key's text prefix, also its name in the database.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::Publishable => "pk_",
            Self::Secret => "sk_",
        }
    }

    /// The kind a key text claims by its prefix.
    pub fn of(key: &str) -> Option<Self> {
        if key.starts_with("pk_") {
            Some(Self::Publishable)
        } else if key.starts_with("sk_") {
            Some(Self::Secret)
        } else {
            None
        }
    }
}

/// A new key of `kind`: the prefix and 24 random bytes in base64url.
pub fn generate(kind: KeyKind) -> String {
    format!(
        "{}{}",
        kind.prefix(),
        URL_SAFE_NO_PAD.encode(random_bytes::<24>())
    )
}

/// What is stored for a key.
pub fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// A new random identifier such as `vf_3k…`: a prefix and 16 random bytes.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<16>()))
}

/// A freshly created pair, printed once by `motp keys create`.
#[derive(Debug, Clone)]
pub struct AppKeys {
    /// The app's identifier (the token audience).
    pub app_id: String,
    /// The app's name.
    pub app_name: String,
    /// `pk_…`
    pub publishable_key: String,
    /// `sk_…`
    pub secret_key: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_their_prefix_and_differ() {
        let a = generate(KeyKind::Publishable);
        let b = generate(KeyKind::Publishable);
        assert!(a.starts_with("pk_") && a.len() == 35);
        assert_ne!(a, b);
        assert_eq!(KeyKind::of(&a), Some(KeyKind::Publishable));
        assert_eq!(
            KeyKind::of(&generate(KeyKind::Secret)),
            Some(KeyKind::Secret)
        );
        assert_eq!(KeyKind::of("xx_1"), None);
        assert_eq!(hash(&a).len(), 32);
        assert_ne!(hash(&a), hash(&b));
    }
}
