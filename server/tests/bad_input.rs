//! Bad input of every kind gets a 4xx problem+json answer: never a 500,
//! never a panic, never axum's plain-text rejections.

mod common;

use common::{harness, Backend};
use reqwest::Method;
use serde_json::Value;

on_both_backends!(
    bad_bodies_are_problems,
    bad_routes_ids_and_keys_are_problems
);

/// Asserts a 4xx problem+json with a stable type; returns the status.
#[track_caller]
fn assert_problem(what: &str, a: &common::Answer) -> u16 {
    let status = a.status.as_u16();
    assert!(
        (400..500).contains(&status),
        "{what}: {status} {:?}",
        a.body
    );
    assert_eq!(
        a.content_type.as_deref(),
        Some("application/problem+json"),
        "{what}: {:?}",
        a.body
    );
    let Value::Object(body) = &a.body else {
        panic!("{what}: body is not a JSON object: {:?}", a.body)
    };
    let kind = body["type"].as_str().unwrap();
    assert!(
        kind.starts_with("https://motp.dev/problems/"),
        "{what}: {kind}"
    );
    assert_eq!(body["status"], status, "{what}");
    assert!(body["title"].is_string(), "{what}");
    status
}

async fn bad_bodies_are_problems(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let (id, _) = h.create_ok("+447400123456").await;
    let check = format!("/v1/verifications/{id}/check");
    let huge_number = format!(r#"{{"phone_number": "{}"}}"#, "9".repeat(5000));
    let nested = format!("{}{}", "[".repeat(2_000), "]".repeat(2_000));
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "/v1/verifications",
            "malformed JSON",
            b"{\"phone_number\": ".to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "not JSON",
            b"phone_number=+447400123456".to_vec(),
            400,
        ),
        ("/v1/verifications", "empty body", b"".to_vec(), 400),
        ("/v1/verifications", "null", b"null".to_vec(), 400),
        ("/v1/verifications", "array", b"[1,2]".to_vec(), 400),
        (
            "/v1/verifications",
            "wrong type",
            br#"{"phone_number": 447400123456}"#.to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "wrong type country",
            br#"{"phone_number": "+447400123456", "country": 44}"#.to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "missing field",
            br#"{"country": "GB"}"#.to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "unknown field",
            br#"{"phone_number": "+447400123456", "code": "1234"}"#.to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "duplicate field",
            br#"{"phone_number": "+447400123456", "phone_number": "+447400123457"}"#.to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "invalid UTF-8",
            b"{\"phone_number\": \"\xff\xfe\"}".to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "invalid number",
            br#"{"phone_number": "+1"}"#.to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "letters",
            br#"{"phone_number": "call me maybe"}"#.to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "unicode junk",
            "{\"phone_number\": \"+44\u{202e}7400\u{0}123456\u{1F4DE}\"}"
                .as_bytes()
                .to_vec(),
            400,
        ),
        (
            "/v1/verifications",
            "oversized",
            huge_number.into_bytes(),
            413,
        ),
        (
            "/v1/verifications",
            "deep nesting",
            nested.into_bytes(),
            400,
        ),
        (&check, "check: neither field", b"{}".to_vec(), 400),
        (
            &check,
            "check: both fields",
            br#"{"code": "1234", "caller_id": "+44207941234"}"#.to_vec(),
            400,
        ),
        (
            &check,
            "check: code as number",
            br#"{"code": 1234}"#.to_vec(),
            400,
        ),
        (
            &check,
            "check: unknown field",
            br#"{"code": "1234", "otp": "1"}"#.to_vec(),
            400,
        ),
        (
            &check,
            "check: bad home_country",
            br#"{"caller_id": "+44207941234", "home_country": "UK1"}"#.to_vec(),
            400,
        ),
        (
            &check,
            "check: caller_id junk",
            br#"{"caller_id": "Private"}"#.to_vec(),
            422,
        ),
        (
            &check,
            "check: caller_id huge",
            format!(r#"{{"caller_id": "{}"}}"#, "1".repeat(5000)).into_bytes(),
            413,
        ),
        (
            &check,
            "check: caller_id long",
            format!(r#"{{"caller_id": "{}"}}"#, "1".repeat(300)).into_bytes(),
            422,
        ),
        (
            "/v1/tokens/introspect",
            "introspect: missing token",
            b"{}".to_vec(),
            401,
        ),
    ];
    for (path, what, body, expected) in cases {
        // (With a publishable key, introspection is refused before its body.)
        let key = &h.pk;
        let a = h
            .raw(
                h.http
                    .post(h.url(path))
                    .bearer_auth(key)
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await;
        assert_eq!(assert_problem(what, &a), expected, "{what}: {:?}", a.body);
    }
    // With the secret key, a malformed introspection body is a 400.
    let a = h
        .raw(
            h.http
                .post(h.url("/v1/tokens/introspect"))
                .bearer_auth(&h.sk)
                .header("content-type", "application/json")
                .body("{\"token\": 5}"),
        )
        .await;
    assert_eq!(assert_problem("introspect: wrong type", &a), 400);
    // Content types.
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut req = h
            .http
            .post(h.url("/v1/verifications"))
            .bearer_auth(&h.pk)
            .body(r#"{"phone_number": "+447400123456"}"#);
        if let Some(ct) = ct {
            req = req.header("content-type", ct);
        }
        let a = h.raw(req).await;
        assert_eq!(assert_problem("content type", &a), 415);
    }
    let a = h
        .raw(
            h.http
                .post(h.url("/v1/verifications"))
                .bearer_auth(&h.pk)
                .header("content-type", "application/json; charset=utf-8")
                .body(r#"{"phone_number": "+447400123457"}"#),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201, "charset parameter is fine");
    // A streamed (chunked) oversized body is cut off too.
    let mut request = format!(
        "POST /v1/verifications HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
        h.pk
    )
    .into_bytes();
    for _ in 0..64 {
        request.extend_from_slice(b"400\r\n");
        request.extend_from_slice(&[b' '; 1024]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    let head = raw_http(h.server.addr, &request).await;
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{head}"
    );
    // The verification is untouched by all that.
    assert_eq!(h.get(&id).await.body["attempts_left"], 5);
    h.stop().await;
}

async fn bad_routes_ids_and_keys_are_problems(backend: Backend) {
    let Some(h) = harness(backend, |_| {}).await else {
        return;
    };
    let long_id = "x".repeat(5000);
    let cases: Vec<(Method, String, Option<&str>, u16)> = vec![
        (
            Method::GET,
            "/v1/verifications/vf_unknown".into(),
            Some(&h.pk),
            404,
        ),
        (
            Method::GET,
            format!("/v1/verifications/{long_id}"),
            Some(&h.pk),
            404,
        ),
        (
            Method::GET,
            "/v1/verifications/%ff%fe".into(),
            Some(&h.pk),
            404,
        ),
        (
            Method::GET,
            "/v1/verifications/..%2F..%2Fetc".into(),
            Some(&h.pk),
            404,
        ),
        (
            Method::POST,
            "/v1/verifications/vf_unknown/resend".into(),
            Some(&h.pk),
            404,
        ),
        (
            Method::DELETE,
            "/v1/verifications/vf_unknown".into(),
            Some(&h.pk),
            404,
        ),
        (Method::GET, "/v1/nothing-here".into(), Some(&h.pk), 404),
        (Method::GET, "/".into(), None, 404),
        (Method::PUT, "/v1/verifications".into(), Some(&h.pk), 405),
        (Method::GET, "/v1/verifications".into(), Some(&h.pk), 405),
        (
            Method::PATCH,
            "/v1/verifications/vf_x".into(),
            Some(&h.pk),
            405,
        ),
        (Method::GET, "/v1/dev/calls/vf_x".into(), Some(&h.sk), 404),
        (Method::GET, "/v1/verifications/vf_x".into(), None, 401),
        (
            Method::GET,
            "/v1/verifications/vf_x".into(),
            Some("pk_"),
            401,
        ),
        (
            Method::GET,
            "/v1/verifications/vf_x".into(),
            Some("pk_\u{e9}t\u{e9}"),
            401,
        ),
        (
            Method::GET,
            "/v1/verifications/vf_x".into(),
            Some(&long_id),
            401,
        ),
    ];
    for (method, path, key, expected) in cases {
        let what = format!("{method} {}", &path[..path.len().min(60)]);
        let mut req = h.http.request(method, h.url(&path));
        if let Some(key) = key {
            req = req.header("authorization", format!("Bearer {key}"));
        }
        let a = h.raw(req).await;
        assert_eq!(assert_problem(&what, &a), expected, "{what}");
    }
    // A non-UTF-8 Authorization header.
    let a = h
        .raw(h.http.get(h.url("/v1/verifications/vf_x")).header(
            "authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff").unwrap(),
        ))
        .await;
    assert_eq!(assert_problem("binary auth", &a), 401);
    h.stop().await;
}

/// Sends raw bytes over TCP; returns the start of the answer.
async fn raw_http(addr: std::net::SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    // The server may answer (and close) before reading everything.
    let _ = stream.write_all(request).await;
    let mut buf = vec![0u8; 4096];
    let mut got = 0;
    while got < buf.len() {
        match stream.read(&mut buf[got..]).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                got += n;
                if buf[..got].windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    String::from_utf8_lossy(&buf[..got]).into_owned()
}
