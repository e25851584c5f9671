//! The app's backend, as the demo plays it: it receives the token from the
//! app and asks the server, with the app's secret key, whether the token is
//! live, because a backend must never take the app's word for a
//! verification.

use std::time::Duration;

use super::deadline::{within, Failure, STEP_TIMEOUT};

/// What the app's backend holds: the server's address and the secret key.
pub struct AppBackend {
    http: reqwest::Client,
    server_url: String,
    secret_key: String,
}

impl AppBackend {
    /// A backend of the app whose secret key is `secret_key`.
    pub fn new(server_url: String, secret_key: String) -> Result<Self, Failure> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("cannot create an HTTP client: {e}"))?;
        Ok(Self {
            http,
            server_url,
            secret_key,
        })
    }

    /// The server's introspection answer for `token`; a failure unless the
    /// token is active.
    pub async fn introspect(&self, token: &str) -> Result<serde_json::Value, Failure> {
        let request = self
            .http
            .post(format!("{}/v1/tokens/introspect", self.server_url))
            .bearer_auth(&self.secret_key)
            .json(&serde_json::json!({ "token": token }))
            .send();
        let response = within(STEP_TIMEOUT, "token introspection", request)
            .await?
            .map_err(|e| format!("token introspection failed: {e}"))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("token introspection answered HTTP {status}"));
        }
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("token introspection answered junk: {e}"))?;
        if body["active"] != serde_json::Value::Bool(true) {
            return Err("the server says the token is not active".into());
        }
        Ok(body)
    }
}
