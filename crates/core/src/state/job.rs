//! A job's state is the sum of its tasks' states. The job row keeps counts
//! (tasks still open, failed, cancelled) that every task transition moves by
//! a delta in the same statement, so the roll-up is one atomic update of one
//! row, whatever runs at once; the status follows from the counts.
//!
//! ```text
//!  queued ──first stage claimed──▶ running ──last task ends──▶ failed (any task failed)
//!                                     ▲                        cancelled (else, any cancelled)
//!                                     └──retry, edit────────── completed (else)
//! ```

use crate::{JobStatus, TaskStatus};

/// What the job row counts of its tasks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobCounts {
    /// Tasks pending or running.
    pub open: i32,
    pub failed: i32,
    pub cancelled: i32,
    /// Whether any stage of the job was ever claimed.
    pub started: bool,
}

impl JobStatus {
    /// The job's state from its counts: queued until a stage starts, running
    /// while any task is open, then failed if any task failed, cancelled if
    /// any was cancelled, else completed. The schema's generated
    /// `jobs.status` computes the same (a test holds them equal).
    pub fn from_counts(c: JobCounts) -> Self {
        if c.open > 0 {
            if c.started {
                Self::Running
            } else {
                Self::Queued
            }
        } else if c.failed > 0 {
            Self::Failed
        } else if c.cancelled > 0 {
            Self::Cancelled
        } else {
            Self::Completed
        }
    }

    /// A job in a final state changes no more (a retry starts a new run of it).
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// How a job's counts move when tasks change state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JobDelta {
    pub open: i32,
    pub failed: i32,
    pub cancelled: i32,
}

impl JobDelta {
    /// The change one task's move from `from` to `to` makes.
    pub fn of(from: TaskStatus, to: TaskStatus) -> Self {
        let count = |s: TaskStatus, want: fn(TaskStatus) -> bool| i32::from(want(s));
        let open = |s: TaskStatus| !s.is_final();
        let failed = |s: TaskStatus| s == TaskStatus::Failed;
        let cancelled = |s: TaskStatus| s == TaskStatus::Cancelled;
        Self {
            open: count(to, open) - count(from, open),
            failed: count(to, failed) - count(from, failed),
            cancelled: count(to, cancelled) - count(from, cancelled),
        }
    }

    pub fn plus(self, other: Self) -> Self {
        Self {
            open: self.open + other.open,
            failed: self.failed + other.failed,
            cancelled: self.cancelled + other.cancelled,
        }
    }

    pub fn is_zero(self) -> bool {
        self == Self::default()
    }

    /// The counts after this change.
    pub fn applied_to(self, c: JobCounts) -> JobCounts {
        JobCounts {
            open: c.open + self.open,
            failed: c.failed + self.failed,
            cancelled: c.cancelled + self.cancelled,
            started: c.started,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus as T;

    /// The old roll-up over the tasks themselves: the counts must agree with it.
    fn from_tasks(tasks: &[T]) -> JobStatus {
        let started = tasks.iter().any(|t| *t != T::Pending);
        let mut c = JobCounts {
            started,
            ..Default::default()
        };
        for t in tasks {
            c = JobDelta::of(T::Pending, *t).applied_to(c);
            c.open += 1;
        }
        JobStatus::from_counts(c)
    }

    #[test]
    fn the_job_follows_its_tasks() {
        assert_eq!(from_tasks(&[T::Pending, T::Pending]), JobStatus::Queued);
        assert_eq!(from_tasks(&[T::Completed, T::Running]), JobStatus::Running);
        assert_eq!(from_tasks(&[T::Completed, T::Failed]), JobStatus::Failed);
        assert_eq!(
            from_tasks(&[T::Completed, T::Cancelled]),
            JobStatus::Cancelled
        );
        assert_eq!(
            from_tasks(&[T::Failed, T::Cancelled]),
            JobStatus::Failed,
            "a failure outranks a cancellation"
        );
        assert_eq!(from_tasks(&[T::Completed]), JobStatus::Completed);
    }

    #[test]
    fn deltas_count_what_moves() {
        assert_eq!(
            JobDelta::of(T::Running, T::Failed),
            JobDelta {
                open: -1,
                failed: 1,
                cancelled: 0
            }
        );
        assert_eq!(
            JobDelta::of(T::Failed, T::Running),
            JobDelta {
                open: 1,
                failed: -1,
                cancelled: 0
            }
        );
        assert!(JobDelta::of(T::Pending, T::Running).is_zero());
    }
}
