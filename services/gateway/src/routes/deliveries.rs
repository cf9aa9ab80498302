use actix_web::{HttpResponse, web};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::job_id;
use crate::service;
use crate::state::AppState;
use crate::views::{DeliveryList, ErrorBody};

/// Every attempt to deliver the job's webhooks, oldest first, failures
/// with their error: why an endpoint did or did not hear from Voxline.
#[utoipa::path(get, path = "/v1/jobs/{id}/deliveries", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, body = DeliveryList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let deliveries = service::jobs::deliveries(&state, caller, job_id(&id)?).await?;
    Ok(HttpResponse::Ok().json(DeliveryList { deliveries }))
}
