//! The engine chains each stage calls, in configured order: the first engine
//! that serves a language is used; an engine that cannot serve it or fails
//! (a vendor down after its retries too) hands over to the next. Bad input
//! stops the chain at once, since no engine can do better. When every engine
//! failed and one of them only for now, that failure is the one returned,
//! so the stage runner retries the whole stage later.

use std::path::Path;
use std::sync::Arc;

use std::collections::BTreeMap;

use voxline_config::{Capability, EngineSettings, VendorSettings, VendorTable};
use voxline_core::{Language, Segment, Transcript};

use crate::calls;
use crate::separation::Separator;
use crate::speakers::Diarizer;
use crate::vendor::{Deepgram, ElevenLabs, OpenAi, VendorGate};
use crate::{
    Apertium, Bergamot, Call, CallLog, EspeakNg, Kokoro, Piper, Pocketsphinx, ProviderError,
    SpeechToText, Synthesizer, Translator,
};

pub struct Engines {
    pub stt: Vec<Arc<dyn SpeechToText>>,
    pub translators: Vec<Arc<dyn Translator>>,
    pub synthesizers: Vec<Arc<dyn Synthesizer>>,
    /// What tells the source's speakers apart, or why nothing does
    /// (`engines.diarize` off, or its model not installed).
    pub speakers: Result<Arc<Diarizer>, String>,
    /// What separates the source's voice from its background, or why
    /// nothing does (`engines.separate` off, or not installed).
    pub separator: Result<Arc<Separator>, String>,
}

/// A chain that cannot be built: the message names the setting and what
/// would be right, so a service refuses to start with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration key `engines.{stage}`: {message}")]
pub struct ChainError {
    pub stage: &'static str,
    pub message: String,
}

/// The vendors of `[vendors]`, each built once, whichever chains use it.
struct Vendors {
    openai: BTreeMap<String, Arc<OpenAi>>,
    deepgram: BTreeMap<String, Arc<Deepgram>>,
    elevenlabs: BTreeMap<String, Arc<ElevenLabs>>,
}

impl Vendors {
    fn build(table: &VendorTable, gate: &Arc<dyn VendorGate>) -> Result<Self, ChainError> {
        let mut v = Vendors {
            openai: BTreeMap::new(),
            deepgram: BTreeMap::new(),
            elevenlabs: BTreeMap::new(),
        };
        for (name, settings) in table {
            let refuse = |message: String| ChainError {
                stage: "vendors",
                message: format!("[vendors.{name}]: {message}"),
            };
            if BUILT_IN.contains(&name.as_str()) {
                return Err(refuse(
                    "names a built-in engine; choose another name".into(),
                ));
            }
            match settings {
                VendorSettings::OpenAi(s) => {
                    let e = OpenAi::new(name, s, gate.clone()).map_err(refuse)?;
                    v.openai.insert(name.clone(), Arc::new(e));
                }
                VendorSettings::Deepgram(s) => {
                    let e = Deepgram::new(name, s, gate.clone()).map_err(refuse)?;
                    v.deepgram.insert(name.clone(), Arc::new(e));
                }
                VendorSettings::ElevenLabs(s) => {
                    let e = ElevenLabs::new(name, s, gate.clone()).map_err(refuse)?;
                    v.elevenlabs.insert(name.clone(), Arc::new(e));
                }
                // Publishing, not a stage engine: the publisher builds it.
                VendorSettings::Postiz(_) => {}
            }
        }
        Ok(v)
    }

    /// A configured OpenAI-compatible vendor that offers `capability`.
    fn openai(&self, name: &str, capability: Capability) -> Result<Option<Arc<OpenAi>>, String> {
        match self.openai.get(name) {
            Some(e) if e.offers(capability) => Ok(Some(e.clone())),
            Some(_) => Err(format!(
                "`{name}` does not list `{capability:?}` in its `capabilities`",
            )
            .to_lowercase()),
            None => Ok(None),
        }
    }
}

/// The recognizers that run on this machine, which may hear a dub back.
const OFFLINE_RECOGNIZERS: &[&str] = &["whisper", "pocketsphinx"];

const BUILT_IN: &[&str] = &[
    "pocketsphinx",
    "whisper",
    "apertium",
    "bergamot",
    "espeak-ng",
    "piper",
    "kokoro",
];

/// The `whisper` engine on `engines.whisper_model`, in a build that has it.
fn whisper(s: &EngineSettings) -> Result<Arc<dyn SpeechToText>, String> {
    #[cfg(feature = "whisper")]
    {
        crate::Whisper::new(&s.whisper_model, s.whisper_threads)
            .map(|w| Arc::new(w) as Arc<dyn SpeechToText>)
            .map_err(|e| format!("`whisper` (engines.whisper_model): {e}"))
    }
    #[cfg(not(feature = "whisper"))]
    {
        let _ = s;
        Err("`whisper` is not in this build: build with `--features voxline-providers/whisper` (make does when cmake is installed)".into())
    }
}

impl Engines {
    /// The chains of `engines.transcribe`, `.translate` and `.synthesize`,
    /// in their configured order, from the built-in engines and the vendors
    /// of `[vendors]`; every vendor request goes through `gate`.
    pub fn from_settings(
        s: &EngineSettings,
        vendors: &VendorTable,
        gate: Arc<dyn VendorGate>,
    ) -> Result<Self, ChainError> {
        let v = Vendors::build(vendors, &gate)?;
        let speakers = if s.diarize {
            Diarizer::new(s).map(Arc::new)
        } else {
            Err("engines.diarize is off".into())
        };
        if let Err(why) = &speakers {
            tracing::info!(%why, "speakers will not be told apart");
        }
        let separator = if s.separate {
            Separator::new(s).map(Arc::new)
        } else {
            Err("engines.separate is off".into())
        };
        if let Err(why) = &separator {
            tracing::info!(%why, "voices will not be separated from backgrounds");
        }
        Ok(Self {
            speakers,
            separator,
            stt: chain("transcribe", &s.transcribe, |name| {
                if name == "pocketsphinx" {
                    return Ok(Arc::new(Pocketsphinx {
                        binary: s.pocketsphinx_binary.clone(),
                    }) as Arc<dyn SpeechToText>);
                }
                if name == "whisper" {
                    return whisper(s);
                }
                if let Some(e) = v.openai(name, Capability::Transcribe)? {
                    return Ok(e as Arc<dyn SpeechToText>);
                }
                match v.deepgram.get(name) {
                    Some(e) => Ok(e.clone() as Arc<dyn SpeechToText>),
                    None => Err(unknown(
                        name,
                        "pocketsphinx, whisper",
                        vendors,
                        &["openai", "deepgram"],
                    )),
                }
            })?,
            translators: chain("translate", &s.translate, |name| {
                if name == "apertium" {
                    return Ok(Arc::new(Apertium::new(
                        s.apertium_binary.clone(),
                        s.apertium_modes_dir.clone(),
                    )) as Arc<dyn Translator>);
                }
                if name == "bergamot" {
                    return Bergamot::new(&s.bergamot_models)
                        .map(|b| Arc::new(b) as Arc<dyn Translator>)
                        .map_err(|e| format!("`bergamot`: {e}"));
                }
                match v.openai(name, Capability::Translate)? {
                    Some(e) => Ok(e as Arc<dyn Translator>),
                    None => Err(unknown(name, "apertium, bergamot", vendors, &["openai"])),
                }
            })?,
            synthesizers: chain("synthesize", &s.synthesize, |name| {
                if name == "espeak-ng" {
                    return Ok(Arc::new(EspeakNg {
                        binary: s.espeak_binary.clone(),
                        rate: s.espeak_rate,
                    }) as Arc<dyn Synthesizer>);
                }
                if name == "piper" {
                    return Piper::new(&s.piper_binary, &s.piper_voices)
                        .map(|p| Arc::new(p) as Arc<dyn Synthesizer>)
                        .map_err(|e| format!("`piper`: {e}"));
                }
                if name == "kokoro" {
                    return Kokoro::new(s)
                        .map(|k| Arc::new(k) as Arc<dyn Synthesizer>)
                        .map_err(|e| format!("`kokoro`: {e}"));
                }
                if let Some(e) = v.openai(name, Capability::Synthesize)? {
                    return Ok(e as Arc<dyn Synthesizer>);
                }
                if let Some(e) = v.deepgram.get(name) {
                    return Ok(e.clone() as Arc<dyn Synthesizer>);
                }
                match v.elevenlabs.get(name) {
                    Some(e) => Ok(e.clone() as Arc<dyn Synthesizer>),
                    None => Err(unknown(
                        name,
                        "espeak-ng, piper, kokoro",
                        vendors,
                        &["openai", "deepgram", "elevenlabs"],
                    )),
                }
            })?,
        })
    }

    /// Languages some engine can transcribe.
    pub fn source_languages(&self) -> Vec<&'static str> {
        let mut all: Vec<_> = self.stt.iter().flat_map(|e| e.languages()).collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn can_detect_language(&self) -> bool {
        self.stt.iter().any(|e| e.detects_language())
    }

    /// Target languages that can be served from some language a detecting
    /// engine recognizes (for `auto` sources; whether the language detected
    /// has a path to the target shows when the job runs).
    pub fn servable_from_detected(&self, needs_speech: bool) -> Vec<&'static str> {
        let mut all: Vec<&'static str> = self
            .stt
            .iter()
            .filter(|e| e.detects_language())
            .flat_map(|e| e.languages())
            .filter_map(|code| Language::parse(code).ok())
            .flat_map(|source| self.servable_targets(&source, needs_speech))
            .collect();
        all.sort();
        all.dedup();
        all
    }

    /// Target languages that can be served from `source`: translated, and
    /// spoken too when `needs_speech`.
    pub fn servable_targets(&self, source: &Language, needs_speech: bool) -> Vec<&'static str> {
        Language::all()
            .iter()
            .map(|l| l.code)
            .filter(|&target| target != source.code)
            .filter(|&target| {
                self.translators
                    .iter()
                    .any(|t| t.supports(source.code, target))
            })
            .filter(|&target| !needs_speech || self.speaks_language(target))
            .collect()
    }

    /// Whether some voice engine speaks `language`.
    pub fn speaks_language(&self, language: &str) -> bool {
        self.synthesizers
            .iter()
            .any(|s| s.languages().contains(&language))
    }

    /// Transcribes with the first engine that can; returns the engine's name
    /// too. Every attempt is noted in `log`, `seconds` of audio each.
    pub async fn transcribe(
        &self,
        media: &Path,
        language: Option<&Language>,
        seconds: f64,
        log: &CallLog,
    ) -> Result<(Transcript, String), ProviderError> {
        let mut failures = Failures::default();
        for engine in &self.stt {
            let serves = match language {
                Some(l) => engine.languages().contains(&l.code),
                None => engine.detects_language(),
            };
            if !serves {
                continue;
            }
            let result = timed(log, engine.name(), "audio_seconds", seconds, || {
                engine.transcribe(media, language)
            })
            .await;
            match result {
                Ok(t) => return Ok((t, engine.name().to_owned())),
                Err(e @ ProviderError::BadInput(_)) => return Err(e),
                Err(e) => failures.note(e),
            }
        }
        Err(failures.into_error(|| {
            none_serves(
                "transcribe",
                language.map_or("an undetected language", |l| l.name),
            )
        }))
    }

    /// Translates with the first engine that serves the pair and returns
    /// every line; each attempt is noted in `log`.
    pub async fn translate(
        &self,
        segments: &[Segment],
        from: &Language,
        to: &Language,
        log: &CallLog,
    ) -> Result<(Vec<Segment>, String), ProviderError> {
        let characters = segments
            .iter()
            .map(|s| s.text.chars().count())
            .sum::<usize>() as f64;
        let mut failures = Failures::default();
        for engine in self
            .translators
            .iter()
            .filter(|t| t.supports(from.code, to.code))
        {
            let result = timed(log, engine.name(), "characters", characters, || async {
                let out = engine.translate(segments, from, to).await?;
                if out.len() == segments.len() {
                    Ok(out)
                } else {
                    Err(ProviderError::Engine {
                        engine: engine.name().into(),
                        message: format!("returned {} lines for {}", out.len(), segments.len()),
                    })
                }
            })
            .await;
            match result {
                Ok(out) => return Ok((out, engine.name().to_owned())),
                Err(e @ ProviderError::BadInput(_)) => return Err(e),
                Err(e) => failures.note(e),
            }
        }
        Err(failures
            .into_error(|| none_serves("translate", &format!("{} to {}", from.name, to.name))))
    }

    /// Whether some translator of the chain can shorten lines.
    pub fn shortens(&self) -> bool {
        self.translators.iter().any(|t| t.shortens())
    }

    /// `text` said in at most `max_chars` characters by the first
    /// translator that shortens lines and manages to; `None` when none
    /// does (the line is then kept whole: a line is never dropped).
    pub async fn shorten(
        &self,
        text: &str,
        language: &Language,
        max_chars: usize,
        log: &CallLog,
    ) -> Option<(String, String)> {
        let characters = text.chars().count();
        for engine in self.translators.iter().filter(|t| t.shortens()) {
            let result = timed(
                log,
                engine.name(),
                "characters",
                characters as f64,
                || async {
                    let short = engine.shorten(text, language, max_chars).await?;
                    let short = short.trim().to_owned();
                    if short.is_empty() || short.chars().count() >= characters {
                        return Err(ProviderError::Engine {
                            engine: engine.name().into(),
                            message: format!(
                                "answered a line no shorter than {characters} characters"
                            ),
                        });
                    }
                    Ok(short)
                },
            )
            .await;
            match result {
                Ok(short) => return Some((short, engine.name().to_owned())),
                Err(e) => {
                    tracing::warn!(engine = engine.name(), error = %e, "could not shorten a line")
                }
            }
        }
        None
    }

    /// `wav` heard back by the first offline recognizer of the transcribe
    /// chain (whisper, pocketsphinx) that understands `language`: the
    /// engine and what it heard, or `None` when no offline recognizer
    /// does (a dub is never sent to a vendor only to be checked).
    pub async fn hear(
        &self,
        wav: &Path,
        language: &Language,
    ) -> Option<(String, Result<Transcript, ProviderError>)> {
        let engine = self.hearer(language)?;
        let heard = engine.transcribe(wav, Some(language)).await;
        Some((engine.name().to_owned(), heard))
    }

    /// The offline recognizer that would hear `language` back, if any.
    pub fn hearer(&self, language: &Language) -> Option<&Arc<dyn SpeechToText>> {
        self.stt.iter().find(|e| {
            OFFLINE_RECOGNIZERS.contains(&e.name()) && e.languages().contains(&language.code)
        })
    }

    /// The voices a job may choose for `language`: (engine, voice, whether
    /// the language is spoken in it by default) for each engine of the
    /// chain that speaks it. The default is the first engine's own voice,
    /// so none is marked when that engine offers no choice.
    pub fn voices(&self, language: &str) -> Vec<(String, String, bool)> {
        let speakers: Vec<_> = self
            .synthesizers
            .iter()
            .filter(|s| s.languages().contains(&language))
            .collect();
        speakers
            .iter()
            .enumerate()
            .flat_map(|(n, s)| {
                s.voices(language)
                    .into_iter()
                    .enumerate()
                    .map(move |(k, v)| (s.name().to_owned(), v, n == 0 && k == 0))
            })
            .collect()
    }

    /// The voice the `n`-th speaker (from 0) of a dub in `language` gets
    /// when the job names none for them: the first speaker `first` (the
    /// job's `voice`; `None` is the language's default), the others the
    /// other voices of the first engine that speaks the language, in turn
    /// (all the same when it has one voice).
    pub fn speaker_voice(&self, language: &str, n: usize, first: Option<&str>) -> Option<String> {
        if n == 0 {
            return first.map(str::to_owned);
        }
        let engine = self
            .synthesizers
            .iter()
            .find(|s| s.languages().contains(&language))?;
        let mut voices = engine.voices(language);
        if let Some(f) = first
            && let Some(at) = voices.iter().position(|v| v == f)
        {
            let f = voices.remove(at);
            voices.insert(0, f);
        }
        if voices.len() < 2 {
            return first.map(str::to_owned);
        }
        Some(voices[n % voices.len()].clone())
    }

    /// Speaks with the first engine that serves the language (and has
    /// `voice`, when one is asked for) and returns the engine's name; each
    /// attempt is noted in `log`.
    pub async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        voice: Option<&str>,
        out_wav: &Path,
        log: &CallLog,
    ) -> Result<String, ProviderError> {
        let characters = text.chars().count() as f64;
        let mut failures = Failures::default();
        for engine in self.synthesizers.iter().filter(|s| {
            s.languages().contains(&language.code)
                && voice.is_none_or(|v| s.voices(language.code).iter().any(|x| x == v))
        }) {
            let result = timed(log, engine.name(), "characters", characters, || async {
                match voice {
                    Some(voice) => engine.synthesize_as(text, language, voice, out_wav).await,
                    None => engine.synthesize(text, language, out_wav).await,
                }
            })
            .await;
            match result {
                Ok(()) => return Ok(engine.name().to_owned()),
                Err(e @ ProviderError::BadInput(_)) => return Err(e),
                Err(e) => failures.note(e),
            }
        }
        let what = match voice {
            Some(voice) => format!("{} in the voice {voice}", language.name),
            None => language.name.to_owned(),
        };
        Err(failures.into_error(|| none_serves("speak", &what)))
    }
}

impl Engines {
    /// The first engine of the synthesis chain that clones voices and
    /// speaks one of `languages`.
    pub fn voice_cloner(&self, languages: &[String]) -> Option<Arc<dyn Synthesizer>> {
        self.synthesizers
            .iter()
            .find(|s| {
                s.clones_voices()
                    && languages
                        .iter()
                        .any(|l| s.languages().contains(&l.as_str()))
            })
            .cloned()
    }

    /// Whether the synthesis chain's engine `engine` speaks `language`.
    pub fn speaks(&self, engine: &str, language: &Language) -> bool {
        self.synthesizers
            .iter()
            .any(|s| s.name() == engine && s.languages().contains(&language.code))
    }

    /// A voice cloned by `engine` from `sample`, the call noted in `log`.
    pub async fn clone_voice(
        &self,
        engine: &Arc<dyn Synthesizer>,
        name: &str,
        sample: &Path,
        log: &CallLog,
    ) -> Result<String, ProviderError> {
        timed(log, engine.name(), "voices", 1.0, || {
            engine.clone_voice(name, sample)
        })
        .await
    }

    /// `text` in the voice `voice` that `engine` cloned: that engine only (a
    /// clone lives at one vendor), the call noted in `log`.
    pub async fn synthesize_cloned(
        &self,
        text: &str,
        language: &Language,
        engine: &str,
        voice: &str,
        out_wav: &Path,
        log: &CallLog,
    ) -> Result<String, ProviderError> {
        let Some(synthesizer) = self
            .synthesizers
            .iter()
            .find(|s| s.name() == engine && s.languages().contains(&language.code))
        else {
            return Err(ProviderError::Unsupported {
                engine: engine.into(),
                what: format!(
                    "speak {} in a voice it cloned (not in engines.synthesize for it)",
                    language.name
                ),
            });
        };
        let characters = text.chars().count() as f64;
        timed(log, engine, "characters", characters, || {
            synthesizer.synthesize_as(text, language, voice, out_wav)
        })
        .await?;
        Ok(engine.to_owned())
    }
}

/// The vendors of `[vendors]` that clone voices, by name: what deletes
/// clones needs them, and nothing else of the engines.
pub fn voice_cloners(
    vendors: &VendorTable,
    gate: Arc<dyn VendorGate>,
) -> Result<BTreeMap<String, Arc<dyn Synthesizer>>, ChainError> {
    let v = Vendors::build(vendors, &gate)?;
    Ok(v.elevenlabs
        .into_iter()
        .map(|(name, e)| (name, e as Arc<dyn Synthesizer>))
        .filter(|(_, e)| e.clones_voices())
        .collect())
}

/// Runs one engine call, noting it (and how it ended) in `log`: `units` of
/// `unit`, and whatever else the engine metered (a chat model's tokens).
async fn timed<T, F, Fut>(
    log: &CallLog,
    engine: &str,
    unit: &'static str,
    units: f64,
    call: F,
) -> Result<T, ProviderError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    let started = std::time::Instant::now();
    let (result, extra) = calls::metered(call()).await;
    let error = result.as_ref().err().map(ToString::to_string);
    // One call, once, in the metrics (the metered extras below are not calls).
    voxline_telemetry::metrics::engine_call(engine, error.is_none(), started.elapsed());
    log.record(Call {
        engine: engine.to_owned(),
        unit,
        units,
        latency_ms: started.elapsed().as_millis() as i64,
        error,
    });
    // What the engine metered was answered, and billed, even when the call
    // as a whole failed (a translation that lost lines): it counts as such.
    for (unit, units) in extra {
        log.record(Call {
            engine: engine.to_owned(),
            unit,
            units,
            latency_ms: 0,
            error: None,
        });
    }
    result
}

/// Builds one stage's chain from engine names; unknown, repeated or no
/// names are refused.
fn chain<T: ?Sized>(
    stage: &'static str,
    names: &[String],
    build: impl Fn(&str) -> Result<Arc<T>, String>,
) -> Result<Vec<Arc<T>>, ChainError> {
    let refuse = |message: String| ChainError { stage, message };
    if names.is_empty() {
        return Err(refuse(
            "name at least one engine, such as the built-in one".into(),
        ));
    }
    let mut engines = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let name = name.trim();
        if names[..i].iter().any(|n| n.trim() == name) {
            return Err(refuse(format!("`{name}` is listed twice")));
        }
        engines.push(build(name).map_err(refuse)?);
    }
    Ok(engines)
}

/// Why `name` cannot serve a stage, with what could.
fn unknown(name: &str, built_in: &str, vendors: &VendorTable, kinds: &[&str]) -> String {
    let mut known = vec![built_in.to_owned()];
    known.extend(
        vendors
            .iter()
            .filter(|(_, v)| kinds.contains(&v.kind()))
            .map(|(n, _)| n.clone()),
    );
    match vendors.get(name) {
        Some(v) => format!(
            "`{name}` is a {} vendor, which does not serve this stage (known: {})",
            v.kind(),
            known.join(", ")
        ),
        None => format!(
            "`{name}` is neither a built-in engine for this stage nor a vendor in [vendors] (known: {})",
            known.join(", ")
        ),
    }
}

/// A chain's failures so far.
#[derive(Default)]
struct Failures {
    transient: Option<ProviderError>,
    last: Option<ProviderError>,
}

impl Failures {
    fn note(&mut self, e: ProviderError) {
        if e.is_transient() && self.transient.is_none() {
            self.transient = Some(e);
        } else {
            self.last = Some(e);
        }
    }

    /// The first transient failure (worth retrying later), else the last.
    fn into_error(self, none: impl FnOnce() -> ProviderError) -> ProviderError {
        self.transient.or(self.last).unwrap_or_else(none)
    }
}

fn none_serves(what: &str, subject: &str) -> ProviderError {
    ProviderError::Unsupported {
        engine: "no configured engine".into(),
        what: format!("{what} {subject}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A translator that fails or answers, as told.
    struct Scripted(&'static str, bool);

    #[async_trait::async_trait]
    impl Translator for Scripted {
        fn name(&self) -> &str {
            self.0
        }
        fn pairs(&self) -> Vec<(&'static str, &'static str)> {
            vec![("en", "es")]
        }
        async fn translate(
            &self,
            segments: &[Segment],
            _: &Language,
            _: &Language,
        ) -> Result<Vec<Segment>, ProviderError> {
            if self.1 {
                Ok(segments.to_vec())
            } else {
                Err(ProviderError::Engine {
                    engine: self.0.into(),
                    message: "refused".into(),
                })
            }
        }
    }

    #[tokio::test]
    async fn a_failing_engine_hands_over_and_both_calls_are_noted() {
        let engines = Engines {
            stt: vec![],
            translators: vec![
                Arc::new(Scripted("first", false)),
                Arc::new(Scripted("second", true)),
            ],
            synthesizers: vec![],
            speakers: Err("not in this test".into()),
            separator: Err("not in this test".into()),
        };
        let segment = Segment::new(1, 0.0, 1.0, "hello");
        let log = CallLog::default();
        let (en, es) = (
            Language::parse("en").unwrap(),
            Language::parse("es").unwrap(),
        );
        let (out, engine) = engines.translate(&[segment], &en, &es, &log).await.unwrap();
        assert_eq!((out.len(), engine.as_str()), (1, "second"));
        let totals = log.totals();
        assert_eq!(totals.len(), 2);
        assert_eq!((totals[0].engine.as_str(), totals[0].ok), ("first", false));
        assert_eq!(
            (totals[1].engine.as_str(), totals[1].units),
            ("second", 5.0)
        );
    }

    fn build(s: &EngineSettings, vendors: &VendorTable) -> Result<Engines, ChainError> {
        Engines::from_settings(s, vendors, Arc::new(crate::Unlimited))
    }

    #[test]
    fn chains_come_from_settings_and_bad_ones_are_refused() {
        let none = VendorTable::new();
        let mut s = EngineSettings::default();
        let engines = build(&s, &none).unwrap();
        assert_eq!(engines.stt[0].name(), "pocketsphinx");
        s.translate = vec!["apertium".into(), "babelfish".into()];
        let e = build(&s, &none).err().unwrap();
        assert_eq!(e.stage, "translate");
        assert!(
            e.to_string().contains("`babelfish`") && e.to_string().contains("apertium"),
            "{e}"
        );
        s.translate = vec!["apertium".into(), "apertium".into()];
        assert!(build(&s, &none).err().unwrap().message.contains("twice"));
        s.translate = vec![];
        assert!(
            build(&s, &none)
                .err()
                .unwrap()
                .message
                .contains("at least one")
        );
    }

    #[test]
    fn vendors_join_the_chains_that_their_kind_serves() {
        use voxline_config::{ElevenLabsSettings, OpenAiSettings};
        let mut vendors = VendorTable::new();
        let groq = OpenAiSettings {
            capabilities: vec![Capability::Transcribe, Capability::Translate],
            ..Default::default()
        };
        vendors.insert("groq".into(), VendorSettings::OpenAi(groq));
        vendors.insert(
            "eleven".into(),
            VendorSettings::ElevenLabs(ElevenLabsSettings::default()),
        );
        let s = EngineSettings {
            transcribe: vec!["groq".into(), "pocketsphinx".into()],
            translate: vec!["groq".into(), "apertium".into()],
            synthesize: vec!["eleven".into(), "espeak-ng".into()],
            ..Default::default()
        };
        let engines = build(&s, &vendors).unwrap();
        assert_eq!(engines.stt[0].name(), "groq");
        assert!(engines.can_detect_language());
        assert!(engines.translators[0].supports("en", "ja"));
        assert!(engines.synthesizers[0].languages().contains(&"ja"));
        let es = Language::parse("es").unwrap();
        assert!(engines.servable_targets(&es, true).contains(&"ja"));

        let speaking_groq = EngineSettings {
            synthesize: vec!["groq".into()],
            ..Default::default()
        };
        let e = build(&speaking_groq, &vendors).err().unwrap();
        assert!(e.message.contains("capabilities"), "{e}");
        let transcribing_eleven = EngineSettings {
            transcribe: vec!["eleven".into()],
            ..Default::default()
        };
        let e = build(&transcribing_eleven, &vendors).err().unwrap();
        assert!(e.message.contains("elevenlabs vendor"), "{e}");
        assert!(e.message.contains("groq"), "{e}");
    }
}
