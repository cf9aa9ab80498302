//! A script: a job's lines given by the client instead of heard. For a dub
//! or a subtitle job it is the source's transcript (transcription is then
//! skipped); for a voiceover it is what is spoken over the video. It is read
//! from SubRip (SRT), WebVTT, JSON (a Voxline transcript, or a list of
//! lines) or timed plain text, and checked against the media it goes with
//! before the job is made, so a mistake is a 422 that names the line.
//!
//! Timed plain text is one line per spoken line, each opening with when it
//! is said, optionally until when, in `[H:]MM:SS[.fff]` form, bracketed or
//! not:
//!
//! ```text
//! 0:00 Welcome to the workshop.
//! 0:04.5-0:09 Today we build a bench.
//! [0:12] First, the legs.
//! ```
//!
//! A line without a time carries on the line before it; a line without an
//! end lasts until the next one starts (the last, until the media ends).

use serde::{Deserialize, Serialize};

use crate::Segment;
use crate::speakers::{MAX_LABEL_CHARS, MAX_SPEAKERS};

text_enum!(
    /// How a script is written.
    ScriptFormat, "script format" {
        Srt => "srt",
        Vtt => "vtt",
        Json => "json",
        Text => "text",
    }
);

/// The most lines a script may have.
pub const MAX_LINES: usize = 10_000;
/// The most characters one line may have.
pub const MAX_LINE_CHARS: usize = 1_000;
/// Lines closer than this to the one before them are said over it: the line
/// before must end first.
const LEAST_LINE_SECONDS: f64 = 0.05;

/// A script as read: its lines in time order (ids from 1), each within the
/// media, none over another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Script {
    pub format: ScriptFormat,
    pub segments: Vec<Segment>,
}

impl Script {
    /// The speakers the script names, in the order they first speak.
    pub fn speakers(&self) -> Vec<String> {
        crate::speakers::in_order(self.segments.iter().map(|l| l.speaker.as_deref()))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }
}

/// What is wrong with a script, and where (`line 12`, `segment 3`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{message}", at.as_ref().map(|a| format!("{a}: ")).unwrap_or_default())]
pub struct ScriptError {
    pub at: Option<String>,
    pub message: String,
}

fn error(at: Option<String>, message: impl Into<String>) -> ScriptError {
    ScriptError {
        at,
        message: message.into(),
    }
}

fn at_line(n: usize) -> Option<String> {
    Some(format!("line {n}"))
}

/// One line as written, before it is checked: where it was, when it is
/// said (its end, when the script gives one) and what.
#[derive(Debug)]
struct Written {
    at: Option<String>,
    start: f64,
    end: Option<f64>,
    text: String,
    speaker: Option<String>,
}

/// Reads `text` as a script in `format` (told from its content when not
/// given) for media of `duration` seconds.
pub fn read(
    text: &str,
    format: Option<ScriptFormat>,
    duration: f64,
) -> Result<Script, ScriptError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let format = format.unwrap_or_else(|| sniff(&text));
    let written = match format {
        ScriptFormat::Srt => cues(&text, false)?,
        ScriptFormat::Vtt => cues(&text, true)?,
        ScriptFormat::Json => json(&text)?,
        ScriptFormat::Text => timed_text(&text)?,
    };
    Ok(Script {
        format,
        segments: settle(written, duration)?,
    })
}

/// The format `text` is most likely in.
pub fn sniff(text: &str) -> ScriptFormat {
    let start = text.trim_start();
    if start.starts_with("WEBVTT") {
        ScriptFormat::Vtt
    } else if start.starts_with('{') || (start.starts_with('[') && !starts_with_time(start)) {
        ScriptFormat::Json
    } else if text
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(opens_a_cue)
    {
        ScriptFormat::Srt
    } else {
        ScriptFormat::Text
    }
}

/// An SRT cue's first line: its number, or its timing alone (timed text
/// has words after its times).
fn opens_a_cue(line: &str) -> bool {
    let line = line.trim();
    line.chars().all(|c| c.is_ascii_digit())
        || line
            .split_once("-->")
            .is_some_and(|(_, end)| end.split_whitespace().count() == 1)
}

fn starts_with_time(s: &str) -> bool {
    s.trim_start_matches('[')
        .split(|c: char| c == ']' || c.is_whitespace())
        .next()
        .and_then(time)
        .is_some()
}

/// Seconds from `[H:]MM:SS[.fff]` (a comma for the point, as SRT writes it,
/// is fine too).
fn time(s: &str) -> Option<f64> {
    let parts: Vec<&str> = s.trim().split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let (whole, last) = parts.split_at(parts.len() - 1);
    let seconds = last[0].replace(',', ".");
    let digits = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit());
    let (int, frac) = seconds.split_once('.').unwrap_or((seconds.as_str(), "0"));
    if !digits(int) || !digits(frac) || !whole.iter().all(|p| digits(p)) {
        return None;
    }
    let seconds: f64 = seconds.parse().ok()?;
    if seconds >= 60.0 {
        return None;
    }
    let mut total = 0.0;
    for (i, p) in whole.iter().enumerate() {
        let v: f64 = p.parse().ok()?;
        // Minutes under an hour are below 60; the first part may be any.
        if i > 0 && v >= 60.0 {
            return None;
        }
        total = total * 60.0 + v;
    }
    Some(total * 60.0 + seconds)
}

/// A cue's timing line: `start --> end`, with WebVTT's cue settings after.
fn timing(line: &str) -> Option<(f64, f64)> {
    let (start, rest) = line.split_once("-->")?;
    let end = rest.split_whitespace().next()?;
    Some((time(start)?, time(end)?))
}

/// The lines of SRT or (`vtt`) WebVTT: blocks parted by blank lines, each
/// a cue (an optional identifier, its timing, its text); WebVTT's header,
/// notes, styles and regions are skipped.
fn cues(text: &str, vtt: bool) -> Result<Vec<Written>, ScriptError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    if vtt {
        if !lines.first().is_some_and(|l| l.starts_with("WEBVTT")) {
            return Err(error(at_line(1), "a WebVTT file opens with `WEBVTT`"));
        }
        // The header block.
        while i < lines.len() && !lines[i].trim().is_empty() {
            i += 1;
        }
    }
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let first = i;
        let mut block = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() {
            block.push(lines[i]);
            i += 1;
        }
        if vtt
            && ["NOTE", "STYLE", "REGION"]
                .iter()
                .any(|w| block[0] == *w || block[0].starts_with(&format!("{w} ")))
        {
            continue;
        }
        let Some(t) = block
            .iter()
            .position(|l| l.contains("-->"))
            .filter(|&t| t <= 1)
        else {
            return Err(error(
                at_line(first + 1),
                format!(
                    "a cue needs its timing (`00:00:01{0}000 --> 00:00:04{0}000`) on its first or second line",
                    if vtt { '.' } else { ',' }
                ),
            ));
        };
        let (start, end) = timing(block[t]).ok_or_else(|| {
            error(
                at_line(first + t + 1),
                format!(
                    "`{}` is not a timing of the form `00:00:01{1}000 --> 00:00:04{1}000`",
                    block[t].trim(),
                    if vtt { '.' } else { ',' }
                ),
            )
        })?;
        let mut speaker = None;
        let words: Vec<String> = block[t + 1..]
            .iter()
            .map(|l| {
                let (who, said) = voice_tag(l);
                speaker = speaker.take().or(who);
                said
            })
            .collect();
        out.push(Written {
            at: at_line(first + t + 1),
            start,
            end: Some(end),
            text: words.join(" "),
            speaker,
        });
    }
    Ok(out)
}

/// WebVTT's voice span (`<v Alice>Hello</v>`, `<v.loud Bob>…`): who speaks,
/// and the line without it.
fn voice_tag(line: &str) -> (Option<String>, String) {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed.strip_prefix("<v")
        && rest.starts_with([' ', '.'])
        && let Some((tag, said)) = rest.split_once('>')
    {
        let name = tag.split_once(' ').map_or("", |(_, n)| n).trim();
        let name = (!name.is_empty()).then(|| name.to_owned());
        return (name, said.to_owned());
    }
    (None, line.to_owned())
}

/// A line of a JSON script.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonLine {
    start: f64,
    #[serde(default)]
    end: Option<f64>,
    text: String,
    #[serde(default)]
    speaker: Option<String>,
    // A Voxline transcript's own fields, read back as they were written.
    #[serde(default, rename = "id")]
    _id: Option<serde_json::Value>,
}

/// A JSON script: a Voxline transcript (`{"segments": [...]}`, as a job's
/// `transcript.json` is) or the list of lines alone.
fn json(text: &str) -> Result<Vec<Written>, ScriptError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| error(at_line(e.line()), format!("not JSON: {e}")))?;
    let list = match value {
        serde_json::Value::Array(list) => list,
        serde_json::Value::Object(mut doc) => match doc.remove("segments") {
            Some(serde_json::Value::Array(list)) => list,
            _ => {
                return Err(error(
                    None,
                    "a JSON script is a list of lines, or an object whose `segments` is one",
                ));
            }
        },
        _ => {
            return Err(error(
                None,
                "a JSON script is a list of lines, or an object whose `segments` is one",
            ));
        }
    };
    list.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let at = Some(format!("segment {}", i + 1));
            let line: JsonLine = serde_json::from_value(v).map_err(|e| {
                error(
                    at.clone(),
                    format!("{e}; a line is {{\"start\": 1.5, \"end\": 4.0, \"text\": \"…\", \"speaker\": \"S1\"}} (end and speaker may be left out)"),
                )
            })?;
            Ok(Written {
                at,
                start: line.start,
                end: line.end,
                text: line.text,
                speaker: line.speaker,
            })
        })
        .collect()
}

/// Timed plain text (see the module's documentation).
fn timed_text(text: &str) -> Result<Vec<Written>, ScriptError> {
    let mut out: Vec<Written> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match timed_line(line) {
            Some((start, end, said)) => out.push(Written {
                at: at_line(i + 1),
                start,
                end,
                text: said.to_owned(),
                speaker: None,
            }),
            None => match out.last_mut() {
                Some(before) => {
                    before.text.push(' ');
                    before.text.push_str(line);
                }
                None => {
                    return Err(error(
                        at_line(i + 1),
                        "open each line with when it is said, e.g. `0:05 Welcome` or `0:05-0:09 Welcome`",
                    ));
                }
            },
        }
    }
    Ok(out)
}

/// `[start[-end]] text` or `start[-end] text`: the times and the text.
fn timed_line(line: &str) -> Option<(f64, Option<f64>, &str)> {
    let bracketed = line.starts_with('[');
    let (stamp, said) = if bracketed {
        line[1..].split_once(']')?
    } else {
        line.split_once(char::is_whitespace).unwrap_or((line, ""))
    };
    let stamp = stamp.trim();
    let mut said = said.trim();
    let (start, end) = match stamp
        .split_once("-->")
        .or_else(|| stamp.split_once(['-', '–']))
    {
        Some((a, b)) if !b.trim().is_empty() => (time(a)?, Some(time(b)?)),
        Some((a, _)) => (time(a)?, None),
        None => (time(stamp)?, None),
    };
    // `0:05 - 0:09 text` and `0:05 --> 0:09 text`, spaced out.
    let mut end = end;
    if end.is_none() && !bracketed {
        let rest = said
            .trim_start_matches("-->")
            .trim_start_matches(['-', '–']);
        if rest.len() < said.len()
            && let Some((b, after)) = rest
                .trim_start()
                .split_once(char::is_whitespace)
                .or(Some((rest.trim(), "")))
            && let Some(e) = time(b)
        {
            end = Some(e);
            said = after.trim();
        }
    }
    Some((start, end, said))
}

/// The lines as they will be said: their text cleaned of markup, in time
/// order, each ending before the next starts and within the media; what
/// cannot be said so is an error naming the line.
fn settle(mut written: Vec<Written>, duration: f64) -> Result<Vec<Segment>, ScriptError> {
    if written.len() > MAX_LINES {
        return Err(error(
            None,
            format!("{} lines; a script has at most {MAX_LINES}", written.len()),
        ));
    }
    for w in &mut written {
        w.text = clean(&w.text);
        if let Some(s) = &mut w.speaker {
            *s = s.trim().to_owned();
        }
    }
    // A cue that is only markup says nothing.
    written.retain(|w| !w.text.is_empty());
    if written.is_empty() {
        return Err(error(None, "the script has no lines to say"));
    }
    let mut speakers = Vec::new();
    for w in &written {
        let here = |m: String| error(w.at.clone(), m);
        if !w.start.is_finite() || w.start < 0.0 {
            return Err(here(format!(
                "starts at {}, before the media does",
                w.start
            )));
        }
        if w.start >= duration {
            return Err(here(format!(
                "starts at {}, after the media ends at {}",
                clock(w.start),
                clock(duration)
            )));
        }
        if let Some(end) = w.end
            && !(end.is_finite() && end > w.start)
        {
            return Err(here(format!(
                "ends at {}, not after it starts at {}",
                clock(end),
                clock(w.start)
            )));
        }
        if w.text.chars().count() > MAX_LINE_CHARS {
            return Err(here(format!(
                "{} characters; a line has at most {MAX_LINE_CHARS}",
                w.text.chars().count()
            )));
        }
        if let Some(s) = &w.speaker {
            if s.is_empty()
                || s.chars().count() > MAX_LABEL_CHARS
                || s.chars().any(char::is_control)
            {
                return Err(here(format!(
                    "a speaker is named by 1 to {MAX_LABEL_CHARS} printable characters"
                )));
            }
            if !speakers.contains(s) {
                speakers.push(s.clone());
            }
        }
    }
    if speakers.len() > MAX_SPEAKERS {
        return Err(error(
            None,
            format!(
                "{} speakers; a script names at most {MAX_SPEAKERS}",
                speakers.len()
            ),
        ));
    }
    written.sort_by(|a, b| a.start.total_cmp(&b.start));
    let mut out: Vec<Segment> = Vec::with_capacity(written.len());
    for (i, w) in written.iter().enumerate() {
        let next = written.get(i + 1).map(|n| n.start);
        if let Some(next) = next
            && next - w.start < LEAST_LINE_SECONDS
        {
            return Err(error(
                written[i + 1].at.clone(),
                format!(
                    "starts at {}, with the line before it ({}); give each line a time of its own",
                    clock(next),
                    w.at.as_deref().unwrap_or("the line before")
                ),
            ));
        }
        // A line ends by its own end, the next line's start or the media's
        // end, whichever comes first.
        let end = [w.end, next, Some(duration)]
            .into_iter()
            .flatten()
            .fold(f64::INFINITY, f64::min);
        let mut line = Segment::new(i as u32 + 1, w.start, end, w.text.clone());
        line.speaker = w.speaker.clone();
        out.push(line);
    }
    Ok(out)
}

/// The words of a line without markup: HTML-like tags (`<i>`, `<b>`,
/// `<c.x>`, timestamps), ASS overrides (`{\an8}`), control characters and
/// runs of white space.
fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '<' if chars
                .peek()
                .is_some_and(|n| n.is_ascii_alphabetic() || matches!(n, '/' | '0'..='9')) =>
            {
                for n in chars.by_ref() {
                    if n == '>' {
                        break;
                    }
                }
            }
            '{' if chars.peek() == Some(&'\\') => {
                for n in chars.by_ref() {
                    if n == '}' {
                        break;
                    }
                }
            }
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    let out = out
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", " ");
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `m:ss.fff`, as a person reads a time in a script.
fn clock(seconds: f64) -> String {
    if !seconds.is_finite() {
        return seconds.to_string();
    }
    let m = (seconds / 60.0).floor();
    format!("{}:{:06.3}", m as u64, seconds - m * 60.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &Script) -> Vec<(f64, f64, &str, Option<&str>)> {
        s.segments
            .iter()
            .map(|l| (l.start, l.end, l.text.as_str(), l.speaker.as_deref()))
            .collect()
    }

    #[test]
    fn srt_is_read_with_its_markup_gone() {
        let srt = "\u{feff}1\r\n00:00:01,000 --> 00:00:03,500\r\n<i>Hello</i> there,\r\nfriend.\r\n\r\n2\r\n00:00:04,000 --> 00:00:06,000\r\n{\\an8}Bye &amp; thanks!\r\n\r\n";
        let s = read(srt, None, 10.0).unwrap();
        assert_eq!(s.format, ScriptFormat::Srt);
        assert_eq!(
            lines(&s),
            [
                (1.0, 3.5, "Hello there, friend.", None),
                (4.0, 6.0, "Bye & thanks!", None)
            ]
        );
        assert_eq!(s.segments[1].id, 2);
    }

    #[test]
    fn vtt_keeps_its_speakers_and_skips_notes() {
        let vtt = "WEBVTT - made by hand\nKind: captions\n\nNOTE a note\nover two lines\n\nSTYLE\n::cue { color: red }\n\nintro\n00:01.000 --> 00:02.500 align:start position:10%\n<v Alice>Hi, Bob.</v>\n\n00:00:03.000 --> 00:00:05.000\n<v.loud Bob>Hi <c.yellow>Alice</c>!\n";
        let s = read(vtt, None, 6.0).unwrap();
        assert_eq!(s.format, ScriptFormat::Vtt);
        assert_eq!(
            lines(&s),
            [
                (1.0, 2.5, "Hi, Bob.", Some("Alice")),
                (3.0, 5.0, "Hi Alice!", Some("Bob"))
            ]
        );
        assert_eq!(s.speakers(), ["Alice", "Bob"]);
    }

    #[test]
    fn a_voxline_transcript_and_a_bare_list_are_json_scripts() {
        let doc = r#"{"language":"en","engine":"whisper","duration":9,"segments":[
            {"id":1,"start":0.5,"end":2,"text":"One.","speaker":"S1"},
            {"id":2,"start":2.5,"text":"Two."}]}"#;
        let s = read(doc, None, 9.0).unwrap();
        assert_eq!(s.format, ScriptFormat::Json);
        assert_eq!(
            lines(&s),
            [(0.5, 2.0, "One.", Some("S1")), (2.5, 9.0, "Two.", None)]
        );
        let bare = r#"[{"start": 1, "text": "Only."}]"#;
        assert_eq!(
            lines(&read(bare, None, 3.0).unwrap()),
            [(1.0, 3.0, "Only.", None)]
        );
        let wrong = read(r#"[{"start": 1, "txt": "x"}]"#, None, 3.0).unwrap_err();
        assert_eq!(wrong.at.as_deref(), Some("segment 1"), "{wrong}");
    }

    #[test]
    fn timed_text_in_its_forms() {
        let text = "0:00 Welcome to the workshop.\n0:04.5-0:09 Today we build\na bench.\n\n[0:12] First, the legs.\n1:02:03,5 --> 1:02:05 Late.\n";
        let s = read(text, None, 4000.0).unwrap();
        assert_eq!(s.format, ScriptFormat::Text);
        assert_eq!(
            lines(&s),
            [
                (0.0, 4.5, "Welcome to the workshop.", None),
                (4.5, 9.0, "Today we build a bench.", None),
                (12.0, 3723.5, "First, the legs.", None),
                (3723.5, 3725.0, "Late.", None)
            ]
        );
        let spaced = read(
            "0:01 - 0:02 One.\n0:03 --> 0:04 Two.",
            Some(ScriptFormat::Text),
            5.0,
        )
        .unwrap();
        assert_eq!(
            lines(&spaced),
            [(1.0, 2.0, "One.", None), (3.0, 4.0, "Two.", None)]
        );
    }

    #[test]
    fn lines_are_ordered_and_kept_apart() {
        let srt = "2\n00:00:04,000 --> 00:00:06,000\nSecond.\n\n1\n00:00:01,000 --> 00:00:04,500\nFirst.\n";
        let s = read(srt, None, 10.0).unwrap();
        assert_eq!(
            lines(&s),
            [(1.0, 4.0, "First.", None), (4.0, 6.0, "Second.", None)]
        );
        // Past the media's end: cut at it.
        let s = read("0:01-0:30 Long.", None, 12.0).unwrap();
        assert_eq!(s.segments[0].end, 12.0);
    }

    #[test]
    fn mistakes_name_their_line() {
        let cases: &[(&str, Option<ScriptFormat>, &str)] = &[
            (
                "Hello without a time.",
                None,
                "line 1: open each line with when it is said",
            ),
            (
                "0:05 Late.",
                None,
                "line 1: starts at 0:05.000, after the media ends at 0:04.000",
            ),
            (
                "0:02-0:01 Backwards.",
                None,
                "line 1: ends at 0:01.000, not after it starts at 0:02.000",
            ),
            (
                "0:01 One.\n0:01 Two.",
                None,
                "line 2: starts at 0:01.000, with the line before it (line 1)",
            ),
            (
                "1\n00:00:01,000 -> 00:00:02,000\nx\n",
                Some(ScriptFormat::Srt),
                "line 1: a cue needs its timing",
            ),
            (
                "1\n00:00:01,000 --> soon\nx\n",
                None,
                "line 2: `00:00:01,000 --> soon` is not a timing",
            ),
            (
                "00:01.000 --> 00:02.000\nx",
                Some(ScriptFormat::Vtt),
                "line 1: a WebVTT file opens with `WEBVTT`",
            ),
            ("{\"lines\": []}", None, "a JSON script is a list of lines"),
            (
                "[]",
                Some(ScriptFormat::Json),
                "the script has no lines to say",
            ),
            (
                "1\n00:00:01,000 --> 00:00:02,000\n<i></i>\n",
                None,
                "the script has no lines to say",
            ),
        ];
        for (text, format, expected) in cases {
            let e = read(text, *format, 4.0).unwrap_err().to_string();
            assert!(e.starts_with(expected), "{text:?}: {e}");
        }
    }

    #[test]
    fn times_are_strict_about_their_form() {
        assert_eq!(time("01:02:03.250"), Some(3723.25));
        assert_eq!(time("2:03,5"), Some(123.5));
        assert_eq!(time("90:00"), Some(5400.0));
        for bad in [
            "3", "1:60", "1:02:60", "a:00", "1::2", "1:2:3:4", "-1:00", "1:00.",
        ] {
            assert_eq!(time(bad), None, "{bad}");
        }
    }
}
