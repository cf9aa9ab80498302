//! `GET /v1/packages/{job}/{expires}/{sig}/{file}`: a job's streaming
//! package (HLS playlists and renditions, subtitles, the all-languages MP4)
//! under one signed folder, as the job view links it. No auth header: the
//! signature is the permission, so players fetch it as they fetch any URL.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;
use crate::ranges::{self, Offer};
use crate::service::package::{self, Entry};
use crate::state::AppState;

/// Playlists change while languages finish; media files, once written, only
/// by a re-render (which is a new link's worth of time away).
const PLAYLIST_CACHE: &str = "no-cache";
const MEDIA_CACHE: &str = "private, max-age=300";

/// A file of a job's streaming package: `master.m3u8` (HLS: the video once,
/// an audio rendition per language with the original as the default, a
/// subtitle rendition per language), `manifest.mpd` (the same for DASH
/// players), the renditions they name, and `all.mp4`
/// (the video with every language's audio and subtitles, streams copied).
/// Media files answer `Range` requests.
#[utoipa::path(get, path = "/v1/packages/{job}/{expires}/{sig}/{file}", tag = "media", security(()),
    params(
        ("job" = String, Path, description = "Job id"),
        ("expires" = i64, Path, description = "When the link expires (Unix seconds)"),
        ("sig" = String, Path, description = "The link's signature"),
        ("file" = String, Path, description = "`master.m3u8`, `manifest.mpd`, `all.mp4`, or a path a playlist names (`audio/es.m3u8`, `subtitles/es.vtt`, ...)"),
        ("Range" = Option<String>, Header, description = "One byte range, for media files")),
    responses(
        (status = 200, description = "The file", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "The range asked for", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "`expires` is not a number", body = crate::views::ErrorBody),
        (status = 403, description = "Tampered with or expired", body = crate::views::ErrorBody),
        (status = 404, description = "No such file in the package (a language not rendered yet)", body = crate::views::ErrorBody),
        (status = 409, description = "The source is not packaged yet, or could not be", body = crate::views::ErrorBody),
        (status = 416, description = "The range starts past the end of the file", body = crate::views::ErrorBody)))]
pub async fn serve(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, i64, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (job, expires, sig, file) = path.into_inner();
    let package = package::open(&state, &job, expires, &sig).await?;
    let entry = match file.as_str() {
        "master.m3u8" => Entry::Text {
            body: package.master(&state).await?,
            content_type: package::PLAYLIST,
        },
        "manifest.mpd" => Entry::Text {
            body: package.dash(&state).await?,
            content_type: "application/dash+xml",
        },
        "all.mp4" => {
            let key = package.all_languages_mp4(&state).await?;
            let name = format!("{job}.mp4");
            return ranges::serve(
                &state,
                &req,
                &key,
                Offer {
                    content_type: "video/mp4",
                    download_as: Some(&name),
                    cache_control: MEDIA_CACHE,
                },
            )
            .await;
        }
        other => package.entry(other)?,
    };
    match entry {
        Entry::Text { body, content_type } => Ok(HttpResponse::Ok()
            .content_type(content_type)
            .insert_header((header::CACHE_CONTROL, PLAYLIST_CACHE))
            .body(body)),
        Entry::Object { key, content_type } => {
            let cache_control = if content_type == package::PLAYLIST {
                PLAYLIST_CACHE
            } else {
                MEDIA_CACHE
            };
            ranges::serve(
                &state,
                &req,
                &key,
                Offer {
                    content_type,
                    download_as: None,
                    cache_control,
                },
            )
            .await
        }
    }
}
