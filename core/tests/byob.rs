//! Bring your own backend: pattern in, code out, no server.

use std::time::{Duration, SystemTime};

use motp_core::{CallerPattern, MatchRejection, MotpError};
use motp_core::{OfflineRejection, OfflineVerification};

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + secs)
}

fn verification() -> OfflineVerification {
    let pattern = CallerPattern::new("+442079460", 3).unwrap();
    OfflineVerification::new(pattern, "GB", t(300), t(0)).unwrap()
}

#[test]
fn a_matching_call_in_the_window_yields_its_code() {
    let v = verification();
    for number in [
        "+442079460123",
        "020 7946 0123",
        "00442079460123",
        "442079460123",
    ] {
        assert_eq!(
            v.on_incoming_call(number, t(5)),
            Some("123".to_owned()),
            "{number}"
        );
    }
    // Leading zeros are part of the code.
    assert_eq!(
        v.on_incoming_call("+442079460007", t(5)),
        Some("007".to_owned())
    );
    // The window includes its start.
    assert_eq!(
        v.on_incoming_call("+442079460123", t(0)),
        Some("123".to_owned())
    );
}

#[test]
fn calls_outside_the_window_yield_nothing() {
    let v = verification();
    let call = "+442079460123";
    assert_eq!(
        v.check_call(call, t(0) - Duration::from_millis(1)),
        Err(OfflineRejection::BeforeStart)
    );
    assert_eq!(
        v.check_call(call, t(300)),
        Err(OfflineRejection::AfterExpiry)
    );
    assert_eq!(
        v.check_call(call, t(301)),
        Err(OfflineRejection::AfterExpiry)
    );
    assert_eq!(v.on_incoming_call(call, t(300)), None);
    assert_eq!(
        v.on_incoming_call(call, t(0) - Duration::from_secs(60)),
        None
    );
}

#[test]
fn other_calls_say_why_they_do_not_match() {
    let v = verification();
    let cases = [
        ("+447700900123", MatchRejection::WrongPrefix),
        ("+33123456789", MatchRejection::WrongCountry),
        ("Private", MatchRejection::Withheld),
        ("", MatchRejection::Empty),
    ];
    for (number, rejection) in cases {
        let result = v.check_call(number, t(5));
        assert_eq!(
            result,
            Err(OfflineRejection::NotMatching { rejection }),
            "{number}"
        );
        assert_eq!(v.on_incoming_call(number, t(5)), None);
    }
    assert_eq!(
        OfflineRejection::NotMatching {
            rejection: MatchRejection::WrongCountry
        }
        .as_str(),
        "wrong_country"
    );
    assert_eq!(OfflineRejection::BeforeStart.to_string(), "before_start");
    assert_eq!(OfflineRejection::AfterExpiry.as_str(), "after_expiry");
}

#[test]
fn garbage_never_panics() {
    let v = verification();
    let long = "9".repeat(100_000);
    for number in [long.as_str(), "\u{202e}+44\u{0}", "😀😀😀", "+", "(((("] {
        assert_eq!(v.on_incoming_call(number, t(5)), None);
    }
}

#[test]
fn construction_checks_its_inputs() {
    let pattern = || CallerPattern::new("+442079460", 3).unwrap();
    assert!(matches!(
        OfflineVerification::new(pattern(), "GB", t(0), t(0)),
        Err(MotpError::InvalidInput { .. })
    ));
    assert!(matches!(
        OfflineVerification::new(pattern(), "ZZ", t(300), t(0)),
        Err(MotpError::InvalidInput { .. })
    ));
    let v = verification();
    assert_eq!(v.pattern().prefix(), "+442079460");
    assert_eq!(v.started_at(), t(0));
    assert_eq!(v.expires_at(), t(300));
}
