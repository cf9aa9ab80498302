//! Who says each line. The transcription stage tells the voices of the
//! source apart and labels every line `S1`, `S2`, … in the order the
//! speakers are first heard; the label follows the line through
//! translation, subtitles and the dub, where each speaker gets a voice of
//! their own. A person may move a line to another speaker (an edit) and
//! map speakers to voices (`options.voices`).

use std::collections::BTreeMap;

/// The most speakers a job may say it has (`options.speakers`).
pub const MAX_SPEAKERS: usize = 16;
/// The longest speaker label.
pub const MAX_LABEL_CHARS: usize = 32;

/// The first speaker's label; lines no speaker was found for count as theirs
/// where a voice per speaker is chosen.
pub const FIRST: &str = "S1";

/// The label of the `n`-th speaker heard (from 0): `S1`, `S2`, …
pub fn label(n: usize) -> String {
    format!("S{}", n + 1)
}

/// A speaker's place among the voices: `S<k>` is the `k-1`-th, so `S1` is
/// the first; a label of another form (a name a person gave) gets a place
/// of its own from its letters, the same every time, never the first.
pub fn number(label: &str) -> usize {
    if let Some(k) = label
        .strip_prefix('S')
        .and_then(|k| k.parse::<usize>().ok())
        && k >= 1
    {
        return k - 1;
    }
    // FNV-1a: the same name lands in the same place in every run.
    let hash = label.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    1 + (hash % 1000) as usize
}

/// Checks a speaker label a person wrote: 1 to 32 ASCII letters, digits, `_`
/// or `-` (`S1` as diarization names them, or a name such as `Anna`).
pub fn check_label(label: &str) -> Result<(), String> {
    let ok = !label.is_empty()
        && label.chars().count() <= MAX_LABEL_CHARS
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "speaker {label:?} must be 1 to {MAX_LABEL_CHARS} ASCII letters, digits, `_` or `-` (such as S1)"
        ))
    }
}

/// The speakers of `lines` in the order they are first heard.
pub fn in_order<'a>(lines: impl IntoIterator<Item = Option<&'a str>>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for s in lines.into_iter().flatten() {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    seen
}

/// A stretch of time and who speaks in it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub start: f64,
    pub end: f64,
    pub speaker: String,
}

/// The share of `reference`'s speech time that `hypothesis` gives to the
/// wrong speaker, under the mapping of hypothesis speakers onto reference
/// speakers that agrees most (the confusion part of the diarization error
/// rate; speech that `hypothesis` misses counts as wrong too). Time is
/// judged in steps of 10 ms.
pub fn speaker_error(reference: &[Turn], hypothesis: &[Turn]) -> f64 {
    const STEP: f64 = 0.01;
    let who = |turns: &[Turn], t: f64| {
        turns
            .iter()
            .find(|x| x.start <= t && t < x.end)
            .map(|x| x.speaker.clone())
    };
    let end = reference.iter().map(|t| t.end).fold(0.0, f64::max);
    // (reference speaker, hypothesis speaker or none) -> steps together.
    let mut together: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
    let mut speech = 0usize;
    let mut t = STEP / 2.0;
    while t < end {
        if let Some(r) = who(reference, t) {
            speech += 1;
            *together.entry((r, who(hypothesis, t))).or_default() += 1;
        }
        t += STEP;
    }
    if speech == 0 {
        return 0.0;
    }
    let refs: Vec<String> = in_order(together.keys().map(|(r, _)| Some(r.as_str())))
        .into_iter()
        .map(str::to_owned)
        .collect();
    let hyps: Vec<String> = in_order(together.keys().map(|(_, h)| h.as_deref()))
        .into_iter()
        .map(str::to_owned)
        .collect();
    let agree = |r: &str, h: &str| {
        together
            .get(&(r.to_owned(), Some(h.to_owned())))
            .copied()
            .unwrap_or(0)
    };
    let best = best_mapping(&refs, &hyps, &agree);
    1.0 - best as f64 / speech as f64
}

/// The most steps any one-to-one mapping of `hyps` onto `refs` agrees on
/// (every mapping is tried: there are a handful of speakers).
fn best_mapping(refs: &[String], hyps: &[String], agree: &dyn Fn(&str, &str) -> usize) -> usize {
    let Some((first, rest)) = hyps.split_first() else {
        return 0;
    };
    // `first` maps to no reference speaker, or to one no other takes.
    let mut best = best_mapping(refs, rest, agree);
    for (i, r) in refs.iter().enumerate() {
        let mut others = refs.to_vec();
        others.remove(i);
        best = best.max(agree(r, first) + best_mapping(&others, rest, agree));
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(start: f64, end: f64, speaker: &str) -> Turn {
        Turn {
            start,
            end,
            speaker: speaker.into(),
        }
    }

    #[test]
    fn labels_are_checked() {
        assert_eq!(label(0), "S1");
        assert_eq!(number("S1"), 0);
        assert_eq!(number("S3"), 2);
        assert_eq!(number("Anna"), number("Anna"));
        assert_ne!(number("S0"), 0);
        assert_ne!(number("Anna"), 0);
        assert!(check_label("S12").is_ok());
        assert!(check_label("Anna-Lena").is_ok());
        assert!(check_label("").is_err());
        assert!(check_label("S 1").is_err());
        assert!(check_label(&"x".repeat(33)).is_err());
    }

    #[test]
    fn speakers_come_in_the_order_first_heard() {
        let lines = [Some("S2"), None, Some("S1"), Some("S2")];
        assert_eq!(in_order(lines), ["S2", "S1"]);
    }

    #[test]
    fn speaker_error_maps_names_and_counts_wrong_time() {
        let reference = [turn(0.0, 4.0, "a"), turn(5.0, 9.0, "b")];
        // Other names, same turns: no error.
        let same = [turn(0.0, 4.0, "S2"), turn(5.0, 9.0, "S1")];
        assert!(speaker_error(&reference, &same) < 1e-9);
        // One speaker for everything: half the speech is wrong.
        let one = [turn(0.0, 9.0, "S1")];
        assert!((speaker_error(&reference, &one) - 0.5).abs() < 0.01);
        // The second turn's first second goes to the first speaker, and a
        // second of the first turn is missed.
        let late = [turn(1.0, 6.0, "S1"), turn(6.0, 9.0, "S2")];
        assert!((speaker_error(&reference, &late) - 0.25).abs() < 0.01);
    }
}
