//! The calling number as the user will see it, for the code-entry UI.

use motp_core::{CallerDisplay, CallerInfo, CallerPattern, DisplayForm, MotpError};

/// The number the verification call comes from, as cells to draw: the
/// known digits, the punctuation, and one slot per code digit holding what
/// the user typed so far (`typed`: only its digits count, the raw text
/// field will do). Grouped the way libphonenumber writes that country's
/// numbers, internationally (`+44 20 7946 0___`) or as seen from the home
/// country (`020 7946 0___`). Throws `InvalidInput` for a malformed
/// `caller`.
#[uniffi::export]
pub fn display_caller(
    caller: CallerInfo,
    typed: String,
    form: DisplayForm,
) -> Result<CallerDisplay, MotpError> {
    let pattern = CallerPattern::try_from(&caller)?;
    Ok(motp_core::display_caller(&pattern, &typed, &form))
}
