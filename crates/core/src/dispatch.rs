//! A run to put on its stage's queue, as the database hands it to the queue.

use chrono::{DateTime, Utc};

use crate::{Priority, Stage, StageRunId, TenantId};

/// One delivery to make: which run, of which tenant (the queue serves
/// tenants in turn) and priority, not before when.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatch {
    pub run_id: StageRunId,
    pub stage: Stage,
    /// The run's attempt when dispatched (informational: the claim fences).
    pub attempt: i32,
    pub tenant: TenantId,
    pub priority: Priority,
    /// Not to be run before this (a retry's backoff).
    pub not_before: DateTime<Utc>,
    /// When the job was made: its stages are served by the job's age (less
    /// their priority's steps), so an older job goes first at every stage.
    pub since: DateTime<Utc>,
    /// The W3C trace context of the request that created the job: the
    /// stage's span is its child. Empty when the job was made untraced.
    pub traceparent: String,
}
