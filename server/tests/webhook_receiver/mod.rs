//! A real webhook receiver for the tests: axum on 127.0.0.1, recording
//! every request (headers and body), answering 500 to the first
//! `fail_first` attempts of each `webhook-id` (or to all of them while
//! `down`), optionally holding each request for `hold` first, and counting
//! how many requests it holds at once.
//!
//! Signatures are checked here by a second, independent implementation of
//! the Standard Webhooks rule (written from the specification, sharing no
//! code with the server's `webhooks::sign`), and, when a Python with the
//! `standardwebhooks` package is named by `MOTP_TEST_STANDARDWEBHOOKS_PYTHON`,
//! by the specification's own reference library too.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub body: String,
    pub answered: u16,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

#[derive(Default)]
pub struct Inner {
    pub received: Mutex<Vec<Received>>,
    attempts: Mutex<HashMap<String, usize>>,
    pub fail_first: AtomicUsize,
    pub down: AtomicBool,
    pub hold_ms: AtomicUsize,
    pub holding: AtomicUsize,
    pub most_held: AtomicUsize,
}

#[derive(Clone)]
pub struct Receiver {
    pub inner: Arc<Inner>,
    pub addr: SocketAddr,
}

async fn hook(State(inner): State<Arc<Inner>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let held = inner.holding.fetch_add(1, Ordering::SeqCst) + 1;
    inner.most_held.fetch_max(held, Ordering::SeqCst);
    let hold = inner.hold_ms.load(Ordering::SeqCst);
    if hold > 0 {
        tokio::time::sleep(Duration::from_millis(hold as u64)).await;
    }
    inner.holding.fetch_sub(1, Ordering::SeqCst);
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let id = header("webhook-id");
    let attempt = {
        let mut attempts = inner.attempts.lock().unwrap();
        let n = attempts.entry(id.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let fail =
        inner.down.load(Ordering::SeqCst) || attempt <= inner.fail_first.load(Ordering::SeqCst);
    let answered = if fail { 500 } else { 204 };
    inner.received.lock().unwrap().push(Received {
        id,
        timestamp: header("webhook-timestamp"),
        signature: header("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

impl Receiver {
    pub async fn start() -> Self {
        Self::start_on("127.0.0.1:0").await
    }

    pub async fn start_on(addr: &str) -> Self {
        let inner = Arc::new(Inner::default());
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(Arc::clone(&inner));
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { inner, addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn all(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Successful deliveries, one per webhook id.
    pub fn delivered(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| r.answered < 300)
            .collect()
    }

    pub fn delivered_types(&self) -> Vec<String> {
        self.delivered()
            .iter()
            .map(|r| r.json()["type"].as_str().unwrap().to_string())
            .collect()
    }

    /// Waits (bounded, 30 s) until an event of each type was delivered.
    pub async fn wait_for(&self, types: &[&str]) -> Vec<Received> {
        for _ in 0..3000 {
            let got = self.delivered_types();
            if types.iter().all(|t| got.iter().any(|g| g == t)) {
                return self.delivered();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "never delivered all of {types:?}; got {:?}",
            self.delivered_types()
        );
    }
}

/// The Standard Webhooks check, from the specification: the signed content
/// is `{id}.{timestamp}.{body}`, the key is the base64 after `whsec_`, the
/// header holds space-separated `v1,<base64 HMAC-SHA256>`; any one match
/// passes.
pub fn signature_valid(secret: &str, r: &Received) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap())
        .unwrap();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", r.id, r.timestamp, r.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    r.signature.split(' ').any(|s| s == expected)
}

/// The reference library's verdict on each received request, when
/// `MOTP_TEST_STANDARDWEBHOOKS_PYTHON` names a Python that has it. `None`:
/// not configured (the test says so).
pub fn python_verifies(secret: &str, received: &[Received]) -> Option<Vec<bool>> {
    let python = std::env::var("MOTP_TEST_STANDARDWEBHOOKS_PYTHON").ok()?;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/webhooks/verify.py");
    let input: Vec<Value> = received
        .iter()
        .map(|r| {
            serde_json::json!({
                "secret": secret,
                "headers": {"webhook-id": r.id, "webhook-timestamp": r.timestamp,
                            "webhook-signature": r.signature},
                "body": r.body,
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("received.json");
    std::fs::write(&path, serde_json::to_vec(&input).unwrap()).unwrap();
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdicts: Vec<bool> = serde_json::from_slice(&out.stdout).unwrap();
    Some(verdicts)
}
