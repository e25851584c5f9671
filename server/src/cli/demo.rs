//! `motp demo`: two whole verifications by missed call on 127.0.0.1, with
//! nothing installed but this repository.
//!
//! The demo starts, in this process:
//! - the mOTP server on a free port, with an SQLite database in a fresh
//!   temporary directory (removed at the end) and the real SIP provider;
//! - the loopback handset ([`crate::telephony::loopback_phone`]): a SIP
//!   phone that rings and is never picked up, and reports each caller
//!   number the way Android's phone-state broadcast does;
//! - a SIP tap between the two (`tap`), so the timeline shows the real
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
//!
//! This file is the walk-through. What it uses is beside it, a file per
//! part: the phone's side as the demo watches it (`phone_watch`, `tap`),
//! the SDK's states (`sdk_states`), the timeline (`timeline`), the typed
//! code (`code_entry`), the app's backend (`backend`), the results
//! (`outcome`, `stats`, `token`), how numbers and times are shown
//! (`number_display`, `time_text`), bounded waits (`deadline`) and the
//! scratch directory (`temp_dir`).

mod backend;
mod busy;
mod code_entry;
mod deadline;
mod number_display;
mod outcome;
mod phone_watch;
mod sdk_states;
mod stats;
mod tap;
mod temp_dir;
mod time_text;
mod timeline;
mod token;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use motp_core::{
    CallMatch, CallVisibility, MotpClient, MotpConfig, VerificationHandle, VerificationListener,
    VerificationState,
};
use motp_core::{CallerIdMatcher, CallerPattern};

use self::backend::AppBackend;
use self::code_entry::{type_code, Typing};
pub use self::deadline::STEP_TIMEOUT;
use self::deadline::{within, Failure};
use self::number_display::{display_number, display_prefix, last_digits};
use self::outcome::Outcome;
use self::phone_watch::PhoneWatch;
use self::sdk_states::{describe, StateRecorder};
use self::stats::print_statistics;
use self::tap::SipTap;
use self::temp_dir::TempDir;
use self::time_text::format_ms;
use self::timeline::{Actor, Timeline};
use self::token::print_token;
use crate::cli::keys::create_app_keys;
use crate::config::{CallerRange, Config, LogConfig, ProviderKind};
use crate::server::{Overrides, RunningServer};
use crate::telephony::loopback_phone::LoopbackPhone;
use crate::telephony::sip::SipConfig;

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
    backend: AppBackend,
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

    let mut phone = PhoneWatch::new(calls, wire);
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
    phone: &mut PhoneWatch,
) -> Result<(), Failure> {
    let keys = within(
        STEP_TIMEOUT,
        "the app's keys",
        create_app_keys(&server.state.store, "demo-app"),
    )
    .await?
    .map_err(|e| format!("cannot create the app's keys: {e}"))?;
    let client = MotpClient::new(MotpConfig {
        server_url: server.url(),
        publishable_key: keys.publishable_key.clone(),
        home_country: HOME_COUNTRY.into(),
        request_timeout: Some(Duration::from_secs(5)),
        call_timeout: Some(STEP_TIMEOUT),
    })
    .map_err(|e| format!("cannot create the SDK client: {e}"))?;
    let pattern = CallerPattern::new(DEMO_PREFIX, DEMO_CODE_LENGTH)
        .map_err(|e| format!("the demo caller range is invalid: {e}"))?;
    let matcher = CallerIdMatcher::new(pattern, HOME_COUNTRY)
        .map_err(|e| format!("cannot build the caller-ID matcher: {e}"))?;
    let demo = Demo {
        client,
        backend: AppBackend::new(server.url(), keys.secret_key.clone())?,
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
            print_token(&outcome.token, &demo.app_id, &outcome.introspection)?;
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
    print_token(&outcome.token, &demo.app_id, &outcome.introspection)?;

    println!();
    println!("3. A busy phone: the trunk answers 486, the app learns it from the event stream");
    let mut delays = Vec::new();
    for run in 1..=args.runs {
        let outcome = busy::busy_way(&demo, server, handset)
            .await
            .map_err(|e| format!("busy run {run}: {e}"))?;
        if run == 1 {
            print!("{}", outcome.timeline.render("  "));
        }
        delays.push(outcome.record_to_app);
    }
    delays.sort();
    println!(
        "  server's record of failed → app's state change: median {} ms over {} run(s), max {} ms",
        format_ms(delays[delays.len() / 2]),
        delays.len(),
        format_ms(delays[delays.len() - 1]),
    );

    println!();
    println!(
        "Both verifications approved: {} is verified. Tokens checked by the server (active: true).",
        display_number(DEMO_DESTINATION)
    );
    Ok(())
}

/// The Android shell's flow: every incoming number goes to
/// `on_incoming_call`; the core matches it and the server checks it.
async fn android_way(demo: &Demo, phone: &mut PhoneWatch) -> Result<Outcome, Failure> {
    phone.forget_earlier();
    let timeline = Timeline::new();
    let (listener, mut states) = StateRecorder::start(&timeline);
    timeline.mark(
        Actor::App,
        format!("start_verification(\"{DEMO_DESTINATION}\"): request sent"),
    );
    let handle = start(demo, CallVisibility::Numbers, listener).await?;
    let _heard = busy::show_call_events(&handle, &timeline);
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
        "on_incoming_call(number, observed_at), as the Android shell does",
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
        handle.on_incoming_call(&call.number, call.observed_at),
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
async fn ios_way(demo: &Demo, phone: &mut PhoneWatch, typing: Typing) -> Result<Outcome, Failure> {
    phone.forget_earlier();
    let timeline = Timeline::new();
    let (listener, mut states) = StateRecorder::start(&timeline);
    timeline.mark(
        Actor::App,
        format!("start_verification(\"{DEMO_DESTINATION}\"): request sent"),
    );
    // iOS never shows caller IDs to apps.
    let handle = start(demo, CallVisibility::Hidden, listener).await?;
    let mut heard = busy::show_call_events(&handle, &timeline);
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
    // The app hears from the server that the call rang out, and can say
    // where to read the code.
    within(
        STEP_TIMEOUT,
        "the server's word that the call was delivered",
        heard.wait_for(|events| events.contains(&motp_core::CallEvent::Delivered)),
    )
    .await?
    .map_err(|_| "the verification stopped".to_string())?;
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
    visibility: CallVisibility,
    listener: Arc<dyn VerificationListener>,
) -> Result<VerificationHandle, Failure> {
    within(
        STEP_TIMEOUT,
        "the server to accept the verification",
        demo.client
            .start_verification(DEMO_DESTINATION, visibility, Some(listener)),
    )
    .await?
    .map_err(|e| format!("start_verification failed: {e}"))
}

/// Has the app's backend introspect the token, and assembles the outcome.
async fn finish(
    demo: &Demo,
    timeline: Arc<Timeline>,
    token: String,
    approved: Instant,
    cancel: Option<Instant>,
    hangup: Instant,
) -> Result<Outcome, Failure> {
    let introspection = demo.backend.introspect(&token).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
