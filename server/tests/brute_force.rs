//! The brute-force budget of docs/security.md, held to its exact numbers:
//! 5 guesses per code, 10 calls per number per 24 hours (5 per hour), a
//! 300 s TTL and a 30 s resend cooldown doubling to 300 s. Every instant is
//! set on the injected clock, to the millisecond.

mod common;

use std::time::Duration;

use common::{harness, wrong, Backend, START_MS};
use motp_server::budget::BruteForceBudget;
use reqwest::StatusCode;

on_both_backends!(
    an_attacker_gets_exactly_the_budgeted_guesses_per_day,
    ttl_holds_to_the_millisecond,
    resend_cooldown_grows_exactly,
    daily_cap_holds_exactly,
);

const PHONE: &str = "+447400123456";
const DAY_MS: i64 = 86_400_000;

/// The strongest attacker the rules allow: every code they can make the
/// server call, every guess each code allows, for 24 hours. They never
/// hold the phone, so every guess is wrong; what is counted is how many
/// guesses the server *evaluates*: exactly C·A = 10 × 5 = 50, on exactly
/// C = 10 calls. A second attacker who resends instead of starting over
/// (a resend brings a new code with a fresh budget) gets no more.
async fn an_attacker_gets_exactly_the_budgeted_guesses_per_day(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let budget = BruteForceBudget::of(&h.server.state.config);
    assert_eq!((budget.codes_per_day, budget.attempts_per_code), (10, 5));
    let (calls, evaluated) = attack(&h, PHONE, false).await;
    assert_eq!(calls, budget.codes_per_day, "calls in 24 h");
    assert_eq!(evaluated, budget.guesses_per_day(), "guesses in 24 h");

    let (calls, evaluated) = attack(&h, "+447400123457", true).await;
    assert_eq!(calls, budget.codes_per_day, "calls in 24 h, resending");
    assert!(evaluated <= budget.guesses_per_day(), "{evaluated} guesses");
    h.stop().await;
}

/// Attacks `phone` for the 24 hours from now; returns (calls, guesses
/// evaluated). `resend`: keep one verification alive and resend whenever
/// the cooldown allows, instead of spending each code and starting over.
async fn attack(h: &common::Harness, phone: &str, resend: bool) -> (u64, u64) {
    let window_end = h.clock_ms() + DAY_MS;
    let (mut calls, mut evaluated) = (0u64, 0u64);
    let mut alive: Option<String> = None;
    while h.clock_ms() < window_end {
        let attempt = match &alive {
            Some(id) => h.resend(id).await,
            None => h.create(phone).await,
        };
        match attempt.status.as_u16() {
            201 | 202 => calls += 1,
            429 => {
                let wait: u64 = attempt.retry_after.unwrap().parse().unwrap();
                h.advance(Duration::from_secs(wait));
                continue;
            }
            410 => {
                alive = None;
                continue;
            }
            other => panic!("{other}: {:?}", attempt.body),
        }
        let id = attempt.body["id"].as_str().unwrap().to_string();
        let code = h.code_of(&id);
        let resend_after = ts(&attempt.body["resend_after"]);
        let expires_at = ts(&attempt.body["expires_at"]);
        let keep_one = resend && resend_after < expires_at;
        for n in 0.. {
            if keep_one && n == 4 {
                break;
            }
            let a = h.check_code(&id, &wrong(&code, n)).await;
            evaluated += 1;
            match a.status.as_u16() {
                422 => {}
                410 => break,
                other => panic!("{other}: {:?}", a.body),
            }
        }
        if keep_one {
            alive = Some(id);
            h.clock.set_ms(resend_after.max(h.clock_ms()));
        } else {
            alive = None;
        }
    }
    (calls, evaluated)
}

fn ts(v: &serde_json::Value) -> i64 {
    let t = motp_core::Timestamp::parse(v.as_str().unwrap()).unwrap();
    (t.unix_seconds() * 1000) as i64
}

async fn ttl_holds_to_the_millisecond(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id1, code1) = h.create_ok(PHONE).await;
    let (id2, code2) = h.create_ok("+447400123457").await;
    h.clock.set_ms(START_MS + 300_000 - 1);
    assert_eq!(h.check_code(&id1, &code1).await.status, StatusCode::OK);
    h.clock.set_ms(START_MS + 300_000);
    h.check_code(&id2, &code2).await.problem(410, "expired");
    h.stop().await;
}

async fn resend_cooldown_grows_exactly(backend: Backend) {
    let Some(h) = harness(backend, |c| {
        // Room for the whole cooldown sequence within the caps and TTL.
        c.limits.hourly_cap_per_destination = 10;
        c.codes.ttl_secs = 3600;
    })
    .await
    else {
        return;
    };
    let (id, _) = h.create_ok(PHONE).await;
    let mut at = START_MS;
    for cooldown in [30, 60, 120, 240, 300, 300] {
        at += cooldown * 1000;
        h.clock.set_ms(at - 1);
        let a = h.resend(&id).await;
        a.problem(429, "rate-limited");
        assert_eq!(a.retry_after.as_deref(), Some("1"));
        h.clock.set_ms(at);
        let a = h.resend(&id).await;
        assert_eq!(
            a.status,
            StatusCode::ACCEPTED,
            "cooldown {cooldown}: {:?}",
            a.body
        );
        assert_eq!(a.body["attempts_left"], 5, "a new code, a new budget");
    }
    h.stop().await;
}

async fn daily_cap_holds_exactly(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    // 10 calls, 15 minutes apart (under the hourly cap of 5)…
    for i in 0..10 {
        h.clock.set_ms(START_MS + i * 15 * 60_000);
        h.create_ok(PHONE).await;
        // … resends count too: one more call would be the 11th.
    }
    // …the 11th within 24 h of the first is refused, whatever its path.
    h.clock.set_ms(START_MS + DAY_MS - 1);
    let a = h.create(PHONE).await;
    a.problem(429, "rate-limited");
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    // Exactly 24 h after the first call, one more is allowed, and only one.
    h.clock.set_ms(START_MS + DAY_MS);
    h.create_ok(PHONE).await;
    h.create(PHONE).await.problem(429, "rate-limited");
    // Another number has its own cap.
    h.create_ok("+447400123457").await;
    h.stop().await;
}
