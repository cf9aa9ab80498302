//! Media for players: HLS renditions (fragmented MP4, one file per
//! rendition, its segments addressed by byte ranges in a media playlist) and
//! one MP4 that carries the video once with every language's audio and
//! subtitles. The master playlist that ties renditions together is text the
//! gateway writes from the renditions a job has (`master_playlist`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{MediaError, budget, ffmpeg, probe, process};

/// Seconds per segment: short enough for a quick start and a quick switch
/// of language, long enough to keep the playlists small.
const SEGMENT_SECONDS: u32 = 6;

/// The name of the file a stage keeps its `Renditions` in.
pub const INFO_FILE: &str = "stream.json";

/// Which stream of the input a rendition carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// The first video stream: copied when it is H.264 (every HLS player
    /// plays it), otherwise encoded to H.264.
    Video,
    /// The first audio stream: copied when it is AAC in mono or stereo,
    /// otherwise encoded to AAC-LC stereo at 48 kHz.
    Audio,
}

/// What a master playlist says of a rendition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenditionInfo {
    /// Peak bits per second of a segment.
    pub bandwidth: u64,
    /// RFC 6381 codec string (`avc1.64001f`, `mp4a.40.2`).
    pub codecs: String,
    /// `WIDTHxHEIGHT`, for video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Audio channels (1 or 2), for audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<u32>,
}

/// What a stage wrote for the package, kept beside its renditions as
/// `stream.json`: the master playlist is written from these.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Renditions {
    /// The language spoken in the audio rendition (BCP 47, `es`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<RenditionInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<RenditionInfo>,
    /// Why a rendition the stage would have written is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A rendition written to disk.
#[derive(Debug, Clone)]
pub struct Rendition {
    /// The media playlist; it refers to the media file by its name alone.
    pub playlist: PathBuf,
    /// The fragmented MP4 holding every segment.
    pub media: PathBuf,
    pub info: RenditionInfo,
}

/// Writes `{name}.m3u8` and `{name}.mp4` in `dir`: one HLS rendition of
/// `track` of `input`.
pub async fn rendition(
    input: &Path,
    info: &probe::MediaInfo,
    track: Track,
    name: &str,
    dir: &Path,
) -> Result<Rendition, MediaError> {
    let playlist = dir.join(format!("{name}.m3u8"));
    let media = dir.join(format!("{name}.mp4"));
    let master_name = format!("{name}-master.m3u8");
    let mut cmd = ffmpeg();
    cmd.arg("-i").arg(input);
    let mut encodes = false;
    let mut channels = None;
    match track {
        Track::Video => {
            let video = info
                .streams
                .iter()
                .find(|s| s.kind == probe::StreamKind::Video)
                .ok_or_else(|| MediaError::NotMedia("it has no video stream".into()))?;
            cmd.args(["-map", "0:v:0"]);
            if video.codec == "h264" {
                cmd.args(["-c:v", "copy"]);
            } else {
                encodes = true;
                cmd.args([
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    "-crf",
                    "21",
                    "-pix_fmt",
                    "yuv420p",
                    // A key frame at every segment boundary.
                    "-force_key_frames",
                ])
                .arg(format!("expr:gte(t,n_forced*{SEGMENT_SECONDS})"));
            }
        }
        Track::Audio => {
            let audio = info
                .streams
                .iter()
                .find(|s| s.kind == probe::StreamKind::Audio)
                .ok_or_else(|| MediaError::NotMedia("it has no audio stream".into()))?;
            cmd.args(["-map", "0:a:0"]);
            channels = audio.channels.filter(|c| (1..=2).contains(c));
            if audio.codec == "aac" && channels.is_some() {
                // Already what players take: copied, not encoded again.
                cmd.args(["-c:a", "copy"]);
            } else {
                encodes = true;
                channels = Some(2);
                cmd.args(["-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2"]);
            }
        }
    }
    cmd.args([
        "-f",
        "hls",
        "-hls_segment_type",
        "fmp4",
        "-hls_flags",
        "single_file",
    ])
    .args(["-hls_playlist_type", "vod", "-hls_time"])
    .arg(SEGMENT_SECONDS.to_string())
    .arg("-hls_segment_filename")
    .arg(&media)
    .arg("-master_pl_name")
    .arg(&master_name)
    .arg(&playlist);
    let seconds = info.duration * if encodes { 3.0 } else { 1.0 };
    process::run(cmd, None, budget(seconds)).await?;

    let master = tokio::fs::read_to_string(dir.join(&master_name))
        .await
        .map_err(|source| MediaError::Io {
            path: master_name.clone(),
            source,
        })?;
    let attributes = master
        .lines()
        .find_map(|l| l.strip_prefix("#EXT-X-STREAM-INF:"))
        .map(parse_attributes)
        .unwrap_or_default();
    let _ = tokio::fs::remove_file(dir.join(&master_name)).await;
    let value = |name: &str| {
        attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let codecs = match track {
        Track::Video => avc_codec(&media).await?,
        Track::Audio => "mp4a.40.2".to_owned(),
    };
    Ok(Rendition {
        playlist,
        media,
        info: RenditionInfo {
            bandwidth: value("BANDWIDTH").and_then(|b| b.parse().ok()).unwrap_or(0),
            codecs,
            resolution: value("RESOLUTION"),
            channels,
        },
    })
}

/// The `avc1.PPCCLL` codec string of a fragmented MP4's H.264 stream, from
/// its decoder configuration (`avcC`) in the initialization segment.
async fn avc_codec(media: &Path) -> Result<String, MediaError> {
    use tokio::io::AsyncReadExt;
    let mut head = vec![0u8; 64 * 1024];
    let mut file = tokio::fs::File::open(media)
        .await
        .map_err(|source| MediaError::Io {
            path: media.display().to_string(),
            source,
        })?;
    let n = file
        .read(&mut head)
        .await
        .map_err(|source| MediaError::Io {
            path: media.display().to_string(),
            source,
        })?;
    avc_codec_of(&head[..n]).ok_or_else(|| MediaError::BadOutput {
        program: "ffmpeg".into(),
        detail: "the video rendition has no H.264 configuration".into(),
    })
}

fn avc_codec_of(init: &[u8]) -> Option<String> {
    let at = init.windows(4).position(|w| w == b"avcC")?;
    // configurationVersion, then profile, compatibility and level.
    let config = init.get(at + 4..at + 8)?;
    Some(format!(
        "avc1.{:02x}{:02x}{:02x}",
        config[1], config[2], config[3]
    ))
}

/// `KEY=value,KEY="quoted, value"` as pairs (RFC 8216, 4.2).
fn parse_attributes(list: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = list.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted.find('"').unwrap_or(quoted.len());
            let tail = quoted.get(end + 1..).unwrap_or("");
            (&quoted[..end], tail)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        pairs.push((key.trim().to_owned(), value.to_owned()));
        rest = tail.trim_start_matches(',').trim_start();
    }
    pairs
}

/// An alternative audio or subtitle rendition in a master playlist.
#[derive(Debug, Clone)]
pub struct MediaEntry {
    /// The language's BCP 47 tag (`es`).
    pub language: String,
    /// What a player's menu shows (`Español`, `English (original)`).
    pub name: String,
    /// The media playlist, relative to the master.
    pub uri: String,
    pub default: bool,
}

/// The master playlist of a package: the video once (or, for audio-only
/// media, the default audio), each language's audio as an alternative
/// rendition and each language's subtitles as a subtitle rendition.
pub fn master_playlist(
    video: Option<(&str, &RenditionInfo)>,
    audio: &[(MediaEntry, RenditionInfo)],
    subtitles: &[MediaEntry],
) -> String {
    let mut out = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let quoted = |s: &str| s.replace(['"', '\n', '\r'], "");
    for (entry, info) in audio {
        out.push_str(&format!(
            "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",LANGUAGE=\"{}\",NAME=\"{}\",DEFAULT={},AUTOSELECT=YES,CHANNELS=\"{}\",URI=\"{}\"\n",
            quoted(&entry.language),
            quoted(&entry.name),
            if entry.default { "YES" } else { "NO" },
            info.channels.unwrap_or(2),
            quoted(&entry.uri)
        ));
    }
    for entry in subtitles {
        out.push_str(&format!(
            "#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"subtitles\",LANGUAGE=\"{}\",NAME=\"{}\",DEFAULT={},AUTOSELECT=YES,FORCED=NO,URI=\"{}\"\n",
            quoted(&entry.language),
            quoted(&entry.name),
            if entry.default { "YES" } else { "NO" },
            quoted(&entry.uri)
        ));
    }
    let audio_peak = audio.iter().map(|(_, i)| i.bandwidth).max().unwrap_or(0);
    let audio_codec = audio.first().map(|(_, i)| i.codecs.as_str());
    let subtitle_group = if subtitles.is_empty() {
        ""
    } else {
        ",SUBTITLES=\"subtitles\""
    };
    match video {
        Some((uri, info)) => {
            let codecs = match audio_codec {
                Some(a) => format!("{},{a}", info.codecs),
                None => info.codecs.clone(),
            };
            let resolution = info
                .resolution
                .as_deref()
                .map(|r| format!(",RESOLUTION={r}"))
                .unwrap_or_default();
            let audio_group = if audio.is_empty() {
                ""
            } else {
                ",AUDIO=\"audio\""
            };
            out.push_str(&format!(
                "#EXT-X-STREAM-INF:BANDWIDTH={},CODECS=\"{}\"{resolution}{audio_group}{subtitle_group}\n{}\n",
                info.bandwidth + audio_peak,
                quoted(&codecs),
                quoted(uri)
            ));
        }
        None => {
            // Audio only: the default language's playlist is the main
            // stream, the others its alternatives.
            if let Some((entry, info)) = audio.iter().find(|(e, _)| e.default).or(audio.first()) {
                out.push_str(&format!(
                    "#EXT-X-STREAM-INF:BANDWIDTH={},CODECS=\"{}\",AUDIO=\"audio\"{subtitle_group}\n{}\n",
                    info.bandwidth,
                    quoted(&info.codecs),
                    quoted(&entry.uri)
                ));
            }
        }
    }
    out
}

/// The media playlist of a subtitle rendition: one WebVTT file covering
/// `duration` seconds.
pub fn subtitle_playlist(vtt_name: &str, duration: f64) -> String {
    let duration = duration.max(0.001);
    format!(
        "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:{duration:.3},\n{vtt_name}\n#EXT-X-ENDLIST\n",
        duration.ceil() as u64
    )
}

/// A rendition for a DASH manifest, addressed as its HLS media playlist
/// addresses it: the same fragmented MP4, the same byte ranges.
#[derive(Debug, Clone)]
pub struct DashRendition<'a> {
    /// The language (BCP 47) and a label for people; none for video.
    pub language: Option<(&'a str, &'a str)>,
    /// Where the fragmented MP4 is, relative to the manifest.
    pub media_uri: &'a str,
    /// Its HLS media playlist's text.
    pub playlist: &'a str,
    pub info: &'a RenditionInfo,
}

/// A subtitle file (WebVTT) for a DASH manifest.
#[derive(Debug, Clone)]
pub struct DashText<'a> {
    pub language: &'a str,
    pub label: &'a str,
    pub uri: &'a str,
}

/// The segments of an HLS media playlist whose segments are byte ranges of
/// one file: the initialization range and each segment's (seconds, range).
#[derive(Debug, Clone, PartialEq)]
struct ByteRanges {
    init: std::ops::Range<u64>,
    segments: Vec<(f64, std::ops::Range<u64>)>,
}

/// `length@offset` (the offset continuing from `next` when left out).
fn byte_range(spec: &str, next: u64) -> Option<std::ops::Range<u64>> {
    let (length, offset) = match spec.split_once('@') {
        Some((l, o)) => (l.parse::<u64>().ok()?, o.parse::<u64>().ok()?),
        None => (spec.parse::<u64>().ok()?, next),
    };
    Some(offset..offset + length)
}

fn byte_ranges(playlist: &str) -> Option<ByteRanges> {
    let mut init = None;
    let mut segments = Vec::new();
    let mut seconds = None;
    let mut next = 0;
    for line in playlist.lines() {
        if let Some(map) = line.strip_prefix("#EXT-X-MAP:") {
            let attributes = parse_attributes(map);
            let range = attributes.iter().find(|(k, _)| k == "BYTERANGE")?;
            init = Some(byte_range(&range.1, 0)?);
        } else if let Some(info) = line.strip_prefix("#EXTINF:") {
            seconds = info.split(',').next()?.trim().parse::<f64>().ok();
        } else if let Some(spec) = line.strip_prefix("#EXT-X-BYTERANGE:") {
            let range = byte_range(spec.trim(), next)?;
            next = range.end;
            segments.push((seconds.take()?, range));
        }
    }
    Some(ByteRanges {
        init: init?,
        segments,
    })
}

/// An XML attribute value.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The `<SegmentList>` of a rendition, in milliseconds.
fn segment_list(ranges: &ByteRanges) -> String {
    let mut out = format!(
        "<SegmentList timescale=\"1000\"><Initialization range=\"{}-{}\"/><SegmentTimeline>",
        ranges.init.start,
        ranges.init.end - 1
    );
    let mut at = 0u64;
    for (seconds, _) in &ranges.segments {
        let d = (seconds * 1000.0).round() as u64;
        out.push_str(&format!("<S t=\"{at}\" d=\"{d}\"/>"));
        at += d;
    }
    out.push_str("</SegmentTimeline>");
    for (_, range) in &ranges.segments {
        out.push_str(&format!(
            "<SegmentURL mediaRange=\"{}-{}\"/>",
            range.start,
            range.end - 1
        ));
    }
    out.push_str("</SegmentList>");
    out
}

/// The DASH manifest (MPD) of a package: the same renditions as its HLS
/// master playlist, the video once, each language's audio (the first the
/// default) and subtitles, each segment a byte range of its file. `None`
/// when a rendition's playlist cannot be read.
pub fn dash_manifest(
    duration: f64,
    video: Option<DashRendition<'_>>,
    audio: &[DashRendition<'_>],
    subtitles: &[DashText<'_>],
) -> Option<String> {
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<MPD xmlns=\"urn:mpeg:dash:schema:mpd:2011\" \
         profiles=\"urn:mpeg:dash:profile:full:2011\" type=\"static\" minBufferTime=\"PT2S\" \
         mediaPresentationDuration=\"PT{duration:.3}S\">\n<Period id=\"0\" start=\"PT0S\">\n"
    );
    if let Some(v) = video {
        let ranges = byte_ranges(v.playlist)?;
        let size = v
            .info
            .resolution
            .as_deref()
            .and_then(|r| r.split_once('x'))
            .map(|(w, h)| format!(" width=\"{w}\" height=\"{h}\""))
            .unwrap_or_default();
        out.push_str(&format!(
            "<AdaptationSet id=\"video\" contentType=\"video\" mimeType=\"video/mp4\" segmentAlignment=\"true\">\n\
             <Representation id=\"video\" bandwidth=\"{}\" codecs=\"{}\"{size}><BaseURL>{}</BaseURL>{}</Representation>\n\
             </AdaptationSet>\n",
            v.info.bandwidth,
            xml(&v.info.codecs),
            xml(v.media_uri),
            segment_list(&ranges)
        ));
    }
    for (i, a) in audio.iter().enumerate() {
        let ranges = byte_ranges(a.playlist)?;
        let (language, label) = a.language.unwrap_or(("und", "audio"));
        let role = if i == 0 { "main" } else { "dub" };
        out.push_str(&format!(
            "<AdaptationSet id=\"audio-{i}\" contentType=\"audio\" mimeType=\"audio/mp4\" lang=\"{}\" segmentAlignment=\"true\">\n\
             <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"{role}\"/><Label>{}</Label>\n\
             <Representation id=\"audio-{i}\" bandwidth=\"{}\" codecs=\"{}\" audioSamplingRate=\"48000\"><BaseURL>{}</BaseURL>{}</Representation>\n\
             </AdaptationSet>\n",
            xml(language),
            xml(label),
            a.info.bandwidth,
            xml(&a.info.codecs),
            xml(a.media_uri),
            segment_list(&ranges)
        ));
    }
    for (i, t) in subtitles.iter().enumerate() {
        out.push_str(&format!(
            "<AdaptationSet id=\"text-{i}\" contentType=\"text\" mimeType=\"text/vtt\" lang=\"{}\">\n\
             <Role schemeIdUri=\"urn:mpeg:dash:role:2011\" value=\"subtitle\"/><Label>{}</Label>\n\
             <Representation id=\"text-{i}\" bandwidth=\"256\"><BaseURL>{}</BaseURL></Representation>\n\
             </AdaptationSet>\n",
            xml(t.language),
            xml(t.label),
            xml(t.uri)
        ));
    }
    out.push_str("</Period>\n</MPD>\n");
    Some(out)
}

/// One track of the all-languages MP4.
#[derive(Debug, Clone)]
pub struct LanguageTrack<'a> {
    pub file: &'a Path,
    /// ISO 639-2 code, for the track's `language` tag.
    pub iso639_2: &'a str,
    /// The track's title (`Español`, `English (original)`).
    pub title: &'a str,
}

/// Writes one MP4 holding the video of `video` once, every audio track
/// (the first is the default) and every subtitle track (WebVTT in, MP4
/// text out), each tagged with its language. Streams are copied, not
/// encoded: the renditions already are what the MP4 holds.
pub async fn all_languages_mp4(
    video: Option<&Path>,
    audio: &[LanguageTrack<'_>],
    subtitles: &[LanguageTrack<'_>],
    duration: f64,
    out: &Path,
) -> Result<(), MediaError> {
    let mut cmd = ffmpeg();
    // Every input first, then what is taken of each.
    let inputs = video
        .into_iter()
        .chain(audio.iter().chain(subtitles).map(|t| t.file));
    for file in inputs {
        cmd.arg("-i").arg(file);
    }
    let mut input = 0;
    if video.is_some() {
        cmd.args(["-map", "0:v:0"]);
        input += 1;
    }
    for _ in audio {
        cmd.args(["-map", &format!("{input}:a:0")]);
        input += 1;
    }
    for _ in subtitles {
        cmd.args(["-map", &format!("{input}:0")]);
        input += 1;
    }
    cmd.args(["-c:v", "copy", "-c:a", "copy", "-c:s", "mov_text"]);
    for (i, track) in audio.iter().enumerate() {
        cmd.arg(format!("-metadata:s:a:{i}"))
            .arg(format!("language={}", track.iso639_2))
            .arg(format!("-metadata:s:a:{i}"))
            .arg(format!("title={}", track.title))
            .arg(format!("-disposition:a:{i}"))
            .arg(if i == 0 { "default" } else { "0" });
    }
    for (i, track) in subtitles.iter().enumerate() {
        cmd.arg(format!("-metadata:s:s:{i}"))
            .arg(format!("language={}", track.iso639_2))
            .arg(format!("-metadata:s:s:{i}"))
            .arg(format!("title={}", track.title))
            .arg(format!("-disposition:s:{i}"))
            .arg("0");
    }
    cmd.args(["-movflags", "+faststart"]).arg(out);
    process::run(cmd, None, budget(duration)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_keep_commas_inside_quotes() {
        let pairs = parse_attributes(
            r#"BANDWIDTH=821945,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360"#,
        );
        assert_eq!(
            pairs,
            vec![
                ("BANDWIDTH".into(), "821945".into()),
                ("CODECS".into(), "avc1.64001e,mp4a.40.2".into()),
                ("RESOLUTION".into(), "640x360".into()),
            ]
        );
    }

    #[test]
    fn the_avc_string_comes_from_the_decoder_configuration() {
        let init = [b"....avcC".as_slice(), &[1, 0x64, 0x00, 0x1f, 0xff]].concat();
        assert_eq!(avc_codec_of(&init).as_deref(), Some("avc1.64001f"));
        assert_eq!(avc_codec_of(b"no configuration"), None);
    }

    #[test]
    fn the_master_names_every_language_and_the_video_once() {
        let video = RenditionInfo {
            bandwidth: 800_000,
            codecs: "avc1.64001e".into(),
            resolution: Some("640x360".into()),
            channels: None,
        };
        let aac = RenditionInfo {
            bandwidth: 140_000,
            codecs: "mp4a.40.2".into(),
            resolution: None,
            channels: Some(2),
        };
        let entry = |language: &str, default| MediaEntry {
            language: language.into(),
            name: language.into(),
            uri: format!("audio/{language}.m3u8"),
            default,
        };
        let master = master_playlist(
            Some(("video.m3u8", &video)),
            &[(entry("en", true), aac.clone()), (entry("es", false), aac)],
            &[entry("es", false)],
        );
        assert_eq!(master.matches("TYPE=AUDIO").count(), 2);
        assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 1);
        assert!(master.contains(
            "BANDWIDTH=940000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,AUDIO=\"audio\",SUBTITLES=\"subtitles\"\nvideo.m3u8\n"
        ));
        assert!(master.contains("LANGUAGE=\"en\",NAME=\"en\",DEFAULT=YES"));
    }

    #[test]
    fn dash_segments_are_the_hls_playlists_byte_ranges() {
        let playlist = "#EXTM3U\n#EXT-X-MAP:URI=\"es.mp4\",BYTERANGE=\"765@0\"\n#EXTINF:6.016000,\n#EXT-X-BYTERANGE:86455@765\nes.mp4\n#EXTINF:2.0,\n#EXT-X-BYTERANGE:100\nes.mp4\n#EXT-X-ENDLIST\n";
        let ranges = byte_ranges(playlist).unwrap();
        assert_eq!(ranges.init, 0..765);
        assert_eq!(
            ranges.segments,
            vec![(6.016, 765..87220), (2.0, 87220..87320)]
        );
        let info = RenditionInfo {
            bandwidth: 140_000,
            codecs: "mp4a.40.2".into(),
            resolution: None,
            channels: Some(2),
        };
        let audio = DashRendition {
            language: Some(("es", "Spanish")),
            media_uri: "audio/es.mp4",
            playlist,
            info: &info,
        };
        let mpd = dash_manifest(8.0, None, &[audio], &[]).unwrap();
        assert!(mpd.contains("<Initialization range=\"0-764\"/>"), "{mpd}");
        assert!(
            mpd.contains("<S t=\"0\" d=\"6016\"/><S t=\"6016\" d=\"2000\"/>"),
            "{mpd}"
        );
        assert!(
            mpd.contains("<SegmentURL mediaRange=\"87220-87319\"/>"),
            "{mpd}"
        );
        assert!(mpd.contains("lang=\"es\""), "{mpd}");
        assert_eq!(byte_ranges("#EXTM3U\nno map\n"), None);
    }

    #[test]
    fn a_subtitle_playlist_covers_the_whole_media() {
        let p = subtitle_playlist("es.vtt", 20.5);
        assert!(p.contains("#EXT-X-TARGETDURATION:21\n"));
        assert!(p.contains("#EXTINF:20.500,\nes.vtt\n#EXT-X-ENDLIST"));
    }
}
