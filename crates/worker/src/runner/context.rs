//! What a stage works with while it runs.

use std::path::{Path, PathBuf};

use voxline_core::{Stage, UploadId};
use voxline_db::artifacts::NewArtifact;
use voxline_db::jobs::Job;
use voxline_db::runs::Claimed;
use voxline_db::{Db, uploads};
use voxline_providers::CallLog;
use voxline_storage::{Storage, keys};

use crate::StageError;

/// What a stage works with: the claimed run, the database and storage, and
/// a private scratch folder (made when first asked for) that is removed when
/// the stage ends.
pub struct StageContext {
    pub claimed: Claimed,
    pub db: Db,
    pub storage: Storage,
    /// Every engine call of this run: pass it to the engine chains; the
    /// runner writes it as usage, whether the stage commits or fails.
    pub calls: CallLog,
    /// When the run became ready (the previous stage's commit), if the
    /// delivery said.
    pub ready_at: Option<chrono::DateTime<chrono::Utc>>,
    workdir: std::sync::OnceLock<Result<tempfile::TempDir, String>>,
}

impl StageContext {
    pub(crate) fn new(
        claimed: Claimed,
        db: Db,
        storage: Storage,
        calls: CallLog,
        ready_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        Self {
            claimed,
            db,
            storage,
            calls,
            ready_at,
            workdir: std::sync::OnceLock::new(),
        }
    }

    pub fn job(&self) -> &Job {
        &self.claimed.job
    }

    /// The language this run serves (the source language for transcription).
    pub fn language(&self) -> &str {
        &self.claimed.language
    }

    pub fn stage(&self) -> Stage {
        self.claimed.stage
    }

    /// A path inside the scratch folder. A stage that never asks has none
    /// made (a folder made and removed per stage costs the file system more
    /// than a no-op stage costs anything else).
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.workdir.get_or_init(|| {
            tempfile::Builder::new()
                .prefix("voxline-stage-")
                .tempdir()
                .map_err(|e| e.to_string())
        });
        match dir {
            Ok(dir) => dir.path().join(name),
            Err(e) => {
                // Writing there fails with the file system's own error.
                tracing::error!(error = %e, "no scratch folder for the stage");
                std::env::temp_dir()
                    .join("voxline-no-scratch-folder")
                    .join(name)
            }
        }
    }

    /// Reports progress within the stage (0.0–1.0) with a message for people.
    /// Progress is informational: a failure to record it is only logged.
    pub async fn progress(&self, fraction: f64, message: &str) {
        if let Err(e) = voxline_db::runs::progress(&self.db, &self.claimed, fraction, message).await
        {
            tracing::warn!(error = %e, "progress not recorded");
        }
    }

    /// Downloads an upload of the job's tenant into the scratch folder.
    pub async fn fetch_upload(&self, id: UploadId, name: &str) -> Result<PathBuf, StageError> {
        let upload = uploads::get(&self.db, self.job().tenant_id, id).await?;
        let path = self.scratch(name);
        self.storage.get_to_file(&upload.object_key, &path).await?;
        Ok(path)
    }

    /// The object key of a file this job wrote at (language, stage).
    pub fn artifact_key(&self, language: &str, stage: Stage, file_name: &str) -> String {
        keys::artifact(self.job().id, language, stage, file_name)
    }

    /// Reads a JSON artifact an earlier stage wrote.
    pub async fn read_json<T: serde::de::DeserializeOwned>(
        &self,
        language: &str,
        stage: Stage,
        file_name: &str,
    ) -> Result<T, StageError> {
        let bytes = self
            .storage
            .get_bytes(&self.artifact_key(language, stage, file_name))
            .await?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    /// The language's translated lines as the user last edited them: the
    /// translate stage's `translation.json` with the task's segment edits
    /// laid over it.
    pub async fn lines(&self) -> Result<voxline_core::Translation, StageError> {
        let mut translation: voxline_core::Translation = self
            .read_json(self.language(), Stage::Translate, "translation.json")
            .await?;
        let edits = voxline_db::edits::for_task(&self.db, self.job().id, self.language()).await?;
        if !edits.is_empty() {
            translation.segments = voxline_core::edits::apply(&translation.segments, &edits);
            // Edited timings may reorder lines: the timeline is read in order.
            translation
                .segments
                .sort_by(|a, b| a.start.total_cmp(&b.start));
        }
        Ok(translation)
    }

    /// Downloads an artifact an earlier stage wrote into the scratch folder.
    pub async fn fetch_artifact(
        &self,
        language: &str,
        stage: Stage,
        file_name: &str,
    ) -> Result<PathBuf, StageError> {
        let path = self.scratch(&format!("{}-{}-{file_name}", stage.as_str(), language));
        self.storage
            .get_to_file(&self.artifact_key(language, stage, file_name), &path)
            .await?;
        Ok(path)
    }

    /// Stores bytes as this run's artifact of `kind` (deterministic key, so a
    /// re-run overwrites it) and describes it for the commit.
    pub async fn put_bytes(
        &self,
        kind: &str,
        file_name: &str,
        content_type: &str,
        bytes: Vec<u8>,
    ) -> Result<NewArtifact, StageError> {
        let key = self.artifact_key(self.language(), self.stage(), file_name);
        let size = self.storage.put_bytes(&key, bytes).await?;
        Ok(artifact(kind, key, file_name, content_type, size))
    }

    /// Stores a file as this run's artifact of `kind`.
    pub async fn put_file(
        &self,
        kind: &str,
        file_name: &str,
        content_type: &str,
        path: &Path,
    ) -> Result<NewArtifact, StageError> {
        let key = self.artifact_key(self.language(), self.stage(), file_name);
        let size = self.storage.put_file(&key, path).await?;
        Ok(artifact(kind, key, file_name, content_type, size))
    }

    /// Stores this stage's part of the job's streaming package: each
    /// rendition's playlist and media file, and `stream.json` saying what
    /// they are (or why one is missing) for the master playlist. The audio
    /// rendition comes with the language spoken in it.
    pub async fn put_renditions(
        &self,
        video: Option<&voxline_media::stream::Rendition>,
        audio: Option<(&voxline_media::stream::Rendition, &str)>,
        note: Option<String>,
    ) -> Result<Vec<NewArtifact>, StageError> {
        let mut artifacts = Vec::new();
        // A stage has one file of each kind per language.
        let renditions = [("video", video), ("audio", audio.map(|(r, _)| r))];
        for (track, rendition) in renditions {
            let Some(rendition) = rendition else { continue };
            for (kind, path, content_type) in [
                (
                    format!("stream_{track}_playlist"),
                    &rendition.playlist,
                    "application/vnd.apple.mpegurl",
                ),
                (format!("stream_{track}"), &rendition.media, "video/mp4"),
            ] {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                artifacts.push(self.put_file(&kind, name, content_type, path).await?);
            }
        }
        let info = voxline_media::stream::Renditions {
            language: audio.map(|(_, language)| language.to_owned()),
            video: video.map(|r| r.info.clone()),
            audio: audio.map(|(r, _)| r.info.clone()),
            note,
        };
        artifacts.push(
            self.put_bytes(
                "stream_info",
                voxline_media::stream::INFO_FILE,
                "application/json",
                serde_json::to_vec_pretty(&info)?,
            )
            .await?,
        );
        Ok(artifacts)
    }
}

fn artifact(
    kind: &str,
    object_key: String,
    file_name: &str,
    content_type: &str,
    size: u64,
) -> NewArtifact {
    NewArtifact {
        kind: kind.into(),
        object_key,
        file_name: file_name.into(),
        content_type: content_type.into(),
        size_bytes: size as i64,
    }
}
