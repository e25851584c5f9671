//! One-time codes: drawn from the OS CSPRNG uniformly over the configured
//! caller ranges, stored only as an HMAC-SHA256 under a server key, and
//! compared in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::CallerRange;

type HmacSha256 = Hmac<Sha256>;

/// NIST SP 800-63B asks for 20 bits in out-of-band secrets: about 10^6.
pub const RECOMMENDED_MIN_RANGE: u64 = 1_000_000;

/// A freshly drawn code and the range it belongs to.
#[derive(Clone, PartialEq, Eq)]
pub struct DrawnCode {
    /// Index of the range in the configuration.
    pub range: usize,
    /// The digits (leading zeros kept). Secret.
    pub code: String,
}

impl std::fmt::Debug for DrawnCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrawnCode")
            .field("range", &self.range)
            .field("code", &"<secret>")
            .finish()
    }
}

/// The caller ranges and the key codes are stored under.
pub struct CodeBook {
    ranges: Vec<CallerRange>,
    total: u64,
    key: Vec<u8>,
}

impl CodeBook {
    /// `ranges` must be non-empty and validated; `key` is the HMAC key.
    pub fn new(ranges: Vec<CallerRange>, key: Vec<u8>) -> Self {
        let total = ranges
            .iter()
            .fold(0u64, |acc, r| acc.saturating_add(r.size()));
        Self { ranges, total, key }
    }

    /// The configured ranges.
    pub fn ranges(&self) -> &[CallerRange] {
        &self.ranges
    }

    /// Ranges smaller than [`RECOMMENDED_MIN_RANGE`], for the start-up warning.
    pub fn weak_ranges(&self) -> impl Iterator<Item = &CallerRange> {
        self.ranges
            .iter()
            .filter(|r| r.size() < RECOMMENDED_MIN_RANGE)
    }

    /// Draws a code uniformly over the union of all ranges: every
    /// (range, digits) pair is equally likely.
    pub fn draw(&self) -> Result<DrawnCode, getrandom::Error> {
        let mut pick = uniform_below(self.total)?;
        for (index, range) in self.ranges.iter().enumerate() {
            if pick < range.size() {
                let code = format!("{:0width$}", pick, width = usize::from(range.code_length));
                return Ok(DrawnCode { range: index, code });
            }
            pick -= range.size();
        }
        unreachable!("pick < total = sum of range sizes")
    }

    /// HMAC-SHA256 of the code, bound to the verification and the range so
    /// a stored MAC cannot be replayed onto another row.
    pub fn mac(&self, verification_id: &str, prefix: &str, code: &str) -> Vec<u8> {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        for part in [verification_id, prefix, code] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().to_vec()
    }

    /// Whether `code` is the one `stored` was made from, in constant time.
    pub fn verify(&self, verification_id: &str, prefix: &str, code: &str, stored: &[u8]) -> bool {
        let candidate = self.mac(verification_id, prefix, code);
        candidate.ct_eq(stored).into()
    }
}

/// A uniform integer in `0..bound` from the OS CSPRNG (rejection sampling,
/// so no modulo bias). `bound` must be at least 1.
pub fn uniform_below(bound: u64) -> Result<u64, getrandom::Error> {
    debug_assert!(bound > 0);
    let bound = bound.max(1);
    // The largest multiple of `bound` that fits; values at or above it are
    // redrawn (probability < 1/2 per draw, usually negligible).
    let zone = u64::MAX - (u64::MAX % bound + 1) % bound;
    loop {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes)?;
        let value = u64::from_le_bytes(bytes);
        if value <= zone {
            return Ok(value % bound);
        }
    }
}

/// `n` random bytes from the OS CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).expect("the OS random number generator failed");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(prefix: &str, len: u8) -> CallerRange {
        CallerRange {
            prefix: prefix.into(),
            code_length: len,
        }
    }

    #[test]
    fn draws_keep_leading_zeros_and_cover_every_range() {
        let book = CodeBook::new(vec![range("+4420", 2), range("+4421", 1)], vec![7; 32]);
        let mut seen = [0u32; 2];
        let mut codes = std::collections::HashSet::new();
        for _ in 0..20_000 {
            let drawn = book.draw().unwrap();
            let len = usize::from(book.ranges()[drawn.range].code_length);
            assert_eq!(drawn.code.len(), len);
            assert!(drawn.code.bytes().all(|b| b.is_ascii_digit()));
            seen[drawn.range] += 1;
            codes.insert((drawn.range, drawn.code));
        }
        // 100 + 10 codes, all reachable.
        assert_eq!(codes.len(), 110);
        // Weighted by size: the 2-digit range gets ~100/110 of the draws.
        let share = f64::from(seen[0]) / 20_000.0;
        assert!((0.88..0.94).contains(&share), "share {share}");
    }

    #[test]
    fn uniform_below_is_roughly_flat() {
        let mut counts = [0u32; 10];
        for _ in 0..50_000 {
            counts[uniform_below(10).unwrap() as usize] += 1;
        }
        for c in counts {
            assert!((4_500..5_500).contains(&c), "{counts:?}");
        }
        assert_eq!(uniform_below(1).unwrap(), 0);
        assert!(uniform_below(u64::MAX).is_ok());
    }

    #[test]
    fn mac_binds_code_verification_and_prefix() {
        let book = CodeBook::new(vec![range("+4420", 4)], vec![1; 32]);
        let stored = book.mac("v1", "+4420", "0123");
        assert!(book.verify("v1", "+4420", "0123", &stored));
        assert!(!book.verify("v1", "+4420", "0124", &stored));
        assert!(!book.verify("v2", "+4420", "0123", &stored));
        assert!(!book.verify("v1", "+4421", "0123", &stored));
        assert!(!book.verify("v1", "+4420", "0123", &stored[..31]));
        let other_key = CodeBook::new(vec![range("+4420", 4)], vec![2; 32]);
        assert!(!other_key.verify("v1", "+4420", "0123", &stored));
    }

    #[test]
    fn weak_ranges_are_reported() {
        let book = CodeBook::new(vec![range("+4420", 4), range("+4421", 6)], vec![0; 32]);
        let weak: Vec<_> = book.weak_ranges().map(|r| r.prefix.clone()).collect();
        assert_eq!(weak, ["+4420"]);
    }

    #[test]
    fn drawn_code_debug_hides_the_digits() {
        let d = DrawnCode {
            range: 0,
            code: "4242".into(),
        };
        assert!(!format!("{d:?}").contains("4242"));
    }
}
