//! The body of a webhook: `{type, timestamp, data}` as the Standard
//! Webhooks specification suggests. Never the code (the outbox does not
//! even hold it); the phone number masked unless the endpoint opted in.

use serde_json::{json, Value};

use crate::storage::webhooks::DueDelivery;

/// Every event type, for the documentation and the tests.
pub const TYPES: &[&str] = &[
    "verification.created",
    "call.ringing",
    "call.delivered",
    "call.failed",
    "verification.resent",
    "verification.approved",
    "verification.expired",
    "verification.canceled",
];

/// The JSON body of `delivery`'s event. The same bytes on every attempt.
pub fn body(delivery: &DueDelivery) -> Vec<u8> {
    let phone = if delivery.full_number {
        delivery.phone_number.clone()
    } else {
        crate::phone::mask(&delivery.phone_number)
    };
    let mut data = json!({
        "verification_id": delivery.verification_id,
        "app_id": delivery.app_id,
        "status": delivery.status,
        "phone_number": phone,
        "call": delivery.call_seq,
    });
    if let Some(reason) = &delivery.failure_reason {
        data["failure_reason"] = Value::String(reason.clone());
    }
    let event = json!({
        "type": delivery.event_type,
        "timestamp": crate::clock::timestamp(delivery.occurred_at),
        "data": data,
    });
    serde_json::to_vec(&event).expect("a JSON value serialises")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(full_number: bool) -> DueDelivery {
        DueDelivery {
            id: 1,
            attempts: 0,
            retry_until: None,
            msg_id: "msg_1".into(),
            event_type: "call.failed".into(),
            app_id: "app_1".into(),
            verification_id: "vf_1".into(),
            status: "failed".into(),
            failure_reason: Some("busy".into()),
            phone_number: "+447400123456".into(),
            call_seq: 2,
            occurred_at: 1_800_000_000_000,
            endpoint_id: "we_1".into(),
            url: "https://example.com".into(),
            secret: "whsec_AAAA".into(),
            previous_secret: None,
            previous_until: None,
            full_number,
        }
    }

    #[test]
    fn masked_unless_opted_in() {
        let masked: Value = serde_json::from_slice(&body(&delivery(false))).unwrap();
        assert_eq!(masked["type"], "call.failed");
        assert_eq!(masked["timestamp"], "2027-01-15T08:00:00Z");
        assert_eq!(masked["data"]["phone_number"], "+4474******56");
        assert_eq!(masked["data"]["failure_reason"], "busy");
        assert_eq!(masked["data"]["call"], 2);
        let full: Value = serde_json::from_slice(&body(&delivery(true))).unwrap();
        assert_eq!(full["data"]["phone_number"], "+447400123456");
    }
}
