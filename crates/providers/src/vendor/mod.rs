//! Cloud engines, one module per vendor kind, all on one transport
//! (`http`) that goes through the shared `gate` for every request.

mod deepgram;
mod elevenlabs;
mod gate;
mod http;
mod openai;
mod postiz;

use std::path::Path;

pub use deepgram::Deepgram;
pub use elevenlabs::ElevenLabs;
pub use gate::{Turn, Unlimited, VendorGate};
pub use openai::OpenAi;
pub use postiz::{Channel, Media, Postiz, post_settings};
use voxline_core::Language;
use voxline_media::audio;

use crate::ProviderError;

/// Checks configured language codes; none configured means `default`
/// (every language Voxline knows when `default` is `None`).
fn languages_of(
    configured: &[String],
    default: Option<&[&'static str]>,
) -> Result<Vec<&'static str>, String> {
    if configured.is_empty() {
        return Ok(match default {
            Some(list) => list.to_vec(),
            None => Language::all().iter().map(|l| l.code).collect(),
        });
    }
    configured
        .iter()
        .map(|code| {
            Language::parse(code)
                .map(|l| l.code)
                .map_err(|_| format!("`{code}` is not a language code Voxline knows"))
        })
        .collect()
}

/// A vendor's speech reply (MP3, WAV, anything ffmpeg decodes) as the
/// 48 kHz mono WAV every line is assembled from. Audio ffmpeg cannot decode
/// is the engine's failure, not the input's.
async fn decode_speech(engine: &str, reply: &[u8], out_wav: &Path) -> Result<(), ProviderError> {
    let failed = |message: String| ProviderError::Engine {
        engine: engine.into(),
        message,
    };
    if reply.is_empty() {
        return Err(failed("sent no audio".into()));
    }
    let dir = tempfile::tempdir().map_err(|e| failed(e.to_string()))?;
    let raw = dir.path().join("reply.audio");
    tokio::fs::write(&raw, reply)
        .await
        .map_err(|e| failed(e.to_string()))?;
    audio::to_pcm_48k_mono(&raw, out_wav)
        .await
        .map_err(|e| failed(format!("sent audio that cannot be decoded: {e}")))
}
