//! The state machines of stage runs, tasks and jobs, as pure functions: an
//! event and the current state in, the next state (or a refusal) out; and
//! the plans a runner's claim, success or failure makes of a whole run
//! (which tasks move, which runs are scheduled, which events are told).
//! `voxline-db` applies these plans; it decides no state of its own.
//! `docs/state-machine.md` draws every transition.

mod event;
mod job;
mod plan;
mod run;
mod task;

pub use event::EventKind;
pub use job::{JobCounts, JobDelta};
pub use plan::{
    ClaimedRun, FailurePlan, FailureStep, NewEvent, NewRun, SuccessPlan, TaskSnapshot, TaskStep,
    Verdict, doing, on_failure, on_release, on_success,
};
pub use run::RunEvent;
pub use task::TaskEvent;

/// An event that does not apply in the current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{event} does not apply to a {what} that is {state}")]
pub struct Refused {
    pub what: &'static str,
    pub event: &'static str,
    pub state: &'static str,
}
