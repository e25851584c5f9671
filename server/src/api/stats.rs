//! `GET /v1/stats` (secret key): the app's own conversion figures.

use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::Json;
use motp_core::protocol::Problem;

use super::extract::SecretKey;
use super::problem::ApiError;
use crate::clock::timestamp;
use crate::state::AppState;
use crate::stats::{window, StatsReport, Tally};

#[utoipa::path(
    get, path = "/v1/stats", tag = "operations",
    params(
        ("from" = Option<String>, Query, description = "Start of the window (inclusive), RFC 3339 UTC; not with `window`"),
        ("to" = Option<String>, Query, description = "End of the window (exclusive), RFC 3339 UTC; default now"),
        ("window" = Option<u64>, Query, description = "Seconds back from `to` (1 to 2678400, 31 days); default 86400"),
    ),
    responses(
        (status = 200, body = StatsReport, description = "The figures of the verifications created in the window, by destination country and trunk"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "Bad window"),
        (status = 401, body = Problem, content_type = "application/problem+json", description = "Not a secret key"),
        (status = 429, body = Problem, content_type = "application/problem+json", description = "Rate limited (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "The database does not answer; retry (Retry-After)", headers(("Retry-After" = u64, description = "Whole seconds, rounded up"))),
    ),
    security(("bearer" = []))
)]
pub async fn stats(
    State(state): State<Arc<AppState>>,
    SecretKey(key): SecretKey,
    uri: Uri,
) -> Result<Response, ApiError> {
    let query = uri.query().unwrap_or("");
    let params: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    let window = window::parse(
        params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
        state.now(),
    )
    .map_err(ApiError::invalid_request)?;
    let mut tally = Tally::new(|number| state.test_numbers.lookup(number).is_some());
    // Its own deadline, longer than a request's: a window is many rows.
    crate::storage::within(
        crate::storage::stats::DEADLINE,
        state
            .store
            .stats_rows(&key.app_id, window.from, window.to, |row| tally.add(row)),
    )
    .await?;
    let report = tally.finish(
        timestamp(window.from).to_string(),
        timestamp(window.to).to_string(),
    );
    Ok(Json(report).into_response())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use utoipa::OpenApi;

    use crate::api::{openapi, Paths};
    use crate::stats::Tally;
    use crate::storage::StatsRow;

    /// Every property of `value`, also those of its `allOf` parts.
    fn properties(doc: &serde_json::Value, schema: &serde_json::Value) -> BTreeSet<String> {
        if let Some(reference) = schema["$ref"].as_str() {
            let name = reference.rsplit('/').next().unwrap();
            return properties(doc, &doc["components"]["schemas"][name]);
        }
        let mut keys: BTreeSet<String> = schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default();
        for part in schema["allOf"].as_array().into_iter().flatten() {
            keys.extend(properties(doc, part));
        }
        keys
    }

    fn keys(value: &serde_json::Value) -> BTreeSet<String> {
        value.as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn the_documented_shape_is_the_answer() {
        let doc = serde_json::to_value(openapi::document(Paths::openapi())).unwrap();
        let mut tally = Tally::new(|_| false);
        tally.add(StatsRow {
            app_id: "app_1".into(),
            phone_number: "+447400123456".into(),
            status: "approved".into(),
            failure_reason: None,
            delivered: true,
            created_at: 0,
            verified_at: Some(1),
            trunk: "default".into(),
            observation: None,
        });
        let answer = serde_json::to_value(tally.finish("a".into(), "b".into())).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(properties(&doc, &schemas["StatsReport"]), keys(&answer));
        assert_eq!(
            properties(&doc, &schemas["Figures"]),
            keys(&answer["total"])
        );
        assert_eq!(
            properties(&doc, &schemas["Group"]),
            keys(&answer["groups"][0])
        );
    }
}
