//! The `motp` command-line tool.

use clap::{Parser, Subcommand};
use motp_server::cli;

/// jemalloc, set to hand freed memory back to the kernel within a second
/// (`dirty_decay_ms`, no "muzzy" stage), from its own background thread.
/// Chosen with the scale benchmark (docs/proof.md §7): after a burst of
/// thousands of calls, glibc's malloc kept most of the peak even after
/// `malloc_trim`, as the memory freed was spread thinly among live pages.
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once at start (its `malloc_conf` symbol, a C
/// string: hence a reference to the first byte).
#[cfg(all(feature = "jemalloc", not(target_env = "msvc")))]
#[allow(non_upper_case_globals)]
#[export_name = "_rjem_malloc_conf"]
pub static malloc_conf: &u8 = &b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

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
