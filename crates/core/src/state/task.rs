//! A task's life: one target language of a job (for a transcribe job, the
//! source language).
//!
//! ```text
//!           start           advance (a stage done, more to come)
//!  pending ───────▶ running ◀──────┐
//!     │               │  │  └──────┘
//!     │               │  └─ complete ─▶ completed ──reopen (an edit)──▶ running
//!     └── fail ───────┴──── fail ─────▶ failed ──────retry─────────────▶ running
//!  pending | running ──cancel──▶ cancelled
//! ```

use crate::TaskStatus as S;
use crate::state::Refused;

text_enum!(
    /// What can happen to a task.
    TaskEvent, "task event" {
        Start => "start",
        Advance => "advance",
        Complete => "complete",
        Fail => "fail",
        Cancel => "cancel",
        Retry => "retry",
        Reopen => "reopen",
    }
);

impl TaskEvent {
    /// The states this event applies in.
    pub fn from(self) -> &'static [S] {
        match self {
            Self::Start | Self::Fail | Self::Cancel => &[S::Pending, S::Running],
            Self::Advance | Self::Complete => &[S::Running],
            Self::Retry => &[S::Failed],
            Self::Reopen => &[S::Completed],
        }
    }

    /// The state the task is in after this event.
    pub fn to(self) -> S {
        match self {
            Self::Start | Self::Advance | Self::Retry | Self::Reopen => S::Running,
            Self::Complete => S::Completed,
            Self::Fail => S::Failed,
            Self::Cancel => S::Cancelled,
        }
    }

    /// The next state of a task in `state`, or why the event does not apply.
    pub fn apply(self, state: S) -> Result<S, Refused> {
        if self.from().contains(&state) {
            Ok(self.to())
        } else {
            Err(Refused {
                what: "task",
                event: self.as_str(),
                state: state.as_str(),
            })
        }
    }
}

impl S {
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_ends_once_and_is_reopened_only_on_request() {
        assert_eq!(TaskEvent::Complete.apply(S::Running), Ok(S::Completed));
        assert!(TaskEvent::Complete.apply(S::Completed).is_err());
        assert!(TaskEvent::Fail.apply(S::Cancelled).is_err());
        assert_eq!(TaskEvent::Reopen.apply(S::Completed), Ok(S::Running));
        assert_eq!(TaskEvent::Retry.apply(S::Failed), Ok(S::Running));
        assert!(TaskEvent::Retry.apply(S::Cancelled).is_err());
    }
}
