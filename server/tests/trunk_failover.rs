//! Issue 15 item 5: several trunks, failover. Two SIPp processes are two
//! trunks on two loopback ports: the first (`primary`, range A) answers
//! 100 Trying and then 503, the second (`backup`, range B) is a phone that
//! rings. The verification is created with a code of range A; the primary
//! fails the call, the backup takes it with a code of range B; the client
//! sees the new prefix (a `caller` event on the stream, and `GET`); the
//! backup's phone shows a number of range B, and checking its code
//! approves. On SQLite and on PostgreSQL.
//!
//! Skipped, with a printed line, when `sipp` is not on PATH unless
//! `MOTP_REQUIRE_SIPP=1`; the PostgreSQL variant needs
//! `MOTP_TEST_DATABASE_URL_PG` (scripts/test.d/20-postgres.sh).

mod common;

use std::net::UdpSocket as StdUdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use motp_server::cli::keys::create_app_keys;
use motp_server::config::{CallerRange, Config, ProviderKind};
use motp_server::server::{start, Overrides};
use motp_server::telephony::sip::SipConfig;
use serde_json::{json, Value};

const PREFIX_A: &str = "+4420794";
const PREFIX_B: &str = "+4411796";
const PHONE: &str = "+447400123456";

/// One SIPp process playing a trunk; killed when dropped.
struct Sipp {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

fn free_udp_port() -> u16 {
    StdUdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn sipp_available() -> bool {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        if std::env::var("MOTP_REQUIRE_SIPP").as_deref() == Ok("1") {
            panic!("MOTP_REQUIRE_SIPP=1 but sipp is not on PATH (apt-get install sip-tester)");
        }
        println!("skipped: sipp is not on PATH (scripts/test.d/10-sipp.sh installs sip-tester)");
    }
    found
}

impl Sipp {
    fn start(scenario: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/sipp")
            .join(format!("{scenario}.xml"));
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(path)
            .args(["-i", "127.0.0.1", "-t", "u1", "-nostdin", "-m", "1"])
            .args(["-p", &port.to_string()])
            .args(["-cp", &free_udp_port().to_string()])
            .args(["-mp", &free_udp_port().to_string()])
            .args(["-timeout", "40s", "-timeout_error", "-trace_logs"])
            .arg("-log_file")
            .arg(dir.path().join("log.txt"))
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(dir.path().join("messages.txt"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sipp starts");
        let mut sipp = Self { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while StdUdpSocket::bind(("127.0.0.1", sipp.port)).is_ok() {
            assert!(
                sipp.child.try_wait().unwrap().is_none(),
                "sipp exited early"
            );
            assert!(Instant::now() < deadline, "sipp never bound its port");
            std::thread::sleep(Duration::from_millis(10));
        }
        sipp
    }

    /// The trunk `name` pointing at this SIPp, calling from `prefix`.
    fn trunk(&self, name: &str, prefix: &str) -> SipConfig {
        SipConfig {
            name: name.into(),
            bind: "127.0.0.1:0".parse().unwrap(),
            t1_ms: 100,
            ranges: vec![CallerRange {
                prefix: prefix.into(),
                code_length: 6,
            }],
            ..SipConfig::for_proxy(format!("127.0.0.1:{}", self.port))
        }
    }

    /// The user part of `From` in the INVITE SIPp logged.
    fn invite_from(&self) -> Option<String> {
        let log = std::fs::read_to_string(self.dir.path().join("log.txt")).unwrap_or_default();
        let line = log.lines().find(|l| l.starts_with("INVITE|"))?;
        let from = line.split('|').nth(1)?;
        let uri = from.split_once("sip:")?.1;
        Some(uri.split('@').next()?.to_string())
    }

    fn messages(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("messages.txt")).unwrap_or_default()
    }

    async fn finish(&mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            assert!(Instant::now() < deadline, "sipp did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads server-sent events until one whose data shows `prefix`.
async fn wait_for_prefix(response: &mut reqwest::Response, prefix: &str) -> Vec<(String, Value)> {
    let mut buffer = String::new();
    let mut seen = Vec::new();
    let read = async {
        loop {
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = Value::Null;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_string();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = serde_json::from_str(v).unwrap();
                    }
                }
                if event.is_empty() {
                    continue;
                }
                let done = data["caller"]["prefix"] == prefix;
                seen.push((event, data));
                if done {
                    return;
                }
            }
            let chunk = response.chunk().await.unwrap().expect("stream open");
            buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    };
    tokio::time::timeout(Duration::from_secs(15), read)
        .await
        .unwrap_or_else(|_| panic!("no event with prefix {prefix}: {seen:?}"));
    seen
}

async fn a_503_trunk_hands_the_call_to_the_next_trunk_with_its_own_range(database_url: String) {
    let mut primary = Sipp::start("unavailable_late");
    let mut backup = Sipp::start("ring_late");
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.database.url = if database_url.is_empty() {
        format!("sqlite://{}", dir.path().join("motp.db").display())
    } else {
        database_url
    };
    config.codes.ranges = vec![CallerRange {
        prefix: PREFIX_A.into(),
        code_length: 6,
    }];
    config.limits.allowed_countries = vec!["GB".into()];
    config.limits.per_ip_per_minute = 100_000;
    config.limits.per_ip_burst = 10_000;
    config.telephony.provider = ProviderKind::Sip;
    config.telephony.ring_secs = 1;
    config.telephony.answer_timeout_secs = 10;
    config.telephony.sip = Some(SipConfig {
        countries: vec!["GB".into()],
        ..primary.trunk("primary", PREFIX_A)
    });
    config.telephony.trunks = vec![backup.trunk("backup", PREFIX_B)];
    config.validate().expect("a valid two-trunk configuration");
    let server = start(config, Overrides::default())
        .await
        .expect("server starts");
    let keys = create_app_keys(&server.state.store, "failover")
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.url());

    let created: Value = http
        .post(url("/v1/verifications"))
        .bearer_auth(&keys.publishable_key)
        .json(&json!({"phone_number": PHONE}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().expect("created").to_string();
    assert_eq!(created["caller"]["prefix"], PREFIX_A, "{created}");

    // The client watches: the primary answers 503 only after 1.5 s, so the
    // stream sees the first prefix, then a `caller` event with the second.
    let mut stream = http
        .get(url(&format!("/v1/verifications/{id}/events")))
        .bearer_auth(&keys.publishable_key)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let events = wait_for_prefix(&mut stream, PREFIX_B).await;
    assert_eq!(events[0].1["caller"]["prefix"], PREFIX_A, "{events:?}");
    let (name, data) = events.last().unwrap();
    assert_eq!(name, "caller", "{events:?}");
    assert_eq!(data["status"], "calling", "{events:?}");
    assert!(primary.finish().await, "503 + ACK: {}", primary.messages());

    // The backup rings the phone and the call is delivered.
    let deadline = Instant::now() + Duration::from_secs(20);
    let body = loop {
        let body: Value = http
            .get(url(&format!("/v1/verifications/{id}")))
            .bearer_auth(&keys.publishable_key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["status"] == "delivered" {
            break body;
        }
        assert_ne!(body["status"], "failed", "{body}");
        assert!(Instant::now() < deadline, "never delivered: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(body["caller"]["prefix"], PREFIX_B, "{body}");
    assert!(
        backup.finish().await,
        "ring + CANCEL: {}",
        backup.messages()
    );

    // Each trunk presented a number of its own range.
    let first = primary.invite_from().expect("the primary saw an INVITE");
    assert!(first.starts_with(PREFIX_A), "{first}");
    let shown = backup.invite_from().expect("the backup saw an INVITE");
    let code = shown
        .strip_prefix(PREFIX_B)
        .unwrap_or_else(|| panic!("{shown} is not of range B"));
    assert_eq!(code.len(), 6);
    let row = server.state.store.get_fresh(&id).await.unwrap().unwrap();
    assert_eq!(row.trunk.as_deref(), Some("backup"));
    assert_eq!(row.resends, 0, "a failover is no resend");
    assert_eq!(row.call_seq, 1, "the same call, carried on elsewhere");

    // The code of range B approves.
    let checked = http
        .post(url(&format!("/v1/verifications/{id}/check")))
        .bearer_auth(&keys.publishable_key)
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(checked.status(), 200);
    let checked: Value = checked.json().await.unwrap();
    assert_eq!(checked["status"], "approved", "{checked}");

    // Health per trunk.
    let metrics = http
        .get(url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "motp_trunk_failovers_total{trunk=\"primary\"} 1",
        "motp_trunk_calls_total{trunk=\"primary\",result=\"trunk_failed\"} 1",
        "motp_trunk_calls_total{trunk=\"backup\",result=\"reached_phone\"} 1",
        "motp_trunk_consecutive_failures{trunk=\"primary\"} 1",
        "motp_trunk_up{trunk=\"backup\"} 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_503_trunk_fails_over_to_the_next() {
    if !sipp_available() {
        return;
    }
    a_503_trunk_hands_the_call_to_the_next_trunk_with_its_own_range(String::new()).await;
}

mod postgres {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_503_trunk_fails_over_to_the_next() {
        let Ok(url) = std::env::var("MOTP_TEST_DATABASE_URL_PG") else {
            println!("skipped: MOTP_TEST_DATABASE_URL_PG is not set");
            return;
        };
        if !sipp_available() {
            return;
        }
        let url = common::fresh_pg_schema(&url).await;
        a_503_trunk_hands_the_call_to_the_next_trunk_with_its_own_range(url).await;
    }
}
