//! Engines behind one trait per capability (speech to text, translation,
//! speech synthesis), one module per engine, and the ordered fallback
//! chains the stages call. The offline engines come from Debian's packages;
//! the cloud ones (`vendor`) share one transport with limits and retries.
//! Also the outbound policy every call to a user-supplied URL goes through.

mod apertium;
mod bergamot;
mod calls;
mod engines;
mod error;
mod espeak;
mod kokoro;
mod onnx;
pub mod outbound;
mod piper;
mod pocketsphinx;
pub mod separation;
pub mod speakers;
mod traits;
pub mod vendor;
#[cfg(feature = "whisper")]
mod whisper;

pub use apertium::Apertium;
pub use bergamot::Bergamot;
pub use calls::{Call, CallLog, CallTotal};
pub use engines::{ChainError, Engines, voice_cloners};
pub use error::ProviderError;
pub use espeak::EspeakNg;
pub use kokoro::Kokoro;
pub use piper::Piper;
pub use pocketsphinx::Pocketsphinx;
pub use traits::{SpeechToText, Synthesizer, Translator};
pub use vendor::{Turn, Unlimited, VendorGate};
#[cfg(feature = "whisper")]
pub use whisper::Whisper;
