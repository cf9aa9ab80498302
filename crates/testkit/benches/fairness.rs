//! Fairness across tenants, and priorities, with a backlog. Five stages a
//! job, each taking `VOXLINE_BENCH_STAGE_MS` (20 ms), one worker process
//! per stage running one stage at a time:
//!
//! 1. idle: another tenant's lone job, end to end (the median of 5);
//! 2. tenant A queues 500 jobs; tenant B then submits one: B's job;
//! 3. tenant A queues 500 jobs, then one of its own at `high`: that job;
//! 4. starvation: tenant A keeps submitting `high` jobs faster than the
//!    stages can serve them, and one `low` one: the low job still finishes,
//!    about two priority steps (`queue.priority_step_seconds`, set to 2 s
//!    here so the run is short) after it was submitted.
//!
//! The target of cases 2 and 3: within twice the idle time, plus one running
//! stage per worker (the stage each worker was busy with when it arrived).
//!
//! `cargo bench -p voxline-testkit --bench fairness` (in `make bench`).

use std::time::{Duration, Instant};

use serde::Serialize;
use voxline_core::{JobId, Priority};
use voxline_testkit::pipeline::{self, Fleet, STAGES, Shape, Submitter};

#[derive(Debug, Clone, Serialize)]
struct Case {
    case: String,
    /// The measured job, submission to end.
    seconds: f64,
    /// What it is allowed: twice the idle time plus one stage per worker.
    bound_seconds: Option<f64>,
    /// Jobs queued ahead of it when it was submitted.
    queued_ahead: usize,
}

fn main() -> anyhow::Result<()> {
    if pipeline::child_main()? {
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(measure())
}

fn stage_ms() -> u64 {
    std::env::var("VOXLINE_BENCH_STAGE_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

async fn fleet(step_seconds: f64) -> anyhow::Result<Fleet> {
    Fleet::start(&Shape {
        processes: 1,
        concurrency: 1,
        stage_work: Duration::from_millis(stage_ms()),
        extra: vec![(
            "VOXLINE__QUEUE__PRIORITY_STEP_SECONDS".into(),
            step_seconds.to_string(),
        )],
    })
    .await
}

/// Submits one job of `tenant` at `priority` and waits for its end: seconds.
async fn one(fleet: &mut Fleet, tenant: &str, priority: Priority) -> anyhow::Result<f64> {
    let submitted = Submitter::new(&fleet.connections, tenant)
        .await?
        .submit(priority, 1, 1)
        .await?;
    let (job, at) = submitted.into_iter().next().expect("one job");
    finished(fleet, job, at, Duration::from_secs(600)).await
}

/// Waits until `job` (submitted at `at`, ms) is told done: seconds it took.
async fn finished(
    fleet: &mut Fleet,
    job: JobId,
    at: f64,
    timeout: Duration,
) -> anyhow::Result<f64> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some((_, end)) = fleet.done().await?.into_iter().find(|(j, _)| *j == job) {
            return Ok((end - at) / 1000.0);
        }
        anyhow::ensure!(Instant::now() < deadline, "job {job} did not finish");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn measure() -> anyhow::Result<()> {
    let backlog = 500;
    let mut cases = Vec::new();
    let mut f = fleet(60.0).await?;
    // Warm, then the idle time.
    one(&mut f, "warm", Priority::Normal).await?;
    let mut idle = Vec::new();
    for _ in 0..5 {
        idle.push(one(&mut f, "tenant-b", Priority::Normal).await?);
    }
    idle.sort_by(f64::total_cmp);
    let idle = idle[2];
    cases.push(Case {
        case: "idle: a lone job".into(),
        seconds: idle,
        bound_seconds: None,
        queued_ahead: 0,
    });
    let bound = 2.0 * idle + STAGES.len() as f64 * stage_ms() as f64 / 1000.0;

    eprintln!("fairness: tenant A queues {backlog} jobs; tenant B submits one");
    let a = Submitter::new(&f.connections, "tenant-a").await?;
    a.submit(Priority::Normal, backlog, 32).await?;
    let b = one(&mut f, "tenant-b", Priority::Normal).await?;
    cases.push(Case {
        case: format!("another tenant's job behind {backlog} of tenant A"),
        seconds: b,
        bound_seconds: Some(bound),
        queued_ahead: backlog,
    });
    // The warm-up, the idle runs, the backlog and B's job: all drained.
    let mut expected = 1 + 5 + backlog + 1;
    f.wait_done(expected, Duration::from_secs(600)).await?;

    eprintln!("fairness: tenant A queues {backlog} jobs, then one at high priority");
    a.submit(Priority::Normal, backlog, 32).await?;
    let high = one(&mut f, "tenant-a", Priority::High).await?;
    cases.push(Case {
        case: format!("tenant A's high-priority job behind {backlog} of its own"),
        seconds: high,
        bound_seconds: Some(bound),
        queued_ahead: backlog,
    });
    expected += backlog + 1;
    f.wait_done(expected, Duration::from_secs(600)).await?;
    drop(f);

    // Starvation: a flood of high-priority work cannot hold a low one back
    // for more than its steps' worth.
    let step = 2.0;
    let mut f = fleet(step).await?;
    one(&mut f, "warm", Priority::Normal).await?;
    let capacity = 1000.0 / stage_ms() as f64;
    let flood_rate = capacity * 1.5;
    eprintln!("fairness: tenant A floods high-priority jobs at {flood_rate:.0}/s; one low job");
    let flooder = Submitter::new(&f.connections, "tenant-a").await?;
    let flood = tokio::spawn(async move {
        let started = Instant::now();
        let mut k = 0u32;
        while started.elapsed() < Duration::from_secs(12) {
            tokio::time::sleep_until(
                (started + Duration::from_secs_f64(k as f64 / flood_rate)).into(),
            )
            .await;
            flooder.submit(Priority::High, 1, 1).await?;
            k += 1;
        }
        anyhow::Ok(k)
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let low = one(&mut f, "tenant-a", Priority::Low).await?;
    let flooded = flood.await??;
    cases.push(Case {
        case: format!(
            "tenant A's low-priority job under a flood of its own high-priority ones ({flood_rate:.0}/s, 1.5 times what the stages serve), steps of {step} s"
        ),
        seconds: low,
        bound_seconds: Some(2.0 * step + 2.0 * idle),
        queued_ahead: flooded as usize,
    });
    drop(f);
    report(&cases)
}

fn report(cases: &[Case]) -> anyhow::Result<()> {
    println!("| case | seconds | bound | within |");
    println!("|---|---|---|---|");
    for c in cases {
        let (bound, within) = match c.bound_seconds {
            Some(b) => (format!("{b:.2}"), if c.seconds <= b { "yes" } else { "no" }),
            None => ("–".into(), "–"),
        };
        println!("| {} | {:.3} | {bound} | {within} |", c.case, c.seconds);
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(root.join("target/bench"))?;
    std::fs::write(
        root.join("target/bench/fairness.json"),
        serde_json::to_string_pretty(cases)?,
    )?;
    println!("figures: target/bench/fairness.json");
    Ok(())
}
