use voxline_db::DbError;
use voxline_media::MediaError;
use voxline_storage::StorageError;

/// A stage's failure, classified: bad input fails the task at once with a
/// message for the user; transient faults are retried with backoff.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {message}")]
pub struct StageError {
    /// A stable snake_case code clients can act on.
    pub code: String,
    pub message: String,
    pub transient: bool,
}

impl StageError {
    /// The input itself is unusable; retrying cannot help.
    pub fn bad_input(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            transient: false,
        }
    }

    /// A fault that may clear by itself (timeouts, unavailable services).
    pub fn transient(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            transient: true,
        }
    }

    /// A failure that will repeat on retry (a broken engine, a bug).
    pub fn permanent(code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            transient: false,
        }
    }
}

impl From<StorageError> for StageError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) => Self::permanent("artifact_missing", e.to_string()),
            // Space comes back when an operator frees it: retried with backoff.
            StorageError::Full { .. } => Self::transient("storage_full", e.to_string()),
            _ => Self::transient("storage_unavailable", e.to_string()),
        }
    }
}

impl From<DbError> for StageError {
    fn from(e: DbError) -> Self {
        if e.is_transient() {
            Self::transient("database_unavailable", e.to_string())
        } else {
            Self::permanent("internal", e.to_string())
        }
    }
}

impl From<MediaError> for StageError {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::NotMedia(_) => Self::bad_input("unreadable_media", e.to_string()),
            MediaError::Truncated { .. } => Self::bad_input("truncated_media", e.to_string()),
            MediaError::Undecodable(_) => Self::bad_input("undecodable_media", e.to_string()),
            MediaError::Timeout { .. } => Self::transient("engine_timeout", e.to_string()),
            MediaError::Io { .. } => Self::transient("io_error", e.to_string()),
            _ => Self::permanent("media_processing_failed", e.to_string()),
        }
    }
}

impl From<voxline_providers::ProviderError> for StageError {
    fn from(e: voxline_providers::ProviderError) -> Self {
        use voxline_providers::ProviderError as P;
        match e {
            P::Unavailable { .. } => Self::transient("engine_unavailable", e.to_string()),
            P::BadInput(message) => Self::bad_input("unusable_input", message),
            P::Uncertain { .. } => Self::permanent("outcome_unknown", e.to_string()),
            P::Unsupported { .. } | P::Engine { .. } => {
                Self::permanent("engine_failed", e.to_string())
            }
        }
    }
}

impl From<serde_json::Error> for StageError {
    fn from(e: serde_json::Error) -> Self {
        Self::permanent("corrupt_artifact", e.to_string())
    }
}
