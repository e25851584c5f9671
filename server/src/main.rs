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
    /// Run the verification server.
    Serve(cli::serve::ServeArgs),
    /// Manage API keys.
    Keys(cli::keys::KeysArgs),
    /// Run two whole verifications on 127.0.0.1 (server, SIP, a loopback
    /// handset) and print their timeline. Needs nothing installed.
    Demo(cli::demo::DemoArgs),
    /// Manage webhook endpoints; list failed deliveries and replay them.
    Webhooks(cli::webhooks::WebhooksArgs),
    /// Conversion figures per app, destination country and trunk.
    Stats(cli::stats::StatsArgs),
}

fn main() {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Match(args) => cli::match_cmd::run(args),
        Command::Serve(args) => cli::serve::run(args),
        Command::Keys(args) => cli::keys::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Webhooks(args) => cli::webhooks::run(args),
        Command::Stats(args) => cli::stats::run(args),
    };
    std::process::exit(code);
}
