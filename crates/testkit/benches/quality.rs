//! Dub quality, measured: the word error rate of each transcription engine
//! on real human speech (the LibriVox and spoken-card recordings Debian's
//! `pocketsphinx-testdata` ships with their reference transcripts) and on
//! the demo clip's synthetic narration, with each engine's wall time; then
//! how far dubbed lines had to be stretched, and the final A/V drift, when
//! the demo clip and a 60 s clip are dubbed into Spanish end to end on the
//! offline engines the demo uses (whisper, apertium, Piper and espeak-ng).
//!
//! `make bench-quality` (figures in docs/quality.md).

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use voxline_core::Language;
use voxline_providers::{Pocketsphinx, SpeechToText, Whisper};
use voxline_testkit::recordings::{self, Recording};
use voxline_testkit::wer::word_errors;
use voxline_testkit::{TestEnv, sample_clip_saying, spawn_system, whisper_model};

/// About a minute of narration at the sample clip's pace.
const MINUTE: &str = "Good evening and welcome to the show. Tonight we talk about music and books. \
    My friend plays the piano every day. She likes old songs the most. \
    I read a book about the sea last week. It was long, but I liked it a lot. \
    We went to the market on Sunday morning. The fruit was fresh and cheap. \
    Then we walked home along the river. The weather was warm and bright. \
    Next week we will visit my family in the city. \
    My brother has a small garden behind his house. He grows tomatoes and beans there. \
    Thank you for listening, and see you soon.";

struct Score {
    engine: String,
    set: &'static str,
    clips: usize,
    seconds: f64,
    errors: usize,
    words: usize,
    wall: Duration,
}

async fn score(
    engine: &dyn SpeechToText,
    label: &str,
    set: &'static str,
    clips: &[Recording],
) -> Score {
    let en = Language::parse("en").unwrap();
    let mut s = Score {
        engine: label.to_owned(),
        set,
        clips: clips.len(),
        seconds: 0.0,
        errors: 0,
        words: 0,
        wall: Duration::ZERO,
    };
    for Recording { path, reference } in clips {
        let started = Instant::now();
        let t = engine
            .transcribe(path, Some(&en))
            .await
            .expect("transcribes");
        s.wall += started.elapsed();
        s.seconds += t.duration;
        let heard: Vec<&str> = t.segments.iter().map(|l| l.text.as_str()).collect();
        let (errors, words) = word_errors(reference, &heard.join(" "));
        s.errors += errors;
        s.words += words;
    }
    s
}

/// Dubs `clip` into Spanish on the demo's engines; the task's stretch
/// figures and the wall time.
async fn dub(clip: &Path) -> anyhow::Result<(Value, Duration)> {
    let mut env = TestEnv::new().await?;
    env.settings.engines.transcribe = vec!["whisper".into(), "pocketsphinx".into()];
    env.settings.engines.whisper_model = whisper_model("ggml-base.bin");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    env.settings.engines.synthesize = vec!["piper".into(), "espeak-ng".into()];
    env.settings.engines.piper_binary = root.join("target/tools/piper/bin/piper");
    env.settings.engines.piper_voices = [(
        "en".to_owned(),
        root.join("target/tools/piper/voices/en_US-joe-medium.onnx"),
    )]
    .into();
    env.settings.server.max_upload_bytes = 200 * 1024 * 1024;
    let sys = spawn_system(env).await?;
    let started = Instant::now();
    let (_, upload) = sys.upload(clip).await?;
    let (status, job) = sys
        .post(
            "/v1/jobs",
            &json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
                    "target_languages": ["es"]}),
        )
        .await?;
    anyhow::ensure!(status == 202, "{job}");
    let done = sys
        .wait_for_job(
            job["id"].as_str().unwrap_or_default(),
            Duration::from_secs(600),
        )
        .await?;
    let wall = started.elapsed();
    anyhow::ensure!(done["status"] == "completed", "{done:#}");
    let mut stats = done["tasks"][0]["stats"]["stretch"].clone();
    stats["subtitles"] = done["tasks"][0]["stats"]["subtitles"].clone();
    sys.stop().await?;
    Ok((stats, wall))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (librivox, cards) = (recordings::librivox(), recordings::cards());
    let dir = tempfile::tempdir()?;
    let narration = "Welcome to the show. Today we talk about music. I like to read books. Thank you very much.";
    let demo = sample_clip_saying(&dir.path().join("demo"), Some(narration))?;
    let minute = sample_clip_saying(&dir.path().join("minute"), Some(MINUTE))?;
    let synthetic = vec![
        Recording {
            path: demo.clone(),
            reference: narration.to_owned(),
        },
        Recording {
            path: minute.clone(),
            reference: MINUTE.to_owned(),
        },
    ];

    let engines: Vec<(&str, Arc<dyn SpeechToText>)> = vec![
        (
            "pocketsphinx (en-us)",
            Arc::new(Pocketsphinx {
                binary: "pocketsphinx_continuous".into(),
            }),
        ),
        (
            "whisper tiny.en",
            Arc::new(
                Whisper::new(&whisper_model("ggml-tiny.en.bin"), 2).map_err(anyhow::Error::msg)?,
            ),
        ),
        (
            "whisper base",
            Arc::new(Whisper::new(&whisper_model("ggml-base.bin"), 2).map_err(anyhow::Error::msg)?),
        ),
    ];
    let mut scores = Vec::new();
    for (label, engine) in &engines {
        // The first call loads whisper's model: not part of the figures.
        score(engine.as_ref(), label, "warm-up", &cards[..1]).await;
        scores.push(score(engine.as_ref(), label, "LibriVox (human)", &librivox).await);
        scores.push(score(engine.as_ref(), label, "spoken cards (human)", &cards).await);
        scores.push(score(engine.as_ref(), label, "espeak-ng narration", &synthetic).await);
    }
    println!("word error rate, engines on 2 threads where they take them");
    println!("| engine | recordings | clips | audio s | words | WER | wall s | real-time factor |");
    println!("|---|---|---|---|---|---|---|---|");
    for s in &scores {
        println!(
            "| {} | {} | {} | {:.1} | {} | {:.1} % | {:.1} | {:.2} |",
            s.engine,
            s.set,
            s.clips,
            s.seconds,
            s.words,
            100.0 * s.errors as f64 / s.words.max(1) as f64,
            s.wall.as_secs_f64(),
            s.wall.as_secs_f64() / s.seconds.max(0.001)
        );
    }

    println!();
    println!(
        "dubbed into Spanish (whisper base, apertium, espeak-ng for Spanish), stretch per task"
    );
    println!(
        "| clip | source s | wall s | lines | max tempo | mean tempo | over the cap | borrowed silence | pushed later | drift s | subtitle cues | outside the norms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (label, clip) in [("demo clip", &demo), ("minute clip", &minute)] {
        let seconds = voxline_media::audio::duration(clip).await?;
        let (s, wall) = dub(clip).await?;
        println!(
            "| {label} | {seconds:.1} | {:.1} | {} | {:.2}× | {:.2}× | {} | {} | {} | {:.2} | {} | {} |",
            wall.as_secs_f64(),
            s["lines"],
            s["max_tempo"].as_f64().unwrap_or(0.0),
            s["mean_tempo"].as_f64().unwrap_or(0.0),
            s["over_cap"],
            s["borrowed"],
            s["shifted"],
            s["drift"].as_f64().unwrap_or(0.0),
            s["subtitles"]["cues"],
            s["subtitles"]["outside"]
        );
    }
    Ok(())
}
