//! Speech synthesis with espeak-ng: robotic, but about a hundred languages
//! from a 14 MB package, and near-instant.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use voxline_core::Language;
use voxline_media::process;

use crate::{ProviderError, Synthesizer};

pub struct EspeakNg {
    pub binary: PathBuf,
    /// Words per minute.
    pub rate: u32,
}

/// espeak-ng's voice for each language Voxline names.
const VOICES: &[(&str, &str)] = &[
    ("en", "en-us"),
    ("es", "es"),
    ("fr", "fr-fr"),
    ("de", "de"),
    ("it", "it"),
    ("pt", "pt"),
    ("ru", "ru"),
    ("ja", "ja"),
    ("ko", "ko"),
    ("zh", "cmn"),
    ("ar", "ar"),
    ("hi", "hi"),
    ("ca", "ca"),
    ("eu", "eu"),
    ("eo", "eo"),
    ("nl", "nl"),
    ("pl", "pl"),
    ("sv", "sv"),
    ("tr", "tr"),
];

#[async_trait::async_trait]
impl Synthesizer for EspeakNg {
    fn name(&self) -> &str {
        "espeak-ng"
    }

    fn languages(&self) -> Vec<&'static str> {
        VOICES.iter().map(|(code, _)| *code).collect()
    }

    async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let voice = VOICES
            .iter()
            .find(|(code, _)| *code == language.code)
            .map(|(_, v)| *v)
            .ok_or_else(|| ProviderError::Unsupported {
                engine: self.name().into(),
                what: format!("speak {}", language.name),
            })?;
        let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.is_empty() {
            // A line with nothing to say still gets its (silent) audio.
            return crate::traits::silent_line(self.name(), out_wav);
        }
        let mut cmd = Command::new(&self.binary);
        // The text goes through stdin, so nothing in it can read as a flag.
        cmd.args(["-v", voice, "-s", &self.rate.to_string(), "--stdin", "-w"])
            .arg(out_wav);
        let timeout = Duration::from_secs(30 + text.len() as u64 / 100);
        process::run(cmd, Some(text.as_bytes()), timeout)
            .await
            .map_err(|e| ProviderError::from_media(self.name(), e))?;
        Ok(())
    }
}
