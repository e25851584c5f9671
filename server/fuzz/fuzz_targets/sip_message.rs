//! The SIP parser and header helpers are total over arbitrary datagrams,
//! and what the builder writes parses back to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use motp_server::telephony::sip::digest::{auth_params, Challenge};
use motp_server::telephony::sip::message::{
    param, parse_cseq, split_list, uri_user, Message, NameAddr,
};

fn poke_value(value: &str, body: &[u8]) {
    for part in split_list(value) {
        if let Some(address) = NameAddr::parse(part) {
            let _ = address.user();
        }
        let _ = param(part, "tag");
        let _ = param(part, "branch");
    }
    let _ = parse_cseq(value);
    let _ = uri_user(value);
    let _ = auth_params(value);
    if let Some(challenge) = Challenge::parse(value) {
        let _ = challenge.answer("user", "secret", "INVITE", "sip:+1@x", body, "cnonce");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::parse(data) {
        let bytes = message.to_bytes();
        let again = Message::parse(&bytes).expect("the builder's output parses");
        assert_eq!(again, message, "round trip changed the message");
        for (_, value) in message.headers() {
            poke_value(value, &message.body);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        poke_value(text, data);
    }
});
