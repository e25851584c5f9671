//! Where the iOS-way code comes from: a person typing it at the terminal,
//! or, when nobody can (`--auto`, stdin not a terminal), the demo reading
//! the loopback phone's call list in their place.

use std::io::Write as _;
use std::time::Duration;

use motp_core::MotpError;
use motp_core::VerificationHandle;
use tokio::sync::oneshot;

use super::deadline::{within, Failure, STEP_TIMEOUT};
use super::timeline::{Actor, Timeline};

/// How long a person may take to type the code (interactive mode).
const TYPING_TIMEOUT: Duration = Duration::from_secs(180);

/// Where the iOS-way code comes from.
#[derive(Debug, Clone, Copy)]
pub enum Typing {
    /// A person types it at the terminal.
    Terminal,
    /// Read from the handset, for the reason given.
    Auto(&'static str),
}

/// Asks for the code on the terminal until it is approved or the attempts
/// are spent.
pub async fn type_code(
    handle: &VerificationHandle,
    timeline: &Timeline,
    shown_prefix: &str,
    shown_number: &str,
) -> Result<String, Failure> {
    let digits = handle.caller().code_length;
    println!("  The handset shows a missed call from {shown_number}.");
    loop {
        print!("  Type the last {digits} digits: {shown_prefix}  > ");
        let _ = std::io::stdout().flush();
        let line = within(TYPING_TIMEOUT, "the code to be typed", read_line())
            .await?
            .map_err(|e| format!("cannot read the code: {e}"))?;
        let code = line.trim();
        if code.is_empty() {
            return Err("no code typed".into());
        }
        timeline.mark(Actor::User, format!("types {code}"));
        match within(STEP_TIMEOUT, "the check", handle.submit_code(code)).await? {
            Ok(token) => return Ok(token),
            Err(MotpError::InvalidInput { .. }) => {
                println!("  That is not {digits} digits; try again.");
            }
            Err(MotpError::WrongCode { attempts_left }) if attempts_left > 0 => {
                println!("  Wrong code, {attempts_left} attempts left.");
            }
            Err(e) => return Err(format!("submit_code failed: {e}")),
        }
    }
}

/// One line from stdin, on a thread of its own so the wait can time out.
async fn read_line() -> std::io::Result<String> {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    rx.await
        .unwrap_or_else(|_| Err(std::io::Error::other("the reader stopped")))
}
