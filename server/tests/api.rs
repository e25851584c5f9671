//! The API suite, run on SQLite and on PostgreSQL.

mod common;

use std::time::Duration;

use common::{harness, wrong, Backend, CODE_LENGTH, PREFIX, START_MS};
use reqwest::{Method, StatusCode};
use serde_json::json;

const PHONE: &str = "+447400123456";

on_both_backends!(
    create_returns_the_protocol_shape,
    status_moves_to_delivered_or_failed,
    right_code_approves_and_token_introspects,
    caller_id_check_approves,
    wrong_codes_count_down_then_410,
    reuse_is_409,
    expiry_is_410,
    resend_is_throttled_and_draws_a_new_code,
    destination_policy_403_and_400,
    cancel_is_204_and_final,
    keys_are_checked,
    verifications_are_private_to_their_app,
    parallel_wrong_checks_spend_exactly_the_budget,
    parallel_checks_on_many_verifications,
    hourly_cap_per_destination_is_429,
    per_ip_limit_is_429,
    operations_endpoints,
);

async fn create_returns_the_protocol_shape(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let a = h.create("+44 7400 123456").await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    let v = &a.body;
    assert!(v["id"].as_str().unwrap().starts_with("vf_"));
    assert_eq!(v["status"], "calling");
    assert_eq!(v["phone_number"], PHONE);
    assert_eq!(
        v["caller"],
        json!({"prefix": PREFIX, "code_length": CODE_LENGTH})
    );
    assert_eq!(v["attempts_left"], 5);
    // START_MS is 2027-01-15T08:00:00Z; TTL 300 s, first resend after 30 s.
    assert_eq!(v["expires_at"], "2027-01-15T08:05:00Z");
    assert_eq!(v["resend_after"], "2027-01-15T08:00:30Z");
    assert!(v.get("failure_reason").is_none());
    // The code never appears in the answer.
    let code = h.code_of(v["id"].as_str().unwrap());
    assert!(!a.body.to_string().contains(&format!("{PREFIX}{code}")));
    // A national number with its country.
    let a = h
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&h.pk),
            Some(json!({"phone_number": "07400 123457", "country": "GB"})),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
    assert_eq!(a.body["phone_number"], "+447400123457");
    h.stop().await;
}

/// The server gives a call up as `timeout` only once the provider's own
/// settle time has passed: a late outcome inside it is kept, one after it
/// is overtaken. Storage plays no part, so SQLite only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_call_deadline_follows_the_providers_settle_time() {
    use motp_server::telephony::record::Script;
    let Some(h) = harness(Backend::Sqlite, |c| {
        c.telephony.ring_secs = 0;
        c.telephony.answer_timeout_secs = 0;
    })
    .await
    else {
        return;
    };
    // Deadline: 0 + 0 + settle 1 s + 1 s of slack; "busy" comes at 1.5 s.
    h.telephony.set_settle_time(Duration::from_secs(1));
    h.telephony.set(Script::FailAfter(
        Duration::from_millis(1500),
        "busy".into(),
    ));
    let (id, _) = h.create_ok(PHONE).await;
    let v = h.wait_status(&id, "failed").await;
    assert_eq!(v["failure_reason"], "busy");

    // Settle 0: the deadline (1 s) passes before "busy" (at 3 s).
    h.telephony.set_settle_time(Duration::ZERO);
    h.telephony
        .set(Script::FailAfter(Duration::from_secs(3), "busy".into()));
    let (id, _) = h.create_ok("+447400123457").await;
    let v = h.wait_status(&id, "failed").await;
    assert_eq!(v["failure_reason"], "timeout");
    h.stop().await;
}

async fn status_moves_to_delivered_or_failed(backend: Backend) {
    use motp_server::telephony::record::Script;
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, _) = h.create_ok(PHONE).await;
    h.wait_status(&id, "delivered").await;

    h.telephony.set(Script::Fail("busy".into()));
    let (id, code) = h.create_ok("+447400123457").await;
    let v = h.wait_status(&id, "failed").await;
    assert_eq!(v["failure_reason"], "busy");
    // A failed call is not the end (a declined call fails as busy, yet the
    // phone showed the number): the right code still approves.
    assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    h.stop().await;
}

async fn right_code_approves_and_token_introspects(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    let a = h.check_code(&id, &code).await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    assert_eq!(a.body["status"], "approved");
    let token = a.body["token"].as_str().unwrap().to_string();
    assert_eq!(h.get(&id).await.body["status"], "approved");

    let i = h.introspect(&h.sk, &token).await;
    assert_eq!(i.status, StatusCode::OK);
    assert_eq!(
        i.body,
        json!({
            "active": true,
            "phone_number": PHONE,
            "verified_at": "2027-01-15T08:00:00Z",
            "verification_id": id,
        })
    );
    // The publishable key may not introspect.
    h.introspect(&h.pk, &token)
        .await
        .problem(401, "unauthorized");
    // Another app's backend learns nothing.
    let (_, other_sk) = h.other_app("other").await;
    assert_eq!(
        h.introspect(&other_sk, &token).await.body,
        json!({"active": false})
    );
    // Garbage and tampered tokens are inactive, not errors.
    assert_eq!(
        h.introspect(&h.sk, "nope").await.body,
        json!({"active": false})
    );
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        h.introspect(&h.sk, &tampered).await.body,
        json!({"active": false})
    );
    // Tokens are short-lived (600 s).
    h.advance(Duration::from_secs(599));
    assert_eq!(h.introspect(&h.sk, &token).await.body["active"], true);
    h.advance(Duration::from_secs(1));
    assert_eq!(
        h.introspect(&h.sk, &token).await.body,
        json!({"active": false})
    );

    // Offline check with the published key (GET /v1/keys, JWKS).
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use ed25519_dalek::Verifier;
    let jwks = h.call(Method::GET, "/v1/keys", None, None).await.body;
    let key = &jwks["keys"][0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    let x: [u8; 32] = URL_SAFE_NO_PAD
        .decode(key["x"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let public = ed25519_dalek::VerifyingKey::from_bytes(&x).unwrap();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig: [u8; 64] = URL_SAFE_NO_PAD.decode(sig).unwrap().try_into().unwrap();
    public
        .verify(
            input.as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .expect("the token verifies with the published key");
    let claims: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(input.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["aud"], h.app_id);
    assert_eq!(claims["sub"], PHONE);
    assert_eq!(claims["jti"], id);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    h.stop().await;
}

async fn caller_id_check_approves(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    for (n, form) in ["e164", "spaced", "access-code", "bare-cc", "national"]
        .iter()
        .enumerate()
    {
        let phone = format!("+44740012345{n}");
        let (id, code) = h.create_ok(&phone).await;
        let caller = h.caller_of(&id);
        let digits = caller.trim_start_matches('+');
        let raw = match *form {
            "e164" => caller.clone(),
            "spaced" => format!("+44 (20) 794-{}", &caller[8..]),
            "access-code" => format!("00{digits}"),
            "national" => format!("0{}", &digits[2..]),
            _ => digits.to_string(),
        };
        // A caller ID from another range spends nothing.
        let a = h
            .call(
                Method::POST,
                &format!("/v1/verifications/{id}/check"),
                Some(&h.pk),
                Some(json!({"caller_id": "+442071234567", "home_country": "GB"})),
            )
            .await;
        assert_eq!(a.problem(422, "wrong-code")["attempts_left"], 5);
        let a = h
            .call(
                Method::POST,
                &format!("/v1/verifications/{id}/check"),
                Some(&h.pk),
                Some(json!({"caller_id": raw, "home_country": "GB"})),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{form} {raw}: {:?}", a.body);
        assert_eq!(a.body["status"], "approved");
        assert_eq!(code.len(), usize::from(CODE_LENGTH));
    }
    // Without home_country the destination's country (GB) is assumed.
    let (id, _) = h.create_ok("+447400123499").await;
    let caller = h.caller_of(&id);
    let a = h
        .call(
            Method::POST,
            &format!("/v1/verifications/{id}/check"),
            Some(&h.pk),
            Some(json!({"caller_id": caller})),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK, "{:?}", a.body);
    h.stop().await;
}

async fn wrong_codes_count_down_then_410(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    for (n, left) in (1..=4).rev().enumerate() {
        let a = h.check_code(&id, &wrong(&code, n as u32)).await;
        assert_eq!(a.problem(422, "wrong-code")["attempts_left"], left);
        assert_eq!(h.get(&id).await.body["attempts_left"], left);
    }
    h.check_code(&id, &wrong(&code, 4))
        .await
        .problem(410, "attempts-exhausted");
    // The right code no longer works.
    h.check_code(&id, &code)
        .await
        .problem(410, "attempts-exhausted");
    let v = h.get(&id).await.body;
    assert_eq!(
        (v["status"].as_str(), v["attempts_left"].as_u64()),
        (Some("expired"), Some(0))
    );
    // Malformed codes never spend an attempt.
    let (id, code) = h.create_ok("+447400123457").await;
    for bad in ["12", "12345", "12a4", "", " "] {
        let a = h.check_code(&id, bad).await;
        assert_eq!(a.problem(422, "wrong-code")["attempts_left"], 5, "{bad:?}");
    }
    assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    h.stop().await;
}

async fn reuse_is_409(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    h.check_code(&id, &code).await.problem(409, "already-used");
    h.check_code(&id, &wrong(&code, 0))
        .await
        .problem(409, "already-used");
    h.resend(&id).await.problem(409, "already-used");
    let a = h
        .call(
            Method::DELETE,
            &format!("/v1/verifications/{id}"),
            Some(&h.pk),
            None,
        )
        .await;
    a.problem(409, "already-used");
    h.stop().await;
}

async fn expiry_is_410(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    h.advance(Duration::from_secs(300));
    assert_eq!(h.get(&id).await.body["status"], "expired");
    h.check_code(&id, &code).await.problem(410, "expired");
    h.resend(&id).await.problem(410, "expired");
    assert_eq!(h.get(&id).await.body["status"], "expired");
    h.stop().await;
}

async fn resend_is_throttled_and_draws_a_new_code(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, first_code) = h.create_ok(PHONE).await;
    let a = h.resend(&id).await;
    a.problem(429, "rate-limited");
    assert_eq!(a.retry_after.as_deref(), Some("30"));
    assert_eq!(a.body["retry_after"], 30);
    h.advance(Duration::from_secs(30));
    let a = h.resend(&id).await;
    assert_eq!(a.status, StatusCode::ACCEPTED, "{:?}", a.body);
    assert_eq!(a.body["status"], "calling");
    assert_eq!(a.body["attempts_left"], 5);
    // 08:00:30 + the doubled cooldown (60 s); TTL restarts.
    assert_eq!(a.body["resend_after"], "2027-01-15T08:01:30Z");
    assert_eq!(a.body["expires_at"], "2027-01-15T08:05:30Z");
    assert_eq!(h.recorder.last_for(&id).unwrap().sequence, 2);
    let second_code = h.code_of(&id);
    if second_code != first_code {
        // The old code is dead (1 in 10^4 the draw repeats it).
        h.check_code(&id, &first_code)
            .await
            .problem(422, "wrong-code");
    }
    h.advance(Duration::from_secs(59));
    assert_eq!(h.resend(&id).await.retry_after.as_deref(), Some("1"));
    assert_eq!(h.check_code(&id, &second_code).await.status, StatusCode::OK);
    h.stop().await;
}

async fn destination_policy_403_and_400(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    // Outside the allow-list (GB, US).
    h.create("+33612345678")
        .await
        .problem(403, "destination-not-allowed");
    // Premium rate, toll-free, personal numbers.
    for n in ["+449098790000", "+448001111111", "+447012345678"] {
        h.create(n).await.problem(403, "destination-not-allowed");
    }
    for n in [
        "",
        "hello",
        "+44",
        "07400123456",
        "+447700900123",
        &"1".repeat(500),
    ] {
        h.create(n).await.problem(400, "invalid-phone-number");
    }
    let a = h
        .call(
            Method::POST,
            "/v1/verifications",
            Some(&h.pk),
            Some(json!({"phone_number": "07400123456", "country": "Narnia"})),
        )
        .await;
    a.problem(400, "invalid-phone-number");
    assert!(h.recorder.is_empty(), "no call placed");
    h.stop().await;
}

async fn cancel_is_204_and_final(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    let path = format!("/v1/verifications/{id}");
    let a = h.call(Method::DELETE, &path, Some(&h.pk), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.body, serde_json::Value::Null);
    assert_eq!(h.get(&id).await.body["status"], "canceled");
    h.check_code(&id, &code).await.problem(410, "expired");
    // Idempotent.
    let a = h.call(Method::DELETE, &path, Some(&h.pk), None).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    h.call(
        Method::DELETE,
        "/v1/verifications/vf_nope",
        Some(&h.pk),
        None,
    )
    .await
    .problem(404, "not-found");
    h.stop().await;
}

async fn keys_are_checked(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let body = Some(json!({"phone_number": PHONE}));
    for key in [
        None,
        Some("pk_unknown"),
        Some("sk_unknown"),
        Some("hello"),
        Some(""),
    ] {
        h.call(Method::POST, "/v1/verifications", key, body.clone())
            .await
            .problem(401, "unauthorized");
    }
    let a = h
        .raw(
            h.http
                .post(h.url("/v1/verifications"))
                .header("authorization", format!("Basic {}", h.pk))
                .json(&json!({"phone_number": PHONE})),
        )
        .await;
    a.problem(401, "unauthorized");
    // A secret key may do what a publishable key may.
    let a = h
        .call(Method::POST, "/v1/verifications", Some(&h.sk), body)
        .await;
    assert_eq!(a.status, StatusCode::CREATED);
    h.stop().await;
}

async fn verifications_are_private_to_their_app(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    let (other_pk, _) = h.other_app("intruder").await;
    let path = format!("/v1/verifications/{id}");
    h.call(Method::GET, &path, Some(&other_pk), None)
        .await
        .problem(404, "not-found");
    h.call(
        Method::POST,
        &format!("{path}/check"),
        Some(&other_pk),
        Some(json!({"code": code})),
    )
    .await
    .problem(404, "not-found");
    h.call(Method::DELETE, &path, Some(&other_pk), None)
        .await
        .problem(404, "not-found");
    h.get("vf_doesnotexist").await.problem(404, "not-found");
    assert_eq!(h.check_code(&id, &code).await.status, StatusCode::OK);
    h.stop().await;
}

async fn parallel_wrong_checks_spend_exactly_the_budget(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    let h = std::sync::Arc::new(h);
    let mut tasks = Vec::new();
    for n in 0..20 {
        let h = h.clone();
        let id = id.clone();
        let guess = wrong(&code, n);
        tasks.push(tokio::spawn(async move { h.check_code(&id, &guess).await }));
    }
    let mut wrong_code = 0;
    let mut gone = 0;
    let mut lefts = Vec::new();
    for t in tasks {
        let a = t.await.unwrap();
        match a.status.as_u16() {
            422 => {
                wrong_code += 1;
                lefts.push(a.body["attempts_left"].as_u64().unwrap());
            }
            410 => gone += 1,
            other => panic!("unexpected {other}: {:?}", a.body),
        }
    }
    lefts.sort_unstable();
    assert_eq!(wrong_code, 4, "exactly budget-1 answers say 'wrong code'");
    assert_eq!(lefts, [1, 2, 3, 4], "each attempt spent once");
    assert_eq!(gone, 16);
    h.check_code(&id, &code)
        .await
        .problem(410, "attempts-exhausted");
    std::sync::Arc::try_unwrap(h).ok().unwrap().stop().await;
}

/// Many checks at once on different verifications (SQLite groups them into
/// one write): each gets its own, right answer.
async fn parallel_checks_on_many_verifications(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let mut made = Vec::new();
    for n in 0..40 {
        made.push(h.create_ok(&format!("+4474001234{n:02}")).await);
    }
    let h = std::sync::Arc::new(h);
    let tasks: Vec<_> = made
        .iter()
        .enumerate()
        .map(|(n, (id, code))| {
            let (h, id, code) = (h.clone(), id.clone(), code.clone());
            // Every other one right, the rest wrong.
            let guess = if n % 2 == 0 { code } else { wrong(&code, 0) };
            tokio::spawn(async move { h.check_code(&id, &guess).await.status.as_u16() })
        })
        .collect();
    for (n, t) in tasks.into_iter().enumerate() {
        assert_eq!(t.await.unwrap(), if n % 2 == 0 { 200 } else { 422 }, "#{n}");
    }
    for (n, (id, _)) in made.iter().enumerate() {
        let v = h.get(id).await.body;
        if n % 2 == 0 {
            assert_eq!(v["status"], "approved");
        } else {
            assert_eq!(v["attempts_left"], 4);
        }
    }
    std::sync::Arc::try_unwrap(h).ok().unwrap().stop().await;
}

async fn hourly_cap_per_destination_is_429(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    for _ in 0..5 {
        h.create_ok(PHONE).await;
        h.advance(Duration::from_secs(60));
    }
    let a = h.create(PHONE).await;
    a.problem(429, "rate-limited");
    // The first call was at 08:00:00, now is 08:05:00: 55 minutes to wait.
    assert_eq!(a.retry_after.as_deref(), Some("3300"));
    // Other numbers are not affected.
    h.create_ok("+447400123457").await;
    h.advance(Duration::from_secs(3300));
    h.create_ok(PHONE).await;
    h.stop().await;
}

async fn per_ip_limit_is_429(backend: Backend) {
    let Some(h) = harness(backend, |c| {
        c.limits.per_ip_per_minute = 60;
        c.limits.per_ip_burst = 2;
    })
    .await
    else {
        return;
    };
    for _ in 0..3 {
        assert_eq!(h.get("vf_x").await.status, StatusCode::NOT_FOUND);
    }
    let a = h.get("vf_x").await;
    a.problem(429, "rate-limited");
    assert_eq!(a.retry_after.as_deref(), Some("1"));
    // Operator endpoints are outside /v1 limits.
    assert_eq!(
        h.call(Method::GET, "/healthz", None, None).await.status,
        StatusCode::OK
    );
    h.advance(Duration::from_secs(1));
    assert_eq!(h.get("vf_x").await.status, StatusCode::NOT_FOUND);
    h.stop().await;
}

async fn operations_endpoints(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, code) = h.create_ok(PHONE).await;
    h.wait_status(&id, "delivered").await;
    h.check_code(&id, &wrong(&code, 0)).await;
    h.check_code(&id, &code).await;
    let health = h.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(health.status, StatusCode::OK);
    assert_eq!(health.body["status"], "ok");
    let metrics = h
        .http
        .get(h.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "motp_verifications_created_total{country=\"GB\",trunk=\"default\"} 1",
        "motp_verifications_delivered_total{country=\"GB\",trunk=\"default\"} 1",
        "motp_verifications_approved_total{country=\"GB\",trunk=\"default\"} 1",
        "motp_checks_total{result=\"wrong-code\"} 1",
        "motp_checks_total{result=\"approved\"} 1",
        "motp_check_duration_seconds_count 2",
        "motp_telephony_calls_total{provider=\"scripted\",outcome=\"delivered\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing in:\n{metrics}");
    }
    assert!(!metrics.contains(&code));
    let doc = h.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    assert!(doc.body["paths"]["/v1/verifications/{id}/check"]["post"].is_object());
    let _ = START_MS;
    h.stop().await;
}
