//! Known mixtures for measuring voice separation: a real reading (the
//! LibriVox recordings) over a made background of music-like chords and
//! noise at a chosen level, and the measures the separation is judged by
//! (SI-SDR, and how much of the reading is left in the background).

use std::path::Path;

use voxline_media::audio;

use crate::recordings::librivox;

/// The sample rate of the mixtures (DeepFilterNet's).
pub const SAMPLE_RATE: u32 = 48_000;

/// The LibriVox readings back to back at 48 kHz, in [-1, 1].
pub fn reading(dir: &Path) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::new();
    for r in librivox() {
        let wav = dir.join("reading.wav");
        let ok = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-y", "-i"])
            .arg(&r.path)
            .args([
                "-ar",
                &SAMPLE_RATE.to_string(),
                "-ac",
                "1",
                "-c:a",
                "pcm_s16le",
            ])
            .arg(&wav)
            .status()?;
        anyhow::ensure!(ok.success(), "ffmpeg could not read {}", r.path.display());
        out.extend(
            audio::read_wav_samples(&wav)?
                .into_iter()
                .map(|s| f64::from(s) / 32_768.0),
        );
    }
    Ok(out)
}

/// Music-like tones and noise: a chord of three notes that changes every
/// half second, over white noise (a fixed seed: the same every run).
pub fn background(len: usize) -> Vec<f64> {
    const NOTES: [f64; 6] = [220.0, 277.18, 329.63, 392.0, 440.0, 523.25];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let half_second = SAMPLE_RATE as usize / 2;
    let mut chord = [0.0; 3];
    (0..len)
        .map(|n| {
            if n % half_second == 0 {
                for c in &mut chord {
                    *c = NOTES[(next() % NOTES.len() as u64) as usize];
                }
            }
            let t = n as f64 / f64::from(SAMPLE_RATE);
            let tones: f64 = chord
                .iter()
                .map(|f| (2.0 * std::f64::consts::PI * f * t).sin())
                .sum();
            // Uniform noise in [-1, 1].
            let noise = (next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            tones + 0.8 * noise
        })
        .collect()
}

pub fn energy(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Scale-invariant signal-to-distortion ratio of `estimate` against
/// `reference`, in dB.
pub fn si_sdr(estimate: &[f64], reference: &[f64]) -> f64 {
    let scale = dot(estimate, reference) / energy(reference);
    let target: Vec<f64> = reference.iter().map(|r| r * scale).collect();
    let error: Vec<f64> = estimate.iter().zip(&target).map(|(e, t)| e - t).collect();
    10.0 * (energy(&target) / energy(&error)).log10()
}

/// The energy of the part of `x` that is `reference` (its projection).
pub fn share_of(x: &[f64], reference: &[f64]) -> f64 {
    dot(x, reference).powi(2) / energy(reference)
}

pub fn read(path: &Path) -> anyhow::Result<Vec<f64>> {
    Ok(audio::read_wav_samples(path)?
        .into_iter()
        .map(|s| f64::from(s) / 32_768.0)
        .collect())
}

/// `speech` with `noise` `snr` dB under it, both halved so the sum
/// stays in range; and the speech as it is in the mix (the reference).
pub fn mix_at(speech: &[f64], noise: &[f64], snr: f64) -> (Vec<f64>, Vec<f64>) {
    let rms = |x: &[f64]| (energy(x) / x.len() as f64).sqrt();
    let gain = rms(speech) / rms(noise) / 10f64.powf(snr / 20.0);
    let mix = speech
        .iter()
        .zip(noise)
        .map(|(s, n)| (s + gain * n) * 0.5)
        .collect();
    (mix, speech.iter().map(|s| s * 0.5).collect())
}

/// Writes `samples` in [-1, 1] as a 48 kHz mono WAV.
pub fn write(path: &Path, samples: &[f64]) -> anyhow::Result<()> {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|v| (v * 32_768.0).round().clamp(-32_768.0, 32_767.0) as i16)
        .collect();
    audio::write_wav(path, &pcm, SAMPLE_RATE)?;
    Ok(())
}
