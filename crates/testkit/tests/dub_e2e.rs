//! The walking skeleton end to end: the standalone system dubs the generated
//! clip into Spanish through every stage, with the real engines, PostgreSQL,
//! Redis and local storage; the results are checked as a user would.

use std::time::Duration;

use serde_json::{Value, json};
use voxline_testkit::{TestEnv, ffprobe_json, sample_clip, spawn_system};

fn artifact<'a>(list: &'a Value, kind: &str) -> &'a Value {
    list.as_array()
        .and_then(|a| a.iter().find(|x| x["kind"] == kind))
        .unwrap_or_else(|| panic!("no `{kind}` artifact in {list}"))
}

fn duration(probe: &Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dubs_the_sample_clip_into_spanish() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let media = sys.env.path("media");
    let clip = sample_clip(&media)?;
    let source_duration = duration(&ffprobe_json(&clip)?);

    let (status, upload) = sys.upload(&clip).await?;
    assert_eq!(status, 201, "{upload}");
    assert!((upload["duration"].as_f64().unwrap() - source_duration).abs() < 0.1);
    let (status, background) = sys.upload(&media.join("background.wav")).await?;
    assert_eq!(status, 201, "{background}");

    let (status, job) = sys
        .post(
            "/v1/jobs",
            &json!({
                "kind": "dub",
                "source_upload_id": upload["id"],
                "background_upload_id": background["id"],
                "source_language": "en",
                "target_languages": ["es"],
            }),
        )
        .await?;
    assert_eq!(status, 202, "{job}");
    let job = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(240))
        .await?;
    assert_eq!(job["status"], "completed", "{job:#}");
    assert_eq!(job["progress"], 100.0);
    let task = &job["tasks"][0];
    assert_eq!(task["language"], "es");
    assert!(
        task["stats"]["stretch"]["max_tempo"].as_f64().unwrap() <= 1.3 + 1e-6,
        "{task}"
    );
    // The task's report: every subtitle cue within the norms, and the dub
    // as loud as its source (EBU R128, within half a LU).
    let report = &task["stats"];
    assert_eq!(report["subtitles"]["outside"], 0, "{report:#}");
    assert!(
        report["subtitles"]["cues"].as_u64().unwrap() >= 4,
        "{report:#}"
    );
    let (source, dub) = (
        report["loudness"]["source_lufs"].as_f64().unwrap(),
        report["loudness"]["dub_lufs"].as_f64().unwrap(),
    );
    assert!((source - dub).abs() <= 0.5, "{report:#}");
    // pocketsphinx, the only recognizer here, hears no Spanish: the report
    // says the dub was not heard back rather than guessing.
    assert_eq!(report["intelligibility"]["measured"], false, "{report:#}");

    // The dubbed MP4: video copied, Spanish dub first, English original second, soft Spanish subtitles.
    let dir = sys.env.path("downloads");
    std::fs::create_dir_all(&dir)?;
    let dub_path = dir.join("dub.mp4");
    let url = artifact(&task["artifacts"], "dub")["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let bytes = reqwest::get(&url)
        .await?
        .error_for_status()?
        .bytes()
        .await?; // no auth header
    std::fs::write(&dub_path, &bytes)?;
    let probe = ffprobe_json(&dub_path)?;
    let streams = probe["streams"].as_array().unwrap();
    let kinds: Vec<(&str, &str, &str)> = streams
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap(),
                s["codec_name"].as_str().unwrap(),
                s["tags"]["language"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds[0].0, "video", "{kinds:?}");
    assert!(kinds.contains(&("audio", "aac", "spa")), "{kinds:?}");
    assert!(
        kinds.contains(&("subtitle", "mov_text", "spa")),
        "{kinds:?}"
    );
    let audio: Vec<_> = kinds.iter().filter(|k| k.0 == "audio").collect();
    assert_eq!(audio.len(), 2, "{kinds:?}");
    assert_eq!(audio[0].2, "spa");
    assert_eq!(audio[1].2, "eng");
    assert!(
        (duration(&probe) - source_duration).abs() <= 0.2,
        "dub lasts {} s, source {source_duration} s",
        duration(&probe)
    );

    // The voice alone, as long as the source.
    let voice_path = dir.join("voice.m4a");
    let url = artifact(&task["artifacts"], "voice")["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(
        &voice_path,
        reqwest::get(&url)
            .await?
            .error_for_status()?
            .bytes()
            .await?,
    )?;
    assert!((duration(&ffprobe_json(&voice_path)?) - source_duration).abs() <= 0.2);

    // The Spanish subtitles hold apertium's translation of the transcript, not the English.
    let transcript_url = artifact(&job["source_artifacts"], "transcript")["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let transcript: Value = reqwest::get(&transcript_url).await?.json().await?;
    let english: Vec<String> = transcript["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["text"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !english.is_empty(),
        "the narration was not recognized at all: {transcript}"
    );
    let srt_url = artifact(&task["artifacts"], "subtitles_srt")["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let srt = reqwest::get(&srt_url).await?.text().await?;
    // The cues' text on one line: numbering and timing lines dropped, wrapping undone.
    let srt_text = srt
        .lines()
        .filter(|l| !l.contains("-->") && l.parse::<u32>().is_err() && !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    for line in &english {
        let mut child = std::process::Command::new("apertium")
            .args(["-u", "eng-spa"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        use std::io::Write;
        child.stdin.take().unwrap().write_all(line.as_bytes())?;
        let spanish = String::from_utf8(child.wait_with_output()?.stdout)?;
        let spanish = spanish.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            srt_text.contains(&spanish),
            "subtitles lack the translation of {line:?} ({spanish:?}):\n{srt}"
        );
        assert!(
            !srt_text.contains(line.as_str()) || spanish == *line,
            "subtitles hold the English {line:?}"
        );
    }
    assert!(srt.contains("-->"));
    let vtt_url = artifact(&task["artifacts"], "subtitles_vtt")["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        reqwest::get(&vtt_url)
            .await?
            .text()
            .await?
            .starts_with("WEBVTT")
    );
    // The English transcript's SRT is there too.
    artifact(&job["source_artifacts"], "transcript_srt");

    // A tampered download link is refused.
    let tampered = url.replace("voice.m4a", "dub.mp4");
    assert_eq!(reqwest::get(&tampered).await?.status().as_u16(), 403);
    sys.stop().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn media_without_speech_completes_and_says_so() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let tone = sys.env.path("tone.mp4");
    let status = std::process::Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=10:duration=3",
        ])
        .args([
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=3",
            "-c:v",
            "libx264",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(&tone)
        .status()?;
    assert!(status.success());
    let (s, upload) = sys.upload(&tone).await?;
    assert_eq!(s, 201, "{upload}");
    let (s, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload["id"], "target_languages": ["es"]}),
        )
        .await?;
    assert_eq!(s, 202, "{job}");
    let job = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(120))
        .await?;
    assert_eq!(job["status"], "completed", "{job:#}");
    let transcribe = &job["tasks"][0]["stages"][0];
    assert_eq!(transcribe["stage"], "transcribe");
    let transcript_url = artifact(&job["source_artifacts"], "transcript")["download_url"]
        .as_str()
        .unwrap()
        .to_owned();
    let transcript: Value = reqwest::get(&transcript_url).await?.json().await?;
    assert_eq!(transcript["segments"].as_array().unwrap().len(), 0);
    assert_eq!(transcript["note"], "no speech detected");
    // The dub still exists: the original picture and sound, nothing dubbed over it.
    artifact(&job["tasks"][0]["artifacts"], "dub");
    sys.stop().await
}
