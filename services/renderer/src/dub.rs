//! Rendering a dub: timing fit, voice track, ducked mix brought to the
//! source's loudness, mux; the task's report (stretch, subtitle norms, loudness).

use std::path::{Path, PathBuf};

use serde_json::json;
use voxline_config::EngineSettings;
use voxline_core::{Language, Segment, Stage, SubtitleMode, Synthesis, Transcript, Translation};
use voxline_db::runs::Completion;
use voxline_media::{audio, loudness, mix, mux, probe, stream, subtitles, timeline};
use voxline_worker::{StageContext, StageError};

/// What the dub is mixed over, at what volume, and what the task's report
/// says of it: the background the job uploaded; else the background the
/// transcription stage separated from the source's voice; else (not
/// separated: the reason is given, or a voiceover, which keeps the
/// source's sound) the original, lowered under the dub; nothing for a
/// source without sound.
async fn background(
    ctx: &StageContext,
    engines: &EngineSettings,
    source: &Path,
    source_has_audio: bool,
) -> Result<(Option<PathBuf>, f64, serde_json::Value), StageError> {
    let job = ctx.job();
    if let Some(id) = job.background_upload_id {
        let file = ctx.fetch_upload(id, "background").await?;
        return Ok((
            Some(file),
            engines.background_gain,
            json!({ "used": "uploaded" }),
        ));
    }
    if !source_has_audio {
        return Ok((
            None,
            0.0,
            json!({ "used": "none", "note": "the source has no sound" }),
        ));
    }
    let transcript: Transcript = ctx
        .read_json(&job.source_language, Stage::Transcribe, "transcript.json")
        .await?;
    match transcript.stems {
        Some(stems) => {
            let file = ctx
                .fetch_artifact(&job.source_language, Stage::Transcribe, &stems.background)
                .await?;
            Ok((
                Some(file),
                engines.separated_gain,
                json!({ "used": "separated", "engine": stems.engine, "voice_share": stems.voice_share }),
            ))
        }
        None => Ok((
            Some(source.to_owned()),
            engines.original_gain,
            json!({ "used": "original", "note": transcript.stems_note }),
        )),
    }
}

pub async fn render(
    ctx: &StageContext,
    engines: &EngineSettings,
) -> Result<Completion, StageError> {
    let job = ctx.job();
    let language = lang(ctx.language())?;
    let translation: Translation = ctx.lines().await?;
    // The language spoken, as transcribed (the job may say `auto`).
    let source_language = lang(&translation.source_language)?;
    let synthesis: Synthesis = ctx
        .read_json(ctx.language(), Stage::Synthesize, "synthesis.json")
        .await?;
    let source = ctx.fetch_upload(job.source_upload_id, "source").await?;
    let info = probe::probe(&source).await?;
    let total = info.duration;
    ctx.progress(0.1, "fitting dubbed lines to their slots")
        .await;

    let slots: Vec<timeline::SlotInput> = translation
        .segments
        .iter()
        .filter_map(|s| {
            let line = synthesis.segments.iter().find(|l| l.id == s.id)?;
            Some(timeline::SlotInput {
                id: s.id,
                start: s.start,
                end: s.end,
                synth_duration: line.duration,
            })
        })
        .collect();
    let fit = timeline::fit(
        &slots,
        total,
        &timeline::FitPolicy {
            max_tempo: engines.max_tempo,
        },
    );

    let mut wavs = Vec::with_capacity(fit.placements.len());
    for p in &fit.placements {
        let line = synthesis
            .segments
            .iter()
            .find(|l| l.id == p.id)
            .expect("placement of a synthesized line");
        let original = ctx
            .fetch_artifact(ctx.language(), Stage::Synthesize, &line.file)
            .await?;
        if p.tempo > 1.001 {
            let faster = ctx.scratch(&format!("tempo-{:04}.wav", p.id));
            audio::change_tempo(&original, &faster, p.tempo).await?;
            wavs.push(faster);
        } else {
            wavs.push(original);
        }
    }
    let voice = ctx.scratch("voice.wav");
    timeline::assemble_voice_track(&fit.placements, &wavs, total, &voice).await?;
    ctx.progress(0.4, "mixing the dub over the background")
        .await;

    let (background, gain, background_report) =
        background(ctx, engines, &source, info.has_audio()).await?;
    let (mixed, loudness) = match background {
        Some(background) => {
            let mix_wav = ctx.scratch("mix.wav");
            mix::duck_and_mix(&voice, &background, gain, total, &mix_wav).await?;
            match_loudness(ctx, &source, &mix_wav, total).await
        }
        // Nothing to mix under the voice, nor a level to match.
        None => speech_level(ctx, &voice, total).await,
    };

    // Subtitles follow the dubbed speech as placed, so they match what is
    // heard, shaped into cues a viewer can read.
    let lines: Vec<Segment> = fit
        .placements
        .iter()
        .filter_map(|p| {
            let s = translation.segments.iter().find(|s| s.id == p.id)?;
            // A line shortened to fit is subtitled as it is spoken.
            let spoken = synthesis
                .segments
                .iter()
                .find(|l| l.id == p.id)
                .and_then(|l| l.spoken.clone());
            Some(Segment {
                id: s.id,
                start: p.at,
                end: (p.at + p.duration).max(s.end).min(total),
                text: spoken.unwrap_or_else(|| s.text.clone()),
                speaker: s.speaker.clone(),
            })
        })
        .collect();
    let lines = if job.options.speaker_labels {
        subtitles::speaker_prefixed(&lines)
    } else {
        lines
    };
    let cues = subtitles::cues(&lines, Some(total));
    let srt_text = subtitles::srt(&cues);
    let srt = ctx.scratch("subtitles.srt");
    tokio::fs::write(&srt, &srt_text)
        .await
        .map_err(|e| StageError::transient("io_error", e.to_string()))?;
    ctx.progress(0.7, "muxing the dubbed media").await;

    let (out_name, out_type) = if info.has_video() {
        ("dub.mp4", "video/mp4")
    } else {
        ("dub.m4a", "audio/mp4")
    };
    let out = ctx.scratch(out_name);
    let mode = job.options.subtitles;
    mux::mux(mux::MuxRequest {
        source: &source,
        dub_audio: &mixed,
        dub_language: &language,
        original_language: job.options.keep_original_audio.then_some(&source_language),
        // No lines (no speech in the source): no subtitle track at all.
        subtitles: (mode != SubtitleMode::None && !cues.is_empty())
            .then_some((srt.as_path(), &language)),
        burn_subtitles: mode == SubtitleMode::Burned,
        out: &out,
    })
    .await?;
    let voice_m4a = ctx.scratch("voice.m4a");
    audio::encode_aac(&voice, &voice_m4a).await?;

    let mut artifacts = vec![
        ctx.put_file("dub", out_name, out_type, &out).await?,
        ctx.put_file("voice", "voice.m4a", "audio/mp4", &voice_m4a)
            .await?,
        ctx.put_bytes(
            "subtitles_srt",
            "subtitles.srt",
            "application/x-subrip",
            srt_text.into_bytes(),
        )
        .await?,
        ctx.put_bytes(
            "subtitles_vtt",
            "subtitles.vtt",
            "text/vtt",
            subtitles::vtt(&cues).into_bytes(),
        )
        .await?,
    ];
    if job.options.mp3 {
        let (dub_mp3, voice_mp3) = (ctx.scratch("dub.mp3"), ctx.scratch("voice.mp3"));
        audio::encode_mp3(&mixed, &dub_mp3).await?;
        audio::encode_mp3(&voice, &voice_mp3).await?;
        artifacts.push(
            ctx.put_file("dub_mp3", "dub.mp3", "audio/mpeg", &dub_mp3)
                .await?,
        );
        artifacts.push(
            ctx.put_file("voice_mp3", "voice.mp3", "audio/mpeg", &voice_mp3)
                .await?,
        );
    }
    artifacts.append(&mut package_language(ctx, &out).await?);
    let mut stats = serde_json::to_value(fit.stats)?;
    stats["shortened"] = synthesis
        .segments
        .iter()
        .filter(|l| l.spoken.is_some())
        .count()
        .into();
    let norms = subtitles::breaches(&cues);
    let heard = intelligibility(&synthesis);
    let report = serde_json::json!({
        "stretch": stats,
        "subtitles": norms,
        "loudness": loudness,
        "intelligibility": heard,
        "glossary": glossary_report(&job.options.glossary, &translation),
        "background": background_report,
    });
    Ok(Completion {
        output: serde_json::json!({
            "lines": fit.placements.len(),
            "stretch": report["stretch"],
            "subtitles": norms,
            "loudness": loudness,
        }),
        engine: Some("ffmpeg".into()),
        artifacts,
        usage: vec![],
        task_stats: Some(report),
        note: Some(format!(
            "dubbed {} lines; fastest line at {:.2}×, drift {:.2} s; {} of {} subtitle cues outside the norms",
            fit.placements.len(),
            fit.stats.max_tempo,
            fit.stats.drift,
            norms.outside,
            norms.cues
        )),
    })
}

/// This language's part of the job's streaming package: the dub's full
/// mix, as the dubbed media carries it (its first audio track, copied), as
/// an audio rendition named after the language. If it cannot be made, the
/// package goes without it (`stream.json` says why); the dub itself is done.
async fn package_language(
    ctx: &StageContext,
    dubbed: &Path,
) -> Result<Vec<voxline_db::artifacts::NewArtifact>, StageError> {
    let dir = ctx.scratch("stream");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| StageError::transient("io_error", e.to_string()))?;
    let made = match probe::probe(dubbed).await {
        Ok(info) => {
            stream::rendition(dubbed, &info, stream::Track::Audio, ctx.language(), &dir).await
        }
        Err(e) => Err(e),
    };
    let (audio, note) = match made {
        Ok(r) => (Some(r), None),
        Err(e) => {
            tracing::warn!(error = %e, "the dub was not packaged for streaming");
            (
                None,
                Some(format!("the audio rendition could not be made: {e}")),
            )
        }
    };
    ctx.put_renditions(None, audio.as_ref().map(|a| (a, ctx.language())), note)
        .await
}

/// The level of a dub over a source without sound: the loudness streaming
/// platforms play speech at (-16 LUFS, as AES TD1004 advises for streamed
/// audio).
const WITHOUT_SOURCE_LUFS: f64 = -16.0;

/// The voice alone (a source without sound) brought to
/// [`WITHOUT_SOURCE_LUFS`], and the report's loudness.
async fn speech_level(
    ctx: &StageContext,
    voice: &Path,
    total: f64,
) -> (PathBuf, serde_json::Value) {
    let normalised = ctx.scratch("voice-normalised.wav");
    let made = async {
        loudness::normalize(voice, WITHOUT_SOURCE_LUFS, total, &normalised).await?;
        loudness::measure(&normalised, total).await
    };
    match made.await {
        Ok(level) => (
            normalised,
            serde_json::json!({
                "target_lufs": WITHOUT_SOURCE_LUFS,
                "dub_lufs": level.integrated_lufs,
                "dub_peak_dbfs": finite(level.sample_peak_dbfs),
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "loudness not normalised; the voice is kept as it is");
            (
                voice.to_owned(),
                serde_json::json!({ "error": e.to_string() }),
            )
        }
    }
}

/// The dub brought to its source's integrated loudness (EBU R128), within
/// the peak ceiling, and the figures for the task's report. Loudness is a
/// finish, not the dub: if it cannot be measured, the mix goes out as it is
/// and the report says so.
async fn match_loudness(
    ctx: &StageContext,
    source: &Path,
    mix: &Path,
    total: f64,
) -> (PathBuf, serde_json::Value) {
    let measured = async {
        let source_level = loudness::measure(source, total).await?;
        let mix_level = loudness::measure(mix, total).await?;
        let gain = loudness::gain_to_match(mix_level, source_level);
        if gain.abs() < 0.1 {
            return Ok((mix.to_owned(), source_level, mix_level, 0.0));
        }
        let normalised = ctx.scratch("mix-normalised.wav");
        loudness::apply_gain(mix, gain, total, &normalised).await?;
        let dub_level = loudness::measure(&normalised, total).await?;
        Ok::<_, voxline_media::MediaError>((normalised, source_level, dub_level, gain))
    };
    match measured.await {
        Ok((path, source_level, dub_level, gain)) => (
            path,
            serde_json::json!({
                "source_lufs": source_level.integrated_lufs,
                "dub_lufs": dub_level.integrated_lufs,
                "dub_peak_dbfs": finite(dub_level.sample_peak_dbfs),
                "gain_db": (gain * 100.0).round() / 100.0,
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "loudness not measured; the mix is kept as it is");
            (
                mix.to_owned(),
                serde_json::json!({ "error": e.to_string() }),
            )
        }
    }
}

/// How much of the dub's speech its lines' recognizer heard wrong (each
/// line heard back by the synthesizer): the error rate over every word
/// checked, and the lines heard more than half wrong, to listen to first.
/// `measured: false` when no line was heard back (no offline recognizer
/// knows the language, or `engines.hear_back` is off).
fn intelligibility(synthesis: &Synthesis) -> serde_json::Value {
    let heard: Vec<(u32, &voxline_core::HeardLine)> = synthesis
        .segments
        .iter()
        .filter_map(|l| Some((l.id, l.heard.as_ref()?)))
        .collect();
    let Some((_, first)) = heard.first() else {
        return serde_json::json!({ "measured": false });
    };
    let errors: usize = heard.iter().map(|(_, h)| h.errors).sum();
    let words: usize = heard.iter().map(|(_, h)| h.words).sum();
    let unclear: Vec<u32> = heard
        .iter()
        .filter(|(_, h)| h.errors * 2 > h.words)
        .map(|(id, _)| *id)
        .collect();
    serde_json::json!({
        "measured": true,
        "engine": first.engine,
        "lines": heard.len(),
        // Lines reused from a run that did not hear them back.
        "lines_not_heard": synthesis.segments.len() - heard.len(),
        "words": words,
        "error_rate": (errors as f64 / words.max(1) as f64 * 1000.0).round() / 1000.0,
        "unclear_lines": unclear,
    })
}

/// The job's glossary as this language honoured it: how many terms, and
/// the lines that lost one.
pub(crate) fn glossary_report(
    terms: &[voxline_core::glossary::Term],
    translation: &Translation,
) -> serde_json::Value {
    serde_json::json!({ "terms": terms.len(), "missed": translation.glossary_misses })
}

/// A level in dB, or null for silence (-inf is not JSON).
fn finite(db: f64) -> Option<f64> {
    db.is_finite().then_some(db)
}

pub(crate) fn lang(code: &str) -> Result<Language, StageError> {
    Language::parse(code).map_err(|e| StageError::bad_input("unknown_language", e.to_string()))
}
