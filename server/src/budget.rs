//! The brute-force budget: how likely an attacker is to verify, within one
//! day, a phone number they do not hold (docs/security.md explains it).
//!
//! Every code comes with a call, and every call (create or resend) counts
//! against the destination's caps, which the database enforces across
//! instances. A code is uniform over its range of `N` codes (the attacker
//! learns which range from `caller.prefix`, so the *smallest* range counts)
//! and takes at most `A` guesses before the verification is spent. With at
//! most `C` calls per destination in any 24 hours — `C = min(daily cap,
//! 24 × hourly cap)` — the chance is
//!
//! `P = 1 − (1 − A/N)^C ≤ C·A/N`.
//!
//! The TTL and the resend cooldown do not loosen this bound; they only make
//! an attacker slower (the cooldown and TTL shape *when* calls happen, the
//! caps *how many*).

use crate::config::Config;

/// The inputs of the bound, from a configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BruteForceBudget {
    /// Guesses per code (`codes.max_attempts`).
    pub attempts_per_code: u64,
    /// Codes (calls) per destination in any 24 hours.
    pub codes_per_day: u64,
    /// Codes in the smallest caller range.
    pub range_size: u64,
}

impl BruteForceBudget {
    /// The budget of `config`.
    pub fn of(config: &Config) -> Self {
        let limits = &config.limits;
        Self {
            attempts_per_code: u64::from(config.codes.max_attempts),
            codes_per_day: u64::from(limits.daily_cap_per_destination)
                .min(24 * u64::from(limits.hourly_cap_per_destination)),
            range_size: config
                .codes
                .ranges
                .iter()
                .map(|r| r.size())
                .min()
                .unwrap_or(1),
        }
    }

    /// Guesses an attacker gets per number per day: `C·A`.
    pub fn guesses_per_day(&self) -> u64 {
        self.codes_per_day.saturating_mul(self.attempts_per_code)
    }

    /// The exact chance of success per number per day,
    /// `1 − (1 − A/N)^C` (1 when `A ≥ N`).
    pub fn chance_per_day(&self) -> f64 {
        let per_code = (self.attempts_per_code as f64 / self.range_size as f64).min(1.0);
        1.0 - (1.0 - per_code).powf(self.codes_per_day as f64)
    }

    /// The simple upper bound `C·A/N`.
    pub fn bound_per_day(&self) -> f64 {
        (self.guesses_per_day() as f64 / self.range_size as f64).min(1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallerRange;

    fn config(code_length: u8) -> Config {
        let mut c = Config::default();
        c.codes.ranges = vec![
            CallerRange {
                prefix: "+4420794".into(),
                code_length,
            },
            CallerRange {
                prefix: "+4420795".into(),
                code_length: code_length + 1,
            },
        ];
        c
    }

    /// The figures quoted in docs/security.md, for the default limits.
    #[test]
    fn documented_figures() {
        let six = BruteForceBudget::of(&config(6));
        assert_eq!(
            six,
            BruteForceBudget {
                attempts_per_code: 5,
                codes_per_day: 10,
                range_size: 1_000_000,
            }
        );
        assert_eq!(six.guesses_per_day(), 50);
        assert_eq!(six.bound_per_day(), 5e-5);
        assert!((six.chance_per_day() - 4.99989e-5).abs() < 1e-9);

        let four = BruteForceBudget::of(&config(4));
        assert_eq!(four.bound_per_day(), 5e-3);
        assert!((four.chance_per_day() - 0.0049888).abs() < 1e-6);

        let three = BruteForceBudget::of(&config(3));
        assert!((three.bound_per_day() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn the_tighter_cap_counts() {
        let mut c = config(6);
        c.limits.daily_cap_per_destination = 1_000;
        c.limits.hourly_cap_per_destination = 2;
        assert_eq!(BruteForceBudget::of(&c).codes_per_day, 48);
        c.codes.max_attempts = 2_000_000;
        assert_eq!(BruteForceBudget::of(&c).chance_per_day(), 1.0);
    }
}
