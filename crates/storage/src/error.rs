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
    /// The store has no room left for the object (ENOSPC, a quota). It
    /// clears when an operator frees space or grows the volume, so callers
    /// try again later; nothing of the object is left behind.
    #[error("object storage is full: `{key}` could not be written ({reason})")]
    Full { key: String, reason: String },
}

impl StorageError {
    /// What a failed write of `key` means: [`StorageError::Full`] when the
    /// store ran out of space (the file system's ENOSPC or EDQUOT, however
    /// deep in the store's error it lies), the store's error otherwise.
    pub(crate) fn on_write(key: &str, e: object_store::Error) -> Self {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(err) = cause {
            if let Some(io) = err.downcast_ref::<std::io::Error>()
                && matches!(
                    io.kind(),
                    std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
                )
            {
                return StorageError::Full {
                    key: key.to_owned(),
                    reason: io.to_string(),
                };
            }
            cause = err.source();
        }
        StorageError::Store(e)
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        StorageError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StorageError;

    fn generic(source: std::io::Error) -> object_store::Error {
        object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(source),
        }
    }

    #[test]
    fn a_full_disk_is_told_from_other_write_failures() {
        // ENOSPC, as the local backend's error carries it.
        let full = StorageError::on_write(
            "jobs/a/x.json",
            generic(std::io::Error::from_raw_os_error(28)),
        );
        assert!(matches!(full, StorageError::Full { .. }), "{full:?}");
        let message = full.to_string().to_lowercase();
        assert!(
            message.contains("no space left on device") && message.contains("jobs/a/x.json"),
            "{message}"
        );
        let denied = StorageError::on_write("k", generic(std::io::Error::from_raw_os_error(13)));
        assert!(matches!(denied, StorageError::Store(_)), "{denied:?}");
    }
}
