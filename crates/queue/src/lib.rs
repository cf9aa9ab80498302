//! The queue: each stage's runs on Redis, and the apalis backend the
//! workers pull them through.
//!
//! A stage's queue serves tenants in turn, and within a tenant the
//! highest priority first (ageing so that nothing starves); a run is put
//! on it once however often it is sent; a consumer blocks until work is
//! made ready and takes only as much as it has places for; what a consumer
//! took is handed to others if the consumer falls silent. Redis only
//! dispatches: PostgreSQL decides whether a delivery is work or a
//! duplicate, and the janitor re-sends whatever Redis lost. `lua/` holds
//! the scripts (every change of the queue is one atomic script), and
//! `docs/pipeline.md` the reasons for this design over apalis-redis's.

mod client;
mod consumer;
mod error;
mod message;
mod names;
mod scripts;
#[cfg(test)]
mod scripts_tests;

pub use client::{Queue, QueueStats};
pub use consumer::{Consumer, Delivered, Settle, SettleLayer, StageQueue};
pub use error::QueueError;
pub use message::{StageJob, priority_of, run_of, stage_job};
pub use names::queue_name;
