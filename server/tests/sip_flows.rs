//! Edge cases of the SIP call flow against a scripted peer (a UDP socket
//! in the test), for the races and odd answers SIPp scenarios make awkward:
//! answered during the CANCEL, no ringing at all, lost ACKs, 407 proxy
//! challenges, garbage and stray datagrams.

use std::net::SocketAddr;
use std::time::Duration;

use motp_server::telephony::sip::digest::Challenge;
use motp_server::telephony::sip::message::{param, parse_cseq, Message};
use motp_server::telephony::sip::{SipConfig, SipTelephony};
use motp_server::telephony::{CallProgress, FlashCall, Telephony};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

const CALLER: &str = "+442079460123";

/// The far end, played step by step by the test.
struct Peer {
    socket: UdpSocket,
    caller: Option<SocketAddr>,
}

impl Peer {
    async fn new() -> Self {
        Self {
            socket: UdpSocket::bind("127.0.0.1:0").await.unwrap(),
            caller: None,
        }
    }

    fn config(&self) -> SipConfig {
        SipConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            t1_ms: 40,
            ..SipConfig::for_proxy(self.socket.local_addr().unwrap().to_string())
        }
    }

    /// The next request (responses from the UAC don't exist).
    async fn recv(&mut self) -> Message {
        let mut buf = vec![0u8; 65_535];
        let (n, from) =
            tokio::time::timeout(Duration::from_secs(5), self.socket.recv_from(&mut buf))
                .await
                .expect("a request within 5 s")
                .unwrap();
        self.caller = Some(from);
        Message::parse(&buf[..n]).expect("the UAC sends valid SIP")
    }

    /// The next request with `method`, skipping retransmissions of others.
    async fn recv_method(&mut self, method: &str) -> Message {
        loop {
            let m = self.recv().await;
            if m.method() == Some(method) {
                return m;
            }
        }
    }

    async fn send_raw(&self, bytes: &[u8]) {
        self.socket
            .send_to(bytes, self.caller.unwrap())
            .await
            .unwrap();
    }

    async fn reply(&self, request: &Message, code: u16, extra: &[(&str, &str)]) -> Message {
        let mut r = Message::response(code, "Scripted");
        for via in request.headers_named("Via") {
            r.push("Via", via);
        }
        r.push("From", request.header("From").unwrap());
        let to = request.header("To").unwrap();
        if param(to, "tag").is_none() && code > 100 {
            r.push("To", format!("{to};tag=peer"));
        } else {
            r.push("To", to);
        }
        r.push("Call-ID", request.header("Call-ID").unwrap());
        r.push("CSeq", request.header("CSeq").unwrap());
        for (name, value) in extra {
            r.push(name, value);
        }
        self.send_raw(&r.to_bytes()).await;
        r
    }
}

fn flash_call(ring_for: Duration, answer_timeout: Duration) -> FlashCall {
    FlashCall {
        verification_id: "vf_flow".into(),
        caller: CALLER.into(),
        callee: "+447400123456".into(),
        ring_for,
        answer_timeout,
        stop: motp_server::telephony::CallStop::never(),
    }
}

/// Starts the call in the background; the handle yields the events.
fn place(config: SipConfig, call: FlashCall) -> JoinHandle<Vec<CallProgress>> {
    tokio::spawn(async move {
        let telephony = SipTelephony::new(config).unwrap();
        let (tx, mut rx) = motp_server::telephony::progress::channel();
        tokio::time::timeout(Duration::from_secs(20), telephony.place(call, tx))
            .await
            .expect("bounded");
        // The transport outlives its calls, as in the server: it ACKs a
        // retransmitted final response again after the call's task ended.
        tokio::time::sleep(Duration::from_millis(500)).await;
        drop(telephony);
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        events
    })
}

fn delivered() -> Vec<CallProgress> {
    vec![CallProgress::Ringing, CallProgress::Delivered]
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
async fn answered_while_the_cancel_is_in_flight_gets_ack_and_bye() {
    let mut peer = Peer::new().await;
    let call = place(
        peer.config(),
        flash_call(Duration::from_millis(50), Duration::from_secs(5)),
    );
    let invite = peer.recv_method("INVITE").await;
    peer.reply(&invite, 180, &[]).await;
    let cancel = peer.recv_method("CANCEL").await;
    // The phone was picked up just before the CANCEL arrived.
    peer.reply(
        &invite,
        200,
        &[
            ("Contact", "<sip:phone@127.0.0.1>"),
            ("Record-Route", "<sip:p1;lr>, <sip:p2;lr>"),
        ],
    )
    .await;
    peer.reply(&cancel, 481, &[]).await;
    let ack = peer.recv_method("ACK").await;
    assert_eq!(ack.header("CSeq"), Some("1 ACK"));
    assert!(param(ack.header("To").unwrap(), "tag").is_some());
    // Sent to the remote target with the route set reversed.
    assert!(
        matches!(&ack.start, motp_server::telephony::sip::message::StartLine::Request { uri, .. } if uri == "sip:phone@127.0.0.1")
    );
    assert_eq!(
        ack.headers_named("Route").collect::<Vec<_>>(),
        vec!["<sip:p2;lr>", "<sip:p1;lr>"]
    );
    let bye = peer.recv_method("BYE").await;
    assert_eq!(bye.header("CSeq"), Some("2 BYE"));
    peer.reply(&bye, 200, &[]).await;
    assert_eq!(call.await.unwrap(), delivered());
}

#[tokio::test]
async fn trying_without_ringing_is_canceled_at_answer_timeout() {
    let mut peer = Peer::new().await;
    let call = place(
        peer.config(),
        flash_call(Duration::from_secs(5), Duration::from_millis(300)),
    );
    let invite = peer.recv_method("INVITE").await;
    peer.reply(&invite, 100, &[]).await;
    let cancel = peer.recv_method("CANCEL").await;
    assert_eq!(
        parse_cseq(cancel.header("CSeq").unwrap()),
        Some((1, "CANCEL"))
    );
    assert_eq!(
        cancel.header("Via"),
        invite.header("Via"),
        "same branch as the INVITE"
    );
    peer.reply(&cancel, 200, &[]).await;
    peer.reply(&invite, 487, &[]).await;
    peer.recv_method("ACK").await;
    assert_eq!(call.await.unwrap(), failed("timeout"));
}

#[tokio::test]
async fn a_lost_ack_is_sent_again_for_the_retransmitted_final_response() {
    let mut peer = Peer::new().await;
    let call = place(
        peer.config(),
        flash_call(Duration::from_secs(1), Duration::from_secs(5)),
    );
    let invite = peer.recv_method("INVITE").await;
    peer.reply(&invite, 486, &[]).await;
    let first = peer.recv_method("ACK").await;
    // Pretend the ACK was lost: retransmit the 486.
    peer.reply(&invite, 486, &[]).await;
    let second = peer.recv_method("ACK").await;
    assert_eq!(first, second);
    assert_eq!(call.await.unwrap(), failed("busy"));
}

#[tokio::test]
async fn proxy_challenge_is_answered_with_proxy_authorization() {
    let mut peer = Peer::new().await;
    let mut config = peer.config();
    config.auth_username = Some("alice".into());
    config.auth_password = Some("pw".into());
    let call = place(
        config,
        flash_call(Duration::from_millis(50), Duration::from_secs(5)),
    );
    let invite = peer.recv_method("INVITE").await;
    let challenge = r#"Digest realm="trunk", nonce="abc", qop="auth", algorithm=SHA-256"#;
    peer.reply(&invite, 407, &[("Proxy-Authenticate", challenge)])
        .await;
    peer.recv_method("ACK").await;
    let again = peer.recv_method("INVITE").await;
    assert_eq!(again.header("CSeq"), Some("2 INVITE"));
    assert_eq!(again.header("Call-ID"), invite.header("Call-ID"));
    assert_eq!(again.header("From"), invite.header("From"));
    assert_ne!(
        again.header("Via"),
        invite.header("Via"),
        "a new transaction"
    );
    let answer = again.header("Proxy-Authorization").expect("credentials");
    // Recompute the expected answer with the cnonce the UAC chose.
    let cnonce = answer
        .split("cnonce=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap();
    let uri = "sip:+447400123456@127.0.0.1;user=phone";
    let expected = Challenge::parse(challenge).unwrap().answer(
        "alice",
        "pw",
        "INVITE",
        uri,
        &again.body,
        cnonce,
    );
    assert_eq!(answer, expected);
    peer.reply(&again, 180, &[]).await;
    let cancel = peer.recv_method("CANCEL").await;
    assert_eq!(cancel.header("CSeq"), Some("2 CANCEL"));
    peer.reply(&cancel, 200, &[]).await;
    peer.reply(&again, 487, &[]).await;
    peer.recv_method("ACK").await;
    assert_eq!(call.await.unwrap(), delivered());
}

#[tokio::test]
async fn a_second_challenge_or_no_credentials_fail_the_call() {
    // No credentials configured.
    let mut peer = Peer::new().await;
    let call = place(
        peer.config(),
        flash_call(Duration::from_secs(1), Duration::from_secs(5)),
    );
    let invite = peer.recv_method("INVITE").await;
    peer.reply(
        &invite,
        401,
        &[("WWW-Authenticate", r#"Digest realm="r", nonce="n""#)],
    )
    .await;
    assert_eq!(call.await.unwrap(), trunk_failed("auth_required"));

    // Credentials refused twice: only one retry.
    let mut peer = Peer::new().await;
    let mut config = peer.config();
    config.auth_username = Some("u".into());
    config.auth_password = Some("p".into());
    let call = place(
        config,
        flash_call(Duration::from_secs(1), Duration::from_secs(5)),
    );
    for _ in 0..2 {
        let invite = peer.recv_method("INVITE").await;
        peer.reply(
            &invite,
            401,
            &[("WWW-Authenticate", r#"Digest realm="r", nonce="n""#)],
        )
        .await;
    }
    assert_eq!(call.await.unwrap(), trunk_failed("auth_failed"));
}

#[tokio::test]
async fn garbage_and_strangers_are_ignored() {
    let mut peer = Peer::new().await;
    let call = place(
        peer.config(),
        flash_call(Duration::from_millis(50), Duration::from_secs(5)),
    );
    let invite = peer.recv_method("INVITE").await;
    peer.send_raw(b"\x00\xffnot sip at all\r\n\r\n").await;
    peer.send_raw(b"\r\n\r\n").await; // keep-alive
                                      // A 486 for some other call and one with a wrong branch.
    let mut other = Message::parse(&peer.reply(&invite, 100, &[]).await.to_bytes()).unwrap();
    other.set("Call-ID", "someone-else");
    other.start = Message::response(486, "Busy").start;
    peer.send_raw(&other.to_bytes()).await;
    let mut wrong_branch = Message::response(486, "Busy Here");
    wrong_branch.push("Via", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKforged");
    for name in ["From", "To", "Call-ID", "CSeq"] {
        wrong_branch.push(name, invite.header(name).unwrap());
    }
    peer.send_raw(&wrong_branch.to_bytes()).await;
    // And an in-dialog OPTIONS, which gets an answer.
    let mut options = Message::request("OPTIONS", "sip:motp@127.0.0.1");
    options.push("Via", "SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKopt");
    for name in ["From", "To", "Call-ID"] {
        options.push(name, invite.header(name).unwrap());
    }
    options.push("CSeq", "7 OPTIONS");
    peer.send_raw(&options.to_bytes()).await;
    peer.reply(&invite, 180, &[]).await;
    let cancel = peer.recv_method("CANCEL").await;
    peer.reply(&cancel, 200, &[]).await;
    peer.reply(&invite, 487, &[]).await;
    peer.recv_method("ACK").await;
    assert_eq!(call.await.unwrap(), delivered());
}
