//! `kill -9` between the commit of a state change and the delivery of its
//! webhook: the real `motp serve` binary, on SQLite and on PostgreSQL. The
//! receiver refuses everything before the kill, so the events are committed
//! but not delivered; after the restart the same events (same
//! `webhook-id`) arrive, signed.

mod common;
mod webhook_receiver;

use std::path::Path;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::process::{free_port, serve, BIN};
use common::Backend;
use serde_json::{json, Value};
use webhook_receiver::{signature_valid, Receiver};

on_both_backends!(kill_9_between_commit_and_delivery_loses_no_event);

fn motp(config: &Path, args: &[&str]) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .arg("--json")
        .arg("--config")
        .arg(config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn kill_9_between_commit_and_delivery_loses_no_event(backend: Backend) {
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => match std::env::var("MOTP_TEST_DATABASE_URL_PG") {
            Ok(url) => Some(common::fresh_pg_schema(&url).await),
            Err(_) => {
                println!("skipped: MOTP_TEST_DATABASE_URL_PG is not set");
                return;
            }
        },
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url =
        database.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("motp.db").display()));
    let config = dir.path().join("motp.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
listen = "127.0.0.1:{port}"

[database]
url = "{url}"

[codes]
ranges = [{{ prefix = "+4420794", code_length = 6 }}]

[limits]
allowed_countries = ["GB"]

[telephony]
provider = "log"

[webhooks]
retry_initial_ms = 50
retry_max_secs = 1
timeout_secs = 2
poll_ms = 20
"#
        ),
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let receiver = Receiver::start().await;
    receiver.inner.down.store(true, Ordering::SeqCst);

    let keys = motp(&config, &["keys", "create", "--app", "crash"]);
    let added = motp(
        &config,
        &[
            "webhooks",
            "add",
            "--app",
            "crash",
            "--url",
            &receiver.url(),
        ],
    );
    let secret = added["secret"].as_str().unwrap().to_string();

    let mut server = serve(&config, &base, &http).await;
    let r = http
        .post(format!("{base}/v1/verifications"))
        .bearer_auth(keys["publishable_key"].as_str().unwrap())
        .json(&json!({"phone_number": "+447400123456"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
    let id = r.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Committed and tried (refused) at least once: the events exist, and
    // none is delivered.
    let deadline = Instant::now() + Duration::from_secs(20);
    let tried = loop {
        let all = receiver.all();
        let mut types: Vec<String> = all
            .iter()
            .map(|r| r.json()["type"].as_str().unwrap().to_string())
            .collect();
        types.sort();
        types.dedup();
        if types.contains(&"verification.created".to_string())
            && types.contains(&"call.delivered".to_string())
        {
            break all;
        }
        assert!(Instant::now() < deadline, "never tried: {types:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(receiver.delivered().is_empty());

    // SIGKILL: no shutdown, no flush.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    drop(server);
    receiver.inner.down.store(false, Ordering::SeqCst);

    let _server = serve(&config, &base, &http).await;
    let delivered = receiver
        .wait_for(&["verification.created", "call.delivered"])
        .await;
    for r in &delivered {
        assert_eq!(r.json()["data"]["verification_id"], id.as_str());
        assert!(signature_valid(&secret, r));
        // The very event that was refused before the kill.
        assert!(tried.iter().any(|t| t.id == r.id && t.body == r.body));
    }
    let listed = motp(&config, &["webhooks", "list"]);
    assert_eq!(listed["endpoints"][0]["failed"], 0, "{listed}");
}
