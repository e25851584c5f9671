//! `motp match`: extract the code from a caller ID (being written).

use clap::Args;

/// Arguments of `motp match`.
#[derive(Debug, Args)]
pub struct MatchArgs {}

/// Runs `motp match`; returns the process exit code.
pub fn run(_args: MatchArgs) -> i32 {
    2
}
