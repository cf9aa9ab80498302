#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object `{0}` does not exist")]
    NotFound(String),
    #[error("object storage: {0}")]
    Store(#[from] object_store::Error),
    #[error("invalid storage settings: {0}")]
    Config(String),
    #[error("i/o error on {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the link is invalid or has expired")]
    BadLink,
}

impl StorageError {
    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
