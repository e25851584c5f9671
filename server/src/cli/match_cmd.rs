//! `motp match`: extract the code from a caller ID, exactly as the SDK does
//! on the phone (same `motp-core` matcher).

use clap::Args;
use motp_core::{CallerIdMatcher, CallerPattern, MatchRejection};

/// Exit status when the number matched.
pub const EXIT_MATCH: i32 = 0;
/// Exit status when the number did not match.
pub const EXIT_NO_MATCH: i32 = 1;
/// Exit status for bad arguments (the same as clap's usage errors).
pub const EXIT_USAGE: i32 = 2;

/// Arguments of `motp match`.
#[derive(Debug, Args)]
#[command(after_long_help = REASONS_HELP)]
pub struct MatchArgs {
    /// E.164 caller prefix the verification calls come from, e.g. +442079460.
    #[arg(long, value_name = "E164_PREFIX")]
    pub prefix: String,

    /// Number of code digits that follow the prefix.
    #[arg(long, value_name = "DIGITS")]
    pub code_length: u8,

    /// ISO 3166 alpha-2 country of the receiving phone (decides which
    /// national forms and international access codes are understood).
    #[arg(long, value_name = "ISO", env = "MOTP_HOME_COUNTRY")]
    pub home_country: String,

    /// Print a JSON object instead: {"matched":true,"code":"123"} or
    /// {"matched":false,"reason":"wrong_country"}.
    #[arg(long)]
    pub json: bool,

    /// The caller ID as the phone shows it, e.g. "020 7946 0123" (quote it;
    /// markers such as -2 are accepted as they are).
    #[arg(value_name = "NUMBER", allow_hyphen_values = true)]
    pub number: String,
}

const REASONS_HELP: &str = "\
Output:
  match     the code alone on stdout (leading zeros kept), exit 0
  no match  the reason on stderr, exit 1
  --json    {\"matched\":true,\"code\":\"123\"} or {\"matched\":false,\"reason\":\"…\"} on stdout
  bad arguments: a message on stderr, exit 2

Reasons (snake_case, stable):
  empty               no number at all
  withheld            the caller hid the number (-1, -2, -3, \"Private\", \"Unknown\"…)
  invalid_characters  letters or symbols no phone number holds
  wrong_country       another country calling code, or another country's national number
  wrong_prefix        right country, outside the caller range
  too_short           fewer digits than any presentation of the pattern
  too_long            more digits than any presentation, or over 64 characters

Example:
  motp match --prefix +442079460 --code-length 3 --home-country GB \"020 7946 0123\"";

/// Runs `motp match`; returns the process exit code.
pub fn run(args: MatchArgs) -> i32 {
    let matcher = match CallerPattern::new(&args.prefix, args.code_length)
        .map_err(|e| format!("--prefix/--code-length: {e}"))
        .and_then(|pattern| {
            CallerIdMatcher::new(pattern, &args.home_country).map_err(|_| {
                format!(
                    "--home-country: {:?} is not an ISO 3166 alpha-2 code known to mOTP",
                    args.home_country
                )
            })
        }) {
        Ok(m) => m,
        Err(message) => {
            eprintln!("error: {message}");
            return EXIT_USAGE;
        }
    };
    let result = matcher.match_number(&args.number);
    if args.json {
        println!("{}", to_json(&result));
    }
    match result {
        Ok(code) => {
            if !args.json {
                println!("{code}");
            }
            EXIT_MATCH
        }
        Err(reason) => {
            if !args.json {
                eprintln!("{}: {reason}", reason.as_str());
            }
            EXIT_NO_MATCH
        }
    }
}

/// The `--json` output; fields in this order.
#[derive(serde::Serialize)]
struct JsonOutput<'a> {
    matched: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
}

/// `{"matched":true,"code":"123"}` or `{"matched":false,"reason":"wrong_country"}`.
fn to_json(result: &Result<String, MatchRejection>) -> String {
    let out = match result {
        Ok(code) => JsonOutput {
            matched: true,
            code: Some(code),
            reason: None,
        },
        Err(reason) => JsonOutput {
            matched: false,
            code: None,
            reason: Some(reason.as_str()),
        },
    };
    // Serializing a struct of strings and bools cannot fail.
    serde_json::to_string(&out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shapes() {
        assert_eq!(
            to_json(&Ok("007".into())),
            r#"{"matched":true,"code":"007"}"#
        );
        assert_eq!(
            to_json(&Err(MatchRejection::WrongCountry)),
            r#"{"matched":false,"reason":"wrong_country"}"#
        );
    }
}
