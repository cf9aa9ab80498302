use serde::{Deserialize, Serialize};

/// One spoken line with its place on the source's timeline, in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub id: u32,
    pub start: f64,
    pub end: f64,
    pub text: String,
    /// Who says it (`S1`, `S2`, … in order of first appearance) when the
    /// transcription stage told speakers apart (`crate::speakers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
}

impl Segment {
    pub fn new(id: u32, start: f64, end: f64, text: impl Into<String>) -> Self {
        Self {
            id,
            start,
            end,
            text: text.into(),
            speaker: None,
        }
    }

    /// The same line, said by `speaker`.
    pub fn said_by(self, speaker: impl Into<String>) -> Self {
        Self {
            speaker: Some(speaker.into()),
            ..self
        }
    }

    pub fn duration(&self) -> f64 {
        (self.end - self.start).max(0.0)
    }
}

/// What transcription produced: the source language's lines in time order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// ISO 639-1 code of the spoken language.
    pub language: String,
    /// The engine that produced it.
    pub engine: String,
    /// Duration of the source audio, in seconds.
    pub duration: f64,
    pub segments: Vec<Segment>,
    /// Said when there is something a person should know, such as "no speech detected".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Each word with its own timings, where the engine gives them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
    /// The speakers the lines are shared among, in the order first heard
    /// (`crate::speakers`); empty when they were not told apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<String>,
    /// Why the speakers were not told apart, when they were not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speakers_note: Option<String>,
    /// The source's voice and background as files of their own, when they
    /// were separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stems: Option<Stems>,
    /// Why the voice was not separated from the background, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stems_note: Option<String>,
    /// What became of the voices the job asked to clone from its speakers
    /// (`options.clone_voices`): those cloned, and any that could not be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clones_note: Option<String>,
}

/// The source split into its voice and its background (they add up to it),
/// stored beside the transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stems {
    /// The engine that separated them.
    pub engine: String,
    /// File names beside `transcript.json` (48 kHz mono FLAC).
    pub voice: String,
    pub background: String,
    /// The share of the source's energy that is voice.
    pub voice_share: f64,
}

/// A recognized word, in the line (`segment`) it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub segment: u32,
    pub start: f64,
    pub end: f64,
    pub text: String,
}

/// The transcript's lines in a target language, with the same ids and timings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Translation {
    pub source_language: String,
    pub language: String,
    pub engine: String,
    pub segments: Vec<Segment>,
    /// Glossary terms the translation could not honour (`crate::glossary`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub glossary_misses: Vec<crate::glossary::Miss>,
}

/// What synthesis produced: one audio file per line, with its length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Synthesis {
    pub language: String,
    pub engine: String,
    pub segments: Vec<SynthesizedLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthesizedLine {
    pub id: u32,
    /// File name beside the manifest (48 kHz mono WAV).
    pub file: String,
    /// Seconds of speech.
    pub duration: f64,
    /// The engine that spoke it (lines of one language may differ when a
    /// vendor failed partway and the chain's next engine took over).
    #[serde(default)]
    pub engine: String,
    /// What the audio was made from (text, language, engine chain and the
    /// synthesizer's version): a re-run reuses a line whose hash still
    /// matches instead of speaking it again.
    #[serde(default)]
    pub hash: String,
    /// The words spoken, when they are not the line's: a translator
    /// shortened a line too long for its slot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spoken: Option<String>,
    /// The line's audio heard back by an offline recognizer of its
    /// language, when there is one: how intelligible the voice is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heard: Option<HeardLine>,
    /// Who says the line (the transcript's speaker label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
    /// The voice it was spoken in, when the job or the line's speaker chose
    /// one (the language's default voice otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voice: Option<String>,
}

/// What a recognizer heard of a dubbed line, and how far that is from the
/// words the line says: word errors, or character errors for languages
/// written without spaces (`crate::wer`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeardLine {
    pub engine: String,
    pub text: String,
    pub errors: usize,
    /// Words (or characters) of the line's text.
    pub words: usize,
}
