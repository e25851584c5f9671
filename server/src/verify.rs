//! The verification rules: create, read, check, resend, cancel, and token
//! introspection. HTTP-free: a refusal is a [`VerifyError`], which `api`
//! maps onto status codes and problem types.

mod error;
pub mod events;
mod report;

pub use error::{Limit, Mismatch, VerifyError};
pub use report::report;

use std::sync::Arc;

use motp_core::protocol::{
    CallerInfo, CheckRequest, CheckResponse, CreateVerificationRequest, IntrospectResponse,
    Verification, VerificationStatus,
};

use crate::clock::{ceil_to_second, seconds_until, timestamp};
use crate::keys::new_id;
use crate::limits::resend_cooldown_secs;
use crate::phone;
use crate::state::AppState;
use crate::storage::{CallRefused, CodeCandidate, Recode, StateChange, VerificationRow};
use crate::tokens::Claims;

/// How often a change is retried when a concurrent writer got there first.
const MAX_RACES: usize = 16;

/// The answer shape of create, get and resend.
pub fn view(row: &VerificationRow, now: i64) -> Verification {
    Verification {
        id: row.id.clone(),
        status: effective_status(row, now),
        phone_number: row.phone_number.clone(),
        caller: CallerInfo {
            prefix: row.caller_prefix.clone(),
            code_length: row.code_length,
        },
        expires_at: timestamp(row.expires_at),
        resend_after: timestamp(row.resend_after),
        attempts_left: row.attempts_left,
        failure_reason: row.failure_reason.clone(),
    }
}

/// The stored status, or `expired` once the TTL has run out (a failed call
/// included: until then it could still be typed or resent).
fn effective_status(row: &VerificationRow, now: i64) -> VerificationStatus {
    if !settled_for_good(row.status) && now >= row.expires_at {
        VerificationStatus::Expired
    } else {
        row.status
    }
}

/// Counts a call start against the app's limit; none while shutting down.
fn limit_app(state: &AppState, app_id: &str) -> Result<(), VerifyError> {
    if state.calls.is_draining() {
        return Err(VerifyError::ShuttingDown);
    }
    state
        .app_limiter
        .check(app_id.to_string(), state.now())
        .map_err(|wait_ms| {
            state.metrics.limited("app");
            VerifyError::RateLimited {
                limit: Limit::App,
                retry_after_secs: seconds_until(0, wait_ms),
            }
        })
}

fn capped(state: &AppState, now: i64, retry_at: i64) -> VerifyError {
    state.metrics.limited("destination");
    VerifyError::RateLimited {
        limit: Limit::Destination,
        retry_after_secs: seconds_until(now, retry_at),
    }
}

/// `POST /v1/verifications`.
pub async fn create(
    state: &Arc<AppState>,
    app_id: &str,
    request: CreateVerificationRequest,
) -> Result<Verification, VerifyError> {
    // A test number skips the destination policy (it may be fictional and
    // is never called) but not the app's rate limit.
    let test = state
        .test_numbers
        .match_request(&request.phone_number, request.country.as_deref());
    let e164 = match &test {
        Some((e164, _)) => e164.clone(),
        None => {
            phone::check_destination(
                &request.phone_number,
                request.country.as_deref(),
                &state.config.limits.allowed_countries,
            )?
            .e164
        }
    };
    limit_app(state, app_id)?;

    // The trunks for this destination, in the order to try them; the code
    // comes from the first one's caller ranges.
    let route = state.trunks.route(&e164);
    let trunk = state.trunks.get(route[0]);
    let drawn = match &test {
        Some((_, fixed)) => (&fixed.range, fixed.code.clone()),
        None => draw(&trunk.codes)?,
    };
    let (range, code) = drawn;
    let now = state.now();
    let codes = &state.config.codes;
    let id = new_id("vf_");
    let row = VerificationRow {
        code_mac: state.codes.mac(&id, &range.prefix, &code),
        id,
        app_id: app_id.to_string(),
        phone_number: e164,
        // No call for a test number: as good as delivered at once.
        status: if test.is_some() {
            VerificationStatus::Delivered
        } else {
            VerificationStatus::Calling
        },
        failure_reason: None,
        caller_prefix: range.prefix.clone(),
        code_length: range.code_length,
        created_at: now,
        expires_at: ceil_to_second(now + secs_ms(codes.ttl_secs)),
        resend_after: ceil_to_second(
            now + secs_ms(resend_cooldown_secs(
                codes.resend_cooldown_secs,
                codes.resend_cooldown_max_secs,
                0,
            )),
        ),
        resends: 0,
        attempts_left: codes.max_attempts,
        call_seq: 1,
        verified_at: None,
        version: 1,
        trunk: test.is_none().then(|| trunk.name.clone()),
    };
    match state
        .db(state
            .store
            .create(&row, caps_for(state, test.is_some()), now))
        .await?
    {
        Ok(()) => {}
        Err(CallRefused::Capped { retry_at }) => return Err(capped(state, now, retry_at)),
        Err(CallRefused::Conflict) => return Err(VerifyError::Contended),
    }
    state
        .metrics
        .created
        .get_or_create(&crate::stats::labels::destination(
            &row.phone_number,
            &state.config,
        ))
        .inc();
    if test.is_some() {
        state.metrics.test_number("created");
        tracing::info!(
            verification = %row.id,
            to = %phone::mask(&row.phone_number),
            app = %app_id,
            test = true,
            "verification created for a test number (no call)"
        );
        return Ok(view(&row, now));
    }
    tracing::info!(
        verification = %row.id,
        to = %phone::mask(&row.phone_number),
        app = %app_id,
        "verification created"
    );
    let caller = format!("{}{}", range.prefix, code);
    crate::calls::place(
        state,
        &row.app_id,
        &row.id,
        &row.phone_number,
        caller,
        row.call_seq,
        route,
    );
    Ok(view(&row, now))
}

/// The verification `id` if it belongs to `app_id`. `attempt` > 0 means a
/// concurrent writer won the last try: read the database, not the cache.
async fn load(
    state: &AppState,
    app_id: &str,
    id: &str,
    attempt: usize,
) -> Result<VerificationRow, VerifyError> {
    let row = if attempt == 0 {
        state.db(state.store.get(id)).await?
    } else {
        state.db(state.store.get_fresh(id)).await?
    };
    match row {
        Some(row) if row.app_id == app_id => Ok(row),
        _ => Err(VerifyError::NotFound),
    }
}

/// `GET /v1/verifications/{id}`.
pub async fn get(state: &AppState, app_id: &str, id: &str) -> Result<Verification, VerifyError> {
    let row = load(state, app_id, id, 0).await?;
    Ok(view(&row, state.now()))
}

/// Whether a verification in `status` can no longer be checked or resent.
/// A failed call is not the end: the phone may still have shown the number
/// (a declined call fails as busy), and a resend places a new call.
pub(crate) fn settled_for_good(status: VerificationStatus) -> bool {
    status.is_final() && status != VerificationStatus::Failed
}

/// The refusal for a verification that can no longer be checked or resent.
fn settled(row: &VerificationRow) -> VerifyError {
    match row.status {
        VerificationStatus::Approved => VerifyError::AlreadyApproved,
        VerificationStatus::Canceled => VerifyError::Canceled,
        VerificationStatus::Failed => VerifyError::CallFailed {
            reason: row.failure_reason.clone(),
        },
        _ if row.attempts_left == 0 => VerifyError::AttemptsExhausted,
        _ => VerifyError::Expired,
    }
}

/// Marks `row` expired (TTL over); returns the refusal to answer with.
async fn expire(state: &AppState, row: &VerificationRow) -> Result<VerifyError, VerifyError> {
    let change = StateChange {
        status: VerificationStatus::Expired,
        attempts_left: row.attempts_left,
        verified_at: None,
    };
    // A lost race is fine: whoever won also saw the TTL over, or approved
    // in time; either way re-reading decides.
    let _ = state.db(state.store.change_state(row, change)).await?;
    Ok(VerifyError::Expired)
}

/// `POST /v1/verifications/{id}/check`.
pub async fn check(
    state: &AppState,
    app_id: &str,
    id: &str,
    request: CheckRequest,
) -> Result<CheckResponse, VerifyError> {
    if let Some(c) = request.home_country.as_deref() {
        if !crate::caller_id::is_known_country(c) {
            return Err(VerifyError::UnknownHomeCountry);
        }
    }
    let candidate = match (&request.code, &request.caller_id) {
        (Some(code), None) => Candidate::Code(code.trim().to_string()),
        (None, Some(caller_id)) => Candidate::CallerId(caller_id.clone()),
        _ => return Err(VerifyError::NeedsCodeOrCallerId),
    };
    if let Candidate::Code(code) = &candidate {
        if let Some(answer) = check_in_one_statement(state, app_id, id, code).await? {
            return answer;
        }
    }
    for attempt in 0..MAX_RACES {
        let row = load(state, app_id, id, attempt).await?;
        let now = state.now();
        if settled_for_good(row.status) {
            return Err(settled(&row));
        }
        if now >= row.expires_at {
            return Err(expire(state, &row).await?);
        }
        // Input that cannot be a code of this range says nothing about the
        // code (the range is public), so it does not spend an attempt.
        let code = match &candidate {
            Candidate::Code(code) => {
                if code.len() != usize::from(row.code_length)
                    || !code.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(VerifyError::WrongCode {
                        attempts_left: row.attempts_left,
                        mismatch: Mismatch::Malformed {
                            digits: row.code_length,
                        },
                    });
                }
                code.clone()
            }
            Candidate::CallerId(raw) => {
                let region = phone::region_of(&row.phone_number);
                let home = crate::caller_id::home_country(
                    [request.home_country.as_deref(), region.as_deref()],
                    &row.phone_number,
                )
                .unwrap_or("");
                match crate::caller_id::extract_code(&row.caller_prefix, row.code_length, home, raw)
                {
                    Ok(code) => code,
                    Err(reason) => {
                        return Err(VerifyError::WrongCode {
                            attempts_left: row.attempts_left,
                            mismatch: Mismatch::CallerIdMisfit(reason),
                        })
                    }
                }
            }
        };
        if state
            .codes
            .verify(&row.id, &row.caller_prefix, &code, &row.code_mac)
        {
            let change = StateChange {
                status: VerificationStatus::Approved,
                attempts_left: row.attempts_left,
                verified_at: Some(now),
            };
            if !state.db(state.store.change_state(&row, change)).await? {
                continue;
            }
            return Ok(approved(state, &row, now));
        }
        let left = row.attempts_left.saturating_sub(1);
        let change = StateChange {
            status: if left == 0 {
                VerificationStatus::Expired
            } else {
                row.status
            },
            attempts_left: left,
            verified_at: None,
        };
        if !state.db(state.store.change_state(&row, change)).await? {
            continue;
        }
        return Err(wrong_code(&row.id, left));
    }
    Err(VerifyError::Contended)
}

/// The answer to a right code: counted, logged, and a signed token.
fn approved(state: &AppState, row: &VerificationRow, now: i64) -> CheckResponse {
    let country = crate::stats::labels::country_of(&row.phone_number, &state.config);
    let trunk = row.trunk.clone().unwrap_or_else(|| "default".to_string());
    state
        .metrics
        .approved
        .get_or_create(&[("country", country), ("trunk", trunk)])
        .inc();
    let test = state.test_numbers.lookup(&row.phone_number).is_some();
    if test {
        state.metrics.test_number("approved");
        tracing::info!(verification = %row.id, test, "verification approved");
    } else {
        tracing::info!(verification = %row.id, "verification approved");
    }
    let iat = now.div_euclid(1000);
    let claims = Claims {
        iss: state.config.tokens.issuer.clone(),
        sub: row.phone_number.clone(),
        aud: row.app_id.clone(),
        iat,
        exp: iat + i64::try_from(state.config.tokens.ttl_secs).unwrap_or(i64::MAX / 2),
        jti: row.id.clone(),
        test,
    };
    CheckResponse {
        status: VerificationStatus::Approved,
        token: state.signer.sign(&claims),
    }
}

/// The refusal of a wrong code that left `left` attempts.
fn wrong_code(id: &str, left: u32) -> VerifyError {
    tracing::info!(verification = %id, attempts_left = left, "wrong code");
    if left == 0 {
        VerifyError::AttemptsExhausted
    } else {
        VerifyError::WrongCode {
            attempts_left: left,
            mismatch: Mismatch::NotTheCode,
        }
    }
}

/// PostgreSQL: a well-formed code checked in one statement (see
/// `storage/check.rs`). `None`: the row could not be checked as it stands
/// (or the store is SQLite, whose cache and group commit make the general
/// path cheaper); the general path then reads it and answers.
async fn check_in_one_statement(
    state: &AppState,
    app_id: &str,
    id: &str,
    code: &str,
) -> Result<Option<Result<CheckResponse, VerifyError>>, VerifyError> {
    if !state.store.checks_in_one_statement() || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let Ok(code_length) = u8::try_from(code.len()) else {
        return Ok(None);
    };
    let (prefixes, macs): (Vec<String>, Vec<Vec<u8>>) = state
        .codes
        .ranges()
        .iter()
        .filter(|r| r.code_length == code_length)
        .map(|r| (r.prefix.clone(), state.codes.mac(id, &r.prefix, code)))
        .unzip();
    if prefixes.is_empty() {
        return Ok(None);
    }
    let candidate = CodeCandidate {
        id,
        app_id,
        code_length,
        prefixes,
        macs,
    };
    let now = state.now();
    let Some(row) = state.store.check_in_one_statement(&candidate, now).await? else {
        return Ok(None);
    };
    Ok(Some(if row.status == VerificationStatus::Approved {
        Ok(approved(state, &row, now))
    } else {
        Err(wrong_code(&row.id, row.attempts_left))
    }))
}

enum Candidate {
    Code(String),
    CallerId(String),
}

/// `POST /v1/verifications/{id}/resend`.
pub async fn resend(
    state: &Arc<AppState>,
    app_id: &str,
    id: &str,
) -> Result<Verification, VerifyError> {
    for attempt in 0..MAX_RACES {
        let row = load(state, app_id, id, attempt).await?;
        let now = state.now();
        if settled_for_good(row.status) {
            return Err(settled(&row));
        }
        if now >= row.expires_at {
            return Err(expire(state, &row).await?);
        }
        if now < row.resend_after {
            state.metrics.limited("resend");
            return Err(VerifyError::RateLimited {
                limit: Limit::Resend,
                retry_after_secs: seconds_until(now, row.resend_after),
            });
        }
        limit_app(state, app_id)?;
        let test = state.test_numbers.lookup(&row.phone_number);
        // A resend starts again at the first trunk of the route.
        let route = state.trunks.route(&row.phone_number);
        let trunk = state.trunks.get(route[0]);
        let (range, code) = match test {
            Some(fixed) => (&fixed.range, fixed.code.clone()),
            None => draw(&trunk.codes)?,
        };
        let codes = &state.config.codes;
        let recode = Recode {
            caller_prefix: range.prefix.clone(),
            code_length: range.code_length,
            code_mac: state.codes.mac(&row.id, &range.prefix, &code),
            expires_at: ceil_to_second(now + secs_ms(codes.ttl_secs)),
            resend_after: ceil_to_second(
                now + secs_ms(resend_cooldown_secs(
                    codes.resend_cooldown_secs,
                    codes.resend_cooldown_max_secs,
                    row.resends + 1,
                )),
            ),
            attempts_left: codes.max_attempts,
            trunk: test.is_none().then(|| trunk.name.clone()),
            counts_as_resend: true,
        };
        let updated = match state
            .db(state
                .store
                .recode(&row, &recode, caps_for(state, test.is_some()), now))
            .await?
        {
            Ok(updated) => updated,
            Err(CallRefused::Conflict) => continue,
            Err(CallRefused::Capped { retry_at }) => return Err(capped(state, now, retry_at)),
        };
        if test.is_some() {
            let delivered = VerificationStatus::Delivered;
            let seq = updated.call_seq;
            state
                .db(state.store.call_progress(&row.id, seq, delivered, None))
                .await?;
            tracing::info!(verification = %row.id, test = true, "resend for a test number (no call)");
            let updated = VerificationRow {
                status: delivered,
                version: updated.version + 1,
                ..updated
            };
            return Ok(view(&updated, now));
        }
        tracing::info!(verification = %row.id, call = updated.call_seq, "resend");
        let caller = format!("{}{}", range.prefix, code);
        crate::calls::place(
            state,
            &row.app_id,
            &row.id,
            &row.phone_number,
            caller,
            updated.call_seq,
            route,
        );
        return Ok(view(&updated, now));
    }
    Err(VerifyError::Contended)
}

/// `DELETE /v1/verifications/{id}`: idempotent; an approved verification
/// cannot be canceled ([`VerifyError::AlreadyApproved`]).
pub async fn cancel(state: &AppState, app_id: &str, id: &str) -> Result<(), VerifyError> {
    for attempt in 0..MAX_RACES {
        let row = load(state, app_id, id, attempt).await?;
        match row.status {
            VerificationStatus::Approved => return Err(VerifyError::AlreadyApproved),
            s if settled_for_good(s) => return Ok(()),
            _ => {}
        }
        let change = StateChange {
            status: VerificationStatus::Canceled,
            attempts_left: row.attempts_left,
            verified_at: None,
        };
        if state.db(state.store.change_state(&row, change)).await? {
            tracing::info!(verification = %row.id, "verification canceled");
            // A call still ringing here is ended on the phone at once.
            state
                .calls
                .stop(&row.id, crate::call_control::StopReason::Canceled);
            return Ok(());
        }
    }
    Err(VerifyError::Contended)
}

/// `POST /v1/tokens/introspect`: whether `token` is a live approval token
/// for the app whose secret key asks.
pub fn introspect(state: &AppState, app_id: &str, token: &str) -> IntrospectResponse {
    let inactive = IntrospectResponse {
        active: false,
        phone_number: None,
        verified_at: None,
        verification_id: None,
    };
    let Some(claims) = state.signer.verify(token) else {
        return inactive;
    };
    let now_s = state.now().div_euclid(1000);
    if claims.aud != app_id || claims.exp <= now_s || claims.iss != state.config.tokens.issuer {
        return inactive;
    }
    IntrospectResponse {
        active: true,
        phone_number: Some(claims.sub),
        verified_at: Some(timestamp(claims.iat.saturating_mul(1000))),
        verification_id: Some(claims.jti),
    }
}

/// The destination caps; none for a test number, which is never called
/// (reviewers and CI sign in with it many times a day).
fn caps_for(state: &AppState, test: bool) -> crate::storage::DestinationCaps {
    if test {
        crate::storage::DestinationCaps {
            daily: u32::MAX,
            hourly: u32::MAX,
        }
    } else {
        state.caps()
    }
}

/// A code drawn uniformly over the ranges of `codes` (a trunk's).
pub(crate) fn draw(
    codes: &crate::codes::CodeBook,
) -> Result<(&crate::config::CallerRange, String), VerifyError> {
    let drawn = codes.draw().map_err(|error| {
        tracing::error!(%error, "the OS random number generator failed");
        VerifyError::NoRandomness
    })?;
    Ok((&codes.ranges()[drawn.range], drawn.code))
}

pub(crate) fn secs_ms(secs: u64) -> i64 {
    i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX / 4)
}
