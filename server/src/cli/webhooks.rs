//! `motp webhooks`: add, list, rotate, disable endpoints; list failed
//! deliveries and send them again. Works on the database directly, like
//! `motp keys`, so it needs no running server.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};

use crate::clock::{timestamp, Clock, SystemClock};
use crate::config::Config;
use crate::keys::new_id;
use crate::storage::webhooks::{NewEndpoint, Replay};
use crate::storage::Store;
use crate::webhooks::sign::new_secret;

/// Arguments of `motp webhooks`.
#[derive(Debug, Args)]
pub struct WebhooksArgs {
    /// The configuration file, for the database URL.
    #[arg(long, short, env = "MOTP_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: WebhooksCommand,
}

/// `motp webhooks …`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// Add an endpoint to an app. Its signing secret is printed once.
    Add {
        /// The app's name.
        #[arg(long)]
        app: String,
        /// `https://…` (plain `http://` only to loopback).
        #[arg(long)]
        url: String,
        /// Send the full phone number instead of a masked one.
        #[arg(long)]
        full_number: bool,
    },
    /// List endpoints (no secrets) with their pending and failed deliveries.
    List {
        /// Only this app's.
        #[arg(long)]
        app: Option<String>,
    },
    /// Give an endpoint a new secret, printed once. The old one stays valid
    /// for `--overlap` (both signatures are sent meanwhile).
    Rotate {
        /// The endpoint id (`we_…`).
        #[arg(long)]
        endpoint: String,
        /// How long the old secret is still signed with, e.g. `24h`.
        #[arg(long, default_value = "24h", value_parser = humantime::parse_duration)]
        overlap: Duration,
    },
    /// Stop sending new events to an endpoint.
    Disable {
        /// The endpoint id.
        #[arg(long)]
        endpoint: String,
    },
    /// Send new events to an endpoint again.
    Enable {
        /// The endpoint id.
        #[arg(long)]
        endpoint: String,
    },
    /// Deliveries given up after the retry horizon, newest first.
    Failures {
        /// Only this app's.
        #[arg(long)]
        app: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
    /// Queue deliveries again (due at once, fresh retry horizon).
    Replay {
        /// One delivery, by the id `failures` shows.
        #[arg(long, conflicts_with_all = ["endpoint", "app"])]
        delivery: Option<i64>,
        /// Every failed delivery of this endpoint.
        #[arg(long, conflicts_with = "app")]
        endpoint: Option<String>,
        /// Every failed delivery of this app (by name).
        #[arg(long)]
        app: Option<String>,
    },
}

/// Runs `motp webhooks`; returns the process exit code.
pub fn run(args: WebhooksArgs) -> i32 {
    let config = match Config::load_unvalidated(args.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("motp webhooks: {e}");
            return 2;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("motp webhooks: {e}");
            return 1;
        }
    };
    runtime.block_on(async {
        let store = match Store::connect(&config.database).await {
            Ok(store) => store,
            Err(e) => {
                eprintln!("motp webhooks: {e}");
                return 1;
            }
        };
        let outcome = execute(&store, args.command, args.json).await;
        store.close().await;
        match outcome {
            Ok(text) => {
                println!("{text}");
                0
            }
            Err(Failure::Usage(e)) => {
                eprintln!("motp webhooks: {e}");
                2
            }
            Err(Failure::Store(e)) => {
                eprintln!("motp webhooks: {e}");
                1
            }
        }
    })
}

/// Why a subcommand failed.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments (exit 2).
    Usage(String),
    /// The database failed (exit 1).
    Store(String),
}

impl From<crate::storage::StoreError> for Failure {
    fn from(e: crate::storage::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

async fn app_id(store: &Store, name: &str) -> Result<String, Failure> {
    store
        .app_id_by_name(name)
        .await?
        .ok_or_else(|| Failure::Usage(format!("no app named {name:?} (motp keys create)")))
}

/// Runs one subcommand against `store`; the text to print.
pub async fn execute(
    store: &Store,
    command: WebhooksCommand,
    json: bool,
) -> Result<String, Failure> {
    let now = SystemClock.now_ms();
    match command {
        WebhooksCommand::Add {
            app,
            url,
            full_number,
        } => {
            let url = crate::webhooks::url::check(&url)
                .map_err(|e| Failure::Usage(format!("--url: {e}")))?;
            let endpoint = NewEndpoint {
                id: new_id("we_"),
                app_id: app_id(store, &app).await?,
                url: url.to_string(),
                secret: new_secret(),
                full_number,
                created_at: now,
            };
            store.add_webhook_endpoint(&endpoint).await?;
            Ok(if json {
                serde_json::json!({
                    "endpoint_id": endpoint.id,
                    "app_id": endpoint.app_id,
                    "url": endpoint.url,
                    "secret": endpoint.secret,
                    "full_number": full_number,
                })
                .to_string()
            } else {
                format!(
                    "endpoint: {}\nurl:      {}\nsecret:   {}\n\nThe secret is shown only now. \
                     Verify every delivery with it (Standard Webhooks: webhook-id, \
                     webhook-timestamp, webhook-signature).",
                    endpoint.id, endpoint.url, endpoint.secret
                )
            })
        }
        WebhooksCommand::List { app } => {
            let app_id = match app {
                Some(name) => Some(app_id(store, &name).await?),
                None => None,
            };
            let endpoints = store.list_webhook_endpoints(app_id.as_deref()).await?;
            if json {
                let list: Vec<_> = endpoints
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "endpoint_id": e.id, "app_id": e.app_id, "url": e.url,
                            "full_number": e.full_number, "enabled": e.enabled,
                            "rotating": e.rotating, "pending": e.pending, "failed": e.failed,
                            "created_at": timestamp(e.created_at),
                        })
                    })
                    .collect();
                return Ok(serde_json::json!({ "endpoints": list }).to_string());
            }
            let mut out = String::from(
                "ENDPOINT                 APP                      ENABLED PENDING FAILED URL",
            );
            for e in endpoints {
                out.push_str(&format!(
                    "\n{:<24} {:<24} {:<7} {:>7} {:>6} {}{}",
                    e.id,
                    e.app_id,
                    if e.enabled { "yes" } else { "no" },
                    e.pending,
                    e.failed,
                    e.url,
                    if e.full_number { " (full numbers)" } else { "" }
                ));
            }
            Ok(out)
        }
        WebhooksCommand::Rotate { endpoint, overlap } => {
            let secret = new_secret();
            let until = now + i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX / 4);
            if !store
                .rotate_webhook_secret(&endpoint, &secret, until)
                .await?
            {
                return Err(Failure::Usage(format!("no endpoint {endpoint:?}")));
            }
            Ok(if json {
                serde_json::json!({"endpoint_id": endpoint, "secret": secret,
                    "previous_valid_until": timestamp(until)})
                .to_string()
            } else {
                format!(
                    "endpoint: {endpoint}\nsecret:   {secret}\n\nThe new secret is shown only now. \
                     Deliveries carry both signatures until {}.",
                    humantime::format_rfc3339_seconds(
                        std::time::UNIX_EPOCH + Duration::from_millis(until.max(0) as u64)
                    )
                )
            })
        }
        WebhooksCommand::Disable { endpoint } => set_enabled(store, &endpoint, false).await,
        WebhooksCommand::Enable { endpoint } => set_enabled(store, &endpoint, true).await,
        WebhooksCommand::Failures { app, limit } => {
            let app_id = match app {
                Some(name) => Some(app_id(store, &name).await?),
                None => None,
            };
            let failed = store
                .failed_webhook_deliveries(app_id.as_deref(), limit.clamp(1, 10_000))
                .await?;
            if json {
                let list: Vec<_> = failed
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "delivery": f.id, "endpoint_id": f.endpoint_id, "url": f.url,
                            "webhook_id": f.msg_id, "type": f.event_type,
                            "verification_id": f.verification_id, "attempts": f.attempts,
                            "last_status": f.last_status, "last_error": f.last_error,
                            "occurred_at": timestamp(f.occurred_at),
                        })
                    })
                    .collect();
                return Ok(serde_json::json!({ "failures": list }).to_string());
            }
            let mut out = String::from(
                "DELIVERY ENDPOINT                 TYPE                   ATTEMPTS LAST",
            );
            for f in failed {
                out.push_str(&format!(
                    "\n{:<8} {:<24} {:<22} {:>8} {}",
                    f.id,
                    f.endpoint_id,
                    f.event_type,
                    f.attempts,
                    f.last_error.unwrap_or_default()
                ));
            }
            Ok(out)
        }
        WebhooksCommand::Replay {
            delivery,
            endpoint,
            app,
        } => {
            let which = match (delivery, endpoint, app) {
                (Some(id), None, None) => Replay::Delivery(id),
                (None, Some(endpoint), None) => Replay::Endpoint(endpoint),
                (None, None, Some(name)) => Replay::App(app_id(store, &name).await?),
                _ => {
                    return Err(Failure::Usage(
                        "replay needs one of --delivery, --endpoint, --app".into(),
                    ))
                }
            };
            let n = store.replay_webhook_deliveries(&which).await?;
            Ok(if json {
                serde_json::json!({ "replayed": n }).to_string()
            } else {
                format!("{n} deliveries queued again")
            })
        }
    }
}

async fn set_enabled(store: &Store, endpoint: &str, enabled: bool) -> Result<String, Failure> {
    if !store.set_webhook_enabled(endpoint, enabled).await? {
        return Err(Failure::Usage(format!("no endpoint {endpoint:?}")));
    }
    Ok(format!(
        "endpoint {endpoint} {}",
        if enabled { "enabled" } else { "disabled" }
    ))
}
