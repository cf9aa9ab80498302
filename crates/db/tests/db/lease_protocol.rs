//! The lease protocol, statement by statement: what each step writes, and
//! that nothing is written once the lease is gone.

use std::time::Duration;

use voxline_core::Stage;
use voxline_core::state::{Verdict, on_failure, on_success};
use voxline_db::runs::{self, Claimed, Completion, Failure, Outcomes};
use voxline_db::workers::{self, Orphans, Renewal};
use voxline_db::{Db, apply, jobs};

use crate::common::{TestDb, claim_one, dub_job};

const LEASE: Duration = Duration::from_secs(30);

async fn succeed(db: &Db, c: &Claimed) -> voxline_db::runs::Applied {
    let done = Completion {
        output: serde_json::json!({"ok": true}),
        engine: Some("test".into()),
        ..Default::default()
    };
    let plan = on_success(
        &c.snapshot(),
        Verdict {
            engine: Some("test"),
            ..Default::default()
        },
        chrono::Utc::now(),
    );
    let mut batch = Outcomes::new(48.0);
    batch.succeeded(c, &done, &plan);
    apply(db, batch).await.unwrap().pop().unwrap()
}

#[tokio::test]
async fn a_run_is_claimed_once_with_a_higher_token_each_time() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es"], false).await;
    let run = job.dispatch[0].run_id;
    workers::register(&t.db, "w1", Some(Stage::Transcribe), LEASE)
        .await
        .unwrap();
    // Two deliveries in one batch, then one from another worker: one claim.
    let both = runs::claim(&t.db, "w1", &[(run, "a".into()), (run, "b".into())])
        .await
        .unwrap();
    assert_eq!(both.iter().filter(|c| c.is_some()).count(), 1);
    let claimed = both.into_iter().flatten().next().unwrap();
    assert_eq!(claimed.lease.token, 1);
    assert_eq!(claimed.stage, Stage::Transcribe);
    assert_eq!(
        claimed.tasks.len(),
        1,
        "the transcription serves the one task"
    );
    assert!(claim_one(&t.db, "w2", run).await.is_none());
    let status: String = t
        .one(
            "SELECT status::text FROM jobs WHERE id = $1",
            &[&job.job.id],
        )
        .await;
    assert_eq!(status, "running", "the first claim starts the job");
    let started: i64 = t
        .one(
            "SELECT count(*) FROM job_events WHERE kind = 'stage_started'",
            &[],
        )
        .await;
    assert_eq!(started, 1);
}

#[tokio::test]
async fn success_moves_the_task_on_and_schedules_the_next_stage_once() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es", "fr"], false).await;
    workers::register(&t.db, "w1", Some(Stage::Transcribe), LEASE)
        .await
        .unwrap();
    let claimed = claim_one(&t.db, "w1", job.dispatch[0].run_id)
        .await
        .unwrap();
    let applied = succeed(&t.db, &claimed).await;
    assert!(applied.held);
    let mut next: Vec<Stage> = applied.dispatch.iter().map(|d| d.stage).collect();
    next.dedup();
    assert_eq!(next, [Stage::Translate]);
    assert_eq!(applied.dispatch.len(), 2, "one translation per language");
    assert!(
        applied
            .dispatch
            .iter()
            .all(|d| d.tenant == job.job.tenant_id)
    );
    // The same outcome again: its fence no longer holds, nothing more is written.
    let again = succeed(&t.db, &claimed).await;
    assert!(!again.held && again.dispatch.is_empty());
    let runs: i64 = t
        .one(
            "SELECT count(*) FROM stage_runs WHERE job_id = $1",
            &[&job.job.id],
        )
        .await;
    assert_eq!(runs, 3);
    let commits: i64 = t.one("SELECT count(*) FROM stage_commits", &[]).await;
    assert_eq!(commits, 1);
    let (stage, message): (String, String) = {
        let r =
            t.db.client()
                .await
                .unwrap()
                .query_one(
                    "SELECT stage::text, message FROM tasks WHERE job_id = $1 AND language = 'es'",
                    &[&job.job.id],
                )
                .await
                .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(
        (stage.as_str(), message.as_str()),
        ("translate", "waiting to translate")
    );
}

#[tokio::test]
async fn the_last_task_to_end_ends_the_job_once_whatever_the_batches() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es", "fr"], false).await;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    workers::register(&t.db, "w2", None, LEASE).await.unwrap();
    let mut frontier = vec![job.dispatch[0].run_id];
    let mut turn = 0;
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for run in std::mem::take(&mut frontier) {
            // The two languages go through different workers, in batches of one.
            turn += 1;
            let owner = if turn % 2 == 0 { "w1" } else { "w2" };
            let c = claim_one(&t.db, owner, run).await.unwrap();
            let applied = succeed(&t.db, &c).await;
            assert!(applied.held);
            next.extend(applied.dispatch.iter().map(|d| d.run_id));
        }
        frontier = next;
    }
    let (status, open): (String, i32) = {
        let r =
            t.db.client()
                .await
                .unwrap()
                .query_one(
                    "SELECT status::text, tasks_open FROM jobs WHERE id = $1",
                    &[&job.job.id],
                )
                .await
                .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!((status.as_str(), open), ("completed", 0));
    let ended: i64 = t
        .one(
            "SELECT count(*) FROM job_events WHERE kind = 'job_completed'",
            &[],
        )
        .await;
    assert_eq!(ended, 1);
    let tasks_done: i64 = t
        .one(
            "SELECT count(*) FROM job_events WHERE kind = 'task_completed'",
            &[],
        )
        .await;
    assert_eq!(tasks_done, 2);
}

#[tokio::test]
async fn a_failure_retries_while_attempts_remain_then_fails_the_task_and_job() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es"], false).await;
    let run = job.dispatch[0].run_id;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    let failure = Failure {
        code: "engine_unavailable".into(),
        message: "down".into(),
        transient: true,
    };
    for attempt in 1..=3 {
        let c = loop {
            // A retry is due after its backoff (here, none).
            if let Some(c) = claim_one(&t.db, "w1", run).await {
                break c;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(c.lease.token, attempt);
        let plan = on_failure(
            &c.snapshot(),
            &failure.code,
            &failure.message,
            true,
            c.failures + 1,
            c.max_attempts,
        );
        let mut batch = Outcomes::new(48.0);
        batch.failed(&c, &failure, &plan, Duration::ZERO, &[], false);
        let applied = apply(&t.db, batch).await.unwrap().pop().unwrap();
        assert!(applied.held);
        assert_eq!(
            applied.dispatch.len(),
            usize::from(attempt < 3),
            "attempt {attempt}"
        );
    }
    let r = t.db.client().await.unwrap()
        .query_one(
            "SELECT r.status::text, r.failures, t.status::text, t.error_code, j.status::text
             FROM stage_runs r JOIN tasks t ON t.job_id = r.job_id JOIN jobs j ON j.id = r.job_id WHERE r.id = $1",
            &[&run],
        )
        .await
        .unwrap();
    assert_eq!(r.get::<_, String>(0), "failed");
    assert_eq!(r.get::<_, i32>(1), 3);
    assert_eq!(r.get::<_, String>(2), "failed");
    assert_eq!(
        r.get::<_, Option<String>>(3).as_deref(),
        Some("engine_unavailable")
    );
    assert_eq!(r.get::<_, String>(4), "failed");
}

#[tokio::test]
async fn a_released_run_is_queued_again_without_a_failure() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es"], false).await;
    let run = job.dispatch[0].run_id;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    let c = claim_one(&t.db, "w1", run).await.unwrap();
    let mut batch = Outcomes::new(48.0);
    batch.released(&c, &[]);
    let applied = apply(&t.db, batch).await.unwrap().pop().unwrap();
    assert!(applied.held);
    assert_eq!(applied.dispatch[0].run_id, run);
    let (status, failures, owner): (String, i32, Option<String>) = {
        let r =
            t.db.client()
                .await
                .unwrap()
                .query_one(
                    "SELECT status::text, failures, lease_owner FROM stage_runs WHERE id = $1",
                    &[&run],
                )
                .await
                .unwrap();
        (r.get(0), r.get(1), r.get(2))
    };
    assert_eq!((status.as_str(), failures, owner), ("queued", 0, None));
    assert_eq!(claim_one(&t.db, "w1", run).await.unwrap().lease.token, 2);
}

#[tokio::test]
async fn renewal_is_one_write_for_every_run_and_tells_what_was_lost() {
    let t = TestDb::new().await;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    let mut held = Vec::new();
    let mut jobs_made = Vec::new();
    for _ in 0..5 {
        let job = dub_job(&t.db, "acme", &["es"], false).await;
        let c = claim_one(&t.db, "w1", job.dispatch[0].run_id)
            .await
            .unwrap();
        held.push((c.lease.run_id, c.lease.token));
        jobs_made.push(job.job);
    }
    let before: i64 = t
        .one(
            "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'workers'",
            &[],
        )
        .await;
    assert_eq!(
        workers::renew(&t.db, "w1", LEASE, &held).await.unwrap(),
        Renewal::Renewed { lost: vec![] }
    );
    // A cancelled job's run is lost at the next renewal.
    let j = &jobs_made[2];
    jobs::cancel(&t.db, Some(j.tenant_id), j.id).await.unwrap();
    assert_eq!(
        workers::renew(&t.db, "w1", LEASE, &held).await.unwrap(),
        Renewal::Renewed {
            lost: vec![held[2].0]
        }
    );
    // The statistics collector lags; what matters is that the renewals
    // wrote the one row of the worker, not the runs.
    let runs_touched: i64 = t
        .one(
            "SELECT count(*) FROM stage_runs WHERE status = 'running' AND lease_owner = 'w1'",
            &[],
        )
        .await;
    assert_eq!(runs_touched, 4);
    let _ = before;
    // A worker whose row is gone (the janitor took over) loses everything.
    workers::leave(&t.db, "w1").await.unwrap();
    assert_eq!(
        workers::renew(&t.db, "w1", LEASE, &held).await.unwrap(),
        Renewal::Expired
    );
}

/// Worker `id`'s lease ran out a second ago.
async fn lease_runs_out(db: &Db, id: &str) {
    db.client()
        .await
        .unwrap()
        .execute(
            "UPDATE workers SET lease_expires_at = now() - interval '1 second' WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn runs_of_a_dead_worker_are_taken_over_and_its_late_outcome_is_fenced() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es"], false).await;
    let run = job.dispatch[0].run_id;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    workers::register(&t.db, "w2", None, LEASE).await.unwrap();
    let stale = claim_one(&t.db, "w1", run).await.unwrap();
    assert!(
        workers::orphaned(&t.db, 10, Orphans::OfDeadWorkers)
            .await
            .unwrap()
            .is_empty(),
        "w1 is alive"
    );
    // w1 stops renewing: its lease runs out.
    lease_runs_out(&t.db, "w1").await;
    let orphans = workers::orphaned(&t.db, 10, Orphans::OfDeadWorkers)
        .await
        .unwrap();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0].lease.owner, "w1");
    let o = &orphans[0];
    let failure = Failure {
        code: "worker_lost".into(),
        message: "w1 stopped".into(),
        transient: true,
    };
    let plan = on_failure(
        &o.snapshot(),
        &failure.code,
        &failure.message,
        true,
        o.lost_leases + 1,
        10,
    );
    let mut batch = Outcomes::new(48.0);
    batch.failed(o, &failure, &plan, Duration::ZERO, &[], true);
    assert!(apply(&t.db, batch).await.unwrap()[0].held);
    let (lost, failures): (i32, i32) = {
        let r =
            t.db.client()
                .await
                .unwrap()
                .query_one(
                    "SELECT lost_leases, failures FROM stage_runs WHERE id = $1",
                    &[&run],
                )
                .await
                .unwrap();
        (r.get(0), r.get(1))
    };
    assert_eq!(
        (lost, failures),
        (1, 0),
        "a worker loss is not the stage's failure"
    );
    // w2 takes it over; w1 comes back and reports success: fenced out.
    let fresh = claim_one(&t.db, "w2", run).await.unwrap();
    assert_eq!(fresh.lease.token, 2);
    let late = succeed(&t.db, &stale).await;
    assert!(!late.held && late.dispatch.is_empty());
    let events: i64 = t
        .one(
            "SELECT count(*) FROM job_events WHERE kind = 'stage_succeeded'",
            &[],
        )
        .await;
    assert_eq!(events, 0, "nothing of the fenced outcome was written");
    assert!(succeed(&t.db, &fresh).await.held);
}

#[tokio::test]
async fn runs_whose_holder_has_no_row_are_found_by_the_full_look_only() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es"], false).await;
    let run = job.dispatch[0].run_id;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    claim_one(&t.db, "w1", run).await.unwrap();
    // w1 goes without handing its run back; every other worker is alive.
    workers::leave(&t.db, "w1").await.unwrap();
    workers::register(&t.db, "w2", None, LEASE).await.unwrap();
    assert!(
        workers::orphaned(&t.db, 10, Orphans::OfDeadWorkers)
            .await
            .unwrap()
            .is_empty(),
        "no lease ran out: the open runs are not scanned"
    );
    let orphans = workers::orphaned(&t.db, 10, Orphans::All).await.unwrap();
    assert_eq!(orphans.len(), 1);
    assert_eq!(orphans[0].lease.owner, "w1");
    // Once some worker's lease runs out, the cheap look scans and finds it too.
    lease_runs_out(&t.db, "w2").await;
    let orphans = workers::orphaned(&t.db, 10, Orphans::OfDeadWorkers)
        .await
        .unwrap();
    assert_eq!(orphans.len(), 1);
}

#[tokio::test]
async fn a_batch_claims_and_records_many_runs_in_one_statement_each() {
    let t = TestDb::new().await;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    let mut runs_to_claim = Vec::new();
    for i in 0..40 {
        let job = dub_job(&t.db, &format!("tenant-{}", i % 3), &["es"], true).await;
        runs_to_claim.push((job.dispatch[0].run_id, String::new()));
    }
    let claimed = runs::claim(&t.db, "w1", &runs_to_claim).await.unwrap();
    assert!(claimed.iter().all(Option::is_some));
    let claimed: Vec<Claimed> = claimed.into_iter().flatten().collect();
    let mut batch = Outcomes::new(48.0);
    // Every other one is fenced out by a stale token.
    for (i, c) in claimed.iter().enumerate() {
        let mut c = c.clone();
        if i % 2 == 1 {
            c.lease.token += 7;
        }
        let plan = on_success(&c.snapshot(), Verdict::default(), chrono::Utc::now());
        batch.succeeded(&c, &Completion::default(), &plan);
    }
    let applied = apply(&t.db, batch).await.unwrap();
    assert_eq!(applied.len(), 40);
    for (i, a) in applied.iter().enumerate() {
        assert_eq!(a.held, i % 2 == 0, "run {i}");
        assert_eq!(a.dispatch.len(), usize::from(i % 2 == 0), "run {i}");
    }
    let translations: i64 = t
        .one(
            "SELECT count(*) FROM stage_runs WHERE stage = 'translate'",
            &[],
        )
        .await;
    assert_eq!(translations, 20);
}

#[tokio::test]
async fn deleting_a_job_leaves_nothing_of_it() {
    let t = TestDb::new().await;
    let job = dub_job(&t.db, "acme", &["es"], false).await;
    workers::register(&t.db, "w1", None, LEASE).await.unwrap();
    let c = claim_one(&t.db, "w1", job.dispatch[0].run_id)
        .await
        .unwrap();
    assert!(succeed(&t.db, &c).await.held);
    jobs::cancel(&t.db, Some(job.job.tenant_id), job.job.id)
        .await
        .unwrap();
    jobs::delete_ended(&t.db, job.job.tenant_id, job.job.id)
        .await
        .unwrap();
    for table in ["stage_runs", "job_events", "tasks"] {
        let left: i64 = t
            .one(
                &format!("SELECT count(*) FROM {table} WHERE job_id = $1"),
                &[&job.job.id],
            )
            .await;
        assert_eq!(left, 0, "{table}");
    }
    let commits: i64 = t.one("SELECT count(*) FROM stage_commits", &[]).await;
    assert_eq!(commits, 0);
}
