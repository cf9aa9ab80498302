//! Audio conversions, and a reader/writer for the one WAV shape Voxline
//! assembles itself (PCM s16le, mono).

use std::path::Path;

use crate::{MediaError, budget, ffmpeg, probe, process};

/// The sample rate of every line, voice track and mix Voxline assembles.
pub const RATE: u32 = 48_000;

/// Extracts the first audio stream of `input` as PCM s16le WAV.
pub async fn extract_wav(
    input: &Path,
    output: &Path,
    sample_rate: u32,
    channels: u32,
) -> Result<(), MediaError> {
    let seconds = duration(input).await.unwrap_or(600.0);
    let mut cmd = ffmpeg();
    cmd.arg("-i")
        .arg(input)
        .args(["-map", "0:a:0", "-vn", "-acodec", "pcm_s16le"]);
    cmd.args([
        "-ar",
        &sample_rate.to_string(),
        "-ac",
        &channels.to_string(),
    ])
    .arg(output);
    process::run(cmd, None, budget(seconds)).await?;
    Ok(())
}

/// The first audio stream of `input` as small Ogg Opus speech (16 kHz mono,
/// 24 kbit/s: about 11 MB an hour), for uploads to speech-recognition
/// vendors, whose request size limits a WAV would hit within minutes.
pub async fn encode_speech_upload(input: &Path, output: &Path) -> Result<(), MediaError> {
    let seconds = duration(input).await.unwrap_or(600.0);
    let mut cmd = ffmpeg();
    cmd.arg("-i").arg(input).args([
        "-map",
        "0:a:0",
        "-vn",
        "-ac",
        "1",
        "-ar",
        "16000",
        "-c:a",
        "libopus",
        "-b:a",
        "24k",
        "-application",
        "voip",
        "-f",
        "ogg",
    ]);
    cmd.arg(output);
    process::run(cmd, None, budget(seconds)).await?;
    Ok(())
}

/// Any audio (espeak-ng writes 22 050 Hz) as 48 kHz mono s16 WAV.
pub async fn to_pcm_48k_mono(input: &Path, output: &Path) -> Result<(), MediaError> {
    extract_wav(input, output, RATE, 1).await
}

/// The duration of a media file, in seconds.
pub async fn duration(path: &Path) -> Result<f64, MediaError> {
    Ok(probe::probe(path).await?.duration)
}

/// Speeds audio up (or slows it down) by `factor` without changing its
/// pitch, into 48 kHz mono WAV. atempo takes 0.5–2.0 per instance, so
/// larger changes chain several.
pub async fn change_tempo(input: &Path, output: &Path, factor: f64) -> Result<(), MediaError> {
    let mut rest = factor.clamp(0.25, 4.0);
    let mut filters = Vec::new();
    while rest > 2.0 {
        filters.push("atempo=2.0".to_owned());
        rest /= 2.0;
    }
    while rest < 0.5 {
        filters.push("atempo=0.5".to_owned());
        rest /= 0.5;
    }
    filters.push(format!("atempo={rest:.5}"));
    let mut cmd = ffmpeg();
    cmd.arg("-i").arg(input).arg("-af").arg(filters.join(","));
    cmd.args(["-ar", &RATE.to_string(), "-ac", "1", "-acodec", "pcm_s16le"])
        .arg(output);
    process::run(cmd, None, budget(60.0)).await?;
    Ok(())
}

/// Encodes audio as AAC in an MP4 container (`.m4a`).
pub async fn encode_aac(input: &Path, output: &Path) -> Result<(), MediaError> {
    let seconds = duration(input).await.unwrap_or(600.0);
    let mut cmd = ffmpeg();
    cmd.arg("-i")
        .arg(input)
        .args([
            "-vn",
            "-c:a",
            "aac",
            "-b:a",
            "128k",
            "-movflags",
            "+faststart",
        ])
        .arg(output);
    process::run(cmd, None, budget(seconds)).await?;
    Ok(())
}

/// `input`'s audio as MP3 (LAME's VBR at quality 2, about 190 kbit/s),
/// for clients and platforms that take only MP3.
pub async fn encode_mp3(input: &Path, output: &Path) -> Result<(), MediaError> {
    let seconds = duration(input).await.unwrap_or(600.0);
    let mut cmd = ffmpeg();
    cmd.arg("-i")
        .arg(input)
        .args(["-vn", "-c:a", "libmp3lame", "-q:a", "2"])
        .arg(output);
    process::run(cmd, None, budget(seconds)).await?;
    Ok(())
}

/// The parts `spans` (start, end in seconds) of `input`'s audio, back to
/// back and at most `most_seconds` of them, as a mono MP3: a sample of one
/// person's speech for a vendor that clones voices. Returns its seconds.
pub async fn speech_sample(
    input: &Path,
    spans: &[(f64, f64)],
    most_seconds: f64,
    output: &Path,
) -> Result<f64, MediaError> {
    let mut kept = Vec::new();
    let mut total = 0.0;
    for &(start, end) in spans {
        let end = end.min(start + (most_seconds - total));
        if end - start < 0.05 {
            continue;
        }
        kept.push(format!("between(t,{start:.3},{end:.3})"));
        total += end - start;
        if total >= most_seconds - 0.05 {
            break;
        }
    }
    if kept.is_empty() {
        return Ok(0.0);
    }
    let mut cmd = ffmpeg();
    cmd.arg("-i")
        .arg(input)
        .args(["-map", "0:a:0", "-vn", "-af"])
        .arg(format!("aselect='{}',asetpts=N/SR/TB", kept.join("+")))
        .args([
            "-ac",
            "1",
            "-ar",
            "44100",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
        ])
        .arg(output);
    process::run(cmd, None, budget(total)).await?;
    Ok(total)
}

/// Encodes audio as FLAC: lossless, about half a WAV's size (the separated
/// stems, which are mixed again).
pub async fn encode_flac(input: &Path, output: &Path) -> Result<(), MediaError> {
    let seconds = duration(input).await.unwrap_or(600.0);
    let mut cmd = ffmpeg();
    cmd.arg("-i")
        .arg(input)
        .args(["-vn", "-c:a", "flac"])
        .arg(output);
    process::run(cmd, None, budget(seconds)).await?;
    Ok(())
}

/// The samples of a PCM s16le mono WAV file (chunks other than `data`, such
/// as the `LIST` chunk ffmpeg writes, are skipped).
pub fn read_wav_samples(path: &Path) -> Result<Vec<i16>, MediaError> {
    let bytes = std::fs::read(path).map_err(|source| MediaError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let bad = |detail: &str| MediaError::BadOutput {
        program: "wav reader".into(),
        detail: format!("{}: {detail}", path.display()),
    };
    if bytes.len() < 12 || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(bad("not a RIFF/WAVE file"));
    }
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().expect("4 bytes")) as usize;
        let body = at + 8;
        if id == b"fmt " {
            let format = u16::from_le_bytes([bytes[body], bytes[body + 1]]);
            let channels = u16::from_le_bytes([bytes[body + 2], bytes[body + 3]]);
            let bits = u16::from_le_bytes([bytes[body + 14], bytes[body + 15]]);
            if format != 1 || channels != 1 || bits != 16 {
                return Err(bad("expected PCM s16 mono"));
            }
        }
        if id == b"data" {
            let end = (body + size).min(bytes.len());
            return Ok(bytes[body..end]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect());
        }
        at = body + size + (size % 2);
    }
    Err(bad("no data chunk"))
}

/// Writes PCM s16le mono samples as a WAV file.
pub fn write_wav(path: &Path, samples: &[i16], sample_rate: u32) -> Result<(), MediaError> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, out).map_err(|source| MediaError::Io {
        path: path.display().to_string(),
        source,
    })
}
