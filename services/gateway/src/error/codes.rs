//! The one table of the codes the API answers with, each with its HTTP
//! status: an error names a [`Code`], never a string of its own, and a test
//! holds the table equal to `docs/errors.md`.

use actix_web::http::StatusCode;

macro_rules! codes {
    ($($name:ident => ($status:ident, $code:literal);)*) => {
        /// A stable, snake_case error code with the status it is answered with.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($name,)*
        }

        impl Code {
            /// Every code, in the table's order.
            pub const ALL: &'static [Code] = &[$(Code::$name,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$name => $code,)*
                }
            }

            pub fn status(self) -> StatusCode {
                match self {
                    $(Code::$name => StatusCode::$status,)*
                }
            }
        }
    };
}

codes! {
    InvalidJson => (BAD_REQUEST, "invalid_json");
    InvalidQuery => (BAD_REQUEST, "invalid_query");
    InvalidPath => (BAD_REQUEST, "invalid_path");
    InvalidLimit => (BAD_REQUEST, "invalid_limit");
    InvalidStatus => (BAD_REQUEST, "invalid_status");
    InvalidCursor => (BAD_REQUEST, "invalid_cursor");
    InvalidIdempotencyKey => (BAD_REQUEST, "invalid_idempotency_key");
    UploadInterrupted => (BAD_REQUEST, "upload_interrupted");
    InvalidFileName => (BAD_REQUEST, "invalid_file_name");
    InvalidPeriod => (BAD_REQUEST, "invalid_period");
    InvalidGroupBy => (BAD_REQUEST, "invalid_group_by");
    DurationMismatch => (BAD_REQUEST, "duration_mismatch");
    UploadMissing => (BAD_REQUEST, "upload_missing");
    VoiceTrackMissing => (BAD_REQUEST, "voice_track_missing");
    BackgroundTrackNotExpected => (BAD_REQUEST, "background_track_not_expected");
    Unauthorized => (UNAUTHORIZED, "unauthorized");
    InsufficientCredits => (PAYMENT_REQUIRED, "insufficient_credits");
    InvalidLink => (FORBIDDEN, "invalid_link");
    NotFound => (NOT_FOUND, "not_found");
    MethodNotAllowed => (METHOD_NOT_ALLOWED, "method_not_allowed");
    IdempotencyKeyReused => (CONFLICT, "idempotency_key_reused");
    JobFinished => (CONFLICT, "job_finished");
    JobRunning => (CONFLICT, "job_running");
    NothingToRetry => (CONFLICT, "nothing_to_retry");
    TaskBusy => (CONFLICT, "task_busy");
    NoSegmentsYet => (CONFLICT, "no_segments_yet");
    NoDubbedLines => (CONFLICT, "no_dubbed_lines");
    NoPackageYet => (CONFLICT, "no_package_yet");
    UploadTooLarge => (PAYLOAD_TOO_LARGE, "upload_too_large");
    BodyTooLarge => (PAYLOAD_TOO_LARGE, "body_too_large");
    UnsupportedContentType => (UNSUPPORTED_MEDIA_TYPE, "unsupported_content_type");
    RangeNotSatisfiable => (RANGE_NOT_SATISFIABLE, "range_not_satisfiable");
    InvalidKind => (UNPROCESSABLE_ENTITY, "invalid_kind");
    InvalidOption => (UNPROCESSABLE_ENTITY, "invalid_option");
    InvalidPriority => (UNPROCESSABLE_ENTITY, "invalid_priority");
    PriorityNotAllowed => (UNPROCESSABLE_ENTITY, "priority_not_allowed");
    InvalidSegments => (UNPROCESSABLE_ENTITY, "invalid_segments");
    EmptyUpload => (UNPROCESSABLE_ENTITY, "empty_upload");
    UnsupportedMedia => (UNPROCESSABLE_ENTITY, "unsupported_media");
    TruncatedMedia => (UNPROCESSABLE_ENTITY, "truncated_media");
    UndecodableMedia => (UNPROCESSABLE_ENTITY, "undecodable_media");
    NoAudio => (UNPROCESSABLE_ENTITY, "no_audio");
    InvalidScript => (UNPROCESSABLE_ENTITY, "invalid_script");
    ScriptRequired => (UNPROCESSABLE_ENTITY, "script_required");
    MediaTooLong => (UNPROCESSABLE_ENTITY, "media_too_long");
    UnknownUpload => (UNPROCESSABLE_ENTITY, "unknown_upload");
    InvalidId => (UNPROCESSABLE_ENTITY, "invalid_id");
    UnknownLanguage => (UNPROCESSABLE_ENTITY, "unknown_language");
    UnsupportedSourceLanguage => (UNPROCESSABLE_ENTITY, "unsupported_source_language");
    LanguageDetectionUnavailable => (UNPROCESSABLE_ENTITY, "language_detection_unavailable");
    UnsupportedLanguage => (UNPROCESSABLE_ENTITY, "unsupported_language");
    UnknownVoice => (UNPROCESSABLE_ENTITY, "unknown_voice");
    InvalidGlossary => (UNPROCESSABLE_ENTITY, "invalid_glossary");
    DuplicateLanguage => (UNPROCESSABLE_ENTITY, "duplicate_language");
    SameLanguage => (UNPROCESSABLE_ENTITY, "same_language");
    NoTargetLanguages => (UNPROCESSABLE_ENTITY, "no_target_languages");
    TooManyLanguages => (UNPROCESSABLE_ENTITY, "too_many_languages");
    TargetsNotAllowed => (UNPROCESSABLE_ENTITY, "targets_not_allowed");
    BackgroundNotAllowed => (UNPROCESSABLE_ENTITY, "background_not_allowed");
    SocialPublishingUnavailable => (UNPROCESSABLE_ENTITY, "social_publishing_unavailable");
    WebhookUrlNotAllowed => (UNPROCESSABLE_ENTITY, "webhook_url_not_allowed");
    InvalidAmount => (UNPROCESSABLE_ENTITY, "invalid_amount");
    InvalidTenant => (UNPROCESSABLE_ENTITY, "invalid_tenant");
    InvalidKeyName => (UNPROCESSABLE_ENTITY, "invalid_key_name");
    RateLimited => (TOO_MANY_REQUESTS, "rate_limited");
    TooManyJobs => (TOO_MANY_REQUESTS, "too_many_jobs");
    Internal => (INTERNAL_SERVER_ERROR, "internal");
    Timeout => (SERVICE_UNAVAILABLE, "timeout");
    Unavailable => (SERVICE_UNAVAILABLE, "unavailable");
    StorageFull => (INSUFFICIENT_STORAGE, "storage_full");
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::Code;

    /// The (status, code) pairs of `docs/errors.md`'s table of API answers.
    fn documented() -> BTreeSet<(u16, String)> {
        let doc = include_str!("../../../../docs/errors.md");
        let table = doc
            .split("## API answers")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("docs/errors.md has a section `## API answers`");
        let mut pairs = BTreeSet::new();
        for row in table.lines().filter(|l| l.starts_with("| ")) {
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let Ok(status) = cells[1].parse::<u16>() else {
                continue; // the header
            };
            for code in cells[2].split(", ") {
                pairs.insert((status, code.trim_matches('`').to_owned()));
            }
        }
        pairs
    }

    #[test]
    fn the_table_is_the_documented_one() {
        let table: BTreeSet<(u16, String)> = Code::ALL
            .iter()
            .map(|c| (c.status().as_u16(), c.as_str().to_owned()))
            .collect();
        let documented = documented();
        let undocumented: Vec<_> = table.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&table).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "codes answered but not in docs/errors.md (or with another status): {undocumented:?}; \
             documented but not answered: {unknown:?}"
        );
    }

    #[test]
    fn codes_are_snake_case_and_unique() {
        let mut seen = BTreeSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(
                s.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
        }
    }
}
