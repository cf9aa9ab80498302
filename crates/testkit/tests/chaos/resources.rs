//! Faults of exhausted resources, set up with the kernel's own limits
//! (`voxline_testkit::limits`, root needed): the local storage's disk runs
//! full, and a worker is killed by the kernel's OOM killer. Each ends with
//! nothing lost and every job in a clear state.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use voxline_testkit::limits::Tmpfs;
use voxline_testkit::{TestEnv, sample_clip_saying, spawn_system};

/// The storage folder's size: the sample clip, its dub's files and room to spare.
const DISK_BYTES: u64 = 64 << 20;
/// The runner's backoff in the disk test: the first retry waits 1 to 2 s,
/// the second 2 to 4 s, the third 4 to 8 s (full jitter over the upper half).
const BACKOFF_BASE: f64 = 2.0;
const BACKOFF_MAX: f64 = 8.0;
/// Failed attempts seen before the operator frees space.
const FAILURES_WHILE_FULL: usize = 3;

/// The code and message of each failed attempt of a job that was retried.
async fn retries_of(
    db: &tokio_postgres::Client,
    job: uuid::Uuid,
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(db
        .query(
            "SELECT data->>'code', data->>'message' FROM job_events \
             WHERE job_id = $1 AND kind = 'stage_retrying' ORDER BY id",
            &[&job],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect())
}

/// The local storage's disk runs full (a size-capped tmpfs filled by a
/// file). An upload is refused with 507 `storage_full` and leaves nothing
/// behind; a dub asked for meanwhile fails its attempts with a transient
/// `storage_full` naming the cause, is retried with backoff, and completes
/// once the filler is removed (space freed, as an operator would), with no
/// partial file left from the failed attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_disk_refuses_uploads_and_holds_jobs_until_space_is_freed() -> anyhow::Result<()> {
    let started = Instant::now();
    let mut env = TestEnv::new().await?;
    // Attempts enough to wait for the operator, and waits long enough to see.
    env.settings.runner.max_attempts = 10;
    env.settings.runner.backoff_base_seconds = BACKOFF_BASE;
    env.settings.runner.backoff_max_seconds = BACKOFF_MAX;
    let clip = sample_clip_saying(&env.path("media"), Some("Welcome to the show."))?;
    let disk = Tmpfs::mount(&env.settings.storage.local_root, DISK_BYTES)?;
    let system = spawn_system(env).await?;
    let db = system.env.db.client().await?;
    let (status, upload) = system.upload(&clip).await?;
    anyhow::ensure!(status == 201, "the first upload fits: {status} {upload}");

    let filler = disk.fill("filler")?;
    let full = disk.files();
    eprintln!("disk full: {filler} bytes of filler on a {DISK_BYTES}-byte tmpfs; holding {full:?}");

    // (a) An upload that does not fit: a clear answer, nothing kept.
    let refused = system
        .http
        .post(system.url("/v1/uploads?filename=clip.mp4"))
        .bearer_auth(&system.api_key)
        .body(std::fs::read(&clip)?)
        .send()
        .await?;
    let (status, retry_after) = (
        refused.status().as_u16(),
        refused
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    );
    let body: Value = refused.json().await?;
    eprintln!("upload while full: {status}, Retry-After {retry_after:?}, {body}");
    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "storage_full", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("storage is full")),
        "{body}"
    );
    assert_eq!(retry_after.as_deref(), Some("60"));
    assert_eq!(disk.files(), full, "the refused upload left a file behind");
    let uploads: i64 = db
        .query_one("SELECT count(*) FROM uploads", &[])
        .await?
        .get(0);
    assert_eq!(uploads, 1, "the refused upload left a row behind");

    // (b) A dub while the disk is full: its stage cannot write and retries.
    let request =
        json!({"kind": "dub", "source_upload_id": upload["id"], "target_languages": ["es"]});
    let (status, job) = system.post("/v1/jobs", &request).await?;
    anyhow::ensure!(status == 202, "job creation: {status} {job}");
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    let job_id: uuid::Uuid = id.parse()?;
    // Deadlines leave room for a machine busy with other suites (make test).
    let deadline = Instant::now() + Duration::from_secs(120);
    let (failures, seen) = loop {
        let failures = retries_of(&db, job_id).await?;
        let (_, view) = system.get(&format!("/v1/jobs/{id}")).await?;
        anyhow::ensure!(
            view["status"] != "failed" && view["status"] != "completed",
            "the job ended while the disk was full: {view:#}"
        );
        // What the client sees while it waits: the stage's last error.
        let shown = view["tasks"][0]["stages"]
            .as_array()
            .and_then(|s| s.iter().find(|s| !s["error"].is_null()))
            .map(|s| s["error"].clone());
        if failures.len() >= FAILURES_WHILE_FULL
            && let Some(shown) = shown
        {
            break (failures, shown);
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the stage did not fail {FAILURES_WHILE_FULL} times on the full disk: {failures:?} {view:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for (code, message) in &failures {
        eprintln!("attempt failed: {code}: {message}");
        assert_eq!(code, "storage_full", "{message}");
        assert!(
            message.to_lowercase().contains("no space left on device"),
            "the message names the cause: {message}"
        );
    }
    eprintln!("the job's view meanwhile: {seen}");
    assert_eq!(seen["code"], "storage_full", "{seen}");
    // The failed attempts left nothing in storage.
    assert_eq!(disk.files(), full, "a failed attempt left a file behind");

    // The operator frees space.
    std::fs::remove_file(disk.path().join("filler"))?;
    let freed = Instant::now();
    let done = system.wait_for_job(&id, Duration::from_secs(180)).await?;
    let failed_attempts = retries_of(&db, job_id).await?.len();
    eprintln!(
        "completed {:.1} s after space was freed, after {failed_attempts} failed attempts",
        freed.elapsed().as_secs_f64()
    );
    assert_eq!(done["status"], "completed", "{done:#}");

    // Retried with backoff: each wait at least the least jittered delay
    // (half of base × 2^(n-1), capped) after its failure, less the second
    // by which a claim may take a run early (queue scores are whole seconds).
    let events = db
        .query(
            "SELECT kind::text, at FROM job_events WHERE job_id = $1 AND stage = 'transcribe' \
             AND kind IN ('stage_started', 'stage_retrying') ORDER BY id",
            &[&job_id],
        )
        .await?;
    let mut failed_at = None;
    let mut waits = Vec::new();
    for e in &events {
        let (kind, at): (String, chrono::DateTime<chrono::Utc>) = (e.get(0), e.get(1));
        match (kind.as_str(), failed_at) {
            ("stage_retrying", _) => failed_at = Some(at),
            ("stage_started", Some(failed)) => {
                waits.push((at - failed).as_seconds_f64());
                failed_at = None;
            }
            _ => {}
        }
    }
    eprintln!("waits before each retry: {waits:.2?} s");
    assert_eq!(waits.len(), failed_attempts, "every failure was retried");
    for (n, wait) in waits.iter().enumerate() {
        let least = (BACKOFF_BASE * 2f64.powi(n as i32)).min(BACKOFF_MAX) / 2.0;
        assert!(
            *wait >= least - 1.0,
            "retry {} came {wait:.2} s after its failure; the backoff is at least {least} s",
            n + 1
        );
    }

    // Nothing orphaned: every file is the upload, or in a folder of
    // recorded artifacts, and whole (its recorded size).
    let artifacts: Vec<(String, i64)> = db
        .query("SELECT object_key, size_bytes FROM artifacts", &[])
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let upload_key: String = db
        .query_one("SELECT object_key FROM uploads", &[])
        .await?
        .get(0);
    let root = disk.path();
    for file in disk.files() {
        let folder = file.rsplit_once('/').map_or("", |(d, _)| d);
        let known = file == upload_key
            || artifacts
                .iter()
                .any(|(key, _)| key.rsplit_once('/').is_some_and(|(d, _)| d == folder));
        assert!(known, "orphaned file: {file}");
    }
    for (key, size) in &artifacts {
        let on_disk = std::fs::metadata(root.join(key))?.len();
        assert_eq!(on_disk as i64, *size, "{key} is not whole");
    }
    eprintln!(
        "{} artifacts, all whole; no orphaned file; {:.1} s in all",
        artifacts.len(),
        started.elapsed().as_secs_f64()
    );
    system.stop().await?;
    drop(disk);
    Ok(())
}

/// The memory limit the transcriber is first run under: above what it
/// needs to take a script's lines and package the source (ffmpeg, in the
/// same group), below what whisper's base model needs once it loads.
#[cfg(feature = "whisper")]
const TOO_LITTLE_MEMORY: u64 = 128 << 20;
/// The limit an operator raises it to.
#[cfg(feature = "whisper")]
const ENOUGH_MEMORY: u64 = 1 << 30;

/// A worker killed by the kernel for memory: the transcriber runs in a
/// cgroup v1 memory group whose limit whisper's model does not fit in, so
/// the OOM killer kills it (SIGKILL) each time it takes a job that needs
/// hearing. The job is not lost: after `runner.max_lost_leases` lost
/// workers it fails with `worker_lost`, while a job with a script (its
/// transcription fits) completes through the same worker. The operator
/// then raises the limit and restarts the worker, the failed job is
/// retried through the API, and it completes.
#[cfg(feature = "whisper")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_for_memory_loses_no_job() -> anyhow::Result<()> {
    use std::os::unix::process::ExitStatusExt as _;

    use voxline_db::api_keys;
    use voxline_testkit::limits::MemoryCgroup;
    use voxline_testkit::{Fleet, whisper_model};

    const TRANSCRIBER: &str = "voxline-transcriber";
    let started = Instant::now();
    let env = TestEnv::new().await?;
    let model = whisper_model("ggml-base.bin");
    let group = MemoryCgroup::create("transcriber", TOO_LITTLE_MEMORY)?;
    let max_lost = 3;
    let extra = [
        ("VOXLINE__RUNNER__LEASE_SECONDS", "3".to_owned()),
        ("VOXLINE__RUNNER__MAX_LOST_LEASES", max_lost.to_string()),
        (
            "VOXLINE__RUNNER__RECONCILE_INTERVAL_SECONDS",
            "1".to_owned(),
        ),
        ("VOXLINE__ENGINES__TRANSCRIBE", "whisper".to_owned()),
        (
            "VOXLINE__ENGINES__WHISPER_MODEL",
            model.display().to_string(),
        ),
        // The transcriber's memory is whisper's alone, and the dubs are
        // not heard back (which would load whisper in the synthesizer).
        ("VOXLINE__ENGINES__DIARIZE", "false".to_owned()),
        ("VOXLINE__ENGINES__SEPARATE", "false".to_owned()),
        ("VOXLINE__ENGINES__HEAR_BACK", "false".to_owned()),
    ];
    let services = [
        ("voxline-gateway", 1),
        ("voxline-translator", 1),
        ("voxline-synthesizer", 1),
        ("voxline-renderer", 1),
        ("voxline-janitor", 1),
    ];
    let mut fleet = Fleet::start(&env, &services, &extra)?;
    fleet.confine(TRANSCRIBER, group.procs());
    fleet.add(TRANSCRIBER, 1)?;
    fleet.ready().await?;
    let tenant = api_keys::ensure_tenant(&env.db, "oom").await?;
    let key = api_keys::create(&env.db, tenant, "oom").await?.secret;
    let clip = sample_clip_saying(&env.path("media"), Some("Welcome to the show."))?;
    let heard = json!({"kind": "dub", "source_language": "en", "target_languages": ["es"]});
    let scripted = json!({"kind": "dub", "source_language": "en", "target_languages": ["es"],
        "script": {"format": "text", "text": "0:00.3-0:02.5 Welcome to the show."}});
    let hungry = fleet.submit(&key, &clip, heard).await?;
    let light = fleet.submit(&key, &clip, scripted).await?;

    let (http, base) = (reqwest::Client::new(), fleet.base.clone());
    let view = |id: &str| {
        let request = http.get(format!("{base}/v1/jobs/{id}")).bearer_auth(&key);
        async move { anyhow::Ok(request.send().await?.json::<Value>().await?) }
    };
    let ended = |j: &Value| {
        matches!(
            j["status"].as_str(),
            Some("completed" | "failed" | "cancelled")
        )
    };
    let mut seen_exits = 0;
    let mut kills = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(240);
    let (hungry_view, light_view) = loop {
        anyhow::ensure!(Instant::now() < deadline, "the jobs did not end");
        let pids = fleet.pids(TRANSCRIBER);
        fleet.supervise()?;
        for (name, status) in &fleet.exits[seen_exits..] {
            let counters = group.counters()?;
            let pid = if *name == TRANSCRIBER {
                format!(" {pids:?}")
            } else {
                String::new()
            };
            eprintln!(
                "{:>5.1} s: {name}{pid} exited: {status} (signal {:?}); the group's \
                 oom_kill {}, under_oom {}, failcnt {}, memsw failcnt {}, peak {} MiB",
                started.elapsed().as_secs_f64(),
                status.signal(),
                counters.oom_kill,
                counters.under_oom,
                counters.failcnt,
                counters.memsw_failcnt,
                counters.max_usage >> 20
            );
            kills.push(status.signal());
        }
        seen_exits = fleet.exits.len();
        let (h, l) = (view(&hungry).await?, view(&light).await?);
        if ended(&h) && ended(&l) {
            break (h, l);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let counters = group.counters()?;
    eprintln!(
        "{:>5.1} s: the heard job {}, the scripted one {}; the group's peak {} MiB of {} MiB",
        started.elapsed().as_secs_f64(),
        hungry_view["status"],
        light_view["status"],
        counters.max_usage >> 20,
        TOO_LITTLE_MEMORY >> 20
    );
    assert_eq!(light_view["status"], "completed", "{light_view:#}");
    assert_eq!(hungry_view["status"], "failed", "{hungry_view:#}");
    let error = &hungry_view["tasks"][0]["error"];
    assert_eq!(error["code"], "worker_lost", "{hungry_view:#}");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("{max_lost} worker losses"))),
        "{error}"
    );
    // Killed by the kernel, not by anyone here: SIGKILL, and the group's
    // OOM killer counted each.
    assert_eq!(kills, vec![Some(9); max_lost], "every exit a SIGKILL");
    assert!(
        counters.oom_kill >= max_lost as u64,
        "the OOM killer counted {} kills",
        counters.oom_kill
    );
    let db = env.db.client().await?;
    let hungry_id: uuid::Uuid = hungry.parse()?;
    let lost: i32 = db
        .query_one(
            "SELECT lost_leases FROM stage_runs WHERE job_id = $1 AND stage = 'transcribe'",
            &[&hungry_id],
        )
        .await?
        .get(0);
    assert_eq!(lost, max_lost as i32);

    // The operator raises the limit and restarts the worker; the client
    // retries the failed job.
    group.set_limit(ENOUGH_MEMORY)?;
    group.reset_peak()?;
    let kills_before = counters.oom_kill;
    for pid in fleet.pids(TRANSCRIBER) {
        std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()?;
    }
    let restart = Instant::now() + Duration::from_secs(30);
    while fleet.exits.len() == seen_exits {
        anyhow::ensure!(Instant::now() < restart, "the transcriber did not stop");
        fleet.supervise()?;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let retried = http
        .post(format!("{base}/v1/jobs/{hungry}/retry"))
        .bearer_auth(&key)
        .send()
        .await?;
    anyhow::ensure!(retried.status() == 202, "retry: {}", retried.text().await?);
    let deadline = Instant::now() + Duration::from_secs(240);
    let done = loop {
        fleet.supervise()?;
        let done = view(&hungry).await?;
        if ended(&done) {
            break done;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the retried job did not end: {done:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let counters = group.counters()?;
    eprintln!(
        "{:>5.1} s: the retried job {}; transcribed by {}; the group's peak {} MiB of {} MiB, \
         oom_kill {}",
        started.elapsed().as_secs_f64(),
        done["status"],
        done["tasks"][0]["stages"][0]["engine"],
        counters.max_usage >> 20,
        ENOUGH_MEMORY >> 20,
        counters.oom_kill
    );
    assert_eq!(done["status"], "completed", "{done:#}");
    assert_eq!(counters.oom_kill, kills_before, "no kill after the raise");
    assert!(
        counters.max_usage > TOO_LITTLE_MEMORY,
        "whisper needed more than the first limit (peak {} bytes)",
        counters.max_usage
    );
    fleet.terminate(Duration::from_secs(30))?;
    Ok(())
}
