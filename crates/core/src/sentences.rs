//! Lines that cut a sentence in two, joined back into one before they are
//! translated. A recognizer ends its timed lines where the audio pauses,
//! not where sentences end ("su aire tierno podría aguantar su" /
//! "memoria."): translated apart, each half loses its meaning and is
//! spoken as a fragment. Joined, the sentence is translated whole, voiced
//! in one breath, and the subtitles split it again where it reads well.
//!
//! A line is joined to the one before it when the one before ends without
//! closing a sentence, the transcript marks sentences at all (a
//! recognizer that writes no punctuation joins nothing), the new line does
//! not open with a capital, the same speaker says both, the pause between
//! them is short, and the joined line stays short enough to dub in one
//! piece. The joined line keeps the
//! first line's id, so the same rule applied to the transcript again finds
//! its source text.

use crate::Segment;

/// The longest pause a sentence is joined across, in seconds.
pub const MAX_PAUSE: f64 = 1.0;
/// The longest a joined line may run, in seconds.
pub const MAX_SECONDS: f64 = 15.0;

/// `lines` with each sentence cut across lines joined into one line.
pub fn whole_sentences(lines: &[Segment]) -> Vec<Segment> {
    let punctuated = lines.iter().any(|l| closes_sentence(&l.text));
    let mut out: Vec<Segment> = Vec::with_capacity(lines.len());
    for line in lines {
        let text = line.text.trim();
        match out.last_mut() {
            Some(open)
                if punctuated
                    && !open.text.is_empty()
                    && !closes_sentence(&open.text)
                    && !text.chars().next().is_some_and(char::is_uppercase)
                    && line.start - open.end <= MAX_PAUSE
                    && line.end - open.start <= MAX_SECONDS
                    && line.speaker == open.speaker
                    && !text.is_empty() =>
            {
                if !spaceless(&open.text) || !spaceless(text) {
                    open.text.push(' ');
                }
                open.text.push_str(text);
                open.end = open.end.max(line.end);
            }
            _ => out.push(Segment {
                text: text.to_owned(),
                ..line.clone()
            }),
        }
    }
    out
}

/// Whether `text` ends a sentence (closing quotes and brackets aside).
fn closes_sentence(text: &str) -> bool {
    text.trim_end()
        .trim_end_matches(['"', '\'', ')', '»', '”', '’', '」', '』', '）'])
        .ends_with(['.', '!', '?', '…', '。', '！', '？'])
}

/// Whether `text` ends in a script written without spaces (a CJK
/// character), so no space goes between it and what is joined to it.
fn spaceless(text: &str) -> bool {
    text.chars()
        .next_back()
        .is_some_and(|c| matches!(c as u32, 0x3000..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sentence_cut_across_lines_is_joined_and_keeps_the_first_id() {
        let lines = [
            Segment::new(1, 0.0, 3.0, "Welcome to the show."),
            Segment::new(2, 3.2, 6.0, "Her gentle air could hold her"),
            Segment::new(3, 6.3, 7.0, "memory."),
            Segment::new(4, 7.1, 9.0, "Thank you."),
        ];
        let joined = whole_sentences(&lines);
        assert_eq!(
            joined,
            [
                Segment::new(1, 0.0, 3.0, "Welcome to the show."),
                Segment::new(2, 3.2, 7.0, "Her gentle air could hold her memory."),
                Segment::new(4, 7.1, 9.0, "Thank you."),
            ]
        );
    }

    #[test]
    fn lines_stay_apart_across_capitals_long_pauses_and_long_runs() {
        let lines = [
            Segment::new(1, 0.0, 2.0, "So we went"),
            Segment::new(2, 2.1, 4.0, "Then it rained."),
            Segment::new(3, 4.0, 6.0, "and after that"),
            Segment::new(4, 8.0, 9.0, "nothing."),
            Segment::new(5, 9.0, 20.0, "a very long line that runs on"),
            Segment::new(6, 20.0, 26.0, "and on."),
        ];
        assert_eq!(whole_sentences(&lines).len(), 6);
    }

    #[test]
    fn a_blank_line_takes_nothing_in() {
        let lines = [
            Segment::new(1, 0.0, 1.0, "Hello."),
            Segment::new(2, 1.0, 2.0, " "),
            Segment::new(3, 2.1, 3.0, "and then."),
        ];
        assert_eq!(
            whole_sentences(&lines)[2],
            Segment::new(3, 2.1, 3.0, "and then.")
        );
    }

    #[test]
    fn a_transcript_without_punctuation_is_left_as_it_is() {
        let lines = [
            Segment::new(1, 0.0, 2.0, "hello there"),
            Segment::new(2, 2.1, 4.0, "how are you"),
        ];
        assert_eq!(whole_sentences(&lines), lines);
    }

    #[test]
    fn japanese_halves_join_without_a_space() {
        let lines = [
            Segment::new(1, 0.0, 2.0, "今日は音楽について"),
            Segment::new(2, 2.2, 4.0, "話します。"),
        ];
        assert_eq!(
            whole_sentences(&lines)[0].text,
            "今日は音楽について話します。"
        );
    }
}
