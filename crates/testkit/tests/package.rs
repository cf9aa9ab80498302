//! A dub's streaming package, as players take it:
//! - the HLS master playlist names the video once, the original and each
//!   language's dub as audio renditions and each language's subtitles;
//!   ffprobe reads the video and every audio rendition with its language;
//! - headless Chromium plays it with hls.js (npm) and switches to the
//!   Spanish dub and subtitles while playing;
//! - the same renditions as a DASH manifest: ffprobe reads them, dash.js
//!   (npm) plays them and switches language;
//! - the all-languages MP4 holds one video, three audio tracks and three
//!   subtitle tracks, each tagged with its language;
//! - media answer byte ranges, and players on other sites may fetch the
//!   package (CORS).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};
use voxline_testkit::webdriver::Browser;
use voxline_testkit::{TestEnv, sample_clip_saying, spawn_system};

const WAIT: Duration = Duration::from_secs(300);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_is_packaged_for_players_in_every_language() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let clip = sample_clip_saying(
        &sys.env.path("media"),
        Some("Welcome to the show. Today we talk about music. Thank you very much."),
    )?;
    let job = sys.dub(&clip, &["es", "fr"]).await?;
    let id = job["id"].as_str().unwrap().to_owned();
    let done = sys.wait_for_job(&id, WAIT).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let master_url = done["package"]["hls_url"]
        .as_str()
        .unwrap_or_else(|| panic!("the job links its package: {done:#}"))
        .to_owned();
    let mp4_url = done["package"]["mp4_url"].as_str().unwrap().to_owned();
    // Renditions are reached through the package, not listed as files.
    let files = done.to_string();
    assert!(!files.contains("\"stream_"), "{done:#}");

    // The master playlist: one video, three audio renditions with the
    // original the default, three subtitle renditions.
    let http = reqwest::Client::new();
    let master = http.get(&master_url).send().await?;
    assert_eq!(master.status(), 200);
    assert_eq!(
        master.headers()["content-type"],
        "application/vnd.apple.mpegurl"
    );
    let master = master.text().await?;
    assert_eq!(master.matches("#EXT-X-STREAM-INF").count(), 1, "{master}");
    assert_eq!(master.matches("TYPE=AUDIO").count(), 3, "{master}");
    assert_eq!(master.matches("TYPE=SUBTITLES").count(), 3, "{master}");
    assert!(
        master.contains("LANGUAGE=\"en\",NAME=\"English (original)\",DEFAULT=YES"),
        "{master}"
    );
    assert!(master.contains("URI=\"audio/es.m3u8\""), "{master}");
    assert!(master.contains("CODECS=\"avc1."), "{master}");

    // ffprobe reads the whole package through the gateway.
    let streams = ffprobe_streams(&master_url)?;
    let kinds = |kind: &str| languages_of(&streams, kind);
    assert_eq!(kinds("video").len(), 1, "{streams:#?}");
    let mut audio = kinds("audio");
    audio.sort();
    assert_eq!(audio, ["en", "es", "fr"], "{streams:#?}");
    // (ffmpeg's HLS reader leaves subtitle renditions out: they are read
    // here, and shown by Chromium below.)
    let folder = master_url.trim_end_matches("master.m3u8");
    for language in ["original", "es", "fr"] {
        let playlist = http
            .get(format!("{folder}subtitles/{language}.m3u8"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        assert!(
            playlist.contains(&format!("\n{language}.vtt\n")),
            "{playlist}"
        );
        let vtt = http
            .get(format!("{folder}subtitles/{language}.vtt"))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        assert!(vtt.starts_with("WEBVTT") && vtt.contains(" --> "), "{vtt}");
    }

    // Byte ranges, as HLS segments are read; past the end is a 416.
    let part = http
        .get(format!("{folder}audio/es.mp4"))
        .header("range", "bytes=0-99")
        .send()
        .await?;
    assert_eq!(part.status(), 206);
    assert!(
        part.headers()["content-range"]
            .to_str()?
            .starts_with("bytes 0-99/")
    );
    assert_eq!(part.bytes().await?.len(), 100);
    let past = http
        .get(format!("{folder}audio/es.mp4"))
        .header("range", "bytes=999999999-")
        .send()
        .await?;
    assert_eq!(past.status(), 416);
    assert_eq!(
        past.json::<Value>().await?["error"]["code"],
        "range_not_satisfiable"
    );
    // A player on another site may fetch it; a tampered link may not.
    let cross = http
        .get(&master_url)
        .header("origin", "https://player.example")
        .send()
        .await?;
    assert_eq!(cross.status(), 200);
    assert_eq!(
        cross.headers()["access-control-allow-origin"],
        "https://player.example"
    );
    let tampered = master_url.replace(&id, &id.replace(|c: char| c.is_ascii_digit(), "0"));
    let refused = http.get(&tampered).send().await?;
    assert_eq!(refused.status(), 403, "{tampered}");
    let missing = http.get(format!("{folder}audio/de.m3u8")).send().await?;
    assert_eq!(missing.status(), 404);

    // Chromium plays it with hls.js and switches language while playing.
    play_in_chromium(&sys.url("/healthz"), &master_url).await?;

    // The same renditions as DASH: ffprobe reads them, dash.js plays them.
    let mpd_url = done["package"]["dash_url"].as_str().unwrap().to_owned();
    let dash = ffprobe_streams(&mpd_url)?;
    assert_eq!(languages_of(&dash, "video").len(), 1, "{dash:#?}");
    assert_eq!(languages_of(&dash, "audio").len(), 3, "{dash:#?}");
    play_dash_in_chromium(&sys.url("/healthz"), &mpd_url).await?;

    // One MP4 with every language.
    let mp4 = sys.env.path("all.mp4");
    let answer = http.get(&mp4_url).send().await?;
    let status = answer.status();
    let bytes = answer.bytes().await?;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    std::fs::write(&mp4, &bytes)?;
    let streams = ffprobe_streams(mp4.to_str().unwrap())?;
    let tracks = |kind: &str| languages_of(&streams, kind);
    assert_eq!(tracks("video").len(), 1, "{streams:#?}");
    assert_eq!(tracks("audio"), ["eng", "spa", "fre"], "{streams:#?}");
    assert_eq!(tracks("subtitle"), ["eng", "spa", "fre"], "{streams:#?}");
    let duration = done["duration"].as_f64().unwrap();
    for s in streams.iter().filter(|s| s["codec_type"] == "audio") {
        let d: f64 = s["duration"].as_str().unwrap_or("0").parse()?;
        assert!((d - duration).abs() < 0.5, "{d} s of {duration} s: {s:#}");
    }
    // Asked again, it is the same file, not made anew.
    let again = http.get(&mp4_url).send().await?.bytes().await?;
    assert_eq!(again, bytes);
    Ok(())
}

/// The language tag of each stream of `kind` (`audio`, ...), in order.
fn languages_of(streams: &[Value], kind: &str) -> Vec<String> {
    streams
        .iter()
        .filter(|s| s["codec_type"] == kind)
        .map(|s| s["tags"]["language"].as_str().unwrap_or("").to_owned())
        .collect()
}

/// Every stream ffprobe finds at `input` (a URL or a file).
fn ffprobe_streams(input: &str) -> anyhow::Result<Vec<Value>> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,duration:stream_tags=language",
            "-of",
            "json",
            input,
        ])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "ffprobe {input}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let probed: Value = serde_json::from_slice(&out.stdout)?;
    Ok(probed["streams"].as_array().cloned().unwrap_or_default())
}

/// A player's script as `setup.sh --test` installs it (`package/dist/...`).
fn player_js(file: &str) -> anyhow::Result<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/tools/players/node_modules")
        .join(file);
    std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "{}: {e} (scripts/setup.sh --test installs it)",
            path.display()
        )
    })
}

/// Runs `script` in the page until `done` holds for what it returns (60 s
/// at most), failing at once on an error the player calls fatal.
async fn poll(
    browser: &Browser,
    script: &str,
    what: &str,
    done: &dyn Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = browser.execute(script, vec![]).await?;
        let fatal = now["errors"].as_array().is_some_and(|e| {
            e.iter()
                .any(|e| e.as_str().unwrap_or("").ends_with("fatal=true"))
        });
        anyhow::ensure!(!fatal, "failed while {what}: {now:#}");
        if done(&now) {
            return Ok(now);
        }
        anyhow::ensure!(
            tokio::time::Instant::now() < deadline,
            "never got to {what}: {now:#}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Plays the DASH manifest `mpd` with dash.js in a page of `page`'s origin:
/// the video advances with the original audio, then with the Spanish dub's.
async fn play_dash_in_chromium(page: &str, mpd: &str) -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    browser.goto(page).await?;
    browser
        .execute(
            &player_js("dashjs/dist/modern/umd/dash.all.min.js")?,
            vec![],
        )
        .await?;
    browser
        .execute(
            r#"
            const video = document.createElement('video');
            video.muted = true;
            document.body.appendChild(video);
            const player = dashjs.MediaPlayer().create();
            window.played = { errors: [], fragments: [] };
            player.on(dashjs.MediaPlayer.events.ERROR, (e) => played.errors.push(`${JSON.stringify(e.error)} fatal=true`));
            player.on(dashjs.MediaPlayer.events.FRAGMENT_LOADING_COMPLETED, (e) => played.fragments.push(e.request.url));
            player.initialize(video, arguments[0], true);
            window.player = player;
            window.video = video;
            "#,
            vec![json!(mpd)],
        )
        .await?;
    let state = "return { time: video.currentTime, errors: played.errors, fragments: played.fragments, \
        audio: player.getTracksFor('audio').map(t => t.lang), \
        text: player.getTracksFor('text').map(t => t.lang), \
        frames: video.getVideoPlaybackQuality().totalVideoFrames }";
    let playing = poll(&browser, state, "dash.js playing", &|s| {
        s["time"].as_f64().unwrap_or(0.0) > 1.0
    })
    .await?;
    assert_eq!(playing["audio"], json!(["en", "es", "fr"]), "{playing:#}");
    assert_eq!(playing["text"], json!(["en", "es", "fr"]), "{playing:#}");
    assert!(
        playing["frames"].as_u64().unwrap_or(0) > 0,
        "video decoded: {playing:#}"
    );
    let started = playing["time"].as_f64().unwrap();
    browser
        .execute(
            "player.setCurrentTrack(player.getTracksFor('audio').find(t => t.lang === 'es'))",
            vec![],
        )
        .await?;
    poll(&browser, state, "dash.js switching to Spanish", &|s| {
        s["fragments"].as_array().is_some_and(|f| {
            f.iter()
                .any(|f| f.as_str().unwrap_or("").contains("audio/es.mp4"))
        }) && s["time"].as_f64().unwrap_or(0.0) > started + 1.0
    })
    .await?;
    browser.quit().await?;
    Ok(())
}

/// Plays `master` in a page of `page`'s origin: the video advances with
/// the original audio, then with the Spanish dub's, and the Spanish
/// subtitles show cues.
async fn play_in_chromium(page: &str, master: &str) -> anyhow::Result<()> {
    let browser = Browser::start().await?;
    browser.goto(page).await?;
    browser
        .execute(&player_js("hls.js/dist/hls.min.js")?, vec![])
        .await?;
    browser
        .execute(
            r#"
            const video = document.createElement('video');
            video.muted = true;
            document.body.appendChild(video);
            const hls = new Hls({ enableWorker: false });
            window.played = { errors: [], fragments: [], switched: [] };
            hls.on(Hls.Events.ERROR, (_, d) => played.errors.push(`${d.type} ${d.details} fatal=${d.fatal}`));
            hls.on(Hls.Events.FRAG_LOADED, (_, d) => played.fragments.push(d.frag.url));
            hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (_, d) => played.switched.push(hls.audioTracks[d.id].lang));
            hls.loadSource(arguments[0]);
            hls.attachMedia(video);
            hls.on(Hls.Events.MANIFEST_PARSED, () => video.play());
            window.hls = hls;
            window.video = video;
            "#,
            vec![json!(master)],
        )
        .await?;
    let state = "return { time: video.currentTime, errors: played.errors, fragments: played.fragments, \
        switched: played.switched, audio: hls.audioTracks.map(t => t.lang), \
        subtitles: hls.subtitleTracks.map(t => t.lang), \
        frames: video.getVideoPlaybackQuality().totalVideoFrames, \
        cues: Array.from(video.textTracks).reduce((n, t) => n + (t.cues ? t.cues.length : 0), 0) }";
    let until = async |what: &str, done: &dyn Fn(&Value) -> bool| {
        poll(&browser, state, &format!("hls.js {what}"), done).await
    };
    let playing = until("playing", &|s| s["time"].as_f64().unwrap_or(0.0) > 1.0).await?;
    assert_eq!(playing["audio"], json!(["en", "es", "fr"]), "{playing:#}");
    assert_eq!(
        playing["subtitles"],
        json!(["en", "es", "fr"]),
        "{playing:#}"
    );
    assert!(
        playing["frames"].as_u64().unwrap_or(0) > 0,
        "video decoded: {playing:#}"
    );
    let started = playing["time"].as_f64().unwrap();
    browser
        .execute(
            "hls.audioTrack = hls.audioTracks.findIndex(t => t.lang === 'es'); \
             hls.subtitleTrack = hls.subtitleTracks.findIndex(t => t.lang === 'es'); \
             hls.subtitleDisplay = true;",
            vec![],
        )
        .await?;
    let switched = until("switching to Spanish", &|s| {
        s["switched"]
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l == "es"))
            && s["fragments"].as_array().is_some_and(|f| {
                f.iter()
                    .any(|f| f.as_str().unwrap_or("").contains("audio/es.mp4"))
            })
            && s["cues"].as_u64().unwrap_or(0) > 0
            && s["time"].as_f64().unwrap_or(0.0) > started + 1.0
    })
    .await?;
    assert!(
        switched["fragments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap_or("").contains("subtitles/es.vtt")),
        "{switched:#}"
    );
    browser.quit().await?;
    Ok(())
}
