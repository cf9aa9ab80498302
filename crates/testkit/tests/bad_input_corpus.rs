//! The bad-input corpus: every malformed upload, body, parameter and id a
//! client can send gets a 4xx with `{error: {code, message}}` a person can
//! act on, never a 5xx; and the system keeps serving another tenant's job
//! throughout. The table of cases is printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use voxline_testkit::{TestEnv, TestSystem, sample_clip, spawn_system};

struct Corpus<'a> {
    sys: &'a TestSystem,
    rows: Vec<(String, u16, String, bool)>,
}

impl Corpus<'_> {
    /// Records a case: the answer must have the wanted status and code and a real message.
    async fn check(&mut self, name: &str, response: reqwest::Response, status: u16, code: &str) {
        let got = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let got_code = body["error"]["code"].as_str().unwrap_or("").to_owned();
        let message_ok = body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.len() >= 10);
        let ok = got == status && got_code == code && message_ok;
        if !ok {
            eprintln!("FAILED {name}: wanted {status} {code}, got {got} {body}");
        }
        self.rows.push((name.to_owned(), got, got_code, ok));
    }

    fn upload(&self, bytes: Vec<u8>, query: &str) -> reqwest::RequestBuilder {
        self.sys
            .http
            .post(self.sys.url(&format!("/v1/uploads{query}")))
            .bearer_auth(&self.sys.api_key)
            .body(bytes)
    }

    fn job(&self, body: &Value) -> reqwest::RequestBuilder {
        self.sys
            .http
            .post(self.sys.url("/v1/jobs"))
            .bearer_auth(&self.sys.api_key)
            .json(body)
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.sys
            .http
            .get(self.sys.url(path))
            .bearer_auth(&self.sys.api_key)
    }
}

fn ffmpeg(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let ok = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ffmpeg could not make {name}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_bad_input_gets_a_clear_4xx_and_nothing_breaks() -> anyhow::Result<()> {
    let mut env = TestEnv::new().await?;
    env.settings.server.max_upload_bytes = 4_000_000;
    env.settings.server.max_media_seconds = 30.0;
    let sys = spawn_system(env).await?;
    let dir = sys.env.path("corpus");
    let clip = sample_clip(&dir)?;
    let clip_bytes = std::fs::read(&clip)?;

    // Another tenant's job runs while the corpus is thrown at the gateway.
    let other_key = sys.key_for("bystander").await?;
    let other_upload: Value = sys
        .http
        .post(sys.url("/v1/uploads?filename=clip.mp4"))
        .bearer_auth(&other_key)
        .body(clip_bytes.clone())
        .send()
        .await?
        .json()
        .await?;
    let other_job: Value = sys.http.post(sys.url("/v1/jobs")).bearer_auth(&other_key)
        .json(&json!({"kind": "dub", "source_upload_id": other_upload["id"], "target_languages": ["es"]})).send().await?.json().await?;

    let (_, upload) = sys.upload(&clip).await?;
    let upload = upload["id"].as_str().unwrap().to_owned();
    let mut c = Corpus {
        sys: &sys,
        rows: vec![],
    };

    // Uploads.
    c.check(
        "zero-byte file",
        c.upload(vec![], "?filename=empty.mp4").send().await?,
        422,
        "empty_upload",
    )
    .await;
    c.check(
        "text file as media",
        c.upload(
            b"hello, this is not a video\n".repeat(40),
            "?filename=notes.mp4",
        )
        .send()
        .await?,
        422,
        "unsupported_media",
    )
    .await;
    let png = ffmpeg(
        &dir,
        "still.png",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240",
            "-frames:v",
            "1",
        ],
    );
    c.check(
        "PNG image as media",
        c.upload(std::fs::read(png)?, "?filename=still.png")
            .send()
            .await?,
        422,
        "unsupported_media",
    )
    .await;
    let jpg = ffmpeg(
        &dir,
        "still.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240",
            "-frames:v",
            "1",
        ],
    );
    c.check(
        "JPEG image as media",
        c.upload(std::fs::read(jpg)?, "?filename=still.jpg")
            .send()
            .await?,
        422,
        "unsupported_media",
    )
    .await;
    c.check(
        "truncated MP4",
        c.upload(clip_bytes[..3000].to_vec(), "?filename=cut.mp4")
            .send()
            .await?,
        422,
        "unsupported_media",
    )
    .await;
    let mut corrupt = clip_bytes.clone();
    corrupt[..4096].fill(0);
    c.check(
        "MP4 with a zeroed header",
        c.upload(corrupt, "?filename=corrupt.mp4").send().await?,
        422,
        "unsupported_media",
    )
    .await;
    // Cut short, its index whole: the header still claims the full length.
    c.check(
        "the first 30% of an MP4 (claims its whole length)",
        c.upload(
            clip_bytes[..clip_bytes.len() * 3 / 10].to_vec(),
            "?filename=cut.mp4",
        )
        .send()
        .await?,
        422,
        "truncated_media",
    )
    .await;
    let vbr = ffmpeg(
        &dir,
        "talk.mp3",
        &[
            "-i",
            clip.to_str().unwrap(),
            "-vn",
            "-c:a",
            "libmp3lame",
            "-q:a",
            "5",
        ],
    );
    let vbr = std::fs::read(vbr)?;
    c.check(
        "the first 30% of a VBR MP3 (its Xing header claims the whole)",
        c.upload(vbr[..vbr.len() * 3 / 10].to_vec(), "?filename=cut.mp3")
            .send()
            .await?,
        422,
        "truncated_media",
    )
    .await;
    let mut garbled = clip_bytes.clone();
    let from = garbled.len() * 3 / 10;
    for (i, b) in garbled[from..].iter_mut().enumerate() {
        *b = ((i as u32).wrapping_mul(2_654_435_761) >> 11) as u8;
    }
    c.check(
        "an MP4 whose last 70% is garbage (its index intact)",
        c.upload(garbled, "?filename=garbled.mp4").send().await?,
        422,
        "undecodable_media",
    )
    .await;
    let noise: Vec<u8> = (0..60_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    c.check(
        "random bytes",
        c.upload(noise, "").send().await?,
        422,
        "unsupported_media",
    )
    .await;
    c.check(
        "subtitles only (no audio or video codec)",
        c.upload(
            b"1\n00:00:01,000 --> 00:00:02,000\nhi\n\n".to_vec(),
            "?filename=s.srt",
        )
        .send()
        .await?,
        422,
        "unsupported_media",
    )
    .await;
    let silent_video = ffmpeg(
        &dir,
        "silent.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=10:duration=2",
            "-c:v",
            "libx264",
        ],
    );
    // A picture without sound is taken (a voiceover can be made of it);
    // the jobs that hear the source are refused below.
    let silent = c
        .upload(std::fs::read(silent_video)?, "?filename=silent.mp4")
        .send()
        .await?;
    assert_eq!(silent.status(), 201, "a video without sound is an upload");
    let silent: Value = silent.json().await?;
    let long = ffmpeg(
        &dir,
        "long.m4a",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=200:sample_rate=8000:duration=40",
            "-c:a",
            "aac",
            "-b:a",
            "16k",
        ],
    );
    c.check(
        "media over the duration cap",
        c.upload(std::fs::read(long)?, "?filename=long.m4a")
            .send()
            .await?,
        422,
        "media_too_long",
    )
    .await;
    let wide = ffmpeg(
        &dir,
        "wide.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=black:s=9000x16:d=1",
            "-f",
            "lavfi",
            "-i",
            "sine=duration=1",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-shortest",
        ],
    );
    c.check(
        "absurd picture dimensions",
        c.upload(std::fs::read(wide)?, "?filename=wide.mp4")
            .send()
            .await?,
        422,
        "unsupported_media",
    )
    .await;
    c.check(
        "upload over the size cap",
        c.upload(vec![7u8; 4_500_000], "?filename=big.mp4")
            .send()
            .await?,
        413,
        "upload_too_large",
    )
    .await;
    c.check(
        "non-UTF-8 file name",
        c.upload(clip_bytes.clone(), "?filename=%FF%FE%FD.mp4")
            .send()
            .await?,
        400,
        "invalid_file_name",
    )
    .await;
    c.check(
        "unknown upload parameter",
        c.upload(clip_bytes.clone(), "?file=clip.mp4")
            .send()
            .await?,
        400,
        "invalid_query",
    )
    .await;
    c.check(
        "upload without a key",
        sys.http
            .post(sys.url("/v1/uploads"))
            .body(clip_bytes.clone())
            .send()
            .await?,
        401,
        "unauthorized",
    )
    .await;

    // Job bodies.
    let dub = |extra: Value| {
        let mut body =
            json!({"kind": "dub", "source_upload_id": upload, "target_languages": ["es"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let post_raw = |body: String, content_type: Option<&str>| {
        let mut r = sys
            .http
            .post(sys.url("/v1/jobs"))
            .bearer_auth(&sys.api_key)
            .body(body);
        if let Some(t) = content_type {
            r = r.header("content-type", t);
        }
        r.send()
    };
    c.check(
        "malformed JSON",
        post_raw("{\"kind\": ".into(), Some("application/json")).await?,
        400,
        "invalid_json",
    )
    .await;
    c.check(
        "oversized JSON (a job's cap is 2 MiB, for its script)",
        post_raw(
            format!("{{\"kind\": \"{}\"}}", "x".repeat(2_100_000)),
            Some("application/json"),
        )
        .await?,
        413,
        "body_too_large",
    )
    .await;
    c.check(
        "oversized JSON elsewhere (server.max_json_bytes)",
        c.sys
            .http
            .post(c.sys.url("/v1/keys"))
            .bearer_auth(&c.sys.api_key)
            .header("content-type", "application/json")
            .body(format!("{{\"name\": \"{}\"}}", "x".repeat(70_000)))
            .send()
            .await?,
        413,
        "body_too_large",
    )
    .await;
    c.check(
        "JSON sent as text/plain",
        post_raw(dub(json!({})).to_string(), Some("text/plain")).await?,
        415,
        "unsupported_content_type",
    )
    .await;
    c.check(
        "JSON without a content type",
        post_raw(dub(json!({})).to_string(), None).await?,
        415,
        "unsupported_content_type",
    )
    .await;
    c.check(
        "JSON that is an array",
        post_raw("[1, 2]".into(), Some("application/json")).await?,
        400,
        "invalid_json",
    )
    .await;
    c.check(
        "unknown field",
        c.job(&dub(json!({"prority": "high"}))).send().await?,
        400,
        "invalid_json",
    )
    .await;
    c.check(
        "unknown priority",
        c.job(&dub(json!({"priority": "asap"}))).send().await?,
        422,
        "invalid_priority",
    )
    .await;
    c.check(
        "priority above the allowance",
        c.job(&dub(json!({"priority": "urgent"}))).send().await?,
        422,
        "priority_not_allowed",
    )
    .await;
    c.check(
        "wrong field type",
        c.job(&dub(json!({"target_languages": "es"})))
            .send()
            .await?,
        400,
        "invalid_json",
    )
    .await;
    c.check(
        "missing required field",
        c.job(&json!({"kind": "dub"})).send().await?,
        400,
        "invalid_json",
    )
    .await;
    c.check(
        "unknown job kind",
        c.job(&dub(json!({"kind": "karaoke"}))).send().await?,
        422,
        "invalid_kind",
    )
    .await;
    c.check(
        "invalid language code",
        c.job(&dub(json!({"target_languages": ["xx"]})))
            .send()
            .await?,
        422,
        "unknown_language",
    )
    .await;
    c.check(
        "language name instead of code",
        c.job(&dub(json!({"target_languages": ["Spanish"]})))
            .send()
            .await?,
        422,
        "unknown_language",
    )
    .await;
    c.check(
        "duplicate languages",
        c.job(&dub(json!({"target_languages": ["es", "es"]})))
            .send()
            .await?,
        422,
        "duplicate_language",
    )
    .await;
    c.check(
        "hundreds of target languages",
        c.job(&dub(json!({"target_languages": vec!["es"; 300]})))
            .send()
            .await?,
        422,
        "too_many_languages",
    )
    .await;
    c.check(
        "no target languages",
        c.job(&dub(json!({"target_languages": []}))).send().await?,
        422,
        "no_target_languages",
    )
    .await;
    c.check(
        "target is the source",
        c.job(&dub(json!({"target_languages": ["en"]})))
            .send()
            .await?,
        422,
        "same_language",
    )
    .await;
    c.check(
        "language no engine serves",
        c.job(&dub(json!({"target_languages": ["ja"]})))
            .send()
            .await?,
        422,
        "unsupported_language",
    )
    .await;
    c.check(
        "unknown source language",
        c.job(&dub(json!({"source_language": "xx"}))).send().await?,
        422,
        "unknown_language",
    )
    .await;
    c.check(
        "source no engine transcribes",
        c.job(&dub(json!({"source_language": "fr"}))).send().await?,
        422,
        "unsupported_source_language",
    )
    .await;
    c.check(
        "auto without a detecting engine",
        c.job(&dub(json!({"source_language": "auto"})))
            .send()
            .await?,
        422,
        "language_detection_unavailable",
    )
    .await;
    c.check(
        "upload id of the wrong shape",
        c.job(&dub(json!({"source_upload_id": "../../etc/passwd"})))
            .send()
            .await?,
        422,
        "invalid_id",
    )
    .await;
    c.check(
        "unknown upload id",
        c.job(&dub(json!({"source_upload_id": uuid::Uuid::new_v4()})))
            .send()
            .await?,
        422,
        "unknown_upload",
    )
    .await;
    c.check(
        "another tenant's upload",
        c.job(&dub(json!({"source_upload_id": other_upload["id"]})))
            .send()
            .await?,
        422,
        "unknown_upload",
    )
    .await;
    c.check(
        "a dub of a video without sound",
        c.job(&dub(json!({"source_upload_id": silent["id"]})))
            .send()
            .await?,
        422,
        "no_audio",
    )
    .await;
    // Scripts (the source's lines given, or a voiceover's text).
    let script = |text: &str| json!({"text": text});
    c.check(
        "a voiceover without a script",
        c.job(&dub(json!({"kind": "voiceover"}))).send().await?,
        422,
        "script_required",
    )
    .await;
    c.check(
        "a script on a transcribe job",
        c.job(&json!({"kind": "transcribe", "source_upload_id": upload, "script": script("0:00 Hi.")}))
            .send()
            .await?,
        422,
        "invalid_script",
    )
    .await;
    c.check(
        "a script line after the media ends",
        c.job(&dub(json!({"script": script("0:00 Hi.\n9:00 Too late.")})))
            .send()
            .await?,
        422,
        "invalid_script",
    )
    .await;
    c.check(
        "a script without times",
        c.job(&dub(json!({"script": script("Just some words.")})))
            .send()
            .await?,
        422,
        "invalid_script",
    )
    .await;
    c.check(
        "a broken SRT cue",
        c.job(&dub(
            json!({"script": {"text": "1\n00:00:01,000 --> later\nHi.\n", "format": "srt"}}),
        ))
        .send()
        .await?,
        422,
        "invalid_script",
    )
    .await;
    c.check(
        "an unknown script format",
        c.job(&dub(
            json!({"script": {"text": "0:00 Hi.", "format": "docx"}}),
        ))
        .send()
        .await?,
        422,
        "invalid_script",
    )
    .await;
    c.check(
        "a script in a language left to `auto`",
        c.job(&dub(
            json!({"source_language": "auto", "script": script("0:00 Hi.")}),
        ))
        .send()
        .await?,
        422,
        "invalid_script",
    )
    .await;
    c.check("background on a transcribe job", c.job(&json!({"kind": "transcribe", "source_upload_id": upload, "background_upload_id": upload})).send().await?, 422, "background_not_allowed").await;
    c.check(
        "targets on a transcribe job",
        c.job(
            &json!({"kind": "transcribe", "source_upload_id": upload, "target_languages": ["es"]}),
        )
        .send()
        .await?,
        422,
        "targets_not_allowed",
    )
    .await;
    c.check(
        "unknown subtitle mode",
        c.job(&dub(json!({"options": {"subtitles": "sideways"}})))
            .send()
            .await?,
        422,
        "invalid_option",
    )
    .await;
    c.check(
        "webhook that is not http(s)",
        c.job(&dub(
            json!({"options": {"webhook_url": "ftp://example.com/x"}}),
        ))
        .send()
        .await?,
        422,
        "invalid_option",
    )
    .await;
    c.check(
        "Idempotency-Key too long",
        c.job(&dub(json!({})))
            .header("idempotency-key", "k".repeat(300))
            .send()
            .await?,
        400,
        "invalid_idempotency_key",
    )
    .await;

    // Reads, ids and links.
    c.check(
        "negative page size",
        c.get("/v1/jobs?limit=-1").send().await?,
        400,
        "invalid_limit",
    )
    .await;
    c.check(
        "zero page size",
        c.get("/v1/jobs?limit=0").send().await?,
        400,
        "invalid_limit",
    )
    .await;
    c.check(
        "huge page size",
        c.get("/v1/jobs?limit=100000000000000000000").send().await?,
        400,
        "invalid_query",
    )
    .await;
    c.check(
        "garbage cursor",
        c.get("/v1/jobs?cursor=abc").send().await?,
        400,
        "invalid_cursor",
    )
    .await;
    c.check(
        "unknown status filter",
        c.get("/v1/jobs?status=sleeping").send().await?,
        400,
        "invalid_status",
    )
    .await;
    c.check(
        "unknown list parameter",
        c.get("/v1/jobs?order=asc").send().await?,
        400,
        "invalid_query",
    )
    .await;
    c.check(
        "job id of the wrong shape",
        c.get("/v1/jobs/12345").send().await?,
        404,
        "not_found",
    )
    .await;
    c.check(
        "unknown job id",
        c.get(&format!("/v1/jobs/{}", uuid::Uuid::new_v4()))
            .send()
            .await?,
        404,
        "not_found",
    )
    .await;
    c.check(
        "another tenant's job",
        c.get(&format!("/v1/jobs/{}", other_job["id"].as_str().unwrap()))
            .send()
            .await?,
        404,
        "not_found",
    )
    .await;
    c.check(
        "cancel an unknown job",
        sys.http
            .post(sys.url(&format!("/v1/jobs/{}/cancel", uuid::Uuid::new_v4())))
            .bearer_auth(&sys.api_key)
            .send()
            .await?,
        404,
        "not_found",
    )
    .await;
    c.check(
        "events of an unknown job",
        c.get(&format!("/v1/jobs/{}/events", uuid::Uuid::new_v4()))
            .send()
            .await?,
        404,
        "not_found",
    )
    .await;
    c.check(
        "forged download link",
        sys.http
            .get(sys.url("/v1/files?key=uploads/x&name=x&expires=99999999999&sig=00"))
            .send()
            .await?,
        403,
        "invalid_link",
    )
    .await;
    c.check(
        "download link without a signature",
        sys.http
            .get(sys.url("/v1/files?key=uploads/x"))
            .send()
            .await?,
        400,
        "invalid_query",
    )
    .await;
    c.check(
        "unknown route",
        c.get("/v2/jobs").send().await?,
        404,
        "not_found",
    )
    .await;
    c.check(
        "not a bearer token",
        sys.http
            .get(sys.url("/v1/jobs"))
            .header("authorization", "Token abc")
            .send()
            .await?,
        401,
        "unauthorized",
    )
    .await;
    c.check(
        "unknown key",
        sys.http
            .get(sys.url("/v1/jobs"))
            .bearer_auth("vx_ffffffffffffffffffffffffffffffffffffffff")
            .send()
            .await?,
        401,
        "unauthorized",
    )
    .await;

    eprintln!("{:<44} {:>6}  {:<32} ok", "case", "status", "code");
    for (name, status, code, ok) in &c.rows {
        eprintln!(
            "{name:<44} {status:>6}  {code:<32} {}",
            if *ok { "yes" } else { "NO" }
        );
    }
    let failed: Vec<&String> = c.rows.iter().filter(|r| !r.3).map(|r| &r.0).collect();
    assert!(c.rows.len() >= 40, "the corpus has {} cases", c.rows.len());
    assert!(failed.is_empty(), "cases answered wrongly: {failed:?}");
    assert!(c.rows.iter().all(|r| (400..500).contains(&r.1)), "no 5xx");

    // Still healthy, and the bystander's job was served throughout.
    assert_eq!(
        sys.http
            .get(sys.url("/readyz"))
            .send()
            .await?
            .status()
            .as_u16(),
        200
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let job: Value = sys
            .http
            .get(sys.url(&format!("/v1/jobs/{}", other_job["id"].as_str().unwrap())))
            .bearer_auth(&other_key)
            .send()
            .await?
            .json()
            .await?;
        if job["status"] == "completed" {
            break;
        }
        assert!(
            job["status"] != "failed" && tokio::time::Instant::now() < deadline,
            "{job}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    sys.stop().await
}
