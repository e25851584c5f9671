//! The SIP provider: flash calls through a SIP trunk over UDP.
//!
//! # What a flash call is in SIP
//!
//! An `INVITE` whose `From` user part and `P-Asserted-Identity` carry the
//! calling number (caller prefix + code), sent to the trunk; on `180
//! Ringing` / `183 Session Progress` the call is reported ringing and left
//! to ring for the configured time, then `CANCEL`ed; the phone's `487
//! Request Terminated` is ACKed and the call is delivered: the number is
//! in the phone's call log and, on Android, was seen by the SDK. If the
//! phone answers first, the `200 OK` gets `ACK` and `BYE` at once (still
//! delivered). Busy, unknown numbers, server errors and silence fail the
//! call with a short reason (`busy`, `declined`, `not_found`,
//! `unavailable`, `server_error`, `timeout`, …). A 401/407 challenge is
//! answered once with digest credentials.
//!
//! # Why a UAC of our own instead of a SIP crate
//!
//! We need one narrow thing: a UAC that sends INVITE, CANCEL, ACK and BYE
//! over UDP with RFC 3261 retransmission timers, and answers a digest
//! challenge. The Rust SIP crates were weighed:
//! `rsip` is a parser/generator only (no transactions, last release 2022);
//! `ezk-sip-*` and `rsipstack` are full stacks (transaction layers,
//! dialogs, TCP/TLS/WebSocket transports, registrations) whose surface is
//! many times what we use, young and fast-moving, and would still need
//! the flash-call flow written on top. A full stack is more code to audit
//! than the whole of this module (a parser, a digest helper and one call
//! flow, each unit-tested, the parser fuzzed), and its failure modes are
//! harder to reason about where a bug costs money (calls that are never
//! canceled get answered and billed). So: a small UAC whose every line is
//! ours, tested against SIPp (an independent, widely used SIP
//! implementation) and against the loopback phone
//! ([`crate::telephony::loopback_phone`]).
//!
//! # One UDP socket per call
//!
//! Each call binds its own ephemeral port and `connect`s it to the trunk.
//! The kernel then does the demultiplexing a shared socket would need a
//! transaction map (Call-ID/branch → task), a reader task and locks for;
//! each call is one task with its own state, timers and deadline, and a
//! stuck call cannot hold up another. A connected socket also drops
//! datagrams from any address but the trunk's, so a host on the path's
//! outside cannot inject a `200` or `487`. The cost, one port per call in
//! flight (calls last seconds), is nothing next to the 28,000 ephemeral
//! ports. Trunks that authenticate by source IP are unaffected (the IP is
//! fixed by `bind`); a trunk that insists on one fixed source *port* would
//! need a shared socket, which we can add behind the same trait.
//! A call waiting for a datagram holds no receive buffer: it waits for
//! readiness and reads into one buffer per runtime thread.
//!
//! # SDP
//!
//! Many trunks and phones reject an INVITE without an offer (488/400), so
//! a minimal one is included: PCMU/PCMA/telephone-event, media to port 9
//! (discard). No RTP is ever sent or received. `sdp = false` turns it off.
//!
//! # Privacy
//!
//! The calling number *is* the code: it is never logged (logs carry the
//! verification id, the masked callee and the random Call-ID).

mod call;
pub mod config;
pub mod digest;
pub mod message;

use std::time::Duration;

use tokio::sync::mpsc;

pub use config::{SipConfig, SipConfigError};

use super::{CallFuture, CallProgress, FlashCall, Telephony};
use crate::phone::mask;

/// Places flash calls through a SIP peer. Cheap to share: each call runs
/// on its own socket.
#[derive(Debug, Clone)]
pub struct SipTelephony {
    config: SipConfig,
}

impl SipTelephony {
    /// A provider for `config`, which is validated here.
    pub fn new(config: SipConfig) -> Result<Self, SipConfigError> {
        config.validate()?;
        Ok(Self { config })
    }

    /// The configuration in use.
    pub fn config(&self) -> &SipConfig {
        &self.config
    }
}

impl Telephony for SipTelephony {
    fn name(&self) -> &'static str {
        "sip"
    }

    /// After the ring: a CANCEL transaction, and when the phone answered
    /// before the CANCEL arrived, a BYE transaction; each ends by 64 × T1
    /// (`transaction_timeout_ms`).
    fn settle_time(&self) -> Duration {
        self.config.transaction_timeout().saturating_mul(2)
    }

    /// Bounded by `answer_timeout + ring_time` plus at most two
    /// transaction timeouts (CANCEL or BYE; 64 × T1 each), then 4 × T1 of
    /// lingering after the outcome has been reported.
    fn place(
        &self,
        call: FlashCall,
        progress: mpsc::UnboundedSender<CallProgress>,
    ) -> CallFuture<'_> {
        Box::pin(async move {
            let finished = call::run(&self.config, &call, &progress).await;
            let event = match &finished.result {
                Ok(()) => CallProgress::Delivered,
                Err(reason) => CallProgress::Failed {
                    reason: reason.clone(),
                },
            };
            tracing::info!(
                verification = %call.verification_id,
                to = %mask(&call.callee),
                outcome = ?event,
                "sip: flash call finished"
            );
            let _ = progress.send(event);
            if let Some(linger) = finished.linger {
                linger.run().await;
            }
        })
    }
}
