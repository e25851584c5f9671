//! Keeping codes and phone numbers out of text that leaves the SDK.
//!
//! Error messages reach app logs and crash reports. Text from the server
//! (a problem's `detail`, a call's failure reason) may quote the number
//! being verified, so it passes through [`redact_numbers`] first.

/// Replaces anything that looks like a phone number or a code (a run of
/// four or more digits, separators allowed) with `…`, and bounds the length.
pub(crate) fn redact_numbers(text: &str) -> String {
    const MAX_CHARS: usize = 200;
    fn flush(out: &mut String, run: &mut String) {
        let digits = run.chars().filter(char::is_ascii_digit).count();
        if digits >= 4 {
            let body = run.trim_end_matches(|c: char| !c.is_ascii_digit()).len();
            out.push('…');
            out.push_str(&run[body..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    }
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars().take(MAX_CHARS) {
        let starts_run = c.is_ascii_digit() || c == '+' || c == '(';
        let continues_run = matches!(c, ' ' | '-' | '.' | '(' | ')' | '/');
        if starts_run || (continues_run && !run.is_empty()) {
            run.push(c);
        } else {
            flush(&mut out, &mut run);
            out.push(c);
        }
    }
    flush(&mut out, &mut run);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_redacted_from_server_text() {
        assert_eq!(
            redact_numbers("+44 20 7946 0123 is not allowed"),
            "… is not allowed"
        );
        assert_eq!(redact_numbers("code 123456 wrong"), "code … wrong");
        assert_eq!(
            redact_numbers("too short (3 digits)"),
            "too short (3 digits)"
        );
        assert_eq!(
            redact_numbers("country 44 not allowed"),
            "country 44 not allowed"
        );
        assert_eq!(redact_numbers("ends 07700900123"), "ends …");
        assert!(redact_numbers(&"x".repeat(10_000)).len() <= 200);
    }
}
