//! Request bodies: whatever bytes arrive, reading them as a request of any
//! endpoint either succeeds or is a 400 problem with a short detail, and a
//! request that reads goes through the checks its handler applies (the
//! destination policy, the home country, reading the code out of a caller
//! ID) without a panic. This is the path where schemathesis once found a
//! multi-byte `truncate` panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use motp_core::protocol::{CheckRequest, CreateVerificationRequest, IntrospectRequest};
use motp_server::api::extract::parse_body;
use motp_server::api::problem::ApiError;
use motp_server::{caller_id, phone};

/// A rejection's detail never echoes a large body back.
const MAX_DETAIL_BYTES: usize = 200;

/// A destination and caller range like the server's defaults.
const DESTINATION: &str = "+447400123456";
const CALLER_PREFIX: &str = "+4420794";
const CODE_LENGTH: u8 = 4;

fn assert_bad_request(error: ApiError) {
    assert_eq!(error.status.as_u16(), 400, "{error:?}");
    let detail = error.detail.unwrap_or_default();
    assert!(detail.len() <= MAX_DETAIL_BYTES, "detail too long: {detail}");
}

fn create(request: CreateVerificationRequest) {
    let allow_list = ["GB".to_string(), "US".to_string()];
    for allowed in [&[][..], &allow_list[..]] {
        if let Ok(destination) =
            phone::check_destination(&request.phone_number, request.country.as_deref(), allowed)
        {
            assert!(destination.e164.starts_with('+'), "{destination:?}");
            assert!(
                destination.e164[1..].bytes().all(|b| b.is_ascii_digit()),
                "{destination:?}"
            );
        }
    }
}

fn check(request: CheckRequest) {
    let hint = request.home_country.as_deref();
    if let Some(iso) = hint {
        let _ = caller_id::is_known_country(iso);
    }
    let home = caller_id::home_country([hint], DESTINATION).unwrap_or("");
    if let Some(raw) = request.caller_id.as_deref() {
        if let Ok(code) = caller_id::extract_code(CALLER_PREFIX, CODE_LENGTH, home, raw) {
            assert_eq!(code.len(), usize::from(CODE_LENGTH), "{raw:?} -> {code:?}");
            assert!(code.bytes().all(|b| b.is_ascii_digit()), "{raw:?} -> {code:?}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    match parse_body::<CreateVerificationRequest>(data) {
        Ok(request) => create(request),
        Err(error) => assert_bad_request(error),
    }
    match parse_body::<CheckRequest>(data) {
        Ok(request) => check(request),
        Err(error) => assert_bad_request(error),
    }
    if let Err(error) = parse_body::<IntrospectRequest>(data) {
        assert_bad_request(error);
    }
});
