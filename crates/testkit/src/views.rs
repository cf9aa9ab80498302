//! Reading the API's job views in tests: a task's stage or artifact, and
//! the text behind an artifact's download link.

use serde_json::Value;

/// The stage `name` of a task view.
pub fn stage<'a>(task: &'a Value, name: &str) -> &'a Value {
    task["stages"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["stage"] == name))
        .unwrap_or_else(|| panic!("no `{name}` stage in {task:#}"))
}

/// The artifact of `kind` (`subtitles_vtt`, `dub`, ...) of a task view.
pub fn artifact<'a>(task: &'a Value, kind: &str) -> &'a Value {
    task["artifacts"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["kind"] == kind))
        .unwrap_or_else(|| panic!("no `{kind}` artifact in {task:#}"))
}

/// The text of an artifact, through its download link (no auth header).
pub async fn download_text(artifact: &Value) -> anyhow::Result<String> {
    let url = artifact["download_url"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no download_url in {artifact}"))?;
    Ok(reqwest::get(url).await?.error_for_status()?.text().await?)
}
