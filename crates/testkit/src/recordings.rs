//! Recordings of people with their reference transcripts, from Debian's
//! `pocketsphinx-testdata` (which `scripts/setup.sh` installs): five
//! LibriVox readings of *Sense and Sensibility* (25 s) and five spoken card
//! names (10 s). Real speech, unlike the espeak-ng narration of the sample
//! clip. Two of their speakers make a conversation ([`two_speakers`]).

use std::path::{Path, PathBuf};

pub use voxline_core::speakers::Turn;

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

/// A conversation of two real people, made of the recordings above: the
/// LibriVox reader and the card caller take turns (reader, caller, caller,
/// reader, …), 0.6 s of silence between turns, about 40 s in all. Written
/// to `dir` as `two-speakers.mp4` (a still picture and the speech, as a
/// dub's source), with who speaks when.
pub fn two_speakers(dir: &Path) -> anyhow::Result<(PathBuf, Vec<Turn>)> {
    const RATE: u32 = 16_000;
    const GAP: f64 = 0.6;
    let (reader, caller) = (librivox(), cards());
    let order = [
        (&reader[0], "reader"),
        (&caller[0], "caller"),
        (&caller[1], "caller"),
        (&reader[1], "reader"),
        (&caller[2], "caller"),
        (&reader[2], "reader"),
        (&caller[3], "caller"),
        (&reader[3], "reader"),
        (&caller[4], "caller"),
        (&reader[4], "reader"),
    ];
    std::fs::create_dir_all(dir)?;
    let mut samples: Vec<i16> = Vec::new();
    let mut turns = Vec::new();
    let silence = vec![0i16; (GAP * f64::from(RATE)) as usize];
    for (recording, who) in order {
        let wav = dir.join("turn.wav");
        let converted = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&recording.path)
            .args(["-ar", &RATE.to_string(), "-ac", "1", "-c:a", "pcm_s16le"])
            .arg(&wav)
            .status()?;
        anyhow::ensure!(
            converted.success(),
            "ffmpeg could not read {}",
            recording.path.display()
        );
        let speech = voxline_media::audio::read_wav_samples(&wav)?;
        let start = samples.len() as f64 / f64::from(RATE);
        samples.extend_from_slice(&speech);
        turns.push(Turn {
            start,
            end: samples.len() as f64 / f64::from(RATE),
            speaker: who.to_owned(),
        });
        samples.extend_from_slice(&silence);
    }
    let wav = dir.join("two-speakers.wav");
    voxline_media::audio::write_wav(&wav, &samples, RATE)?;
    let mp4 = dir.join("two-speakers.mp4");
    let made = std::process::Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "color=c=teal:s=320x240:r=10",
            "-i",
        ])
        .arg(&wav)
        .args([
            "-shortest",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
        ])
        .args([
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            "-metadata:s:a:0",
            "language=eng",
        ])
        .arg(&mp4)
        .status()?;
    anyhow::ensure!(made.success(), "ffmpeg could not make {}", mp4.display());
    Ok((mp4, turns))
}
