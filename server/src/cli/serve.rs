//! `motp serve`: run the verification server.

use std::path::PathBuf;

use clap::Args;

use crate::config::{Config, LogConfig, LogFormat};

/// Arguments of `motp serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (TOML). `MOTP_…` variables override it.
    #[arg(long, short, env = "MOTP_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Runs `motp serve`; returns the process exit code.
pub fn run(args: ServeArgs) -> i32 {
    let config = match Config::load(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("motp serve: {e}");
            return 2;
        }
    };
    init_logging(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("motp serve: {e}");
            return 1;
        }
    };
    runtime.block_on(async move {
        match crate::server::start(config, Default::default()).await {
            Ok(server) => match server.run_until_signal().await {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!(error = %e, "server failed");
                    1
                }
            },
            Err(e) => {
                tracing::error!(error = %e, "could not start");
                eprintln!("motp serve: {e}");
                1
            }
        }
    })
}

/// Installs the `tracing` subscriber: `RUST_LOG` wins over `log.filter`.
pub fn init_logging(config: &LogConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
