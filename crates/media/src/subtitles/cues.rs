//! Timed lines shaped into subtitle cues to professional norms: at most
//! two lines of 42 characters, on screen between 1 and 7 seconds, read at
//! no more than 17 characters a second where the speech leaves the time.
//! A line too long for one cue is split where a sentence or clause ends,
//! its time shared out by characters; a cue too brief or too fast to read
//! stays up into the silence after it, never over the next one. For
//! languages written without spaces (Japanese, Chinese) the same limits
//! count characters, and a line may break between any two of them.
//!
//! What the timing cannot allow (a line spoken faster than 17 characters a
//! second with no silence after it) is left as spoken and counted by
//! [`breaches`], so a job can say how many cues fall outside the norms.

use serde::Serialize;
use voxline_core::Segment;

/// Most characters on one line of a cue.
pub const MAX_LINE_CHARS: usize = 42;
/// Most lines in one cue.
pub const MAX_LINES: usize = 2;
/// Longest a cue stays on screen, in seconds.
pub const MAX_SECONDS: f64 = 7.0;
/// Shortest a cue stays on screen, in seconds.
pub const MIN_SECONDS: f64 = 1.0;
/// Fastest reading speed asked of a viewer, in characters a second.
pub const MAX_CHARS_PER_SECOND: f64 = 17.0;

/// Timings within this of a limit count as within it (stamps are whole
/// milliseconds).
const SLACK: f64 = 0.0015;

/// One subtitle on screen: its time and its one or two lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start: f64,
    pub end: f64,
    pub lines: Vec<String>,
}

impl Cue {
    /// Characters a viewer reads (line breaks not counted).
    pub fn chars(&self) -> usize {
        self.lines.iter().map(|l| l.chars().count()).sum()
    }

    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

/// The cues for `lines` (in time order; blank lines have none). `until`
/// is the media's end: no cue stays up past it, nor past its own line's
/// end when it is not given and the line is the last.
pub fn cues(lines: &[Segment], until: Option<f64>) -> Vec<Cue> {
    let mut out = Vec::new();
    for line in lines {
        let units = units(&line.text);
        if !units.is_empty() {
            split(&units, line.start, line.end.max(line.start), &mut out);
        }
    }
    out.sort_by(|a, b| a.start.total_cmp(&b.start));
    let ends: Vec<f64> = out.iter().map(|c| c.end).collect();
    for i in 0..out.len() {
        let mut own_end = ends[i];
        if let Some(until) = until {
            // A recognizer may end the last line a little past the media.
            own_end = own_end.min(until.max(out[i].start));
        }
        let limit = match out.get(i + 1) {
            Some(next) => next.start,
            None => until.map_or(own_end, |u| u.max(out[i].start)),
        };
        let cue = &mut out[i];
        let wanted = own_end
            .max(cue.start + MIN_SECONDS)
            .max(cue.start + cue.chars() as f64 / MAX_CHARS_PER_SECOND)
            .min(cue.start + MAX_SECONDS);
        // Up into the silence after it, never over the next cue (unless
        // the next starts at the same moment: then they overlap as spoken).
        cue.end = if limit > cue.start + SLACK {
            wanted.min(limit)
        } else {
            wanted
        };
    }
    out
}

/// How many cues fall outside the norms, and which norm.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Breaches {
    pub cues: usize,
    /// Cues outside at least one norm.
    pub outside: usize,
    pub lines_too_long: usize,
    pub too_many_lines: usize,
    pub too_long_on_screen: usize,
    pub too_short_on_screen: usize,
    pub too_fast_to_read: usize,
}

pub fn breaches(cues: &[Cue]) -> Breaches {
    let mut b = Breaches {
        cues: cues.len(),
        ..Breaches::default()
    };
    for cue in cues {
        let checks = [
            (
                cue.lines.iter().any(|l| l.chars().count() > MAX_LINE_CHARS),
                &mut b.lines_too_long,
            ),
            (cue.lines.len() > MAX_LINES, &mut b.too_many_lines),
            (
                cue.duration() > MAX_SECONDS + SLACK,
                &mut b.too_long_on_screen,
            ),
            (
                cue.duration() < MIN_SECONDS - SLACK,
                &mut b.too_short_on_screen,
            ),
            (
                cue.chars() as f64 > MAX_CHARS_PER_SECOND * (cue.duration() + SLACK),
                &mut b.too_fast_to_read,
            ),
        ];
        let mut outside = false;
        for (broken, count) in checks {
            if broken {
                *count += 1;
                outside = true;
            }
        }
        b.outside += usize::from(outside);
    }
    b
}

/// A piece of a line that is never cut: a word, or one character of a
/// script written without spaces (with the punctuation that closes it).
#[derive(Debug)]
struct Unit<'a> {
    text: &'a str,
    space_before: bool,
}

fn units(text: &str) -> Vec<Unit<'_>> {
    let mut out: Vec<Unit> = Vec::new();
    for word in text.split_whitespace() {
        let mut first = true;
        let mut run_start = 0;
        let mut previous: Option<char> = None;
        for (i, c) in word.char_indices() {
            // A new unit at each character written without spaces (bar
            // closing punctuation), and where a spaced script follows one.
            let boundary = previous
                .is_some_and(|p| (unspaced(c) && !closing(c)) || (!unspaced(c) && unspaced(p)));
            if boundary {
                out.push(Unit {
                    text: &word[run_start..i],
                    space_before: first && !out.is_empty(),
                });
                first = false;
                run_start = i;
            }
            previous = Some(c);
        }
        out.push(Unit {
            text: &word[run_start..],
            space_before: first && !out.is_empty(),
        });
    }
    out
}

/// A character of a script written without spaces between words.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x30FF     // CJK punctuation, hiragana, katakana
        | 0x3400..=0x4DBF   // CJK extension A
        | 0x4E00..=0x9FFF   // CJK unified ideographs
        | 0xF900..=0xFAFF   // CJK compatibility ideographs
        | 0xFF00..=0xFFEF   // full-width forms
    )
}

/// Punctuation that ends what comes before it and never starts a line.
fn closing(c: char) -> bool {
    matches!(
        c,
        '、' | '。' | '，' | '．' | '！' | '？' | '；' | '：' | '」' | '』' | '）' | '…' | 'ー'
    )
}

/// The text of `units`, spaced as written.
fn join(units: &[Unit]) -> String {
    let mut s = String::new();
    for (i, u) in units.iter().enumerate() {
        if i > 0 && u.space_before {
            s.push(' ');
        }
        s.push_str(u.text);
    }
    s
}

fn width(units: &[Unit]) -> usize {
    units
        .iter()
        .enumerate()
        .map(|(i, u)| u.text.chars().count() + usize::from(i > 0 && u.space_before))
        .sum()
}

/// How much worse a break after `unit` is than one where a sentence ends.
/// Short lower-case words (articles, conjunctions, prepositions: "y",
/// "de", "the") belong with what follows them.
fn break_cost(unit: &Unit) -> f64 {
    match unit.text.chars().last() {
        Some('.' | '!' | '?' | '。' | '！' | '？' | '…') => 0.0,
        Some(',' | ';' | ':' | '、' | '，' | '；' | '：' | '—' | '–' | ')') => 0.15,
        _ if unit.text.chars().count() <= 3 && unit.text.chars().all(char::is_lowercase) => 0.5,
        _ => 0.4,
    }
}

/// The units as at most two lines within the limit, broken where the
/// cost of the break plus the lines' imbalance is least.
fn wrap(units: &[Unit]) -> Option<Vec<String>> {
    let total = width(units);
    if total <= MAX_LINE_CHARS {
        return Some(vec![join(units)]);
    }
    (1..units.len())
        .filter_map(|k| {
            let (top, bottom) = (width(&units[..k]), width(&units[k..]));
            (top <= MAX_LINE_CHARS && bottom <= MAX_LINE_CHARS).then(|| {
                let imbalance = top.abs_diff(bottom) as f64 / total as f64;
                (break_cost(&units[k - 1]) + imbalance, k)
            })
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| vec![join(&units[..k]), join(&units[k..])])
}

/// Cues for one line from `start` to `end`: whole if it fits, otherwise
/// split in two where a sentence or clause ends (or, failing that, near
/// the middle), each part timed by its share of the characters.
fn split(units: &[Unit], start: f64, end: f64, out: &mut Vec<Cue>) {
    let duration = end - start;
    let wrapped = wrap(units);
    if units.len() < 2 || (wrapped.is_some() && duration <= MAX_SECONDS + SLACK) {
        let lines = wrapped.unwrap_or_else(|| vec![join(units)]);
        out.push(Cue { start, end, lines });
        return;
    }
    let total = width(units) as f64;
    let best = (1..units.len())
        .filter_map(|k| {
            let share = width(&units[..k]) as f64 / total;
            let (left, right) = (duration * share, duration * (1.0 - share));
            // Neither part shorter than a cue may be, where there is time.
            if duration >= 2.0 * MIN_SECONDS && left.min(right) < MIN_SECONDS {
                return None;
            }
            // Parts too wide for two lines must be split again (checked by
            // width alone: wrapping every candidate would cost the cube of
            // a long line's length).
            let misfits = [&units[..k], &units[k..]]
                .iter()
                .filter(|part| width(part) > MAX_LINES * MAX_LINE_CHARS)
                .count() as f64;
            let cost = 2.0 * break_cost(&units[k - 1]) + (2.0 * share - 1.0).abs() + 0.5 * misfits;
            Some((cost, k, share))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let Some((_, k, share)) = best else {
        // No split leaves both parts a second: keep it whole.
        let lines = wrapped.unwrap_or_else(|| vec![join(units)]);
        out.push(Cue { start, end, lines });
        return;
    };
    let middle = start + duration * share;
    split(&units[..k], start, middle, out);
    split(&units[k..], middle, end, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(start: f64, end: f64, text: &str) -> Segment {
        Segment::new(1, start, end, text)
    }

    fn texts(cues: &[Cue]) -> Vec<String> {
        cues.iter().map(|c| c.lines.join(" | ")).collect()
    }

    #[test]
    fn a_short_line_is_one_cue_kept_up_long_enough_to_read() {
        let cues = cues(&[line(1.0, 1.4, "Hola mundo.")], Some(10.0));
        assert_eq!(texts(&cues), ["Hola mundo."]);
        assert_eq!((cues[0].start, cues[0].end), (1.0, 2.0));
        assert_eq!(breaches(&cues).outside, 0);
    }

    #[test]
    fn a_long_line_splits_where_its_sentences_end() {
        let text = "Hoy hablamos de música y de los libros que leemos. \
                    Me gusta leer por la noche, cuando la casa está en silencio.";
        let cues = cues(&[line(0.0, 9.0, text)], None);
        assert_eq!(
            texts(&cues),
            [
                "Hoy hablamos de música | y de los libros que leemos.",
                "Me gusta leer por la noche, | cuando la casa está en silencio."
            ]
        );
        assert!(cues[0].end <= cues[1].start + 1e-9);
        assert_eq!(breaches(&cues).outside, 0, "{cues:?}");
    }

    #[test]
    fn two_lines_break_at_a_clause_before_the_middle_word() {
        let cues = cues(
            &[line(
                0.0,
                4.0,
                "Cuando llegues a casa, llámame por teléfono enseguida",
            )],
            None,
        );
        assert_eq!(
            texts(&cues),
            ["Cuando llegues a casa, | llámame por teléfono enseguida"]
        );
    }

    #[test]
    fn a_long_slow_line_is_cut_at_seven_seconds_and_a_fast_one_is_counted() {
        let slow = cues(&[line(0.0, 12.0, "Sí.")], None);
        assert_eq!((slow[0].start, slow[0].end), (0.0, 7.0));
        let words = "palabra ".repeat(10);
        let fast = cues(
            &[line(0.0, 2.0, &words), line(2.0, 4.0, "Sigue.")],
            Some(4.0),
        );
        let b = breaches(&fast);
        assert_eq!(
            (b.cues, b.outside, b.too_fast_to_read),
            (2, 1, 1),
            "{fast:?}"
        );
        // A line with silence after it stays up into the silence instead.
        let fast = cues(
            &[line(0.0, 2.0, &words), line(6.0, 7.0, "Sigue.")],
            Some(8.0),
        );
        assert_eq!(breaches(&fast).outside, 0, "{fast:?}");
        assert!(fast[0].end <= 6.0);
    }

    #[test]
    fn japanese_breaks_between_characters_and_keeps_closing_marks() {
        let text = "今日は音楽について話します。私は本を読むのが好きです。\
                    夜になると家の中はとても静かになり、ゆっくり本を読むことができます。";
        let cues = cues(&[line(0.0, 6.0, text)], None);
        let b = breaches(&cues);
        assert_eq!(b.lines_too_long + b.too_many_lines, 0, "{cues:?}");
        for cue in &cues {
            for l in &cue.lines {
                assert!(!l.starts_with(['。', '、']), "{cues:?}");
                assert!(!l.contains(' '), "{l:?}");
            }
        }
        assert_eq!(cues.concat_text(), text);
    }

    #[test]
    fn a_paragraph_long_line_is_shaped_quickly_and_the_last_cue_stops_at_the_end() {
        let text = "Una frase corta, otra más. ".repeat(200);
        let started = std::time::Instant::now();
        let cues = cues(&[line(0.0, 900.0, &text)], Some(899.0));
        assert!(
            started.elapsed().as_secs_f64() < 2.0,
            "{:?}",
            started.elapsed()
        );
        let b = breaches(&cues);
        assert_eq!(b.lines_too_long + b.too_many_lines, 0);
        assert!(cues.last().unwrap().end <= 899.0);
    }

    #[test]
    fn mixed_scripts_keep_latin_words_whole() {
        let u = units("我喜欢Rust语言。");
        let parts: Vec<&str> = u.iter().map(|u| u.text).collect();
        assert_eq!(parts, ["我", "喜", "欢", "Rust", "语", "言。"]);
    }

    trait Concat {
        fn concat_text(&self) -> String;
    }
    impl Concat for Vec<Cue> {
        fn concat_text(&self) -> String {
            self.iter().flat_map(|c| c.lines.clone()).collect()
        }
    }
}
