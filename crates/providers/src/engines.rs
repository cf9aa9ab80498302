//! The engine chains each stage calls, in configured order: the first engine
//! that serves a language is used; an engine that cannot serve it, or fails
//! permanently, hands over to the next; a transient failure is returned at
//! once so the stage runner retries the whole stage later.

use std::path::Path;
use std::sync::Arc;

use voxline_config::EngineSettings;
use voxline_core::{Language, Segment, Transcript};

use crate::{
    Apertium, Call, CallLog, EspeakNg, Pocketsphinx, ProviderError, SpeechToText, Synthesizer,
    Translator,
};

pub struct Engines {
    pub stt: Vec<Arc<dyn SpeechToText>>,
    pub translators: Vec<Arc<dyn Translator>>,
    pub synthesizers: Vec<Arc<dyn Synthesizer>>,
}

/// A chain that cannot be built: the message names the setting and what
/// would be right, so a service refuses to start with it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("configuration key `engines.{stage}`: {message}")]
pub struct ChainError {
    pub stage: &'static str,
    pub message: String,
}

impl Engines {
    /// The chains of `engines.transcribe`, `.translate` and `.synthesize`,
    /// in their configured order.
    pub fn from_settings(s: &EngineSettings) -> Result<Self, ChainError> {
        Ok(Self {
            stt: chain(
                "transcribe",
                &s.transcribe,
                &["pocketsphinx"],
                |name| match name {
                    "pocketsphinx" => Some(Arc::new(Pocketsphinx {
                        binary: s.pocketsphinx_binary.clone(),
                    }) as Arc<dyn SpeechToText>),
                    _ => None,
                },
            )?,
            translators: chain(
                "translate",
                &s.translate,
                &["apertium"],
                |name| match name {
                    "apertium" => Some(Arc::new(Apertium::new(
                        s.apertium_binary.clone(),
                        s.apertium_modes_dir.clone(),
                    )) as Arc<dyn Translator>),
                    _ => None,
                },
            )?,
            synthesizers: chain(
                "synthesize",
                &s.synthesize,
                &["espeak-ng"],
                |name| match name {
                    "espeak-ng" => Some(Arc::new(EspeakNg {
                        binary: s.espeak_binary.clone(),
                        rate: s.espeak_rate,
                    }) as Arc<dyn Synthesizer>),
                    _ => None,
                },
            )?,
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
            .filter(|&target| {
                !needs_speech
                    || self
                        .synthesizers
                        .iter()
                        .any(|s| s.languages().contains(&target))
            })
            .collect()
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
        let mut last = None;
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
                Err(e) if handover(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| {
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
        let mut last = None;
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
                Err(e) if handover(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last
            .unwrap_or_else(|| none_serves("translate", &format!("{} to {}", from.name, to.name))))
    }

    /// Speaks a line with the first engine that speaks the language; each
    /// attempt is noted in `log`.
    pub async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
        log: &CallLog,
    ) -> Result<String, ProviderError> {
        let characters = text.chars().count() as f64;
        let mut last = None;
        for engine in self
            .synthesizers
            .iter()
            .filter(|s| s.languages().contains(&language.code))
        {
            let result = timed(log, engine.name(), "characters", characters, || {
                engine.synthesize(text, language, out_wav)
            })
            .await;
            match result {
                Ok(()) => return Ok(engine.name().to_owned()),
                Err(e) if handover(&e) => last = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| none_serves("speak", language.name)))
    }
}

/// Runs one engine call, noting it (and how it ended) in `log`.
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
    let result = call().await;
    log.record(Call {
        engine: engine.to_owned(),
        unit,
        units,
        latency_ms: started.elapsed().as_millis() as i64,
        error: result.as_ref().err().map(ToString::to_string),
    });
    result
}

/// Builds one stage's chain from engine names; unknown, repeated or no
/// names are refused.
fn chain<T: ?Sized>(
    stage: &'static str,
    names: &[String],
    known: &[&str],
    build: impl Fn(&str) -> Option<Arc<T>>,
) -> Result<Vec<Arc<T>>, ChainError> {
    let refuse = |message: String| ChainError { stage, message };
    if names.is_empty() {
        return Err(refuse(format!(
            "name at least one engine (known: {})",
            known.join(", ")
        )));
    }
    let mut engines = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let name = name.trim();
        if names[..i].iter().any(|n| n.trim() == name) {
            return Err(refuse(format!("`{name}` is listed twice")));
        }
        engines.push(build(name).ok_or_else(|| {
            refuse(format!(
                "`{name}` is not an engine for this stage (known: {})",
                known.join(", ")
            ))
        })?);
    }
    Ok(engines)
}

/// Whether the next engine in the chain should try.
fn handover(e: &ProviderError) -> bool {
    matches!(
        e,
        ProviderError::Unsupported { .. } | ProviderError::Engine { .. }
    )
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
        };
        let segment = Segment {
            id: 1,
            start: 0.0,
            end: 1.0,
            text: "hello".into(),
        };
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

    #[test]
    fn chains_come_from_settings_and_bad_ones_are_refused() {
        let mut s = EngineSettings::default();
        let engines = Engines::from_settings(&s).unwrap();
        assert_eq!(engines.stt[0].name(), "pocketsphinx");
        s.translate = vec!["apertium".into(), "babelfish".into()];
        let e = Engines::from_settings(&s).err().unwrap();
        assert_eq!(e.stage, "translate");
        assert!(
            e.to_string().contains("`babelfish`") && e.to_string().contains("apertium"),
            "{e}"
        );
        s.translate = vec!["apertium".into(), "apertium".into()];
        assert!(
            Engines::from_settings(&s)
                .err()
                .unwrap()
                .message
                .contains("twice")
        );
        s.translate = vec![];
        assert!(
            Engines::from_settings(&s)
                .err()
                .unwrap()
                .message
                .contains("at least one")
        );
    }
}
