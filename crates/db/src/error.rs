//! What can go wrong in the database layer: faults of PostgreSQL or the
//! connection ([`DbError`]), and, for each operation a request can be
//! refused by, a typed error naming why. Callers match on variants; the
//! words people read are the gateway's (its error table).

use voxline_core::{Credits, Priority, Stage, TaskStatus};

/// A database failure, or a lookup that found nothing.
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
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    /// One fault reported to every caller of a batch.
    #[error(transparent)]
    Shared(std::sync::Arc<DbError>),
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
            DbError::Shared(e) => e.is_transient(),
            _ => false,
        }
    }
}

impl From<voxline_core::CoreError> for DbError {
    fn from(e: voxline_core::CoreError) -> Self {
        DbError::Corrupt(e.to_string())
    }
}

impl From<voxline_core::state::Refused> for DbError {
    fn from(e: voxline_core::state::Refused) -> Self {
        DbError::Corrupt(e.to_string())
    }
}

/// Why a job was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateJobError {
    #[error("the idempotency key was already used for a different request")]
    IdempotencyKeyReused,
    #[error("{in_flight} jobs in flight, the limit is {limit}")]
    TooManyInFlight { in_flight: i64, limit: i64 },
    #[error("the job needs {needed} credits and {available} are available")]
    InsufficientCredits { needed: Credits, available: Credits },
    #[error("priority {asked} is above the tenant's allowance ({allowed})")]
    PriorityNotAllowed { asked: Priority, allowed: Priority },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a job was not cancelled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    #[error("no such job")]
    NotFound,
    #[error("the job has already ended")]
    AlreadyEnded,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a job's failed tasks were not retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    #[error("no such job")]
    NotFound,
    #[error("the job has no failed stage")]
    NothingToRetry,
    #[error("the retry needs {needed} credits and {available} are available")]
    InsufficientCredits { needed: Credits, available: Credits },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a job was not deleted.
#[derive(Debug, thiserror::Error)]
pub enum DeleteJobError {
    #[error("no such job")]
    NotFound,
    #[error("the job is still running")]
    StillRunning,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a task's lines were not edited.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("no such job or task")]
    NotFound,
    #[error("the job was cancelled")]
    JobCancelled,
    #[error("the {language} task failed")]
    TaskFailed { language: String },
    #[error("the {language} task is {status}")]
    TaskNotCompleted {
        language: String,
        status: TaskStatus,
    },
    #[error("the job has no stage that uses edited lines")]
    NothingUsesEdits,
    #[error("the {language} task never reached its {stage} stage")]
    StageNeverReached { language: String, stage: Stage },
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a stage run's outcome was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The run was cancelled or taken over: its lease is gone, and nothing
    /// of the outcome was written.
    #[error("the lease on the run was lost")]
    LeaseLost,
    #[error(transparent)]
    Db(#[from] DbError),
}

/// A PostgreSQL error inside an operation is the operation's `Db` error.
macro_rules! db_faults {
    ($($error:ident),+) => {$(
        impl From<tokio_postgres::Error> for $error {
            fn from(e: tokio_postgres::Error) -> Self {
                Self::Db(e.into())
            }
        }
    )+};
}
db_faults!(
    CreateJobError,
    CancelError,
    RetryError,
    DeleteJobError,
    EditError,
    CommitError
);
