//! Object storage on a real S3-compatible server (s3s-fs): multipart
//! uploads, pre-signed downloads and uploads (PUT), refused tampering, a whole job whose
//! artifacts live in S3, and dubs that ride out the S3 server going away.

use std::time::Duration;

use serde_json::json;
use voxline_storage::Storage;
use voxline_testkit::{S3Server, TestEnv, sample_clip, seed, spawn_system};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn files_go_up_in_parts_and_come_down_through_presigned_urls() -> anyhow::Result<()> {
    let s3 = S3Server::start("voxline")?;
    let mut env = TestEnv::new().await?;
    s3.configure(&mut env.settings);
    let storage = Storage::open(&env.settings.storage, "http://unused")?;
    storage.ping().await?;

    // 19 MiB: three parts of the 8 MiB multipart upload.
    let big = env.path("big.bin");
    let content: Vec<u8> = (0..19 * 1024 * 1024).map(|i| (i % 251) as u8).collect();
    std::fs::write(&big, &content)?;
    assert_eq!(
        storage.put_file("jobs/x/es/render/big.bin", &big).await?,
        content.len() as u64
    );
    assert_eq!(
        storage.size("jobs/x/es/render/big.bin").await?,
        content.len() as u64
    );

    // A pre-signed PUT, as the existing frontend uploads its tracks.
    let put = storage.upload_url("uploads/t/voice").await?;
    assert!(put.contains("X-Amz-Signature"), "{put}");
    let r = reqwest::Client::new()
        .put(&put)
        .header("content-type", "audio/mpeg")
        .body(content[..1000].to_vec())
        .send()
        .await?;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(storage.size("uploads/t/voice").await?, 1000);

    let url = storage
        .download_url("jobs/x/es/render/big.bin", "big.bin")
        .await?;
    assert!(url.contains("X-Amz-Signature"), "{url}");
    let fetched = reqwest::get(&url)
        .await?
        .error_for_status()?
        .bytes()
        .await?; // no credentials
    assert!(fetched == content, "the download matches the upload");

    let tampered = url.replace("big.bin", "other.bin");
    assert_eq!(reqwest::get(&tampered).await?.status().as_u16(), 403);
    let mut forged = url.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == '0' { '1' } else { '0' });
    assert_eq!(reqwest::get(&forged).await?.status().as_u16(), 403);

    assert_eq!(storage.delete_prefix("jobs/x/").await?, 1);
    assert!(storage.size("jobs/x/es/render/big.bin").await.is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_job_runs_with_its_files_in_s3() -> anyhow::Result<()> {
    let s3 = S3Server::start("voxline")?;
    let mut env = TestEnv::new().await?;
    s3.configure(&mut env.settings);
    let sys = spawn_system(env).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let (s, upload) = sys.upload(&clip).await?;
    assert_eq!(s, 201, "{upload}");
    let (s, job) = sys.post("/v1/jobs", &json!({"kind": "subtitle", "source_upload_id": upload["id"], "target_languages": ["es"]})).await?;
    assert_eq!(s, 202, "{job}");
    let job = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    assert_eq!(job["status"], "completed", "{job:#}");
    let files = job["tasks"][0]["artifacts"].as_array().unwrap();
    let srt = files
        .iter()
        .find(|a| a["kind"] == "subtitles_srt")
        .expect("Spanish subtitles");
    let url = srt["download_url"].as_str().unwrap();
    assert!(url.starts_with(&s3.endpoint), "an S3 pre-signed URL: {url}");
    let text = reqwest::get(url).await?.error_for_status()?.text().await?;
    assert!(text.contains("-->"), "{text}");
    assert!(
        files.iter().any(|a| a["kind"] == "subtitled"),
        "the video with soft subtitles: {files:?}"
    );
    sys.stop().await
}

/// Object storage goes away while dubs run (s3s-fs killed for 5 s, then
/// started again on the same folder): an upload meanwhile is answered 503
/// and nothing of it is kept, the stages that meet the outage retry, and
/// every job completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn jobs_ride_out_object_storage_going_away() -> anyhow::Result<()> {
    let mut s3 = S3Server::start("voxline")?;
    let mut env = TestEnv::new().await?;
    s3.configure(&mut env.settings);
    env.settings.runner.backoff_base_seconds = 1.0;
    env.settings.runner.backoff_max_seconds = 4.0;
    let sys = spawn_system(env).await?;
    let clip = sample_clip(&sys.env.path("media"))?;
    let mut ids = vec![];
    for _ in 0..2 {
        ids.push(
            sys.dub(&clip, &["es"]).await?["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The outage starts once stages are at work.
    seed::until_a_stage_runs(&sys.env.db, Duration::from_secs(60)).await?;
    s3.stop();
    let db = sys.env.db.client().await?;
    let (s, refused) = sys.upload(&clip).await?;
    assert_eq!(
        (s, refused["error"]["code"].as_str()),
        (503, Some("unavailable")),
        "{refused}"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    s3.start_again()?;
    for id in &ids {
        let job = sys.wait_for_job(id, Duration::from_secs(240)).await?;
        assert_eq!(job["status"], "completed", "{job:#}");
    }
    let retried: i64 = db
        .query_one(
            "SELECT coalesce(sum(failures), 0)::bigint FROM stage_runs",
            &[],
        )
        .await?
        .get(0);
    // The S3 client itself retries a refused connection for up to 3 minutes
    // (object_store's defaults), so a short outage is waited out inside the
    // stage; a longer one fails the attempt, which the runner retries.
    eprintln!("stage attempts that failed and were retried: {retried}");
    let uploads: i64 = db
        .query_one("SELECT count(*) FROM uploads", &[])
        .await?
        .get(0);
    assert_eq!(uploads, 2, "the refused upload left no row");
    sys.stop().await
}
