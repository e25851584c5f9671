//! One flash call on its trunk's transport: the INVITE client transaction
//! (RFC 3261 §17.1.1), CANCEL after the ring time (§9.1), the ACK of the
//! final response, and ACK + BYE when the phone answers (§13.2.2.4).
//!
//! Written as one straight async function per phase rather than a general
//! transaction layer: a flash call only ever has one INVITE (two with
//! digest authentication), one CANCEL and one BYE in flight, so the
//! "state machine" is the program counter and every wait has a deadline.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use super::config::SipConfig;
use super::digest::Challenge;
use super::message::{split_list, Message, NameAddr};
use super::transport::{answers, reply, Registration, Transport};
use crate::phone::mask;
use crate::telephony::{CallProgress, CallStop, FlashCall, ProgressSender};

/// What the call came to.
pub(super) struct Finished {
    /// `Ok` → `Delivered`; `Err(reason)` → `Failed { reason }`.
    pub result: Result<(), String>,
    /// The trunk, not the phone, failed the call: another trunk may take
    /// it ([`CallProgress::TrunkFailed`]).
    pub trunk_fault: bool,
}

impl Finished {
    fn fail(reason: &str) -> Self {
        Self {
            result: Err(reason.to_string()),
            trunk_fault: false,
        }
    }

    /// A failure of the trunk (unreachable, silent, refusing us).
    fn trunk_fail(reason: &str) -> Self {
        Self {
            trunk_fault: true,
            ..Self::fail(reason)
        }
    }
}

/// Whether a final response means the trunk failed the call rather than
/// the phone answering it: 5xx, 408, and 403 (a trunk refusing traffic
/// beyond its contract). Busy, declined, not found, 480 are the phone's.
pub(super) fn trunk_fault(code: u16) -> bool {
    matches!(code, 403 | 408 | 500..=599)
}

/// Places `call` and returns its outcome. `Ringing` is sent on `progress`
/// from here; the final event is the caller's to send.
pub(super) async fn run(
    config: &SipConfig,
    transport: &Arc<Transport>,
    call: &FlashCall,
    progress: &ProgressSender,
) -> Finished {
    if !is_e164(&call.caller) || !is_e164(&call.callee) {
        return Finished::fail("invalid_number");
    }
    // The sub-futures of the rarer steps (opening the leg, CANCEL, the
    // answered path, ACK of a failure) are boxed while they run: an
    // `async fn`'s state is as large as its largest step, and this one is
    // held by every call in flight for its whole ring time, so it is sized
    // for waiting on the phone, not for those steps (issue 19).
    let leg = match Box::pin(Leg::open(config, transport, call)).await {
        Ok(leg) => leg,
        Err(reason) => return Finished::trunk_fail(reason),
    };
    tracing::debug!(
        verification = %call.verification_id,
        to = %mask(&call.callee),
        call_id = %leg.call_id,
        peer = %leg.reg.peer(),
        "sip: placing flash call"
    );
    leg.invite_flow(config, call, progress).await
}

/// `+` and 1–15 digits.
fn is_e164(number: &str) -> bool {
    number
        .strip_prefix('+')
        .is_some_and(|d| (1..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Random lower-case hex from the OS CSPRNG (tags, branches, Call-IDs and
/// digest cnonces must not be guessable: a guessed Call-ID and tag would
/// let an off-path host forge a BYE or CANCEL).
fn random_hex(bytes: usize) -> Option<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf).ok()?;
    Some(buf.iter().map(|b| format!("{b:02x}")).collect())
}

/// The magic cookie that marks an RFC 3261 branch.
fn new_branch() -> Option<String> {
    Some(format!("z9hG4bK{}", random_hex(10)?))
}

/// Maps a final failure response to the short reason the API reports.
pub(super) fn failure_reason(code: u16) -> String {
    match code {
        486 | 600 => "busy".into(),
        603 | 607 => "declined".into(),
        404 | 410 | 484 | 604 => "not_found".into(),
        480 | 503 => "unavailable".into(),
        408 | 504 => "timeout".into(),
        487 => "canceled".into(),
        401 | 407 => "auth_failed".into(),
        403 => "forbidden".into(),
        300..=399 => "redirected".into(),
        500..=599 => "server_error".into(),
        code => format!("rejected_{code}"),
    }
}

/// Retransmission schedule of one request over UDP (timers A and E).
struct Retransmit {
    bytes: Vec<u8>,
    next: Instant,
    interval: Duration,
    /// `None` for INVITE (doubles without bound, timer A); T2 otherwise.
    cap: Option<Duration>,
}

impl Retransmit {
    fn new(bytes: Vec<u8>, t1: Duration, cap: Option<Duration>) -> Self {
        Self {
            bytes,
            next: Instant::now() + t1,
            interval: t1,
            cap,
        }
    }

    fn schedule_next(&mut self) {
        self.interval = self.interval.saturating_mul(2);
        if let Some(cap) = self.cap {
            self.interval = self.interval.min(cap);
        }
        self.next = Instant::now() + self.interval;
    }
}

/// The call's place on the transport and the header values every
/// request repeats.
struct Leg {
    reg: Registration,
    call_id: String,
    /// `host:port` in `Via` and `Contact`.
    advertised: String,
    request_uri: String,
    from: String,
    to: String,
    pai: String,
    contact: String,
    user_agent: String,
    sdp: Option<Vec<u8>>,
    t1: Duration,
    t2: Duration,
    timeout: Duration,
    /// Whoever follows the call may ask to end it early.
    stop: CallStop,
}

/// The INVITE currently in flight.
struct Invite {
    branch: String,
    cseq: u32,
}

impl Leg {
    async fn open(
        config: &SipConfig,
        transport: &Arc<Transport>,
        call: &FlashCall,
    ) -> Result<Self, &'static str> {
        let local = transport.local_addr();
        let peer = tokio::net::lookup_host(config.proxy_host_port())
            .await
            .map_err(|_| "network_error")?
            .min_by_key(|a| a.is_ipv4() != local.is_ipv4())
            .and_then(|a| transport.address_of(a))
            .ok_or("network_error")?;
        let advertised = match &config.advertised_addr {
            Some(addr) => addr.clone(),
            None => transport
                .contact_addr(peer)
                .map_err(|_| "network_error")?
                .to_string(),
        };
        let number = |n: &str| {
            if config.plus_in_numbers {
                n.to_string()
            } else {
                n.trim_start_matches('+').to_string()
            }
        };
        let caller_uri = format!(
            "sip:{}@{};user=phone",
            number(&call.caller),
            config.caller_host()
        );
        let request_uri = format!(
            "sip:{}@{};user=phone",
            number(&call.callee),
            config.domain()
        );
        let display = config
            .display_name
            .as_deref()
            .map(|d| format!("\"{d}\" "))
            .unwrap_or_default();
        let tag = random_hex(8).ok_or("internal_error")?;
        let call_id = format!("{}@motp", random_hex(16).ok_or("internal_error")?);
        let sdp = config.sdp.then(|| sdp_offer(&advertised)).transpose()?;
        // The transport hands this call the datagrams with its Call-ID
        // that come from the peer, and nothing else.
        let reg = transport.register(&call_id, peer).ok_or("internal_error")?;
        Ok(Self {
            reg,
            call_id,
            from: format!("{display}<{caller_uri}>;tag={tag}"),
            to: format!("<{request_uri}>"),
            pai: format!("<{caller_uri}>"),
            contact: format!("<sip:motp@{advertised}>"),
            advertised,
            request_uri,
            user_agent: config.user_agent.clone(),
            sdp,
            t1: config.t1(),
            t2: config.t2(),
            timeout: config.transaction_timeout(),
            stop: call.stop.clone(),
        })
    }

    /// The headers every request of this call carries, in the usual order.
    fn request(
        &self,
        method: &str,
        uri: &str,
        branch: &str,
        cseq: u32,
        to: &str,
        route: &[String],
    ) -> Message {
        let mut m = Message::request(method, uri);
        m.push(
            "Via",
            format!("SIP/2.0/UDP {};branch={branch};rport", self.advertised),
        );
        m.push("Max-Forwards", "70");
        for r in route {
            m.push("Route", r);
        }
        m.push("From", &self.from);
        m.push("To", to);
        m.push("Call-ID", &self.call_id);
        m.push("CSeq", format!("{cseq} {method}"));
        m.push("User-Agent", &self.user_agent);
        m
    }

    fn invite(&self, tx: &Invite, authorization: Option<(&str, String)>) -> Message {
        let mut m = self.request(
            "INVITE",
            &self.request_uri,
            &tx.branch,
            tx.cseq,
            &self.to,
            &[],
        );
        m.push("Contact", &self.contact);
        m.push("P-Asserted-Identity", &self.pai);
        m.push("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS");
        if let Some((name, value)) = authorization {
            m.push(name, value);
        }
        if let Some(sdp) = &self.sdp {
            m.set_body("application/sdp", sdp.clone());
        }
        m
    }

    async fn send(&self, message: &Message) {
        self.send_bytes(&message.to_bytes()).await;
    }

    async fn send_bytes(&self, bytes: &[u8]) {
        self.reg.send(bytes).await;
    }

    /// The next SIP message of this call from the peer, retransmitting
    /// `rtx` as it falls due; `None` at `deadline`. Requests of this call
    /// are answered here (BYE, OPTIONS); the transport has already dropped
    /// unparseable datagrams, other calls' traffic and other senders.
    async fn next(&self, deadline: Instant, rtx: Option<&mut Retransmit>) -> Option<Message> {
        self.next_or_stop(deadline, rtx, false).await
    }

    /// [`Leg::next`], also returning `None` as soon as a stop is requested
    /// when `watch_stop`.
    async fn next_or_stop(
        &self,
        deadline: Instant,
        mut rtx: Option<&mut Retransmit>,
        watch_stop: bool,
    ) -> Option<Message> {
        loop {
            if let Some(message) = self.reg.inbox().pop() {
                if message.method().is_some() {
                    self.answer_request(&message).await;
                    continue;
                }
                return Some(message);
            }
            let wake = rtx.as_ref().map_or(deadline, |r| r.next.min(deadline));
            tokio::select! {
                () = self.stop.requested(), if watch_stop => return None,
                // A waiting call holds no receive buffer: the transport's
                // one buffer reads every datagram.
                () = self.reg.inbox().ready() => {}
                () = sleep_until(wake) => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    if let Some(r) = rtx.as_deref_mut() {
                        self.send_bytes(&r.bytes).await;
                        r.schedule_next();
                    }
                }
            }
        }
    }

    /// A request from the far end within this call: BYE (the phone hung up
    /// an answered call first) and OPTIONS get 200, ACK nothing, anything
    /// else 501.
    async fn answer_request(&self, request: &Message) {
        let (code, reason) = match request.method() {
            Some("ACK") | None => return,
            Some("BYE" | "OPTIONS") => (200, "OK"),
            Some(_) => (501, "Not Implemented"),
        };
        self.send(&reply(request, code, reason)).await;
    }

    /// INVITE → (401/407 → INVITE with credentials) → 1xx … → final, or
    /// ring time over → CANCEL.
    async fn invite_flow(
        self,
        config: &SipConfig,
        call: &FlashCall,
        progress: &ProgressSender,
    ) -> Finished {
        let started = Instant::now();
        let answer_deadline = started + call.answer_timeout;
        let ring_for = call.ring_for;
        let mut authorization: Option<(&str, String)> = None;
        let mut cseq = 1;
        let mut ringing_at: Option<Instant> = None;
        loop {
            let Some(branch) = new_branch() else {
                return Finished::fail("internal_error");
            };
            let tx = Invite { branch, cseq };
            // Only the bytes are kept while the phone rings, not the
            // message they were written from.
            let bytes = self.invite(&tx, authorization.take()).to_bytes();
            self.send_bytes(&bytes).await;
            let mut rtx = Retransmit::new(bytes, self.t1, None);
            let no_answer_deadline = (Instant::now() + self.timeout).min(answer_deadline);
            let mut provisional = false;
            let last = loop {
                // Asked to end the call: CANCEL at once once a provisional
                // response allows it; before one, CANCEL is not allowed
                // (RFC 3261 §9.1), so keep waiting for the first answer.
                let stopping = self.stop.is_requested();
                let deadline = match (provisional, ringing_at) {
                    (true, _) if stopping => Instant::now(),
                    (false, _) => no_answer_deadline,
                    (true, None) => answer_deadline,
                    (true, Some(at)) => at + ring_for,
                };
                let retransmit = (!provisional).then_some(&mut rtx);
                let Some(response) = self.next_or_stop(deadline, retransmit, !stopping).await
                else {
                    if !stopping && self.stop.is_requested() && Instant::now() < deadline {
                        continue;
                    }
                    break None;
                };
                if !self.answers(&response, &tx.branch, tx.cseq, "INVITE") {
                    continue;
                }
                match response.code().unwrap_or(0) {
                    100..=199 => {
                        // A provisional response ends the INVITE's
                        // retransmissions (RFC 3261 §17.1.1.2): its bytes
                        // are not held while the phone rings.
                        if !provisional {
                            rtx.bytes = Vec::new();
                        }
                        provisional = true;
                        let code = response.code();
                        if ringing_at.is_none() && matches!(code, Some(180 | 183)) {
                            tracing::debug!(call_id = %self.call_id, "sip: ringing");
                            ringing_at = Some(Instant::now());
                            let _ = progress.send(CallProgress::Ringing);
                        }
                    }
                    _ => break Some(response),
                }
            };
            let Some(last) = last else {
                if !provisional {
                    // Nothing at all came back: no CANCEL may be sent
                    // (RFC 3261 §9.1), the transaction just ends (timer B).
                    return Finished::trunk_fail("timeout");
                }
                // Rang long enough, or never rang within answer_timeout.
                return Box::pin(self.cancel_flow(&tx, ringing_at.is_some())).await;
            };
            let code = last.code().unwrap_or(0);
            if (200..300).contains(&code) {
                return Box::pin(self.answered(&tx, &last)).await;
            }
            let ack = Box::pin(self.ack_failure(&tx, &last)).await;
            if matches!(code, 401 | 407) && cseq == 1 && !self.stop.is_requested() {
                let (Some(user), Some(password)) = (&config.auth_username, &config.auth_password)
                else {
                    return Finished::trunk_fail("auth_required");
                };
                let (challenge_header, answer_header) = if code == 401 {
                    ("WWW-Authenticate", "Authorization")
                } else {
                    ("Proxy-Authenticate", "Proxy-Authorization")
                };
                let Some(challenge) = Challenge::pick(last.headers_named(challenge_header)) else {
                    return Finished::trunk_fail("auth_failed");
                };
                let Some(cnonce) = random_hex(12) else {
                    return Finished::fail("internal_error");
                };
                let body = self.sdp.as_deref().unwrap_or_default();
                let answer =
                    challenge.answer(user, password, "INVITE", &self.request_uri, body, &cnonce);
                authorization = Some((answer_header, answer));
                cseq += 1;
                continue;
            }
            self.end(&tx, ack);
            return Finished {
                result: Err(failure_reason(code)),
                // A second challenge is the trunk refusing our credentials.
                trunk_fault: trunk_fault(code) || matches!(code, 401 | 407),
            };
        }
    }

    /// Whether `response` belongs to the client transaction `branch` /
    /// `cseq method` (RFC 3261 §17.1.3: top Via branch and CSeq method).
    fn answers(&self, response: &Message, branch: &str, cseq: u32, method: &str) -> bool {
        answers(response, branch, cseq, method)
    }

    /// ACK of a non-2xx final response: part of the INVITE transaction, so
    /// the same branch, the INVITE's Request-URI and the response's `To`
    /// (with its tag) (RFC 3261 §17.1.1.3).
    async fn ack_failure(&self, tx: &Invite, response: &Message) -> Vec<u8> {
        let to = response.header("To").unwrap_or(&self.to);
        let ack = self.request("ACK", &self.request_uri, &tx.branch, tx.cseq, to, &[]);
        let bytes = ack.to_bytes();
        self.send_bytes(&bytes).await;
        bytes
    }

    /// Ring time over (or no ringing within `answer_timeout`): CANCEL, then
    /// wait for the INVITE's final response (487, or 200 if the phone was
    /// answered at the same moment) and ACK it.
    async fn cancel_flow(self, tx: &Invite, rang: bool) -> Finished {
        let outcome = |answered: bool| {
            if rang || answered {
                Ok(())
            } else {
                Err("timeout".to_string())
            }
        };
        tracing::debug!(call_id = %self.call_id, "sip: CANCEL");
        // Same Request-URI, Call-ID, From, To, CSeq number and top Via
        // branch as the INVITE (RFC 3261 §9.1).
        let cancel = self.request(
            "CANCEL",
            &self.request_uri,
            &tx.branch,
            tx.cseq,
            &self.to,
            &[],
        );
        let bytes = cancel.to_bytes();
        self.send_bytes(&bytes).await;
        let mut rtx = Retransmit::new(bytes, self.t1, Some(self.t2));
        let deadline = Instant::now() + self.timeout;
        let mut cancel_answered = false;
        let final_response = loop {
            let retransmit = (!cancel_answered).then_some(&mut rtx);
            let Some(response) = self.next(deadline, retransmit).await else {
                break None;
            };
            let code = response.code().unwrap_or(0);
            if self.answers(&response, &tx.branch, tx.cseq, "CANCEL") {
                cancel_answered |= code >= 200;
            } else if self.answers(&response, &tx.branch, tx.cseq, "INVITE") && code >= 200 {
                break Some(response);
            }
        };
        match final_response {
            None => {
                // The phone rang; the trunk just never confirmed the end.
                tracing::warn!(call_id = %self.call_id, "sip: no final response after CANCEL");
                Finished {
                    result: outcome(false),
                    trunk_fault: false,
                }
            }
            Some(response) if response.code().is_some_and(|c| c < 300) => {
                let mut finished = self.answered(tx, &response).await;
                finished.result = outcome(true);
                finished
            }
            Some(response) => {
                let ack = self.ack_failure(tx, &response).await;
                self.end(tx, ack);
                Finished {
                    result: outcome(false),
                    trunk_fault: false,
                }
            }
        }
    }

    /// The phone answered: ACK the 2xx (a new transaction, sent to the
    /// remote target with the route set) and hang up with BYE at once.
    async fn answered(self, tx: &Invite, ok: &Message) -> Finished {
        tracing::debug!(call_id = %self.call_id, "sip: answered; ACK + BYE");
        let to = ok.header("To").unwrap_or(&self.to).to_string();
        let target = ok
            .header("Contact")
            .and_then(NameAddr::parse)
            .map(|a| a.uri.to_string())
            .unwrap_or_else(|| self.request_uri.clone());
        // The UAC's route set is the Record-Route list in reverse.
        let mut route: Vec<String> = ok
            .headers_named("Record-Route")
            .flat_map(split_list)
            .map(str::to_string)
            .collect();
        route.reverse();
        let (Some(ack_branch), Some(bye_branch)) = (new_branch(), new_branch()) else {
            return Finished::fail("internal_error");
        };
        let ack = self.request("ACK", &target, &ack_branch, tx.cseq, &to, &route);
        let ack_bytes = ack.to_bytes();
        self.send_bytes(&ack_bytes).await;

        let bye = self.request("BYE", &target, &bye_branch, tx.cseq + 1, &to, &route);
        let bytes = bye.to_bytes();
        self.send_bytes(&bytes).await;
        let mut rtx = Retransmit::new(bytes, self.t1, Some(self.t2));
        let deadline = Instant::now() + self.timeout;
        while let Some(response) = self.next(deadline, Some(&mut rtx)).await {
            let code = response.code().unwrap_or(0);
            if self.answers(&response, &tx.branch, tx.cseq, "INVITE") && code < 300 {
                // Our ACK was lost: the 2xx is retransmitted until ACKed.
                self.send_bytes(&ack_bytes).await;
            } else if self.answers(&response, &bye_branch, tx.cseq + 1, "BYE") && code >= 200 {
                break;
            }
        }
        self.end(tx, ack_bytes);
        Finished {
            result: Ok(()),
            trunk_fault: false,
        }
    }

    /// The call is over: its registration on the transport becomes a
    /// short entry that ACKs a retransmitted final response again (our
    /// ACK may have been lost; the far end retransmits at T1, 2·T1, …).
    /// 4 × T1 catches the first two retransmissions without holding
    /// anything for timer D's 32 s; the call's task ends now.
    fn end(self, tx: &Invite, ack: Vec<u8>) {
        let keep = self.t1 * 4;
        self.reg.end(&tx.branch, tx.cseq, ack, keep);
    }
}

/// A minimal audio offer: PCMU and PCMA (every phone and trunk has them)
/// plus DTMF events. Media goes to port 9 (discard): nothing is ever sent
/// or received, as the call is canceled before answer or hung up at once,
/// and no RTP socket needs to be held.
fn sdp_offer(advertised: &str) -> Result<Vec<u8>, &'static str> {
    let host = match advertised.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(':') => h,
        _ => advertised,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let family = if host.contains(':') { "IP6" } else { "IP4" };
    let session = u32::from_str_radix(&random_hex(4).ok_or("internal_error")?, 16)
        .map_err(|_| "internal_error")?;
    Ok(format!(
        "v=0\r\n\
         o=motp {session} {session} IN {family} {host}\r\n\
         s=motp\r\n\
         c=IN {family} {host}\r\n\
         t=0 0\r\n\
         m=audio 9 RTP/AVP 0 8 101\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:101 telephone-event/8000\r\n\
         a=fmtp:101 0-15\r\n\
         a=sendrecv\r\n"
    )
    .into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons() {
        assert_eq!(failure_reason(486), "busy");
        assert_eq!(failure_reason(600), "busy");
        assert_eq!(failure_reason(603), "declined");
        assert_eq!(failure_reason(404), "not_found");
        assert_eq!(failure_reason(484), "not_found");
        assert_eq!(failure_reason(480), "unavailable");
        assert_eq!(failure_reason(503), "unavailable");
        assert_eq!(failure_reason(500), "server_error");
        assert_eq!(failure_reason(488), "rejected_488");
    }

    #[test]
    fn numbers_must_be_e164() {
        assert!(is_e164("+442079460123"));
        for bad in [
            "442079460123",
            "+",
            "+44 20",
            "+1234567890123456",
            "+44\r\n",
        ] {
            assert!(!is_e164(bad), "{bad}");
        }
    }

    #[test]
    fn sdp_names_the_address_family() {
        let v4 = String::from_utf8(sdp_offer("192.0.2.1:5060").unwrap()).unwrap();
        assert!(v4.contains("c=IN IP4 192.0.2.1\r\n"), "{v4}");
        let v6 = String::from_utf8(sdp_offer("[2001:db8::1]:5060").unwrap()).unwrap();
        assert!(v6.contains("c=IN IP6 2001:db8::1\r\n"), "{v6}");
    }
}
