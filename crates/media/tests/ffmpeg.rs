//! The media operations on real files made with ffmpeg's test sources.

use std::path::{Path, PathBuf};
use std::process::Command;

use voxline_core::Language;
use voxline_media::{MediaError, StreamKind, audio, integrity, mix, mux, probe};

fn make(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg could not make {name}");
    out
}

fn video(dir: &Path) -> PathBuf {
    make(
        dir,
        "video.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=160x120:rate=25:duration=4",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=4",
            "-c:v",
            "libx264",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
            "-metadata:s:a:0",
            "language=eng",
        ],
    )
}

#[tokio::test]
async fn probe_describes_media_and_refuses_what_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let v = video(dir.path());
    let info = probe::probe(&v).await.unwrap();
    assert!((info.duration - 4.0).abs() < 0.1, "{info:?}");
    assert!(info.has_video() && info.has_audio());
    assert_eq!(
        info.streams
            .iter()
            .find(|s| s.kind == StreamKind::Audio)
            .unwrap()
            .language
            .as_deref(),
        Some("eng")
    );

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not media at all\n".repeat(100)).unwrap();
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let png = make(
        dir.path(),
        "frame.png",
        &["-f", "lavfi", "-i", "testsrc2=size=64x64", "-frames:v", "1"],
    );
    let truncated = dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &std::fs::read(&v).unwrap()[..3000]).unwrap();
    for bad in [&text, &empty, &png, &truncated] {
        match probe::probe(bad).await {
            Err(MediaError::NotMedia(reason)) => assert!(!reason.is_empty()),
            other => panic!("{} was accepted: {other:?}", bad.display()),
        }
    }
}

#[tokio::test]
async fn a_file_is_read_through_to_the_end_it_claims() {
    let dir = tempfile::tempdir().unwrap();
    let v = video(dir.path());
    let whole = probe::probe(&v).await.unwrap();
    let verdict = integrity::check(&v, &whole).await.unwrap();
    assert_eq!(verdict.duration, whole.duration);

    // The first 40% of a file with its index at the front, which still claims 4 s.
    let v = make(
        dir.path(),
        "front.mp4",
        &[
            "-i",
            v.to_str().unwrap(),
            "-c",
            "copy",
            "-movflags",
            "+faststart",
        ],
    );
    let bytes = std::fs::read(&v).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() * 4 / 10]).unwrap();
    let info = probe::probe(&cut).await.unwrap();
    assert!((info.duration - 4.0).abs() < 0.1, "{info:?}");
    match integrity::check(&cut, &info).await {
        Err(MediaError::Truncated { plays, claims, .. }) => {
            assert!(plays < 3.0 && claims > 3.9, "{plays} of {claims}")
        }
        other => panic!("a cut file passed: {other:?}"),
    }

    // A VBR MP3 without a Xing header: ffprobe only guesses its length, so
    // what was read stands in its place, and the file is not refused.
    let mp3 = make(
        dir.path(),
        "vbr.mp3",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=2,apad=pad_dur=6",
            "-c:a",
            "libmp3lame",
            "-q:a",
            "9",
            "-write_xing",
            "0",
        ],
    );
    let info = probe::probe(&mp3).await.unwrap();
    assert!(info.duration_estimated, "{info:?}");
    let verdict = integrity::check(&mp3, &info).await.unwrap();
    assert!(
        (verdict.duration - 8.0).abs() < 0.2,
        "{verdict:?} for {info:?}"
    );
}

#[tokio::test]
async fn tempo_mix_and_mux_keep_the_lengths_that_matter() {
    let dir = tempfile::tempdir().unwrap();
    let v = video(dir.path());
    let speech = make(
        dir.path(),
        "speech.wav",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=600:sample_rate=22050:duration=2",
        ],
    );

    // 2 s at 1.25x lasts 1.6 s.
    let faster = dir.path().join("faster.wav");
    audio::change_tempo(&speech, &faster, 1.25).await.unwrap();
    let d = audio::duration(&faster).await.unwrap();
    assert!((d - 1.6).abs() < 0.05, "{d}");

    // The mix lasts exactly as long as asked, whatever its inputs.
    let voice = dir.path().join("voice.wav");
    audio::to_pcm_48k_mono(&speech, &voice).await.unwrap();
    let mixed = dir.path().join("mix.wav");
    mix::duck_and_mix(&voice, &v, 0.5, 4.0, &mixed)
        .await
        .unwrap();
    let d = audio::duration(&mixed).await.unwrap();
    assert!((d - 4.0).abs() < 0.03, "{d}");

    let (es, en) = (
        Language::parse("es").unwrap(),
        Language::parse("en").unwrap(),
    );
    let srt = dir.path().join("subs.srt");
    std::fs::write(&srt, "1\n00:00:00,500 --> 00:00:02,000\nHola.\n\n").unwrap();
    let soft = dir.path().join("soft.mp4");
    mux::mux(mux::MuxRequest {
        source: &v,
        dub_audio: &mixed,
        dub_language: &es,
        original_language: Some(&en),
        subtitles: Some((&srt, &es)),
        burn_subtitles: false,
        out: &soft,
    })
    .await
    .unwrap();
    let info = probe::probe(&soft).await.unwrap();
    let tags: Vec<(StreamKind, Option<&str>)> = info
        .streams
        .iter()
        .map(|s| (s.kind, s.language.as_deref()))
        .collect();
    assert_eq!(
        tags,
        vec![
            (StreamKind::Video, Some("und")),
            (StreamKind::Audio, Some("spa")),
            (StreamKind::Audio, Some("eng")),
            (StreamKind::Subtitle, Some("spa"))
        ]
    );
    assert!((info.duration - 4.0).abs() < 0.1, "{}", info.duration);

    let burned = dir.path().join("burned.mp4");
    mux::mux(mux::MuxRequest {
        source: &v,
        dub_audio: &mixed,
        dub_language: &es,
        original_language: None,
        subtitles: Some((&srt, &es)),
        burn_subtitles: true,
        out: &burned,
    })
    .await
    .unwrap();
    let info = probe::probe(&burned).await.unwrap();
    assert!(
        !info.streams.iter().any(|s| s.kind == StreamKind::Subtitle),
        "burned in, not a track"
    );
    assert_eq!(
        info.streams
            .iter()
            .filter(|s| s.kind == StreamKind::Audio)
            .count(),
        1
    );

    // An audio-only source gives an audio-only result.
    let song = make(
        dir.path(),
        "song.m4a",
        &[
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:duration=4",
            "-c:a",
            "aac",
        ],
    );
    let out = dir.path().join("dub.m4a");
    mux::mux(mux::MuxRequest {
        source: &song,
        dub_audio: &mixed,
        dub_language: &es,
        original_language: Some(&en),
        subtitles: Some((&srt, &es)),
        burn_subtitles: false,
        out: &out,
    })
    .await
    .unwrap();
    let info = probe::probe(&out).await.unwrap();
    assert!(!info.has_video());
    assert_eq!(info.streams.len(), 2);
}
