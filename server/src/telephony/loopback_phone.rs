//! The loopback phone: a simulated SIP handset on 127.0.0.1 for
//! `motp demo`, the end-to-end tests and anyone trying mOTP without a SIP
//! trunk.
//!
//! It behaves like a phone that rings and is never picked up: every INVITE
//! gets `100 Trying` and `180 Ringing`, never `200 OK`; a CANCEL gets `200`
//! and the INVITE `487 Request Terminated` (retransmitted until ACKed, as
//! RFC 3261 §17.2.1 asks over UDP). And like Android's phone-state
//! broadcast, it reports each incoming caller number, with the time it
//! was seen, on a channel: exactly what the Android shell hands to
//! `on_incoming_call`, so a demo can run the zero-typing flow end to end
//! without a phone.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use motp_server::telephony::loopback_phone::LoopbackPhone;
//! use motp_server::telephony::sip::SipTelephony;
//!
//! let (phone, mut calls) = LoopbackPhone::start("127.0.0.1:0".parse().unwrap()).await?;
//! // Give the server (or a test) a SIP provider that dials the phone.
//! let telephony = SipTelephony::new(phone.sip_config()).expect("a valid config");
//! // … a verification places its flash call through `telephony` …
//! if let Some(call) = calls.recv().await {
//!     // What the Android shell passes to `on_incoming_call`.
//!     println!("incoming call from {} at {:?}", call.number, call.observed_at);
//! }
//! # drop(telephony); Ok(()) }
//! ```
//!
//! It is a test double, not a product: it serves one socket, keeps
//! calls in memory, and holds nothing back from whoever reads the channel
//! (the numbers are codes). Bind it to loopback only.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

use crate::telephony::sip::message::{
    param, parse_cseq, split_list, Message, NameAddr, MAX_MESSAGE_LEN,
};
use crate::telephony::sip::SipConfig;

/// An incoming call as a phone reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncomingCall {
    /// The calling number as presented (the `From` user part, percent
    /// decoded: `+442079460123`). Empty when the caller withheld it.
    pub number: String,
    /// When the INVITE arrived.
    pub observed_at: SystemTime,
}

/// A running loopback phone. Stops when dropped.
#[derive(Debug)]
pub struct LoopbackPhone {
    addr: SocketAddr,
    task: JoinHandle<()>,
    busy: Arc<AtomicBool>,
}

/// Calls remembered at most; the oldest are forgotten beyond this.
const MAX_CALLS: usize = 4096;
/// A call is forgotten this long after it started.
const CALL_LIFETIME: Duration = Duration::from_secs(300);
/// RFC 3261 T1: first retransmission interval of the 487.
const T1: Duration = Duration::from_millis(500);
/// Retransmissions of a 487 before giving up on the ACK (timer H ≈ 64·T1).
const MAX_RETRANSMISSIONS: u32 = 7;

impl LoopbackPhone {
    /// Binds `bind` (use `127.0.0.1:0` for a free port) and starts
    /// answering. Every incoming call is sent to the returned receiver.
    pub async fn start(
        bind: SocketAddr,
    ) -> io::Result<(Self, mpsc::UnboundedReceiver<IncomingCall>)> {
        let socket = UdpSocket::bind(bind).await?;
        let addr = socket.local_addr()?;
        let (calls_tx, calls_rx) = mpsc::unbounded_channel();
        let busy = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(serve(socket, calls_tx, Arc::clone(&busy)));
        Ok((Self { addr, task, busy }, calls_rx))
    }

    /// While `busy`, the phone is on another call: it answers every INVITE
    /// with `486 Busy Here` at once, and shows nothing.
    pub fn set_busy(&self, busy: bool) {
        self.busy.store(busy, Ordering::SeqCst);
    }

    /// The address to send INVITEs to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A SIP provider configuration that calls this phone over loopback.
    pub fn sip_config(&self) -> SipConfig {
        SipConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            ..SipConfig::for_proxy(self.addr.to_string())
        }
    }
}

impl Drop for LoopbackPhone {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One call the phone has seen.
struct Call {
    started: Instant,
    to_tag: String,
    /// The INVITE's top Via branch (a retransmitted INVITE has the same).
    branch: String,
    /// The last response sent for the INVITE (180 or 487), resent when
    /// the INVITE is retransmitted.
    last_response: Vec<u8>,
    peer: SocketAddr,
    /// Pending 487 retransmission: when, the interval, how many so far.
    retransmit: Option<(Instant, Duration, u32)>,
}

async fn serve(
    socket: UdpSocket,
    calls_tx: mpsc::UnboundedSender<IncomingCall>,
    busy: Arc<AtomicBool>,
) {
    let mut calls: HashMap<String, Call> = HashMap::new();
    let mut buf = vec![0u8; MAX_MESSAGE_LEN];
    let mut serial: u64 = 0;
    loop {
        let next_retransmit = calls
            .values()
            .filter_map(|c| c.retransmit.map(|(at, _, _)| at))
            .min();
        let wake = next_retransmit.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
        tokio::select! {
            received = socket.recv_from(&mut buf) => {
                let Ok((n, peer)) = received else { continue };
                let Ok(request) = Message::parse(&buf[..n]) else { continue };
                if request.method().is_none() {
                    continue; // responses: the phone sends no requests
                }
                serial += 1;
                let busy = busy.load(Ordering::SeqCst);
                handle(&socket, &mut calls, &calls_tx, request, peer, serial, busy).await;
            }
            () = sleep_until(wake) => {
                let now = Instant::now();
                for call in calls.values_mut() {
                    let Some((at, interval, count)) = call.retransmit else { continue };
                    if at > now {
                        continue;
                    }
                    let _ = socket.send_to(&call.last_response, call.peer).await;
                    call.retransmit = (count + 1 < MAX_RETRANSMISSIONS)
                        .then(|| (now + interval * 2, interval * 2, count + 1));
                }
            }
        }
        prune(&mut calls);
    }
}

async fn handle(
    socket: &UdpSocket,
    calls: &mut HashMap<String, Call>,
    calls_tx: &mpsc::UnboundedSender<IncomingCall>,
    request: Message,
    peer: SocketAddr,
    serial: u64,
    busy: bool,
) {
    let Some(call_id) = request.header("Call-ID").map(str::to_string) else {
        return;
    };
    let branch = top_branch(&request);
    let reply = |message: Message| async move {
        let _ = socket.send_to(&message.to_bytes(), peer).await;
    };
    match request.method().unwrap_or_default() {
        "INVITE" => {
            if let Some(call) = calls.get(&call_id) {
                if call.branch == branch {
                    // A retransmission: repeat the last answer.
                    let _ = socket.send_to(&call.last_response, peer).await;
                }
                return; // (a re-INVITE would need a dialog; a flash call has none)
            }
            let to_tag = format!("handset{serial}");
            reply(response_to(&request, 100, "Trying", None)).await;
            if busy {
                // Final at once; resent until the caller's ACK, like a 487.
                let bytes = response_to(&request, 486, "Busy Here", Some(&to_tag)).to_bytes();
                let _ = socket.send_to(&bytes, peer).await;
                calls.insert(
                    call_id,
                    Call {
                        started: Instant::now(),
                        to_tag,
                        branch,
                        last_response: bytes,
                        peer,
                        retransmit: Some((Instant::now() + T1, T1, 0)),
                    },
                );
                return;
            }
            let ringing = response_to(&request, 180, "Ringing", Some(&to_tag));
            let bytes = ringing.to_bytes();
            let _ = socket.send_to(&bytes, peer).await;
            calls.insert(
                call_id,
                Call {
                    started: Instant::now(),
                    to_tag,
                    branch,
                    last_response: bytes,
                    peer,
                    retransmit: None,
                },
            );
            let _ = calls_tx.send(IncomingCall {
                number: caller_number(&request),
                observed_at: SystemTime::now(),
            });
        }
        "CANCEL" => {
            let Some(call) = calls.get_mut(&call_id).filter(|c| c.branch == branch) else {
                reply(response_to(
                    &request,
                    481,
                    "Call/Transaction Does Not Exist",
                    None,
                ))
                .await;
                return;
            };
            reply(response_to(&request, 200, "OK", Some(&call.to_tag))).await;
            if call.retransmit.is_none() {
                // The 487 answers the INVITE: its CSeq method is INVITE.
                let mut terminated =
                    response_to(&request, 487, "Request Terminated", Some(&call.to_tag));
                let number = request
                    .header("CSeq")
                    .and_then(parse_cseq)
                    .map_or(1, |(n, _)| n);
                terminated.set("CSeq", format!("{number} INVITE"));
                call.last_response = terminated.to_bytes();
                call.retransmit = Some((Instant::now() + T1, T1, 0));
            }
            let _ = socket.send_to(&call.last_response, peer).await;
        }
        "ACK" => {
            if let Some(call) = calls.get_mut(&call_id) {
                call.retransmit = None; // the 487 arrived; keep state for stray retransmissions
            }
        }
        "BYE" => {
            let tag = calls.remove(&call_id).map(|c| c.to_tag);
            reply(response_to(&request, 200, "OK", tag.as_deref())).await;
        }
        "OPTIONS" => reply(response_to(&request, 200, "OK", None)).await,
        _ => reply(response_to(&request, 501, "Not Implemented", None)).await,
    }
}

/// The caller number a phone would show: the `From` user, else the
/// `P-Asserted-Identity` user, else empty (withheld).
fn caller_number(invite: &Message) -> String {
    ["From", "P-Asserted-Identity"]
        .into_iter()
        .filter_map(|h| invite.header(h))
        .filter_map(NameAddr::parse)
        .find_map(|a| a.user())
        .unwrap_or_default()
}

fn top_branch(message: &Message) -> String {
    message
        .header("Via")
        .and_then(|v| split_list(v).first().copied())
        .and_then(|v| param(v, "branch"))
        .unwrap_or_default()
        .to_string()
}

/// A response echoing the request's Via, From, To (tagged), Call-ID and
/// CSeq, as RFC 3261 §8.2.6.2 asks.
fn response_to(request: &Message, code: u16, reason: &str, to_tag: Option<&str>) -> Message {
    let mut response = Message::response(code, reason);
    for via in request.headers_named("Via") {
        response.push("Via", via);
    }
    if let Some(from) = request.header("From") {
        response.push("From", from);
    }
    if let Some(to) = request.header("To") {
        match to_tag {
            Some(tag) if param(to, "tag").is_none() => {
                response.push("To", format!("{to};tag={tag}"))
            }
            _ => response.push("To", to),
        };
    }
    for name in ["Call-ID", "CSeq"] {
        if let Some(value) = request.header(name) {
            response.push(name, value);
        }
    }
    if code == 180 {
        response.push("Contact", "<sip:handset@127.0.0.1>");
    }
    response
}

fn prune(calls: &mut HashMap<String, Call>) {
    let now = Instant::now();
    calls.retain(|_, c| now.duration_since(c.started) < CALL_LIFETIME);
    while calls.len() > MAX_CALLS {
        let Some(oldest) = calls
            .iter()
            .min_by_key(|(_, c)| c.started)
            .map(|(k, _)| k.clone())
        else {
            break;
        };
        calls.remove(&oldest);
    }
}
