//! `motp demo`: two whole verifications by missed call on 127.0.0.1, with
//! nothing installed but this repository.
//!
//! The demo starts, in this process:
//! - the mOTP server on a free port, with an SQLite database in a fresh
//!   temporary directory (removed at the end) and the real SIP provider;
//! - the loopback handset ([`crate::telephony::loopback_phone`]): a SIP
//!   phone that rings and is never picked up, and reports each caller
//!   number the way Android's phone-state broadcast does;
//! - a SIP tap between the two ([`tap`]), so the timeline shows the real
//!   messages on the wire.
//!
//! Then it verifies a number twice through motp-core's `MotpClient`, the
//! very code the Android and iOS SDKs wrap:
//! 1. the Android way: the handset's caller number goes to
//!    `on_incoming_call`, the core extracts the code and has the server
//!    check the caller ID; nobody types anything;
//! 2. the iOS way: apps cannot read caller IDs there, so the prefix is shown
//!    (`+44 20 7946 0___`) and the last digits are typed: read from the
//!    terminal, or taken from the handset with `--auto` (the default when
//!    stdin is not a terminal).
//!
//! Each verification prints a timeline and the token's claims, checked by
//! the server's introspection endpoint with the app's secret key, as the
//! app's backend would. `--runs N` repeats the Android way N times and
//! prints the median time from request to approval.
//!
//! Codes on screen: the server's logs never hold a code, and the demo logs
//! none either (`--verbose` shows the server's logs). The timeline does
//! show the calling number and the extracted code: seeing them is the point
//! of a demo, and these codes are throw-away values on loopback.
//!
//! Every wait is bounded ([`STEP_TIMEOUT`], plus the ring time where the
//! call must end); failures end the demo with one line on stderr and exit
//! code 1.

mod tap;
mod timeline;

use std::future::Future;
use std::io::{IsTerminal, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use clap::Args;
use motp_core::driver::{ClientConfig, MotpClient, StateListener, VerificationHandle};
use motp_core::machine::{CallMatch, ManualEntryReason, VerificationState};
use motp_core::{CallerIdMatcher, CallerPattern, MotpError};
use tokio::sync::{mpsc, oneshot, watch};

use self::tap::{Seen, SipTap};
use self::timeline::{format_ms, median, Actor, Timeline};
use crate::cli::keys::create_app_keys;
use crate::config::{CallerRange, Config, LogConfig, ProviderKind};
use crate::server::{Overrides, RunningServer};
use crate::telephony::loopback_phone::{IncomingCall, LoopbackPhone};
use crate::telephony::sip::SipConfig;
use crate::tokens::Claims;

/// The demo's caller range: `+44 20 7946 0xxx`, which Ofcom reserves for
/// drama (TV, films, demos). Calls present numbers of this range; since it
/// belongs to nobody, nothing the demo shows impersonates a real line if
/// copied. Its 10^3 codes are fine on loopback but far too few for a real
/// deployment, where the server warns under 10^6 (NIST SP 800-63B asks
/// 20 bits); a real range is a block of numbers the operator owns, such as
/// `+442079` with 6 code digits.
pub const DEMO_PREFIX: &str = "+442079460";
/// Code digits after [`DEMO_PREFIX`].
pub const DEMO_CODE_LENGTH: u8 = 3;
/// The number verified: a well-formed GB mobile number (the server's own
/// tests use it too). Ofcom's drama range for mobiles (07700 900xxx) would
/// be the polite choice, but libphonenumber deliberately calls it invalid and
/// the server refuses invalid destinations. No call leaves 127.0.0.1.
pub const DEMO_DESTINATION: &str = "+447400123456";
/// The handset's home country.
const HOME_COUNTRY: &str = "GB";
/// The longest any single step may take (server start, a request, the call
/// reaching the handset, a check).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a person may take to type the code (interactive mode).
const TYPING_TIMEOUT: Duration = Duration::from_secs(180);

/// Arguments of `motp demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// In the iOS-way verification, take the code from the handset instead
    /// of asking you to type it. The default when stdin is not a terminal.
    #[arg(long)]
    pub auto: bool,
    /// Seconds the handset rings before the server cancels the call
    /// (0 to 30; fractions allowed).
    #[arg(long, default_value_t = 1.0, value_parser = parse_ring_secs)]
    pub ring_secs: f64,
    /// Run the Android-way verification this many times (1 to 100) and
    /// print the median time from request to approval.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub runs: u32,
    /// Also print the server's logs on stderr (they never hold codes).
    #[arg(long, short)]
    pub verbose: bool,
}

fn parse_ring_secs(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(secs) if (0.0..=30.0).contains(&secs) => Ok(secs),
        _ => Err("expected seconds from 0 to 30, e.g. 1 or 0.5".into()),
    }
}

/// Where the iOS-way code comes from.
#[derive(Debug, Clone, Copy)]
enum Typing {
    /// A person types it at the terminal.
    Terminal,
    /// Read from the handset, for the reason given.
    Auto(&'static str),
}

/// A failed step, said in one line.
type Failure = String;

/// Runs `motp demo`; returns the process exit code.
pub fn run(args: DemoArgs) -> i32 {
    if args.verbose || std::env::var_os("RUST_LOG").is_some() {
        crate::cli::serve::init_logging(&LogConfig::default());
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("motp demo: cannot start the async runtime: {e}");
            return 1;
        }
    };
    let typing = if args.auto {
        Typing::Auto("--auto")
    } else if std::io::stdin().is_terminal() {
        Typing::Terminal
    } else {
        Typing::Auto("stdin is not a terminal")
    };
    let result = runtime.block_on(async {
        tokio::select! {
            result = demo(&args, typing) => result,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    });
    // A prompt's reader thread may still be blocked on stdin: do not wait.
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("motp demo: {message}");
            1
        }
    }
}

/// Everything the verifications share.
struct Demo {
    client: MotpClient,
    http: reqwest::Client,
    server_url: String,
    secret_key: String,
    app_id: String,
    matcher: CallerIdMatcher,
    shown_prefix: String,
    ring: Duration,
}

async fn demo(args: &DemoArgs, typing: Typing) -> Result<(), Failure> {
    let ring = Duration::from_secs_f64(args.ring_secs);
    let dir = TempDir::create().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let (handset, calls) = LoopbackPhone::start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .map_err(|e| format!("cannot start the loopback handset on 127.0.0.1: {e}"))?;
    let (tap, wire) = SipTap::start(handset.addr())
        .await
        .map_err(|e| format!("cannot start the SIP tap on 127.0.0.1: {e}"))?;
    let database = dir.path().join("motp.db");
    let config = demo_config(&database, tap.addr(), ring);
    let server = within(
        STEP_TIMEOUT,
        "the server to start",
        crate::server::start(config, Overrides::default()),
    )
    .await?
    .map_err(|e| format!("cannot start the server: {e}"))?;

    let mut phone = Phone {
        calls,
        wire,
        call_id: None,
    };
    let result = verify_twice(args, typing, &server, &handset, &database, &mut phone).await;
    // Bounded: a keep-alive connection must not hold the demo open.
    let _ = tokio::time::timeout(Duration::from_secs(5), server.stop()).await;
    drop((tap, handset, dir));
    result
}

fn demo_config(database: &Path, sip_peer: SocketAddr, ring: Duration) -> Config {
    let mut config = Config::default();
    config.server.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.database.url = format!("sqlite://{}", database.display());
    config.codes.ranges = vec![CallerRange {
        prefix: DEMO_PREFIX.into(),
        code_length: DEMO_CODE_LENGTH,
    }];
    config.limits.allowed_countries = vec![HOME_COUNTRY.into()];
    // `--runs` calls one number many times in a minute: lift the caps that
    // protect a real subscriber (defaults: 5 an hour, 10 a day).
    config.limits.hourly_cap_per_destination = 1_000;
    config.limits.daily_cap_per_destination = 1_000;
    config.limits.per_ip_per_minute = 10_000;
    config.limits.per_ip_burst = 1_000;
    config.limits.per_app_per_minute = 10_000;
    config.limits.per_app_burst = 1_000;
    config.telephony.provider = ProviderKind::Sip;
    // Whole seconds for the server's own deadline; the SIP provider rings
    // for exactly `ring_for_ms`.
    config.telephony.ring_secs = ring.as_secs() + u64::from(ring.subsec_nanos() > 0);
    config.telephony.answer_timeout_secs = STEP_TIMEOUT.as_secs();
    let mut sip = SipConfig::for_proxy(sip_peer.to_string());
    sip.bind = SocketAddr::from(([127, 0, 0, 1], 0));
    sip.ring_for_ms = Some(u64::try_from(ring.as_millis()).unwrap_or(u64::MAX));
    config.telephony.sip = Some(sip);
    config
}

async fn verify_twice(
    args: &DemoArgs,
    typing: Typing,
    server: &RunningServer,
    handset: &LoopbackPhone,
    database: &Path,
    phone: &mut Phone,
) -> Result<(), Failure> {
    let keys = within(
        STEP_TIMEOUT,
        "the app's keys",
        create_app_keys(&server.state.store, "demo-app"),
    )
    .await?
    .map_err(|e| format!("cannot create the app's keys: {e}"))?;
    let client = MotpClient::new(ClientConfig {
        server_url: server.url(),
        publishable_key: keys.publishable_key.clone(),
        home_country: HOME_COUNTRY.into(),
        request_timeout: Duration::from_secs(5),
        call_timeout: STEP_TIMEOUT,
    })
    .map_err(|e| format!("cannot create the SDK client: {e}"))?;
    let pattern = CallerPattern::new(DEMO_PREFIX, DEMO_CODE_LENGTH)
        .map_err(|e| format!("the demo caller range is invalid: {e}"))?;
    let matcher = CallerIdMatcher::new(pattern, HOME_COUNTRY)
        .map_err(|e| format!("cannot build the caller-ID matcher: {e}"))?;
    let demo = Demo {
        client,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot create an HTTP client: {e}"))?,
        server_url: server.url(),
        secret_key: keys.secret_key.clone(),
        app_id: keys.app_id.clone(),
        matcher,
        shown_prefix: display_prefix(DEMO_PREFIX, DEMO_CODE_LENGTH),
        ring: Duration::from_secs_f64(args.ring_secs),
    };

    println!("mOTP demo: phone verification by missed call, all on 127.0.0.1");
    println!(
        "  server        {} (SQLite in {}, SIP provider)",
        server.url(),
        database.display()
    );
    println!(
        "  handset       sip:{} (rings, never answers); SIP tap in between",
        handset.addr()
    );
    println!(
        "  caller range  {}  ({DEMO_PREFIX} + {DEMO_CODE_LENGTH} code digits; Ofcom's drama range)",
        demo.shown_prefix
    );
    println!(
        "  to verify     {}  (home country {HOME_COUNTRY}), ring time {} s",
        display_number(DEMO_DESTINATION),
        args.ring_secs
    );
    println!(
        "  app           {} with publishable key {}… (in the app) and secret key {}… (its backend)",
        keys.app_id,
        &keys.publishable_key[..keys.publishable_key.len().min(10)],
        &keys.secret_key[..keys.secret_key.len().min(10)],
    );

    println!();
    println!("1. The Android way: the SDK reads the incoming number, nobody types");
    let mut runs = Vec::new();
    for run in 1..=args.runs {
        let outcome = android_way(&demo, phone)
            .await
            .map_err(|e| format!("Android-way verification (run {run}): {e}"))?;
        if run == 1 {
            print!("{}", outcome.timeline.render("  "));
            println!("  {}", outcome.approval_sentence(demo.ring));
            print_token(&demo, &outcome)?;
        } else {
            println!(
                "  run {run:>3}: request → approval {} ms, → CANCEL {} ms, → hang-up {} ms",
                format_ms(outcome.approval),
                outcome.cancel.map_or_else(|| "-".into(), format_ms),
                format_ms(outcome.hangup),
            );
        }
        runs.push(outcome);
    }
    if runs.len() > 1 {
        print_statistics(&runs, demo.ring);
    }

    println!();
    println!("2. The iOS way: the prefix is shown, the last digits are typed");
    let outcome = ios_way(&demo, phone, typing)
        .await
        .map_err(|e| format!("iOS-way verification: {e}"))?;
    print!("{}", outcome.timeline.render("  "));
    print_token(&demo, &outcome)?;

    println!();
    println!(
        "Both verifications approved: {} is verified. Tokens checked by the server (active: true).",
        display_number(DEMO_DESTINATION)
    );
    Ok(())
}

/// What one verification came to.
struct Outcome {
    timeline: Arc<Timeline>,
    token: String,
    /// The server's introspection answer for `token`.
    introspection: serde_json::Value,
    /// From the request to the token.
    approval: Duration,
    /// From the request to the CANCEL on the wire (when seen).
    cancel: Option<Duration>,
    /// From the request to the ACK that ends the call.
    hangup: Duration,
}

impl Outcome {
    /// Request → approval with the ring time taken out when it is in it
    /// (it is not when the token came before the CANCEL, as on Android,
    /// where the number is read at the first ring).
    fn approval_without_ring(&self, ring: Duration) -> Duration {
        match self.cancel {
            Some(cancel) if self.approval > cancel => self.approval.saturating_sub(ring),
            _ => self.approval,
        }
    }

    fn approval_sentence(&self, ring: Duration) -> String {
        let ms = format_ms(self.approval);
        match self.cancel {
            Some(cancel) if self.approval < cancel => format!(
                "request → approval: {ms} ms, while the phone was still ringing: the number \
                 is read at the first ring, so the {} s ring time is not in it.",
                ring.as_secs_f64()
            ),
            _ => format!(
                "request → approval: {ms} ms ({} ms without the ring time).",
                format_ms(self.approval_without_ring(ring))
            ),
        }
    }
}

/// The handset's reports and the SIP tap's, shared by the runs.
struct Phone {
    calls: mpsc::UnboundedReceiver<IncomingCall>,
    wire: mpsc::UnboundedReceiver<Seen>,
    /// The Call-ID of this verification's call, once its INVITE passed.
    call_id: Option<String>,
}

impl Phone {
    /// Forgets what an earlier verification left behind.
    fn forget_earlier(&mut self) {
        while self.calls.try_recv().is_ok() {}
        while self.wire.try_recv().is_ok() {}
        self.call_id = None;
    }

    /// Whether `seen` belongs to this verification's call (the first
    /// INVITE after [`Phone::forget_earlier`] names it), so a straggler of
    /// an earlier call can neither show up nor end a wait.
    fn is_current(&mut self, seen: &Seen) -> bool {
        if self.call_id.is_none() && seen.method.as_deref() == Some("INVITE") {
            self.call_id = Some(seen.call_id.clone());
        }
        self.call_id.as_deref() == Some(seen.call_id.as_str())
    }

    /// Waits for the handset to ring, recording SIP messages meanwhile;
    /// fails when the verification ends first or after `limit`.
    async fn wait_for_call(
        &mut self,
        timeline: &Timeline,
        states: &mut watch::Receiver<VerificationState>,
        limit: Duration,
    ) -> Result<IncomingCall, Failure> {
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let mut watching = true;
        loop {
            tokio::select! {
                Some(seen) = self.wire.recv() => {
                    if self.is_current(&seen) {
                        record_wire(timeline, &seen);
                    }
                }
                call = self.calls.recv() => {
                    return call.ok_or_else(|| "the handset stopped".to_string());
                }
                changed = states.changed(), if watching => {
                    if changed.is_err() {
                        watching = false; // the verification is gone; the deadline still holds
                        continue;
                    }
                    let state = states.borrow_and_update().clone();
                    if state.is_final() {
                        return Err(format!(
                            "the verification ended before the call arrived: {}",
                            describe(&state)
                        ));
                    }
                }
                () = &mut deadline => {
                    return Err(format!(
                        "no call reached the handset within {} s",
                        limit.as_secs_f64()
                    ));
                }
            }
        }
    }

    /// Waits for the ACK that ends the call (after the 487 that answers
    /// the CANCEL); returns when the CANCEL and the ACK passed the tap.
    async fn wait_for_hangup(
        &mut self,
        timeline: &Timeline,
        limit: Duration,
    ) -> Result<(Option<Instant>, Instant), Failure> {
        let deadline = tokio::time::sleep(limit);
        tokio::pin!(deadline);
        let mut cancel = None;
        loop {
            tokio::select! {
                seen = self.wire.recv() => {
                    let Some(seen) = seen else {
                        return Err("the SIP tap stopped".into());
                    };
                    if !self.is_current(&seen) {
                        continue;
                    }
                    record_wire(timeline, &seen);
                    match (seen.to_handset, seen.method.as_deref()) {
                        (true, Some("CANCEL")) => cancel = cancel.or(Some(seen.at)),
                        (true, Some("ACK")) => return Ok((cancel, seen.at)),
                        _ => {}
                    }
                }
                () = &mut deadline => {
                    return Err(format!(
                        "the call was not hung up within {} s",
                        limit.as_secs_f64()
                    ));
                }
            }
        }
    }
}

fn record_wire(timeline: &Timeline, seen: &Seen) {
    let direction = if seen.to_handset {
        "server → handset"
    } else {
        "handset → server"
    };
    let note = match seen.method.as_deref() {
        Some("CANCEL") => ", the ring time is over",
        Some("ACK") => ": the call is over, a missed call",
        _ => "",
    };
    timeline.mark_at(
        seen.at,
        Actor::Sip,
        format!("{direction}  {}{note}", seen.summary),
    );
}

/// The SDK's state listener: records each state on the timeline and
/// publishes it for the waits above.
struct StateRecorder {
    timeline: Arc<Timeline>,
    states: watch::Sender<VerificationState>,
}

impl StateRecorder {
    fn start(
        timeline: &Arc<Timeline>,
    ) -> (Arc<dyn StateListener>, watch::Receiver<VerificationState>) {
        let (states, receiver) = watch::channel(VerificationState::Idle);
        let recorder = Self {
            timeline: Arc::clone(timeline),
            states,
        };
        (Arc::new(recorder), receiver)
    }
}

impl StateListener for StateRecorder {
    fn on_state_changed(&self, state: VerificationState) {
        self.timeline
            .mark(Actor::Core, format!("state {}", describe(&state)));
        self.states.send_replace(state);
    }
}

fn describe(state: &VerificationState) -> String {
    match state {
        VerificationState::Requesting => "Requesting: POST /v1/verifications".into(),
        VerificationState::AwaitingCall => "AwaitingCall: the server is calling".into(),
        VerificationState::ManualEntry { reason } => {
            format!("ManualEntry ({}): show the code field", reason.as_str())
        }
        VerificationState::Verifying => "Verifying: POST /v1/verifications/{id}/check".into(),
        VerificationState::Verified { .. } => "Verified: token received".into(),
        VerificationState::Failed { error } => format!("Failed: {error}"),
        VerificationState::Expired => "Expired".into(),
        VerificationState::Canceled => "Canceled".into(),
        VerificationState::Idle => "Idle".into(),
    }
}

/// The Android shell's flow: every incoming number goes to
/// `on_incoming_call`; the core matches it and the server checks it.
async fn android_way(demo: &Demo, phone: &mut Phone) -> Result<Outcome, Failure> {
    phone.forget_earlier();
    let timeline = Timeline::new();
    let (listener, mut states) = StateRecorder::start(&timeline);
    timeline.mark(
        Actor::App,
        format!("start_verification(\"{DEMO_DESTINATION}\"): request sent"),
    );
    let handle = start(demo, listener).await?;
    let call = phone
        .wait_for_call(&timeline, &mut states, STEP_TIMEOUT)
        .await?;
    timeline.mark_wall(
        call.observed_at,
        Actor::Handset,
        format!(
            "INVITE received, ringing; phone-state broadcast: incoming number {}",
            call.number
        ),
    );
    let code = demo
        .matcher
        .match_number(&call.number)
        .map_err(|r| format!("the caller number does not match: {}", r.as_str()))?;
    timeline.mark(
        Actor::App,
        "on_incoming_call(number, observed_at, SIM 0), as the Android shell does",
    );
    // The core runs this same matcher inside on_incoming_call; shown here
    // because extracting the code is what the demo is about.
    timeline.mark(
        Actor::Core,
        format!(
            "code extracted: {code} ({} fits {}); the server checks the caller ID",
            call.number, demo.shown_prefix
        ),
    );
    let matched = within(
        STEP_TIMEOUT,
        "the check",
        handle.on_incoming_call(&call.number, call.observed_at, Some(0)),
    )
    .await?
    .map_err(|e| format!("on_incoming_call failed: {e}"))?;
    let approved = Instant::now();
    let token = match matched {
        CallMatch::Verified { token } => token,
        CallMatch::Ignored { reason } => {
            return Err(format!("the SDK ignored the call: {}", reason.as_str()));
        }
    };
    timeline.mark_at(
        approved,
        Actor::App,
        "token in hand: send it to the app's backend",
    );
    let (cancel, hangup) = phone
        .wait_for_hangup(&timeline, demo.ring + STEP_TIMEOUT)
        .await?;
    finish(demo, timeline, token, approved, cancel, hangup).await
}

/// The iOS shell's flow: the prefix is shown, the user reads the missed
/// call and types its last digits.
async fn ios_way(demo: &Demo, phone: &mut Phone, typing: Typing) -> Result<Outcome, Failure> {
    phone.forget_earlier();
    let timeline = Timeline::new();
    let (listener, mut states) = StateRecorder::start(&timeline);
    timeline.mark(
        Actor::App,
        format!("start_verification(\"{DEMO_DESTINATION}\"): request sent"),
    );
    let handle = start(demo, listener).await?;
    // iOS never shows caller IDs to apps.
    handle.switch_to_manual_entry(ManualEntryReason::CallsUnreadable);
    // The shell shows the code field when the state says so.
    let state = within(
        STEP_TIMEOUT,
        "manual entry",
        states.wait_for(|s| matches!(s, VerificationState::ManualEntry { .. }) || s.is_final()),
    )
    .await?
    .map(|s| s.clone())
    .map_err(|_| "the verification stopped".to_string())?;
    if state.is_final() {
        return Err(format!(
            "the verification ended early: {}",
            describe(&state)
        ));
    }
    let caller = handle.caller();
    let shown = display_prefix(&caller.prefix, caller.code_length);
    timeline.mark(Actor::App, format!("code field shown: {shown}"));
    let call = phone
        .wait_for_call(&timeline, &mut states, STEP_TIMEOUT)
        .await?;
    timeline.mark_wall(
        call.observed_at,
        Actor::Handset,
        format!("INVITE received, ringing: call from {}", call.number),
    );
    let (cancel, hangup) = phone
        .wait_for_hangup(&timeline, demo.ring + STEP_TIMEOUT)
        .await?;
    let shown_number = display_number(&call.number);
    timeline.mark(
        Actor::Handset,
        format!("call list: missed call from {shown_number}"),
    );
    let token = if let Typing::Auto(why) = typing {
        let code = last_digits(&call.number, caller.code_length);
        timeline.mark(
            Actor::User,
            format!(
                "types {code}, the last digits of the missed call (read from the handset: {why})"
            ),
        );
        within(STEP_TIMEOUT, "the check", handle.submit_code(&code))
            .await?
            .map_err(|e| format!("submit_code failed: {e}"))?
    } else {
        type_code(&handle, &timeline, &shown, &shown_number).await?
    };
    let approved = Instant::now();
    timeline.mark_at(
        approved,
        Actor::App,
        "token in hand: send it to the app's backend",
    );
    finish(demo, timeline, token, approved, cancel, hangup).await
}

async fn start(
    demo: &Demo,
    listener: Arc<dyn StateListener>,
) -> Result<VerificationHandle, Failure> {
    within(
        STEP_TIMEOUT,
        "the server to accept the verification",
        demo.client
            .start_verification(DEMO_DESTINATION, Some(listener)),
    )
    .await?
    .map_err(|e| format!("start_verification failed: {e}"))
}

/// Asks for the code on the terminal until it is approved or the attempts
/// are spent.
async fn type_code(
    handle: &VerificationHandle,
    timeline: &Timeline,
    shown_prefix: &str,
    shown_number: &str,
) -> Result<String, Failure> {
    let digits = handle.caller().code_length;
    println!("  The handset shows a missed call from {shown_number}.");
    loop {
        print!("  Type the last {digits} digits: {shown_prefix}  > ");
        let _ = std::io::stdout().flush();
        let line = within(TYPING_TIMEOUT, "the code to be typed", read_line())
            .await?
            .map_err(|e| format!("cannot read the code: {e}"))?;
        let code = line.trim();
        if code.is_empty() {
            return Err("no code typed".into());
        }
        timeline.mark(Actor::User, format!("types {code}"));
        match within(STEP_TIMEOUT, "the check", handle.submit_code(code)).await? {
            Ok(token) => return Ok(token),
            Err(MotpError::InvalidInput { .. }) => {
                println!("  That is not {digits} digits; try again.");
            }
            Err(MotpError::WrongCode { attempts_left }) if attempts_left > 0 => {
                println!("  Wrong code, {attempts_left} attempts left.");
            }
            Err(e) => return Err(format!("submit_code failed: {e}")),
        }
    }
}

/// One line from stdin, on a thread of its own so the wait can time out.
async fn read_line() -> std::io::Result<String> {
    let (tx, rx) = oneshot::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().read_line(&mut line).map(|_| line);
        let _ = tx.send(read);
    });
    rx.await
        .unwrap_or_else(|_| Err(std::io::Error::other("the reader stopped")))
}

/// Introspects the token (as the app's backend must) and assembles the
/// outcome.
async fn finish(
    demo: &Demo,
    timeline: Arc<Timeline>,
    token: String,
    approved: Instant,
    cancel: Option<Instant>,
    hangup: Instant,
) -> Result<Outcome, Failure> {
    let introspection = introspect(demo, &token).await?;
    timeline.mark(
        Actor::Backend,
        "POST /v1/tokens/introspect (secret key): active: true",
    );
    let origin = timeline.origin();
    Ok(Outcome {
        approval: approved.saturating_duration_since(origin),
        cancel: cancel.map(|at| at.saturating_duration_since(origin)),
        hangup: hangup.saturating_duration_since(origin),
        timeline,
        token,
        introspection,
    })
}

async fn introspect(demo: &Demo, token: &str) -> Result<serde_json::Value, Failure> {
    let request = demo
        .http
        .post(format!("{}/v1/tokens/introspect", demo.server_url))
        .bearer_auth(&demo.secret_key)
        .json(&serde_json::json!({ "token": token }))
        .send();
    let response = within(STEP_TIMEOUT, "token introspection", request)
        .await?
        .map_err(|e| format!("token introspection failed: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("token introspection answered HTTP {status}"));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("token introspection answered junk: {e}"))?;
    if body["active"] != serde_json::Value::Bool(true) {
        return Err("the server says the token is not active".into());
    }
    Ok(body)
}

fn print_token(demo: &Demo, outcome: &Outcome) -> Result<(), Failure> {
    let claims = claims_of(&outcome.token)?;
    let head: String = outcome.token.chars().take(24).collect();
    println!(
        "  token: an EdDSA-signed JWT of {} characters, {head}…",
        outcome.token.len()
    );
    let app = if claims.aud == demo.app_id {
        "the app"
    } else {
        "another app?"
    };
    println!("  claims (the JWT payload, decoded):");
    println!("    iss  {:<27} issuer", claims.iss);
    println!("    sub  {:<27} the verified number", claims.sub);
    println!("    aud  {:<27} {app}", claims.aud);
    println!(
        "    iat  {:<27} verified at {}",
        claims.iat,
        rfc3339(claims.iat)
    );
    println!(
        "    exp  {:<27} valid until {} ({} s)",
        claims.exp,
        rfc3339(claims.exp),
        claims.exp - claims.iat
    );
    println!("    jti  {:<27} the verification", claims.jti);
    let field = |name: &str| {
        outcome.introspection[name]
            .as_str()
            .unwrap_or("?")
            .to_string()
    };
    println!(
        "  introspection (POST /v1/tokens/introspect with the secret key, as the backend does):"
    );
    println!(
        "    active: true, phone_number {}, verified_at {}, verification_id {}",
        field("phone_number"),
        field("verified_at"),
        field("verification_id"),
    );
    Ok(())
}

fn print_statistics(runs: &[Outcome], ring: Duration) {
    let approvals: Vec<Duration> = runs.iter().map(|o| o.approval_without_ring(ring)).collect();
    let overheads: Vec<Duration> = runs
        .iter()
        .filter_map(|o| o.cancel.map(|c| c.saturating_sub(ring)))
        .collect();
    let (Some(mid), Some(min), Some(max)) = (
        median(&approvals),
        approvals.iter().min(),
        approvals.iter().max(),
    ) else {
        return;
    };
    let ring_in = runs
        .iter()
        .filter(|o| o.approval_without_ring(ring) != o.approval)
        .count();
    println!(
        "  median request → approval over {} runs, excluding the {} s ring time: {} ms \
         (min {}, max {})",
        runs.len(),
        ring.as_secs_f64(),
        format_ms(mid),
        format_ms(*min),
        format_ms(*max),
    );
    println!(
        "  (approval came before the CANCEL in {} of {} runs: the ring time was not in them)",
        runs.len() - ring_in,
        runs.len()
    );
    if let Some(overhead) = median(&overheads) {
        println!(
            "  median request → CANCEL minus the ring time (call setup): {} ms",
            format_ms(overhead)
        );
    }
}

fn claims_of(token: &str) -> Result<Claims, Failure> {
    let payload = token
        .split('.')
        .nth(1)
        .ok_or_else(|| "the token is not a JWT".to_string())?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| format!("the token's payload is not base64url: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the token's claims are unreadable: {e}"))
}

fn rfc3339(epoch_secs: i64) -> String {
    u64::try_from(epoch_secs)
        .ok()
        .and_then(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
        .map_or_else(
            || "?".into(),
            |t: SystemTime| humantime::format_rfc3339_seconds(t).to_string(),
        )
}

/// The last `n` digits of a number, as a person reads them off the call list.
fn last_digits(number: &str, n: u8) -> String {
    let digits: Vec<char> = number.chars().filter(char::is_ascii_digit).collect();
    let skip = digits.len().saturating_sub(usize::from(n));
    digits[skip..].iter().collect()
}

/// A number in international format with the usual grouping
/// (`+44 20 7946 0123`); the number itself when it cannot be formatted.
fn display_number(e164: &str) -> String {
    // The parser is third-party code: a panic becomes "unformatted".
    std::panic::catch_unwind(|| phonenumber::parse(None, e164).ok())
        .ok()
        .flatten()
        .map(|n| {
            n.format()
                .mode(phonenumber::Mode::International)
                .to_string()
        })
        .unwrap_or_else(|| e164.to_string())
}

/// The prefix as shown beside the iOS code field: the grouping of a whole
/// number of the range, with the code digits as `_` (`+44 20 7946 0___`).
fn display_prefix(prefix: &str, code_length: u8) -> String {
    let sample = format!("{prefix}{}", "0".repeat(usize::from(code_length)));
    let mut chars: Vec<char> = display_number(&sample).chars().collect();
    let mut left = usize::from(code_length);
    for c in chars.iter_mut().rev() {
        if left == 0 {
            break;
        }
        if c.is_ascii_digit() {
            *c = '_';
            left -= 1;
        }
    }
    chars.into_iter().collect()
}

async fn within<T>(
    limit: Duration,
    what: &str,
    future: impl Future<Output = T>,
) -> Result<T, Failure> {
    tokio::time::timeout(limit, future).await.map_err(|_| {
        format!(
            "timed out after {} s waiting for {what}",
            limit.as_secs_f64()
        )
    })
}

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn create() -> std::io::Result<Self> {
        let random = crate::codes::random_bytes::<8>();
        let suffix: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let path = std::env::temp_dir().join(format!("motp-demo-{}-{suffix}", std::process::id()));
        std::fs::create_dir(&path)?;
        Ok(Self(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_shown_grouped_with_blanks_for_the_code() {
        assert_eq!(display_prefix("+442079460", 3), "+44 20 7946 0___");
        assert_eq!(display_prefix("+442079", 6), "+44 20 79__ ____");
        assert_eq!(display_number("+447700900123"), "+44 7700 900123");
        assert_eq!(display_number("not a number"), "not a number");
    }

    #[test]
    fn last_digits_are_what_a_person_reads() {
        assert_eq!(last_digits("+442079460123", 3), "123");
        assert_eq!(last_digits("+44 20 7946 0007", 3), "007");
        assert_eq!(last_digits("12", 3), "12");
    }

    #[test]
    fn the_demo_range_and_destination_pass_the_servers_own_checks() {
        let config = demo_config(
            Path::new("/tmp/x.db"),
            SocketAddr::from(([127, 0, 0, 1], 5060)),
            Duration::from_millis(1500),
        );
        config.validate().unwrap();
        assert_eq!(config.telephony.ring_secs, 2);
        assert_eq!(
            config.telephony.sip.as_ref().unwrap().ring_for_ms,
            Some(1500)
        );
        crate::phone::check_destination(DEMO_DESTINATION, None, &config.limits.allowed_countries)
            .unwrap();
    }

    #[test]
    fn ring_secs_are_bounded() {
        assert_eq!(parse_ring_secs("0.5"), Ok(0.5));
        assert!(parse_ring_secs("31").is_err());
        assert!(parse_ring_secs("-1").is_err());
        assert!(parse_ring_secs("soon").is_err());
    }

    #[test]
    fn claims_are_read_from_the_payload() {
        let claims = Claims {
            iss: "motp".into(),
            sub: DEMO_DESTINATION.into(),
            aud: "app_1".into(),
            iat: 1_800_000_000,
            exp: 1_800_000_600,
            jti: "vf_1".into(),
        };
        let token = crate::tokens::TokenSigner::new([7; 32]).sign(&claims);
        assert_eq!(claims_of(&token).unwrap(), claims);
        assert!(claims_of("nope").is_err());
        assert_eq!(rfc3339(1_800_000_000), "2027-01-15T08:00:00Z");
    }
}
