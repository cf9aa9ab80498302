use serde::{Deserialize, Serialize};
use voxline_core::{Stage, StageRunId};

/// What travels through Redis: ids and numbers, never media or state.
/// PostgreSQL holds everything else.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageMessage {
    pub run_id: StageRunId,
    pub stage: Stage,
    /// The attempt number when dispatched (for logs; the lease decides).
    pub attempt: i32,
    /// W3C `traceparent` of the dispatching span, when tracing is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}
