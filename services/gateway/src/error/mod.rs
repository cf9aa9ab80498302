//! Every error the API answers, as `{"error": {"code", "message"}}` with a
//! stable snake_case code from the one table of codes (`codes.rs`), which a
//! test holds equal to docs/errors.md.

mod codes;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use voxline_core::Credits;
use voxline_db::{CancelError, CreateJobError, DbError, DeleteJobError, EditError, RetryError};

pub use codes::Code;

#[derive(Debug, Clone)]
pub struct ApiError {
    /// What went wrong, for programs; its HTTP status comes with it.
    pub code: Code,
    pub message: String,
    /// Seconds a client should wait before trying again (429, 503).
    pub retry_after: Option<u64>,
    /// Facts beside the message a client can act on, such as the two
    /// durations of a `duration_mismatch`; answered inside `error`.
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl ApiError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after: None,
            details: serde_json::Map::new(),
        }
    }

    /// The HTTP status the error is answered with.
    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    /// The same error with a more helpful message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// Adds a fact to the error object.
    pub fn with_detail(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    /// Asks the client to come back after `seconds`.
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("no such {what}"))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(Code::Unauthorized, message)
    }

    /// A fault on our side: logged in full, answered without internals.
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "{context}");
        Self::new(Code::Internal, format!("{context}; the error was logged"))
    }

    pub fn unavailable(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::warn!(error = %error, "{context}");
        Self::new(Code::Unavailable, format!("{context}; try again shortly"))
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status()
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status());
        if let Some(seconds) = self.retry_after {
            response.insert_header(("retry-after", seconds.to_string()));
        }
        let mut error = self.details.clone();
        error.insert("code".into(), json!(self.code.as_str()));
        error.insert("message".into(), json!(self.message));
        response.json(json!({ "error": error }))
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::NotFound => ApiError::not_found("resource"),
            e if e.is_transient() => {
                ApiError::unavailable("the database is unavailable", e).retry_after(5)
            }
            e => ApiError::internal("database error", e),
        }
    }
}

/// The answer to a job or retry that costs more than the balance holds.
fn insufficient_credits(needed: Credits, available: Credits, what: &str) -> ApiError {
    let shortfall = Credits(needed.0 - available.0);
    ApiError::new(Code::InsufficientCredits,
        format!("{what} costs {needed} credits and {available} are available; {shortfall} more are needed"),
    )
    .with_detail("needed", needed.as_credits())
    .with_detail("available", available.as_credits())
    .with_detail("shortfall", shortfall.as_credits())
}

impl From<CreateJobError> for ApiError {
    fn from(e: CreateJobError) -> Self {
        match e {
            CreateJobError::IdempotencyKeyReused => ApiError::new(Code::IdempotencyKeyReused,
                "this Idempotency-Key was already used for a different request",
            ),
            CreateJobError::TooManyInFlight { in_flight, limit } => ApiError::new(Code::TooManyJobs,
                format!("{in_flight} of your jobs are still queued or running (the limit is {limit}); try again when some have finished"),
            )
            .retry_after(10),
            CreateJobError::InsufficientCredits { needed, available } => {
                insufficient_credits(needed, available, "the job")
            }
            CreateJobError::PriorityNotAllowed { asked, allowed } => ApiError::new(Code::PriorityNotAllowed,
                format!("priority `{asked}` is above what this account may ask for (`{allowed}` at most); use a lower one, or ask the operator to raise the allowance"),
            ),
            CreateJobError::Db(e) => e.into(),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(e: CancelError) -> Self {
        match e {
            CancelError::NotFound => ApiError::not_found("job"),
            CancelError::AlreadyEnded => ApiError::new(
                Code::JobFinished,
                "the job has already ended; there is nothing to cancel",
            ),
            CancelError::Db(e) => e.into(),
        }
    }
}

impl From<RetryError> for ApiError {
    fn from(e: RetryError) -> Self {
        match e {
            RetryError::NotFound => ApiError::not_found("job"),
            RetryError::NothingToRetry => {
                ApiError::new(Code::NothingToRetry, "the job has no failed stage to retry")
            }
            RetryError::InsufficientCredits { needed, available } => {
                insufficient_credits(needed, available, "the retry")
            }
            RetryError::Db(e) => e.into(),
        }
    }
}

impl From<DeleteJobError> for ApiError {
    fn from(e: DeleteJobError) -> Self {
        match e {
            DeleteJobError::NotFound => ApiError::not_found("job"),
            DeleteJobError::StillRunning => ApiError::new(
                Code::JobRunning,
                "the job is still running; cancel it first",
            ),
            DeleteJobError::Db(e) => e.into(),
        }
    }
}

impl From<EditError> for ApiError {
    fn from(e: EditError) -> Self {
        let busy = |m: String| ApiError::new(Code::TaskBusy, m);
        match e {
            EditError::NotFound => ApiError::not_found("task"),
            EditError::JobCancelled => {
                busy("the job was cancelled; create a new job to dub it again".into())
            }
            EditError::TaskFailed { language } => busy(format!(
                "the {language} task failed; retry the job (POST /v1/jobs/{{id}}/retry), then edit its lines once it has completed"
            )),
            EditError::TaskNotCompleted { language, status } => busy(format!(
                "the {language} task is {status}; edit its lines once it has completed"
            )),
            EditError::NothingUsesEdits => {
                busy("this job has no stage that uses edited lines".into())
            }
            EditError::StageNeverReached { language, stage } => busy(format!(
                "the {language} task never reached its {stage} stage; retry the job first"
            )),
            EditError::Db(e) => e.into(),
        }
    }
}

/// How long a client is asked to wait when storage is full: freeing space
/// takes a person, so sooner than a minute would only repeat the refusal.
const STORAGE_FULL_RETRY_SECONDS: u64 = 60;

impl From<voxline_storage::StorageError> for ApiError {
    fn from(e: voxline_storage::StorageError) -> Self {
        match e {
            voxline_storage::StorageError::NotFound(_) => ApiError::not_found("file"),
            voxline_storage::StorageError::BadLink => ApiError::new(
                Code::InvalidLink,
                "this download link is invalid or has expired; ask the API for a fresh one",
            ),
            e @ voxline_storage::StorageError::Full { .. } => {
                // An operator has to act; the client can only wait.
                tracing::error!(error = %e, "object storage is full");
                ApiError::new(
                    Code::StorageFull,
                    "the server's storage is full, so nothing was stored; try again later, once its operator has freed space",
                )
                .retry_after(STORAGE_FULL_RETRY_SECONDS)
            }
            e => ApiError::unavailable("object storage is unavailable", e),
        }
    }
}
