//! A stage run's life. One row per (job, language, stage), retried in place:
//!
//! ```text
//!            claim              succeed
//!  queued ──────────▶ running ──────────▶ succeeded ──rerun (an edit)──▶ queued
//!    ▲  ▲               │ │ │
//!    │  └─ fail, retry ─┘ │ └─ fail for good ─▶ failed ──retry──▶ queued
//!    └──── release
//!  queued | running ──cancel──▶ cancelled
//! ```
//!
//! A run whose worker died is taken over by the janitor as a failure of its
//! own kind (`worker_lost`, counted apart): `fail_and_retry`, or `fail` once
//! too many workers died under it.

use crate::StageRunStatus as S;
use crate::state::Refused;

text_enum!(
    /// What can happen to a stage run.
    RunEvent, "run event" {
        Claim => "claim",
        Succeed => "succeed",
        FailAndRetry => "fail_and_retry",
        Fail => "fail",
        Release => "release",
        Cancel => "cancel",
        Retry => "retry",
        Rerun => "rerun",
    }
);

impl RunEvent {
    /// The states this event applies in; in any other it is refused.
    pub fn from(self) -> &'static [S] {
        match self {
            Self::Claim => &[S::Queued],
            Self::Succeed | Self::FailAndRetry | Self::Fail | Self::Release => &[S::Running],
            Self::Cancel => &[S::Queued, S::Running],
            Self::Retry => &[S::Failed],
            Self::Rerun => &[S::Succeeded],
        }
    }

    /// The state the run is in after this event.
    pub fn to(self) -> S {
        match self {
            Self::Claim => S::Running,
            Self::Succeed => S::Succeeded,
            Self::FailAndRetry | Self::Release | Self::Retry | Self::Rerun => S::Queued,
            Self::Fail => S::Failed,
            Self::Cancel => S::Cancelled,
        }
    }

    /// The next state of a run in `state`, or why the event does not apply.
    pub fn apply(self, state: S) -> Result<S, Refused> {
        if self.from().contains(&state) {
            Ok(self.to())
        } else {
            Err(Refused {
                what: "stage run",
                event: self.as_str(),
                state: state.as_str(),
            })
        }
    }

    /// Whether the event ends the attempt's lease (the run is no longer held).
    pub fn ends_lease(self) -> bool {
        self.from() == [S::Running] || self == Self::Cancel
    }
}

impl S {
    /// A run in a final state changes only when a person asks (retry, edit).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_queued_run_is_claimed_and_only_a_running_one_commits() {
        assert_eq!(RunEvent::Claim.apply(S::Queued), Ok(S::Running));
        for state in [S::Running, S::Succeeded, S::Failed, S::Cancelled] {
            assert!(RunEvent::Claim.apply(state).is_err(), "{state}");
        }
        for state in [S::Queued, S::Succeeded, S::Failed, S::Cancelled] {
            assert!(RunEvent::Succeed.apply(state).is_err(), "{state}");
        }
        let refused = RunEvent::Succeed.apply(S::Cancelled).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "succeed does not apply to a stage run that is cancelled"
        );
    }

    #[test]
    fn final_states_are_left_only_by_a_persons_request() {
        for event in RunEvent::ALL {
            for from in event.from() {
                if from.is_final() {
                    assert!(
                        matches!(event, RunEvent::Retry | RunEvent::Rerun),
                        "{event} leaves the final state {from}"
                    );
                }
            }
        }
        assert!(RunEvent::Cancel.apply(S::Succeeded).is_err());
    }

    #[test]
    fn every_state_is_reachable_from_queued() {
        let mut seen = vec![S::Queued];
        let mut grew = true;
        while grew {
            grew = false;
            for event in RunEvent::ALL {
                for from in event.from() {
                    if seen.contains(from) && !seen.contains(&event.to()) {
                        seen.push(event.to());
                        grew = true;
                    }
                }
            }
        }
        assert_eq!(seen.len(), S::ALL.len());
    }
}
