//! Recordings of people with their reference transcripts, from Debian's
//! `pocketsphinx-testdata` (which `scripts/setup.sh` installs): five
//! LibriVox readings of *Sense and Sensibility* (25 s) and five spoken card
//! names (10 s). Real speech, unlike the espeak-ng narration of the sample
//! clip.

use std::path::{Path, PathBuf};

const TESTDATA: &str = "/usr/share/pocketsphinx/test/data";

/// One recording and what is said in it.
pub struct Recording {
    pub path: PathBuf,
    pub reference: String,
}

/// The LibriVox readings.
pub fn librivox() -> Vec<Recording> {
    read("librivox", "transcription")
}

/// The spoken card names ("ten of clubs").
pub fn cards() -> Vec<Recording> {
    read("cards", "cards.transcription")
}

/// A folder's recordings, from its `<s> words </s> (file id)` lines.
fn read(folder: &str, transcription: &str) -> Vec<Recording> {
    let dir = Path::new(TESTDATA).join(folder);
    let text = std::fs::read_to_string(dir.join(transcription)).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/setup.sh (it installs pocketsphinx-testdata)",
            dir.display()
        )
    });
    text.lines()
        .filter_map(|line| {
            let (words, id) = line.rsplit_once(" (")?;
            let reference = words.replace("<s>", "").replace("</s>", "");
            Some(Recording {
                path: dir.join(format!("{}.wav", id.trim_end_matches(')'))),
                reference: reference.trim().to_owned(),
            })
        })
        .collect()
}
