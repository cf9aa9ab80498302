//! `voxline dub FILE --to es,fr`: upload, create the job, show a progress
//! bar per language, download every result.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::api::Client;

#[derive(Args)]
pub struct DubArgs {
    /// The video or audio file to dub.
    file: PathBuf,
    /// Target languages, comma-separated ISO 639-1 codes (e.g. `es,fr`).
    #[arg(long, value_delimiter = ',', required = true)]
    to: Vec<String>,
    /// The spoken language of FILE, or `auto` to detect it (needs an engine
    /// that detects languages).
    #[arg(long, default_value = "en")]
    from: String,
    /// A separate background track (music, effects) to mix under the dub.
    #[arg(long)]
    background: Option<PathBuf>,
    /// The voice every language is spoken in (the server's `GET /v1/voices`
    /// lists them per language); each language's default when absent.
    #[arg(long)]
    voice: Option<String>,
    /// Subtitles: a selectable track (soft), burned into the picture, or none.
    #[arg(long, default_value = "soft")]
    subtitles: String,
    /// Folder to download the results into.
    #[arg(long, default_value_os_t = crate::default_out())]
    out: PathBuf,
    /// Post each language's video to these social channels through the
    /// server's Postiz vendor: platforms (`youtube,tiktok`) or channel ids.
    #[arg(long, value_delimiter = ',')]
    post_to: Vec<String>,
    /// The posts' text; `{language}` becomes the language's name.
    #[arg(long, requires = "post_to")]
    caption: Option<String>,
    /// Publish no earlier than this RFC 3339 time (`2026-12-01T09:00:00Z`).
    #[arg(long)]
    publish_at: Option<String>,
    /// FILE's lines as a script of your own (SRT, WebVTT, JSON or timed
    /// text such as `0:05 Welcome`), in the `--from` language: nothing is
    /// transcribed, and the dub says these lines.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Speak the script over FILE, keeping FILE's own sound under it,
    /// rather than dubbing FILE's voice (FILE may be a video without
    /// sound); `--to` may name the script's own language too.
    #[arg(long, requires = "script")]
    voiceover: bool,
}

pub async fn run(client: &Client, args: DubArgs) -> anyhow::Result<()> {
    eprintln!("uploading {}", args.file.display());
    let source = client.upload(&args.file).await?;
    let background = match &args.background {
        Some(path) => {
            eprintln!("uploading {}", path.display());
            Some(client.upload(path).await?["id"].clone())
        }
        None => None,
    };
    let mut options = json!({ "subtitles": args.subtitles });
    if !args.post_to.is_empty() {
        options["social"] = json!({ "channels": args.post_to, "caption": args.caption });
    }
    if let Some(at) = &args.publish_at {
        options["publish_at"] = json!(at);
    }
    if let Some(voice) = &args.voice {
        options["voice"] = json!(voice);
    }
    let script = match &args.script {
        Some(path) => Some(json!({ "text": std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))? })),
        None => None,
    };
    let body = json!({
        "kind": if args.voiceover { "voiceover" } else { "dub" },
        "script": script,
        "source_upload_id": source["id"],
        "background_upload_id": background,
        "source_language": args.from,
        "target_languages": args.to,
        "options": options,
    });
    let key = uuid::Uuid::new_v4().to_string();
    let job = client.post("/v1/jobs", &body, Some(&key)).await?;
    let id = job["id"].as_str().unwrap_or_default().to_owned();
    eprintln!("job {id}");
    let job = follow(client, &id).await?;
    let saved = download_all(client, &job, &args.out.join(&id)).await?;
    let failed: Vec<String> = job["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] != "completed")
        .map(|t| {
            format!(
                "{}: {} ({})",
                t["language"].as_str().unwrap_or("?"),
                t["error"]["message"].as_str().unwrap_or("not completed"),
                t["status"].as_str().unwrap_or("")
            )
        })
        .collect();
    println!("results in {}:", args.out.join(&id).display());
    for path in saved {
        println!("  {}", path.display());
    }
    let reports: Vec<String> = job["tasks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(report)
        .collect();
    if !reports.is_empty() {
        println!("quality:");
        for line in reports {
            println!("  {line}");
        }
    }
    if !failed.is_empty() {
        bail!(
            "the job ended {}: {}",
            job["status"].as_str().unwrap_or("?"),
            failed.join("; ")
        );
    }
    Ok(())
}

/// A finished dub task's report on one line: how far its lines were sped
/// up, the final drift, the subtitle cues outside the norms, its loudness
/// against the source's and what it was mixed over.
fn report(task: &Value) -> Option<String> {
    let stats = task.get("stats")?;
    let stretch = &stats["stretch"];
    let mut line = format!(
        "{}: {} lines, fastest at {:.2}×, drift {:.2} s",
        task["language"].as_str()?,
        stretch["lines"],
        stretch["max_tempo"].as_f64()?,
        stretch["drift"].as_f64().unwrap_or(0.0)
    );
    let cues = &stats["subtitles"];
    if let (Some(all), Some(outside)) = (cues["cues"].as_u64(), cues["outside"].as_u64()) {
        line += &format!("; {outside} of {all} subtitle cues outside the norms");
    }
    let heard = &stats["intelligibility"];
    if let Some(rate) = heard["error_rate"].as_f64() {
        line += &format!(
            "; heard back {:.1} % wrong by {}",
            rate * 100.0,
            heard["engine"].as_str().unwrap_or("?")
        );
    }
    let loud = &stats["loudness"];
    if let (Some(dub), Some(source)) = (loud["dub_lufs"].as_f64(), loud["source_lufs"].as_f64()) {
        line += &format!("; {dub:.1} LUFS (source {source:.1})");
    } else if let (Some(dub), Some(target)) =
        (loud["dub_lufs"].as_f64(), loud["target_lufs"].as_f64())
    {
        line += &format!("; {dub:.1} LUFS (target {target:.1})");
    }
    let background = &stats["background"];
    line += match background["used"].as_str() {
        Some("separated") => "; over the background with the original voice taken out",
        Some("uploaded") => "; over the uploaded background",
        // A voiceover keeps the source's sound on purpose; a dub says why
        // its voice was not separated.
        Some("original") if background["note"].is_null() => "; over the lowered original",
        Some("original") => "; over the lowered original (the voice was not separated)",
        Some("none") => "; the voice alone (the source has no sound)",
        _ => "",
    };
    Some(line)
}

/// Polls the job, drawing a bar per language, until it ends.
pub async fn follow(client: &Client, id: &str) -> anyhow::Result<Value> {
    let bars = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:>4} [{bar:30}] {pos:>3}% {msg}")
        .expect("a valid template")
        .progress_chars("=> ");
    let mut by_language: HashMap<String, ProgressBar> = HashMap::new();
    loop {
        let job = client.get(&format!("/v1/jobs/{id}")).await?;
        for task in job["tasks"].as_array().into_iter().flatten() {
            let lang = task["language"].as_str().unwrap_or("?").to_owned();
            let bar = by_language.entry(lang.clone()).or_insert_with(|| {
                let bar = bars.add(ProgressBar::new(100));
                bar.set_style(style.clone());
                bar.set_prefix(lang);
                bar
            });
            bar.set_position(task["progress"].as_f64().unwrap_or(0.0) as u64);
            bar.set_message(task["message"].as_str().unwrap_or("").to_owned());
        }
        let status = job["status"].as_str().unwrap_or("");
        if matches!(status, "completed" | "failed" | "cancelled") {
            for bar in by_language.values() {
                bar.finish();
            }
            return Ok(job);
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
}

/// Downloads every artifact of the job into `dir/{language}/`.
pub async fn download_all(
    client: &Client,
    job: &Value,
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut saved = Vec::new();
    let source_lang = job["source_language"].as_str().unwrap_or("source");
    let mut groups = vec![(source_lang.to_owned(), job["source_artifacts"].clone())];
    for task in job["tasks"].as_array().into_iter().flatten() {
        groups.push((
            task["language"].as_str().unwrap_or("?").to_owned(),
            task["artifacts"].clone(),
        ));
    }
    for (lang, artifacts) in groups {
        for a in artifacts.as_array().into_iter().flatten() {
            let (Some(url), Some(name)) = (a["download_url"].as_str(), a["file_name"].as_str())
            else {
                continue;
            };
            let folder = dir.join(&lang);
            tokio::fs::create_dir_all(&folder).await?;
            let dest = folder.join(name);
            client.download(url, &dest).await?;
            saved.push(dest);
        }
    }
    Ok(saved)
}
