//! `motp match` end to end: the real binary, its stdout, stderr and exit code.

use std::process::{Command, Output};

fn motp_match(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_motp"))
        .arg("match")
        .args(args)
        .env_remove("MOTP_HOME_COUNTRY")
        .output()
        .expect("run motp")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const GB: &[&str] = &[
    "--prefix",
    "+442079460",
    "--code-length",
    "3",
    "--home-country",
    "GB",
];

fn gb(extra: &[&str]) -> Output {
    let args: Vec<&str> = GB.iter().chain(extra).copied().collect();
    motp_match(&args)
}

#[test]
fn match_prints_the_code_alone() {
    let out = gb(&["020 7946 0123"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "123\n");
    assert_eq!(text(&out.stderr), "");

    let out = gb(&["+44 20 7946 0007"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "007\n", "leading zeros kept");
}

#[test]
fn no_match_exits_1_with_the_reason_on_stderr() {
    for (number, reason) in [
        ("+33 1 23 45 67 89", "wrong_country"),
        ("020 8123 4567", "wrong_prefix"),
        ("020 7946", "too_short"),
        ("-2", "withheld"),
        ("Private", "withheld"),
        ("call me", "invalid_characters"),
        ("", "empty"),
    ] {
        let out = gb(&[number]);
        assert_eq!(out.status.code(), Some(1), "{number:?}");
        assert_eq!(text(&out.stdout), "", "{number:?}");
        let err = text(&out.stderr);
        assert!(err.starts_with(&format!("{reason}: ")), "{number:?}: {err}");
    }
}

#[test]
fn json_output() {
    let out = gb(&["--json", "020 7946 0123"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "{\"matched\":true,\"code\":\"123\"}\n");

    let out = gb(&["--json", "+33 1 23 45 67 89"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        "{\"matched\":false,\"reason\":\"wrong_country\"}\n"
    );
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn home_country_decides_national_forms() {
    let out = motp_match(&[
        "--prefix",
        "+442079460",
        "--code-length",
        "3",
        "--home-country",
        "fr",
        "020 7946 0123",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("wrong_country"));
    let out = motp_match(&[
        "--prefix",
        "+442079460",
        "--code-length",
        "3",
        "--home-country",
        "fr",
        "0044 20 7946 0123",
    ]);
    assert_eq!(text(&out.stdout), "123\n");
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "--prefix",
                "442079460",
                "--code-length",
                "3",
                "--home-country",
                "GB",
                "1",
            ],
            "--prefix",
        ),
        (
            &[
                "--prefix",
                "+4402079460",
                "--code-length",
                "3",
                "--home-country",
                "GB",
                "1",
            ],
            "trunk prefix",
        ),
        (
            &[
                "--prefix",
                "+442079460",
                "--code-length",
                "0",
                "--home-country",
                "GB",
                "1",
            ],
            "code length",
        ),
        (
            &[
                "--prefix",
                "+442079460",
                "--code-length",
                "x",
                "--home-country",
                "GB",
                "1",
            ],
            "code-length",
        ),
        (
            &[
                "--prefix",
                "+442079460",
                "--code-length",
                "3",
                "--home-country",
                "XX",
                "1",
            ],
            "--home-country",
        ),
        (
            &[
                "--prefix",
                "+442079460",
                "--code-length",
                "3",
                "--home-country",
                "GB",
            ],
            "NUMBER",
        ),
        (
            &["--code-length", "3", "--home-country", "GB", "1"],
            "--prefix",
        ),
    ];
    for (args, needle) in cases {
        let out = motp_match(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert_eq!(text(&out.stdout), "", "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn help_documents_the_reasons() {
    let out = motp_match(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for reason in motp_core::MatchRejection::ALL {
        assert!(
            help.contains(reason.as_str()),
            "{reason:?} missing from --help"
        );
    }
}
