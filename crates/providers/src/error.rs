use voxline_media::MediaError;

/// An engine's failure, classified for the stage runner.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// The engine does not serve this language or pair; the next engine in
    /// the chain may.
    #[error("{engine} cannot {what}")]
    Unsupported { engine: String, what: String },
    /// The input cannot be processed by any engine.
    #[error("{0}")]
    BadInput(String),
    /// The engine failed on this input.
    #[error("{engine} failed: {message}")]
    Engine { engine: String, message: String },
    /// The engine did not answer in time, or is unavailable for now.
    #[error("{engine} is unavailable: {message}")]
    Unavailable { engine: String, message: String },
    /// A request that must not be repeated (a social post) may or may not
    /// have been acted on: the vendor did not say before the answer was lost.
    #[error("{engine} may or may not have acted on the request: {message}")]
    Uncertain { engine: String, message: String },
}

impl ProviderError {
    /// Retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, ProviderError::Unavailable { .. })
    }

    pub(crate) fn from_media(engine: &str, e: MediaError) -> Self {
        match e {
            MediaError::Timeout { .. } | MediaError::Io { .. } => ProviderError::Unavailable {
                engine: engine.into(),
                message: e.to_string(),
            },
            MediaError::NotMedia(m) | MediaError::Undecodable(m) => ProviderError::BadInput(m),
            e @ MediaError::Truncated { .. } => ProviderError::BadInput(e.to_string()),
            e => ProviderError::Engine {
                engine: engine.into(),
                message: e.to_string(),
            },
        }
    }
}
