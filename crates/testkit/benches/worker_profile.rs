//! What each service costs per job, for sizing a deployment
//! (docs/operations.md): every service its own release process, one of
//! each, a batch of dub jobs of the sample clip submitted at once. For each
//! stage: the wall time of its attempts (from PostgreSQL), the CPU time its
//! process spent per job, and the process's resident memory idle and at its
//! peak (alone, and with the engine processes it ran).
//!
//! `make bench` (it builds the release binaries first), or
//! `cargo build --release --workspace --bins && cargo bench -p voxline-testkit --bench worker_profile`.
//! `VOXLINE_BENCH_JOBS=N` sets the batch (8 by default).

use std::time::{Duration, Instant};

use serde_json::json;
use voxline_db::api_keys;
use voxline_testkit::procfs::{cpu_seconds, peak_rss_mib, rss_mib, tree_rss_mib};
use voxline_testkit::{Fleet, TestEnv, ffprobe_json, sample_clip};

const SERVICES: &[(&str, &str, usize)] = &[
    ("voxline-gateway", "", 1),
    ("voxline-transcriber", "transcribe", 1),
    ("voxline-translator", "translate", 1),
    ("voxline-synthesizer", "synthesize", 1),
    ("voxline-renderer", "render", 1),
    ("voxline-janitor", "", 1),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let jobs: usize = std::env::var("VOXLINE_BENCH_JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let env = TestEnv::new().await?;
    let services: Vec<(&'static str, usize)> = SERVICES.iter().map(|(n, _, r)| (*n, *r)).collect();
    let fleet = Fleet::start(
        &env,
        &services,
        &[("VOXLINE__TELEMETRY__LOG_FILTER", "warn".into())],
    )?;
    fleet.ready().await?;
    let tenant = api_keys::ensure_tenant(&env.db, "profile").await?;
    let key = api_keys::create(&env.db, tenant, "bench").await?.secret;
    let clip = sample_clip(&env.path("media"))?;
    let media_s: f64 = ffprobe_json(&clip)?["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .unwrap_or(0.0);
    let idle: Vec<f64> = SERVICES
        .iter()
        .map(|(n, _, _)| cpu_seconds(fleet.pids(n)[0]))
        .collect();
    // Memory idle: ready, connected, nothing to do yet.
    let idle_rss: Vec<f64> = SERVICES
        .iter()
        .map(|(n, _, _)| rss_mib(fleet.pids(n)[0]))
        .collect();

    // Samples each service's process tree while the batch runs.
    let pids: Vec<u32> = SERVICES.iter().map(|(n, _, _)| fleet.pids(n)[0]).collect();
    let sampling = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let sampler = {
        let (pids, sampling) = (pids.clone(), sampling.clone());
        std::thread::spawn(move || {
            let mut peaks = vec![0.0f64; pids.len()];
            while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                for (peak, pid) in peaks.iter_mut().zip(&pids) {
                    *peak = peak.max(tree_rss_mib(*pid));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            peaks
        })
    };
    let started = Instant::now();
    let mut ids = Vec::new();
    for _ in 0..jobs {
        let request = json!({"kind": "dub", "target_languages": ["es"]});
        ids.push(fleet.submit(&key, &clip, request).await?);
    }
    let client = env.db.client().await?;
    loop {
        let open: i64 = client
            .query_one(
                "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')",
                &[],
            )
            .await?
            .get(0);
        if open == 0 {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(900),
            "the batch did not finish"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = started.elapsed().as_secs_f64();
    sampling.store(false, std::sync::atomic::Ordering::Relaxed);
    let tree_peaks = sampler.join().expect("the memory sampler");
    let completed: i64 = client
        .query_one("SELECT count(*) FROM jobs WHERE status = 'completed'", &[])
        .await?
        .get(0);
    anyhow::ensure!(
        completed as usize == jobs,
        "{completed} of {jobs} jobs completed"
    );

    println!(
        "worker_profile: {jobs} dub jobs of a {media_s:.1} s clip, one process per service, done in {wall:.1} s ({:.0} jobs/hour)",
        jobs as f64 * 3600.0 / wall
    );
    println!(
        "{:<22} {:>14} {:>14} {:>12} {:>10} {:>13} {:>14} {:>18}",
        "service",
        "stage p50 (s)",
        "stage max (s)",
        "CPU s / job",
        "CPU/wall",
        "idle RSS MiB",
        "peak RSS MiB",
        "with engines MiB"
    );
    for (i, (name, stage, _)) in SERVICES.iter().enumerate() {
        let pid = fleet.pids(name)[0];
        let cpu = (cpu_seconds(pid) - idle[i]) / jobs as f64;
        let (p50, max) = if stage.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            let row = client
                .query_one(
                    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - started_at))::float8,
                            max(extract(epoch FROM finished_at - started_at))::float8
                     FROM stage_runs WHERE stage = $1 AND status = 'succeeded'",
                    &[stage],
                )
                .await?;
            (
                row.get::<_, Option<f64>>(0).unwrap_or(0.0),
                row.get::<_, Option<f64>>(1).unwrap_or(0.0),
            )
        };
        let busy = if p50.is_nan() || p50 == 0.0 {
            f64::NAN
        } else {
            cpu / p50
        };
        println!(
            "{name:<22} {p50:>14.2} {max:>14.2} {cpu:>12.2} {busy:>10.2} {:>13.1} {:>14.1} {:>18.1}",
            idle_rss[i],
            peak_rss_mib(pid),
            tree_peaks[i]
        );
    }
    Ok(())
}
