//! Hand-off latency: how long a job waits between its stages, with nothing
//! queued ahead of it. Five no-op stages a job, one worker process per
//! stage, on the same Redis as BullMQ's five-step flow:
//!
//! 1. one job at a time (the next is submitted once the last is done);
//! 2. a steady 50 jobs a second for 20 s.
//!
//! For each of Voxline's hand-offs, from the stage that ends to the next:
//! - *commit to start*: from the moment the stage's handler returned (its
//!   outcome is then committed, durably, in PostgreSQL) to the moment the
//!   next stage's handler starts, on another process: the commit, the
//!   queue's delivery and the next claim;
//! - *ready to start*: from the next run being put on its queue (after the
//!   commit) to its handler starting.
//!
//! And end to end, submission to the last stage's end, beside BullMQ's.
//!
//! `cargo bench -p voxline-testkit --bench handoff_latency` (in `make bench`).
//! `VOXLINE_BENCH_SERIAL` (200) and `VOXLINE_BENCH_PACED_S` (20) narrow it.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use serde::Serialize;
use voxline_core::{JobId, Priority};
use voxline_testkit::pipeline::{self, Fleet, PgWork, Shape, Submitter};
use voxline_testkit::plot::{Group, grouped_bars};
use voxline_testkit::redis_url;
use voxline_testkit::stats::percentile_ms;

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
struct Phase {
    system: String,
    phase: String,
    jobs: usize,
    handoffs: usize,
    commit_to_start_p50_ms: Option<f64>,
    commit_to_start_p99_ms: Option<f64>,
    ready_to_start_p50_ms: Option<f64>,
    ready_to_start_p99_ms: Option<f64>,
    end_to_end_p50_ms: f64,
    end_to_end_p99_ms: f64,
    statements_per_job: Option<f64>,
    commits_per_job: Option<f64>,
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> anyhow::Result<()> {
    if pipeline::child_main()? {
        return Ok(());
    }
    tokio::runtime::Runtime::new()?.block_on(measure())
}

async fn measure() -> anyhow::Result<()> {
    let serial = env_number("VOXLINE_BENCH_SERIAL", 200);
    let paced_s = env_number("VOXLINE_BENCH_PACED_S", 20);
    let rate = 50;
    let mut phases = Vec::new();
    phases.push(voxline(serial, None).await?);
    phases.push(voxline(rate * paced_s, Some(rate)).await?);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let setup = Command::new("bash")
        .arg(root.join("bench/peers/setup.sh"))
        .status()?;
    anyhow::ensure!(setup.success(), "bench/peers/setup.sh failed");
    phases.push(bullmq(serial, "serial")?);
    phases.push(bullmq(rate * paced_s, &rate.to_string())?);
    report(&phases)
}

fn label(rate: Option<usize>) -> String {
    rate.map_or("one at a time".into(), |r| format!("{r} jobs/s"))
}

async fn voxline(jobs: usize, rate: Option<usize>) -> anyhow::Result<Phase> {
    eprintln!("handoff_latency: Voxline, {}, {jobs} jobs", label(rate));
    let shape = Shape {
        processes: 1,
        concurrency: 8,
        stage_work: Duration::ZERO,
        stage_work_max: Duration::ZERO,
        priority_step_seconds: None,
    };
    let mut fleet = Fleet::start(&shape).await?;
    let counted = PgWork::available(&fleet.env).await;
    let submitter = Submitter::new(&fleet.connections, "bench").await?;
    submitter.submit(Priority::Normal, 20, 1).await?;
    fleet.wait_done(20, Duration::from_secs(60)).await?;
    fleet.clear_done().await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let pg0 = PgWork::now(&fleet.env).await?;
    let mut submitted: HashMap<JobId, f64> = HashMap::new();
    match rate {
        None => {
            for k in 0..jobs {
                submitted.extend(submitter.submit(Priority::Normal, 1, 1).await?);
                fleet.wait_done(k + 1, Duration::from_secs(60)).await?;
            }
        }
        Some(rate) => {
            let every = Duration::from_secs_f64(1.0 / rate as f64);
            let started = Instant::now();
            let mut lanes = tokio::task::JoinSet::new();
            for k in 0..jobs {
                tokio::time::sleep_until((started + every * k as u32).into()).await;
                let s = submitter.clone();
                lanes.spawn(async move { s.submit(Priority::Normal, 1, 1).await });
            }
            while let Some(done) = lanes.join_next().await {
                submitted.extend(done??);
            }
            fleet.wait_done(jobs, Duration::from_secs(120)).await?;
        }
    }
    let done = fleet.done().await?;
    let times = pipeline::stage_times(&fleet.connections).await?;
    fleet.stop();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pg = PgWork::now(&fleet.env).await?.since(pg0);
    let (mut commit_to_start, mut ready_to_start) = (Vec::new(), Vec::new());
    for job in submitted.keys() {
        let Some(stages) = times.get(job) else {
            continue;
        };
        for pair in stages.windows(2) {
            let (_, _, ended) = pair[0];
            let (ready, started, _) = pair[1];
            commit_to_start.push(ms(started - ended));
            ready_to_start.push(ms(started - ready));
        }
    }
    let end_to_end: Vec<Duration> = done
        .iter()
        .filter_map(|(job, at)| Some(ms(at - submitted.get(job)?)))
        .collect();
    anyhow::ensure!(
        end_to_end.len() == jobs,
        "{} of {jobs} jobs done",
        end_to_end.len()
    );
    Ok(Phase {
        system: "Voxline".into(),
        phase: label(rate),
        jobs,
        handoffs: commit_to_start.len(),
        commit_to_start_p50_ms: Some(percentile_ms(&commit_to_start, 0.5)),
        commit_to_start_p99_ms: Some(percentile_ms(&commit_to_start, 0.99)),
        ready_to_start_p50_ms: Some(percentile_ms(&ready_to_start, 0.5)),
        ready_to_start_p99_ms: Some(percentile_ms(&ready_to_start, 0.99)),
        end_to_end_p50_ms: percentile_ms(&end_to_end, 0.5),
        end_to_end_p99_ms: percentile_ms(&end_to_end, 0.99),
        statements_per_job: counted.then(|| pg.statements / jobs as f64),
        commits_per_job: counted.then(|| pg.commits / jobs as f64),
    })
}

fn ms(v: f64) -> Duration {
    Duration::from_secs_f64((v / 1000.0).max(0.0))
}

/// BullMQ's five-step flow, one process per step, at `pace`.
fn bullmq(jobs: usize, pace: &str) -> anyhow::Result<Phase> {
    eprintln!("handoff_latency: BullMQ, pace {pace}, {jobs} jobs");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let prefix = format!(
        "bench-bullmq-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let output = Command::new("node")
        .current_dir(&root)
        .arg("bench/peers/bullmq_flow.mjs")
        .args(["--redis-url", &redis_url(), "--prefix", &prefix])
        .args([
            "--jobs",
            &jobs.to_string(),
            "--processes",
            "1",
            "--pace",
            pace,
        ])
        .args(["--warmup", "20"])
        .stderr(std::process::Stdio::inherit())
        .output()?;
    anyhow::ensure!(output.status.success(), "bullmq_flow.mjs failed");
    let line = String::from_utf8(output.stdout)?;
    let v: serde_json::Value = serde_json::from_str(line.lines().last().unwrap_or_default())?;
    Ok(Phase {
        system: "BullMQ".into(),
        phase: if pace == "serial" {
            label(None)
        } else {
            format!("{pace} jobs/s")
        },
        jobs,
        handoffs: 0,
        commit_to_start_p50_ms: None,
        commit_to_start_p99_ms: None,
        ready_to_start_p50_ms: None,
        ready_to_start_p99_ms: None,
        end_to_end_p50_ms: v["p50_ms"].as_f64().unwrap_or(f64::NAN),
        end_to_end_p99_ms: v["p99_ms"].as_f64().unwrap_or(f64::NAN),
        statements_per_job: None,
        commits_per_job: None,
    })
}

fn report(phases: &[Phase]) -> anyhow::Result<()> {
    let cell = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
    println!(
        "| system | load | jobs | commit → next start p50 / p99 ms | ready → start p50 / p99 ms | end to end p50 / p99 ms | statements/job | commits/job |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for p in phases {
        println!(
            "| {} | {} | {} | {} / {} | {} / {} | {:.1} / {:.1} | {} | {} |",
            p.system,
            p.phase,
            p.jobs,
            cell(p.commit_to_start_p50_ms),
            cell(p.commit_to_start_p99_ms),
            cell(p.ready_to_start_p50_ms),
            cell(p.ready_to_start_p99_ms),
            p.end_to_end_p50_ms,
            p.end_to_end_p99_ms,
            cell(p.statements_per_job),
            cell(p.commits_per_job),
        );
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(root.join("target/bench"))?;
    std::fs::write(
        root.join("target/bench/handoff.json"),
        serde_json::to_string_pretty(phases)?,
    )?;
    let loads: Vec<String> = phases
        .iter()
        .filter(|p| p.system == "Voxline")
        .map(|p| p.phase.clone())
        .collect();
    let groups: Vec<Group> = loads
        .iter()
        .map(|load| Group {
            label: load.clone(),
            values: ["Voxline", "BullMQ"]
                .iter()
                .map(|s| {
                    phases
                        .iter()
                        .find(|p| p.system == *s && p.phase == *load)
                        .map_or(0.0, |p| p.end_to_end_p50_ms)
                })
                .collect(),
        })
        .collect();
    std::fs::create_dir_all(root.join("docs/plots"))?;
    std::fs::write(
        root.join("docs/plots/handoff-end-to-end.svg"),
        grouped_bars(
            "A five-stage no-op job, end to end (p50), nothing queued ahead",
            "milliseconds",
            &["Voxline", "BullMQ"],
            &groups,
        ),
    )?;
    println!("figures: target/bench/handoff.json; plot: docs/plots/handoff-end-to-end.svg");
    Ok(())
}
