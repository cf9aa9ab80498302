//! SRT and WebVTT from timed lines.

use voxline_core::Segment;

use crate::MediaError;

/// Longest subtitle line before it wraps; two lines at most per cue.
const WRAP: usize = 42;

pub fn to_srt(segments: &[Segment]) -> String {
    let mut out = String::new();
    for (n, s) in segments
        .iter()
        .filter(|s| !s.text.trim().is_empty())
        .enumerate()
    {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            n + 1,
            stamp(s.start, ','),
            stamp(s.end, ','),
            wrap(&s.text)
        ));
    }
    out
}

pub fn to_vtt(segments: &[Segment]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for s in segments.iter().filter(|s| !s.text.trim().is_empty()) {
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(s.start, '.'),
            stamp(s.end, '.'),
            wrap(&s.text)
        ));
    }
    out
}

/// Reads SRT back into lines (ids from the cue numbers).
pub fn parse_srt(text: &str) -> Result<Vec<Segment>, MediaError> {
    let bad = |detail: String| MediaError::BadOutput {
        program: "srt parser".into(),
        detail,
    };
    let mut out = Vec::new();
    for block in text
        .replace("\r\n", "\n")
        .split("\n\n")
        .filter(|b| !b.trim().is_empty())
    {
        let mut lines = block.trim().lines();
        let id = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .ok_or_else(|| bad(format!("no cue number in {block:?}")))?;
        let timing = lines
            .next()
            .ok_or_else(|| bad(format!("no timing in {block:?}")))?;
        let (start, end) = timing
            .split_once(" --> ")
            .ok_or_else(|| bad(format!("bad timing {timing:?}")))?;
        out.push(Segment {
            id,
            start: parse_stamp(start).ok_or_else(|| bad(format!("bad time {start:?}")))?,
            end: parse_stamp(end).ok_or_else(|| bad(format!("bad time {end:?}")))?,
            text: lines.collect::<Vec<_>>().join(" "),
        });
    }
    Ok(out)
}

fn stamp(seconds: f64, separator: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}{separator}{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn parse_stamp(text: &str) -> Option<f64> {
    let text = text.trim().replace(',', ".");
    let mut parts = text.split(':');
    let (h, m, s) = (
        parts.next()?.parse::<f64>().ok()?,
        parts.next()?.parse::<f64>().ok()?,
        parts.next()?.parse::<f64>().ok()?,
    );
    Some(h * 3600.0 + m * 60.0 + s)
}

/// Wraps a line at a word boundary near the middle when it is too long.
fn wrap(text: &str) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= WRAP {
        return text;
    }
    let middle = text.len() / 2;
    let split = text
        .match_indices(' ')
        .map(|(i, _)| i)
        .min_by_key(|i| i.abs_diff(middle))
        .unwrap_or(middle);
    format!("{}\n{}", &text[..split], &text[split + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(id: u32, start: f64, end: f64, text: &str) -> Segment {
        Segment {
            id,
            start,
            end,
            text: text.into(),
        }
    }

    #[test]
    fn srt_and_vtt_format_and_round_trip() {
        let lines = vec![
            seg(1, 1.0, 2.5, "Hola mundo."),
            seg(
                2,
                3661.25,
                3662.0,
                "Una línea bastante larga que hay que partir en dos.",
            ),
            seg(3, 5.0, 6.0, " "),
        ];
        let srt = to_srt(&lines);
        assert!(srt.starts_with("1\n00:00:01,000 --> 00:00:02,500\nHola mundo.\n\n2\n01:01:01,250 --> 01:01:02,000\n"), "{srt}");
        assert_eq!(srt.matches("-->").count(), 2, "empty lines are skipped");
        let vtt = to_vtt(&lines);
        assert!(
            vtt.starts_with("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHola mundo.\n"),
            "{vtt}"
        );
        let back = parse_srt(&srt).unwrap();
        assert_eq!(back[1].text, lines[1].text);
        assert!((back[1].start - 3661.25).abs() < 1e-9);
        assert!(srt.lines().all(|l| l.chars().count() <= WRAP + 10));
    }
}
