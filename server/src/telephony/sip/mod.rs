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
//! # One UDP socket per trunk
//!
//! Trunks admit signalling by source address and port, and expect one
//! signalling port: every call of a trunk is sent from one socket bound at
//! `bind` (port 5060 by default; a taken port stops the server at start).
//! One receive task per trunk reads every datagram into one buffer and
//! hands it to its call by Call-ID, only when it comes from the address
//! the call sends to ([`transport`]); the call matches responses to its
//! transactions by Via branch and CSeq method (RFC 3261 §17.1.3). Each call
//! is still one task with its own state, timers and deadline, so a stuck
//! call cannot hold up another; a waiting call holds no receive buffer.
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
mod transport;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use config::{SipConfig, SipConfigError};

use super::gate::{Gate, Refused, TrunkMetrics};
use super::{CallFuture, CallProgress, FlashCall, ProgressSender, Telephony};
use crate::phone::mask;

/// Places flash calls through a SIP peer, every call from one UDP socket.
#[derive(Debug, Clone)]
pub struct SipTelephony {
    config: SipConfig,
    transport: Arc<transport::Transport>,
    gate: Arc<Gate>,
}

impl SipTelephony {
    /// A provider for `config`, which is validated here; binds its UDP
    /// socket at `config.bind` (inside a Tokio runtime). A taken port is
    /// an error naming it.
    pub fn new(config: SipConfig) -> Result<Self, SipConfigError> {
        Self::with_metrics(config, TrunkMetrics::default())
    }

    /// [`SipTelephony::new`], reporting the trunk's calls in flight,
    /// queued and refused to `metrics`.
    pub fn with_metrics(config: SipConfig, metrics: TrunkMetrics) -> Result<Self, SipConfigError> {
        config.validate()?;
        let gate = Arc::new(Gate::new(config.limits(), metrics));
        let transport = transport::Transport::bind(config.bind).map_err(|error| {
            SipConfigError(format!(
                "cannot bind the SIP socket at bind = \"{}\": {error}{}",
                config.bind,
                if error.kind() == std::io::ErrorKind::AddrInUse {
                    " (another SIP agent or motp instance holds the port: \
                     stop it or set another port in bind)"
                } else {
                    ""
                }
            ))
        })?;
        Ok(Self {
            config,
            transport,
            gate,
        })
    }

    /// The local address the SIP socket is bound to (its port when
    /// `bind` asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.transport.local_addr()
    }

    /// Calls registered on the transport now (ended calls kept to re-ACK
    /// a retransmitted final response are not counted).
    pub fn calls_in_flight(&self) -> usize {
        self.transport.calls_in_flight()
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
    /// Plus the longest a call may wait for the trunk (`queue_timeout_ms`)
    /// when the trunk has limits.
    fn settle_time(&self) -> Duration {
        let queue = if self.config.calls_per_second > 0 || self.config.max_concurrent_calls > 0 {
            Duration::from_millis(self.config.queue_timeout_ms)
        } else {
            Duration::ZERO
        };
        self.config.transaction_timeout().saturating_mul(2) + queue
    }

    /// Bounded by `answer_timeout + ring_time` plus at most two
    /// transaction timeouts (CANCEL or BYE; 64 × T1 each). The transport
    /// re-ACKs a retransmitted final response for 4 × T1 afterwards.
    fn place(&self, call: FlashCall, progress: ProgressSender) -> CallFuture<'_> {
        Box::pin(async move {
            // Within the trunk's contract, or not at all: `trunk_busy`.
            // (Boxed: the wait for admission is not part of the state
            // every ringing call holds; see `call::run`.)
            let admission = match Box::pin(self.gate.admit(&call.stop)).await {
                Ok(admission) => admission,
                Err(refused) => {
                    let reason = match refused {
                        Refused::Busy => "trunk_busy",
                        Refused::Stopped => "canceled",
                    };
                    tracing::warn!(
                        verification = %call.verification_id,
                        to = %mask(&call.callee),
                        trunk = %self.config.name,
                        reason,
                        "sip: call not started"
                    );
                    let _ = progress.send(match refused {
                        Refused::Busy => CallProgress::TrunkFailed {
                            reason: reason.to_string(),
                        },
                        Refused::Stopped => CallProgress::Failed {
                            reason: reason.to_string(),
                        },
                    });
                    return;
                }
            };
            let finished = call::run(&self.config, &self.transport, &call, &progress).await;
            drop(admission);
            let event = match &finished.result {
                Ok(()) => CallProgress::Delivered,
                Err(reason) if finished.trunk_fault => CallProgress::TrunkFailed {
                    reason: reason.clone(),
                },
                Err(reason) => CallProgress::Failed {
                    reason: reason.clone(),
                },
            };
            tracing::info!(
                verification = %call.verification_id,
                to = %mask(&call.callee),
                trunk = %self.config.name,
                outcome = ?event,
                "sip: flash call finished"
            );
            let _ = progress.send(event);
        })
    }
}
