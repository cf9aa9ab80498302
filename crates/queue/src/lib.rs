//! The one crate that talks to apalis: queue names, typed dispatch to Redis,
//! and the stage runner every worker shares (claim with a lease, heartbeat,
//! run, commit if still the owner, dispatch what comes next).
//!
//! apalis-redis delivers at least once and re-runs messages a dead worker had
//! fetched, even finished ones; it also retries any `Err` on its own. So the
//! runner answers apalis `Ok` for everything it has recorded in PostgreSQL,
//! and PostgreSQL alone decides whether a delivery is work or a duplicate.

mod backoff;
mod dispatch;
mod message;
mod names;
mod pool;
pub mod rate;
mod runner;
mod service;
mod vendor_gate;

pub use dispatch::{Dispatcher, QueueError, queue_config};
pub use message::{StageJob, run_of, stage_job};
pub use names::queue_name;
pub use pool::run_worker_pool;
pub use runner::{Outcome, Runner, StageContext, StageError, StageHandler};
pub use service::{Connections, run_service, run_stage, shutdown_on_signals};
pub use service::{engines, vendor_gate};
pub use tokio_util::sync::CancellationToken;
pub use vendor_gate::RedisGate;
