//! Fairness across tenants, and priorities, with a backlog. Five stages a
//! job, each taking `VOXLINE_BENCH_STAGE_MS` (20 ms), one worker process
//! per stage running one stage at a time:
//!
//! 1. idle: another tenant's lone job, end to end (the median of 5);
//! 2. tenant A queues 500 jobs; tenant B then submits one: B's job;
//! 3. tenant A queues 500 jobs, then one of its own at `high`: that job;
//! 4. starvation: tenant A keeps submitting `high` jobs faster than the
//!    stages can serve them (12 s of it), and one `low` one: only the high
//!    jobs made before it or less than two priority steps
//!    (`queue.priority_step_seconds`, set to 2 s here so the run is short)
//!    after it may go first, so it finishes once they have, however long
//!    the flood's backlog grows behind it.
//!
//! The target of cases 2 and 3: within twice the idle time, plus one running
//! stage per worker (the stage each worker was busy with when it arrived).
//! Of case 4: no job made past its allowance finishes before it, and it ends
//! within twice the idle time of the last job let ahead of it.
//!
//! `cargo bench -p voxline-testkit --bench fairness` (in `make bench`).

use std::collections::HashMap;
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
    /// Jobs queued ahead of it when it was submitted (for the low job: those
    /// its priority lets ahead, unfinished when it was submitted).
    queued_ahead: usize,
    /// Jobs made after its allowance that finished before it (starvation).
    overtaken_later: Option<usize>,
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
        stage_work_max: Duration::ZERO,
        priority_step_seconds: Some(step_seconds),
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
        overtaken_later: None,
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
        overtaken_later: None,
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
        overtaken_later: None,
    });
    expected += backlog + 1;
    f.wait_done(expected, Duration::from_secs(600)).await?;
    drop(f);

    // Starvation: a flood of high-priority work holds a low job back only
    // behind the jobs its priority lets ahead, those made before it or
    // less than two steps (High over Low) after it; none made later
    // finishes first, and the flood's backlog does not grow its wait.
    let step = 2.0;
    let mut f = fleet(step).await?;
    one(&mut f, "warm", Priority::Normal).await?;
    let capacity = 1000.0 / stage_ms() as f64;
    let flood_rate = capacity * 1.5;
    eprintln!("fairness: tenant A floods high-priority jobs at {flood_rate:.0}/s; one low job");
    let flooder = Submitter::new(&f.connections, "tenant-a").await?;
    let flood = tokio::spawn(async move {
        let started = Instant::now();
        let mut submitted = HashMap::new();
        let mut k = 0u32;
        while started.elapsed() < Duration::from_secs(12) {
            tokio::time::sleep_until(
                (started + Duration::from_secs_f64(k as f64 / flood_rate)).into(),
            )
            .await;
            submitted.extend(flooder.submit(Priority::High, 1, 1).await?);
            k += 1;
        }
        anyhow::Ok(submitted)
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (low_job, low_at) = Submitter::new(&f.connections, "tenant-a")
        .await?
        .submit(Priority::Low, 1, 1)
        .await?
        .into_iter()
        .next()
        .expect("one job");
    let low = finished(&mut f, low_job, low_at, Duration::from_secs(600)).await?;
    let flood = flood.await??;
    let ends: HashMap<JobId, f64> = f.done().await?.into_iter().collect();
    let low_end = low_at + low * 1000.0;
    let steps_ms = (Priority::High.level() - Priority::Low.level()) as f64 * step * 1000.0;
    let allowed: Vec<(f64, f64)> = flood
        .iter()
        .filter(|(_, at)| **at <= low_at + steps_ms)
        .filter_map(|(job, at)| Some((*at, *ends.get(job)?)))
        .collect();
    let ahead = allowed.iter().filter(|(_, end)| *end > low_at).count();
    let last_allowed_end = allowed.iter().map(|(_, end)| *end).fold(low_at, f64::max);
    let overtaken = flood
        .iter()
        .filter(|(job, at)| {
            **at > low_at + steps_ms && ends.get(*job).is_some_and(|e| *e < low_end)
        })
        .count();
    cases.push(Case {
        case: format!(
            "tenant A's low-priority job under a flood of its own high-priority ones ({flood_rate:.0}/s, 1.5 times what the stages serve; {} in all), steps of {step} s",
            flood.len()
        ),
        seconds: low,
        // The jobs let ahead of it, then its own time twice over.
        bound_seconds: Some((last_allowed_end - low_at) / 1000.0 + 2.0 * idle),
        queued_ahead: ahead,
        overtaken_later: Some(overtaken),
    });
    drop(f);
    report(&cases)
}

fn report(cases: &[Case]) -> anyhow::Result<()> {
    println!("| case | seconds | bound | within | ahead of it | overtaken by later jobs |");
    println!("|---|---|---|---|---|---|");
    for c in cases {
        let (bound, within) = match c.bound_seconds {
            Some(b) => (format!("{b:.2}"), if c.seconds <= b { "yes" } else { "no" }),
            None => ("–".into(), "–"),
        };
        let overtaken = c.overtaken_later.map_or("–".into(), |n| n.to_string());
        println!(
            "| {} | {:.3} | {bound} | {within} | {} | {overtaken} |",
            c.case, c.seconds, c.queued_ahead
        );
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
