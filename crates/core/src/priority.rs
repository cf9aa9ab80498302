//! How soon a job's stages are served, within its tenant's allowance.
//!
//! Each stage's queue serves tenants in turn (one stage of each tenant with
//! work waiting, round after round), and within a tenant the stage with the
//! lowest rank: its job's age (when the job was made), less a step for each
//! level above `normal`. A higher level therefore goes ahead of jobs made up
//! to that many steps before it, never further, and the oldest job goes
//! first at every stage: a job older than the steps between two levels
//! outranks newer work of any level, so nothing starves.

text_enum!(
    /// A job's priority, lowest first (PostgreSQL orders the enum the same way).
    #[derive(Default)]
    Priority, "priority", sql "priority" {
        Low => "low",
        #[default]
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

impl Priority {
    /// Levels above `normal` (negative below it).
    pub fn level(self) -> i64 {
        match self {
            Self::Low => -1,
            Self::Normal => 0,
            Self::High => 1,
            Self::Urgent => 2,
        }
    }

    /// The rank of a stage of this priority whose job was made at
    /// `since_ms` (milliseconds since the epoch), each level worth
    /// `step_ms`: lower ranks are served first within a tenant. (The queue's
    /// push script computes the same, `lua/push.lua`.)
    pub fn rank(self, since_ms: i64, step_ms: i64) -> i64 {
        since_ms - self.level() * step_ms
    }

    /// Whether a tenant allowed `allowance` may ask for this priority.
    pub fn within(self, allowance: Priority) -> bool {
        self.level() <= allowance.level()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_priority_jumps_ahead_by_its_steps_and_no_further() {
        let step = 60_000;
        let backlog = Priority::Normal.rank(1_000_000, step);
        let urgent_later = Priority::High.rank(1_000_000 + 30_000, step);
        assert!(urgent_later < backlog, "half a step later, still ahead");
        let much_later = Priority::High.rank(1_000_000 + 90_000, step);
        assert!(much_later > backlog, "past its step, it waits its turn");
        assert!(Priority::High.within(Priority::High));
        assert!(!Priority::Urgent.within(Priority::High));
        assert!(Priority::Low.level() < Priority::Normal.level());
    }
}
