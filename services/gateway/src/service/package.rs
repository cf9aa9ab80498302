//! A job's streaming package, served under one signed folder
//! (`/v1/packages/{job}/{expires}/{sig}/`):
//!
//! | path | what |
//! |---|---|
//! | `master.m3u8` | HLS master playlist, written from the renditions present |
//! | `manifest.mpd` | the same as a DASH manifest (segments by byte range) |
//! | `video.m3u8`, `video.mp4` | the source's video, once (transcription stage) |
//! | `audio/original.m3u8`, `.mp4` | the source's own audio (transcription stage) |
//! | `audio/{lang}.m3u8`, `.mp4` | each language's dub (its render stage) |
//! | `subtitles/{original,lang}.m3u8`, `.vtt` | each language's subtitles |
//! | `all.mp4` | one MP4: the video once, every audio and subtitle track |
//!
//! Each stage writes its own renditions (`StageContext::put_renditions`),
//! so the package grows as languages finish and a re-render after an edit
//! replaces only its language. `all.mp4` is put together (streams copied)
//! on the first request after a rendition changed, and kept beside the
//! source's renditions until then.

use voxline_core::{JobId, JobKind, Language, Stage};
use voxline_db::artifacts::{self, Artifact};
use voxline_db::jobs::Job;
use voxline_media::stream::{self, LanguageTrack, MediaEntry, RenditionInfo, Renditions};
use voxline_storage::keys;

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// What the original audio and subtitles are called in paths.
const ORIGINAL: &str = "original";
/// The all-languages MP4, kept in the transcription stage's folder (it goes
/// when the source's renditions expire), with the list of its inputs.
const ALL_MP4: &str = "all-languages.mp4";
const ALL_MP4_INPUTS: &str = "all-languages.inputs";

/// One process puts one all-languages MP4 together at a time: it is file
/// copying, but a burst of first requests should not copy in parallel.
static BUILDS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// A file of the package.
pub enum Entry {
    /// Written on request.
    Text {
        body: String,
        content_type: &'static str,
    },
    /// A stored object.
    Object {
        key: String,
        content_type: &'static str,
    },
}

/// The media type of HLS playlists.
pub const PLAYLIST: &str = "application/vnd.apple.mpegurl";

/// The renditions a package holds now.
struct Present {
    source: Renditions,
    audio: Vec<(MediaEntry, RenditionInfo)>,
    subtitles: Vec<MediaEntry>,
}

/// A job and the files its stages wrote.
pub struct Package {
    job: Job,
    artifacts: Vec<Artifact>,
}

/// The job's package, if its link is genuine and current. The signature is
/// the permission (players send no auth header); a job that is gone is a 404.
pub async fn open(
    state: &AppState,
    job: &str,
    expires: i64,
    sig: &str,
) -> Result<Package, ApiError> {
    state.storage.verify_package_link(job, expires, sig)?;
    let id = JobId::parse(job).map_err(|_| ApiError::not_found("package"))?;
    let job = voxline_db::jobs::get_any(&state.db, id).await?;
    let client = state.db.client().await?;
    let artifacts = artifacts::for_job(&client, id).await?;
    Ok(Package { job, artifacts })
}

/// Whether the transcription stage has packaged the source of a job with
/// these files: the job view links the package only then.
pub fn is_packaged(artifacts: &[Artifact]) -> bool {
    artifacts
        .iter()
        .any(|a| a.stage == Stage::Transcribe.as_str() && a.kind == "stream_info")
}

impl Package {
    fn file(&self, stage: Stage, language: Option<&str>, name: &str) -> Option<&Artifact> {
        self.artifacts.iter().find(|a| {
            a.stage == stage.as_str()
                && a.file_name == name
                && language.is_none_or(|l| a.language == l)
        })
    }

    fn source_file(&self, name: &str) -> Option<&Artifact> {
        self.file(Stage::Transcribe, None, name)
    }

    fn render_file(&self, language: &str, name: &str) -> Option<&Artifact> {
        self.file(Stage::Render, Some(language), name)
    }

    /// The job's target languages that have a file `name` from their render.
    fn languages_with(&self, name: impl Fn(&str) -> String) -> Vec<&str> {
        self.job
            .target_languages
            .iter()
            .map(String::as_str)
            .filter(|l| self.render_file(l, &name(l)).is_some())
            .collect()
    }

    async fn renditions(&self, state: &AppState, a: &Artifact) -> Result<Renditions, ApiError> {
        let bytes = state.storage.get_bytes(&a.object_key).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                Code::Internal,
                format!("{} is not readable: {e}", a.object_key),
            )
        })
    }

    /// The source's renditions, or why there are none.
    async fn source(&self, state: &AppState) -> Result<Renditions, ApiError> {
        if self.job.kind == JobKind::Transcribe {
            return Err(ApiError::new(
                Code::NoPackageYet,
                "a transcription job has nothing to play; dubs and subtitle jobs are packaged",
            ));
        }
        let info = self.source_file(stream::INFO_FILE).ok_or_else(|| {
            ApiError::new(
                Code::NoPackageYet,
                "the source is packaged once it is transcribed; try again when the job's transcription stage has succeeded",
            )
        })?;
        let source = self.renditions(state, info).await?;
        if source.video.is_none() && source.audio.is_none() {
            return Err(ApiError::new(
                Code::NoPackageYet,
                format!(
                    "the source could not be packaged: {}",
                    source.note.as_deref().unwrap_or("no reason was kept")
                ),
            ));
        }
        Ok(source)
    }

    /// What the package holds now: the source's renditions, the audio
    /// renditions (the original first, the default; then each dubbed
    /// language) and the subtitle renditions, with their HLS playlists'
    /// paths.
    async fn present(&self, state: &AppState) -> Result<Present, ApiError> {
        let source = self.source(state).await?;
        let spoken = source.language.clone().unwrap_or_default();
        let mut audio = Vec::new();
        if let Some(info) = source.audio.clone() {
            audio.push((
                MediaEntry {
                    language: spoken.clone(),
                    name: format!("{} (original)", name_of(&spoken)),
                    uri: format!("audio/{ORIGINAL}.m3u8"),
                    default: true,
                },
                info,
            ));
        }
        for language in self.languages_with(|l| format!("{l}.m3u8")) {
            let Some(info) = self.render_file(language, stream::INFO_FILE) else {
                continue;
            };
            if let Some(info) = self.renditions(state, info).await?.audio {
                audio.push((
                    MediaEntry {
                        language: language.to_owned(),
                        name: name_of(language),
                        uri: format!("audio/{language}.m3u8"),
                        default: false,
                    },
                    info,
                ));
            }
        }
        let mut subtitles = Vec::new();
        if self.source_file("transcript.vtt").is_some() {
            subtitles.push(MediaEntry {
                language: spoken.clone(),
                name: format!("{} (original)", name_of(&spoken)),
                uri: format!("subtitles/{ORIGINAL}.m3u8"),
                default: false,
            });
        }
        for language in self.languages_with(|_| "subtitles.vtt".into()) {
            subtitles.push(MediaEntry {
                language: language.to_owned(),
                name: name_of(language),
                uri: format!("subtitles/{language}.m3u8"),
                default: false,
            });
        }
        Ok(Present {
            source,
            audio,
            subtitles,
        })
    }

    /// The master playlist: the video once, the original audio (the
    /// default) and each dubbed language as alternatives, and subtitles of
    /// every language present.
    pub async fn master(&self, state: &AppState) -> Result<String, ApiError> {
        let present = self.present(state).await?;
        let video = present.source.video.as_ref().map(|v| ("video.m3u8", v));
        Ok(stream::master_playlist(
            video,
            &present.audio,
            &present.subtitles,
        ))
    }

    /// The DASH manifest: the same renditions as the master playlist, each
    /// segment the byte range its HLS playlist names.
    pub async fn dash(&self, state: &AppState) -> Result<String, ApiError> {
        let present = self.present(state).await?;
        let playlist_of = async |uri: &str| -> Result<String, ApiError> {
            let Entry::Object { key, .. } = self.entry(uri)? else {
                return Err(ApiError::not_found("playlist"));
            };
            let bytes = state.storage.get_bytes(&key).await?;
            Ok(String::from_utf8_lossy(&bytes).into_owned())
        };
        let media_of = |uri: &str| uri.replace(".m3u8", ".mp4");
        let video_playlist = match &present.source.video {
            Some(_) => Some(playlist_of("video.m3u8").await?),
            None => None,
        };
        let mut audio_playlists = Vec::new();
        for (entry, _) in &present.audio {
            audio_playlists.push((playlist_of(&entry.uri).await?, media_of(&entry.uri)));
        }
        let video = present
            .source
            .video
            .as_ref()
            .zip(video_playlist.as_deref())
            .map(|(info, playlist)| stream::DashRendition {
                language: None,
                media_uri: "video.mp4",
                playlist,
                info,
            });
        let audio: Vec<_> = present
            .audio
            .iter()
            .zip(&audio_playlists)
            .map(|((entry, info), (playlist, media))| stream::DashRendition {
                language: Some((&entry.language, &entry.name)),
                media_uri: media,
                playlist,
                info,
            })
            .collect();
        let texts: Vec<String> = present
            .subtitles
            .iter()
            .map(|e| e.uri.replace(".m3u8", ".vtt"))
            .collect();
        let subtitles: Vec<_> = present
            .subtitles
            .iter()
            .zip(&texts)
            .map(|(entry, uri)| stream::DashText {
                language: &entry.language,
                label: &entry.name,
                uri,
            })
            .collect();
        stream::dash_manifest(self.job.duration, video, &audio, &subtitles).ok_or_else(|| {
            ApiError::new(
                Code::Internal,
                "a rendition's playlist does not address its segments by byte range",
            )
        })
    }

    /// The file at `path` within the package (`master.m3u8` and `all.mp4`
    /// are the caller's: they need storage work first).
    pub fn entry(&self, path: &str) -> Result<Entry, ApiError> {
        let missing = || ApiError::not_found("file in this package");
        let object = |a: Option<&Artifact>, content_type| {
            a.map(|a| Entry::Object {
                key: a.object_key.clone(),
                content_type,
            })
            .ok_or_else(missing)
        };
        let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
        let (stem, extension) = name.rsplit_once('.').ok_or_else(missing)?;
        match (folder, extension) {
            ("", "m3u8" | "mp4") if stem == "video" => object(
                self.source_file(name),
                if extension == "mp4" {
                    "video/mp4"
                } else {
                    PLAYLIST
                },
            ),
            ("audio", "m3u8" | "mp4") => {
                let file = if stem == ORIGINAL {
                    self.source_file(name)
                } else {
                    self.render_file(stem, name)
                };
                object(
                    file,
                    if extension == "mp4" {
                        "audio/mp4"
                    } else {
                        PLAYLIST
                    },
                )
            }
            ("subtitles", "vtt") => object(self.subtitles_of(stem), "text/vtt"),
            ("subtitles", "m3u8") => {
                self.subtitles_of(stem).ok_or_else(missing)?;
                Ok(Entry::Text {
                    body: stream::subtitle_playlist(&format!("{stem}.vtt"), self.job.duration),
                    content_type: PLAYLIST,
                })
            }
            _ => Err(missing()),
        }
    }

    fn subtitles_of(&self, language: &str) -> Option<&Artifact> {
        if language == ORIGINAL {
            self.source_file("transcript.vtt")
        } else {
            self.render_file(language, "subtitles.vtt")
        }
    }

    /// The object key of the all-languages MP4 as the renditions are now,
    /// put together first if they changed since it was last.
    pub async fn all_languages_mp4(&self, state: &AppState) -> Result<String, ApiError> {
        let source = self.source(state).await?;
        let spoken = source.language.clone().unwrap_or_default();
        let video = source
            .video
            .is_some()
            .then(|| self.source_file("video.mp4"))
            .flatten();
        let mut audio = Vec::new();
        if source.audio.is_some()
            && let Some(a) = self.source_file(&format!("{ORIGINAL}.mp4"))
        {
            audio.push((
                a,
                spoken.clone(),
                format!("{} (original)", name_of(&spoken)),
            ));
        }
        for language in self.languages_with(|l| format!("{l}.mp4")) {
            if let Some(a) = self.render_file(language, &format!("{language}.mp4")) {
                audio.push((a, language.to_owned(), name_of(language)));
            }
        }
        let mut subtitles = Vec::new();
        if let Some(a) = self.subtitles_of(ORIGINAL) {
            subtitles.push((
                a,
                spoken.clone(),
                format!("{} (original)", name_of(&spoken)),
            ));
        }
        for language in self.languages_with(|_| "subtitles.vtt".into()) {
            if let Some(a) = self.subtitles_of(language) {
                subtitles.push((a, language.to_owned(), name_of(language)));
            }
        }
        // What it is made of: a changed rendition is a new MP4.
        let inputs: Vec<String> = video
            .into_iter()
            .chain(audio.iter().map(|(a, ..)| *a))
            .chain(subtitles.iter().map(|(a, ..)| *a))
            .map(|a| {
                format!(
                    "{} {} {}",
                    a.object_key,
                    a.size_bytes,
                    a.created_at.timestamp_micros()
                )
            })
            .collect();
        let inputs = inputs.join("\n").into_bytes();
        let folder = |name| {
            keys::artifact(
                self.job.id,
                &self.job.source_language,
                Stage::Transcribe,
                name,
            )
        };
        let (key, inputs_key) = (folder(ALL_MP4), folder(ALL_MP4_INPUTS));
        let current = |state: &AppState| {
            let inputs_key = inputs_key.clone();
            let inputs = inputs.clone();
            let storage = state.storage.clone();
            async move {
                storage
                    .get_bytes(&inputs_key)
                    .await
                    .is_ok_and(|kept| kept == inputs)
            }
        };
        if current(state).await {
            return Ok(key);
        }
        let _turn = BUILDS
            .acquire()
            .await
            .map_err(|e| ApiError::unavailable("the package is not being made", e))?;
        // Another request may have made it while this one waited.
        if current(state).await {
            return Ok(key);
        }
        let dir = tempfile::Builder::new()
            .prefix("voxline-package-")
            .tempdir()
            .map_err(|e| ApiError::unavailable("no scratch folder for the package", e))?;
        let fetch = async |a: &Artifact, name: &str| {
            let path = dir.path().join(name);
            state
                .storage
                .get_to_file(&a.object_key, &path)
                .await
                .map(|_| path)
        };
        let video_file = match video {
            Some(a) => Some(fetch(a, "video.mp4").await?),
            None => None,
        };
        let mut audio_files = Vec::new();
        for (i, (a, ..)) in audio.iter().enumerate() {
            audio_files.push(fetch(a, &format!("audio-{i}.mp4")).await?);
        }
        let mut subtitle_files = Vec::new();
        for (i, (a, ..)) in subtitles.iter().enumerate() {
            subtitle_files.push(fetch(a, &format!("subtitles-{i}.vtt")).await?);
        }
        let audio_tracks = fetched(&audio_files, &audio);
        let subtitle_tracks = fetched(&subtitle_files, &subtitles);
        let out = dir.path().join(ALL_MP4);
        stream::all_languages_mp4(
            video_file.as_deref(),
            &audio_tracks,
            &subtitle_tracks,
            self.job.duration,
            &out,
        )
        .await
        .map_err(|e| ApiError::unavailable("the all-languages MP4 could not be made", e))?;
        state.storage.put_file(&key, &out).await?;
        state.storage.put_bytes(&inputs_key, inputs).await?;
        tracing::info!(job = %self.job.id, audio = audio.len(), subtitles = subtitles.len(), "all-languages MP4 made");
        Ok(key)
    }
}

/// The tracks of files fetched for `of`'s (artifact, language, title).
fn fetched<'a>(
    files: &'a [std::path::PathBuf],
    of: &'a [(&Artifact, String, String)],
) -> Vec<LanguageTrack<'a>> {
    files
        .iter()
        .zip(of)
        .map(|(file, (_, language, title))| LanguageTrack {
            file,
            iso639_2: iso639_2(language),
            title,
        })
        .collect()
}

/// What a player's menu calls a language.
fn name_of(code: &str) -> String {
    Language::parse(code).map_or_else(|_| code.to_owned(), |l| l.name.to_owned())
}

/// The ISO 639-2 tag media containers carry (`und` when unknown).
fn iso639_2(code: &str) -> &'static str {
    Language::parse(code).map_or("und", |l| l.iso639_2)
}
