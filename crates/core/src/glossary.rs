//! A job's glossary: terms every translation must honour, kept as they are
//! (names, brands) or translated a fixed way per language. Before the lines
//! go to a translator, each term is replaced by a placeholder translators
//! carry through untouched (`Xq7z`: an unknown word to a rule-based
//! system, copied by a neural one); after, each placeholder becomes the
//! term's rendering in the target language. A placeholder the translator
//! lost is a term the translation could not honour: it is reported, never
//! guessed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Segment;

/// One term of a glossary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Term {
    /// The words as the source says them (matched whole, in any case).
    pub term: String,
    /// Its fixed translation per target language (ISO 639-1); a language
    /// without one keeps the term as it is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub translations: BTreeMap<String, String>,
    /// How a voice should say it per target language: a respelling the
    /// voice reads in its place ("bócslain" for "Voxline" in Spanish). The
    /// subtitles still show the term.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pronunciations: BTreeMap<String, String>,
}

impl Term {
    /// What the term becomes in `language`.
    pub fn rendering(&self, language: &str) -> &str {
        self.translations
            .get(language)
            .map_or(self.term.as_str(), String::as_str)
    }
}

/// `text` (a line in `language`) as a voice should read it: each term's
/// rendering that has a pronunciation for the language replaced by it.
pub fn pronounce(text: &str, terms: &[Term], language: &str) -> String {
    let mut hinted: Vec<(&str, &str)> = terms
        .iter()
        .filter_map(|t| {
            Some((
                t.rendering(language),
                t.pronunciations.get(language)?.as_str(),
            ))
        })
        .collect();
    hinted.sort_by_key(|(written, _)| std::cmp::Reverse(written.chars().count()));
    hinted
        .into_iter()
        .fold(text.to_owned(), |text, (written, said)| {
            replace_whole(&text, written, said)
        })
}

/// A job's glossary from its tenant's (`tenant`) and its own (`job`): the
/// job's terms first, then the tenant's whose words the job does not give
/// again (in any case): where both have a term, the job's way wins.
pub fn merge(tenant: &[Term], job: &[Term]) -> Vec<Term> {
    let given: Vec<String> = job.iter().map(|t| t.term.to_lowercase()).collect();
    job.iter()
        .cloned()
        .chain(
            tenant
                .iter()
                .filter(|t| !given.contains(&t.term.to_lowercase()))
                .cloned(),
        )
        .collect()
}

/// A term a translated line lost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Miss {
    pub line: u32,
    pub term: String,
}

/// Lines with the glossary's terms replaced by placeholders, and which
/// terms each line holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Protected {
    pub lines: Vec<Segment>,
    /// Per line, the indexes (into the terms) of the terms it holds.
    held: Vec<Vec<usize>>,
}

fn placeholder(index: usize) -> String {
    format!("Xq{}z", index + 1)
}

/// `lines` with every whole occurrence of a term (the longest first, in any
/// case) replaced by its placeholder.
pub fn protect(lines: &[Segment], terms: &[Term]) -> Protected {
    let mut order: Vec<usize> = (0..terms.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(terms[i].term.chars().count()));
    let mut held = Vec::with_capacity(lines.len());
    let lines = lines
        .iter()
        .map(|line| {
            let mut text = line.text.clone();
            let mut here = Vec::new();
            for &i in &order {
                let replaced = replace_whole(&text, &terms[i].term, &placeholder(i));
                if replaced != text {
                    text = replaced;
                    here.push(i);
                }
            }
            held.push(here);
            Segment {
                text,
                ..line.clone()
            }
        })
        .collect();
    Protected { lines, held }
}

/// The translated lines with each placeholder made the term's rendering in
/// `language`, and the terms a line lost.
pub fn restore(
    protected: &Protected,
    translated: &[Segment],
    terms: &[Term],
    language: &str,
) -> (Vec<Segment>, Vec<Miss>) {
    let mut misses = Vec::new();
    let lines = translated
        .iter()
        .zip(&protected.held)
        .map(|(line, held)| {
            let mut text = line.text.clone();
            for &i in held {
                let replaced = replace_whole(&text, &placeholder(i), terms[i].rendering(language));
                if replaced == text {
                    misses.push(Miss {
                        line: line.id,
                        term: terms[i].term.clone(),
                    });
                }
                text = replaced;
            }
            Segment {
                text,
                ..line.clone()
            }
        })
        .collect();
    (lines, misses)
}

/// `text` with every occurrence of `find` (in any case) that stands as
/// whole words replaced by `with`.
fn replace_whole(text: &str, find: &str, with: &str) -> String {
    if find.is_empty() {
        return text.to_owned();
    }
    // Matched in lower case, letter by letter: a letter whose lower case
    // has another length in bytes is matched as written, so positions in
    // the lowered text are positions in `text`.
    let fold = |t: &str| -> String {
        t.chars()
            .map(|c| {
                let mut lower = c.to_lowercase();
                match (lower.next(), lower.next()) {
                    (Some(l), None) if l.len_utf8() == c.len_utf8() => l,
                    _ => c,
                }
            })
            .collect()
    };
    let (haystack, needle) = (fold(text), fold(find));
    let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() && !unspaced(c));
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(at) = haystack[from..].find(&needle).map(|i| i + from) {
        let end = at + needle.len();
        let before = text[..at].chars().next_back();
        let after = text[end..].chars().next();
        // Glued to a letter on a side where the term has an edge of a
        // spaced script: part of a longer word.
        let glued = |neighbour: Option<char>, edge: Option<char>| {
            word(neighbour) && edge.is_some_and(|c| !unspaced(c))
        };
        let whole = !(glued(before, find.chars().next()) || glued(after, find.chars().next_back()));
        out.push_str(&text[from..at]);
        out.push_str(if whole { with } else { &text[at..end] });
        from = end;
    }
    out.push_str(&text[from..]);
    out
}

/// A character of a script written without spaces, where words have no
/// edges to check.
fn unspaced(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jobs_own_terms_win_over_its_tenants() {
        let term = |word: &str, es: Option<&str>| Term {
            term: word.into(),
            translations: es
                .map(|t| [("es".to_owned(), t.to_owned())].into())
                .unwrap_or_default(),
            pronunciations: BTreeMap::new(),
        };
        let tenant = [term("Voxline", None), term("show", Some("espectáculo"))];
        let job = [term("Show", Some("programa"))];
        let merged = merge(&tenant, &job);
        assert_eq!(
            merged,
            [term("Show", Some("programa")), term("Voxline", None)]
        );
        assert_eq!(merge(&tenant, &[]), tenant);
    }

    fn term(t: &str, translations: &[(&str, &str)]) -> Term {
        Term {
            term: t.into(),
            translations: translations
                .iter()
                .map(|(l, t)| (l.to_string(), t.to_string()))
                .collect(),
            pronunciations: BTreeMap::new(),
        }
    }

    #[test]
    fn a_voice_reads_the_pronunciation_where_the_job_gives_one() {
        let mut voxline = term("Voxline", &[]);
        voxline
            .pronunciations
            .insert("es".into(), "bócslain".into());
        let mut dubbing = term("dubbing", &[("es", "doblaje")]);
        dubbing
            .pronunciations
            .insert("es".into(), "do-bla-je".into());
        let terms = [voxline, dubbing];
        assert_eq!(
            pronounce("Bienvenidos a Voxline, el doblaje fácil.", &terms, "es"),
            "Bienvenidos a bócslain, el do-bla-je fácil."
        );
        assert_eq!(pronounce("Voxline", &terms, "fr"), "Voxline");
    }

    #[test]
    fn terms_are_held_through_translation_and_rendered_per_language() {
        let terms = [
            term("Apple", &[]),
            term("dubbing", &[("es", "doblaje")]),
            term("Apple Music", &[]),
        ];
        let lines = [
            Segment::new(1, 0.0, 1.0, "Apple Music and apple pie, not Applesauce."),
            Segment::new(2, 1.0, 2.0, "Dubbing is fun."),
            Segment::new(3, 2.0, 3.0, "Nothing here."),
        ];
        let p = protect(&lines, &terms);
        assert_eq!(p.lines[0].text, "Xq3z and Xq1z pie, not Applesauce.");
        assert_eq!(p.lines[1].text, "Xq2z is fun.");
        // As a translator might give them back: one placeholder lost.
        let translated = [
            Segment::new(1, 0.0, 1.0, "xq3z y tarta de Xq1z, no compota."),
            Segment::new(2, 1.0, 2.0, "Es divertido."),
            Segment::new(3, 2.0, 3.0, "Nada aquí."),
        ];
        let (out, misses) = restore(&p, &translated, &terms, "es");
        assert_eq!(out[0].text, "Apple Music y tarta de Apple, no compota.");
        assert_eq!(
            misses,
            [Miss {
                line: 2,
                term: "dubbing".into()
            }]
        );
        assert_eq!(out[2].text, "Nada aquí.");
    }

    #[test]
    fn letters_whose_lower_case_changes_length_do_not_break_matching() {
        // 'İ' lowers to two characters; 'K' (the Kelvin sign) to one of
        // another length: neither may shift what follows.
        let terms = [term("Voxline", &[])];
        let p = protect(&[Segment::new(1, 0.0, 1.0, "İstanbul K VOXLINE.")], &terms);
        assert_eq!(p.lines[0].text, "İstanbul K Xq1z.");
    }

    #[test]
    fn placeholders_do_not_match_inside_longer_ones() {
        let terms: Vec<Term> = (0..12).map(|i| term(&format!("t{i}"), &[])).collect();
        let p = protect(&[Segment::new(1, 0.0, 1.0, "t0 t11")], &terms);
        assert_eq!(p.lines[0].text, "Xq1z Xq12z");
        let (out, misses) = restore(&p, &p.lines, &terms, "fr");
        assert_eq!((out[0].text.as_str(), misses.len()), ("t0 t11", 0));
    }
}
