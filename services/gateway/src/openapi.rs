//! The OpenAPI 3.1 document (`/openapi.json`) and the docs page (`/docs/`).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::requests::{CreateJobRequest, JobOptionsRequest};
use crate::routes;
use crate::views::{
    ArtifactView, ErrorBody, ErrorView, JobPage, JobSummary, JobView, StageView, TaskView,
    UploadView,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Voxline",
        description = "Localize media: upload a video or audio track, get it dubbed and subtitled in other languages. \
            Every call takes `Authorization: Bearer vx_...`; errors are `{\"error\": {\"code\", \"message\"}}`.",
    ),
    paths(
        routes::uploads::create,
        routes::jobs::create,
        routes::jobs::list,
        routes::jobs::get,
        routes::jobs::cancel,
        routes::jobs::retry,
        routes::events::stream,
        routes::files::download,
        routes::health::healthz,
        routes::health::readyz,
    ),
    components(schemas(
        CreateJobRequest, JobOptionsRequest, UploadView, JobView, TaskView, StageView, ArtifactView,
        JobSummary, JobPage, ErrorBody, ErrorView
    )),
    modifiers(&ApiKeyAuth),
    security(("api_key" = [])),
    tags((name = "media", description = "Uploads and downloads"), (name = "jobs", description = "Dub, subtitle and transcribe jobs"),
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
                    .bearer_format("vx_...")
                    .description(Some("An API key; create one with `voxline keys create`."))
                    .build(),
            ),
        );
    }
}
