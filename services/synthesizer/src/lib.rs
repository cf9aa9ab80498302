//! The synthesizer service: speaks each translated line in the target
//! language, one 48 kHz mono WAV per line, plus a manifest of their lengths.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use voxline_config::Settings;
use voxline_core::{
    HeardLine, JobOptions, Language, Segment, Stage, Synthesis, SynthesizedLine, Translation,
    glossary, speakers, wer,
};
use voxline_db::runs::Completion;
use voxline_media::audio;
use voxline_providers::Engines;
use voxline_worker::{StageContext, StageError, StageHandler};

/// Changes when what a given text sounds like changes (the synthesis
/// itself, the normalization), so no older audio is reused.
const VERSION: &str = "synthesize-1";

pub struct Synthesize {
    engines: Arc<Engines>,
    /// Lines spoken at once (`engines.lines_at_once`).
    lines_at_once: usize,
    /// The fastest a line may be played to fit (`engines.max_tempo`).
    max_tempo: f64,
    /// What decides how a text sounds: the chain and its voices' settings.
    voices: String,
    /// Hear each line back and score it (`engines.hear_back`).
    hear_back: bool,
}

/// The voice a line is spoken in.
#[derive(Debug, Clone, PartialEq)]
enum Voice {
    /// The language's voice in the engine chain (its default, or one a
    /// chain engine lists by this name).
    Chain(Option<String>),
    /// A voice cloned from the line's speaker, at the one engine that has it.
    Cloned { engine: String, id: String },
}

impl Voice {
    /// What the manifest and the line's hash name it by.
    fn label(&self) -> Option<String> {
        match self {
            Voice::Chain(name) => name.clone(),
            Voice::Cloned { engine, id } => Some(format!("cloned at {engine}: {id}")),
        }
    }
}

/// The voices cloned from the job's speakers, by speaker label.
type Clones = std::collections::BTreeMap<String, voxline_db::clones::ClonedVoice>;

/// One line to speak and the time it has: from its start to the next
/// line's (or the source's end).
struct Slot {
    segment: Segment,
    room: f64,
    /// The user wrote these words: they are spoken as written, never
    /// shortened.
    edited: bool,
}

impl Synthesize {
    pub fn new(engines: Arc<Engines>, settings: &Settings) -> Self {
        let e = &settings.engines;
        let vendors: Vec<String> = e
            .synthesize
            .iter()
            .filter_map(|name| settings.vendors.get(name).map(|v| format!("{name}={v:?}")))
            .collect();
        Self {
            engines,
            lines_at_once: e.lines_at_once.max(1),
            max_tempo: e.max_tempo.max(1.0),
            hear_back: e.hear_back,
            voices: format!(
                "{:?}|{}|{:?}|{:?}|{}",
                e.synthesize,
                e.espeak_rate,
                e.piper_voices,
                e.kokoro_voices,
                vendors.join(";")
            ),
        }
    }

    /// What a line's audio is made from: its text and language, the voice
    /// the job asks for, the engine chain with its voices' settings, and
    /// this synthesizer's version.
    fn hash(&self, text: &str, language: &Language, voice: Option<&str>, room: f64) -> String {
        let mut made_of = format!(
            "{VERSION}\n{}\n{}\n{}\n{text}",
            language.code,
            voice.unwrap_or(""),
            self.voices
        );
        // A line may be shortened to fit its slot: then the slot counts.
        if self.engines.shortens() {
            made_of.push_str(&format!("\n{:.1}", room * self.max_tempo));
        }
        hex::encode(&Sha256::digest(made_of.as_bytes())[..8])
    }

    /// Speaks one line (or reuses the audio an earlier run made of the same
    /// text), stores its WAV and returns what the manifest says.
    async fn speak(
        &self,
        ctx: &StageContext,
        language: &Language,
        slot: Slot,
        earlier: &[SynthesizedLine],
        clones: &Clones,
        progress: (&AtomicUsize, usize),
    ) -> Result<SynthesizedLine, StageError> {
        let Slot {
            segment,
            room,
            edited,
        } = slot;
        let (spoken, total) = progress;
        let job = ctx.job();
        // What is read aloud: the glossary's pronunciations count.
        let read = glossary::pronounce(&segment.text, &job.options.glossary, language.code);
        let voice = self.voice_of(&job.options, language, &segment, clones);
        let hash = self.hash(&read, language, voice.label().as_deref(), room);
        let key_of = |file: &str| ctx.artifact_key(ctx.language(), Stage::Synthesize, file);
        let fits = room * self.max_tempo;
        // A line left too long (its shortening failed, say) is tried again.
        let shortens = self.engines.shortens() && !edited;
        let settled =
            |l: &SynthesizedLine| !(shortens && l.spoken.is_none() && l.duration > fits + 0.05);
        if let Some(line) = earlier.iter().find(|l| l.hash == hash && settled(l))
            && ctx.storage.size(&key_of(&line.file)).await.is_ok()
        {
            spoken.fetch_add(1, Ordering::Relaxed);
            return Ok(SynthesizedLine {
                id: segment.id,
                speaker: segment.speaker.clone(),
                ..line.clone()
            });
        }
        // Named by what it is made of, so a file is never overwritten with
        // other speech that an older manifest could still point to.
        let file = format!("line-{:04}-{hash}.wav", segment.id);
        let normalized = ctx.scratch(&file);
        let (mut engine, mut duration) = self
            .say(
                ctx,
                language,
                &voice,
                &segment.text,
                segment.id,
                &normalized,
            )
            .await?;
        let mut words = None;
        if duration > fits + 0.05 && shortens {
            // Too long even at the fastest tempo: ask for fewer words, in
            // proportion, and keep them if they are heard sooner.
            let chars = segment.text.chars().count() as f64;
            let most = (chars * fits / duration * 0.95).floor() as usize;
            if most > 0
                && let Some((short, _)) = self
                    .engines
                    .shorten(&segment.text, language, most, &ctx.calls)
                    .await
            {
                let shorter = ctx.scratch(&format!("short-{:04}.wav", segment.id));
                let (e, d) = self
                    .say(ctx, language, &voice, &short, segment.id, &shorter)
                    .await?;
                if d < duration {
                    tokio::fs::rename(&shorter, &normalized)
                        .await
                        .map_err(|e| StageError::transient("io_error", e.to_string()))?;
                    (engine, duration, words) = (e, d, Some(short));
                }
            }
        }
        ctx.storage.put_file(&key_of(&file), &normalized).await?;
        let done = spoken.fetch_add(1, Ordering::Relaxed) + 1;
        ctx.progress(
            done as f64 / total as f64,
            &format!("synthesized {done} of {total} lines"),
        )
        .await;
        Ok(SynthesizedLine {
            id: segment.id,
            file,
            duration,
            engine,
            hash,
            spoken: words,
            heard: None,
            speaker: segment.speaker.clone(),
            voice: voice.label(),
        })
    }

    /// The lines spoken in this run heard back a minute at a time (a
    /// recognizer such as whisper works on half-minute windows, so one
    /// track costs far less than a pass a line): their audio back to back
    /// with a pause between, transcribed by an offline recognizer of the
    /// language, and what it heard aligned with what the lines say, each
    /// error charged to its line (`wer::errors_per_part`). Lines an earlier
    /// run heard keep what it heard; hearing that fails leaves lines
    /// unchecked, never fails the dub.
    async fn hear_back(
        &self,
        ctx: &StageContext,
        language: &Language,
        lines: &mut [SynthesizedLine],
        texts: &[Segment],
    ) {
        const RATE: usize = 48_000;
        const PAUSE: usize = RATE * 6 / 10;
        const TRACK: usize = RATE * 60;
        let mut track: Vec<i16> = Vec::new();
        let mut members: Vec<usize> = Vec::new();
        for i in 0..lines.len() {
            if lines[i].heard.is_some() {
                continue;
            }
            let Ok(samples) = audio::read_wav_samples(&ctx.scratch(&lines[i].file)) else {
                continue;
            };
            if !members.is_empty() && track.len() + samples.len() > TRACK {
                self.hear_track(ctx, language, lines, texts, &members, &track)
                    .await;
                (track, members) = (Vec::new(), Vec::new());
            }
            track.extend(samples);
            track.extend(std::iter::repeat_n(0, PAUSE));
            members.push(i);
        }
        if !members.is_empty() {
            self.hear_track(ctx, language, lines, texts, &members, &track)
                .await;
        }
    }

    /// One track of `members` (indexes into `lines`) heard and scored.
    async fn hear_track(
        &self,
        ctx: &StageContext,
        language: &Language,
        lines: &mut [SynthesizedLine],
        texts: &[Segment],
        members: &[usize],
        track: &[i16],
    ) {
        let wav = ctx.scratch(&format!("heard-back-{}.wav", lines[members[0]].id));
        if let Err(e) = audio::write_wav(&wav, track, 48_000) {
            tracing::warn!(error = %e, "the dub's lines could not be put together to be heard back");
            return;
        }
        let Some((engine, heard)) = self.engines.hear(&wav, language).await else {
            return;
        };
        let transcript = match heard {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, engine, "the dub could not be heard back");
                return;
            }
        };
        let heard: Vec<&str> = transcript
            .segments
            .iter()
            .map(|s| s.text.as_str())
            .collect();
        let said: Vec<String> = members
            .iter()
            .map(|&i| {
                let line = &lines[i];
                line.spoken.clone().unwrap_or_else(|| {
                    texts
                        .iter()
                        .find(|s| s.id == line.id)
                        .map(|s| s.text.clone())
                        .unwrap_or_default()
                })
            })
            .collect();
        let said: Vec<&str> = said.iter().map(String::as_str).collect();
        let scores = wer::errors_per_part(&said, &heard.join(" "), wer::is_unspaced(language.code));
        for (&i, (errors, words, text)) in members.iter().zip(scores) {
            lines[i].heard = Some(HeardLine {
                engine: engine.clone(),
                text,
                errors,
                words,
            });
        }
    }

    /// The voice `segment` is spoken in: the one `options.voices` names for
    /// its speaker; else the voice cloned from its speaker (lines no speaker
    /// was found for count as `S1`'s) where the clone's engine speaks the
    /// language; else the job's `voice` for the first speaker (and for lines
    /// no speaker was found for), and a voice of their own for each other
    /// speaker.
    fn voice_of(
        &self,
        options: &JobOptions,
        language: &Language,
        segment: &Segment,
        clones: &Clones,
    ) -> Voice {
        let speaker = segment.speaker.as_deref();
        if let Some(voice) = speaker.and_then(|s| options.voices.get(s)) {
            return Voice::Chain(Some(voice.clone()));
        }
        let cloned = clones
            .get(speaker.unwrap_or(speakers::FIRST))
            .filter(|c| self.engines.speaks(&c.engine, language));
        if let Some(clone) = cloned {
            return Voice::Cloned {
                engine: clone.engine.clone(),
                id: clone.voice_id.clone(),
            };
        }
        let Some(speaker) = speaker else {
            return Voice::Chain(options.voice.clone());
        };
        Voice::Chain(self.engines.speaker_voice(
            language.code,
            speakers::number(speaker),
            options.voice.as_deref(),
        ))
    }

    /// Speaks `text` in `voice` into `out` (48 kHz mono); the engine and
    /// the seconds.
    async fn say(
        &self,
        ctx: &StageContext,
        language: &Language,
        voice: &Voice,
        text: &str,
        id: u32,
        out: &std::path::Path,
    ) -> Result<(String, f64), StageError> {
        let raw = ctx.scratch(&format!("raw-{id:04}.wav"));
        let job = ctx.job();
        // Terms read as the glossary says they sound.
        let text = glossary::pronounce(text, &job.options.glossary, language.code);
        let engine = match voice {
            Voice::Chain(name) => {
                self.engines
                    .synthesize(&text, language, name.as_deref(), &raw, &ctx.calls)
                    .await?
            }
            Voice::Cloned { engine, id } => {
                self.engines
                    .synthesize_cloned(&text, language, engine, id, &raw, &ctx.calls)
                    .await?
            }
        };
        audio::to_pcm_48k_mono(&raw, out).await?;
        Ok((engine, audio::duration(out).await?))
    }
}

#[async_trait::async_trait]
impl StageHandler for Synthesize {
    fn stage(&self) -> Stage {
        Stage::Synthesize
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let translation: Translation = ctx.lines().await?;
        let language = Language::parse(ctx.language())
            .map_err(|e| StageError::bad_input("unknown_language", e.to_string()))?;
        let total = translation.segments.len().max(1);
        let spoken = AtomicUsize::new(0);
        // What an earlier run spoke (before the lines were edited, say).
        let earlier = ctx
            .read_json::<Synthesis>(ctx.language(), Stage::Synthesize, "synthesis.json")
            .await
            .map(|s| s.segments)
            .unwrap_or_default();
        let edits = voxline_db::edits::for_task(&ctx.db, ctx.job().id, ctx.language()).await?;
        // Voices cloned from the speakers, where the job asked for them.
        let clones: Clones = if ctx.job().options.clone_voices.is_some() {
            voxline_db::clones::for_job(&ctx.db, ctx.job().id)
                .await?
                .into_iter()
                .map(|c| (c.speaker.clone(), c))
                .collect()
        } else {
            Clones::new()
        };
        let mut slots = slots(&translation.segments, ctx.job().duration);
        for slot in &mut slots {
            slot.edited = edits
                .get(&slot.segment.id)
                .is_some_and(|e| e.text.is_some());
        }
        // In line order, a few at once; the first failure stops the rest.
        let mut lines: Vec<SynthesizedLine> = futures::stream::iter(slots)
            .map(|slot| self.speak(ctx, &language, slot, &earlier, &clones, (&spoken, total)))
            .buffered(self.lines_at_once)
            .try_collect()
            .await?;
        if self.hear_back && self.engines.hearer(&language).is_some() {
            ctx.progress(1.0, "hearing the dub back").await;
            self.hear_back(ctx, &language, &mut lines, &translation.segments)
                .await;
        }
        // Every engine that spoke a line, in the order first used.
        let mut engines_used: Vec<&str> = Vec::new();
        for line in &lines {
            if !engines_used.contains(&line.engine.as_str()) {
                engines_used.push(&line.engine);
            }
        }
        let engine_used = if engines_used.is_empty() {
            "none".to_owned()
        } else {
            engines_used.join(", ")
        };
        let manifest = Synthesis {
            language: language.code.into(),
            engine: engine_used.clone(),
            segments: lines,
        };
        let artifact = ctx
            .put_bytes(
                "synthesis",
                "synthesis.json",
                "application/json",
                serde_json::to_vec_pretty(&manifest)?,
            )
            .await?;
        let reused = manifest
            .segments
            .iter()
            .filter(|l| earlier.iter().any(|e| e.hash == l.hash))
            .count();
        Ok(Completion {
            output: serde_json::json!({ "lines": manifest.segments.len(), "reused": reused }),
            engine: Some(engine_used),
            artifacts: vec![artifact],
            ..Default::default()
        })
    }
}

/// Each line with its room: until the next line starts, or the source ends.
fn slots(segments: &[Segment], duration: f64) -> Vec<Slot> {
    segments
        .iter()
        .map(|s| {
            let next = segments
                .iter()
                .filter(|o| o.start > s.start)
                .map(|o| o.start)
                .fold(duration.max(s.end), f64::min);
            Slot {
                segment: s.clone(),
                room: (next - s.start).max(s.end - s.start).max(0.1),
                edited: false,
            }
        })
        .collect()
}

/// Runs the synthesizer until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = Arc::new(Synthesize::new(
        Arc::new(voxline_worker::engines(&settings).await?),
        &settings,
    ));
    voxline_worker::run_service(settings, "synthesizer", handler).await?;
    Ok(())
}
