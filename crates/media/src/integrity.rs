//! Whether a file plays to the end it claims. A container's header can
//! promise more than its data holds: an MP4 whose upload stopped at 30% still
//! says, in its index, how long the whole film was, and ffprobe believes it.
//! So the streams are read through: each one's packets to their end (a
//! cheap read, nothing decoded), and the audio decoded, because the audio is
//! what every job works from.

use std::path::Path;
use std::time::Duration;

use crate::probe::{MediaInfo, StreamKind};
use crate::{MediaError, ffmpeg, process};

/// How far each part of a file really goes, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ends {
    /// The audio's packets, read to their end.
    pub audio_read: f64,
    /// The audio decoded to sound.
    pub audio_decoded: f64,
    /// The video's packets, read to their end (no video: `None`).
    pub video_read: Option<f64>,
}

/// What the file turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The length that really plays: the claimed one, or what was read
    /// where the container only guessed its length.
    pub duration: f64,
}

/// Reads `path` through and judges it against what `info` claims. A file
/// cut short is `Truncated`; audio that does not decode is `Undecodable`.
pub async fn check(path: &Path, info: &MediaInfo) -> Result<Verdict, MediaError> {
    // A picture without sound (taken for a voiceover) has no audio to read.
    let (audio_read, audio_decoded, first_error) =
        match info.streams.iter().any(|s| s.kind == StreamKind::Audio) {
            true => read_audio(path, info.duration).await?,
            false => (0.0, 0.0, None),
        };
    let video_read = match info.streams.iter().any(|s| s.kind == StreamKind::Video) {
        true => Some(read_end(path, "0:v:0", info.duration).await?.0),
        false => None,
    };
    judge(
        info,
        Ends {
            audio_read,
            audio_decoded,
            video_read,
        },
        first_error.as_deref(),
    )
}

/// How far below its claim a stream may end: a second, or 1% of a long one
/// (containers round, and audio codecs trim their priming samples).
fn slack(claimed: f64) -> f64 {
    (claimed * 0.01).max(1.0)
}

/// The judgement on what was read, apart from the reading (so it is tested
/// without files).
pub fn judge(
    info: &MediaInfo,
    ends: Ends,
    first_error: Option<&str>,
) -> Result<Verdict, MediaError> {
    let claim = |kind: StreamKind| {
        info.streams
            .iter()
            .find(|s| s.kind == kind)
            .and_then(|s| s.duration)
    };
    if !info.duration_estimated {
        let parts = [
            ("audio", claim(StreamKind::Audio), Some(ends.audio_read)),
            ("video", claim(StreamKind::Video), ends.video_read),
        ];
        // A stream that claims its own length must reach it; a container
        // that claims only the whole file's must be reached by one stream.
        for (stream, claimed, read) in parts {
            if let (Some(claimed), Some(read)) = (claimed, read)
                && read < claimed - slack(claimed)
            {
                return Err(MediaError::Truncated {
                    stream: stream.into(),
                    plays: read,
                    claims: claimed,
                });
            }
        }
        let longest = ends.video_read.unwrap_or(0.0).max(ends.audio_read);
        if longest < info.duration - slack(info.duration) {
            return Err(MediaError::Truncated {
                stream: "media".into(),
                plays: longest,
                claims: info.duration,
            });
        }
    }
    if ends.audio_decoded < ends.audio_read - slack(ends.audio_read) {
        return Err(MediaError::Undecodable(format!(
            "only {:.1} s of its {:.1} s of audio decode ({})",
            ends.audio_decoded,
            ends.audio_read,
            first_error
                .unwrap_or("the decoder gave no reason")
                .chars()
                .take(200)
                .collect::<String>()
        )));
    }
    Ok(Verdict {
        duration: if info.duration_estimated {
            ends.video_read.unwrap_or(0.0).max(ends.audio_read)
        } else {
            info.duration
        },
    })
}

/// The audio's end as read and as decoded, and the decoder's first complaint.
async fn read_audio(path: &Path, claimed: f64) -> Result<(f64, f64, Option<String>), MediaError> {
    let (read, _) = read_end(path, "0:a:0", claimed).await?;
    let mut cmd = ffmpeg();
    cmd.args(["-nostats", "-i"]).arg(path).args([
        "-map",
        "0:a:0",
        "-vn",
        "-f",
        "null",
        "-progress",
        "pipe:1",
        "-",
    ]);
    let (decoded, errors) = progress_end(cmd, claimed).await?;
    let first_error = errors
        .lines()
        .map(|l| l.rsplit("] ").next().unwrap_or(l).trim())
        .find(|l| !l.is_empty())
        .map(str::to_owned);
    Ok((read, decoded, first_error))
}

/// Where the packets of `stream` (an ffmpeg map such as `0:v:0`) end.
async fn read_end(path: &Path, stream: &str, claimed: f64) -> Result<(f64, String), MediaError> {
    let mut cmd = ffmpeg();
    cmd.args(["-nostats", "-i"]).arg(path).args([
        "-map",
        stream,
        "-c",
        "copy",
        "-f",
        "null",
        "-progress",
        "pipe:1",
        "-",
    ]);
    progress_end(cmd, claimed).await
}

/// Runs an ffmpeg whose progress goes to stdout; the last time it reported,
/// in seconds, and its stderr. Damaged input makes ffmpeg complain but
/// still finish; only a run that could not start at all is an error.
async fn progress_end(
    cmd: tokio::process::Command,
    claimed: f64,
) -> Result<(f64, String), MediaError> {
    // Reading is far faster than playing: a minute, plus a second per 20 s claimed.
    let limit = Duration::from_secs_f64(60.0 + claimed.max(0.0) / 20.0);
    let out = match process::run(cmd, None, limit).await {
        Ok(out) => out,
        Err(MediaError::Failed { stderr_tail, .. }) => {
            return Err(MediaError::Undecodable(format!(
                "the decoder gave up ({})",
                stderr_tail.chars().take(200).collect::<String>()
            )));
        }
        Err(e) => return Err(e),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    let end = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("out_time_us="))
        .filter_map(|v| v.trim().parse::<i64>().ok())
        .next_back()
        .unwrap_or(0)
        .max(0) as f64
        / 1e6;
    Ok((end, String::from_utf8_lossy(&out.stderr).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::StreamInfo;

    fn stream(kind: StreamKind, duration: Option<f64>) -> StreamInfo {
        StreamInfo {
            index: 0,
            kind,
            codec: String::new(),
            language: None,
            width: None,
            height: None,
            sample_rate: None,
            channels: None,
            duration,
        }
    }

    fn info(duration: f64, audio: Option<f64>, video: Option<f64>, estimated: bool) -> MediaInfo {
        let mut streams = vec![stream(StreamKind::Audio, audio)];
        if video.is_some() {
            streams.push(stream(StreamKind::Video, video));
        }
        MediaInfo {
            duration,
            format_name: "mov,mp4,m4a,3gp,3g2,mj2".into(),
            streams,
            duration_estimated: estimated,
        }
    }

    fn ends(audio_read: f64, audio_decoded: f64, video_read: Option<f64>) -> Ends {
        Ends {
            audio_read,
            audio_decoded,
            video_read,
        }
    }

    #[test]
    fn a_whole_file_passes_with_its_claimed_length() {
        let i = info(12.96, Some(12.95), Some(12.96), false);
        let v = judge(&i, ends(12.97, 12.97, Some(12.96)), None).unwrap();
        assert_eq!(v.duration, 12.96);
    }

    #[test]
    fn an_mp4_cut_at_30_percent_is_truncated() {
        let i = info(12.96, Some(12.95), Some(12.96), false);
        let e = judge(&i, ends(3.65, 3.65, Some(3.6)), None).unwrap_err();
        assert!(
            matches!(e, MediaError::Truncated { ref stream, plays, claims } if stream == "audio" && plays == 3.65 && claims == 12.95),
            "{e}"
        );
    }

    #[test]
    fn audio_shorter_than_the_video_is_fine_when_it_says_so() {
        // A film whose sound ends 4 s before its picture.
        let i = info(60.0, Some(56.0), Some(60.0), false);
        assert!(judge(&i, ends(56.0, 56.0, Some(60.0)), None).is_ok());
        // The same in a container that gives no stream lengths (Matroska).
        let i = info(60.0, None, None, false);
        assert!(judge(&i, ends(56.0, 56.0, Some(60.0)), None).is_ok());
        assert!(judge(&i, ends(20.0, 20.0, Some(21.0)), None).is_err());
    }

    #[test]
    fn a_guessed_length_is_replaced_by_what_was_read() {
        // An MP3 without a Xing header: ffprobe guesses from the first frame's bitrate.
        let i = info(9.0, None, None, true);
        let v = judge(&i, ends(11.02, 11.02, None), None).unwrap();
        assert_eq!(v.duration, 11.02);
        let i = info(30.0, None, None, true);
        assert_eq!(
            judge(&i, ends(11.0, 11.0, None), None).unwrap().duration,
            11.0
        );
    }

    #[test]
    fn audio_that_reads_but_does_not_decode_is_undecodable() {
        let i = info(12.96, Some(12.95), Some(12.96), false);
        let e = judge(
            &i,
            ends(12.97, 10.18, Some(12.96)),
            Some("Reserved bit set."),
        )
        .unwrap_err();
        assert!(
            matches!(e, MediaError::Undecodable(ref detail) if detail.contains("10.2 s of its 13.0 s") && detail.contains("Reserved bit set.")),
            "{e}"
        );
    }
}
