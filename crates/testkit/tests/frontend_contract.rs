//! The existing frontend's API, driven exactly as its client code does
//! (docs/frontend/client-calls.md): a Supabase-style JWT, upload
//! URLs, raw PUTs without auth, job creation retried blindly, polling until
//! `complete`, downloads without a token, the job list, the downloads
//! list, deletion, and the flat errors the client understands.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use voxline_testkit::auth::{HS_SECRET, hs256_with, user_claims};
use voxline_testkit::{
    TestEnv, TestSystem, ffprobe_json, installed_engines, sample_clip_saying, spawn_system,
};

const STATUSES: &[&str] = &[
    "uploading",
    "processing",
    "generating",
    "finalizing",
    "complete",
    "error",
];

struct Frontend<'a> {
    sys: &'a TestSystem,
    token: String,
}

/// The system, taking the JWTs the frontend's Supabase issues.
async fn frontend_system() -> anyhow::Result<TestSystem> {
    let mut env = TestEnv::new().await?;
    env.settings.auth.jwt_secret = voxline_config::Secret::new(HS_SECRET);
    spawn_system(env).await
}

impl<'a> Frontend<'a> {
    /// A user signed in to the frontend.
    fn signed_in(sys: &'a TestSystem) -> Self {
        Self {
            sys,
            token: hs256_with(HS_SECRET.as_bytes(), &user_claims("frontend-user")),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let (s, b, _) = self.sys.call(method, path, Some(&self.token), body).await?;
        Ok((s, b))
    }

    /// `POST /api/jobs/upload-urls`, then the PUTs (voice first), as the client does.
    async fn upload(&self, voice: &Path, background: Option<&Path>) -> anyhow::Result<Value> {
        self.upload_for(voice, background, &["es"]).await
    }

    /// The same, for a dub into `languages`.
    async fn upload_for(
        &self,
        voice: &Path,
        background: Option<&Path>,
        languages: &[&str],
    ) -> anyhow::Result<Value> {
        let mut ask = json!({"languages": languages, "voice_track_name": "voice.mp3"});
        if background.is_some() {
            ask["background_track_name"] = json!("background.wav");
        }
        let (s, urls) = self
            .call(Method::POST, "/api/jobs/upload-urls", Some(&ask))
            .await?;
        assert_eq!(s, 200, "{urls}");
        self.put(
            urls["upload_urls"]["voice_track"].as_str().unwrap(),
            voice,
            "audio/mpeg",
        )
        .await?;
        if let Some(bg) = background {
            self.put(
                urls["upload_urls"]["background_track"].as_str().unwrap(),
                bg,
                "audio/wav",
            )
            .await?;
        }
        Ok(urls)
    }

    async fn put(&self, url: &str, file: &Path, mime: &str) -> anyhow::Result<()> {
        let r = self
            .sys
            .http
            .put(url)
            .header("content-type", mime)
            .body(tokio::fs::read(file).await?)
            .send()
            .await?;
        assert!(r.status().is_success(), "PUT answered {}", r.status());
        Ok(())
    }

    /// `POST /api/jobs/` for the tracks of `urls`, as the client sends it.
    async fn create(&self, urls: &Value, background: bool) -> anyhow::Result<(u16, Value)> {
        let body = Self::creation(urls, background);
        self.call(Method::POST, "/api/jobs/", Some(&body)).await
    }

    fn creation(urls: &Value, background: bool) -> Value {
        Self::creation_for(urls, background, &["es"])
    }

    fn creation_for(urls: &Value, background: bool, languages: &[&str]) -> Value {
        json!({
            "job_id": urls["job_id"], "voice_track_uploaded": true,
            "background_track_uploaded": background, "languages": languages,
            "voice_track_url": urls["upload_urls"]["voice_track"],
            "background_track_url": urls["upload_urls"]["background_track"],
        })
    }
}

/// Polls the job as the client does until `complete` or `error`.
async fn poll(ui: &Frontend<'_>, id: &str, limit: Duration) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let (s, view) = ui
            .call(Method::GET, &format!("/api/jobs/{id}"), None)
            .await?;
        assert_eq!(s, 200, "{view}");
        let status = view["status"].as_str().unwrap_or_default();
        assert!(STATUSES.contains(&status), "{view}");
        assert!(
            view["progress"].as_u64().is_some_and(|p| p <= 100),
            "{view}"
        );
        if status == "complete" || status == "error" {
            return Ok(view);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "still running: {view}"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

/// The narration padded to the background's length, as MP3: a voice track
/// of the same duration as its background.
fn voice_track(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf, PathBuf)> {
    sample_clip_saying(dir, Some("Welcome to the show. Thank you very much."))?;
    let (narration, background) = (dir.join("narration.wav"), dir.join("background.wav"));
    let seconds = ffprobe_json(&background)?["format"]["duration"]
        .as_str()
        .unwrap_or("0")
        .to_owned();
    let voice = dir.join("voice.mp3");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&narration)
        .args([
            "-af",
            "adelay=1000|1000,apad",
            "-t",
            &seconds,
            "-ar",
            "44100",
        ])
        .arg(&voice)
        .status()?
        .success();
    anyhow::ensure!(ok, "ffmpeg could not make the voice track");
    Ok((voice, background, narration))
}

fn assert_flat_error(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "{body}");
    assert_eq!(body["error"], want_code, "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| m.len() > 10),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_frontend_dubs_a_voice_track_over_its_background() -> anyhow::Result<()> {
    let sys = frontend_system().await?;
    let ui = Frontend::signed_in(&sys);
    let (voice, background, narration) = voice_track(&sys.env.path("media"))?;

    let urls = ui.upload(&voice, Some(&background)).await?;
    let id = urls["job_id"].as_str().unwrap().to_owned();
    let body = Frontend::creation(&urls, true);
    let (s, created) = ui.call(Method::POST, "/api/jobs/", Some(&body)).await?;
    assert_eq!(s, 201, "{created}");
    assert_eq!(created["job_id"], id.as_str());
    // The client retries blindly (and without the trailing slash): one job.
    let (s, again) = ui.call(Method::POST, "/api/jobs", Some(&body)).await?;
    assert_eq!((s, again["job_id"].as_str()), (200, Some(id.as_str())));

    let view = poll(&ui, &id, Duration::from_secs(180)).await?;
    assert_eq!(view["status"], "complete", "{view}");
    assert_eq!(
        (view["progress"].as_u64(), view["totalLanguages"].as_u64()),
        (Some(100), Some(1))
    );
    assert_eq!(view["completedLanguages"], 1);
    assert!(
        view["startedAt"]
            .as_str()
            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok())
    );
    let es = &view["languages"][0];
    assert_eq!(
        (es["languageCode"].as_str(), es["languageName"].as_str()),
        (Some("es"), Some("Spanish"))
    );
    assert_eq!(
        (es["flag"].as_str(), es["status"].as_str()),
        (Some("🇪🇸"), Some("complete"))
    );
    assert!(es["fileSize"].as_i64().is_some_and(|n| n > 1000), "{es}");

    // The browser downloads without an auth header, and saves the file as
    // `<job>_es_dub.mp3`: it is one.
    let dub = sys.env.path("dub.mp3");
    let r = reqwest::get(es["downloadUrl"].as_str().unwrap()).await?;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "audio/mpeg");
    std::fs::write(&dub, r.bytes().await?)?;
    let probe = ffprobe_json(&dub)?;
    assert_eq!(probe["format"]["format_name"], "mp3", "{probe}");
    let seconds: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap_or("0")
        .parse()?;
    let want: f64 = ffprobe_json(&voice)?["format"]["duration"]
        .as_str()
        .unwrap_or("0")
        .parse()?;
    assert!(
        (seconds - want).abs() < 1.0,
        "dub lasts {seconds} s, the voice {want} s"
    );

    // The job list and the downloads page.
    let (s, list) = ui.call(Method::GET, "/api/jobs", None).await?;
    assert_eq!(s, 200);
    let item = list
        .as_array()
        .unwrap()
        .iter()
        .find(|j| j["id"] == id.as_str())
        .unwrap();
    assert_eq!(
        (
            item["status"].as_str(),
            item["background_track_uploaded"].as_bool()
        ),
        (Some("complete"), Some(true))
    );
    assert!(
        (item["voice_track_duration"].as_f64().unwrap() - want).abs() < 0.5,
        "{item}"
    );
    // What the jobs page shows beside each job.
    assert_eq!(
        (
            item["progress"].as_u64(),
            item["total_languages"].as_u64(),
            item["completed_languages"].as_u64()
        ),
        (Some(100), Some(1), Some(1)),
        "{item}"
    );
    assert!(
        item["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{item}"
    );
    let links = &item["download_urls"]["es"];
    let captions = reqwest::get(links["captions"].as_str().unwrap())
        .await?
        .text()
        .await?;
    assert!(captions.contains("-->"), "SRT captions: {captions}");
    for kind in ["voice", "full"] {
        let path = sys.env.path(&format!("{kind}.mp3"));
        let r = reqwest::get(links[kind].as_str().unwrap()).await?;
        assert_eq!(r.status(), 200, "{kind}");
        std::fs::write(&path, r.bytes().await?)?;
        assert_eq!(
            ffprobe_json(&path)?["format"]["format_name"],
            "mp3",
            "{kind}"
        );
    }
    let (s, files) = ui.call(Method::GET, "/api/downloads", None).await?;
    assert_eq!(s, 200);
    let mut types: Vec<&str> = files
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["file_type"].as_str().unwrap())
        .collect();
    types.sort();
    assert_eq!(types, ["captions", "full", "voice"], "{files}");
    assert!(
        files
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["is_expired"] == false && f["download_url"].is_string())
    );
    // Each file names its job by the voice track's file name.
    let voice_name = voice.file_name().unwrap().to_string_lossy();
    assert!(
        files
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["job_title"] == *voice_name),
        "{files}"
    );

    // Tracks whose durations differ by more than a second.
    let urls = ui.upload(&narration, Some(&background)).await?;
    let (s, b) = ui.create(&urls, true).await?;
    assert_flat_error(s, &b, 400, "duration_mismatch");
    assert!(
        b["voice_duration"].as_f64().unwrap() + 1.0 < b["background_duration"].as_f64().unwrap(),
        "{b}"
    );

    // Deleting a finished job removes it and its files.
    let (s, _) = ui
        .call(Method::DELETE, &format!("/api/jobs/{id}"), None)
        .await?;
    assert_eq!(s, 204);
    let (s, b) = ui
        .call(Method::GET, &format!("/api/jobs/{id}"), None)
        .await?;
    assert_flat_error(s, &b, 404, "not_found");
    assert!(
        !sys.env
            .settings
            .storage
            .local_root
            .join("jobs")
            .join(&id)
            .exists()
    );
    assert_eq!(
        reqwest::get(links["full"].as_str().unwrap())
            .await?
            .status(),
        404
    );
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_frontend_gets_errors_it_understands() -> anyhow::Result<()> {
    let sys = frontend_system().await?;
    let ui = Frontend::signed_in(&sys);
    let (voice, _, _) = voice_track(&sys.env.path("media"))?;

    let (s, b, _) = sys.call(Method::GET, "/api/jobs", None, None).await?;
    assert_flat_error(s, &b, 401, "unauthorized");
    let ask = |langs: Value| json!({"languages": langs, "voice_track_name": "voice.mp3"});
    let refusals = [
        (ask(json!(["ja"])), 422, "unsupported_language"),
        (ask(json!(["klingon"])), 422, "unknown_language"),
        (json!({"languages": ["es"]}), 400, "invalid_json"),
    ];
    for (body, status, code) in &refusals {
        let (s, b) = ui
            .call(Method::POST, "/api/jobs/upload-urls", Some(body))
            .await?;
        assert_flat_error(s, &b, *status, code);
    }

    // Created before the file was PUT: a clear 400, and nothing is lost.
    let (s, urls) = ui
        .call(
            Method::POST,
            "/api/jobs/upload-urls",
            Some(&ask(json!(["es"]))),
        )
        .await?;
    assert_eq!(s, 200);
    let id = urls["job_id"].as_str().unwrap();
    let (s, view) = ui
        .call(Method::GET, &format!("/api/jobs/{id}"), None)
        .await?;
    assert_eq!(
        (s, view["status"].as_str()),
        (200, Some("uploading")),
        "{view}"
    );
    let (s, b) = ui.create(&urls, false).await?;
    assert_flat_error(s, &b, 400, "upload_missing");
    let (s, b) = ui.create(&urls, true).await?;
    assert_flat_error(s, &b, 400, "background_track_not_expected");

    // A tampered upload URL is refused; the real one works afterwards.
    let url = urls["upload_urls"]["voice_track"].as_str().unwrap();
    let tampered = url.replace("sig=", "sig=00");
    let r = sys
        .http
        .put(&tampered)
        .body(tokio::fs::read(&voice).await?)
        .send()
        .await?;
    assert_eq!(r.status(), 403);
    ui.put(url, &voice, "audio/mpeg").await?;
    let (s, b) = ui.create(&urls, false).await?;
    assert_eq!(s, 201, "{b}");

    // DELETE of a running job cancels it; its status turns to `error`.
    let (s, _) = ui
        .call(Method::DELETE, &format!("/api/jobs/{id}"), None)
        .await?;
    assert_eq!(s, 204);
    let (_, view) = ui
        .call(Method::GET, &format!("/api/jobs/{id}"), None)
        .await?;
    assert_eq!(view["status"], "error", "{view}");
    let (s, b) = ui.call(Method::DELETE, "/api/jobs/not-a-job", None).await?;
    assert_flat_error(s, &b, 404, "not_found");
    let (s, b) = ui.call(Method::GET, "/api/nowhere", None).await?;
    assert_flat_error(s, &b, 404, "not_found");
    sys.stop().await
}

/// Every language the frontend offers, picked from English on the offline
/// engines the demo runs: the ones they serve (Spanish from apertium,
/// French and Italian through Spanish, Portuguese from Bergamot's neural
/// model; all spoken by Kokoro, and heard back by whisper) dub to the end
/// with a download each; the ones no offline engine translates into are
/// refused before anything is uploaded, with a message naming what can be
/// served.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_frontend_language_is_dubbed_offline_or_refused_with_what_can_be()
-> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.auth.jwt_secret = voxline_config::Secret::new(HS_SECRET);
    let engines = &mut env.settings.engines;
    engines.transcribe = vec!["whisper".into(), "pocketsphinx".into()];
    engines.translate = vec!["bergamot".into(), "apertium".into()];
    engines.synthesize = vec!["kokoro".into(), "espeak-ng".into()];
    installed_engines(engines);
    let sys = spawn_system(env).await?;
    let ui = Frontend::signed_in(&sys);
    let (voice, _, _) = voice_track(&sys.env.path("media"))?;

    let served = ["es", "fr", "it", "pt"];
    let urls = ui.upload_for(&voice, None, &served).await?;
    let id = urls["job_id"].as_str().unwrap().to_owned();
    let (s, created) = ui
        .call(
            Method::POST,
            "/api/jobs/",
            Some(&Frontend::creation_for(&urls, false, &served)),
        )
        .await?;
    assert_eq!(s, 201, "{created}");
    let view = poll(&ui, &id, Duration::from_secs(300)).await?;
    assert_eq!(view["status"], "complete", "{view:#}");
    assert_eq!(view["completedLanguages"], served.len(), "{view:#}");
    for code in served {
        let language = view["languages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["languageCode"] == code)
            .unwrap_or_else(|| panic!("{code} in {view:#}"));
        assert_eq!(language["status"], "complete", "{language}");
        let r = reqwest::get(language["downloadUrl"].as_str().unwrap()).await?;
        assert_eq!(r.status(), 200, "{code}");
        assert!(r.bytes().await?.len() > 1000, "{code}");
    }
    // Which engines did the work, from the native view of the same job
    // (the same signed-in user).
    let (s, native) = ui
        .call(Method::GET, &format!("/v1/jobs/{id}"), None)
        .await?;
    assert_eq!(s, 200, "{native}");
    for task in native["tasks"].as_array().unwrap() {
        let engine = |stage: &str| {
            task["stages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["stage"] == stage)
                .and_then(|r| r["engine"].as_str())
                .unwrap_or_default()
                .to_owned()
        };
        let translator = if task["language"] == "pt" {
            "bergamot"
        } else {
            "apertium"
        };
        assert_eq!(engine("translate"), translator, "{task:#}");
        assert_eq!(engine("synthesize"), "kokoro", "{task:#}");
        // Each dub heard back by whisper: intelligible.
        let heard = &task["stats"]["intelligibility"];
        assert_eq!(
            (heard["measured"].as_bool(), heard["engine"].as_str()),
            (Some(true), Some("whisper")),
            "{task:#}"
        );
        assert!(
            heard["error_rate"].as_f64().unwrap() <= 0.4,
            "{}: {heard}",
            task["language"]
        );
    }

    for code in ["de", "ja", "zh", "ko", "ru", "ar", "hi"] {
        let ask = json!({"languages": [code], "voice_track_name": "voice.mp3"});
        let (s, b) = ui
            .call(Method::POST, "/api/jobs/upload-urls", Some(&ask))
            .await?;
        assert_flat_error(s, &b, 422, "unsupported_language");
        let message = b["message"].as_str().unwrap();
        assert!(
            served.iter().all(|c| message.contains(c)),
            "{code}: names what can be served: {message}"
        );
    }
    sys.stop().await
}
