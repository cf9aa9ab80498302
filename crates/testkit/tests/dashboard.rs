//! The operator dashboard (`/admin`) end to end in headless Chromium: real
//! jobs of two tenants (one completed, one failed for good, one held for a
//! later publication), the page signed in with the admin token, its live
//! queue table, failed task and jobs in flight, a Retry that brings the
//! failed job to completion once its cause is fixed, a Cancel across
//! tenants, and a screenshot that shows the page rendered
//! (target/screenshots/dashboard.png). The admin API refuses other tokens
//! and does not exist without an admin token; the operator queries count
//! what PostgreSQL holds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use voxline_config::Secret;
use voxline_core::Stage;
use voxline_db::ops;
use voxline_testkit::screenshots::{Rgb, keep};
use voxline_testkit::webdriver::{Browser, WINDOW};
use voxline_testkit::{TestEnv, TestSystem, sample_clip_saying, seed, spawn_system};

const ADMIN: &str = "dashboard-admin-token-0123456789";
const WAIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn operators_watch_retry_and_cancel_from_the_dashboard() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.auth.admin_token = Secret::new(ADMIN);
    // Apertium is looked for where it is not yet: translations fail for
    // good (a missing program is not retried) until the test puts it there.
    let apertium = env.path("bin/apertium");
    std::fs::create_dir_all(apertium.parent().unwrap())?;
    env.settings.engines.apertium_binary = apertium.clone();
    // Every job publishes into a folder, so one can be held for a later time.
    env.settings.publish.folder = Some(env.path("published"));
    let sys = spawn_system(env).await?;
    let clip = sample_clip_saying(&sys.env.path("media"), Some("Hello there. Welcome."))?;

    let failed = id_of(&sys.dub(&clip, &["es"]).await?);
    let job = sys.wait_for_job(&failed, WAIT).await?;
    assert_eq!(job["status"], "failed", "{job:#}");
    assert_eq!(job["tasks"][0]["stage"], "translate", "{job:#}");

    // The cause is fixed; new work completes.
    std::os::unix::fs::symlink(in_path("apertium")?, &apertium)?;
    let completed = id_of(&sys.dub(&clip, &["es"]).await?);
    // Another tenant's job waits an hour to publish: in flight all along.
    let other = sys.key_for("tenant-b").await?;
    let held = held_job(&sys, &other, &clip).await?;
    let job = sys.wait_for_job(&completed, WAIT).await?;
    assert_eq!(job["status"], "completed", "{job:#}");

    let browser = Browser::start().await?;
    browser.goto(&sys.url("/admin")).await?;
    browser
        .wait_for("#token", WAIT)
        .await?
        .send_keys(ADMIN)
        .await?;
    browser.click("#connect", WAIT).await?;

    // Live values: every stage has workers; the held job's publication is
    // scheduled; the failed task shows its error; the held job can be
    // cancelled; both tenants' usage is listed.
    for stage in ["transcribe", "translate", "synthesize", "render", "publish"] {
        let row = format!("#queues tbody tr[data-stage='{stage}'] td:last-child");
        browser
            .wait_for_text(&row, WAIT, |t| t.parse::<u64>().is_ok_and(|n| n >= 1))
            .await?;
    }
    browser
        .wait_for_text(
            "#queues tbody tr[data-stage='publish'] td:nth-of-type(3)",
            WAIT,
            |t| t == "1",
        )
        .await?;
    let row = browser
        .wait_for_text(
            &format!("#failed tbody tr[data-job='{failed}']"),
            WAIT,
            |t| t.contains(&failed) && t.to_lowercase().contains("translate"),
        )
        .await?;
    assert!(row.contains("tenant-a") && row.contains("es"), "{row}");
    browser
        .wait_for_text(&format!("#active tbody tr[data-job='{held}']"), WAIT, |t| {
            t.contains("tenant-b")
        })
        .await?;
    browser
        .wait_for_text("#tenants tbody", WAIT, |t| {
            t.contains("tenant-a") && t.contains("tenant-b")
        })
        .await?;
    check_screenshot(&browser).await?;

    // Retry: the failed job runs again and, its cause fixed, completes.
    browser
        .click(
            &format!("#failed tbody tr[data-job='{failed}'] button.retry"),
            WAIT,
        )
        .await?;
    browser
        .wait_for_text("#notice", WAIT, |t| t.contains("is retrying"))
        .await?;
    let job = sys.wait_for_job(&failed, WAIT).await?;
    assert_eq!(job["status"], "completed", "{job:#}");
    wait_until_gone(&browser, &format!("#failed tbody tr[data-job='{failed}']")).await?;

    // Cancel another tenant's job: one press asks, a second does it.
    let cancel = format!("#active tbody tr[data-job='{held}'] button.cancel");
    browser.click(&cancel, WAIT).await?;
    browser
        .wait_for_text(&cancel, WAIT, |t| t == "Confirm cancel")
        .await?;
    browser.click(&cancel, WAIT).await?;
    let (_, job, _) = sys
        .call(Method::GET, &format!("/v1/jobs/{held}"), Some(&other), None)
        .await?;
    let job = match job["status"].as_str() {
        Some("cancelled") => job,
        _ => wait_for_status(&sys, &other, &held, "cancelled").await?,
    };
    assert_eq!(job["status"], "cancelled", "{job:#}");
    browser
        .wait_for_text("#notice", WAIT, |t| t.contains("cancelled"))
        .await?;
    wait_until_gone(&browser, &format!("#active tbody tr[data-job='{held}']")).await?;

    browser.quit().await?;
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_admin_api_takes_only_the_admin_token() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.auth.admin_token = Secret::new(ADMIN);
    let sys = spawn_system(env).await?;
    let overview = "/v1/admin/overview";
    for token in [None, Some("wrong-token"), Some(sys.api_key.as_str())] {
        let (s, b, _) = sys.call(Method::GET, overview, token, None).await?;
        assert_eq!(
            (s, b["error"]["code"].as_str()),
            (401, Some("unauthorized")),
            "{b}"
        );
    }
    let (s, b, _) = sys.call(Method::GET, overview, Some(ADMIN), None).await?;
    assert_eq!(s, 200, "{b}");
    let stages: Vec<&str> = b["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["stage"].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["transcribe", "translate", "synthesize", "render", "publish"]
    );
    assert_eq!(b["jobs"]["history"].as_array().unwrap().len(), 24, "{b}");
    assert_eq!(b["problems"], json!([]), "{b}");
    let (s, b, _) = sys
        .call(
            Method::GET,
            &format!("{overview}?hours=0"),
            Some(ADMIN),
            None,
        )
        .await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (400, Some("invalid_query")),
        "{b}"
    );
    for action in ["retry", "cancel"] {
        for id in ["0190f1c2-0000-7000-8000-000000000000", "not-an-id"] {
            let path = format!("/v1/admin/jobs/{id}/{action}");
            let (s, b, _) = sys.call(Method::POST, &path, Some(ADMIN), None).await?;
            assert_eq!(
                (s, b["error"]["code"].as_str()),
                (404, Some("not_found")),
                "{b}"
            );
        }
    }

    // The page and its assets need no token, and run only their own code.
    for (path, kind) in [
        ("/admin", "text/html"),
        ("/admin/dashboard.js", "text/javascript"),
        ("/admin/dashboard.css", "text/css"),
    ] {
        let r = sys.http.get(sys.url(path)).send().await?;
        assert_eq!(r.status(), 200, "{path}");
        let header = |name: &str| {
            r.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(header("content-type").starts_with(kind), "{path}");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{path}: {csp}"
        );
    }
    sys.stop().await?;

    // Without an admin token the admin API does not exist.
    let off = spawn_system(TestEnv::new().await?).await?;
    let (s, b, _) = off
        .call(Method::GET, overview, Some("anything"), None)
        .await?;
    assert_eq!(
        (s, b["error"]["code"].as_str()),
        (404, Some("not_found")),
        "{b}"
    );
    off.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_queries_count_what_postgresql_holds() -> anyhow::Result<()> {
    let env = TestEnv::new().await?;
    let db = &env.db;
    let mut jobs = Vec::new();
    for _ in 0..4 {
        jobs.push(seed::transcribe_job(db, 3).await?.job.id);
    }
    // One run due for 30 s, one in backoff, one held by a worker, and one
    // job failed for good.
    let changes = [
        (
            jobs[0],
            "UPDATE stage_runs SET run_after = now() - interval '30 seconds' WHERE job_id = $1",
        ),
        (
            jobs[1],
            "UPDATE stage_runs SET run_after = now() + interval '1 hour' WHERE job_id = $1",
        ),
        (
            jobs[2],
            "UPDATE stage_runs SET status = 'running', lease_owner = 'w-1' WHERE job_id = $1",
        ),
        (jobs[2], "UPDATE jobs SET started_at = now() WHERE id = $1"),
        (
            jobs[2],
            "INSERT INTO workers (id, stage, host, pid, lease_expires_at)
             SELECT 'w-1', 'transcribe', 'test', 1, now() + interval '1 minute' WHERE $1::uuid IS NOT NULL",
        ),
        (
            jobs[3],
            "UPDATE stage_runs SET status = 'failed', finished_at = now() WHERE job_id = $1",
        ),
        (
            jobs[3],
            "UPDATE tasks SET status = 'failed', error_code = 'bad_media',
                          error_message = 'no audio', finished_at = now() WHERE job_id = $1",
        ),
        (
            jobs[3],
            "UPDATE jobs SET tasks_open = 0, tasks_failed = 1, started_at = now(), finished_at = now()
             WHERE id = $1",
        ),
    ];
    let client = db.client().await?;
    for (job, sql) in changes {
        client.execute(sql, &[&job.0]).await?;
    }

    let stats = ops::queue_stats(db).await?;
    let stages: Vec<Stage> = stats.iter().map(|s| s.stage).collect();
    assert_eq!(stages, Stage::ALL);
    let transcribe = &stats[0];
    assert_eq!(
        (
            transcribe.queued_due,
            transcribe.scheduled,
            transcribe.running
        ),
        (1, 1, 1),
        "{transcribe:?}"
    );
    assert!(
        (30.0..60.0).contains(&transcribe.oldest_due_seconds),
        "{transcribe:?}"
    );
    assert!(
        stats[1..]
            .iter()
            .all(|s| s.queued_due + s.scheduled + s.running == 0 && s.oldest_due_seconds == 0.0)
    );
    assert_eq!(
        voxline_db::workers::alive(db, Stage::Transcribe).await?,
        ["w-1".to_owned()].into()
    );

    let history = ops::job_history(db, 24).await?;
    assert_eq!(history.hours.len(), 24);
    let now = history.hours.last().unwrap();
    assert!(
        now.hour <= chrono::Utc::now()
            && chrono::Utc::now() - now.hour < chrono::Duration::hours(1)
    );
    assert_eq!(
        (
            history.totals.queued,
            history.totals.running,
            history.totals.failed
        ),
        (2, 1, 1)
    );

    let active = ops::active_jobs(db, 50).await?;
    assert_eq!(
        (active.queued, active.running, active.jobs.len()),
        (2, 1, 3)
    );

    let failed = ops::failed_tasks(db, 50).await?;
    assert_eq!(failed.len(), 1);
    assert_eq!(
        (
            failed[0].job_id,
            failed[0].tenant.as_str(),
            failed[0].error_code.as_deref()
        ),
        (jobs[3], "seeded", Some("bad_media"))
    );

    let usage = ops::tenant_usage(db, chrono::Utc::now() - chrono::Duration::hours(1)).await?;
    assert_eq!(usage.len(), 1);
    assert_eq!(
        (
            usage[0].tenant.as_str(),
            usage[0].jobs,
            usage[0].media_seconds
        ),
        ("seeded", 4, 4.0)
    );
    Ok(())
}

fn id_of(job: &Value) -> String {
    job["id"].as_str().expect("a job id").to_owned()
}

fn in_path(program: &str) -> anyhow::Result<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(program))
        .find(|p| p.exists())
        .ok_or_else(|| anyhow::anyhow!("{program} is not installed (scripts/setup.sh installs it)"))
}

/// A dub of `tenant` (its API key) held an hour before publishing.
async fn held_job(sys: &TestSystem, tenant: &str, clip: &Path) -> anyhow::Result<String> {
    let upload: Value = sys
        .http
        .post(sys.url("/v1/uploads"))
        .query(&[("filename", "clip.mp4")])
        .bearer_auth(tenant)
        .body(tokio::fs::read(clip).await?)
        .send()
        .await?
        .json()
        .await?;
    let at = chrono::Utc::now() + chrono::Duration::hours(1);
    let body = json!({"kind": "dub", "source_upload_id": upload["id"], "target_languages": ["es"],
                      "options": {"publish_at": at.to_rfc3339()}});
    let (s, job, _) = sys
        .call(Method::POST, "/v1/jobs", Some(tenant), Some(&body))
        .await?;
    anyhow::ensure!(s == 202, "job creation: {s} {job}");
    Ok(id_of(&job))
}

async fn wait_for_status(
    sys: &TestSystem,
    tenant: &str,
    id: &str,
    status: &str,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, job, _) = sys
            .call(Method::GET, &format!("/v1/jobs/{id}"), Some(tenant), None)
            .await?;
        if job["status"] == status {
            return Ok(job);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "job {id} is not {status}: {job:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn wait_until_gone(browser: &Browser, css: &str) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !browser.find_all(css).await?.is_empty() {
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "`{css}` is still on the page"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// The screenshot is the window's width, has the variety of a rendered
/// page, and the queue table's region is drawn (text on a background, not
/// one flat colour). It is kept for people to look at.
async fn check_screenshot(browser: &Browser) -> anyhow::Result<()> {
    let bytes = browser.screenshot().await?;
    keep(&bytes, "dashboard.png")?;

    let image = Rgb::decode(&bytes)?;
    assert_eq!(image.width, WINDOW.0, "the screenshot's width");
    let everywhere = image.colours(0, 0, image.width, image.height);
    assert!(
        everywhere > 200,
        "a rendered page has many colours (text, chart, pills); this one has {everywhere}"
    );
    let (x, y, w, h) = browser.find_all("#queues").await?[0].rect().await?;
    let (x, y) = (x.max(0.0) as u32, y.max(0.0) as u32);
    let w = (w as u32).min(image.width.saturating_sub(x));
    let h = (h as u32).min(image.height.saturating_sub(y));
    assert!(
        w > 300 && h > 100,
        "the queue table is in view: {w}x{h} at {x},{y}"
    );
    let table = image.colours(x, y, w, h);
    assert!(
        table > 20,
        "the queue table's region has {table} colours: it is not drawn"
    );
    let (dark, light) = image.dark_and_light(x, y, w, h);
    assert!(
        dark > 200 && light > (w * h) / 2,
        "the queue table shows dark text ({dark} pixels) on a light background ({light} pixels)"
    );
    // The rest of the page, for people.
    browser
        .execute("window.scrollTo(0, document.body.scrollHeight)", vec![])
        .await?;
    keep(&browser.screenshot().await?, "dashboard-lower.png")?;
    browser.execute("window.scrollTo(0, 0)", vec![]).await?;
    Ok(())
}
