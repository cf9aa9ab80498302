//! Voice and background, separated offline: a real reading (LibriVox) over
//! a known background of changing chords and noise comes apart into a
//! voice at least 6 dB closer to the reading (SI-SDR) than the mix was, and
//! a background holding at least 15 dB less of the reading than the voice
//! does; the stems add up to the source. A dub without an uploaded
//! background is mixed over the separated one and says so; with separation
//! off, over the lowered original, and says why.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use voxline_config::EngineSettings;
use voxline_providers::{Engines, Unlimited};
use voxline_testkit::mixes::{background, mix_at, read, reading, share_of, si_sdr, write};
use voxline_testkit::{TestEnv, analysis_installed, sample_clip_saying, spawn_system, views};

/// The targets, in dB.
const MIN_IMPROVEMENT: f64 = 6.0;
const MAX_RESIDUAL: f64 = -15.0;

#[tokio::test]
async fn a_reading_comes_apart_from_its_background() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let speech = reading(dir.path())?;
    let noise = background(speech.len());
    let mut settings = EngineSettings::default();
    analysis_installed(&mut settings);
    let engines = Engines::from_settings(&settings, &Default::default(), Arc::new(Unlimited))?;
    let separator = engines
        .separator
        .as_ref()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // The background 5 dB under the voice, as under a presenter, and as
    // loud as the voice.
    for snr in [5.0, 0.0] {
        let (mix, reference) = mix_at(&speech, &noise, snr);
        let source = dir.path().join("mix.wav");
        write(&source, &mix)?;
        let (voice_wav, background_wav) = (dir.path().join("v.wav"), dir.path().join("b.wav"));
        let separated = separator
            .separate(&source, &voice_wav, &background_wav)
            .await?;
        let (voice, rest) = (read(&voice_wav)?, read(&background_wav)?);
        assert_eq!(voice.len(), mix.len());
        // The stems add up to the source (to the rounding of two WAVs).
        let worst = voice
            .iter()
            .zip(&rest)
            .zip(&mix)
            .map(|((v, b), m)| (v + b - m).abs())
            .fold(0.0, f64::max);
        assert!(worst < 3.0 / 32_768.0, "stems off the source by {worst}");
        let improvement = si_sdr(&voice, &reference) - si_sdr(&mix, &reference);
        let residual = 10.0 * (share_of(&rest, &reference) / share_of(&voice, &reference)).log10();
        println!(
            "background {snr} dB under the voice: SI-SDR {:.1} dB → {:.1} dB ({improvement:+.1} dB); \
             reading left in the background {residual:.1} dB under the voice's; voice share {:.2}",
            si_sdr(&mix, &reference),
            si_sdr(&voice, &reference),
            separated.voice_share
        );
        assert!(improvement >= MIN_IMPROVEMENT, "{snr} dB: {improvement}");
        assert!(residual <= MAX_RESIDUAL, "{snr} dB: {residual}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_is_mixed_over_the_separated_background_and_says_which() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let done = dub(&sys).await?;
    let report = &done["tasks"][0]["stats"]["background"];
    assert_eq!(report["used"], "separated", "{done:#}");
    assert_eq!(report["engine"], "deepfilternet", "{done:#}");
    let kinds: Vec<&str> = done["source_artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"voice_stem") && kinds.contains(&"background_stem"),
        "{kinds:?}"
    );
    let transcript = source_artifact(&done, "transcript").await?;
    let transcript: Value = serde_json::from_str(&transcript)?;
    assert_eq!(transcript["stems"]["background"], "background.flac");
    let share = transcript["stems"]["voice_share"].as_f64().unwrap();
    assert!((0.05..1.0).contains(&share), "{share}");
    sys.stop().await?;

    // Separation off: the lowered original, and the reason.
    let mut env = TestEnv::new().await?;
    env.settings.engines.separate = false;
    let sys = spawn_system(env).await?;
    let done = dub(&sys).await?;
    let report = &done["tasks"][0]["stats"]["background"];
    assert_eq!(
        report,
        &json!({"used": "original", "note": "the voice was not separated: engines.separate is off"}),
        "{done:#}"
    );
    Ok(())
}

/// A short clip over its background tone, dubbed into Spanish.
async fn dub(sys: &voxline_testkit::TestSystem) -> anyhow::Result<Value> {
    let clip = sample_clip_saying(
        &sys.env.path("media"),
        Some("Welcome to the show. Thank you very much."),
    )?;
    let job = sys.dub(&clip, &["es"]).await?;
    let done = sys
        .wait_for_job(job["id"].as_str().unwrap(), Duration::from_secs(240))
        .await?;
    anyhow::ensure!(done["status"] == "completed", "{done:#}");
    Ok(done)
}

async fn source_artifact(job: &Value, kind: &str) -> anyhow::Result<String> {
    let artifact = job["source_artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == kind)
        .unwrap_or_else(|| panic!("{kind} in {job:#}"));
    views::download_text(artifact).await
}
