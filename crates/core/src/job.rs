use serde::{Deserialize, Serialize};

text_enum!(
    /// What a job produces.
    JobKind, "job kind" {
        Dub => "dub",
        Subtitle => "subtitle",
        Transcribe => "transcribe",
    }
);

text_enum!(
    /// A job's state: the sum of its tasks.
    JobStatus, "job status" {
        Queued => "queued",
        Running => "running",
        Completed => "completed",
        Failed => "failed",
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// A task's state (one target language of a job).
    TaskStatus, "task status" {
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

impl JobStatus {
    /// A job in a final state changes no more (a retry starts a new run of it).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The job's state from the states of its tasks: running while any task
    /// runs or waits, then failed if any failed, cancelled if any was, else completed.
    pub fn from_tasks(tasks: &[TaskStatus]) -> Self {
        use TaskStatus as T;
        if tasks.iter().all(|t| *t == T::Pending) {
            return Self::Queued;
        }
        if tasks.iter().any(|t| matches!(t, T::Pending | T::Running)) {
            return Self::Running;
        }
        if tasks.contains(&T::Failed) {
            Self::Failed
        } else if tasks.contains(&T::Cancelled) {
            Self::Cancelled
        } else {
            Self::Completed
        }
    }
}

impl TaskStatus {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

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
}

impl Default for JobOptions {
    fn default() -> Self {
        Self {
            subtitles: SubtitleMode::Soft,
            keep_original_audio: true,
            webhook_url: None,
            social: None,
            publish_at: None,
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
    fn job_status_follows_tasks() {
        use TaskStatus as T;
        assert_eq!(
            JobStatus::from_tasks(&[T::Pending, T::Pending]),
            JobStatus::Queued
        );
        assert_eq!(
            JobStatus::from_tasks(&[T::Completed, T::Running]),
            JobStatus::Running
        );
        assert_eq!(
            JobStatus::from_tasks(&[T::Completed, T::Failed]),
            JobStatus::Failed
        );
        assert_eq!(
            JobStatus::from_tasks(&[T::Completed, T::Cancelled]),
            JobStatus::Cancelled
        );
        assert_eq!(JobStatus::from_tasks(&[T::Completed]), JobStatus::Completed);
    }

    #[test]
    fn unknown_words_name_what_is_expected() {
        let err = JobKind::parse("karaoke").unwrap_err().to_string();
        assert!(err.contains("dub, subtitle, transcribe"), "{err}");
    }
}
