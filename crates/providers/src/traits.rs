use std::path::Path;

use voxline_core::{Language, Segment, Transcript};

use crate::ProviderError;

/// Speech recognition: timed lines from audio.
#[async_trait::async_trait]
pub trait SpeechToText: Send + Sync {
    fn name(&self) -> &str;
    /// ISO 639-1 codes it recognizes.
    fn languages(&self) -> Vec<&'static str>;
    fn detects_language(&self) -> bool {
        false
    }
    /// Transcribes any audio or video file; `None` asks the engine to detect the language.
    async fn transcribe(
        &self,
        media: &Path,
        language: Option<&Language>,
    ) -> Result<Transcript, ProviderError>;
}

/// Translation of timed lines, keeping their ids and timings.
#[async_trait::async_trait]
pub trait Translator: Send + Sync {
    fn name(&self) -> &str;
    /// (source, target) ISO 639-1 pairs it translates.
    fn pairs(&self) -> Vec<(&'static str, &'static str)>;
    fn supports(&self, from: &str, to: &str) -> bool {
        self.pairs().iter().any(|(f, t)| *f == from && *t == to)
    }
    async fn translate(
        &self,
        segments: &[Segment],
        from: &Language,
        to: &Language,
    ) -> Result<Vec<Segment>, ProviderError>;
    /// Whether it can say a line again in fewer words (an LLM can; a
    /// rule-based translator cannot).
    fn shortens(&self) -> bool {
        false
    }
    /// `text`, in `language`, said in at most `max_chars` characters with
    /// its meaning kept: for a dubbed line too long for its slot.
    async fn shorten(
        &self,
        _text: &str,
        language: &Language,
        _max_chars: usize,
    ) -> Result<String, ProviderError> {
        Err(ProviderError::Unsupported {
            engine: self.name().into(),
            what: format!("shorten {} lines", language.name),
        })
    }
}

/// Speech synthesis: one line of text to a WAV file.
#[async_trait::async_trait]
pub trait Synthesizer: Send + Sync {
    fn name(&self) -> &str;
    /// ISO 639-1 codes it speaks.
    fn languages(&self) -> Vec<&'static str>;
    async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
    ) -> Result<(), ProviderError>;
    /// The voices a job may choose for `language` (ISO 639-1), by name, the
    /// one it speaks by default first; none when it speaks only the voice
    /// its configuration names.
    fn voices(&self, _language: &str) -> Vec<String> {
        Vec::new()
    }
    /// Whether it makes new voices from samples of a person's speech.
    fn clones_voices(&self) -> bool {
        false
    }
    /// A new voice named `name`, made from `sample` (speech of one person);
    /// the vendor's id of it, which [`Synthesizer::synthesize_as`] takes.
    async fn clone_voice(&self, name: &str, _sample: &Path) -> Result<String, ProviderError> {
        Err(ProviderError::Unsupported {
            engine: self.name().into(),
            what: format!("clone the voice {name}"),
        })
    }
    /// Deletes a voice [`Synthesizer::clone_voice`] made; one already gone
    /// is not an error.
    async fn delete_voice(&self, voice: &str) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported {
            engine: self.name().into(),
            what: format!("delete the voice {voice}"),
        })
    }
    /// `text` in the named `voice`, one of [`Synthesizer::voices`] (or one
    /// it cloned).
    async fn synthesize_as(
        &self,
        _text: &str,
        language: &Language,
        voice: &str,
        _out_wav: &Path,
    ) -> Result<(), ProviderError> {
        Err(ProviderError::Unsupported {
            engine: self.name().into(),
            what: format!("speak {} in the voice {voice}", language.name),
        })
    }
}

/// What a synthesizer writes for a line with nothing to say: a tenth of a
/// second of silence (every line still gets its audio).
pub(crate) fn silent_line(engine: &str, out_wav: &Path) -> Result<(), ProviderError> {
    voxline_media::audio::write_wav(out_wav, &[0; 4_800], 48_000)
        .map_err(|e| ProviderError::from_media(engine, e))
}
