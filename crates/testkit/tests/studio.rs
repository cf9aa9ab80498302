//! The studio (`/studio`) end to end in headless Chromium: a tenant signs
//! in with their API key, opens a finished dub, sees its lines with their
//! timings and speakers, the video playing the dub with the original a
//! click away, and its files; edits a line and saves; the page follows the
//! re-render live and says when the dub is ready; the API then shows the new
//! line, spoken anew (its audio changed), and a screenshot shows the page
//! drawn (target/screenshots/studio.png). The page and its files load
//! nothing from elsewhere.

use std::time::Duration;

use serde_json::Value;
use voxline_testkit::screenshots::{Rgb, keep};
use voxline_testkit::webdriver::{Browser, WINDOW};
use voxline_testkit::{TestEnv, sample_clip_saying, spawn_system, views};

const WAIT: Duration = Duration::from_secs(240);
const NEW_TEXT: &str = "Hola a todos, y bienvenidos al estudio.";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dub_is_reviewed_fixed_and_rendered_anew_from_the_studio() -> anyhow::Result<()> {
    let sys = spawn_system(TestEnv::new().await?).await?;
    let clip = sample_clip_saying(
        &sys.env.path("media"),
        Some("Welcome to the show. Today we talk about music. Thank you very much."),
    )?;
    let job = sys.dub(&clip, &["es"]).await?;
    let id = job["id"].as_str().unwrap().to_owned();
    let done = sys.wait_for_job(&id, WAIT).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let before = line_hashes(&done).await?;

    // Nothing from elsewhere: the page's policy allows this origin only.
    let page = reqwest::get(sys.url("/studio")).await?;
    let policy = page.headers()["content-security-policy"]
        .to_str()?
        .to_owned();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("media-src 'self'"),
        "{policy}"
    );
    assert!(
        !page.text().await?.contains("http"),
        "no address of elsewhere"
    );

    let browser = Browser::start().await?;
    browser.goto(&sys.url("/studio")).await?;
    // A wrong key is refused with a message.
    browser
        .wait_for("#token", WAIT)
        .await?
        .send_keys("vx_wrong")
        .await?;
    browser.click("#connect", WAIT).await?;
    browser
        .wait_for_text("#login-error", WAIT, |t| t.contains("not accepted"))
        .await?;
    browser
        .execute("document.getElementById('token').value = ''", vec![])
        .await?;
    browser
        .wait_for("#token", WAIT)
        .await?
        .send_keys(&sys.api_key)
        .await?;
    browser.click("#connect", WAIT).await?;

    // The job, its lines, the player and the files.
    browser
        .click(&format!("#jobs tr[data-job='{id}'] button.link"), WAIT)
        .await?;
    let first = browser
        .wait_for_text("#lines tbody tr[data-id] td:nth-of-type(5)", WAIT, |t| {
            !t.is_empty()
        })
        .await?;
    let rows = browser.find_all("#lines tbody tr[data-id]").await?.len();
    let (_, segments) = sys.get(&format!("/v1/jobs/{id}/tasks/es/segments")).await?;
    assert_eq!(rows, segments["segments"].as_array().unwrap().len());
    assert!(
        first.contains(segments["segments"][0]["source_text"].as_str().unwrap()),
        "the source line under the dubbed one: {first}"
    );
    let speaker = browser
        .execute(
            "return document.querySelector('#lines tbody tr input.speaker').value",
            vec![],
        )
        .await?;
    assert_eq!(speaker, "S1", "one narrator, one speaker");
    assert!(
        player_source(&browser).await?.contains("dub.mp4"),
        "the dub plays"
    );
    browser.click("#hear-original", WAIT).await?;
    assert!(
        player_source(&browser).await?.contains("name=source"),
        "the original plays"
    );
    browser.click("#hear-dub", WAIT).await?;
    let downloads = browser
        .wait_for_text("#downloads", WAIT, |t| t.contains("dub.mp4"))
        .await?;
    assert!(downloads.contains("subtitles.srt") && downloads.contains("transcript.json"));
    // The dub's video is loaded and playable by the page.
    let ready = browser
        .execute(
            "return document.getElementById('player').readyState",
            vec![],
        )
        .await?;
    assert!(ready.as_u64().is_some(), "{ready}");
    check_screenshot(&browser).await?;

    // Edit the first line's words, save, and follow the re-render.
    browser
        .execute(
            "const t = document.querySelector('#lines tbody tr textarea'); t.value = ''; t.focus();",
            vec![],
        )
        .await?;
    browser
        .wait_for("#lines tbody tr textarea", WAIT)
        .await?
        .send_keys(NEW_TEXT)
        .await?;
    browser
        .wait_for_text("#summary", WAIT, |t| t.contains("1 line(s) changed"))
        .await?;
    browser.click("#save", WAIT).await?;
    browser
        .wait_for_text("#notice", WAIT, |t| t.contains("ready with your changes"))
        .await?;
    let flags = browser
        .wait_for_text("#lines tbody tr[data-id] td.flags", WAIT, |t| {
            t.contains("edited")
        })
        .await?;
    assert!(flags.contains("edited"), "{flags}");

    // The API agrees: the new words, and only that line spoken anew.
    let done = sys.wait_for_job(&id, WAIT).await?;
    assert_eq!(done["status"], "completed", "{done:#}");
    let (_, segments) = sys.get(&format!("/v1/jobs/{id}/tasks/es/segments")).await?;
    assert_eq!(segments["segments"][0]["text"], NEW_TEXT, "{segments:#}");
    assert_eq!(segments["segments"][0]["edited"], true);
    let after = line_hashes(&done).await?;
    assert_ne!(before[0], after[0], "the edited line's audio is new");
    assert_eq!(before[1..], after[1..], "the other lines' audio is kept");
    browser.quit().await?;
    Ok(())
}

/// The address the player plays.
async fn player_source(browser: &Browser) -> anyhow::Result<String> {
    let script = "return document.getElementById('player').getAttribute('src') || ''";
    Ok(browser
        .execute(script, vec![])
        .await?
        .as_str()
        .unwrap_or("")
        .to_owned())
}

/// The hash of each line's audio in the task's synthesis manifest.
async fn line_hashes(job: &Value) -> anyhow::Result<Vec<String>> {
    let synthesis = job["tasks"][0]["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "synthesis")
        .unwrap_or_else(|| panic!("a synthesis manifest: {job:#}"));
    let manifest: Value = serde_json::from_str(&views::download_text(synthesis).await?)?;
    Ok(manifest["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["hash"].as_str().unwrap().to_owned())
        .collect())
}

async fn check_screenshot(browser: &Browser) -> anyhow::Result<()> {
    let bytes = browser.screenshot().await?;
    keep(&bytes, "studio.png")?;
    let image = Rgb::decode(&bytes)?;
    assert_eq!(image.width, WINDOW.0, "the screenshot's width");
    let everywhere = image.colours(0, 0, image.width, image.height);
    assert!(
        everywhere > 100,
        "a drawn page has many colours; this one has {everywhere}"
    );
    let (x, y, w, h) = browser.find_all("#lines").await?[0].rect().await?;
    let (x, y) = (x.max(0.0) as u32, y.max(0.0) as u32);
    let w = (w as u32).min(image.width.saturating_sub(x));
    let h = (h as u32).min(image.height.saturating_sub(y));
    assert!(
        w > 300 && h > 60,
        "the lines are in view: {w}x{h} at {x},{y}"
    );
    let (dark, light) = image.dark_and_light(x, y, w, h);
    assert!(
        dark > 200 && light > (w * h) / 3,
        "the lines show dark text ({dark} pixels) on a light background ({light} pixels)"
    );
    Ok(())
}
