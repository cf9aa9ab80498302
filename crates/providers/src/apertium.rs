//! Rule-based translation with apertium. Its modes name language pairs with
//! their own codes (`eng-spa`, `en-gl`), discovered from the installed
//! `*.mode` files.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use voxline_core::{Language, Segment};
use voxline_media::process;

use crate::{ProviderError, Translator};

pub struct Apertium {
    pub binary: PathBuf,
    pub modes_dir: PathBuf,
    /// (from, to, mode) for every installed pair Voxline can name.
    pairs: Vec<(&'static str, &'static str, String)>,
}

impl Apertium {
    pub fn new(binary: PathBuf, modes_dir: PathBuf) -> Self {
        let pairs = discover(&modes_dir);
        Self {
            binary,
            modes_dir,
            pairs,
        }
    }

    fn mode(&self, from: &str, to: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(f, t, _)| *f == from && *t == to)
            .map(|(_, _, m)| m.as_str())
    }

    async fn run(&self, mode: &str, text: &str) -> Result<String, ProviderError> {
        let mut cmd = Command::new(&self.binary);
        cmd.args(["-u", "-f", "txt", mode]);
        let timeout = Duration::from_secs(60 + text.len() as u64 / 200);
        let out = process::run(cmd, Some(text.as_bytes()), timeout)
            .await
            .map_err(|e| ProviderError::from_media("apertium", e))?;
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

#[async_trait::async_trait]
impl Translator for Apertium {
    fn name(&self) -> &str {
        "apertium"
    }

    fn pairs(&self) -> Vec<(&'static str, &'static str)> {
        self.pairs.iter().map(|(f, t, _)| (*f, *t)).collect()
    }

    async fn translate(
        &self,
        segments: &[Segment],
        from: &Language,
        to: &Language,
    ) -> Result<Vec<Segment>, ProviderError> {
        let mode = self
            .mode(from.code, to.code)
            .ok_or_else(|| ProviderError::Unsupported {
                engine: "apertium".into(),
                what: format!("translate {} to {}", from.name, to.name),
            })?
            .to_owned();
        // All lines in one call, a blank line between them: apertium keeps
        // paragraph breaks, so the lines come back in order and countable.
        let input: Vec<String> = segments
            .iter()
            .map(|s| s.text.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let output = self.run(&mode, &(input.join("\n\n") + "\n")).await?;
        let mut lines: Vec<String> = output.split("\n\n").map(tidy).collect();
        while lines.last().is_some_and(|l| l.is_empty()) && lines.len() > segments.len() {
            lines.pop();
        }
        if lines.len() != segments.len() {
            // Something merged or split paragraphs: translate line by line instead.
            lines.clear();
            for text in &input {
                lines.push(tidy(&self.run(&mode, &(text.clone() + "\n")).await?));
            }
        }
        Ok(segments
            .iter()
            .zip(lines)
            .map(|(s, text)| Segment { text, ..s.clone() })
            .collect())
    }
}

/// apertium's output with its double spaces and stray newlines folded.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Installed pairs, from the mode files' names.
fn discover(dir: &Path) -> Vec<(&'static str, &'static str, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut pairs: Vec<_> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|name| {
            let mode = name.strip_suffix(".mode")?.to_owned();
            let (from, to) = mode.split_once('-')?;
            Some((iso(from)?, iso(to)?, mode))
        })
        .collect();
    pairs.sort();
    pairs
}

/// apertium's language codes (ISO 639-3 or 639-1) to ISO 639-1. Variant
/// modes (`spa-eng_US`) do not map and are left out.
fn iso(code: &str) -> Option<&'static str> {
    Some(match code {
        "en" | "eng" => "en",
        "es" | "spa" => "es",
        "ca" | "cat" => "ca",
        "gl" | "glg" => "gl",
        "eo" | "epo" => "eo",
        "eu" | "eus" => "eu",
        "fr" | "fra" => "fr",
        "pt" | "por" => "pt",
        "it" | "ita" => "it",
        "de" | "deu" => "de",
        "nl" | "nld" => "nl",
        "pl" | "pol" => "pl",
        "sv" | "swe" => "sv",
        "tr" | "tur" => "tr",
        "ru" | "rus" => "ru",
        "ar" | "ara" => "ar",
        "hi" | "hin" => "hi",
        _ => return None,
    })
}
