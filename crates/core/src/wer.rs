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

/// Whether `language` (ISO 639-1) is scored by characters: Japanese and
/// Chinese are written without spaces, and Korean is scored so by
/// convention.
pub fn is_unspaced(language: &str) -> bool {
    matches!(language, "ja" | "zh" | "ko")
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

/// What a recognizer heard of `parts` said one after another, charged
/// to each part: (errors, words, the heard words it was given) per part.
/// The whole is aligned at once (the least edits from what was said to
/// what was heard), so no timing is needed; each substituted or deleted
/// word counts against the part it was said in, each inserted word against
/// the part before it. By characters when `unspaced`.
pub fn errors_per_part(parts: &[&str], heard: &str, unspaced: bool) -> Vec<(usize, usize, String)> {
    if parts.is_empty() {
        return Vec::new();
    }
    let units = |t: &str| -> Vec<String> {
        if unspaced {
            t.chars()
                .filter(|c| c.is_alphanumeric())
                .map(String::from)
                .collect()
        } else {
            words(t)
        }
    };
    let mut said: Vec<(usize, String)> = Vec::new();
    for (p, text) in parts.iter().enumerate() {
        said.extend(units(text).into_iter().map(|u| (p, u)));
    }
    let heard = units(heard);
    let (n, m) = (said.len(), heard.len());
    // The full edit table, to walk back through.
    let mut d = vec![vec![0u32; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i as u32;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j as u32;
    }
    for i in 1..=n {
        for j in 1..=m {
            let substitute = d[i - 1][j - 1] + u32::from(said[i - 1].1 != heard[j - 1]);
            d[i][j] = substitute.min(d[i - 1][j] + 1).min(d[i][j - 1] + 1);
        }
    }
    let mut out: Vec<(usize, usize, Vec<&str>)> = vec![(0, 0, Vec::new()); parts.len()];
    for (p, _) in &said {
        out[*p].1 += 1;
    }
    let part_before = |i: usize| if i == 0 { 0 } else { said[i - 1].0 };
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        if i > 0 && j > 0 && d[i][j] == d[i - 1][j - 1] + u32::from(said[i - 1].1 != heard[j - 1]) {
            let part = &mut out[said[i - 1].0];
            part.0 += usize::from(said[i - 1].1 != heard[j - 1]);
            part.2.push(&heard[j - 1]);
            (i, j) = (i - 1, j - 1);
        } else if i > 0 && d[i][j] == d[i - 1][j] + 1 {
            out[said[i - 1].0].0 += 1;
            i -= 1;
        } else {
            let part = &mut out[part_before(i)];
            part.0 += 1;
            part.2.push(&heard[j - 1]);
            j -= 1;
        }
    }
    out.into_iter()
        .map(|(errors, words, mut heard)| {
            heard.reverse();
            (errors, words, heard.join(if unspaced { "" } else { " " }))
        })
        .collect()
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

    #[test]
    fn errors_are_charged_to_the_part_they_were_said_in() {
        let parts = [
            "Hoje falamos de música.",
            "Eu gostaria de ler livros.",
            "Muito obrigado.",
        ];
        let heard = "hoje falamos da música eu gostaria de ler os livros muito obrigado";
        let got = errors_per_part(&parts, heard, false);
        assert_eq!(
            got,
            [
                (1, 4, "hoje falamos da música".to_owned()),
                (1, 5, "eu gostaria de ler os livros".to_owned()),
                (0, 2, "muito obrigado".to_owned()),
            ]
        );
        let total: usize = got.iter().map(|p| p.0).sum();
        assert_eq!(total, word_errors(&parts.join(" "), heard).0);
        assert_eq!(
            errors_per_part(&["今日は", "音楽"], "今日わ音楽", true)[0].0,
            1
        );
    }
}
