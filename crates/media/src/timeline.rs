//! The timing fit of dubbed lines, and the voice track built from it.
//!
//! Each line starts at its segment's start. A line longer than its segment
//! is sped up (up to the cap); what is still too long spills into the
//! silence before the next segment; past that it pushes the following lines
//! later. No line is ever dropped or cut short.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::MediaError;
use crate::audio::{self, RATE};

/// One line to place: its segment on the source's timeline, and how long its
/// synthesized speech lasts at normal speed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotInput {
    pub id: u32,
    pub start: f64,
    pub end: f64,
    pub synth_duration: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitPolicy {
    /// Fastest allowed speed-up (1.3 = 30 % faster).
    pub max_tempo: f64,
}

impl Default for FitPolicy {
    fn default() -> Self {
        Self { max_tempo: 1.3 }
    }
}

/// Where a line goes, at what speed, and how long it then lasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Placement {
    pub id: u32,
    pub at: f64,
    pub tempo: f64,
    pub duration: f64,
}

/// How far lines had to be stretched: the figures each task reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Default)]
pub struct StretchStats {
    pub lines: u32,
    pub max_tempo: f64,
    pub mean_tempo: f64,
    /// Lines that would have needed more than the cap to fit their segment.
    pub over_cap: u32,
    /// Lines that ran into the silence after their segment.
    pub borrowed: u32,
    /// Lines that started late because an earlier line overran.
    pub shifted: u32,
    /// Seconds by which the last line ends after the source does (0 if none).
    pub drift: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fit {
    pub placements: Vec<Placement>,
    pub stats: StretchStats,
}

/// Places `lines` (sorted by start) on a timeline `total` seconds long.
pub fn fit(lines: &[SlotInput], total: f64, policy: &FitPolicy) -> Fit {
    let mut placements = Vec::with_capacity(lines.len());
    let mut stats = StretchStats {
        lines: lines.len() as u32,
        ..Default::default()
    };
    let mut free_from = 0.0_f64;
    for line in lines {
        let slot = (line.end - line.start).max(0.01);
        let needed = line.synth_duration / slot;
        if needed > policy.max_tempo + 1e-9 {
            stats.over_cap += 1;
        }
        let tempo = needed.clamp(1.0, policy.max_tempo);
        let duration = line.synth_duration / tempo;
        let at = line.start.max(free_from);
        if at > line.start + 1e-9 {
            stats.shifted += 1;
        }
        if at + duration > line.end + 1e-3 {
            stats.borrowed += 1;
        }
        free_from = at + duration;
        placements.push(Placement {
            id: line.id,
            at,
            tempo,
            duration,
        });
    }
    if let Some(last) = placements.last() {
        stats.drift = (last.at + last.duration - total).max(0.0);
    }
    if !placements.is_empty() {
        stats.max_tempo = placements.iter().map(|p| p.tempo).fold(1.0, f64::max);
        stats.mean_tempo =
            placements.iter().map(|p| p.tempo).sum::<f64>() / placements.len() as f64;
    } else {
        stats.max_tempo = 1.0;
        stats.mean_tempo = 1.0;
    }
    Fit { placements, stats }
}

/// Lays the lines' audio (48 kHz mono WAV, tempo already applied, in the
/// order of `placements`) on a silent track exactly `total` seconds long.
pub async fn assemble_voice_track(
    placements: &[Placement],
    wavs: &[PathBuf],
    total: f64,
    out: &Path,
) -> Result<(), MediaError> {
    let length = (total * RATE as f64).round() as usize;
    let mut mix = vec![0i32; length];
    for (p, wav) in placements.iter().zip(wavs) {
        let samples = audio::read_wav_samples(wav)?;
        let offset = (p.at * RATE as f64).round() as usize;
        for (slot, s) in mix.iter_mut().skip(offset).zip(samples) {
            *slot += s as i32;
        }
    }
    let clipped: Vec<i16> = mix
        .into_iter()
        .map(|s| s.clamp(i16::MIN as i32, i16::MAX as i32) as i16)
        .collect();
    audio::write_wav(out, &clipped, RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: u32, start: f64, end: f64, synth: f64) -> SlotInput {
        SlotInput {
            id,
            start,
            end,
            synth_duration: synth,
        }
    }

    #[test]
    fn a_line_that_fits_is_left_alone() {
        let f = fit(&[line(1, 1.0, 3.0, 1.5)], 10.0, &FitPolicy::default());
        assert_eq!(
            f.placements[0],
            Placement {
                id: 1,
                at: 1.0,
                tempo: 1.0,
                duration: 1.5
            }
        );
        assert_eq!(f.stats.borrowed + f.stats.over_cap + f.stats.shifted, 0);
    }

    #[test]
    fn a_long_line_is_sped_up_within_the_cap() {
        let f = fit(&[line(1, 0.0, 2.0, 2.4)], 10.0, &FitPolicy::default());
        assert!((f.placements[0].tempo - 1.2).abs() < 1e-9);
        assert!((f.placements[0].duration - 2.0).abs() < 1e-9);
        assert_eq!(f.stats.over_cap, 0);
    }

    #[test]
    fn past_the_cap_it_borrows_the_following_silence() {
        let f = fit(
            &[line(1, 0.0, 2.0, 3.25), line(2, 4.0, 5.0, 0.5)],
            10.0,
            &FitPolicy::default(),
        );
        let p = f.placements[0];
        assert!((p.tempo - 1.3).abs() < 1e-9);
        assert!((p.duration - 2.5).abs() < 1e-9);
        assert_eq!(
            (f.stats.over_cap, f.stats.borrowed, f.stats.shifted),
            (1, 1, 0)
        );
        assert_eq!(f.placements[1].at, 4.0);
    }

    #[test]
    fn an_overrun_pushes_the_next_line_and_nothing_is_dropped() {
        let f = fit(
            &[line(1, 0.0, 1.0, 3.9), line(2, 2.0, 3.0, 1.0)],
            3.5,
            &FitPolicy::default(),
        );
        assert_eq!(f.placements.len(), 2);
        assert!((f.placements[0].duration - 3.0).abs() < 1e-9);
        assert!((f.placements[1].at - 3.0).abs() < 1e-9);
        assert_eq!(f.stats.shifted, 1);
        assert!((f.stats.drift - 0.5).abs() < 1e-9);
        assert!((f.stats.max_tempo - 1.3).abs() < 1e-9);
    }

    #[tokio::test]
    async fn the_voice_track_is_exactly_as_long_as_the_source() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.wav");
        audio::write_wav(&a, &vec![1000i16; RATE as usize / 2], RATE).unwrap();
        let out = dir.path().join("voice.wav");
        let placements = [
            Placement {
                id: 1,
                at: 0.25,
                tempo: 1.0,
                duration: 0.5,
            },
            Placement {
                id: 2,
                at: 2.8,
                tempo: 1.0,
                duration: 0.5,
            },
        ];
        assemble_voice_track(&placements, &[a.clone(), a], 3.0, &out)
            .await
            .unwrap();
        let samples = audio::read_wav_samples(&out).unwrap();
        assert_eq!(samples.len(), 3 * RATE as usize);
        assert_eq!(samples[0], 0);
        assert_eq!(samples[(0.5 * RATE as f64) as usize], 1000);
        assert_eq!(
            *samples.last().unwrap(),
            1000,
            "the overrunning line is cut at the end, not dropped"
        );
    }
}
