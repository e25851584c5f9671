//! The SIP provider against SIPp playing the phone (scenarios in
//! `tests/sipp/`), on 127.0.0.1 with free ports.
//!
//! Skipped, with a printed line, when `sipp` (Debian `sip-tester`) is not
//! on PATH, unless `MOTP_REQUIRE_SIPP=1` (set by
//! `scripts/test.d/10-sipp.sh`), which makes a missing SIPp a failure.

use std::net::UdpSocket as StdUdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use motp_server::telephony::sip::message::NameAddr;
use motp_server::telephony::sip::{SipConfig, SipTelephony};
use motp_server::telephony::{CallProgress, CallStop, FlashCall, Telephony};

const CALLER: &str = "+442079460123";
const CALLEE: &str = "+447700900123";

/// A SIPp process running one scenario as the UAS; killed when dropped.
struct Sipp {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// Whether SIPp is on PATH; `false` (after printing why) skips the test,
/// unless `MOTP_REQUIRE_SIPP=1` makes a missing SIPp a failure.
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

fn free_udp_port() -> u16 {
    StdUdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(format!("{name}.xml"))
}

impl Sipp {
    fn start(name: &str) -> Self {
        Self::start_calls(name, 1)
    }

    /// SIPp answering `calls` calls of scenario `name`, side by side.
    fn start_calls(name: &str, calls: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_udp_port();
        let child = Command::new("sipp")
            .arg("-sf")
            .arg(scenario(name))
            .args(["-i", "127.0.0.1", "-t", "u1", "-nostdin"])
            .args(["-m", &calls.to_string()])
            .args(["-p", &port.to_string()])
            .args(["-cp", &free_udp_port().to_string()])
            .args(["-mp", &free_udp_port().to_string()])
            .args(["-timeout", "40s", "-timeout_error"])
            .arg("-trace_logs")
            .arg("-log_file")
            .arg(dir.path().join("log.txt"))
            .arg("-trace_msg")
            .arg("-message_file")
            .arg(dir.path().join("messages.txt"))
            .arg("-trace_err")
            .arg("-error_file")
            .arg(dir.path().join("errors.txt"))
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("screen.txt")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.txt")).unwrap())
            .spawn()
            .expect("sipp starts");
        let mut sipp = Self { child, port, dir };
        sipp.wait_listening();
        sipp
    }

    /// SIPp is ready once its port is taken.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while StdUdpSocket::bind(("127.0.0.1", self.port)).is_ok() {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("sipp exited early ({status}): {}", self.explain());
            }
            assert!(Instant::now() < deadline, "sipp never bound its port");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn config(&self) -> SipConfig {
        SipConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            t1_ms: 100,
            ..SipConfig::for_proxy(format!("127.0.0.1:{}", self.port))
        }
    }

    /// Waits for SIPp to finish its one call; its exit status says whether
    /// the scenario ran to the end (0) or failed.
    async fn finish(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(45);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "sipp did not finish");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn read(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(file)).unwrap_or_default()
    }

    /// Lines of the `<log>` actions.
    fn log(&self) -> Vec<String> {
        self.read("log.txt").lines().map(str::to_string).collect()
    }

    /// The user parts of From and P-Asserted-Identity in the (last)
    /// INVITE, as SIPp logged them.
    fn invite_numbers(&self) -> (String, String) {
        let log = self.log();
        let line = log
            .iter()
            .rev()
            .find(|l| l.starts_with("INVITE|"))
            .unwrap_or_else(|| panic!("no INVITE logged: {log:?}"));
        let fields: Vec<&str> = line.split('|').collect();
        let user = |header: &str| {
            let value = header.split_once(':').map_or("", |(_, v)| v.trim());
            NameAddr::parse(value)
                .and_then(|a| a.user())
                .unwrap_or_else(|| panic!("no number in {header:?}: {log:?}"))
        };
        (user(fields[1]), user(fields[2]))
    }

    fn explain(&self) -> String {
        format!(
            "log: {:?}\nstderr: {}\nerrors: {}\nmessages:\n{}",
            self.log(),
            self.read("stderr.txt"),
            self.read("errors.txt"),
            self.read("messages.txt")
        )
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn flash_call(ring_for: Duration) -> FlashCall {
    FlashCall {
        verification_id: "vf_sipp".into(),
        caller: CALLER.into(),
        callee: CALLEE.into(),
        ring_for,
        answer_timeout: Duration::from_secs(10),
        stop: CallStop::never(),
    }
}

async fn place(config: SipConfig, call: FlashCall) -> Vec<CallProgress> {
    let telephony = SipTelephony::new(config).unwrap();
    let (tx, mut rx) = motp_server::telephony::progress::channel();
    tokio::time::timeout(Duration::from_secs(30), telephony.place(call, tx))
        .await
        .expect("the call finishes in bounded time");
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    events
}

fn failed(reason: &str) -> Vec<CallProgress> {
    vec![CallProgress::Failed {
        reason: reason.into(),
    }]
}

/// The trunk, not the phone, failed the call: another trunk may take it.
fn trunk_failed(reason: &str) -> Vec<CallProgress> {
    vec![CallProgress::TrunkFailed {
        reason: reason.into(),
    }]
}

#[tokio::test]
async fn ringing_then_cancel_487_is_delivered_with_the_caller_in_from_and_pai() {
    if !sipp_available() {
        return;
    }
    let mut sipp = Sipp::start("ring");
    let events = place(sipp.config(), flash_call(Duration::from_millis(300))).await;
    assert_eq!(
        events,
        vec![CallProgress::Ringing, CallProgress::Delivered],
        "{}",
        sipp.explain()
    );
    assert!(sipp.finish().await.success(), "{}", sipp.explain());
    assert_eq!(
        sipp.invite_numbers(),
        (CALLER.to_string(), CALLER.to_string())
    );
    let log = sipp.log();
    assert!(log.iter().any(|l| l == "CANCEL|CSeq: 1 CANCEL"), "{log:?}");
    assert!(log.iter().any(|l| l == "ACK|CSeq: 1 ACK"), "{log:?}");
    // The INVITE carried the SDP offer.
    assert!(
        log[0].ends_with("|Content-Type: application/sdp"),
        "{log:?}"
    );
}

#[tokio::test]
async fn answered_gets_ack_and_bye_and_is_delivered() {
    if !sipp_available() {
        return;
    }
    let mut sipp = Sipp::start("answer");
    let events = place(sipp.config(), flash_call(Duration::from_secs(5))).await;
    assert_eq!(
        events,
        vec![CallProgress::Ringing, CallProgress::Delivered],
        "{}",
        sipp.explain()
    );
    // SIPp only completes the scenario after ACK, BYE and its 200.
    assert!(sipp.finish().await.success(), "{}", sipp.explain());
    let log = sipp.log();
    assert!(log.iter().any(|l| l == "ACK|CSeq: 1 ACK"), "{log:?}");
    assert!(log.iter().any(|l| l == "BYE|CSeq: 2 BYE"), "{log:?}");
    assert_eq!(sipp.invite_numbers().0, CALLER);
}

#[tokio::test]
async fn busy_486_fails_as_busy() {
    if !sipp_available() {
        return;
    }
    let mut sipp = Sipp::start("busy");
    let events = place(sipp.config(), flash_call(Duration::from_secs(1))).await;
    assert_eq!(events, failed("busy"), "{}", sipp.explain());
    assert!(
        sipp.finish().await.success(),
        "the 486 was ACKed: {}",
        sipp.explain()
    );
}

#[tokio::test]
async fn unavailable_503_fails_as_unavailable() {
    if !sipp_available() {
        return;
    }
    let mut sipp = Sipp::start("unavailable");
    let events = place(sipp.config(), flash_call(Duration::from_secs(1))).await;
    assert_eq!(events, trunk_failed("unavailable"), "{}", sipp.explain());
    assert!(
        sipp.finish().await.success(),
        "the 503 was ACKed: {}",
        sipp.explain()
    );
}

#[tokio::test]
async fn silence_fails_as_timeout_after_retransmitting_the_invite() {
    if !sipp_available() {
        return;
    }
    let sipp = Sipp::start("silent");
    let mut config = sipp.config();
    config.t1_ms = 50;
    let mut call = flash_call(Duration::from_secs(1));
    call.answer_timeout = Duration::from_millis(1200);
    let started = Instant::now();
    let events = place(config, call).await;
    assert_eq!(events, trunk_failed("timeout"), "{}", sipp.explain());
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1200) && took < Duration::from_secs(5),
        "{took:?}"
    );
    // Timer A: sent at 0, 50, 150, 350, 750 ms (doubling from T1).
    let invites = sipp
        .read("messages.txt")
        .matches("INVITE sip:+447700900123@127.0.0.1;user=phone SIP/2.0")
        .count();
    assert!(
        invites >= 4,
        "INVITE sent {invites} times: {}",
        sipp.explain()
    );
}

#[tokio::test]
async fn digest_challenge_is_answered_once() {
    if !sipp_available() {
        return;
    }
    let mut sipp = Sipp::start("auth");
    let mut config = sipp.config();
    config.auth_username = Some("motp".into());
    config.auth_password = Some("s3cret".into());
    let events = place(config, flash_call(Duration::from_millis(200))).await;
    assert_eq!(
        events,
        vec![CallProgress::Ringing, CallProgress::Delivered],
        "{}",
        sipp.explain()
    );
    assert!(sipp.finish().await.success(), "{}", sipp.explain());
    let log = sipp.log().join("\n");
    assert!(
        log.contains("Authorization: Digest username=\"motp\""),
        "{log}"
    );
    assert!(log.contains("qop=auth"), "{log}");

    // Wrong password: SIPp's verifyauth refuses it with 403.
    let mut sipp = Sipp::start("auth");
    let mut config = sipp.config();
    config.auth_username = Some("motp".into());
    config.auth_password = Some("wrong".into());
    let events = place(config, flash_call(Duration::from_millis(200))).await;
    assert_eq!(events, trunk_failed("forbidden"), "{}", sipp.explain());
    assert!(sipp.finish().await.success(), "{}", sipp.explain());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_share_one_socket_and_port() {
    if !sipp_available() {
        return;
    }
    // Issue 19 item 1: four calls side by side through one provider to one
    // phone, all from the trunk's one socket.
    let mut sipp = Sipp::start_calls("ring", 4);
    let telephony = Arc::new(SipTelephony::new(sipp.config()).unwrap());
    let port = telephony.local_addr().port();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let telephony = Arc::clone(&telephony);
        tasks.spawn(async move {
            let (tx, mut rx) = motp_server::telephony::progress::channel();
            telephony
                .place(flash_call(Duration::from_millis(300)), tx)
                .await;
            let mut events = Vec::new();
            while let Ok(event) = rx.try_recv() {
                events.push(event);
            }
            events
        });
    }
    let started = Instant::now();
    while let Some(events) = tasks.join_next().await {
        assert_eq!(
            events.unwrap(),
            vec![CallProgress::Ringing, CallProgress::Delivered],
            "{}",
            sipp.explain()
        );
    }
    // Side by side, not one after another: each rings 300 ms, so one after
    // another they would take at least 4 × 300 ms.
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
    assert!(sipp.finish().await.success(), "{}", sipp.explain());
    assert_eq!(telephony.calls_in_flight(), 0, "every call unregistered");
    // Every request of every call came from the one socket: its Via names
    // the socket's port (SIPp answers to the Via's address).
    let messages = sipp.read("messages.txt");
    let vias: Vec<&str> = messages
        .lines()
        .filter(|l| l.starts_with("Via: SIP/2.0/UDP"))
        .collect();
    assert!(vias.len() >= 12, "INVITE, CANCEL, ACK × 4: {vias:?}");
    let sent_by = format!("Via: SIP/2.0/UDP 127.0.0.1:{port};");
    assert!(vias.iter().all(|v| v.starts_with(&sent_by)), "{vias:?}");
    let calls: std::collections::HashSet<&str> = messages
        .lines()
        .filter_map(|l| l.strip_prefix("Call-ID: "))
        .collect();
    assert_eq!(calls.len(), 4, "four calls, one Call-ID each");
}

#[tokio::test]
async fn a_taken_sip_port_stops_the_provider_with_a_clear_error() {
    let held = StdUdpSocket::bind("127.0.0.1:0").unwrap();
    let config = SipConfig {
        bind: held.local_addr().unwrap(),
        ..SipConfig::for_proxy("127.0.0.1:5060")
    };
    let error = SipTelephony::new(config).unwrap_err().to_string();
    assert!(
        error.contains("bind") && error.contains("holds the port"),
        "{error}"
    );
}

// ---------------------------------------------------------------------------
// End to end: the HTTP API with the SIP provider, SIPp as the phone.

mod e2e {
    use super::*;
    pub use motp_server::cli::keys::create_app_keys;
    pub use motp_server::config::{CallerRange, Config};
    pub use motp_server::server::{start, Overrides, RunningServer};
    pub use serde_json::{json, Value};

    pub const PREFIX: &str = "+4420794";
    /// A valid UK mobile number (the Ofcom drama range is not "valid").
    pub const PHONE: &str = "+447400123456";
    pub const CODE_LENGTH: usize = 6;

    pub struct Api {
        pub server: RunningServer,
        pub http: reqwest::Client,
        pub pk: String,
        pub sk: String,
        _dir: tempfile::TempDir,
    }

    impl Api {
        async fn start(sip: SipConfig, answer_timeout_secs: u64) -> Self {
            let telephony = Arc::new(SipTelephony::new(sip).unwrap());
            Self::start_with(telephony, |c| {
                c.telephony.answer_timeout_secs = answer_timeout_secs;
            })
            .await
        }

        pub async fn start_with(
            telephony: Arc<dyn Telephony>,
            configure: impl FnOnce(&mut Config),
        ) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let mut config = Config::default();
            config.server.listen = "127.0.0.1:0".parse().unwrap();
            config.database.url = format!("sqlite://{}", dir.path().join("motp.db").display());
            config.codes.ranges = vec![CallerRange {
                prefix: PREFIX.into(),
                code_length: CODE_LENGTH as u8,
            }];
            config.limits.allowed_countries = vec!["GB".into()];
            // The tests poll the status every 10 ms.
            config.limits.per_ip_per_minute = 100_000;
            config.limits.per_ip_burst = 10_000;
            configure(&mut config);
            let server = start(
                config,
                Overrides {
                    telephony: Some(telephony),
                    ..Overrides::default()
                },
            )
            .await
            .expect("server starts");
            let keys = create_app_keys(&server.state.store, "sipp-e2e")
                .await
                .unwrap();
            Self {
                server,
                http: reqwest::Client::new(),
                pk: keys.publishable_key,
                sk: keys.secret_key,
                _dir: dir,
            }
        }

        pub async fn call(
            &self,
            method: reqwest::Method,
            path: &str,
            key: &str,
            body: Option<Value>,
        ) -> (u16, Value) {
            let mut request = self
                .http
                .request(method, format!("{}{path}", self.server.url()))
                .bearer_auth(key);
            if let Some(body) = body {
                request = request.json(&body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }

        pub async fn create(&self) -> Value {
            let (status, body) = self
                .call(
                    reqwest::Method::POST,
                    "/v1/verifications",
                    &self.pk,
                    Some(json!({"phone_number": PHONE})),
                )
                .await;
            assert_eq!(status, 201, "{body}");
            assert_eq!(
                body["caller"],
                json!({"prefix": PREFIX, "code_length": CODE_LENGTH})
            );
            body
        }

        /// Polls the verification until `final_status`, returning every
        /// status seen on the way.
        pub async fn statuses_until(&self, id: &str, final_status: &str) -> (Vec<String>, Value) {
            let deadline = Instant::now() + Duration::from_secs(20);
            let mut seen: Vec<String> = Vec::new();
            loop {
                let (status, body) = self
                    .call(
                        reqwest::Method::GET,
                        &format!("/v1/verifications/{id}"),
                        &self.pk,
                        None,
                    )
                    .await;
                assert_eq!(status, 200, "{body}");
                let now = body["status"].as_str().unwrap_or_default().to_string();
                if seen.last() != Some(&now) {
                    seen.push(now.clone());
                }
                if now == final_status {
                    return (seen, body);
                }
                assert!(
                    Instant::now() < deadline,
                    "never {final_status}: {seen:?} {body}"
                );
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }

        /// Checks with the raw number the phone saw; returns the token
        /// after asserting that introspection accepts it.
        async fn check_caller_id(&self, id: &str, caller_id: &str) -> String {
            let (status, body) = self
                .call(
                    reqwest::Method::POST,
                    &format!("/v1/verifications/{id}/check"),
                    &self.pk,
                    Some(json!({"caller_id": caller_id})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(body["status"], "approved");
            let token = body["token"].as_str().expect("a token").to_string();
            let (status, claims) = self
                .call(
                    reqwest::Method::POST,
                    "/v1/tokens/introspect",
                    &self.sk,
                    Some(json!({"token": token})),
                )
                .await;
            assert_eq!(status, 200, "{claims}");
            assert_eq!(claims["active"], true, "{claims}");
            assert_eq!(claims["phone_number"], PHONE);
            assert_eq!(claims["verification_id"], id);
            token
        }
    }

    fn assert_caller_shape(number: &str) {
        let code = number
            .strip_prefix(PREFIX)
            .unwrap_or_else(|| panic!("{number} does not start with {PREFIX}"));
        assert_eq!(code.len(), CODE_LENGTH, "{number}");
        assert!(code.bytes().all(|b| b.is_ascii_digit()), "{number}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn create_ring_cancel_then_check_with_the_caller_id_sipp_saw() {
        if !sipp_available() {
            return;
        }
        let mut sipp = Sipp::start("ring");
        let sip = SipConfig {
            ring_for_ms: Some(400),
            ..sipp.config()
        };
        let telephony = Arc::new(SipTelephony::new(sip.clone()).unwrap());
        // The one ring time: 400 ms, with ring_secs agreeing to the second.
        let api = Api::start_with(telephony, |c| {
            c.telephony.answer_timeout_secs = 10;
            c.telephony.ring_secs = 1;
            c.telephony.sip = Some(sip);
        })
        .await;
        let created = api.create().await;
        let id = created["id"].as_str().unwrap();
        assert_eq!(created["status"], "calling");

        let (seen, _) = api.statuses_until(id, "delivered").await;
        assert!(seen.contains(&"ringing".to_string()), "{seen:?}");
        assert!(
            sipp.finish().await.success(),
            "CANCEL/487/ACK: {}",
            sipp.explain()
        );

        let (from, pai) = sipp.invite_numbers();
        assert_eq!(from, pai);
        assert_caller_shape(&from);
        api.check_caller_id(id, &from).await;
        api.server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn answered_call_gets_ack_bye_and_stays_checkable() {
        if !sipp_available() {
            return;
        }
        let mut sipp = Sipp::start("answer");
        let api = Api::start(sipp.config(), 10).await;
        let created = api.create().await;
        let id = created["id"].as_str().unwrap();
        api.statuses_until(id, "delivered").await;
        assert!(
            sipp.finish().await.success(),
            "ACK + BYE: {}",
            sipp.explain()
        );
        let (from, _) = sipp.invite_numbers();
        assert_caller_shape(&from);
        api.check_caller_id(id, &from).await;
        api.server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn busy_unavailable_and_silent_fail_the_verification_with_the_reason() {
        if !sipp_available() {
            return;
        }
        for (scenario, reason) in [
            ("busy", "busy"),
            ("unavailable", "unavailable"),
            ("silent", "timeout"),
        ] {
            let sipp = Sipp::start(scenario);
            let api = Api::start(sipp.config(), 1).await;
            let created = api.create().await;
            let id = created["id"].as_str().unwrap();
            let (_, body) = api.statuses_until(id, "failed").await;
            assert_eq!(body["failure_reason"], reason, "{scenario}: {body}");
            api.server.stop().await;
        }
    }
}

/// Issue 19 item 3: a trunk whose calls-per-second limit is below the
/// create rate. Eight verifications at once, the trunk takes 2 calls a
/// second and a call may wait 2.5 s: the trunk never sees more than 2
/// INVITEs in any second, six calls start (at 0, 1 and 2 s) and are
/// delivered, and the two that could not start in time fail `trunk_busy`
/// without ever reaching the trunk.
mod trunk_limits {
    use super::e2e::*;
    use super::{sipp_available, Sipp};
    use motp_server::telephony::gate::TrunkMetrics;
    use motp_server::telephony::sip::{SipConfig, SipTelephony};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cps_limit_below_the_create_rate_is_never_exceeded_and_the_excess_fails_trunk_busy() {
        if !sipp_available() {
            return;
        }
        let mut sipp = Sipp::start_calls("ring_timed", 6);
        let sip = SipConfig {
            calls_per_second: 2,
            queue_size: 100,
            queue_timeout_ms: 2500,
            ring_for_ms: Some(300),
            ..sipp.config()
        };
        let metrics = TrunkMetrics::default();
        let telephony = Arc::new(SipTelephony::with_metrics(sip.clone(), metrics.clone()).unwrap());
        let api = Api::start_with(telephony, |c| {
            c.telephony.ring_secs = 1;
            c.telephony.answer_timeout_secs = 10;
            c.telephony.sip = Some(sip);
            c.limits.hourly_cap_per_destination = 100;
            c.limits.daily_cap_per_destination = 100;
        })
        .await;
        let started = Instant::now();
        let mut ids = Vec::new();
        for _ in 0..8 {
            ids.push(api.create().await["id"].as_str().unwrap().to_string());
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "creates never wait for the trunk"
        );
        let mut delivered = 0;
        let mut busy = 0;
        for id in &ids {
            let body = loop {
                let (_, body) = api
                    .call(
                        reqwest::Method::GET,
                        &format!("/v1/verifications/{id}"),
                        &api.pk,
                        None,
                    )
                    .await;
                if matches!(body["status"].as_str(), Some("delivered" | "failed")) {
                    break body;
                }
                assert!(started.elapsed() < Duration::from_secs(20), "{body}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            };
            match (body["status"].as_str(), body["failure_reason"].as_str()) {
                (Some("delivered"), _) => delivered += 1,
                (Some("failed"), Some("trunk_busy")) => busy += 1,
                other => panic!("{other:?}: {body}"),
            }
        }
        assert_eq!((delivered, busy), (6, 2), "{}", sipp.explain());
        assert_eq!(metrics.rejected_deadline.get(), 2);
        assert_eq!(metrics.queued.get(), 0);
        assert!(sipp.finish().await.success(), "{}", sipp.explain());
        // When the trunk saw each call start (SIPp's clock, ms).
        let mut at: Vec<u64> = sipp
            .log()
            .iter()
            .filter_map(|l| l.strip_prefix("INVITE|"))
            .map(|l| l.split('|').next().unwrap().parse().unwrap())
            .collect();
        at.sort_unstable();
        assert_eq!(at.len(), 6, "{at:?}");
        for (i, t) in at.iter().enumerate() {
            // Any window a little under a second (loopback jitter aside).
            let in_window = at[i..].iter().take_while(|u| **u < t + 950).count();
            assert!(
                in_window <= 2,
                "more than 2 INVITEs within a second: {at:?}"
            );
        }
        assert!(at[5] - at[0] >= 1900, "spread over three seconds: {at:?}");
        api.server.stop().await;
    }
}

#[tokio::test]
async fn a_200_crossing_the_cancel_gets_ack_and_bye() {
    if !sipp_available() {
        return;
    }
    let mut sipp = Sipp::start("cross");
    let events = place(sipp.config(), flash_call(Duration::from_millis(300))).await;
    assert_eq!(
        events,
        vec![CallProgress::Ringing, CallProgress::Delivered],
        "{}",
        sipp.explain()
    );
    // SIPp only completes the scenario after CANCEL, then ACK and BYE for
    // the 200 that crossed it.
    assert!(sipp.finish().await.success(), "{}", sipp.explain());
    let log = sipp.log();
    assert!(log.iter().any(|l| l == "CANCEL|CSeq: 1 CANCEL"), "{log:?}");
    assert!(log.iter().any(|l| l == "ACK|CSeq: 1 ACK"), "{log:?}");
    assert!(log.iter().any(|l| l == "BYE|CSeq: 2 BYE"), "{log:?}");
}

#[tokio::test]
async fn a_stop_while_ringing_cancels_at_once() {
    if !sipp_available() {
        return;
    }
    let mut sipp = Sipp::start("ring");
    let telephony = SipTelephony::new(sipp.config()).unwrap();
    let (stop_tx, stop) = CallStop::new();
    let mut call = flash_call(Duration::from_secs(30));
    call.stop = stop;
    let (tx, mut rx) = motp_server::telephony::progress::channel();
    let started = Instant::now();
    let placing = tokio::spawn(async move { telephony.place(call, tx).await });
    assert_eq!(rx.recv().await, Some(CallProgress::Ringing));
    stop_tx.request();
    assert_eq!(rx.recv().await, Some(CallProgress::Delivered));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "ended at once, not after the 30 s ring: {:?}",
        started.elapsed()
    );
    placing.await.unwrap();
    assert!(sipp.finish().await.success(), "{}", sipp.explain());
    assert!(sipp.log().iter().any(|l| l == "CANCEL|CSeq: 1 CANCEL"));
}

// ---------------------------------------------------------------------------
// Ending calls through the API and the process (issue 18, issue 15 item 2).

mod ending {
    use super::e2e::*;
    use super::{sipp_available, Sipp};
    use motp_server::telephony::sip::SipTelephony;
    use motp_server::telephony::CallFuture;
    use motp_server::telephony::{FlashCall, ProgressSender, Telephony};
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, ExitStatus, Stdio};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    /// A provider that lets the phone ring far past the configured ring
    /// time and claims no settle time: the server's give-up deadline fires
    /// while the phone rings (the situation of issue 18).
    struct OverRinging(SipTelephony);

    impl Telephony for OverRinging {
        fn name(&self) -> &'static str {
            "sip"
        }

        fn settle_time(&self) -> Duration {
            Duration::ZERO
        }

        fn place(&self, mut call: FlashCall, progress: ProgressSender) -> CallFuture<'_> {
            call.ring_for = Duration::from_secs(60);
            self.0.place(call, progress)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_deadline_cancels_the_ringing_call_before_recording_it_failed() {
        if !sipp_available() {
            return;
        }
        let mut sipp = Sipp::start("ring");
        let telephony = Arc::new(OverRinging(SipTelephony::new(sipp.config()).unwrap()));
        let api = Api::start_with(telephony, |c| {
            c.telephony.answer_timeout_secs = 2;
            c.telephony.ring_secs = 1;
        })
        .await;
        let started = Instant::now();
        let id = api.create().await["id"].as_str().unwrap().to_string();
        let (seen, body) = api.statuses_until(&id, "failed").await;
        assert!(seen.contains(&"ringing".to_string()), "{seen:?}");
        assert_eq!(body["failure_reason"], "timeout", "{body}");
        // Deadline: answer_timeout 2 s + ring 1 s + grace 1 s.
        assert!(
            started.elapsed() >= Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        // The outcome is recorded only once the call has ended: after
        // SIPp's 487, which SIPp sends only in answer to the CANCEL.
        assert!(sipp.finish().await.success(), "{}", sipp.explain());
        assert!(
            sipp.log().iter().any(|l| l == "CANCEL|CSeq: 1 CANCEL"),
            "{}",
            sipp.explain()
        );
        api.server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn delete_while_ringing_cancels_the_call_and_counts_it_canceled() {
        if !sipp_available() {
            return;
        }
        let mut sipp = Sipp::start("ring");
        let telephony = Arc::new(SipTelephony::new(sipp.config()).unwrap());
        let api = Api::start_with(telephony, |c| {
            c.telephony.ring_secs = 30;
        })
        .await;
        let id = api.create().await["id"].as_str().unwrap().to_string();
        api.statuses_until(&id, "ringing").await;
        let deleted = Instant::now();
        let (status, _) = api
            .call(
                reqwest::Method::DELETE,
                &format!("/v1/verifications/{id}"),
                &api.pk,
                None,
            )
            .await;
        assert_eq!(status, 204);
        // CANCEL at once: SIPp's scenario completes long before the 30 s.
        assert!(sipp.finish().await.success(), "{}", sipp.explain());
        assert!(
            deleted.elapsed() < Duration::from_secs(5),
            "{:?}",
            deleted.elapsed()
        );
        assert!(sipp.log().iter().any(|l| l == "CANCEL|CSeq: 1 CANCEL"));
        let metrics = wait_for_metric(&api, "outcome=\"canceled\"} 1").await;
        assert!(!metrics.contains("outcome=\"delivered\""), "{metrics}");
        let (_, body) = api.statuses_until(&id, "canceled").await;
        assert_eq!(body["status"], "canceled");
        api.server.stop().await;
    }

    async fn wait_for_metric(api: &Api, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = api
                .http
                .get(format!("{}/metrics", api.server.url()))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if text.contains(needle) {
                return text;
            }
            assert!(Instant::now() < deadline, "no {needle:?} in {text}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `motp serve` as its own process, on SQLite, SIP to `sipp`.
    struct Process {
        child: Child,
        url: String,
        config_path: PathBuf,
        pk: String,
        _dir: tempfile::TempDir,
    }

    impl Process {
        async fn start(sipp: &Sipp) -> Self {
            let dir = tempfile::tempdir().unwrap();
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let db = dir.path().join("motp.db");
            let config_path = dir.path().join("motp.toml");
            std::fs::write(
                &config_path,
                format!(
                    "[server]\nlisten = \"127.0.0.1:{port}\"\n\
                     [database]\nurl = \"sqlite://{}\"\n\
                     [codes]\nranges = [{{ prefix = \"{PREFIX}\", code_length = {CODE_LENGTH} }}]\n\
                     [limits]\nallowed_countries = [\"GB\"]\nper_ip_per_minute = 100000\nper_ip_burst = 10000\n\
                     [telephony]\nprovider = \"sip\"\nring_secs = 30\nanswer_timeout_secs = 10\nshutdown_secs = 5\n\
                     [telephony.sip]\nproxy = \"127.0.0.1:{}\"\nbind = \"127.0.0.1:0\"\nt1_ms = 100\n",
                    db.display(),
                    sipp.port
                ),
            )
            .unwrap();
            let config = Config::load(Some(&config_path)).unwrap();
            let store = motp_server::storage::Store::connect(&config.database)
                .await
                .unwrap();
            let keys = create_app_keys(&store, "process").await.unwrap();
            store.close().await;
            let child = Command::new(env!("CARGO_BIN_EXE_motp"))
                .args(["serve", "--config"])
                .arg(&config_path)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap())
                .spawn()
                .unwrap();
            let process = Self {
                child,
                url: format!("http://127.0.0.1:{port}"),
                config_path,
                pk: keys.publishable_key,
                _dir: dir,
            };
            let deadline = Instant::now() + Duration::from_secs(20);
            while reqwest::get(format!("{}/healthz", process.url))
                .await
                .is_err()
            {
                assert!(Instant::now() < deadline, "motp serve did not come up");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            process
        }

        async fn create(&self) -> String {
            let response = reqwest::Client::new()
                .post(format!("{}/v1/verifications", self.url))
                .bearer_auth(&self.pk)
                .json(&json!({"phone_number": PHONE}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
            let body: Value = response.json().await.unwrap();
            body["id"].as_str().unwrap().to_string()
        }

        async fn status(&self, id: &str) -> String {
            let body: Value = reqwest::Client::new()
                .get(format!("{}/v1/verifications/{id}", self.url))
                .bearer_auth(&self.pk)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            body["status"].as_str().unwrap_or_default().to_string()
        }

        async fn until_ringing(&self, ids: &[String]) {
            let deadline = Instant::now() + Duration::from_secs(10);
            for id in ids {
                while self.status(id).await != "ringing" {
                    assert!(Instant::now() < deadline, "{id} never rang");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }

        fn signal(&self, name: &str) {
            let ok = Command::new("kill")
                .args([&format!("-{name}"), &self.child.id().to_string()])
                .status()
                .unwrap()
                .success();
            assert!(ok);
        }

        async fn wait(&mut self, within: Duration) -> ExitStatus {
            let deadline = Instant::now() + within;
            loop {
                if let Some(status) = self.child.try_wait().unwrap() {
                    return status;
                }
                assert!(Instant::now() < deadline, "motp serve did not exit");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }

    impl Drop for Process {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    async fn rows(config_path: &Path, ids: &[String]) -> Vec<(String, Option<String>)> {
        let config = Config::load(Some(config_path)).unwrap();
        let store = motp_server::storage::Store::connect(&config.database)
            .await
            .unwrap();
        let mut out = Vec::new();
        for id in ids {
            let row = store.get_fresh(id).await.unwrap().unwrap();
            out.push((row.status.as_str().to_string(), row.failure_reason));
        }
        store.close().await;
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sigterm_with_three_calls_ringing_cancels_all_three_and_exits_0() {
        if !sipp_available() {
            return;
        }
        let mut sipp = Sipp::start_calls("ring", 3);
        let mut server = Process::start(&sipp).await;
        let mut ids = Vec::new();
        for _ in 0..3 {
            ids.push(server.create().await);
        }
        server.until_ringing(&ids).await;
        let signaled = Instant::now();
        server.signal("TERM");
        let status = server.wait(Duration::from_secs(15)).await;
        assert!(status.success(), "exit {status}");
        assert!(
            signaled.elapsed() < Duration::from_secs(6),
            "within shutdown_secs: {:?}",
            signaled.elapsed()
        );
        assert!(sipp.finish().await.success(), "{}", sipp.explain());
        let cancels = sipp
            .log()
            .iter()
            .filter(|l| l.starts_with("CANCEL|"))
            .count();
        assert_eq!(cancels, 3, "{}", sipp.explain());
        // They rang before being ended: each is in the phone's call log.
        for (status, reason) in rows(&server.config_path, &ids).await {
            assert_eq!((status.as_str(), reason), ("delivered", None));
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_left_ringing_by_kill_9_is_recorded_interrupted_at_the_next_start() {
        if !sipp_available() {
            return;
        }
        let sipp = Sipp::start("ring");
        let mut server = Process::start(&sipp).await;
        let id = server.create().await;
        server.until_ringing(std::slice::from_ref(&id)).await;
        server.signal("KILL");
        let status = server.wait(Duration::from_secs(5)).await;
        assert!(!status.success());
        assert_eq!(
            rows(&server.config_path, std::slice::from_ref(&id)).await[0].0,
            "ringing",
            "nothing has touched it yet"
        );
        let config = Config::load(Some(&server.config_path)).unwrap();
        let restarted = start(config, Overrides::default()).await.unwrap();
        let row = restarted.state.store.get(&id).await.unwrap().unwrap();
        assert_eq!(row.status.as_str(), "failed");
        assert_eq!(row.failure_reason.as_deref(), Some("interrupted"));
        restarted.stop().await;
    }
}
