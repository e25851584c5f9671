//! Test harness: an in-process server on 127.0.0.1 with a manual clock, a
//! scripted telephony provider and a call recorder, on SQLite (a temp file)
//! or PostgreSQL (a fresh schema in `MOTP_TEST_DATABASE_URL_PG`).

#![allow(dead_code)]

pub mod pg_cluster;
pub mod process;

use std::sync::Arc;
use std::time::Duration;

use motp_server::cli::keys::create_app_keys;
use motp_server::clock::ManualClock;
use motp_server::config::{CallerRange, Config};
use motp_server::server::{start, Overrides, RunningServer};
use motp_server::telephony::record::{CallRecorder, ScriptedTelephony};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// 2027-01-15T08:00:00Z, a whole second.
pub const START_MS: i64 = 1_800_000_000_000;
/// A caller range of 10^4 codes.
pub const PREFIX: &str = "+4420794";
pub const CODE_LENGTH: u8 = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Harness {
    pub server: RunningServer,
    pub clock: Arc<ManualClock>,
    pub recorder: Arc<CallRecorder>,
    pub telephony: Arc<ScriptedTelephony>,
    pub http: reqwest::Client,
    pub pk: String,
    pub sk: String,
    pub app_id: String,
    _dir: tempfile::TempDir,
}

/// A response: status, headers of interest, JSON body (Null if none).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Answer {
    /// Asserts a problem+json answer with `status` and `slug`; returns the body.
    #[track_caller]
    pub fn problem(&self, status: u16, slug: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{:?}",
            self.body
        );
        assert_eq!(
            self.body["type"],
            format!("https://motp.dev/problems/{slug}"),
            "{:?}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        &self.body
    }
}

pub fn base_config() -> Config {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.codes.ranges = vec![CallerRange {
        prefix: PREFIX.into(),
        code_length: CODE_LENGTH,
    }];
    config.limits.per_ip_per_minute = 100_000;
    config.limits.per_ip_burst = 10_000;
    config.limits.per_app_per_minute = 100_000;
    config.limits.per_app_burst = 10_000;
    config.limits.allowed_countries = vec!["GB".into(), "US".into()];
    config
}

/// Starts a server on `backend` with `tweak` applied to the test config.
/// `None` (after printing why) when PostgreSQL is not configured.
pub async fn harness(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Harness> {
    let dir = tempfile::tempdir().unwrap();
    let mut config = base_config();
    match backend {
        Backend::Sqlite => {
            config.database.url = format!("sqlite://{}", dir.path().join("motp.db").display());
        }
        Backend::Postgres => {
            let Ok(url) = std::env::var("MOTP_TEST_DATABASE_URL_PG") else {
                println!("skipped: MOTP_TEST_DATABASE_URL_PG is not set (scripts/test.d/20-postgres.sh sets it)");
                return None;
            };
            config.database.url = fresh_pg_schema(&url).await;
        }
    }
    tweak(&mut config);
    let clock = Arc::new(ManualClock::new(START_MS));
    let recorder = Arc::new(CallRecorder::new());
    let telephony = Arc::new(ScriptedTelephony::new());
    let server = start(
        config,
        Overrides {
            clock: Some(clock.clone()),
            telephony: Some(telephony.clone()),
            recorder: Some(recorder.clone()),
        },
    )
    .await
    .expect("server starts");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    assert_eq!(server.state.store.backend(), expected);
    let keys = create_app_keys(&server.state.store, "test-app")
        .await
        .unwrap();
    Some(Harness {
        server,
        clock,
        recorder,
        telephony,
        http: reqwest::Client::new(),
        pk: keys.publishable_key,
        sk: keys.secret_key,
        app_id: keys.app_id,
        _dir: dir,
    })
}

/// A new schema in the test cluster; the URL selects it by `search_path`.
pub async fn fresh_pg_schema(url: &str) -> String {
    use sqlx::Connection;
    let schema = format!(
        "t_{}",
        motp_server::keys::new_id("")
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
    );
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

impl Harness {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.url(), path)
    }

    /// A request with `key` (None: no Authorization) and an optional JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.http.request(method, self.url(path));
        if let Some(key) = key {
            req = req.bearer_auth(key);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        answer(req.send().await.unwrap()).await
    }

    pub async fn raw(&self, req: reqwest::RequestBuilder) -> Answer {
        answer(req.send().await.unwrap()).await
    }

    pub async fn create(&self, phone: &str) -> Answer {
        self.call(
            Method::POST,
            "/v1/verifications",
            Some(&self.pk),
            Some(serde_json::json!({ "phone_number": phone })),
        )
        .await
    }

    /// Creates a verification (201 asserted) and returns (id, code).
    pub async fn create_ok(&self, phone: &str) -> (String, String) {
        let a = self.create(phone).await;
        assert_eq!(a.status, StatusCode::CREATED, "{:?}", a.body);
        let id = a.body["id"].as_str().unwrap().to_string();
        (id.clone(), self.code_of(&id))
    }

    /// The code of the last call placed for `id`, from the recorder.
    pub fn code_of(&self, id: &str) -> String {
        let call = self.recorder.last_for(id).expect("a call was recorded");
        call.caller
            .strip_prefix(PREFIX)
            .expect("caller starts with the prefix")
            .to_string()
    }

    pub fn caller_of(&self, id: &str) -> String {
        self.recorder.last_for(id).unwrap().caller
    }

    pub async fn check_code(&self, id: &str, code: &str) -> Answer {
        self.call(
            Method::POST,
            &format!("/v1/verifications/{id}/check"),
            Some(&self.pk),
            Some(serde_json::json!({ "code": code })),
        )
        .await
    }

    pub async fn get(&self, id: &str) -> Answer {
        self.call(
            Method::GET,
            &format!("/v1/verifications/{id}"),
            Some(&self.pk),
            None,
        )
        .await
    }

    pub async fn resend(&self, id: &str) -> Answer {
        self.call(
            Method::POST,
            &format!("/v1/verifications/{id}/resend"),
            Some(&self.pk),
            None,
        )
        .await
    }

    pub async fn introspect(&self, key: &str, token: &str) -> Answer {
        self.call(
            Method::POST,
            "/v1/tokens/introspect",
            Some(key),
            Some(serde_json::json!({ "token": token })),
        )
        .await
    }

    /// Waits (bounded) until GET shows `status`; the call runs in a task.
    pub async fn wait_status(&self, id: &str, status: &str) -> Value {
        for _ in 0..200 {
            let a = self.get(id).await;
            if a.body["status"] == status {
                return a.body;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{id} never reached {status}: {:?}", self.get(id).await.body);
    }

    /// Another app's key pair.
    pub async fn other_app(&self, name: &str) -> (String, String) {
        let keys = create_app_keys(&self.server.state.store, name)
            .await
            .unwrap();
        (keys.publishable_key, keys.secret_key)
    }

    pub fn clock_ms(&self) -> i64 {
        use motp_server::clock::Clock;
        self.clock.now_ms()
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// A code of the range other than `code`.
pub fn wrong(code: &str, n: u32) -> String {
    let value: u32 = code.parse().unwrap();
    format!("{:04}", (value + 1 + n) % 10_000)
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type");
    let retry_after = header("retry-after");
    let bytes = response.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into()))
    };
    Answer {
        status,
        content_type,
        retry_after,
        body,
    }
}

/// Declares each scenario once per backend: `sqlite_<name>` and
/// `postgres_<name>` (the latter skips without the PostgreSQL env var).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::common::Backend::Postgres).await;
                }
            )*
        }
    };
}
