//! A user's edits of a task's dubbed lines: new text for a line, and
//! optionally new timings. Kept apart from the machine translation and laid
//! over it wherever the lines are used, so an edit survives any re-run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Segment;

/// The longest text a line may hold.
pub const MAX_LINE_CHARS: usize = 1_000;

/// What the user changed in one line; `None` keeps the value it had.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SegmentEdit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    /// Who says the line (a speaker label: `crate::speakers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<String>,
}

/// Line id -> its edit.
pub type Edits = BTreeMap<u32, SegmentEdit>;

/// `later` laid over `earlier`, field by field: a line's new text keeps
/// its earlier new timings, and the other way round.
pub fn merge(earlier: &Edits, later: &Edits) -> Edits {
    let mut all = earlier.clone();
    for (id, e) in later {
        let entry = all.entry(*id).or_default();
        if e.text.is_some() {
            entry.text = e.text.clone();
        }
        if e.start.is_some() {
            entry.start = e.start;
        }
        if e.end.is_some() {
            entry.end = e.end;
        }
        if e.speaker.is_some() {
            entry.speaker = e.speaker.clone();
        }
    }
    all
}

/// `segments` with `edits` laid over them.
pub fn apply(segments: &[Segment], edits: &Edits) -> Vec<Segment> {
    segments
        .iter()
        .map(|s| match edits.get(&s.id) {
            None => s.clone(),
            Some(e) => Segment {
                id: s.id,
                start: e.start.unwrap_or(s.start),
                end: e.end.unwrap_or(s.end),
                text: e.text.clone().unwrap_or_else(|| s.text.clone()),
                speaker: e.speaker.clone().or_else(|| s.speaker.clone()),
            },
        })
        .collect()
}

/// Checks `edits` against the lines they change (`segments`, as they are
/// now) on a source `duration` seconds long; the error says what to fix.
pub fn check(segments: &[Segment], edits: &Edits, duration: f64) -> Result<(), String> {
    for (id, e) in edits {
        if !segments.iter().any(|s| s.id == *id) {
            let ids: Vec<String> = segments.iter().map(|s| s.id.to_string()).collect();
            return Err(format!(
                "segment {id} does not exist (this task's segments: {})",
                if ids.is_empty() {
                    "none".into()
                } else {
                    ids.join(", ")
                }
            ));
        }
        if let Some(text) = &e.text {
            if text.trim().is_empty() {
                return Err(format!(
                    "segment {id}: text is empty; every line is spoken, so give it words"
                ));
            }
            if text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t')
            {
                return Err(format!(
                    "segment {id}: text holds control characters; send plain text"
                ));
            }
            if text.chars().count() > MAX_LINE_CHARS {
                return Err(format!(
                    "segment {id}: text is longer than {MAX_LINE_CHARS} characters"
                ));
            }
        }
        if let Some(speaker) = &e.speaker {
            crate::speakers::check_label(speaker).map_err(|m| format!("segment {id}: {m}"))?;
        }
        for (what, value) in [("start", e.start), ("end", e.end)] {
            if let Some(v) = value
                && !(v.is_finite() && (0.0..=duration).contains(&v))
            {
                return Err(format!(
                    "segment {id}: {what} {v} is outside the source (0 to {duration:.2} s)"
                ));
            }
        }
    }
    // Only what the edits touch is judged: a machine line of no length
    // elsewhere must not block an edit.
    let mut lines = apply(segments, edits);
    lines.sort_by(|a, b| a.start.total_cmp(&b.start));
    for s in lines.iter().filter(|s| edits.contains_key(&s.id)) {
        if s.end <= s.start {
            return Err(format!(
                "segment {}: end ({:.2} s) must come after start ({:.2} s)",
                s.id, s.end, s.start
            ));
        }
    }
    let touched = |a: &Segment, b: &Segment| edits.contains_key(&a.id) || edits.contains_key(&b.id);
    if let Some(w) = lines
        .windows(2)
        .find(|w| touched(&w[0], &w[1]) && w[1].start < w[0].end - 1e-6)
    {
        return Err(format!(
            "segments {} and {} overlap ({:.2}–{:.2} s and {:.2}–{:.2} s)",
            w[0].id, w[1].id, w[0].start, w[0].end, w[1].start, w[1].end
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_lay_over_the_lines_and_bad_ones_are_named() {
        let lines = [
            Segment::new(1, 0.0, 1.0, "Hola."),
            Segment::new(2, 1.5, 3.0, "Adiós."),
        ];
        let edit = |text: Option<&str>, start, end| SegmentEdit {
            text: text.map(Into::into),
            start,
            end,
            speaker: None,
        };
        let edits: Edits = [(2, edit(Some("Hasta luego."), None, Some(3.5)))].into();
        assert!(check(&lines, &edits, 4.0).is_ok());
        let applied = apply(&lines, &edits);
        assert_eq!(applied[1], Segment::new(2, 1.5, 3.5, "Hasta luego."));
        assert_eq!(applied[0], lines[0]);

        let refused = |edits: Edits| check(&lines, &edits, 4.0).unwrap_err();
        assert!(refused([(7, edit(Some("x"), None, None))].into()).contains("1, 2"));
        assert!(refused([(1, edit(Some("  "), None, None))].into()).contains("empty"));
        assert!(refused([(1, edit(None, None, Some(9.0)))].into()).contains("outside"));
        assert!(refused([(1, edit(None, Some(0.9), Some(0.5)))].into()).contains("after start"));
        assert!(refused([(1, edit(None, None, Some(2.0)))].into()).contains("overlap"));
        assert!(refused([(1, edit(Some("a\u{0}b"), None, None))].into()).contains("control"));

        // Field by field: new text keeps earlier new timings.
        let earlier: Edits = [(2, edit(None, None, Some(3.5)))].into();
        let later: Edits = [(2, edit(Some("Hasta luego."), None, None))].into();
        assert_eq!(
            merge(&earlier, &later)[&2],
            edit(Some("Hasta luego."), None, Some(3.5))
        );
    }
}
