//! The `motp` command-line tool.

use clap::{Parser, Subcommand};
use motp_server::cli;

/// mOTP: phone-number verification by missed call.
#[derive(Debug, Parser)]
#[command(name = "motp", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Extract the one-time code from a caller ID, as the SDK does.
    Match(cli::match_cmd::MatchArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Match(args) => cli::match_cmd::run(args),
    };
    std::process::exit(code);
}
