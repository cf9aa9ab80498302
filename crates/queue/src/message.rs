//! What travels through Redis: the `voxline.v1.StageJob` message of
//! `proto/` (ids and numbers, never media or state; PostgreSQL holds the
//! rest), as JSON.

use voxline_core::{Dispatch, Priority, StageRunId};
pub use voxline_proto::v1::StageJob;

/// The message for one dispatch; it is ready once the dispatch is due (a
/// retry's backoff or a scheduled publish run later than now).
pub fn stage_job(d: &Dispatch) -> StageJob {
    StageJob {
        run_id: d.run_id.to_string(),
        stage: d.stage.as_str().to_owned(),
        attempt: d.attempt,
        traceparent: d.traceparent.clone(),
        tenant: d.tenant.to_string(),
        priority: d.priority.as_str().to_owned(),
        ready_at_ms: d.not_before.max(chrono::Utc::now()).timestamp_millis(),
    }
}

/// The run a message is about; `None` for a malformed message.
pub fn run_of(job: &StageJob) -> Option<StageRunId> {
    StageRunId::parse(&job.run_id).ok()
}

/// A message's priority (`normal` when it says none it knows).
pub fn priority_of(job: &StageJob) -> Priority {
    Priority::parse(&job.priority).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxline_core::{Stage, TenantId};

    #[test]
    fn the_wire_form_is_the_schema_in_json() {
        let d = Dispatch {
            run_id: StageRunId::new(),
            stage: Stage::Render,
            attempt: 2,
            tenant: TenantId::new(),
            priority: Priority::High,
            not_before: chrono::Utc::now(),
            since: chrono::Utc::now(),
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        };
        let job = stage_job(&d);
        let json = serde_json::to_value(&job).unwrap();
        assert_eq!(json["stage"], "render");
        assert_eq!(json["attempt"], 2);
        assert_eq!(json["priority"], "high");
        assert_eq!(json["traceparent"], d.traceparent);
        let back: StageJob = serde_json::from_value(json).unwrap();
        assert_eq!(run_of(&back), Some(d.run_id));
        assert_eq!(priority_of(&back), Priority::High);
        assert_eq!(run_of(&StageJob::default()), None);

        // A retry waiting out its backoff is ready when the backoff ends.
        let later = chrono::Utc::now() + chrono::Duration::seconds(30);
        let retry = stage_job(&Dispatch {
            not_before: later,
            ..d
        });
        assert_eq!(retry.ready_at_ms, later.timestamp_millis());
    }
}
