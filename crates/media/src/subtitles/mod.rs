//! Subtitles: timed lines shaped into cues to professional norms
//! ([`cues`]), written as SRT and WebVTT, and SRT read back.

mod cues;

pub use cues::{
    Breaches, Cue, MAX_CHARS_PER_SECOND, MAX_LINE_CHARS, MAX_LINES, MAX_SECONDS, MIN_SECONDS,
    breaches, cues,
};

use voxline_core::Segment;

use crate::MediaError;

/// `lines` with each change of speaker shown: a line said by another
/// speaker than the line before opens with its speaker's label (`S2: …`),
/// as `options.speaker_labels` asks. Lines without a speaker are as they are.
pub fn speaker_prefixed(lines: &[Segment]) -> Vec<Segment> {
    let mut before: Option<String> = None;
    lines
        .iter()
        .map(|line| {
            let mut line = line.clone();
            if let Some(speaker) = &line.speaker
                && !line.text.trim().is_empty()
            {
                if before.as_ref() != Some(speaker) {
                    line.text = format!("{speaker}: {}", line.text.trim_start());
                }
                before = Some(speaker.clone());
            }
            line
        })
        .collect()
}

pub fn srt(cues: &[Cue]) -> String {
    let mut out = String::new();
    for (n, cue) in cues.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            n + 1,
            stamp(cue.start, ','),
            stamp(cue.end, ','),
            cue.lines.join("\n")
        ));
    }
    out
}

pub fn vtt(cues: &[Cue]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for cue in cues {
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(cue.start, '.'),
            stamp(cue.end, '.'),
            cue.lines.join("\n")
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
            speaker: None,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_of_speaker_is_labelled() {
        let lines = [
            Segment::new(1, 0.0, 1.0, "Hello.").said_by("S1"),
            Segment::new(2, 1.0, 2.0, "How are you?").said_by("S1"),
            Segment::new(3, 2.0, 3.0, "Fine.").said_by("S2"),
            Segment::new(4, 3.0, 4.0, "Good."),
            Segment::new(5, 4.0, 5.0, "Thanks.").said_by("S2"),
            Segment::new(6, 5.0, 6.0, "Bye.").said_by("S1"),
        ];
        let text: Vec<String> = speaker_prefixed(&lines)
            .into_iter()
            .map(|l| l.text)
            .collect();
        assert_eq!(
            text,
            [
                "S1: Hello.",
                "How are you?",
                "S2: Fine.",
                "Good.",
                "Thanks.",
                "S1: Bye."
            ]
        );
    }

    #[test]
    fn srt_and_vtt_format_and_round_trip() {
        let lines = vec![
            Segment::new(1, 1.0, 2.5, "Hola mundo."),
            Segment::new(
                2,
                3661.25,
                3662.0,
                "Una línea bastante larga que hay que partir en dos.",
            ),
            Segment::new(3, 5.0, 6.0, " "),
        ];
        let cues = cues(&lines, None);
        let srt = srt(&cues);
        assert!(srt.starts_with("1\n00:00:01,000 --> 00:00:02,500\nHola mundo.\n\n2\n01:01:01,250 --> 01:01:02,000\n"), "{srt}");
        assert_eq!(srt.matches("-->").count(), 2, "empty lines are skipped");
        let vtt = vtt(&cues);
        assert!(
            vtt.starts_with("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\nHola mundo.\n"),
            "{vtt}"
        );
        let back = parse_srt(&srt).unwrap();
        assert_eq!(back[1].text, lines[1].text);
        assert!((back[1].start - 3661.25).abs() < 1e-9);
        assert!(srt.lines().all(|l| l.chars().count() <= MAX_LINE_CHARS));
    }
}
