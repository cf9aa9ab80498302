//! The load test: the gateway as its own process under 200 uploads and 200
//! job creations sent at once, then 1,000 Server-Sent Events streams held
//! open at once (5 per job). A transcriber joins once every stream is
//! established and completes what it can; every job then is cancelled
//! (a 409 for those already completed). Each call's outcome and latency is
//! recorded (429s apart, as refusals with `Retry-After`), and the
//! gateway's resident memory is sampled from /proc throughout.
//!
//! It asserts correctness only: no error and no 5xx; every stream received
//! its events, the job's end among them, and closed when its job ended;
//! every job the API created is in PostgreSQL, one per
//! `Idempotency-Key`, and ended `completed` or `cancelled` (cancelled
//! exactly when its cancellation was answered 200). Timings vary with the
//! machine; they are printed, and docs/reliability.md keeps them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use voxline_db::api_keys;
use voxline_testkit::load::{
    Gauges, Recorder, RssSampler, StreamEnd, at_once, call, ensure_open_files, follow, open_fds,
    own_and_children_cpu, until,
};
use voxline_testkit::procfs::{cpu_seconds, cpu_seconds_of_command, rss_mib};
use voxline_testkit::{Fleet, TestEnv, sample_clip_saying};

#[path = "load/audit.rs"]
mod audit;

pub const JOBS: usize = 200;
pub const STREAMS_PER_JOB: usize = 5;
const TENANTS: usize = 8;

const UPLOAD: &str = "upload (POST /v1/uploads)";
const CREATE: &str = "create job (POST /v1/jobs)";
const REPLAY: &str = "repeat creation, same Idempotency-Key";
const CANCEL: &str = "cancel (POST /v1/jobs/{id}/cancel)";
const READ: &str = "read job (GET /v1/jobs/{id})";

/// What every client task shares.
struct Load {
    base: String,
    keys: Vec<String>,
    clip: Vec<u8>,
    rec: Recorder,
    /// One HTTP client per group of concurrent calls.
    uploads: reqwest::Client,
    creations: reqwest::Client,
    streams: reqwest::Client,
    others: reqwest::Client,
    gauges: Gauges,
}

impl Load {
    /// Job `i`'s tenant's API key.
    fn key(&self, i: usize) -> &str {
        &self.keys[i % TENANTS]
    }
}

/// Job `i`'s id and the request that created it, and its streams.
type Client = (
    Option<(String, Value)>,
    Vec<tokio::task::JoinHandle<StreamEnd>>,
);

/// One client of one job: uploads, creates the job, and opens its event
/// streams (which run on as tasks of their own).
async fn client(load: Arc<Load>, i: usize) -> Client {
    let key = load.key(i).to_owned();
    let upload = call(&load.rec, UPLOAD, &[], || {
        load.uploads
            .post(format!("{}/v1/uploads?filename=load-{i}.m4a", load.base))
            .bearer_auth(&key)
            .header("content-type", "audio/mp4")
            .body(load.clip.clone())
    })
    .await;
    let Some((StatusCode::CREATED, upload)) = upload else {
        return (None, vec![]);
    };
    let body =
        json!({"kind": "transcribe", "source_upload_id": upload["id"], "source_language": "en"});
    let job = call(&load.rec, CREATE, &[], || {
        load.creations
            .post(format!("{}/v1/jobs", load.base))
            .bearer_auth(&key)
            .header("idempotency-key", format!("load-{i}"))
            .json(&body)
    })
    .await;
    let Some((StatusCode::ACCEPTED, job)) = job else {
        return (None, vec![]);
    };
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    let streams = (0..STREAMS_PER_JOB)
        .map(|_| {
            let (load, key, id) = (load.clone(), key.clone(), id.clone());
            tokio::spawn(async move {
                let request = load
                    .streams
                    .get(format!("{}/v1/jobs/{id}/events", load.base))
                    .bearer_auth(&key);
                follow(request, id, &load.rec, &load.gauges).await
            })
        })
        .collect();
    (Some((id, body)), streams)
}

/// Waves of 1,000 streams on the jobs, all ended by now: each stream reads
/// its job's events and closes. The gateway's RSS after each wave, its
/// connections closed (what a stream left behind would pile up), and
/// what went wrong.
async fn waves(
    base: &str,
    keys: &[String],
    created: &[(usize, String)],
    pid: u32,
) -> anyhow::Result<(Vec<f64>, Vec<String>)> {
    let (rec, gauges) = (Recorder::default(), Arc::new(Gauges::default()));
    let (mut rss, mut problems) = (vec![], vec![]);
    for _ in 0..3 {
        let http = reqwest::Client::builder()
            .http1_only()
            .timeout(Duration::from_secs(120))
            .build()?;
        let streams: Vec<_> = created
            .iter()
            .flat_map(|job| std::iter::repeat_n(job, STREAMS_PER_JOB))
            .map(|(i, id)| {
                let request = http
                    .get(format!("{base}/v1/jobs/{id}/events"))
                    .bearer_auth(&keys[i % TENANTS]);
                let (rec, gauges, id) = (rec.clone(), gauges.clone(), id.clone());
                tokio::spawn(async move { follow(request, id, &rec, &gauges).await })
            })
            .collect();
        for s in streams {
            if let StreamEnd {
                job,
                problem: Some(p),
                ..
            } = s.await?
            {
                problems.push(format!("a later stream of {job}: {p}"));
            }
        }
        drop(http);
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(rss_mib(pid));
    }
    problems.extend(rec.failures());
    Ok((rss, problems))
}

/// The gateway's settings. Rate limits are on, as deployed (each call
/// pays its Redis check), with budgets above this load, since every client
/// shares one address: the load measures the gateway, not the limiter.
/// A 429 would still be counted apart and waited out. The transcriber's
/// engine is pocketsphinx (the default chain), the fastest recognizer
/// installed here on a short clip (about 0.8 s a job; whisper.cpp's tiny
/// model took 10 s a job in this debug build); a second of speech has
/// neither speakers nor a background to find.
fn settings() -> Vec<(&'static str, String)> {
    [
        ("VOXLINE__RATE_LIMITS__ENABLED", "true"),
        ("VOXLINE__RATE_LIMITS__READ__PER_TENANT_PER_MINUTE", "10000"),
        ("VOXLINE__RATE_LIMITS__READ__PER_IP_PER_MINUTE", "50000"),
        ("VOXLINE__RATE_LIMITS__WRITE__PER_TENANT_PER_MINUTE", "1000"),
        ("VOXLINE__RATE_LIMITS__WRITE__PER_IP_PER_MINUTE", "5000"),
        (
            "VOXLINE__RATE_LIMITS__UPLOAD__PER_TENANT_PER_MINUTE",
            "1000",
        ),
        ("VOXLINE__RATE_LIMITS__UPLOAD__PER_IP_PER_MINUTE", "5000"),
        // `server.max_jobs_in_flight` stays at its default, 100 per
        // tenant: each of the 8 tenants has 25 jobs.
        // The default pool (the fleet's 4 suit ten processes on one server).
        ("VOXLINE__DATABASE__POOL_SIZE", "16"),
        ("VOXLINE__ENGINES__TRANSCRIBE", "pocketsphinx"),
        ("VOXLINE__ENGINES__DIARIZE", "false"),
        ("VOXLINE__ENGINES__SEPARATE", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect()
}

/// The sample clip's narration alone (AAC in MP4, about 3 s, 53 KB): real
/// speech, cheap to probe and to transcribe.
fn clip(env: &TestEnv) -> anyhow::Result<Vec<u8>> {
    let media = env.path("media");
    let video = sample_clip_saying(&media, Some("Hello."))?;
    let audio = media.join("clip.m4a");
    let made = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&video)
        .args(["-vn", "-c:a", "copy"])
        .arg(&audio)
        .status()?;
    anyhow::ensure!(made.success(), "ffmpeg could not take the clip's audio");
    Ok(std::fs::read(&audio)?)
}

/// How often the gateway's log says a rate-limit check timed out (the
/// request then went through unchecked).
fn limiter_timeouts(env: &TestEnv) -> usize {
    std::fs::read_to_string(env.path("logs").join("voxline-gateway.log"))
        .unwrap_or_default()
        .matches("rate limit check timed out")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_carries_200_uploads_and_1000_event_streams() -> anyhow::Result<()> {
    let started = Instant::now();
    // 1,000 streams hold a socket each here and in the gateway (which
    // inherits the limit), besides the clients' and the pools' own.
    let fd_limit = ensure_open_files(4096)?;
    let env = TestEnv::new().await?;
    let gateway = Fleet::start(&env, &[("voxline-gateway", 1)], &settings())?;
    gateway.ready().await?;
    let pid = gateway.pids("voxline-gateway")[0];
    let mut keys = Vec::new();
    for t in 0..TENANTS {
        let tenant = api_keys::ensure_tenant(&env.db, &format!("load-{t}")).await?;
        keys.push(api_keys::create(&env.db, tenant, "load").await?.secret);
    }
    let http = |timeout: Option<u64>| {
        let b = reqwest::Client::builder().http1_only();
        match timeout {
            Some(s) => b.timeout(Duration::from_secs(s)),
            None => b,
        }
        .build()
    };
    let load = Arc::new(Load {
        base: gateway.base.clone(),
        keys,
        clip: clip(&env)?,
        rec: Recorder::default(),
        uploads: http(Some(300))?,
        creations: http(Some(120))?,
        // No overall timeout: a stream lasts as long as its job.
        streams: http(None)?,
        others: http(Some(120))?,
        gauges: Gauges::default(),
    });
    let mut figures: Vec<(&str, String)> = vec![];
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rest_mib, rest_fds) = (rss_mib(pid), open_fds(pid));
    let sampler = RssSampler::start(pid, Duration::from_millis(50));

    // 200 clients at once: each uploads, creates its job, opens 5 streams.
    let burst = Instant::now();
    let cpu_before = (
        own_and_children_cpu(pid),
        cpu_seconds_of_command("postgres"),
        cpu_seconds(std::process::id()),
    );
    let clients: Vec<_> = (0..JOBS)
        .map(|i| tokio::spawn(client(load.clone(), i)))
        .collect();
    let (mut created, mut requests, mut streams) = (vec![], HashMap::new(), vec![]);
    for (i, c) in clients.into_iter().enumerate() {
        let (job, s) = c.await?;
        if let Some((id, request)) = job {
            created.push((i, id.clone()));
            requests.insert(id, request);
        }
        streams.extend(s);
    }
    let created_after = burst.elapsed();
    until(Duration::from_secs(120), "every stream established", || {
        load.gauges.established.load(Ordering::SeqCst) >= streams.len()
    })
    .await?;
    let ((own, children), postgres, test) = (
        own_and_children_cpu(pid),
        cpu_seconds_of_command("postgres"),
        cpu_seconds(std::process::id()),
    );
    let open_at_once = load.gauges.open.load(Ordering::SeqCst);
    figures.push((
        "200 uploads and creations answered / 1,000 streams with an event",
        format!(
            "{:.1} s / {:.1} s",
            created_after.as_secs_f64(),
            burst.elapsed().as_secs_f64()
        ),
    ));
    figures.push((
        "CPU meanwhile: gateway / its ffprobe+ffmpeg / PostgreSQL / test client",
        format!(
            "{:.1} s / {:.1} s / {:.1} s / {:.1} s",
            own - cpu_before.0.0,
            children - cpu_before.0.1,
            postgres - cpu_before.1,
            test - cpu_before.2
        ),
    ));

    // Held open and idle: what 1,000 streams cost the gateway at rest.
    let held = Instant::now();
    let (cpu_held, pg_held) = (cpu_seconds(pid), cpu_seconds_of_command("postgres"));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let held_cpu = (cpu_seconds(pid) - cpu_held) / held.elapsed().as_secs_f64();
    let held_pg = (cpu_seconds_of_command("postgres") - pg_held) / held.elapsed().as_secs_f64();
    let (held_mib, held_fds) = (rss_mib(pid), open_fds(pid));

    // Work begins: a transcriber, while every client repeats its creation
    // with the same key (a retry after a lost answer).
    let mut worker = settings();
    worker.push(("VOXLINE__DATABASE__POOL_SIZE", "4".into()));
    let transcriber = Fleet::start(&env, &[("voxline-transcriber", 1)], &worker)?;
    let requests = Arc::new(requests);
    let replays = at_once(&load, &created, |load, i, id| {
        let requests = requests.clone();
        async move {
            let key = load.key(i).to_owned();
            call(&load.rec, REPLAY, &[], || {
                load.creations
                    .post(format!("{}/v1/jobs", load.base))
                    .bearer_auth(&key)
                    .header("idempotency-key", format!("load-{i}"))
                    .json(&requests[&id])
            })
            .await
        }
    })
    .await?;
    // Until some jobs have completed (or 20 s): the rest are cancelled.
    let db = env.db.client().await?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        let sql = "SELECT count(*) FROM jobs WHERE status = 'completed'";
        if db.query_one(sql, &[]).await?.get::<_, i64>(0) >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Every job cancelled at once: 200 while it is open, 409
    // `job_finished` once it has completed.
    let cancels = at_once(&load, &created, |load, i, id| async move {
        let key = load.key(i).to_owned();
        call(&load.rec, CANCEL, &[StatusCode::CONFLICT], || {
            load.others
                .post(format!("{}/v1/jobs/{id}/cancel", load.base))
                .bearer_auth(&key)
        })
        .await
    })
    .await?;

    // Every stream must close now that its job has ended.
    let mut ends = Vec::new();
    let stream_deadline = Instant::now() + Duration::from_secs(60);
    for s in streams {
        let left = stream_deadline.saturating_duration_since(Instant::now());
        let Ok(end) = tokio::time::timeout(left, s).await else {
            anyhow::bail!(
                "{} streams still open 60 s after every job ended",
                load.gauges.open.load(Ordering::SeqCst)
            );
        };
        ends.push(end?);
    }

    // Each job as the API shows it, read by 200 clients at once.
    let reads = at_once(&load, &created, |load, i, id| async move {
        let key = load.key(i).to_owned();
        call(&load.rec, READ, &[], || {
            load.others
                .get(format!("{}/v1/jobs/{id}", load.base))
                .bearer_auth(&key)
        })
        .await
    })
    .await?;
    let (peak_sampled, peak_hwm, samples) = sampler.stop();
    drop(transcriber);
    // The clients go, and with them their idle keep-alive connections.
    let (rec, most_open, keys) = (
        load.rec.clone(),
        load.gauges.most_open.load(Ordering::SeqCst),
        load.keys.clone(),
    );
    drop(load);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (after_mib, after_fds) = (rss_mib(pid), open_fds(pid));
    let (waves_mib, mut problems) = waves(&gateway.base, &keys, &created, pid).await?;

    problems.extend(rec.failures());
    let audit = audit::audit(&db, &created, &replays, &cancels, &reads, &ends).await?;
    problems.extend(audit.problems);
    if open_at_once != JOBS * STREAMS_PER_JOB {
        problems.push(format!(
            "{open_at_once} streams open at once, not {}",
            JOBS * STREAMS_PER_JOB
        ));
    }

    figures.extend([
        (
            "jobs created / in PostgreSQL / completed / cancelled",
            format!(
                "{} / {} / {} / {}",
                created.len(),
                audit.recorded,
                audit.completed,
                audit.cancelled
            ),
        ),
        (
            "streams open at once (most) / events received",
            format!("{open_at_once} ({most_open}) / {}", audit.events),
        ),
        ("gateway RSS at rest", format!("{rest_mib:.1} MiB")),
        (
            "gateway RSS with 1,000 streams open, idle",
            format!("{held_mib:.1} MiB"),
        ),
        (
            "gateway peak RSS: sampled every 50 ms / VmHWM",
            format!("{peak_sampled:.1} / {peak_hwm:.1} MiB ({samples} samples)"),
        ),
        (
            "gateway RSS after, every connection closed",
            format!("{after_mib:.1} MiB"),
        ),
        (
            "gateway RSS after each of 3 more waves of 1,000 streams",
            waves_mib
                .iter()
                .map(|m| format!("{m:.1} MiB"))
                .collect::<Vec<_>>()
                .join(" / "),
        ),
        (
            "gateway CPU holding 1,000 idle streams",
            format!(
                "{:.0} % of a core (PostgreSQL: {:.0} %)",
                held_cpu * 100.0,
                held_pg * 100.0
            ),
        ),
        (
            "gateway open files: at rest / streams open / after",
            format!("{rest_fds} / {held_fds} / {after_fds}"),
        ),
        (
            "rate-limit checks timed out (let through)",
            limiter_timeouts(&env).to_string(),
        ),
        ("open-file limit (soft)", fd_limit.to_string()),
        (
            "test wall time",
            format!("{:.1} s", started.elapsed().as_secs_f64()),
        ),
    ]);
    eprintln!("\n{}\n| figure | value |\n|---|---|", rec.table());
    for (name, value) in &figures {
        eprintln!("| {name} | {value} |");
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems[..problems.len().min(40)].join("\n")
    );
    Ok(())
}
