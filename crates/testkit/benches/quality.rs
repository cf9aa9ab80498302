//! Dub quality, measured: the word error rate of each transcription engine
//! on real human speech (the LibriVox and spoken-card recordings Debian's
//! `pocketsphinx-testdata` ships with their reference transcripts) and on
//! the demo clip's synthetic narration, with each engine's wall time; then
//! the one-minute clip dubbed from English into every language the offline
//! engines serve, one job each, on the engines the demo uses and on the
//! espeak-ng voices they replace: each dub's voice track transcribed back
//! by whisper base and scored against the text it was asked to say (its
//! intelligibility), the time of translation and synthesis, the real-time
//! factor of the whole job, how far lines were sped up, the final drift,
//! the loudness of dub and source, and the subtitle cues outside the norms;
//! last, what the transcription stage adds to each dub: speakers told
//! apart in a conversation of two real readers, and a real reading
//! separated from a known background, with their times.
//!
//! `make bench-quality` (figures in docs/quality.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use voxline_config::EngineSettings;
use voxline_core::speakers::{Turn, speaker_error};
use voxline_core::{Language, Segment};
use voxline_providers::{Engines, Pocketsphinx, SpeechToText, Unlimited, Whisper};
use voxline_testkit::recordings::{self, Recording};
use voxline_testkit::wer::{character_errors, word_errors};
use voxline_testkit::{
    TestEnv, analysis_installed, demo_engines, mixes, sample_clip_saying, spawn_system,
    whisper_model,
};

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

/// The demo's engines, with the translate and synthesize chains named.
fn offline_env(env: &mut TestEnv, translate: &[&str], synthesize: &[&str]) {
    let e = &mut env.settings.engines;
    demo_engines(e);
    e.translate = translate.iter().map(|s| s.to_string()).collect();
    e.synthesize = synthesize.iter().map(|s| s.to_string()).collect();
    env.settings.server.max_upload_bytes = 200 * 1024 * 1024;
}

/// The engines a stage tries, in order, under a label for the table.
struct Chains {
    label: &'static str,
    translate: &'static [&'static str],
    synthesize: &'static [&'static str],
}

/// One finished dub task, the wall time of its job (upload to completed),
/// and its voice track and subtitles, downloaded.
struct Dubbed {
    task: Value,
    wall: Duration,
    voice: PathBuf,
    srt: PathBuf,
}

/// Dubs `clip` from English into each of `languages` in turn, one job
/// each, on one system with the engines named.
async fn dub(
    clip: &Path,
    languages: &[&str],
    translate: &[&str],
    synthesize: &[&str],
    dir: &Path,
) -> anyhow::Result<Vec<Dubbed>> {
    let mut env = TestEnv::new().await?;
    offline_env(&mut env, translate, synthesize);
    let sys = spawn_system(env).await?;
    let mut out = Vec::new();
    for language in languages {
        let started = Instant::now();
        let (_, upload) = sys.upload(clip).await?;
        let (status, job) = sys
            .post(
                "/v1/jobs",
                &json!({"kind": "dub", "source_upload_id": upload["id"], "source_language": "en",
                        "target_languages": [language]}),
            )
            .await?;
        anyhow::ensure!(status == 202, "{job}");
        let done = sys
            .wait_for_job(
                job["id"].as_str().unwrap_or_default(),
                Duration::from_secs(900),
            )
            .await?;
        anyhow::ensure!(done["status"] == "completed", "{done:#}");
        let wall = started.elapsed();
        let task = done["tasks"][0].clone();
        let name = format!("{}-{language}", done["id"].as_str().unwrap_or("job"));
        let (voice, srt) = (
            dir.join(format!("{name}-voice.m4a")),
            dir.join(format!("{name}.srt")),
        );
        download(&task, "voice", &voice).await?;
        download(&task, "subtitles_srt", &srt).await?;
        out.push(Dubbed {
            task,
            wall,
            voice,
            srt,
        });
    }
    sys.stop().await?;
    Ok(out)
}

/// Seconds a task spent in `stage`, from its run's start to its end.
fn stage_seconds(task: &Value, stage: &str) -> f64 {
    let run = task["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|r| r["stage"] == stage));
    let at = |k: &str| {
        run.and_then(|r| r[k].as_str())
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
    };
    match (at("started_at"), at("finished_at")) {
        (Some(a), Some(b)) => (b - a).num_milliseconds() as f64 / 1000.0,
        _ => f64::NAN,
    }
}

fn stage_engine(task: &Value, stage: &str) -> String {
    task["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|r| r["stage"] == stage))
        .and_then(|r| r["engine"].as_str())
        .unwrap_or("?")
        .to_owned()
}

/// Downloads a task's artifact of `kind` into `to`.
async fn download(task: &Value, kind: &str, to: &Path) -> anyhow::Result<()> {
    let url = task["artifacts"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["kind"] == kind))
        .and_then(|x| x["download_url"].as_str())
        .ok_or_else(|| anyhow::anyhow!("no {kind} artifact in {task}"))?;
    let bytes = reqwest::get(url).await?.error_for_status()?.bytes().await?;
    std::fs::write(to, &bytes)?;
    Ok(())
}

/// The dub's voice track transcribed back by `whisper` in its own language,
/// scored against the words its subtitles say it speaks: (errors,
/// reference length), in characters for languages written without spaces.
async fn intelligibility(
    whisper: &dyn SpeechToText,
    dubbed: &Dubbed,
) -> anyhow::Result<(usize, usize)> {
    let (task, voice, srt) = (&dubbed.task, &dubbed.voice, &dubbed.srt);
    let code = task["language"].as_str().unwrap_or_default();
    let said: Vec<String> = voxline_media::subtitles::parse_srt(&std::fs::read_to_string(srt)?)?
        .into_iter()
        .map(|c| c.text)
        .collect();
    let language = Language::parse(code).map_err(anyhow::Error::msg)?;
    let heard = whisper.transcribe(voice, Some(&language)).await?;
    let heard: Vec<&str> = heard.segments.iter().map(|l| l.text.as_str()).collect();
    let (reference, heard) = (said.join(" "), heard.join(" "));
    Ok(if matches!(code, "ja" | "zh" | "ko") {
        character_errors(&reference, &heard)
    } else {
        word_errors(&reference, &heard)
    })
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

    // Whisper base, the best recognition installed, hears every dub back.
    let whisper = Whisper::new(&whisper_model("ggml-base.bin"), 2).map_err(anyhow::Error::msg)?;
    // The languages the offline engines serve from English, dubbed on the
    // demo's engines, then on the espeak-ng voices they replace.
    let languages = ["es", "fr", "it", "pt"];
    let configurations = [
        Chains {
            label: "the demo's engines",
            translate: &["bergamot", "apertium"],
            synthesize: &["piper", "kokoro", "espeak-ng"],
        },
        Chains {
            label: "before: espeak-ng voices",
            translate: &["bergamot", "apertium"],
            synthesize: &["espeak-ng"],
        },
    ];
    let seconds = voxline_media::audio::duration(&minute).await?;
    println!();
    println!("the one-minute clip ({seconds:.1} s) dubbed from English, one job per language");
    println!(
        "| engines | language | translation | voice | translate s | synthesize s | job wall s | real-time factor | back-transcription error | the task's own report | max tempo | mean tempo | drift s | dub / source LUFS | cues outside the norms |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for Chains {
        label,
        translate,
        synthesize,
    } in configurations
    {
        let mut total = (0, 0);
        for d in dub(&minute, &languages, translate, synthesize, dir.path()).await? {
            let t = &d.task;
            let (errors, words) = intelligibility(&whisper, &d).await?;
            total = (total.0 + errors, total.1 + words);
            let (stretch, loud, cues) = (
                &t["stats"]["stretch"],
                &t["stats"]["loudness"],
                &t["stats"]["subtitles"],
            );
            println!(
                "| {label} | {} | {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} % | {} | {:.2}× | {:.2}× | {:.2} | {:.1} / {:.1} | {} of {} |",
                t["language"].as_str().unwrap_or("?"),
                stage_engine(t, "translate"),
                stage_engine(t, "synthesize"),
                stage_seconds(t, "translate"),
                stage_seconds(t, "synthesize"),
                d.wall.as_secs_f64(),
                d.wall.as_secs_f64() / seconds,
                100.0 * errors as f64 / words.max(1) as f64,
                t["stats"]["intelligibility"]["error_rate"]
                    .as_f64()
                    .map_or("not heard".to_owned(), |r| format!("{:.1} %", r * 100.0)),
                stretch["max_tempo"].as_f64().unwrap_or(f64::NAN),
                stretch["mean_tempo"].as_f64().unwrap_or(f64::NAN),
                stretch["drift"].as_f64().unwrap_or(f64::NAN),
                loud["dub_lufs"].as_f64().unwrap_or(f64::NAN),
                loud["source_lufs"].as_f64().unwrap_or(f64::NAN),
                cues["outside"],
                cues["cues"],
            );
        }
        println!(
            "| {label} | all | | | | | | | **{:.1} %** | | | | | | |",
            100.0 * total.0 as f64 / total.1.max(1) as f64
        );
    }
    speakers_and_backgrounds(&whisper, &minute, dir.path()).await
}

/// What the transcription stage adds to a dub, measured: speakers told
/// apart in a conversation of two real readers (on whisper's lines, and on
/// the true turns), and in the one-voice minute; then a real reading
/// separated from a known background of chords and noise at three levels;
/// each with its wall time against the audio's length.
async fn speakers_and_backgrounds(
    whisper: &Whisper,
    minute: &Path,
    dir: &Path,
) -> anyhow::Result<()> {
    let mut settings = EngineSettings::default();
    analysis_installed(&mut settings);
    let engines = Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited))?;
    let diarizer = engines
        .speakers
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let separator = engines
        .separator
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let en = Language::parse("en")?;
    let (conversation, reference) = recordings::two_speakers(&dir.join("speakers"))?;
    let true_lines: Vec<Segment> = reference
        .iter()
        .enumerate()
        .map(|(i, t)| Segment::new(i as u32 + 1, t.start, t.end, ""))
        .collect();
    let heard = whisper.transcribe(&conversation, Some(&en)).await?.segments;
    let one_voice = whisper.transcribe(minute, Some(&en)).await?.segments;
    println!();
    println!("speakers told apart (the transcription stage, after recognition)");
    println!(
        "| audio | lines | audio s | speakers found | speaker error | wall s | real-time factor |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (label, media, lines, truth) in [
        (
            "two readers, whisper's lines",
            &conversation,
            &heard,
            Some(&reference),
        ),
        (
            "two readers, the true turns",
            &conversation,
            &true_lines,
            Some(&reference),
        ),
        (
            "one voice (the minute clip)",
            &minute.to_path_buf(),
            &one_voice,
            None,
        ),
    ] {
        let seconds = voxline_media::audio::duration(media).await?;
        let started = Instant::now();
        let labels = diarizer.label_media(media, lines, None).await?;
        let wall = started.elapsed().as_secs_f64();
        let told: Vec<Turn> = lines
            .iter()
            .zip(&labels)
            .map(|(l, s)| Turn {
                start: l.start,
                end: l.end,
                speaker: s.clone(),
            })
            .collect();
        let found = voxline_core::speakers::in_order(labels.iter().map(|l| Some(l.as_str()))).len();
        println!(
            "| {label} | {} | {seconds:.1} | {found} | {} | {wall:.2} | {:.3} |",
            lines.len(),
            truth.map_or("".to_owned(), |t| format!(
                "{:.1} %",
                100.0 * speaker_error(t, &told)
            )),
            wall / seconds
        );
    }

    println!();
    println!("voice and background separated (a LibriVox reading over chords and noise)");
    println!(
        "| background under the voice | audio s | SI-SDR of the mix | of the voice stem | improvement | reading left in the background | wall s | real-time factor |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let speech = mixes::reading(dir)?;
    let noise = mixes::background(speech.len());
    for snr in [10.0, 5.0, 0.0] {
        let (mix, reference) = mixes::mix_at(&speech, &noise, snr);
        let source = dir.join("mix.wav");
        mixes::write(&source, &mix)?;
        let (voice, rest) = (dir.join("voice.wav"), dir.join("rest.wav"));
        let started = Instant::now();
        separator.separate(&source, &voice, &rest).await?;
        let wall = started.elapsed().as_secs_f64();
        let (voice, rest) = (mixes::read(&voice)?, mixes::read(&rest)?);
        let (before, after) = (
            mixes::si_sdr(&mix, &reference),
            mixes::si_sdr(&voice, &reference),
        );
        let residual = 10.0
            * (mixes::share_of(&rest, &reference) / mixes::share_of(&voice, &reference)).log10();
        let seconds = mix.len() as f64 / f64::from(mixes::SAMPLE_RATE);
        println!(
            "| {snr} dB | {seconds:.1} | {before:.1} dB | {after:.1} dB | {:+.1} dB | {residual:.1} dB | {wall:.2} | {:.3} |",
            after - before,
            wall / seconds
        );
    }
    Ok(())
}
