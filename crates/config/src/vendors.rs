//! Cloud vendors, by the name the engine chains use: `[vendors.<name>]` with
//! a `kind` (`openai`, `deepgram`, `elevenlabs`), so one kind can serve under
//! several names (OpenAI itself, Groq and a self-hosted server, say) each
//! with its own URL, key, models and limits.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Secret;

/// Every configured vendor, by name.
pub type VendorTable = BTreeMap<String, VendorSettings>;

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", deny_unknown_fields)]
pub enum VendorSettings {
    /// Any OpenAI-compatible endpoint: OpenAI, Groq, OpenRouter, Gemini's
    /// compatible endpoint, a self-hosted faster-whisper or vLLM server.
    #[serde(rename = "openai")]
    OpenAi(OpenAiSettings),
    #[serde(rename = "deepgram")]
    Deepgram(DeepgramSettings),
    #[serde(rename = "elevenlabs")]
    ElevenLabs(ElevenLabsSettings),
    /// Social publishing (Instagram, TikTok, YouTube, LinkedIn, X, ...).
    #[serde(rename = "postiz")]
    Postiz(PostizSettings),
}

impl VendorSettings {
    pub fn kind(&self) -> &'static str {
        match self {
            VendorSettings::OpenAi(_) => "openai",
            VendorSettings::Deepgram(_) => "deepgram",
            VendorSettings::ElevenLabs(_) => "elevenlabs",
            VendorSettings::Postiz(_) => "postiz",
        }
    }

    pub fn base_url(&self) -> &str {
        match self {
            VendorSettings::OpenAi(s) => &s.base_url,
            VendorSettings::Deepgram(s) => &s.base_url,
            VendorSettings::ElevenLabs(s) => &s.base_url,
            VendorSettings::Postiz(s) => &s.base_url,
        }
    }

    pub fn api_key(&self) -> &Secret {
        match self {
            VendorSettings::OpenAi(s) => &s.api_key,
            VendorSettings::Deepgram(s) => &s.api_key,
            VendorSettings::ElevenLabs(s) => &s.api_key,
            VendorSettings::Postiz(s) => &s.api_key,
        }
    }

    pub fn limits(&self) -> &VendorLimits {
        match self {
            VendorSettings::OpenAi(s) => &s.limits,
            VendorSettings::Deepgram(s) => &s.limits,
            VendorSettings::ElevenLabs(s) => &s.limits,
            VendorSettings::Postiz(s) => &s.limits,
        }
    }

    /// Whether calls need an API key (a self-hosted OpenAI-compatible server
    /// may not).
    pub fn needs_key(&self) -> bool {
        !matches!(self, VendorSettings::OpenAi(_))
    }

    /// What is wrong with these settings, said so the operator can fix it.
    pub fn check(&self) -> Result<(), String> {
        match url::Url::parse(self.base_url()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err("`base_url` must be an absolute http(s) URL".into()),
        }
        if self.needs_key() && self.api_key().is_empty() {
            return Err(format!(
                "`api_key` is required for {} (set it in the file or in VOXLINE__VENDORS__<NAME>__API_KEY)",
                self.kind()
            ));
        }
        let limits = self.limits();
        if limits.timeout_seconds == 0 {
            return Err("`limits.timeout_seconds` must be at least 1".into());
        }
        match self {
            VendorSettings::OpenAi(s) => {
                if s.capabilities.is_empty() {
                    return Err("`capabilities` must name at least one of transcribe, translate, synthesize".into());
                }
                if s.translate_attempts == 0 {
                    return Err("`translate_attempts` must be at least 1".into());
                }
            }
            VendorSettings::ElevenLabs(s) => {
                if !(s.output_format.starts_with("mp3_") || s.output_format.starts_with("opus_")) {
                    return Err(
                        "`output_format` must be an mp3_ or opus_ format (pcm_ and ulaw_ come without a header to decode)"
                            .into(),
                    );
                }
                for (key, value) in [
                    ("stability", s.stability),
                    ("similarity_boost", s.similarity_boost),
                    ("style", s.style),
                ] {
                    if !(0.0..=1.0).contains(&value) {
                        return Err(format!("`{key}` must be between 0 and 1"));
                    }
                }
            }
            VendorSettings::Deepgram(_) | VendorSettings::Postiz(_) => {}
        }
        Ok(())
    }
}

/// How hard Voxline may push one vendor, shared by every replica through
/// Redis, and how it rides out the vendor's bad moments.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VendorLimits {
    /// Longest one request may take, upload and reply included.
    pub timeout_seconds: u64,
    /// Requests in flight at once across all replicas; 0 for no cap.
    pub max_concurrency: u32,
    /// Requests started per minute across all replicas; 0 for no limit.
    pub requests_per_minute: u32,
    /// Requests started per hour across all replicas, for vendors that
    /// count by the hour (Postiz allows 30); 0 for no limit.
    pub requests_per_hour: u32,
    /// Retries of a request the vendor answered 429 or 5xx (or did not
    /// answer at all) before the engine gives up on this attempt.
    pub max_retries: u32,
    /// Longest wait between retries; a `Retry-After` asking for more gives
    /// up at once, and the stage is retried later instead.
    pub max_retry_wait_seconds: u64,
}

impl Default for VendorLimits {
    fn default() -> Self {
        Self {
            timeout_seconds: 120,
            max_concurrency: 4,
            requests_per_minute: 0,
            requests_per_hour: 0,
            max_retries: 3,
            max_retry_wait_seconds: 30,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OpenAiSettings {
    /// The API root, up to and including `/v1`.
    pub base_url: String,
    pub api_key: Secret,
    /// Model for `/audio/transcriptions` (asked for `verbose_json`).
    pub transcribe_model: String,
    /// Chat model that translates lines, asked for structured output.
    pub translate_model: String,
    /// Model for `/audio/speech`.
    pub speech_model: String,
    /// Voice for speech, unless `voices` names one for the language.
    pub voice: String,
    /// Voice per ISO 639-1 language code.
    pub voices: BTreeMap<String, String>,
    /// Which capabilities this endpoint offers; chains skip it for the
    /// others (a Groq endpoint may transcribe and translate but not speak).
    pub capabilities: Vec<Capability>,
    /// ISO 639-1 codes it serves; empty for every language Voxline knows.
    pub languages: Vec<String>,
    /// Chat calls per translation before handing over to the next engine,
    /// when replies lose, merge or invent lines.
    pub translate_attempts: u32,
    pub limits: VendorLimits,
}

impl Default for OpenAiSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.openai.com/v1".into(),
            api_key: Secret::default(),
            transcribe_model: "whisper-1".into(),
            translate_model: "gpt-4o-mini".into(),
            speech_model: "gpt-4o-mini-tts".into(),
            voice: "alloy".into(),
            voices: BTreeMap::new(),
            capabilities: vec![
                Capability::Transcribe,
                Capability::Translate,
                Capability::Synthesize,
            ],
            languages: Vec::new(),
            translate_attempts: 2,
            limits: VendorLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Capability {
    Transcribe,
    Translate,
    Synthesize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeepgramSettings {
    /// The API root, without `/v1`.
    pub base_url: String,
    pub api_key: Secret,
    /// Pre-recorded transcription model.
    pub model: String,
    /// ISO 639-1 codes it transcribes; empty for the model's own list.
    pub languages: Vec<String>,
    /// Aura voice (a speech model) per ISO 639-1 code; speech is offered
    /// only for the languages listed.
    pub voices: BTreeMap<String, String>,
    pub limits: VendorLimits,
}

impl Default for DeepgramSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.deepgram.com".into(),
            api_key: Secret::default(),
            model: "nova-3".into(),
            languages: Vec::new(),
            voices: [("en", "aura-2-thalia-en"), ("es", "aura-2-celeste-es")]
                .into_iter()
                .map(|(l, v)| (l.to_owned(), v.to_owned()))
                .collect(),
            limits: VendorLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElevenLabsSettings {
    /// The API root, without `/v1`.
    pub base_url: String,
    pub api_key: Secret,
    pub model: String,
    /// Voice id, unless `voices` names one for the language.
    pub voice: String,
    /// Voice id per ISO 639-1 code.
    pub voices: BTreeMap<String, String>,
    /// ISO 639-1 codes it speaks; empty for the model's own list.
    pub languages: Vec<String>,
    pub stability: f64,
    pub similarity_boost: f64,
    pub style: f64,
    pub use_speaker_boost: bool,
    /// `output_format` query value: an `mp3_` or `opus_` format.
    pub output_format: String,
    pub limits: VendorLimits,
}

impl Default for ElevenLabsSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.elevenlabs.io".into(),
            api_key: Secret::default(),
            model: "eleven_flash_v2_5".into(),
            // "Rachel", one of the premade voices every account has.
            voice: "21m00Tcm4TlvDq8ikWAM".into(),
            voices: BTreeMap::new(),
            languages: Vec::new(),
            stability: 0.57,
            similarity_boost: 0.75,
            style: 0.22,
            use_speaker_boost: true,
            output_format: "mp3_44100_128".into(),
            limits: VendorLimits::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostizSettings {
    /// The public API root: `https://api.postiz.com/public/v1`, or
    /// `https://<backend>/public/v1` for a self-hosted Postiz.
    pub base_url: String,
    pub api_key: Secret,
    pub limits: VendorLimits,
}

impl Default for PostizSettings {
    fn default() -> Self {
        Self {
            base_url: "https://api.postiz.com/public/v1".into(),
            api_key: Secret::default(),
            // Postiz's public API allows 30 requests an hour; videos are
            // large, so each request may take a while.
            limits: VendorLimits {
                timeout_seconds: 300,
                max_concurrency: 2,
                requests_per_hour: 30,
                ..VendorLimits::default()
            },
        }
    }
}
