//! A SIP wire tap for the demo: a UDP relay between the server's SIP
//! provider and the loopback handset that timestamps every message passing
//! through, so the timeline shows the real INVITE, 180, CANCEL, 487 and ACK
//! rather than what either end believes it sent.
//!
//! The server's provider is pointed at the tap as if it were the trunk. Each
//! call comes from its own ephemeral port (see the SIP provider's docs), so
//! the tap gives each caller address its own upstream socket towards the
//! handset and sends the handset's answers back from the address the
//! provider called (the provider ignores datagrams from anyone else).
//! Loopback only; one upstream socket per call, kept until the tap stops
//! (a demo places at most a hundred or so calls).

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use crate::telephony::sip::message::{parse_cseq, Message, NameAddr, StartLine, MAX_MESSAGE_LEN};

/// One SIP message seen on the wire.
#[derive(Debug, Clone)]
pub struct Seen {
    /// When it passed the tap.
    pub at: Instant,
    /// `true` from the server to the handset, `false` back.
    pub to_handset: bool,
    /// The `Call-ID` (every message of one call shares it).
    pub call_id: String,
    /// The request method (`INVITE`, `CANCEL`, `ACK`, …), for requests.
    pub method: Option<String>,
    /// A one-line description: `INVITE to +447700900123, caller ID
    /// +442079460123`, `180 Ringing`, `200 OK (to the CANCEL)`.
    pub summary: String,
}

/// A running tap. Stops when dropped.
#[derive(Debug)]
pub struct SipTap {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl SipTap {
    /// Binds a free port on 127.0.0.1 and relays to `handset`.
    pub async fn start(handset: SocketAddr) -> io::Result<(Self, mpsc::UnboundedReceiver<Seen>)> {
        let front = Arc::new(UdpSocket::bind(("127.0.0.1", 0)).await?);
        let addr = front.local_addr()?;
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(relay(front, handset, tx));
        Ok((Self { addr, task }, rx))
    }

    /// Where the SIP provider should send its requests.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for SipTap {
    fn drop(&mut self) {
        self.task.abort(); // drops the JoinSet, which aborts the upstream legs
    }
}

async fn relay(front: Arc<UdpSocket>, handset: SocketAddr, tx: mpsc::UnboundedSender<Seen>) {
    let mut legs: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut backs = JoinSet::new();
    let mut buf = vec![0u8; MAX_MESSAGE_LEN];
    loop {
        let (n, caller) = match front.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) if is_transient(&e) => continue,
            Err(_) => return,
        };
        let datagram = &buf[..n];
        report(&tx, datagram, true);
        let leg = match legs.get(&caller) {
            Some(leg) => Arc::clone(leg),
            None => {
                let Ok(leg) = open_leg(handset).await else {
                    continue; // as a lossy network would: the provider retransmits or times out
                };
                backs.spawn(back(
                    Arc::clone(&leg),
                    Arc::clone(&front),
                    caller,
                    tx.clone(),
                ));
                legs.insert(caller, Arc::clone(&leg));
                leg
            }
        };
        let _ = leg.send(datagram).await;
    }
}

async fn open_leg(handset: SocketAddr) -> io::Result<Arc<UdpSocket>> {
    let leg = UdpSocket::bind(("127.0.0.1", 0)).await?;
    leg.connect(handset).await?;
    Ok(Arc::new(leg))
}

/// Handset → server for one call's leg.
async fn back(
    leg: Arc<UdpSocket>,
    front: Arc<UdpSocket>,
    caller: SocketAddr,
    tx: mpsc::UnboundedSender<Seen>,
) {
    let mut buf = vec![0u8; MAX_MESSAGE_LEN];
    loop {
        let n = match leg.recv(&mut buf).await {
            Ok(n) => n,
            Err(e) if is_transient(&e) => continue,
            Err(_) => return,
        };
        report(&tx, &buf[..n], false);
        let _ = front.send_to(&buf[..n], caller).await;
    }
}

/// ICMP "port unreachable" surfaces once per datagram on a UDP socket; it is
/// not a reason to stop relaying.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
    )
}

fn report(tx: &mpsc::UnboundedSender<Seen>, datagram: &[u8], to_handset: bool) {
    let at = Instant::now();
    let Ok(message) = Message::parse(datagram) else {
        return; // keep-alives and junk are relayed but not shown
    };
    let _ = tx.send(Seen {
        at,
        to_handset,
        call_id: message.header("Call-ID").unwrap_or_default().to_string(),
        method: message.method().map(str::to_string),
        summary: summarize(&message),
    });
}

/// The calling number is shown on purpose: in the demo it is the point.
fn summarize(message: &Message) -> String {
    let user = |header: &str| {
        message
            .header(header)
            .and_then(NameAddr::parse)
            .and_then(|a| a.user())
            .unwrap_or_else(|| "?".into())
    };
    match &message.start {
        StartLine::Request { method, .. } if method == "INVITE" => format!(
            "INVITE to {}, caller ID {}",
            user("To"),
            user("P-Asserted-Identity")
        ),
        StartLine::Request { method, .. } => method.clone(),
        StartLine::Response { code, reason } => {
            let of = message
                .header("CSeq")
                .and_then(parse_cseq)
                .map(|(_, m)| m.to_string())
                .unwrap_or_default();
            if of == "INVITE" || of.is_empty() {
                format!("{code} {reason}")
            } else {
                format!("{code} {reason} (to the {of})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_name_the_step() {
        let mut invite = Message::request("INVITE", "sip:+447700900123@127.0.0.1");
        invite.push("From", "<sip:+442079460123@127.0.0.1;user=phone>;tag=a");
        invite.push("To", "<sip:+447700900123@127.0.0.1;user=phone>");
        invite.push(
            "P-Asserted-Identity",
            "<sip:+442079460123@127.0.0.1;user=phone>",
        );
        assert_eq!(
            summarize(&invite),
            "INVITE to +447700900123, caller ID +442079460123"
        );
        let mut ok = Message::response(200, "OK");
        ok.push("CSeq", "1 CANCEL");
        assert_eq!(summarize(&ok), "200 OK (to the CANCEL)");
        let mut ringing = Message::response(180, "Ringing");
        ringing.push("CSeq", "1 INVITE");
        assert_eq!(summarize(&ringing), "180 Ringing");
    }
}
