//! A worker process's life: the stage runner every stage goes through
//! (claim under the process's lease, run, record the outcome the state
//! machine plans, settle the delivery), the apalis worker that feeds it
//! from the stage's queue, and the process around them (connections,
//! operations endpoint, signals, graceful stop).

mod backoff;
mod pool;
mod runner;
mod service;

pub use pool::run_worker_pool;
pub use runner::{Delivery, Outcome, Runner, StageContext, StageError, StageHandler};
pub use service::{
    Connections, engines, run_service, run_stage, shutdown_on_signals, vendor_gate, worker_name,
};
pub use tokio_util::sync::CancellationToken;

/// Why a worker process could not start or stopped on its own.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error(transparent)]
    Db(#[from] voxline_db::DbError),
    #[error(transparent)]
    Queue(#[from] voxline_queue::QueueError),
    #[error("{0}")]
    Setup(String),
    #[error("the worker stopped: {0}")]
    Stopped(String),
}
