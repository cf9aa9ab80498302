/// A database failure. `NotFound` and `Conflict` are about the request;
/// the rest are faults of the database or the connection.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("no connection to PostgreSQL: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("invalid database settings: {0}")]
    Config(String),
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    LimitReached(String),
    #[error("the job needs {needed} credits and {available} are available")]
    InsufficientCredits {
        needed: voxline_core::Credits,
        available: voxline_core::Credits,
    },
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
}

impl DbError {
    /// True when the fault may clear by itself (connection lost, server restarting).
    pub fn is_transient(&self) -> bool {
        match self {
            DbError::Pool(_) => true,
            DbError::Postgres(e) => match e.as_db_error() {
                None => true,
                // Connection exceptions, serialization failures and deadlocks,
                // insufficient resources, and operator intervention (the
                // server shutting down or restarting) pass by themselves.
                Some(db) => {
                    let code = db.code().code();
                    ["08", "40", "53", "57"]
                        .iter()
                        .any(|class| code.starts_with(class))
                        || code == "55P03"
                }
            },
            _ => false,
        }
    }
}

impl From<voxline_core::CoreError> for DbError {
    fn from(e: voxline_core::CoreError) -> Self {
        DbError::Corrupt(e.to_string())
    }
}
