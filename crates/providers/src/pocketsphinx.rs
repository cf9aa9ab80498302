//! English speech recognition with pocketsphinx (Debian's 5prealpha CLI).
//!
//! `pocketsphinx_continuous -time yes` prints, per utterance (split by its
//! voice-activity detection), the utterance's text and then one line per
//! word: `word start end confidence`, with `<s>`, `</s>`, `<sil>`, `[NOISE]`
//! and `++FILLER++` tokens and `word(2)` alternate pronunciations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use voxline_core::{Language, Segment, Transcript};
use voxline_media::{audio, process};

use crate::{ProviderError, SpeechToText};

/// A pause between words this long starts a new line.
const PAUSE: f64 = 0.6;
/// No line runs longer than this.
const MAX_LINE: f64 = 12.0;

pub struct Pocketsphinx {
    pub binary: PathBuf,
}

#[async_trait::async_trait]
impl SpeechToText for Pocketsphinx {
    fn name(&self) -> &str {
        "pocketsphinx"
    }

    fn languages(&self) -> Vec<&'static str> {
        vec!["en"]
    }

    async fn transcribe(
        &self,
        media: &Path,
        language: Option<&Language>,
    ) -> Result<Transcript, ProviderError> {
        if let Some(l) = language.filter(|l| l.code != "en") {
            return Err(ProviderError::Unsupported {
                engine: self.name().into(),
                what: format!("recognize {}", l.name),
            });
        }
        let dir = tempfile::tempdir().map_err(|e| ProviderError::Unavailable {
            engine: self.name().into(),
            message: e.to_string(),
        })?;
        let wav = dir.path().join("speech.wav");
        // pocketsphinx needs 16 kHz mono 16-bit PCM.
        audio::extract_wav(media, &wav, 16_000, 1)
            .await
            .map_err(|e| ProviderError::from_media(self.name(), e))?;
        let duration = audio::read_wav_samples(&wav)
            .map(|s| s.len() as f64 / 16_000.0)
            .map_err(|e| ProviderError::from_media(self.name(), e))?;
        let mut cmd = Command::new(&self.binary);
        cmd.arg("-infile")
            .arg(&wav)
            .args(["-time", "yes", "-logfn", "/dev/null"]);
        let timeout = Duration::from_secs_f64(60.0 + 3.0 * duration);
        let out = process::run(cmd, None, timeout)
            .await
            .map_err(|e| ProviderError::from_media(self.name(), e))?;
        let segments = parse(&String::from_utf8_lossy(&out.stdout));
        let note = segments.is_empty().then(|| "no speech detected".to_owned());
        Ok(Transcript {
            language: "en".into(),
            engine: self.name().into(),
            duration,
            segments,
            note,
            words: Vec::new(),
            speakers: Vec::new(),
            speakers_note: None,
            stems: None,
            stems_note: None,
            clones_note: None,
        })
    }
}

/// Timed words → lines: one per utterance, split at long pauses.
pub(crate) fn parse(output: &str) -> Vec<Segment> {
    let mut lines: Vec<Vec<(String, f64, f64)>> = Vec::new();
    let mut current: Vec<(String, f64, f64)> = Vec::new();
    for raw in output.lines() {
        let fields: Vec<&str> = raw.split_whitespace().collect();
        let timed = fields.len() == 4 && fields[1..].iter().all(|f| f.parse::<f64>().is_ok());
        if !timed {
            continue;
        }
        let (token, start, end) = (
            fields[0],
            fields[1].parse::<f64>().unwrap_or(0.0),
            fields[2].parse::<f64>().unwrap_or(0.0),
        );
        if token == "</s>" {
            lines.push(std::mem::take(&mut current));
            continue;
        }
        if token.starts_with('<') || token.starts_with('[') || token.starts_with("++") {
            continue;
        }
        let word = token.split('(').next().unwrap_or(token).to_owned();
        if let (Some(first), Some(last)) = (current.first(), current.last())
            && (start - last.2 > PAUSE || end - first.1 > MAX_LINE)
        {
            lines.push(std::mem::take(&mut current));
        }
        current.push((word, start, end));
    }
    lines.push(current);
    lines
        .into_iter()
        .filter(|l| !l.is_empty())
        .enumerate()
        .map(|(i, words)| Segment {
            id: i as u32 + 1,
            start: words[0].1,
            end: words[words.len() - 1].2,
            text: sentence(&words.iter().map(|w| w.0.as_str()).collect::<Vec<_>>()),
            speaker: None,
        })
        .collect()
}

/// Recognized words as a sentence: capitalized, with a final period, which
/// helps the translator treat each line as a sentence.
fn sentence(words: &[&str]) -> String {
    let text = words.join(" ");
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>())
        .unwrap_or_default();
    out.push_str(chars.as_str());
    let out = out.replace(" i ", " I ").replace(" i'", " I'");
    format!("{out}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "welcome to the show\n<s> 0.000 0.140 0.999200\nwelcome 0.150 0.490 0.51\n<sil> 0.610 0.650 0.85\nto 0.660 0.700 0.86\nthe(2) 0.710 0.800 0.8\n[NOISE] 0.810 0.900 0.9\nshow 0.910 1.200 0.7\n++BREATH++ 1.2 1.3 0.5\nmusic 2.100 2.600 0.7\n</s> 2.700 3.000 1.000000\ni like books\n<s> 4.000 4.100 1.0\ni 4.100 4.200 0.9\nlike 4.210 4.400 0.9\nbooks 4.410 4.900 0.9\n</s> 4.900 5.000 1.0\n";

    #[test]
    fn parses_utterances_and_splits_at_pauses() {
        let lines = parse(SAMPLE);
        let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(
            texts,
            vec!["Welcome to the show.", "Music.", "I like books."]
        );
        assert_eq!((lines[0].start, lines[0].end), (0.15, 1.2));
        assert_eq!(lines[2].id, 3);
    }

    #[test]
    fn no_words_no_lines() {
        assert!(parse("\n<s> 0.0 0.5 1.0\n<sil> 0.5 1.0 1.0\n</s> 1.0 1.2 1.0\n").is_empty());
    }
}
