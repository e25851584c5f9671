//! `kill -9` between create and check: the real `motp serve` binary on
//! SQLite, killed without warning, restarted on the same file. The
//! verification it acknowledged is still there and checkable. The code
//! comes from the development hook (`dev_expose_calls`, log provider).

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::process::{free_port, serve, BIN};
use serde_json::{json, Value};

fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("motp.toml");
    let db = dir.join("motp.db");
    std::fs::write(
        &path,
        format!(
            r#"
[server]
listen = "127.0.0.1:{port}"

[database]
url = "sqlite://{}"

[codes]
ranges = [{{ prefix = "+4420794", code_length = 6 }}]

[limits]
allowed_countries = ["GB"]

[telephony]
provider = "log"
dev_expose_calls = true

[log]
filter = "debug,hyper=info,h2=info"
"#,
            db.display()
        ),
    )
    .unwrap();
    path
}

async fn json_of(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn kill_9_between_create_and_check_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = write_config(dir.path(), port);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let out = Command::new(BIN)
        .args([
            "keys",
            "create",
            "--app",
            "crash-test",
            "--json",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let keys: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (pk, sk) = (
        keys["publishable_key"].as_str().unwrap().to_string(),
        keys["secret_key"].as_str().unwrap().to_string(),
    );

    let mut server = serve(&config, &base, &http).await;
    let (status, created) = json_of(
        http.post(format!("{base}/v1/verifications"))
            .bearer_auth(&pk)
            .json(&json!({"phone_number": "+447400123456"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    // The publishable key may not read the development hook.
    let r = http
        .get(format!("{base}/v1/dev/calls/{id}"))
        .bearer_auth(&pk)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let (status, call) = json_of(
        http.get(format!("{base}/v1/dev/calls/{id}"))
            .bearer_auth(&sk)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{call}");
    let caller = call["caller"].as_str().unwrap().to_string();
    assert_eq!(call["callee"], "+447400123456");
    assert_eq!(call["sequence"], 1);
    let code = caller.strip_prefix("+4420794").unwrap().to_string();
    let (status, list) = json_of(
        http.get(format!("{base}/v1/dev/calls?limit=5"))
            .bearer_auth(&sk)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(list["calls"][0]["caller"], caller.as_str());
    // One wrong guess before the crash, to see the attempt counter survive.
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let (status, _) = json_of(
        http.post(format!("{base}/v1/verifications/{id}/check"))
            .bearer_auth(&pk)
            .json(&json!({"code": wrong}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422);

    // SIGKILL: no shutdown, no flush, no goodbye.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    drop(server);

    let _server = serve(&config, &base, &http).await;
    let (status, v) = json_of(
        http.get(format!("{base}/v1/verifications/{id}"))
            .bearer_auth(&pk)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["attempts_left"], 4, "the wrong guess was kept");
    let (status, approved) = json_of(
        http.post(format!("{base}/v1/verifications/{id}/check"))
            .bearer_auth(&pk)
            .json(&json!({"caller_id": caller, "home_country": "GB"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    let token = approved["token"].as_str().unwrap();
    let (status, info) = json_of(
        http.post(format!("{base}/v1/tokens/introspect"))
            .bearer_auth(&sk)
            .json(&json!({"token": token}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(info["active"], true);
    assert_eq!(info["verification_id"], id.as_str());

    // The logs, at debug level, name the verification but never the code,
    // the calling number, or the full destination number.
    let logs = std::fs::read_to_string(dir.path().join("motp.log")).unwrap();
    assert!(logs.contains(&id), "the logs are there");
    assert!(logs.contains("+4474******56"), "numbers are masked");
    for secret in [
        caller.as_str(),
        &format!("\"{code}\""),
        "+447400123456",
        token,
    ] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
}

/// Runs `motp` to completion, killing it after 20 s (a server that starts
/// when it should have refused must not hang the test).
fn run_bounded(cmd: &mut Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
            return (status.code(), err);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return (None, "still running after 20 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn serve_refuses_dev_hook_off_loopback_and_bad_config() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port());
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace("127.0.0.1:", "0.0.0.0:")).unwrap();
    let (code, err) = run_bounded(Command::new(BIN).args(["serve", "--config"]).arg(&config));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("dev_expose_calls"), "{err}");

    // A misspelt field is an error, not silently ignored.
    std::fs::write(&config, "[codes]\nttl = 5\n").unwrap();
    let (code, err) = run_bounded(Command::new(BIN).args(["serve", "--config"]).arg(&config));
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("ttl"), "{err}");
}

#[test]
fn environment_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), free_port());
    // An override that makes the config invalid proves it is read.
    let (code, err) = run_bounded(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .env("MOTP_TELEPHONY__DEV_EXPOSE_CALLS", "true")
            .env("MOTP_SERVER__LISTEN", "0.0.0.0:1")
            .env("MOTP_TEST_DATABASE_URL_PG", "not config"),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("loopback"), "{err}");
    // Lists as TOML arrays.
    let (code, err) = run_bounded(
        Command::new(BIN)
            .args(["serve", "--config"])
            .arg(&config)
            .env("MOTP_LIMITS__ALLOWED_COUNTRIES", r#"["GB","Narnia"]"#),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("Narnia"), "{err}");
}
