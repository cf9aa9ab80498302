//! Rule-based translation with apertium. Its modes name language pairs with
//! their own codes (`eng-spa`, `en-gl`), discovered from the installed
//! `*.mode` files. A pair with no mode of its own is translated through a
//! language both sides have a mode with (English to French as English to
//! Spanish, then Spanish to French): poorer than a direct pair, since the
//! second pass carries the first one's mistakes, but a translation where
//! there would be none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::Command;
use voxline_core::{Language, Segment};
use voxline_media::process;

use crate::{ProviderError, Translator};

pub struct Apertium {
    pub binary: PathBuf,
    pub modes_dir: PathBuf,
    /// (from, to, the modes run one after the other) for every pair
    /// Voxline can name: one mode when installed, two through a pivot.
    pairs: Vec<(&'static str, &'static str, Vec<String>)>,
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

    fn modes(&self, from: &str, to: &str) -> Option<&[String]> {
        self.pairs
            .iter()
            .find(|(f, t, _)| *f == from && *t == to)
            .map(|(_, _, m)| m.as_slice())
    }

    /// `text` through each of `modes` in turn.
    async fn run_all(&self, modes: &[String], text: &str) -> Result<String, ProviderError> {
        let mut text = text.to_owned();
        for mode in modes {
            text = self.run(mode, &text).await?;
        }
        Ok(text)
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
        let modes = self
            .modes(from.code, to.code)
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
        let output = self.run_all(&modes, &(input.join("\n\n") + "\n")).await?;
        let mut lines: Vec<String> = output.split("\n\n").map(tidy).collect();
        while lines.last().is_some_and(|l| l.is_empty()) && lines.len() > segments.len() {
            lines.pop();
        }
        if lines.len() != segments.len() {
            // Something merged or split paragraphs: translate line by line instead.
            lines.clear();
            for text in &input {
                lines.push(tidy(&self.run_all(&modes, &(text.clone() + "\n")).await?));
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

/// Installed pairs, from the mode files' names, then the pairs reached
/// through one pivot language (Spanish first where there is a choice: it
/// has the most pairs).
fn discover(dir: &Path) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    pairs(&names)
}

fn pairs(mode_files: &[String]) -> Vec<(&'static str, &'static str, Vec<String>)> {
    let mut direct: BTreeMap<(&'static str, &'static str), String> = BTreeMap::new();
    for name in mode_files {
        let Some(mode) = name.strip_suffix(".mode") else {
            continue;
        };
        let Some((from, to)) = mode.split_once('-') else {
            continue;
        };
        if let (Some(from), Some(to)) = (iso(from), iso(to)) {
            direct.entry((from, to)).or_insert_with(|| mode.to_owned());
        }
    }
    // (from, to) -> (the pivot, its two modes)
    let mut pivots: BTreeMap<(&str, &str), (&str, Vec<String>)> = BTreeMap::new();
    for (&(from, via), first) in &direct {
        for (&(_, to), second) in direct.range((via, "")..).take_while(|(k, _)| k.0 == via) {
            if from == to || direct.contains_key(&(from, to)) {
                continue;
            }
            let better = pivots
                .get(&(from, to))
                .is_none_or(|(pivot, _)| via == "es" && *pivot != "es");
            if better {
                pivots.insert((from, to), (via, vec![first.clone(), second.clone()]));
            }
        }
    }
    let mut all: Vec<_> = direct
        .into_iter()
        .map(|((f, t), m)| (f, t, vec![m]))
        .chain(pivots.into_iter().map(|((f, t), (_, m))| (f, t, m)))
        .collect();
    all.sort();
    all
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_without_a_mode_go_through_spanish() {
        let files: Vec<String> = [
            "eng-spa.mode",
            "spa-eng.mode",
            "es-fr.mode",
            "fr-es.mode",
            "spa-ita.mode",
            "eng-cat.mode",
            "cat-eng.mode",
            "es-pt_BR.mode",
            "README",
        ]
        .map(String::from)
        .to_vec();
        let found = pairs(&files);
        let route = |f: &str, t: &str| {
            found
                .iter()
                .find(|p| (p.0, p.1) == (f, t))
                .map(|p| p.2.join(" then "))
        };
        assert_eq!(route("en", "es").as_deref(), Some("eng-spa"));
        assert_eq!(route("en", "fr").as_deref(), Some("eng-spa then es-fr"));
        assert_eq!(route("en", "it").as_deref(), Some("eng-spa then spa-ita"));
        assert_eq!(route("fr", "en").as_deref(), Some("fr-es then spa-eng"));
        assert_eq!(route("ca", "es").as_deref(), Some("cat-eng then eng-spa"));
        assert_eq!(route("en", "pt"), None, "a variant mode names no pair");
        assert_eq!(route("es", "es"), None);
    }
}
