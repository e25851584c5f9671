//! `motp keys create`: create an app's publishable and secret keys.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::keys::{self, AppKeys, KeyKind};
use crate::storage::{Store, StoreError};

/// Arguments of `motp keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `motp keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key pair for an app (the app is created if new). The keys
    /// are printed once; only their hashes are stored.
    Create(CreateArgs),
}

/// Arguments of `motp keys create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The app's name (unique).
    #[arg(long)]
    pub app: String,
    /// The configuration file, for the database URL.
    #[arg(long, short, env = "MOTP_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print JSON (`app_id`, `app_name`, `publishable_key`, `secret_key`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `motp keys`; returns the process exit code.
pub fn run(args: KeysArgs) -> i32 {
    match args.command {
        KeysCommand::Create(args) => create(args),
    }
}

fn create(args: CreateArgs) -> i32 {
    let name = args.app.trim();
    if name.is_empty() || name.len() > 100 {
        eprintln!("motp keys create: --app must be 1 to 100 characters");
        return 2;
    }
    let config = match Config::load_unvalidated(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("motp keys create: {e}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("motp keys create: {e}");
            return 1;
        }
    };
    let created = runtime.block_on(async {
        let store = Store::connect(&config.database).await?;
        let keys = create_app_keys(&store, name).await;
        store.close().await;
        keys
    });
    match created {
        Ok(keys) if args.json => {
            let json = serde_json::json!({
                "app_id": keys.app_id,
                "app_name": keys.app_name,
                "publishable_key": keys.publishable_key,
                "secret_key": keys.secret_key,
            });
            println!("{json}");
            0
        }
        Ok(keys) => {
            println!("app:             {} ({})", keys.app_name, keys.app_id);
            println!("publishable key: {}", keys.publishable_key);
            println!("secret key:      {}", keys.secret_key);
            println!();
            println!("The keys are shown only now; the server keeps only their hashes.");
            println!(
                "The publishable key goes into the app; the secret key stays on your backend."
            );
            0
        }
        Err(e) => {
            eprintln!("motp keys create: {e}");
            1
        }
    }
}

/// Creates (or reuses) the app `name` and a new key pair for it.
pub async fn create_app_keys(store: &Store, name: &str) -> Result<AppKeys, StoreError> {
    let publishable_key = keys::generate(KeyKind::Publishable);
    let secret_key = keys::generate(KeyKind::Secret);
    let app_id = store
        .add_app_keys(
            name,
            &keys::new_id("app_"),
            &keys::hash(&publishable_key),
            &keys::hash(&secret_key),
            SystemClock.now_ms(),
        )
        .await?;
    Ok(AppKeys {
        app_id,
        app_name: name.to_string(),
        publishable_key,
        secret_key,
    })
}
