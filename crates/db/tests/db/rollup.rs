//! A job's status is a generated column over its task counts (migration
//! V14); the state machine has the same rule (`JobStatus::from_counts`).
//! They must agree on every count.

use voxline_core::JobStatus;
use voxline_core::state::JobCounts;

use crate::common::{TestDb, dub_job};

#[tokio::test]
async fn the_schemas_roll_up_is_the_state_machines() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es"], false).await.job.id;
    let client = t.db.client().await.unwrap();
    for open in 0..3 {
        for failed in 0..3 {
            for cancelled in 0..3 {
                for started in [false, true] {
                    let sql: JobStatus = client
                        .query_one(
                            "UPDATE jobs SET tasks_open = $2, tasks_failed = $3, tasks_cancelled = $4,
                                    started_at = CASE WHEN $5 THEN now() END,
                                    finished_at = CASE WHEN $2 = 0 THEN now() END
                             WHERE id = $1 RETURNING status",
                            &[&job, &open, &failed, &cancelled, &started],
                        )
                        .await
                        .unwrap()
                        .get(0);
                    let rust = JobStatus::from_counts(JobCounts {
                        open,
                        failed,
                        cancelled,
                        started,
                    });
                    assert_eq!(
                        sql, rust,
                        "open {open}, failed {failed}, cancelled {cancelled}, started {started}"
                    );
                }
            }
        }
    }
}

#[tokio::test]
async fn the_enums_of_the_schema_are_the_rust_enums() {
    let t = TestDb::new().await;
    let client = t.db.client().await.unwrap();
    let labels = |name: &'static str| {
        let client = &client;
        async move {
            client
                .query("SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid WHERE t.typname = $1 ORDER BY e.enumsortorder", &[&name])
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect::<Vec<_>>()
        }
    };
    fn words<T: Copy>(all: &[T], word: fn(T) -> &'static str) -> Vec<String> {
        all.iter().map(|v| word(*v).to_owned()).collect()
    }
    use voxline_core::{JobKind, Priority, Stage, StageRunStatus, TaskStatus, state::EventKind};
    assert_eq!(
        labels(JobStatus::SQL_TYPE).await,
        words(JobStatus::ALL, JobStatus::as_str)
    );
    assert_eq!(
        labels(TaskStatus::SQL_TYPE).await,
        words(TaskStatus::ALL, TaskStatus::as_str)
    );
    assert_eq!(
        labels(StageRunStatus::SQL_TYPE).await,
        words(StageRunStatus::ALL, StageRunStatus::as_str)
    );
    assert_eq!(
        labels(Stage::SQL_TYPE).await,
        words(Stage::ALL, Stage::as_str)
    );
    assert_eq!(
        labels(JobKind::SQL_TYPE).await,
        words(JobKind::ALL, JobKind::as_str)
    );
    assert_eq!(
        labels(Priority::SQL_TYPE).await,
        words(Priority::ALL, Priority::as_str)
    );
    assert_eq!(
        labels(EventKind::SQL_TYPE).await,
        words(EventKind::ALL, EventKind::as_str)
    );
}
