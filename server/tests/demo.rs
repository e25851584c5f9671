//! `motp demo`, the README's first command, run as a user runs it: the built
//! binary, nothing else installed (no SIPp, no PostgreSQL).

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn motp_demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motp"))
        .arg("demo")
        .args(args)
        .stdin(Stdio::null())
        .env_remove("RUST_LOG")
        .output()
        .expect("the motp binary runs")
}

fn stdout_of(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "motp demo failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// The lines of section `n` ("1. …" up to the next section).
fn section(stdout: &str, n: u8) -> String {
    let start = stdout
        .find(&format!("\n{n}. "))
        .unwrap_or_else(|| panic!("no section {n}:\n{stdout}"));
    let rest = &stdout[start + 1..];
    let end = rest[3..].find("\n\n").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

#[track_caller]
fn assert_has(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// `steps` appear in `section` in this order.
#[track_caller]
fn assert_in_order(section: &str, steps: &[&str]) {
    let mut from = 0;
    for step in steps {
        let at = section[from..]
            .find(step)
            .unwrap_or_else(|| panic!("step {step:?} missing or out of order in:\n{section}"));
        from += at + step.len();
    }
}

/// The token's claims and its introspection follow the timeline.
#[track_caller]
fn assert_token(section: &str) {
    assert_has(
        section,
        &[
            "iss  motp",
            "sub  +447400123456",
            "aud  app_",
            "jti  vf_",
            "active: true, phone_number +447400123456",
        ],
    );
}

/// The call on the wire: INVITE, ringing, CANCEL after the ring time, the
/// 487 and its ACK, before the backend checks the token.
#[track_caller]
fn assert_call(section: &str) {
    assert_in_order(
        section,
        &[
            "INVITE to +447400123456, caller ID +44207946",
            "180 Ringing",
            "CANCEL, the ring time is over",
            "200 OK (to the CANCEL)",
            "487 Request Terminated",
            "ACK: the call is over",
            "POST /v1/tokens/introspect (secret key): active: true",
        ],
    );
}

#[test]
fn demo_auto_verifies_the_android_way_then_the_ios_way() {
    let output = motp_demo(&["--auto", "--ring-secs", "0.3", "--runs", "2"]);
    let stdout = stdout_of(&output);

    let android = section(&stdout, 1);
    assert_in_order(
        &android,
        &[
            "request sent",
            "INVITE to +447400123456, caller ID +44207946",
            "INVITE received, ringing; phone-state broadcast: incoming number +44207946",
            "on_incoming_call(",
            "code extracted: ",
            "state Verified: token received",
            "POST /v1/tokens/introspect (secret key): active: true",
            "request → approval: ",
        ],
    );
    assert_call(&android);
    assert_token(&android);
    assert_has(
        &android,
        &[
            "state Requesting",
            "state Verifying",
            "median request → approval over 2 runs",
        ],
    );

    let ios = section(&stdout, 2);
    assert_in_order(
        &ios,
        &[
            "request sent",
            "state ManualEntry (calls_unreadable)",
            "code field shown: +44 20 7946 0___",
            "call list: missed call from +44 20 7946 0",
            "types ",
            "state Verified: token received",
            "POST /v1/tokens/introspect (secret key): active: true",
        ],
    );
    // The call may ring before or after the code field shows.
    assert_in_order(
        &ios,
        &[
            "INVITE received, ringing: call from +44207946",
            "call list: missed call from +44 20 7946 0",
        ],
    );
    assert_call(&ios);
    assert_token(&ios);
    assert_has(&ios, &["(read from the handset: --auto)"]);

    // The code extracted on Android is the caller number's last digits.
    let line = android
        .lines()
        .find(|l| l.contains("code extracted: "))
        .unwrap();
    let code = &line[line.find("code extracted: ").unwrap() + 16..][..3];
    assert!(line.contains(&format!("+442079460{code} fits")), "{line}");

    // The temporary database is gone.
    let db = stdout
        .split("SQLite in ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .expect("the header names the database");
    let dir = Path::new(db).parent().unwrap();
    assert!(dir.starts_with(std::env::temp_dir()), "{db}");
    assert!(!dir.exists(), "{} was not removed", dir.display());
    assert!(stdout.contains("Both verifications approved"), "{stdout}");

    // The iOS way hears the call delivered before the call list is read.
    assert_in_order(
        &section(&stdout, 2),
        &["app learns: delivered", "call list: missed call"],
    );
    // A busy phone: the app learns the failure from the server's events,
    // long before its call timeout.
    let busy = section(&stdout, 3);
    assert_in_order(
        &busy,
        &[
            "486 Busy Here; the server records failed: busy",
            "ManualEntry (call_timeout)",
            "cancel()",
        ],
    );
    assert_has(
        &busy,
        &[
            "app learns: failed: busy",
            "server's record of failed → app's state change: median",
        ],
    );
}

#[test]
fn without_a_terminal_the_code_is_taken_from_the_handset() {
    let output = motp_demo(&["--ring-secs", "0"]);
    let stdout = stdout_of(&output);
    assert_has(
        &section(&stdout, 2),
        &["(read from the handset: stdin is not a terminal)"],
    );
}

#[test]
fn bad_arguments_fail_with_a_clear_message() {
    let output = motp_demo(&["--ring-secs", "99"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("expected seconds from 0 to 30"), "{stderr}");
}
