//! `GET /v1/files?key&name&expires&sig` downloads and `PUT
//! /v1/files?key&expires&sig` uploads through signed, expiring links (the
//! local storage backend's pre-signed URLs). No auth header: the signature
//! is the permission.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use voxline_storage::{LinkPurpose, SignedLink};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    key: String,
    name: String,
    expires: i64,
    sig: String,
}

/// Download through a signed, expiring link from a job view. Needs no auth header.
#[utoipa::path(get, path = "/v1/files", tag = "media", security(()),
    params(LinkQuery, ("Range" = Option<String>, Header, description = "One byte range (`bytes=0-1023`): answered 206 with that part")),
    responses((status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, description = "Tampered with or expired", body = crate::views::ErrorBody),
        (status = 416, description = "The range starts past the end of the file", body = crate::views::ErrorBody)))]
pub async fn download(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LinkQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let key = state.storage.verify_link(
        LinkPurpose::Download,
        &SignedLink {
            key: q.key,
            name: q.name.clone(),
            expires: q.expires,
            sig: q.sig,
        },
    )?;
    crate::ranges::serve(
        &state,
        &req,
        &key,
        crate::ranges::Offer {
            content_type: content_type_of(&q.name),
            download_as: Some(&q.name),
            cache_control: "private, max-age=300",
        },
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadLinkQuery {
    key: String,
    expires: i64,
    sig: String,
}

/// Upload a file through a signed, expiring upload URL (what
/// `POST /api/jobs/upload-urls` hands out). Needs no auth header.
#[utoipa::path(put, path = "/v1/files", tag = "media", params(UploadLinkQuery), security(()),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes"),
    responses((status = 200, description = "Stored", body = crate::views::StoredView),
        (status = 403, description = "Tampered with or expired", body = crate::views::ErrorBody),
        (status = 413, description = "Over the size cap", body = crate::views::ErrorBody)))]
pub async fn upload(
    state: web::Data<AppState>,
    q: web::Query<UploadLinkQuery>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let key = state.storage.verify_link(
        LinkPurpose::Upload,
        &SignedLink {
            key: q.key,
            name: String::new(),
            expires: q.expires,
            sig: q.sig,
        },
    )?;
    let scratch =
        crate::service::uploads::buffer(payload, state.settings.compat.max_track_bytes).await?;
    state.storage.put_file(&key, &scratch.path).await?;
    tracing::info!(bytes = scratch.size, "file stored through an upload link");
    Ok(HttpResponse::Ok().json(crate::views::StoredView {
        size_bytes: scratch.size,
    }))
}

/// The media type of a download, from its name.
pub fn content_type_of(name: &str) -> &'static str {
    match name.rsplit('.').next().unwrap_or("") {
        "mp4" => "video/mp4",
        "m4a" => "audio/mp4",
        "mp3" => "audio/mpeg",
        "wav" => "audio/wav",
        "srt" => "application/x-subrip",
        "vtt" => "text/vtt",
        "m3u8" => "application/vnd.apple.mpegurl",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}
