//! Word error rate, the measure of a transcript against its reference:
//! (substituted + deleted + inserted words) / words in the reference, after
//! both are lowercased and stripped of punctuation.

/// Numbers as recognizers may write them, and as references say them.
const NUMBERS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// The words of `text`, lowercased, punctuation dropped (an apostrophe
/// inside a word stays: "don't"), and the numbers 0 to 20 written out, so
/// "10" and "ten" are one word.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            let w = w
                .chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .collect::<String>()
                .trim_matches('\'')
                .to_lowercase();
            match w.parse::<usize>() {
                Ok(n) if n < NUMBERS.len() => NUMBERS[n].to_owned(),
                _ => w,
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate of `heard` against `reference` (0 is perfect; it can
/// exceed 1 when many words are inserted).
pub fn wer(reference: &str, heard: &str) -> f64 {
    let (errors, words) = word_errors(reference, heard);
    if words == 0 {
        return if errors == 0 { 0.0 } else { 1.0 };
    }
    errors as f64 / words as f64
}

/// (word errors, words in the reference): what a corpus-wide rate sums.
pub fn word_errors(reference: &str, heard: &str) -> (usize, usize) {
    let (r, h) = (words(reference), words(heard));
    // Levenshtein distance over words, one row at a time.
    let mut row: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, hw) in h.iter().enumerate() {
            let substitute = diagonal + usize::from(rw != hw);
            diagonal = row[j + 1];
            row[j + 1] = substitute.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    (row[h.len()], r.len())
}

/// (character errors, characters in the reference): the measure for
/// languages written without spaces (Japanese, Chinese, and Korean by
/// convention), over letters only, spaces and punctuation dropped.
pub fn character_errors(reference: &str, heard: &str) -> (usize, usize) {
    let spaced = |t: &str| {
        t.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(|c| [c, ' '])
            .collect::<String>()
    };
    word_errors(&spaced(reference), &spaced(heard))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_substitutions_deletions_and_insertions() {
        assert_eq!(wer("Thank you very much.", "thank you very much"), 0.0);
        assert_eq!(wer("one two three four", "one too three four"), 0.25);
        assert_eq!(wer("one two three four", "one three four"), 0.25);
        assert_eq!(wer("one two", "one two three four"), 1.0);
        assert_eq!(words("Don't stop, \"now\"!"), ["don't", "stop", "now"]);
        assert_eq!(wer("ten of clubs", "10 of clubs."), 0.0);
        assert_eq!(character_errors("今日は、音楽。", "今日わ音楽"), (1, 5));
    }
}
