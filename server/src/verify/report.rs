//! `POST /v1/verifications/{id}/report`: what the SDK saw of a verification
//! that ended without an automatic match, kept for the conversion figures.

use motp_core::protocol::ReportRequest;

use super::{load, VerifyError};
use crate::phone;
use crate::state::AppState;
use crate::storage::SdkReport;

/// Stores the SDK's report on verification `id` of `app_id`.
pub async fn report(
    state: &AppState,
    app_id: &str,
    id: &str,
    request: ReportRequest,
) -> Result<(), VerifyError> {
    let row = load(state, app_id, id, 0).await?;
    let observation = request.observation.as_str();
    state
        .store
        .save_report(&SdkReport {
            verification_id: row.id.clone(),
            app_id: row.app_id.clone(),
            observation: observation.to_owned(),
            country: phone::region_of(&row.phone_number),
            call_seq: row.call_seq,
            reported_at: state.now(),
        })
        .await?;
    tracing::info!(verification = %row.id, observation, "sdk report");
    Ok(())
}
