//! Receiving media: streamed to a scratch file under the size cap, probed
//! with ffprobe, then stored. Nothing is held in memory whole.

use std::path::{Path, PathBuf};

use actix_web::web;
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use voxline_core::UploadId;
use voxline_db::uploads::{self, Upload};
use voxline_media::MediaError;
use voxline_media::integrity;
use voxline_media::probe::{MediaInfo, probe};
use voxline_storage::keys;

use crate::auth::Caller;
use crate::error::{ApiError, Code};
use crate::state::AppState;

/// Largest picture side accepted (8K is 7680): larger is a mistake or an attack on the renderer.
const MAX_SIDE: u32 = 8192;

/// A request body saved to a scratch file, deleted when this is dropped.
pub struct Scratch {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub size: u64,
}

/// Streams a request body to a scratch file, refusing it past `max_bytes`.
pub async fn buffer(mut payload: web::Payload, max_bytes: u64) -> Result<Scratch, ApiError> {
    let dir = scratch_dir()?;
    let path = dir.path().join("media");
    let mut file = tokio::fs::File::create(&path)
        .await
        .map_err(|e| ApiError::internal("no scratch space for the upload", e))?;
    let mut size: u64 = 0;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::new(
                Code::UploadInterrupted,
                format!("the upload stopped before its end: {e}"),
            )
        })?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(too_large(max_bytes));
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal("could not buffer the upload", e))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::internal("could not buffer the upload", e))?;
    if size == 0 {
        return Err(ApiError::new(
            Code::EmptyUpload,
            "the request body is empty; send the media file's bytes as the body",
        ));
    }
    Ok(Scratch {
        _dir: dir,
        path,
        size,
    })
}

fn scratch_dir() -> Result<tempfile::TempDir, ApiError> {
    tempfile::Builder::new()
        .prefix("voxline-upload-")
        .tempdir()
        .map_err(|e| ApiError::internal("no scratch space for the upload", e))
}

fn too_large(max_bytes: u64) -> ApiError {
    ApiError::new(
        Code::UploadTooLarge,
        format!("uploads are limited to {max_bytes} bytes"),
    )
}

/// Probes media with ffprobe and checks it is something Voxline can work
/// on: sound or a picture present, a sane picture size, within the duration cap, and
/// whole: every stream read to the end its header claims, the audio decoded.
pub async fn inspect(state: &AppState, path: &Path) -> Result<MediaInfo, ApiError> {
    // Reading media takes about a core: a burst is read a few at a time,
    // first come first served, rather than all at once and all late.
    let _turn = state
        .media_checks
        .acquire()
        .await
        .map_err(|e| ApiError::internal("the media checks have stopped", e))?;
    let info = probe(path).await.map_err(|e| match e {
        MediaError::NotMedia(reason) => ApiError::new(
            Code::UnsupportedMedia,
            format!("this file is not audio or video Voxline can read ({reason})"),
        ),
        e => ApiError::internal("could not probe the upload", e),
    })?;
    // A picture without sound is taken: a voiceover can be spoken over it
    // (any other job on it is refused when it is asked for).
    if !info.has_audio() && !info.has_video() {
        return Err(ApiError::new(
            Code::NoAudio,
            "the media has no audio track to transcribe or dub",
        ));
    }
    if let Some(v) = info
        .streams
        .iter()
        .find(|v| v.width.unwrap_or(0) > MAX_SIDE || v.height.unwrap_or(0) > MAX_SIDE)
    {
        return Err(ApiError::new(
            Code::UnsupportedMedia,
            format!(
                "the picture is {}×{} pixels; video up to {MAX_SIDE} pixels a side is accepted",
                v.width.unwrap_or(0),
                v.height.unwrap_or(0)
            ),
        ));
    }
    too_long(state, info.duration)?;
    // The header's word is not enough: read the file through.
    let verdict = integrity::check(path, &info).await.map_err(|e| match e {
        MediaError::Truncated { .. } => ApiError::new(
            Code::TruncatedMedia,
            format!(
                "this file looks cut short: {e}. An upload or copy that did not finish \
                 leaves such a file; send the whole file"
            ),
        ),
        MediaError::Undecodable(_) => ApiError::new(
            Code::UndecodableMedia,
            format!("this file is damaged: {e}. Export or copy it again and upload that"),
        ),
        e => ApiError::internal("could not read the upload through", e),
    })?;
    too_long(state, verdict.duration)?;
    Ok(MediaInfo {
        duration: verdict.duration,
        ..info
    })
}

fn too_long(state: &AppState, seconds: f64) -> Result<(), ApiError> {
    let max_seconds = state.settings.server.max_media_seconds;
    if seconds > max_seconds {
        return Err(ApiError::new(
            Code::MediaTooLong,
            format!("the media lasts {seconds:.0} s; the limit is {max_seconds:.0} s"),
        ));
    }
    Ok(())
}

/// Receives an upload sent through the API: buffered, inspected, stored.
pub async fn receive(
    state: &AppState,
    caller: Caller,
    file_name: Option<&str>,
    content_type: Option<&str>,
    payload: web::Payload,
) -> Result<Upload, ApiError> {
    // A name that was not UTF-8 arrives with replacement characters in it.
    if file_name.is_some_and(|n| n.contains('\u{FFFD}')) {
        return Err(ApiError::new(
            Code::InvalidFileName,
            "the file name is not valid UTF-8; rename the file and upload it again",
        ));
    }
    let scratch = buffer(payload, state.settings.server.max_upload_bytes).await?;
    let info = inspect(state, &scratch.path).await?;
    let id = UploadId::new();
    let upload = new_upload(
        caller,
        id,
        keys::upload(caller.tenant, id),
        file_name,
        content_type,
        scratch.size,
        &info,
    );
    state
        .storage
        .put_file(&upload.object_key, &scratch.path)
        .await?;
    uploads::insert(&state.db, &upload).await?;
    tracing::info!(upload_id = %id, bytes = scratch.size, duration = info.duration, "upload stored");
    Ok(upload)
}

/// Records a file a client put straight into storage (through an upload
/// URL, at [`keys::incoming`]) as an upload, once it is checked like any
/// other. What was checked is what is kept: the probed copy is stored at
/// the upload's own key, which no link can write, and the incoming object
/// is deleted. Safe to repeat, and to race with itself.
pub async fn register_stored(
    state: &AppState,
    caller: Caller,
    id: UploadId,
    file_name: &str,
    max_bytes: u64,
) -> Result<Upload, ApiError> {
    if let Ok(done) = uploads::get(&state.db, caller.tenant, id).await {
        return Ok(done);
    }
    let incoming = keys::incoming(caller.tenant, id);
    let size = state.storage.size(&incoming).await?;
    if size > max_bytes {
        return Err(too_large(max_bytes));
    }
    let dir = scratch_dir()?;
    let path = dir.path().join("media");
    state.storage.get_to_file(&incoming, &path).await?;
    let info = inspect(state, &path).await?;
    let content_type = content_type_of_media(&info);
    let upload = new_upload(
        caller,
        id,
        keys::upload(caller.tenant, id),
        Some(file_name),
        Some(content_type),
        size,
        &info,
    );
    state.storage.put_file(&upload.object_key, &path).await?;
    uploads::insert(&state.db, &upload).await?;
    state.storage.delete(&incoming).await?;
    tracing::info!(upload_id = %id, bytes = size, duration = info.duration, "stored upload registered");
    Ok(uploads::get(&state.db, caller.tenant, id).await?)
}

/// The media type of a file put straight into storage, from what ffprobe
/// found (the client's own header never reached Voxline).
fn content_type_of_media(info: &MediaInfo) -> &'static str {
    let format = info.format_name.as_str();
    match (info.has_video(), format) {
        (true, f) if f.contains("webm") || f.contains("matroska") => "video/webm",
        (true, _) => "video/mp4",
        (false, "wav") => "audio/wav",
        (false, "mp3") => "audio/mpeg",
        (false, "flac") => "audio/flac",
        (false, "ogg") => "audio/ogg",
        (false, f) if f.contains("mp4") => "audio/mp4",
        (false, _) => "application/octet-stream",
    }
}

fn new_upload(
    caller: Caller,
    id: UploadId,
    object_key: String,
    file_name: Option<&str>,
    content_type: Option<&str>,
    size: u64,
    info: &MediaInfo,
) -> Upload {
    Upload {
        id,
        tenant_id: caller.tenant,
        object_key,
        file_name: clean_file_name(file_name.unwrap_or("upload")),
        content_type: content_type
            .unwrap_or("application/octet-stream")
            .chars()
            .take(100)
            .collect(),
        size_bytes: size as i64,
        duration: info.duration,
        media: serde_json::to_value(info).unwrap_or_default(),
        created_at: chrono::Utc::now(),
    }
}

/// A file name safe to show and to offer back in downloads: its last path
/// component, printable characters only, at most 120 of them.
pub fn clean_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last
        .chars()
        .filter(|c| !c.is_control() && *c != '"')
        .take(120)
        .collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() {
        "upload".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::clean_file_name;

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_file_name("C:\\clips\\talk.mp4"), "talk.mp4");
        assert_eq!(clean_file_name("a\u{0}b\n.mp4"), "ab.mp4");
        assert_eq!(clean_file_name(".."), "upload");
    }
}
