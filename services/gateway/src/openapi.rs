//! The OpenAPI 3.1 document (`/openapi.json`) and the docs page (`/docs/`).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::compat::{self, wire};
use crate::requests::{CreateJobRequest, CreateKeyRequest, JobOptionsRequest};
use crate::routes;
use crate::views::{
    ArtifactView, CreatedKeyView, DeliveryList, DeliveryView, ErrorBody, ErrorView, JobPage,
    JobSummary, JobView, KeyList, KeyView, StageView, StoredView, TaskView, UploadView,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Voxline",
        description = "Localize media: upload a video or audio track, get it dubbed and subtitled in other languages. \
            Every call takes `Authorization: Bearer <token>`: an API key (`vx_...`) or a JWT. \
            Errors are `{\"error\": {\"code\", \"message\"}}` under `/v1`; under `/api` (the existing frontend's API) \
            they are `{\"error\": code, \"message\"}`.",
    ),
    paths(
        routes::uploads::create,
        routes::jobs::create,
        routes::jobs::list,
        routes::jobs::get,
        routes::jobs::cancel,
        routes::jobs::retry,
        routes::events::stream,
        routes::deliveries::list,
        routes::files::download,
        routes::files::upload,
        routes::keys::create,
        routes::keys::list,
        routes::keys::revoke,
        compat::handlers::upload_urls,
        compat::handlers::create,
        compat::handlers::status,
        compat::handlers::list,
        compat::handlers::delete,
        compat::handlers::downloads,
        routes::health::healthz,
        routes::health::readyz,
    ),
    components(schemas(
        CreateJobRequest, JobOptionsRequest, UploadView, JobView, TaskView, StageView, ArtifactView,
        JobSummary, JobPage, ErrorBody, ErrorView, CreateKeyRequest, KeyView, CreatedKeyView, KeyList,
        StoredView, DeliveryView, DeliveryList, wire::UploadUrlsRequest, wire::UploadUrlsResponse, wire::UploadUrls,
        wire::CreateJobRequest, wire::CreatedJob, wire::JobStatusView, wire::LanguageStatus,
        wire::JobListItem, wire::DownloadUrls, wire::DownloadItem, wire::FlatError
    )),
    modifiers(&ApiKeyAuth),
    security(("api_key" = [])),
    tags((name = "media", description = "Uploads and downloads"), (name = "jobs", description = "Dub, subtitle and transcribe jobs"),
         (name = "keys", description = "API keys"),
         (name = "frontend", description = "The existing dubbing frontend's API"),
         (name = "operations", description = "Health and readiness")),
)]
pub struct ApiDoc;

struct ApiKeyAuth;

impl Modify for ApiKeyAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("vx_... or JWT")
                    .description(Some("An API key (create one with `voxline keys create` or `POST /v1/keys`), or a JWT."))
                    .build(),
            ),
        );
    }
}
