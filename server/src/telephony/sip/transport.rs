//! One SIP transport per trunk: one UDP socket at a fixed local port
//! (`bind`, 5060 by default), one receive task with one receive buffer,
//! and a table of the calls in flight by Call-ID.
//!
//! Trunks admit signalling by source address *and port* and expect one
//! signalling port, so every call of a trunk is sent from the same socket.
//! The receive task reads each datagram into its one buffer, parses it and
//! hands it to the call (dialog) it belongs to by Call-ID; within the call,
//! a response is matched to its client transaction by the top `Via` branch
//! and the `CSeq` method (RFC 3261 §17.1.3, [`super::call`]), and a request
//! of the call (a BYE from the phone, OPTIONS) is answered by the call.
//! A datagram is only handed to a call when it comes from the address that
//! call sends to (the trunk), so nobody else can inject a `200` or `487`.
//! A request outside any call from the trunk is answered (OPTIONS keep-alives
//! with 200, anything else but ACK with 481); everything else is dropped.
//!
//! A waiting call holds no buffer: its inbox is an empty queue and a
//! `Notify`. Inboxes are bounded ([`INBOX_CAP`] messages; more is dropped
//! like a lost datagram, and retransmission recovers it).
//!
//! A call that is over leaves behind, for 4 × T1, only what answers a
//! retransmission of its final response: the ACK to send again
//! ([`Registration::end`]). The receive task sends it; the call's task
//! has already ended (a few hundred bytes per ended call, not a task).

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::message::{param, parse_cseq, split_list, Message, MAX_MESSAGE_LEN};

/// Messages a call's inbox holds before further datagrams are dropped.
const INBOX_CAP: usize = 32;

/// A trunk's socket and the calls using it.
pub(crate) struct Transport {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    calls: Arc<Calls>,
    receiver: tokio::task::AbortHandle,
    /// Source address by peer, learned from the routing table once.
    sources: Mutex<HashMap<SocketAddr, IpAddr>>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("local", &self.local)
            .field("calls", &self.calls.len())
            .finish()
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        self.receiver.abort();
    }
}

/// The calls in flight, by Call-ID, and the peers ever called.
#[derive(Default)]
struct Calls {
    by_id: Mutex<HashMap<Box<str>, Arc<Inbox>>>,
    /// Addresses calls were sent to (the trunk's; at most 64 kept).
    peers: Mutex<std::collections::HashSet<SocketAddr>>,
    /// Calls that are over, kept briefly to ACK a final response again.
    ended: Mutex<Ended>,
}

/// Ended calls by Call-ID, and the order they expire in.
#[derive(Default)]
struct Ended {
    by_id: HashMap<Box<str>, EndedCall>,
    expiry: VecDeque<(Instant, Box<str>)>,
}

/// What re-ACKs one ended call's final response.
struct EndedCall {
    peer: SocketAddr,
    branch: Box<str>,
    cseq: u32,
    ack: Box<[u8]>,
    until: Instant,
}

impl Ended {
    /// Forgets the calls whose time is up.
    fn expire(&mut self, now: Instant) {
        while let Some((until, _)) = self.expiry.front() {
            if *until > now {
                break;
            }
            let Some((until, call_id)) = self.expiry.pop_front() else {
                break;
            };
            // Only the entry this expiry was queued for (not a newer one).
            if self.by_id.get(&call_id).is_some_and(|e| e.until == until) {
                self.by_id.remove(&call_id);
            }
        }
        if self.by_id.is_empty() && self.by_id.capacity() > 64 {
            self.by_id.shrink_to_fit();
            self.expiry.shrink_to_fit();
        }
    }
}

impl Calls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Arc<Inbox>>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    fn get(&self, call_id: &str) -> Option<Arc<Inbox>> {
        self.lock().get(call_id).cloned()
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<SocketAddr>> {
        self.peers.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ended(&self) -> std::sync::MutexGuard<'_, Ended> {
        self.ended.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The ACK to send again for `response` from `from`, when it is a
    /// retransmitted final response to the INVITE of an ended call.
    fn ack_again(&self, call_id: &str, response: &Message, from: SocketAddr) -> Option<Box<[u8]>> {
        let mut ended = self.ended();
        ended.expire(Instant::now());
        let call = ended.by_id.get(call_id)?;
        let is_final = response.code().is_some_and(|c| c >= 200);
        (call.peer == from && is_final && answers(response, &call.branch, call.cseq, "INVITE"))
            .then(|| call.ack.clone())
    }
}

/// Whether `response` belongs to the client transaction `branch` /
/// `cseq method` (RFC 3261 §17.1.3: top Via branch and CSeq method).
pub(crate) fn answers(response: &Message, branch: &str, cseq: u32, method: &str) -> bool {
    let top_via_branch = response
        .header("Via")
        .and_then(|v| split_list(v).first().copied())
        .and_then(|v| param(v, "branch"));
    let cseq_matches = response
        .header("CSeq")
        .and_then(parse_cseq)
        .is_some_and(|(n, m)| n == cseq && m == method);
    top_via_branch == Some(branch) && cseq_matches
}

/// Where the receive task leaves a call's messages.
pub(crate) struct Inbox {
    peer: SocketAddr,
    queue: Mutex<VecDeque<Message>>,
    ready: Notify,
}

impl Inbox {
    fn push(&self, message: Message) {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        if queue.len() >= INBOX_CAP {
            return;
        }
        queue.push_back(message);
        drop(queue);
        self.ready.notify_one();
    }

    /// The oldest message waiting, if any.
    pub(crate) fn pop(&self) -> Option<Message> {
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let message = queue.pop_front();
        // An empty inbox holds no memory while its call rings on: a call
        // gets two or three messages in all, thousands ring at once.
        if queue.is_empty() {
            queue.shrink_to_fit();
        }
        message
    }

    /// Resolves once a message may be waiting (spurious wake-ups allowed).
    pub(crate) async fn ready(&self) {
        self.ready.notified().await;
    }
}

/// A call's place in the transport: its Call-ID routes datagrams from its
/// peer to its inbox until dropped.
pub(crate) struct Registration {
    transport: Arc<Transport>,
    call_id: Box<str>,
    inbox: Arc<Inbox>,
}

impl Registration {
    pub(crate) fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    pub(crate) fn peer(&self) -> SocketAddr {
        self.inbox.peer
    }

    /// The call is over: for `keep`, a retransmission of the final
    /// response of INVITE transaction `branch`/`cseq` is answered with
    /// `ack` by the receive task; then the call is forgotten. Its inbox
    /// goes now.
    pub(crate) fn end(self, branch: &str, cseq: u32, ack: Vec<u8>, keep: Duration) {
        let now = Instant::now();
        let until = now + keep;
        let mut ended = self.transport.calls.ended();
        ended.expire(now);
        ended.expiry.push_back((until, self.call_id.clone()));
        ended.by_id.insert(
            self.call_id.clone(),
            EndedCall {
                peer: self.inbox.peer,
                branch: branch.into(),
                cseq,
                ack: ack.into_boxed_slice(),
                until,
            },
        );
    }

    /// Sends `bytes` to the call's peer. A failed send (no route) is
    /// treated like a lost datagram: retransmission and deadlines take over.
    pub(crate) async fn send(&self, bytes: &[u8]) {
        if let Err(error) = self.transport.socket.send_to(bytes, self.inbox.peer).await {
            tracing::debug!(call_id = %self.call_id, %error, "sip: send failed");
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut calls = self.transport.calls.lock();
        if calls
            .get(&self.call_id)
            .is_some_and(|i| Arc::ptr_eq(i, &self.inbox))
        {
            calls.remove(&self.call_id);
            // A table sized for a burst keeps its memory when emptied.
            if calls.is_empty() {
                calls.shrink_to_fit();
            }
        }
    }
}

impl Transport {
    /// Binds `bind` and starts the receive task. Must run inside a Tokio
    /// runtime. A taken port is an error naming it, not a silent fallback.
    pub(crate) fn bind(bind: SocketAddr) -> std::io::Result<Arc<Self>> {
        let std_socket = std::net::UdpSocket::bind(bind)?;
        std_socket.set_nonblocking(true)?;
        let socket = Arc::new(UdpSocket::from_std(std_socket)?);
        let local = socket.local_addr()?;
        let calls = Arc::new(Calls::default());
        let receiver =
            tokio::spawn(receive(Arc::clone(&socket), Arc::clone(&calls))).abort_handle();
        Ok(Arc::new(Self {
            socket,
            local,
            calls,
            receiver,
            sources: Mutex::new(HashMap::new()),
        }))
    }

    /// The bound address (useful with port 0).
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Calls registered now.
    pub(crate) fn calls_in_flight(&self) -> usize {
        self.calls.len()
    }

    /// `peer` as this socket addresses it (an IPv4 peer of an IPv6
    /// socket becomes v4-mapped), or `None` when the families cannot meet.
    pub(crate) fn address_of(&self, peer: SocketAddr) -> Option<SocketAddr> {
        match (self.local, peer) {
            (SocketAddr::V4(_), SocketAddr::V4(_)) | (SocketAddr::V6(_), SocketAddr::V6(_)) => {
                Some(peer)
            }
            (SocketAddr::V6(_), SocketAddr::V4(v4)) => Some(SocketAddr::new(
                IpAddr::V6(v4.ip().to_ipv6_mapped()),
                v4.port(),
            )),
            (SocketAddr::V4(_), SocketAddr::V6(_)) => None,
        }
    }

    /// The `host:port` this socket is reached at from `peer`: the bound
    /// address, or when bound to a wildcard, the source address the
    /// routing table picks for `peer` (learned once per peer).
    pub(crate) fn contact_addr(&self, peer: SocketAddr) -> std::io::Result<SocketAddr> {
        let ip = if self.local.ip().is_unspecified() {
            let mut sources = self.sources.lock().unwrap_or_else(|p| p.into_inner());
            match sources.get(&peer) {
                Some(ip) => *ip,
                None => {
                    let probe = std::net::UdpSocket::bind(match peer {
                        SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
                        SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
                    })?;
                    probe.connect(peer)?;
                    let mut ip = probe.local_addr()?.ip();
                    if let IpAddr::V6(v6) = ip {
                        if let Some(v4) = v6.to_ipv4_mapped() {
                            ip = IpAddr::V4(v4);
                        }
                    }
                    if sources.len() > 64 {
                        sources.clear();
                    }
                    sources.insert(peer, ip);
                    ip
                }
            }
        } else {
            self.local.ip()
        };
        Ok(SocketAddr::new(ip, self.local.port()))
    }

    /// Routes datagrams with `call_id` from `peer` to a new inbox. `None`
    /// if the Call-ID is already in use (never, for random Call-IDs).
    pub(crate) fn register(
        self: &Arc<Self>,
        call_id: &str,
        peer: SocketAddr,
    ) -> Option<Registration> {
        let inbox = Arc::new(Inbox {
            peer,
            queue: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
        });
        let mut calls = self.calls.lock();
        if calls.contains_key(call_id) {
            return None;
        }
        calls.insert(call_id.into(), Arc::clone(&inbox));
        drop(calls);
        let mut peers = self.calls.peers();
        if !peers.contains(&peer) {
            if peers.len() >= 64 {
                peers.clear();
            }
            peers.insert(peer);
        }
        drop(peers);
        Some(Registration {
            transport: Arc::clone(self),
            call_id: call_id.into(),
            inbox,
        })
    }
}

/// The receive task: one buffer for the trunk, every datagram to its call.
async fn receive(socket: Arc<UdpSocket>, calls: Arc<Calls>) {
    let mut buf = vec![0u8; MAX_MESSAGE_LEN];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(error) => {
                // ICMP errors of earlier sends surface here on some systems.
                tracing::trace!(%error, "sip: receive error");
                continue;
            }
        };
        let Ok(message) = Message::parse(&buf[..n]) else {
            continue;
        };
        let Some(call_id) = message.header("Call-ID") else {
            continue;
        };
        match calls.get(call_id) {
            Some(inbox) if inbox.peer == from => inbox.push(message),
            Some(_) => {}
            None => {
                // A final response retransmitted after its call ended:
                // our ACK was lost, send it again.
                if message.method().is_none() {
                    if let Some(ack) = calls.ack_again(call_id, &message, from) {
                        let _ = socket.send_to(&ack, from).await;
                    }
                    continue;
                }
                let Some(response) = outside_any_call(&message) else {
                    continue;
                };
                let from_a_peer = calls.peers().contains(&from);
                if from_a_peer {
                    let _ = socket.send_to(&response.to_bytes(), from).await;
                }
            }
        }
    }
}

/// The answer to a request from the trunk that belongs to no call in
/// flight: 200 to OPTIONS (trunks probe with it), nothing to ACK or to a
/// response, 481 to the rest (RFC 3261 §12.2.2).
fn outside_any_call(request: &Message) -> Option<Message> {
    let (code, reason) = match request.method()? {
        "ACK" => return None,
        "OPTIONS" => (200, "OK"),
        _ => (481, "Call/Transaction Does Not Exist"),
    };
    Some(reply(request, code, reason))
}

/// A response to `request` with its Via, From, To, Call-ID and CSeq.
pub(crate) fn reply(request: &Message, code: u16, reason: &str) -> Message {
    let mut response = Message::response(code, reason);
    for via in request.headers_named("Via") {
        response.push("Via", via);
    }
    for name in ["From", "To", "Call-ID", "CSeq"] {
        if let Some(value) = request.header(name) {
            response.push(name, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn invite(call_id: &str) -> Vec<u8> {
        format!(
            "SIP/2.0 180 Ringing\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKa\r\nFrom: <sip:a@b>;tag=1\r\n\
             To: <sip:c@d>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[tokio::test]
    async fn datagrams_reach_their_call_by_call_id_and_only_from_its_peer() {
        let transport = Transport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let stranger = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let peer_addr = peer.local_addr().unwrap();
        let a = transport.register("a@motp", peer_addr).unwrap();
        let b = transport.register("b@motp", peer_addr).unwrap();
        assert!(transport.register("a@motp", peer_addr).is_none());
        assert_eq!(transport.calls_in_flight(), 2);
        let to = transport.local_addr();
        stranger.send_to(&invite("a@motp"), to).unwrap();
        peer.send_to(&invite("b@motp"), to).unwrap();
        peer.send_to(&invite("a@motp"), to).unwrap();
        tokio::time::timeout(Duration::from_secs(5), b.inbox().ready())
            .await
            .unwrap();
        assert_eq!(b.inbox().pop().unwrap().header("Call-ID"), Some("b@motp"));
        let got = loop {
            if let Some(m) = a.inbox().pop() {
                break m;
            }
            tokio::time::timeout(Duration::from_secs(5), a.inbox().ready())
                .await
                .unwrap();
        };
        assert_eq!(got.header("Call-ID"), Some("a@motp"));
        // The stranger's datagram went nowhere.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(a.inbox().pop().is_none());
        drop(a);
        assert_eq!(transport.calls_in_flight(), 1);
    }

    fn final_response(call_id: &str, branch: &str) -> Vec<u8> {
        format!(
            "SIP/2.0 486 Busy Here\r\nVia: SIP/2.0/UDP x;branch={branch}\r\nFrom: <sip:a@b>;tag=1\r\n\
             To: <sip:c@d>;tag=2\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    /// The next datagram `socket` receives within `wait`, if any.
    fn received(socket: &std::net::UdpSocket, wait: Duration) -> Option<Vec<u8>> {
        socket.set_read_timeout(Some(wait)).unwrap();
        let mut buf = [0u8; 2048];
        socket.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_ended_call_acks_its_retransmitted_final_response_for_a_while() {
        let transport = Transport::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let stranger = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = transport.local_addr();
        let call = transport
            .register("e@motp", peer.local_addr().unwrap())
            .unwrap();
        call.end(
            "z9hG4bKe",
            1,
            b"ACK again".to_vec(),
            Duration::from_millis(400),
        );
        assert_eq!(
            transport.calls_in_flight(),
            0,
            "no call in flight once ended"
        );

        // The peer retransmits the final response: the ACK is sent again.
        peer.send_to(&final_response("e@motp", "z9hG4bKe"), to)
            .unwrap();
        let wait = Duration::from_secs(2);
        assert_eq!(received(&peer, wait).as_deref(), Some(&b"ACK again"[..]));
        // Another transaction's response, or a stranger's, gets nothing.
        peer.send_to(&final_response("e@motp", "z9hG4bKother"), to)
            .unwrap();
        stranger
            .send_to(&final_response("e@motp", "z9hG4bKe"), to)
            .unwrap();
        let short = Duration::from_millis(150);
        assert_eq!(received(&peer, short), None);
        assert_eq!(received(&stranger, short), None);
        // Once its time is up, the call is forgotten.
        tokio::time::sleep(Duration::from_millis(400)).await;
        peer.send_to(&final_response("e@motp", "z9hG4bKe"), to)
            .unwrap();
        assert_eq!(received(&peer, short), None);
        assert!(transport.calls.ended().by_id.is_empty());
    }

    #[tokio::test]
    async fn a_taken_port_is_an_error() {
        let held = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(Transport::bind(held.local_addr().unwrap()).is_err());
    }
}
