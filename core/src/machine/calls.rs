//! The calls a verification has seen, and what became of each.
//!
//! Phones report one call several times: the ringing broadcast while it
//! rings (on Android 9+ twice), the call-log row once it has ended, a
//! call-screening callback before it rings. Every presentation of one call
//! carries the same code, so calls are told apart by their code. Each call
//! is checked by the server once; a check that failed for a reason that has
//! nothing to do with the code (no network, a timeout, a 5xx) is tried
//! again, so that a code is never lost to a bad moment of the network.

use std::time::{Duration, SystemTime};

/// Wait before the first retry of a check that failed in transit; doubled
/// for each further failure.
const FIRST_RETRY: Duration = Duration::from_secs(1);
/// Longest wait between two retries.
const MAX_RETRY: Duration = Duration::from_secs(30);

/// What became of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The server is checking it now.
    Checking,
    /// Its check failed in transit; try again at `at`.
    RetryAt { at: SystemTime },
    /// The server refused its code.
    Refused,
}

/// One call, by its code.
#[derive(Debug)]
struct SeenCall {
    code: String,
    /// The number as the phone showed it, sent again on a retry so that the
    /// server still does the matching. Empty for a typed code.
    number: String,
    verdict: Verdict,
    /// How often its check failed in transit, for the backoff.
    failures: u32,
}

/// The calls of one caller pattern (one code); a resend starts anew.
#[derive(Debug, Default)]
pub(super) struct SeenCalls {
    calls: Vec<SeenCall>,
}

impl SeenCalls {
    /// What became of the call carrying `code`, if it was seen.
    pub(super) fn verdict(&self, code: &str) -> Option<Verdict> {
        self.find(code).map(|call| call.verdict)
    }

    /// The call from `number`, carrying `code`, is being checked.
    pub(super) fn checking(&mut self, code: &str, number: &str) {
        self.set(code, Verdict::Checking);
        if let Some(call) = self.find_mut(code) {
            call.number = number.to_owned();
        }
    }

    /// The server refused `code`, whether it came from a call or was typed.
    pub(super) fn refused(&mut self, code: &str) {
        self.set(code, Verdict::Refused);
    }

    /// The check of `code` failed in transit at `now`; `retry_after` is the
    /// server's own wait, when it gave one. Returns when to try again.
    pub(super) fn failed_in_transit(
        &mut self,
        code: &str,
        now: SystemTime,
        retry_after: Option<Duration>,
    ) -> SystemTime {
        let failures = self.find(code).map_or(0, |call| call.failures) + 1;
        let backoff = FIRST_RETRY
            .saturating_mul(1 << (failures - 1).min(16))
            .min(MAX_RETRY);
        let at = now + retry_after.map_or(backoff, |wait| wait.max(backoff));
        self.set(code, Verdict::RetryAt { at });
        if let Some(call) = self.find_mut(code) {
            call.failures = failures;
        }
        at
    }

    /// The code and number of a call whose retry is due at `now`, if any.
    pub(super) fn due(&self, now: SystemTime) -> Option<(String, String)> {
        self.calls.iter().find_map(|call| match call.verdict {
            Verdict::RetryAt { at } if at <= now => Some((call.code.clone(), call.number.clone())),
            _ => None,
        })
    }

    /// When the next retry is due.
    pub(super) fn next_retry(&self) -> Option<SystemTime> {
        self.calls
            .iter()
            .filter_map(|call| match call.verdict {
                Verdict::RetryAt { at } => Some(at),
                _ => None,
            })
            .min()
    }

    fn find(&self, code: &str) -> Option<&SeenCall> {
        self.calls.iter().find(|call| call.code == code)
    }

    fn find_mut(&mut self, code: &str) -> Option<&mut SeenCall> {
        self.calls.iter_mut().find(|call| call.code == code)
    }

    fn set(&mut self, code: &str, verdict: Verdict) {
        match self.find_mut(code) {
            Some(call) => call.verdict = verdict,
            None => self.calls.push(SeenCall {
                code: code.to_owned(),
                number: String::new(),
                verdict,
                failures: 0,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn retries_back_off_and_are_capped() {
        let mut calls = SeenCalls::default();
        calls.checking("123", "+442079460123");
        assert_eq!(calls.failed_in_transit("123", t(0), None), t(1));
        // Checking it again keeps the count of failures.
        calls.checking("123", "+442079460123");
        assert_eq!(calls.failed_in_transit("123", t(1), None), t(3));
        assert_eq!(calls.failed_in_transit("123", t(3), None), t(7));
        for _ in 0..20 {
            calls.failed_in_transit("123", t(100), None);
        }
        assert_eq!(calls.next_retry(), Some(t(130)));
        assert_eq!(calls.due(t(129)), None);
        let due = calls.due(t(130)).unwrap();
        assert_eq!((due.0.as_str(), due.1.as_str()), ("123", "+442079460123"));
    }

    #[test]
    fn the_servers_wait_is_respected() {
        let mut calls = SeenCalls::default();
        let at = calls.failed_in_transit("123", t(0), Some(Duration::from_secs(20)));
        assert_eq!(at, t(20));
    }

    #[test]
    fn a_refusal_is_final() {
        let mut calls = SeenCalls::default();
        calls.checking("123", "+442079460123");
        calls.refused("123");
        assert_eq!(calls.verdict("123"), Some(Verdict::Refused));
        assert_eq!(calls.next_retry(), None);
        assert_eq!(calls.verdict("456"), None);
    }
}
