//! A job's version moves with every change its views show, so a reader
//! holding a snapshot learns of each change from one version check.

use std::time::Duration;

use voxline_core::state::{Verdict, on_success};
use voxline_core::{JobId, Stage, TenantId};
use voxline_db::runs::{self, Completion, NewArtifact, Outcomes, Usage};
use voxline_db::snapshots::{self, Seen, Snapshot, Version, Wanted};
use voxline_db::{Db, apply, artifacts, jobs, workers};

use crate::common::{TestDb, claim_one, dub_job};

/// Reads the job as a reader holding `known` would, expecting it changed.
async fn changed(db: &Db, tenant: TenantId, job: JobId, known: Option<Version>) -> Snapshot {
    let seen = snapshots::read(db, &[Wanted { job, tenant, known }])
        .await
        .unwrap()
        .pop()
        .unwrap();
    match seen {
        Seen::Changed(s) => *s,
        other => panic!("expected a change after version {known:?}, saw {other:?}"),
    }
}

/// Reads the job as a reader holding `held` would, expecting progress alone,
/// and checks that `held` moved forward by it is the job as a whole read
/// shows it.
async fn progressed(db: &Db, tenant: TenantId, job: JobId, held: &Snapshot) -> Snapshot {
    let wanted = Wanted {
        job,
        tenant,
        known: Some(held.version),
    };
    let seen = snapshots::read(db, &[wanted]).await.unwrap().pop().unwrap();
    let Seen::Progressed(progress) = seen else {
        panic!(
            "expected progress alone after {:?}, saw {seen:?}",
            held.version
        );
    };
    let moved = held
        .progressed(&progress)
        .expect("progress of the job's tasks");
    let whole = changed(db, tenant, job, None).await;
    assert_eq!(format!("{moved:?}"), format!("{whole:?}"));
    moved
}

/// The job's first run, claimed by worker `w1`.
async fn claim_first(db: &Db, created: &jobs::Created) -> runs::Claimed {
    workers::register(db, "w1", None, Duration::from_secs(30))
        .await
        .unwrap();
    claim_one(db, "w1", created.dispatch[0].run_id)
        .await
        .unwrap()
}

/// `claimed` reports progress, its lease held.
async fn report(db: &Db, claimed: &runs::Claimed, fraction: f64, message: &str) {
    assert!(
        runs::progress(db, claimed, fraction, message)
            .await
            .unwrap()
    );
}

async fn unchanged(db: &Db, tenant: TenantId, job: JobId, known: Version) -> bool {
    let wanted = Wanted {
        job,
        tenant,
        known: Some(known),
    };
    matches!(
        snapshots::read(db, &[wanted]).await.unwrap()[..],
        [Seen::Unchanged]
    )
}

#[tokio::test]
async fn every_change_a_view_shows_moves_the_version_and_nothing_else_does() {
    let t = TestDb::new().await;
    let created = dub_job(&t.db, "acme", &["es"], false).await;
    let (job, tenant) = (created.job.id, created.job.tenant_id);
    let first = changed(&t.db, tenant, job, None).await;
    assert_eq!(first.tasks.len(), 1);
    assert!(unchanged(&t.db, tenant, job, first.version).await);

    // Another tenant does not see it, whatever version it claims to hold.
    let other = voxline_db::api_keys::ensure_tenant(&t.db, "other")
        .await
        .unwrap();
    let theirs = Wanted {
        job,
        tenant: other,
        known: Some(first.version),
    };
    assert!(matches!(
        snapshots::read(&t.db, &[theirs]).await.unwrap()[..],
        [Seen::Missing]
    ));

    // Claimed: the run is running.
    let claimed = claim_first(&t.db, &created).await;
    let started = changed(&t.db, tenant, job, Some(first.version)).await;
    assert_eq!(started.runs[0].status.as_str(), "running");

    // Progress: the task's message, twice over, told by progress alone.
    report(&t.db, &claimed, 0.25, "a quarter").await;
    report(&t.db, &claimed, 0.5, "halfway").await;
    let halfway = progressed(&t.db, tenant, job, &started).await;
    assert_eq!(halfway.tasks[0].message, "halfway");
    assert!(unchanged(&t.db, tenant, job, halfway.version).await);

    // Handed back with the calls it made: the usage shows them.
    let call = Usage {
        engine: "whisper".into(),
        unit: "seconds".into(),
        units: 1.0,
        latency_ms: 5,
        cost_usd: 0.0,
        calls: 1,
        ok: true,
        error: None,
    };
    let mut batch = Outcomes::new(48.0);
    batch.released(&claimed, std::slice::from_ref(&call));
    assert!(apply(&t.db, batch).await.unwrap()[0].held);
    let released = changed(&t.db, tenant, job, Some(halfway.version)).await;
    assert_eq!(released.usage.len(), 1);
    assert_eq!(released.runs[0].status.as_str(), "queued");

    // Claimed again and finished with a file.
    let claimed = claim_one(&t.db, "w1", created.dispatch[0].run_id)
        .await
        .unwrap();
    let done = Completion {
        output: serde_json::json!({}),
        engine: Some("whisper".into()),
        artifacts: ["json", "srt"]
            .map(|ext| NewArtifact {
                kind: format!("transcript_{ext}"),
                object_key: format!("jobs/{job}/transcript.{ext}"),
                file_name: format!("transcript.{ext}"),
                content_type: "text/plain".into(),
                size_bytes: 2,
            })
            .into(),
        ..Default::default()
    };
    let plan = on_success(&claimed.snapshot(), Verdict::default(), chrono::Utc::now());
    let mut batch = Outcomes::new(48.0);
    batch.succeeded(&claimed, &done, &plan);
    apply(&t.db, batch).await.unwrap();
    let transcribed = changed(&t.db, tenant, job, Some(released.version)).await;
    assert_eq!(transcribed.artifacts.len(), 2);
    assert_eq!(transcribed.tasks[0].stage, Stage::Translate);

    // A file expiring.
    artifacts::delete(&t.db, transcribed.artifacts[0].id)
        .await
        .unwrap();
    let expired = changed(&t.db, tenant, job, Some(transcribed.version)).await;
    assert_eq!(expired.artifacts.len(), 1);

    // Cancelled, then its files cleaned away.
    jobs::cancel(&t.db, Some(tenant), job).await.unwrap();
    let cancelled = changed(&t.db, tenant, job, Some(expired.version)).await;
    assert_eq!(cancelled.job.status.as_str(), "cancelled");
    jobs::mark_cleaned(&t.db, job).await.unwrap();
    let cleaned = changed(&t.db, tenant, job, Some(cancelled.version)).await;
    assert!(cleaned.artifacts.is_empty());
    assert!(unchanged(&t.db, tenant, job, cleaned.version).await);
    // Cleaning again finds no file: nothing a view shows changes.
    jobs::mark_cleaned(&t.db, job).await.unwrap();
    assert!(unchanged(&t.db, tenant, job, cleaned.version).await);

    // Deleted: gone for the reader too.
    jobs::delete_ended(&t.db, tenant, job).await.unwrap();
    let gone = Wanted {
        job,
        tenant,
        known: Some(cleaned.version),
    };
    assert!(matches!(
        snapshots::read(&t.db, &[gone]).await.unwrap()[..],
        [Seen::Missing]
    ));
}

#[tokio::test]
async fn a_batch_answers_each_reader_even_when_several_ask_for_one_job() {
    let t = TestDb::new().await;
    let a = dub_job(&t.db, "acme", &["es", "fr"], false).await;
    let b = dub_job(&t.db, "acme", &["de"], false).await;
    let ask = |job: &jobs::Created, known| Wanted {
        job: job.job.id,
        tenant: job.job.tenant_id,
        known,
    };
    let seen = snapshots::read(&t.db, &[ask(&a, None), ask(&b, None), ask(&a, None)])
        .await
        .unwrap();
    let langs: Vec<Vec<String>> = seen
        .iter()
        .map(|s| match s {
            Seen::Changed(s) => s.tasks.iter().map(|t| t.language.clone()).collect(),
            other => panic!("expected a snapshot, saw {other:?}"),
        })
        .collect();
    assert_eq!(langs, [vec!["es", "fr"], vec!["de"], vec!["es", "fr"]]);
}

#[tokio::test]
async fn progress_beside_another_change_or_committed_below_the_newest_event_held_reads_the_job_whole()
 {
    let t = TestDb::new().await;
    let created = dub_job(&t.db, "acme", &["es", "fr"], false).await;
    let (job, tenant) = (created.job.id, created.job.tenant_id);
    let claimed = claim_first(&t.db, &created).await;
    let held = changed(&t.db, tenant, job, None).await;

    // An event that took its id before the newest the reader holds and
    // committed after it (as concurrent transactions may), then progress:
    // the events newer than the reader's do not make up the difference.
    t.db.client()
        .await
        .unwrap()
        .execute(
            "INSERT INTO job_events (id, job_id, kind) VALUES (-1, $1, 'stage_progress')",
            &[&job],
        )
        .await
        .unwrap();
    report(&t.db, &claimed, 0.5, "halfway").await;
    let late = changed(&t.db, tenant, job, Some(held.version)).await;
    assert_eq!(late.version.events, held.version.events + 2);
    assert_eq!(late.tasks[0].message, "halfway");

    // From there, progress alone is told as progress.
    report(&t.db, &claimed, 0.75, "nearly").await;
    let nearly = progressed(&t.db, tenant, job, &late).await;
    assert_eq!(nearly.tasks[0].message, "nearly");

    // Progress, then a change of another kind: the job whole.
    report(&t.db, &claimed, 0.9, "almost").await;
    jobs::cancel(&t.db, Some(tenant), job).await.unwrap();
    let cancelled = changed(&t.db, tenant, job, Some(nearly.version)).await;
    assert_eq!(cancelled.job.status.as_str(), "cancelled");
}
