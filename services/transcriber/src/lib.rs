//! The transcriber service: turns the source's speech into timed lines
//! (the transcript, as JSON, SRT and WebVTT) once per job.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use voxline_config::Settings;
use voxline_core::script::Script;
use voxline_core::{JobKind, Language, Stage, Stems, Transcript, speakers};
use voxline_db::artifacts::NewArtifact;
use voxline_db::jobs::Job;
use voxline_db::runs::Completion;
use voxline_media::stream::{self, Track};
use voxline_media::{audio, probe, subtitles};
use voxline_providers::Engines;
use voxline_worker::{StageContext, StageError, StageHandler};

pub struct Transcribe {
    engines: Arc<Engines>,
}

impl Transcribe {
    /// Splits the source into its voice and its background, stores both
    /// (FLAC) and notes them in `transcript`; returns the voice's WAV. When
    /// separation is off, not installed or fails, the transcript says why
    /// and the dub is mixed over the lowered original instead.
    async fn separate(
        &self,
        ctx: &StageContext,
        source: &Path,
        transcript: &mut Transcript,
        artifacts: &mut Vec<NewArtifact>,
    ) -> Result<Option<PathBuf>, StageError> {
        let separator = match &self.engines.separator {
            Ok(s) => s,
            Err(why) => {
                transcript.stems_note = Some(format!("the voice was not separated: {why}"));
                return Ok(None);
            }
        };
        let (voice, background) = (ctx.scratch("voice.wav"), ctx.scratch("background.wav"));
        let separated = match separator.separate(source, &voice, &background).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "the voice could not be separated");
                transcript.stems_note = Some(format!("the voice could not be separated: {e}"));
                return Ok(None);
            }
        };
        for (kind, wav, file) in [
            ("voice_stem", &voice, "voice.flac"),
            ("background_stem", &background, "background.flac"),
        ] {
            let flac = ctx.scratch(file);
            audio::encode_flac(wav, &flac).await?;
            artifacts.push(ctx.put_file(kind, file, "audio/flac", &flac).await?);
        }
        transcript.stems = Some(Stems {
            engine: separator.name().to_owned(),
            voice: "voice.flac".into(),
            background: "background.flac".into(),
            voice_share: separated.voice_share,
        });
        Ok(Some(voice))
    }

    pub fn new(engines: Arc<Engines>) -> Self {
        Self { engines }
    }
}

/// The longest sample of a speaker sent to be cloned: ElevenLabs advises
/// one to two minutes of clean speech, and more does not help.
const CLONE_SAMPLE_SECONDS: f64 = 120.0;
/// Less speech than this is too little to clone a voice from.
const CLONE_LEAST_SECONDS: f64 = 3.0;

impl Transcribe {
    /// Clones each speaker's voice from their own lines (on the separated
    /// voice where there is one) at the first engine that clones voices and
    /// speaks a target, as the job asked, with its consent. Each clone is
    /// recorded the moment the vendor makes it, so the janitor deletes it
    /// at the vendor when the job's files expire; a re-run reuses it. A
    /// vendor that is unavailable fails the attempt (it is retried); one
    /// that refuses leaves the speaker in a stock voice, and the
    /// transcript's `clones_note` says so.
    async fn clone_speakers(
        &self,
        ctx: &StageContext,
        speech: &Path,
        transcript: &mut Transcript,
    ) -> Result<(), StageError> {
        let job = ctx.job();
        let Some(engine) = self.engines.voice_cloner(&job.target_languages) else {
            transcript.clones_note = Some(
                "no voice was cloned: no configured voice engine clones voices for the targets"
                    .into(),
            );
            return Ok(());
        };
        let live = voxline_db::clones::for_job(&ctx.db, job.id).await?;
        let mut notes = Vec::new();
        let mut speakers_heard = transcript.speakers.clone();
        if speakers_heard.is_empty() {
            // Not told apart: every line is the first speaker's.
            speakers_heard.push(speakers::FIRST.to_owned());
        }
        for speaker in &speakers_heard {
            if live
                .iter()
                .any(|c| &c.speaker == speaker && c.engine == engine.name())
            {
                notes.push(format!("{speaker} cloned"));
                continue;
            }
            let spans: Vec<(f64, f64)> = transcript
                .segments
                .iter()
                .filter(|l| l.speaker.as_deref().unwrap_or(speakers::FIRST) == speaker)
                .map(|l| (l.start, l.end))
                .collect();
            let sample = ctx.scratch(&format!("clone-{speaker}.mp3"));
            let seconds =
                audio::speech_sample(speech, &spans, CLONE_SAMPLE_SECONDS, &sample).await?;
            if seconds < CLONE_LEAST_SECONDS {
                notes.push(format!(
                    "{speaker} speaks {seconds:.1} s, too little to clone (at least {CLONE_LEAST_SECONDS} s)"
                ));
                continue;
            }
            let name = format!("Voxline {} {speaker}", job.id);
            let voice = match self
                .engines
                .clone_voice(&engine, &name, &sample, &ctx.calls)
                .await
            {
                Ok(voice) => voice,
                Err(e) if e.is_transient() => return Err(e.into()),
                Err(e) => {
                    tracing::warn!(error = %e, speaker, "a voice could not be cloned");
                    notes.push(format!("{speaker} could not be cloned: {e}"));
                    continue;
                }
            };
            let kept = voxline_db::clones::record(
                &ctx.db,
                job.id,
                job.tenant_id,
                engine.name(),
                speaker,
                &voice,
            )
            .await?;
            if kept != voice {
                // Another run of this stage cloned the speaker first.
                if let Err(e) = engine.delete_voice(&voice).await {
                    tracing::warn!(error = %e, voice, "a second clone could not be deleted");
                }
            }
            tracing::info!(speaker, seconds, engine = engine.name(), "voice cloned");
            notes.push(format!("{speaker} cloned from {seconds:.0} s of speech"));
        }
        transcript.clones_note = Some(format!("{}: {}", engine.name(), notes.join("; ")));
        Ok(())
    }
}

/// The transcript of a job that was given its lines: the script's, in the
/// language the job names, with the speakers it names.
fn from_script(script: Script, engine: &str, job: &Job) -> Transcript {
    let speakers = script.speakers();
    Transcript {
        language: job.source_language.clone(),
        engine: engine.to_owned(),
        duration: job.duration,
        note: script
            .segments
            .is_empty()
            .then(|| "the script has no lines".to_owned()),
        segments: script.segments,
        words: Vec::new(),
        speakers,
        speakers_note: None,
        stems: None,
        stems_note: None,
        clones_note: None,
    }
}

/// The source's part of the job's streaming package: its video, once for
/// every language, and its own audio as the original-language rendition.
/// What cannot be packaged is left out of the package with the reason
/// (in `stream.json`); the job goes on.
async fn package_source(
    ctx: &StageContext,
    source: &Path,
    language: &str,
) -> Result<Vec<NewArtifact>, StageError> {
    let dir = ctx.scratch("stream");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| StageError::transient("io_error", e.to_string()))?;
    let info = probe::probe(source).await?;
    let mut notes = Vec::new();
    let mut package = async |track, name, present: bool| {
        if !present {
            return None;
        }
        match stream::rendition(source, &info, track, name, &dir).await {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!(error = %e, rendition = name, "not packaged for streaming");
                notes.push(format!("the {name} rendition could not be made: {e}"));
                None
            }
        }
    };
    let video = package(Track::Video, "video", info.has_video()).await;
    let original = package(Track::Audio, "original", info.has_audio()).await;
    let note = (!notes.is_empty()).then(|| notes.join("; "));
    ctx.put_renditions(
        video.as_ref(),
        original.as_ref().map(|a| (a, language)),
        note,
    )
    .await
}

impl Transcribe {
    /// Labels each line of `transcript` with its speaker (`count` of them
    /// when the job says how many) and lists the speakers found, or says
    /// why they were not told apart: diarization off, not installed or
    /// failed leaves the lines without speakers (the dub then has one
    /// voice) rather than failing the job.
    async fn tell_speakers(
        &self,
        source: &Path,
        transcript: &mut Transcript,
        count: Option<usize>,
    ) {
        let diarizer = match &self.engines.speakers {
            Ok(d) => d,
            Err(why) => {
                transcript.speakers_note = Some(format!("speakers were not told apart: {why}"));
                return;
            }
        };
        if transcript.segments.is_empty() {
            return;
        }
        match diarizer
            .label_media(source, &transcript.segments, count)
            .await
        {
            Ok(labels) => {
                for (line, label) in transcript.segments.iter_mut().zip(labels) {
                    line.speaker = Some(label);
                }
                transcript.speakers =
                    speakers::in_order(transcript.segments.iter().map(|l| l.speaker.as_deref()))
                        .into_iter()
                        .map(str::to_owned)
                        .collect();
                tracing::info!(speakers = transcript.speakers.len(), "speakers told apart");
            }
            Err(e) => {
                tracing::warn!(error = %e, "speakers could not be told apart");
                transcript.speakers_note = Some(format!("speakers could not be told apart: {e}"));
            }
        }
    }
}

#[async_trait::async_trait]
impl StageHandler for Transcribe {
    fn stage(&self) -> Stage {
        Stage::Transcribe
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let job = ctx.job();
        let source = ctx.fetch_upload(job.source_upload_id, "source").await?;
        let script = voxline_db::scripts::get(&ctx.db, job.id).await?;
        let (mut transcript, engine) = match script {
            // The client gave the lines: nothing to hear.
            Some(script) => {
                ctx.progress(0.1, "taking the script's lines").await;
                let engine = format!("script ({})", script.format);
                (from_script(script, &engine, job), engine)
            }
            None => {
                let language =
                    match job.source_language.as_str() {
                        "auto" => None,
                        code => Some(Language::parse(code).map_err(|e| {
                            StageError::bad_input("unknown_language", e.to_string())
                        })?),
                    };
                ctx.progress(0.1, "recognizing speech").await;
                self.engines
                    .transcribe(&source, language.as_ref(), job.duration, &ctx.calls)
                    .await?
            }
        };
        // The transcript's files first, then the stems.
        let mut stems = Vec::new();
        // Speakers are told apart on the voice alone where it was separated.
        let voice = match job.kind {
            // Only a dub is mixed over a background.
            JobKind::Dub if job.background_upload_id.is_none() => {
                ctx.progress(0.6, "separating the voice from the background")
                    .await;
                self.separate(ctx, &source, &mut transcript, &mut stems)
                    .await?
            }
            _ => None,
        };
        if !transcript.speakers.is_empty() {
            // The script named them.
        } else if job.kind == JobKind::Voiceover {
            // The source's sound is not the script's voice.
            transcript.speakers_note =
                Some("a voiceover's speakers are those its script names".into());
        } else {
            ctx.progress(0.8, "telling speakers apart").await;
            self.tell_speakers(
                voice.as_deref().unwrap_or(&source),
                &mut transcript,
                job.options.speakers,
            )
            .await;
        }
        if job.options.clone_voices.is_some() {
            ctx.progress(0.85, "cloning the speakers' voices").await;
            self.clone_speakers(ctx, voice.as_deref().unwrap_or(&source), &mut transcript)
                .await?;
        }
        let cues = if job.options.speaker_labels {
            subtitles::cues(
                &subtitles::speaker_prefixed(&transcript.segments),
                Some(job.duration),
            )
        } else {
            subtitles::cues(&transcript.segments, Some(job.duration))
        };
        let mut artifacts = vec![
            ctx.put_bytes(
                "transcript",
                "transcript.json",
                "application/json",
                serde_json::to_vec_pretty(&transcript)?,
            )
            .await?,
            ctx.put_bytes(
                "transcript_srt",
                "transcript.srt",
                "application/x-subrip",
                subtitles::srt(&cues).into_bytes(),
            )
            .await?,
            ctx.put_bytes(
                "transcript_vtt",
                "transcript.vtt",
                "text/vtt",
                subtitles::vtt(&cues).into_bytes(),
            )
            .await?,
        ];
        artifacts.append(&mut stems);
        // Dubs and subtitles are watched: the source is packaged once for
        // the job's streaming package, which each language's render joins.
        if job.kind != JobKind::Transcribe {
            ctx.progress(0.9, "packaging the source for streaming")
                .await;
            artifacts.append(&mut package_source(ctx, &source, &transcript.language).await?);
        }
        tracing::info!(segments = transcript.segments.len(), engine = %engine, "transcribed");
        Ok(Completion {
            output: serde_json::json!({
                "segments": transcript.segments.len(),
                "language": transcript.language,
                "note": transcript.note,
                "speakers": transcript.speakers.len(),
            }),
            engine: Some(engine),
            artifacts,
            note: transcript.note.clone(),
            ..Default::default()
        })
    }
}

/// Runs the transcriber until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = Arc::new(Transcribe::new(Arc::new(
        voxline_worker::engines(&settings).await?,
    )));
    voxline_worker::run_service(settings, "transcriber", handler).await?;
    Ok(())
}
