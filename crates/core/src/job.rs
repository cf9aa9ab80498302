use serde::{Deserialize, Serialize};

text_enum!(
    /// What a job produces.
    JobKind, "job kind", sql "job_kind" {
        Dub => "dub",
        Subtitle => "subtitle",
        Transcribe => "transcribe",
        /// A script spoken over the source (no transcription, the source's
        /// own sound kept under the voice).
        Voiceover => "voiceover",
    }
);

impl JobKind {
    /// Whether the job speaks its lines in each target language (and so
    /// needs a voice for each).
    pub fn speaks(self) -> bool {
        matches!(self, JobKind::Dub | JobKind::Voiceover)
    }

    /// Whether the job must be given its lines as a script.
    pub fn needs_script(self) -> bool {
        self == JobKind::Voiceover
    }
}

text_enum!(
    /// A job's state: the sum of its tasks.
    JobStatus, "job status", sql "job_status" {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// A task's state (one target language of a job).
    TaskStatus, "task status", sql "task_status" {
        Pending => "pending",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// How subtitles reach the rendered media.
    SubtitleMode, "subtitle mode" {
        Soft => "soft",
        Burned => "burned",
        None => "none",
    }
);

/// Options a client may set on a job; each has a default that suits a dub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobOptions {
    /// Soft subtitles (a selectable track), burned into the picture, or none.
    pub subtitles: SubtitleMode,
    /// Keep the original audio as a second audio track of the dubbed media.
    pub keep_original_audio: bool,
    /// An HTTPS endpoint that receives a signed notification when a language is published.
    pub webhook_url: Option<String>,
    /// Post each finished language's video to social channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub social: Option<SocialOptions>,
    /// Publish no earlier than this; the finished work waits until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The voice every language is spoken in, by name (one the engines
    /// list for each target); the configured voice of each language when
    /// absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
    /// Terms every translation honours: kept as they are, or translated a
    /// fixed way per language (`crate::glossary`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub glossary: Vec<crate::glossary::Term>,
    /// How many people speak in the source, when the client knows: the
    /// transcription stage then finds exactly that many (`crate::speakers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub speakers: Option<usize>,
    /// The voice of each speaker by label (`S1` → a voice's name), in every
    /// target language; a speaker not named here gets `voice` if it is the
    /// first, or a voice of their own.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub voices: std::collections::BTreeMap<String, String>,
    /// Subtitles show who speaks: a line said by another speaker than the
    /// one before opens with the speaker's label (`S2: …`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub speaker_labels: bool,
    /// Each speaker is spoken in a voice cloned from their own speech, by
    /// the first voice engine that clones voices (ElevenLabs), where it
    /// speaks the language; the clones are deleted at the vendor when the
    /// job's files expire. Only with the job's consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clone_voices: Option<CloneVoices>,
    /// Also an MP3 of each language's full mix and of its voice alone
    /// (`dub_mp3`, `voice_mp3`), for clients and platforms that take only MP3.
    pub mp3: bool,
}

/// A job's request to clone its speakers' voices, and what it states.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloneVoices {
    /// The client states that every speaker agreed to have their voice
    /// cloned for this dub (kept with the job).
    pub consent: bool,
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            subtitles: SubtitleMode::Soft,
            keep_original_audio: true,
            webhook_url: None,
            social: None,
            publish_at: None,
            voice: None,
            glossary: Vec::new(),
            speakers: None,
            voices: std::collections::BTreeMap::new(),
            speaker_labels: false,
            clone_voices: None,
            mp3: false,
        }
    }
}

/// Where and how each language's video is posted (through Postiz).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocialOptions {
    /// Channels to post on: a platform (`youtube`, `tiktok`, `instagram`,
    /// `linkedin`, `x`, ...) means every connected account of it; anything
    /// else names one connected channel by its Postiz id.
    pub channels: Vec<String>,
    /// The post's text; `{language}` becomes the language's name.
    #[serde(default)]
    pub caption: String,
    /// Settings per platform, over Voxline's defaults (a YouTube `title`
    /// and `type`, TikTok's `privacy_level`, ...).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

impl SocialOptions {
    /// The caption for one language.
    pub fn caption_for(&self, language_name: &str) -> String {
        self.caption.replace("{language}", language_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_words_name_what_is_expected() {
        let err = JobKind::parse("karaoke").unwrap_err().to_string();
        assert!(
            err.contains("dub, subtitle, transcribe, voiceover"),
            "{err}"
        );
    }
}
