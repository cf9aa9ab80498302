//! The speaker embedder's input: 40 log-mel energies every 10 ms of 16 kHz
//! audio, made as the model's training made them (librosa's
//! `melspectrogram` with a 25 ms Hamming window in a 512-point FFT, no
//! centring, Slaney's mel scale and area normalisation, then `log10`).

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

pub const SAMPLE_RATE: usize = 16_000;
pub const MELS: usize = 40;
/// Samples between frames (10 ms).
pub const HOP: usize = 160;
const FFT: usize = 512;
/// Samples the window covers (25 ms), centred in the FFT's 512.
const WINDOW: usize = 400;
const BINS: usize = FFT / 2 + 1;

/// Makes log-mel frames; holds the FFT plan, window and filter bank.
pub struct LogMel {
    fft: Arc<dyn RealToComplex<f32>>,
    /// The Hamming window, zero-padded to `FFT` samples.
    window: Vec<f32>,
    /// `MELS` rows of `BINS` weights.
    filters: Vec<[f32; BINS]>,
}

impl Default for LogMel {
    fn default() -> Self {
        let pad = (FFT - WINDOW) / 2;
        let mut window = vec![0.0; FFT];
        for (n, w) in window[pad..pad + WINDOW].iter_mut().enumerate() {
            // The periodic Hamming window (scipy's `get_window`).
            *w = 0.54 - 0.46 * (2.0 * std::f32::consts::PI * n as f32 / WINDOW as f32).cos();
        }
        Self {
            fft: RealFftPlanner::<f32>::new().plan_fft_forward(FFT),
            window,
            filters: slaney_filters(),
        }
    }
}

impl LogMel {
    /// One row of `MELS` values per 10 ms frame that fits whole in `samples`.
    pub fn frames(&self, samples: &[f32]) -> Vec<[f32; MELS]> {
        if samples.len() < FFT {
            return Vec::new();
        }
        let count = 1 + (samples.len() - FFT) / HOP;
        let mut input = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = [0.0f32; BINS];
        (0..count)
            .map(|k| {
                let frame = &samples[k * HOP..k * HOP + FFT];
                for ((x, s), w) in input.iter_mut().zip(frame).zip(&self.window) {
                    *x = s * w;
                }
                self.fft
                    .process_with_scratch(&mut input, &mut spectrum, &mut scratch)
                    .expect("buffers are the plan's own");
                for (p, c) in power.iter_mut().zip(&spectrum) {
                    *p = c.norm_sqr();
                }
                let mut row = [0.0f32; MELS];
                for (m, filter) in row.iter_mut().zip(&self.filters) {
                    let energy: f32 = filter.iter().zip(&power).map(|(w, p)| w * p).sum();
                    *m = (energy + 1e-10).log10();
                }
                row
            })
            .collect()
    }
}

/// Hz to mel on Slaney's scale: linear below 1 kHz, logarithmic above.
fn mel(hz: f64) -> f64 {
    const LOG_STEP: f64 = 0.068_751_777_420_949_12; // ln(6.4) / 27
    if hz < 1000.0 {
        hz * 3.0 / 200.0
    } else {
        15.0 + (hz / 1000.0).ln() / LOG_STEP
    }
}

fn hz(mel: f64) -> f64 {
    const LOG_STEP: f64 = 0.068_751_777_420_949_12;
    if mel < 15.0 {
        mel * 200.0 / 3.0
    } else {
        1000.0 * ((mel - 15.0) * LOG_STEP).exp()
    }
}

/// Triangular filters evenly spaced in mel from 0 to 8 kHz, each scaled
/// to unit area (librosa's `filters.mel` with its defaults).
fn slaney_filters() -> Vec<[f32; BINS]> {
    let top = mel(SAMPLE_RATE as f64 / 2.0);
    let edges: Vec<f64> = (0..MELS + 2)
        .map(|i| hz(top * i as f64 / (MELS + 1) as f64))
        .collect();
    (0..MELS)
        .map(|m| {
            let (low, centre, high) = (edges[m], edges[m + 1], edges[m + 2]);
            let area = 2.0 / (high - low);
            let mut row = [0.0f32; BINS];
            for (k, w) in row.iter_mut().enumerate() {
                let f = k as f64 * SAMPLE_RATE as f64 / FFT as f64;
                let rise = (f - low) / (centre - low);
                let fall = (high - f) / (high - centre);
                *w = (rise.min(fall).max(0.0) * area) as f32;
            }
            row
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mel_scale_turns_at_one_kilohertz_and_back() {
        assert!((mel(1000.0) - 15.0).abs() < 1e-9);
        for f in [0.0, 440.0, 1000.0, 3000.0, 8000.0] {
            assert!((hz(mel(f)) - f).abs() < 1e-6);
        }
    }

    #[test]
    fn a_tone_lights_the_filter_that_holds_it() {
        let tone: Vec<f32> = (0..SAMPLE_RATE / 2)
            .map(|n| (2.0 * std::f32::consts::PI * 440.0 * n as f32 / SAMPLE_RATE as f32).sin())
            .collect();
        let frames = LogMel::default().frames(&tone);
        assert_eq!(frames.len(), 1 + (tone.len() - FFT) / HOP);
        let loudest = |row: &[f32; MELS]| {
            (0..MELS)
                .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                .unwrap()
        };
        let expected = (0..MELS)
            .find(|&m| {
                let top = mel(8000.0);
                let centre = hz(top * (m + 1) as f64 / (MELS + 1) as f64);
                let next = hz(top * (m + 2) as f64 / (MELS + 1) as f64);
                440.0 < (centre + next) / 2.0
            })
            .unwrap();
        assert_eq!(loudest(&frames[10]), expected);
        assert!(LogMel::default().frames(&tone[..100]).is_empty());
    }
}
