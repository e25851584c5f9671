//! A code check in one statement (PostgreSQL): load, verdict and attempt
//! decrement happen in a single `UPDATE … RETURNING`, one round trip and
//! one commit, instead of a `SELECT` and a conditional `UPDATE`.
//!
//! The server computes the candidate's MAC for every configured range with
//! the candidate's length (usually one) and sends them with their prefixes;
//! the statement picks the one for the row's own `caller_prefix`. Its
//! `WHERE` admits only a row that can still be checked (this app's, not
//! final, not past its TTL, attempts left, same code length, a configured
//! prefix); anything else changes nothing and returns no row, and the
//! caller falls back to the general path (which reads the row and answers
//! 404, 409, 410, or a malformed-code 422).
//!
//! Guarantees, on PostgreSQL's row lock: under READ COMMITTED an `UPDATE`
//! that meets a row changed by a concurrent transaction waits for it, then
//! re-evaluates `WHERE` and `SET` on the newest version. So concurrent
//! checks, from any number of instances, each spend exactly one attempt
//! (never below zero), an approval is seen by every later check (single
//! use), and the answer is sent only after the commit.
//!
//! The MAC comparison is PostgreSQL's `bytea` equality, which is not
//! constant-time; both sides are HMAC outputs under the server key, so the
//! time can only reveal how many leading bytes of two unpredictable values
//! agree — nothing about the code (the double-HMAC argument).

use super::{decode_verification, Store, StoreError, VerificationRow};

const CHECK_ONCE: &str = "UPDATE verifications SET \
     status = CASE WHEN code_mac = ($5::bytea[])[array_position($4::text[], caller_prefix)] \
         THEN 'approved' WHEN attempts_left <= 1 THEN 'expired' ELSE status END, \
     attempts_left = CASE WHEN code_mac = ($5::bytea[])[array_position($4::text[], caller_prefix)] \
         THEN attempts_left ELSE attempts_left - 1 END, \
     verified_at = CASE WHEN code_mac = ($5::bytea[])[array_position($4::text[], caller_prefix)] \
         THEN $3 ELSE verified_at END, \
     version = version + 1 \
     WHERE id = $1 AND app_id = $2 AND status IN ('calling', 'ringing', 'delivered') \
     AND expires_at > $3 AND attempts_left > 0 AND code_length = $6 \
     AND array_position($4::text[], caller_prefix) IS NOT NULL \
     RETURNING id, app_id, phone_number, status, failure_reason, \
     caller_prefix, code_length, code_mac, created_at, expires_at, resend_after, resends, \
     attempts_left, call_seq, verified_at, version, trunk";

/// The candidate code of a check, as MACs per caller prefix.
pub struct CodeCandidate<'a> {
    /// The verification's id.
    pub id: &'a str,
    /// The app asking.
    pub app_id: &'a str,
    /// The candidate's length in digits.
    pub code_length: u8,
    /// Configured prefixes whose range has `code_length` digits …
    pub prefixes: Vec<String>,
    /// … and the candidate's MAC for each.
    pub macs: Vec<Vec<u8>>,
}

impl Store {
    /// Whether [`Store::check_in_one_statement`] is worth calling (PostgreSQL).
    pub fn checks_in_one_statement(&self) -> bool {
        matches!(self, Self::Postgres(_))
    }

    /// Checks `candidate` in one statement: `Some(row)` is the row after
    /// the check (status `approved`: the code was right; otherwise one
    /// attempt was spent). `None`: nothing changed because the row is not
    /// checkable as it stands (or this is SQLite); use the general path.
    pub async fn check_in_one_statement(
        &self,
        candidate: &CodeCandidate<'_>,
        now: i64,
    ) -> Result<Option<VerificationRow>, StoreError> {
        let Self::Postgres(pool) = self else {
            return Ok(None);
        };
        let row = sqlx::query(CHECK_ONCE)
            .bind(candidate.id)
            .bind(candidate.app_id)
            .bind(now)
            .bind(&candidate.prefixes)
            .bind(&candidate.macs)
            .bind(i64::from(candidate.code_length))
            .fetch_optional(pool)
            .await?;
        row.as_ref().map(decode_verification).transpose()
    }
}
