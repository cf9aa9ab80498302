//! Loudness to EBU R128: a file's integrated loudness (LUFS) and sample
//! peak, read with ffmpeg's `ebur128` filter, and a dub brought to its
//! source's loudness so that switching between them does not jump.

use std::path::Path;

use serde::Serialize;

use crate::{MediaError, budget, ffmpeg, process};

/// Integrated loudness below this is silence to R128 (its absolute gate).
pub const SILENCE_LUFS: f64 = -70.0;
/// Where the loudest sample of a normalised dub may reach at most.
pub const PEAK_CEILING_DBFS: f64 = -1.0;

/// A file's loudness: integrated over the whole (gated, as R128 says) and
/// the loudest sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Loudness {
    pub integrated_lufs: f64,
    pub sample_peak_dbfs: f64,
}

/// Measures the first audio stream of `path`.
pub async fn measure(path: &Path, seconds: f64) -> Result<Loudness, MediaError> {
    let mut cmd = tokio::process::Command::new("ffmpeg");
    // The summary is printed at the info level.
    cmd.args(["-nostdin", "-hide_banner", "-nostats", "-i"]);
    cmd.arg(path);
    cmd.args([
        "-map",
        "0:a:0",
        "-af",
        "ebur128=peak=sample",
        "-f",
        "null",
        "-",
    ]);
    let out = process::run(cmd, None, budget(seconds)).await?;
    parse(&String::from_utf8_lossy(&out.stderr)).ok_or_else(|| MediaError::BadOutput {
        program: "ffmpeg ebur128".into(),
        detail: format!("no loudness summary in {}", process::tail(&out.stderr)),
    })
}

/// The gain, in dB, that brings `dub` to `source`'s integrated loudness
/// without its peak passing [`PEAK_CEILING_DBFS`]; none when either is
/// silence.
pub fn gain_to_match(dub: Loudness, source: Loudness) -> f64 {
    if dub.integrated_lufs <= SILENCE_LUFS || source.integrated_lufs <= SILENCE_LUFS {
        return 0.0;
    }
    let wanted = source.integrated_lufs - dub.integrated_lufs;
    let headroom = PEAK_CEILING_DBFS - dub.sample_peak_dbfs;
    if dub.sample_peak_dbfs.is_finite() {
        wanted.min(headroom.max(0.0)).max(wanted.min(0.0))
    } else {
        wanted
    }
}

/// `input` made `gain_db` louder (or quieter) into `output` (16-bit WAV).
pub async fn apply_gain(
    input: &Path,
    gain_db: f64,
    seconds: f64,
    output: &Path,
) -> Result<(), MediaError> {
    filter(
        input,
        &format!("volume={gain_db:.2}dB"),
        &[],
        seconds,
        output,
    )
    .await
}

/// Brings `input` to `target_lufs` integrated loudness with its true peak
/// under -1.5 dBTP (ffmpeg's `loudnorm`, EBU R128: a limiter where a gain
/// alone would clip), as 48 kHz 16-bit PCM.
pub async fn normalize(
    input: &Path,
    target_lufs: f64,
    seconds: f64,
    output: &Path,
) -> Result<(), MediaError> {
    let loudnorm = format!("loudnorm=I={target_lufs:.1}:TP=-1.5:LRA=11");
    // loudnorm works at 192 kHz; the output comes back to 48.
    filter(input, &loudnorm, &["-ar", "48000"], seconds, output).await
}

/// `input` through the audio filter `graph` into `output` (16-bit WAV),
/// with `more` output options.
async fn filter(
    input: &Path,
    graph: &str,
    more: &[&str],
    seconds: f64,
    output: &Path,
) -> Result<(), MediaError> {
    let mut cmd = ffmpeg();
    cmd.arg("-i").arg(input);
    cmd.args(["-af", graph])
        .args(more)
        .args(["-c:a", "pcm_s16le"]);
    cmd.arg(output);
    process::run(cmd, None, budget(seconds)).await?;
    Ok(())
}

/// The `I:` and `Peak:` figures of ebur128's summary.
fn parse(stderr: &str) -> Option<Loudness> {
    let summary = &stderr[stderr.rfind("Summary:")?..];
    let figure = |label: &str| {
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(label))?;
        let value = line.trim_start()[label.len()..].split_whitespace().next()?;
        value.parse::<f64>().ok()
    };
    Some(Loudness {
        integrated_lufs: figure("I:")?,
        sample_peak_dbfs: figure("Peak:")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_summary() {
        let stderr = "[Parsed_ebur128_0 @ 0x1] Summary:\n\n  Integrated loudness:\n    I:         -27.8 LUFS\n    Threshold: -37.8 LUFS\n\n  Sample peak:\n    Peak:      -24.1 dBFS\n";
        assert_eq!(
            parse(stderr),
            Some(Loudness {
                integrated_lufs: -27.8,
                sample_peak_dbfs: -24.1
            })
        );
        let silent = "Summary:\n    I:         -70.0 LUFS\n    Peak:       -inf dBFS\n";
        let quiet = parse(silent).unwrap();
        assert!(quiet.sample_peak_dbfs.is_infinite());
        assert_eq!(gain_to_match(quiet, quiet), 0.0);
    }

    #[test]
    fn the_gain_matches_the_source_within_the_peak_ceiling() {
        let at = |i, peak| Loudness {
            integrated_lufs: i,
            sample_peak_dbfs: peak,
        };
        // Quieter than the source: raised, as far as the peak allows.
        assert_eq!(gain_to_match(at(-30.0, -10.0), at(-23.0, -3.0)), 7.0);
        assert_eq!(gain_to_match(at(-30.0, -4.0), at(-23.0, -3.0)), 3.0);
        // Louder: lowered all the way, whatever the peak.
        assert_eq!(gain_to_match(at(-18.0, -0.5), at(-23.0, -3.0)), -5.0);
        // Already at its peak ceiling and too quiet: left as it is.
        assert_eq!(gain_to_match(at(-30.0, -0.5), at(-23.0, -3.0)), 0.0);
    }
}
