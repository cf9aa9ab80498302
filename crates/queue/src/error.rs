/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("a message on the `{queue}` queue is not a stage job: {message}")]
    Malformed { queue: String, message: String },
}

impl QueueError {
    /// Whether it is Redis being away (unreachable, restarting, stalled).
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Redis(e) => {
                e.is_io_error()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                    || e.is_timeout()
                    || e.is_unrecoverable_error()
            }
            Self::Malformed { .. } => false,
        }
    }
}
