//! The queue's scripts (`lua/`) driven directly against a real Redis
//! (127.0.0.1:6379, or `VOXLINE__REDIS__URL`), each test under a namespace
//! of its own: what each promises in its header, checked one by one.

use std::time::Duration;

use chrono::Utc;
use voxline_config::{QueueSettings, RedisSettings, Secret};
use voxline_core::{Dispatch, Priority, Stage, StageRunId, TenantId};

use crate::{Queue, QueueStats, run_of};

const STAGE: Stage = Stage::Translate;

async fn queue(settings: QueueSettings) -> Queue {
    let mut redis = RedisSettings::default();
    if let Ok(url) = std::env::var("VOXLINE__REDIS__URL") {
        redis.url = Secret::new(url);
    }
    redis.namespace = format!("test-queue-{}", uuid::Uuid::new_v4().simple());
    Queue::connect(&redis, &settings)
        .await
        .expect("Redis on 127.0.0.1:6379 (scripts/setup.sh starts it)")
}

/// Deletes every key of the test's namespace.
async fn remove(q: &Queue) {
    let mut conn = q.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{}*", q.namespace()))
        .query_async(&mut conn)
        .await
        .unwrap_or_default();
    if !keys.is_empty() {
        let _: Result<(), _> = redis::cmd("DEL").arg(keys).query_async(&mut conn).await;
    }
}

/// A run of `tenant` whose job was made `age` ago.
fn run(tenant: TenantId, priority: Priority, age: Duration) -> Dispatch {
    let now = Utc::now();
    Dispatch {
        run_id: StageRunId::new(),
        stage: STAGE,
        attempt: 1,
        tenant,
        priority,
        not_before: now,
        since: now - chrono::Duration::from_std(age).unwrap(),
        traceparent: String::new(),
    }
}

/// What `consumer` is given when it asks for `want` runs, and when the
/// next delayed run is due.
async fn take(q: &Queue, consumer: &str, want: usize) -> (Vec<StageRunId>, Option<Duration>) {
    let mut conn = q.connection();
    let (fetched, next) = q.fetch(&mut conn, consumer, STAGE, want).await.unwrap();
    let runs = fetched
        .into_iter()
        .map(|f| run_of(&f.job.expect("a well-formed message")).expect("a run id"))
        .collect();
    (runs, next)
}

async fn stats(q: &Queue) -> QueueStats {
    q.stats(STAGE).await.unwrap()
}

#[tokio::test]
async fn a_run_is_queued_once_given_once_and_gone_once_acknowledged() {
    let q = queue(QueueSettings::default()).await;
    let d = run(TenantId::new(), Priority::Normal, Duration::ZERO);
    q.push(std::slice::from_ref(&d)).await.unwrap();
    q.push(std::slice::from_ref(&d)).await.unwrap(); // a re-send: harmless
    assert_eq!(stats(&q).await.waiting, 1);

    assert_eq!(take(&q, "a", 8).await.0, vec![d.run_id]);
    let s = stats(&q).await;
    assert_eq!((s.waiting, s.held), (0, 1));
    assert_eq!(s.consumers, vec!["a".to_owned()]);
    // A worker is counted once, whether heard from on Redis, leased in
    // PostgreSQL, or both.
    let leased: std::collections::HashSet<String> = ["a".to_owned(), "z".to_owned()].into();
    assert_eq!(s.workers_alive(&leased), 2);
    assert_eq!(s.workers_alive(&Default::default()), 1);
    assert!(take(&q, "b", 8).await.0.is_empty(), "given to one only");
    q.push(std::slice::from_ref(&d)).await.unwrap(); // sent again while held
    assert_eq!(stats(&q).await.depth(), 1);

    q.settle("a", STAGE, &[d.run_id], &[]).await.unwrap();
    assert_eq!(stats(&q).await.depth(), 0, "acknowledged, nothing left");
    remove(&q).await;
}

#[tokio::test]
async fn a_run_given_back_with_a_delay_waits_for_it() {
    let q = queue(QueueSettings::default()).await;
    let d = run(TenantId::new(), Priority::Normal, Duration::ZERO);
    q.push(std::slice::from_ref(&d)).await.unwrap();
    assert_eq!(take(&q, "a", 1).await.0, vec![d.run_id]);

    q.nack("a", STAGE, &[d.run_id], Duration::from_millis(400))
        .await
        .unwrap();
    assert_eq!(stats(&q).await.delayed, 1);
    let (runs, next) = take(&q, "a", 1).await;
    assert!(runs.is_empty(), "not before its delay");
    let next = next.expect("a delayed run is due later");
    assert!(next <= Duration::from_millis(400), "due in {next:?}");

    tokio::time::sleep(next + Duration::from_millis(50)).await;
    assert_eq!(take(&q, "b", 1).await.0, vec![d.run_id]);
    remove(&q).await;
}

#[tokio::test]
async fn a_silent_or_leaving_consumers_runs_go_to_others() {
    let q = queue(QueueSettings {
        consumer_timeout_seconds: 1,
        ..QueueSettings::default()
    })
    .await;
    let tenant = TenantId::new();
    let (d1, d2) = (
        run(tenant, Priority::Normal, Duration::ZERO),
        run(tenant, Priority::Normal, Duration::ZERO),
    );
    q.push(std::slice::from_ref(&d1)).await.unwrap();
    assert_eq!(take(&q, "silent", 1).await.0, vec![d1.run_id]);
    assert!(
        take(&q, "b", 1).await.0.is_empty(),
        "held while it may still be alive"
    );
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(
        take(&q, "b", 1).await.0,
        vec![d1.run_id],
        "silent past the timeout"
    );

    q.push(std::slice::from_ref(&d2)).await.unwrap();
    assert_eq!(take(&q, "leaving", 1).await.0, vec![d2.run_id]);
    q.leave("leaving", STAGE).await.unwrap();
    assert_eq!(
        take(&q, "c", 1).await.0,
        vec![d2.run_id],
        "handed back at once"
    );
    remove(&q).await;
}

#[tokio::test]
async fn tenants_take_turns_and_a_priority_goes_ahead_by_its_step_only() {
    let step = Duration::from_secs(60);
    let q = queue(QueueSettings {
        priority_step_seconds: step.as_secs_f64(),
        ..QueueSettings::default()
    })
    .await;
    let (busy, other) = (TenantId::new(), TenantId::new());
    let backlog: Vec<Dispatch> = (0..3)
        .map(|_| run(busy, Priority::Normal, Duration::ZERO))
        .collect();
    q.push(&backlog).await.unwrap();
    let late = run(other, Priority::Normal, Duration::ZERO);
    q.push(std::slice::from_ref(&late)).await.unwrap();
    let (given, _) = take(&q, "a", 2).await;
    assert!(
        given.contains(&late.run_id),
        "the other tenant's turn: {given:?}"
    );

    // Within one tenant: a high run goes ahead of a normal one made less
    // than a step before it, never of one made more than a step before.
    let tenant = TenantId::new();
    let recent = run(tenant, Priority::Normal, step / 2);
    let old = run(tenant, Priority::Normal, step * 3);
    let high = run(tenant, Priority::High, Duration::ZERO);
    let q2 = queue(QueueSettings {
        priority_step_seconds: step.as_secs_f64(),
        ..QueueSettings::default()
    })
    .await;
    q2.push(&[recent.clone(), old.clone(), high.clone()])
        .await
        .unwrap();
    let mut order = vec![];
    for _ in 0..3 {
        order.extend(take(&q2, "a", 1).await.0);
    }
    assert_eq!(order, vec![old.run_id, high.run_id, recent.run_id]);
    remove(&q).await;
    remove(&q2).await;
}
