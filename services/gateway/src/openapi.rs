//! The OpenAPI 3.1 document (`/openapi.json`) and the docs page (`/docs/`).

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::compat::{self, wire};
use crate::requests::{
    CloneVoicesRequest, CreateJobRequest, CreateKeyRequest, EditSegmentsRequest, GlossaryRequest,
    GlossaryTermRequest, GrantRequest, JobOptionsRequest, SegmentEditRequest,
};
use crate::routes;
use crate::views::admin::{
    ActiveJobView, FailedTaskView, HourView, JobsOverview, OverviewView, QueueView,
    StatusCountsView, TenantUsageView,
};
use crate::views::{
    ArtifactView, CreatedKeyView, CreditEntryView, CreditsView, DeliveryList, DeliveryView,
    ErrorBody, ErrorView, GlossaryView, JobPage, JobSummary, JobView, KeyList, KeyView,
    LanguageVoicesView, PackageView, SegmentView, SegmentsView, StageView, StoredView, TaskView,
    UploadView, UsagePage, UsageTotalView, UsageView, VoiceView, VoicesView,
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
        routes::segments::list,
        routes::segments::edit,
        routes::voices::list,
        routes::glossary::show,
        routes::glossary::replace,
        routes::files::download,
        routes::files::upload,
        routes::package::serve,
        routes::keys::create,
        routes::keys::list,
        routes::keys::revoke,
        routes::credits::show,
        routes::credits::usage,
        routes::credits::grant,
        routes::admin::overview,
        routes::admin::retry,
        routes::admin::cancel,
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
        CreateJobRequest, JobOptionsRequest, CloneVoicesRequest, GlossaryTermRequest, GlossaryRequest, GlossaryView, UploadView, JobView, PackageView, TaskView, StageView, ArtifactView,
        JobSummary, JobPage, ErrorBody, ErrorView, CreateKeyRequest, KeyView, CreatedKeyView, KeyList,
        StoredView, DeliveryView, DeliveryList, CreditsView, CreditEntryView, UsageView, UsagePage,
        UsageTotalView, GrantRequest, EditSegmentsRequest, SegmentEditRequest, SegmentsView, SegmentView, wire::UploadUrlsRequest, wire::UploadUrlsResponse, wire::UploadUrls,
        wire::SubmitJobRequest, wire::CreatedJob, wire::JobStatusView, wire::LanguageStatus,
        wire::JobListItem, wire::DownloadUrls, wire::DownloadItem, wire::FlatError,
        OverviewView, QueueView, JobsOverview, StatusCountsView, HourView, ActiveJobView,
        FailedTaskView, TenantUsageView, VoicesView, LanguageVoicesView, VoiceView
    )),
    modifiers(&ApiKeyAuth, &CommonErrors),
    security(("api_key" = [])),
    tags((name = "media", description = "Uploads and downloads"), (name = "jobs", description = "Dub, subtitle and transcribe jobs"),
         (name = "keys", description = "API keys"),
         (name = "account", description = "Credits and usage"),
         (name = "admin", description = "The operator's view across tenants (the admin token; `/admin` is its dashboard page)"),
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

/// The error answers any operation can give, so each path lists only its
/// own: a malformed request (400), a missing or bad token (401, where a
/// token is needed), an oversized or non-JSON body (413, 415, where there is
/// a body), the rate limit (429) and an outage (503). Under `/api` they come
/// in the frontend's flat shape.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let schema = if path.starts_with("/api/") {
                "FlatError"
            } else {
                "ErrorBody"
            };
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
            ];
            for op in operations.into_iter().flatten() {
                let public = op
                    .security
                    .as_ref()
                    .is_some_and(|s| s.iter().any(|r| *r == SecurityRequirement::default()));
                let mut common = vec![
                    ("400", "A malformed query string, path or body"),
                    ("429", "Rate limited; `Retry-After` says when to come back"),
                    ("503", "A dependency is down; retry shortly"),
                ];
                if !public {
                    common.push(("401", "No bearer token, or one that does not verify"));
                }
                if op.request_body.is_some() {
                    common.push(("413", "The body is over its size cap"));
                    common.push(("415", "The body is not of the documented content type"));
                }
                for (status, why) in common {
                    op.responses
                        .responses
                        .entry(status.into())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(why)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name(schema)))
                                        .build(),
                                )
                                .build()
                                .into()
                        });
                }
            }
        }
    }
}
