//! The `log` provider, for development: places no call, logs one masked
//! line, and reports the call ringing and then delivered.

use super::{CallFuture, CallProgress, FlashCall, ProgressSender, Telephony};
use crate::phone::mask;

/// Logs calls instead of placing them.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogTelephony;

impl Telephony for LogTelephony {
    fn name(&self) -> &'static str {
        "log"
    }

    fn place(&self, call: FlashCall, progress: ProgressSender) -> CallFuture<'_> {
        Box::pin(async move {
            // The caller number *is* the code: only its public prefix length
            // is logged, masked like any number.
            tracing::info!(
                verification = %call.verification_id,
                to = %mask(&call.callee),
                "log provider: flash call (not placed)"
            );
            let _ = progress.send(CallProgress::Ringing);
            let _ = progress.send(CallProgress::Delivered);
        })
    }
}
