//! Posting a finished language's video to social channels through Postiz:
//! the requested channels are matched to the connected ones, the video is
//! uploaded, and one post goes to all of them. The post is claimed in
//! PostgreSQL first, so no retry posts it twice.

use serde_json::{Value, json};
use voxline_core::{Language, SocialOptions};
use voxline_db::artifacts::Artifact;
use voxline_db::social::{self, Start};
use voxline_providers::ProviderError;
use voxline_providers::vendor::{Channel, Postiz, post_settings};
use voxline_queue::{StageContext, StageError};

/// Posts `files`' video for the stage's language; returns what the job's
/// publish output records.
pub async fn post(
    ctx: &StageContext,
    postiz: Option<&Postiz>,
    options: &SocialOptions,
    files: &[Artifact],
) -> Result<Value, StageError> {
    let Some(postiz) = postiz else {
        return Err(StageError::bad_input(
            "social_publishing_unavailable",
            "this job asks for social posts, and no Postiz vendor is configured any more",
        ));
    };
    let video = files
        .iter()
        .find(|a| a.stage == "render" && a.content_type.starts_with("video/"))
        .ok_or_else(|| {
            StageError::bad_input(
                "no_video_to_post",
                "social posts need a video, and this language's result has none (an audio-only source makes an audio dub)",
            )
        })?;
    let (job, language) = (ctx.job(), ctx.language());

    let connected = postiz.channels().await?;
    let targets = pick_channels(&options.channels, &connected)?;
    let channels = json!(
        targets
            .iter()
            .map(|c| json!({"id": c.id, "platform": c.platform, "name": c.name}))
            .collect::<Vec<_>>()
    );

    match social::start(&ctx.db, job.id, language, postiz.name(), &channels).await? {
        Start::Posted(posts) => {
            return Ok(
                json!({"kind": "social", "status": "posted", "channels": channels, "posts": posts}),
            );
        }
        Start::Unknown { since } => {
            // The user retried a job whose post has an unknown outcome:
            // posting again could duplicate it, so the retry records it.
            return Ok(
                json!({"kind": "social", "status": "unknown", "channels": channels,
                "message": format!("an attempt at {since} sent the post and never heard back; it was not posted again, so check the channels in Postiz")}),
            );
        }
        Start::Fresh => {}
    }

    let outcome = upload_and_post(ctx, postiz, options, video, &targets).await;
    match outcome {
        Ok(posts) => {
            let posts = serde_json::to_value(&posts)?;
            social::posted(&ctx.db, job.id, language, &posts).await?;
            Ok(json!({"kind": "social", "status": "posted", "channels": channels, "posts": posts}))
        }
        Err(e @ ProviderError::Uncertain { .. }) => Err(StageError::permanent(
            "social_post_unconfirmed",
            format!(
                "{e}. It is not sent again, to avoid a duplicate post: check the channels in Postiz; retrying the job marks it done without posting"
            ),
        )),
        Err(e) => {
            // Postiz certainly made no post: a later attempt may.
            social::abandon(&ctx.db, job.id, language).await?;
            Err(e.into())
        }
    }
}

async fn upload_and_post(
    ctx: &StageContext,
    postiz: &Postiz,
    options: &SocialOptions,
    video: &Artifact,
    targets: &[Channel],
) -> Result<Vec<voxline_providers::vendor::Posted>, ProviderError> {
    let local = ctx.scratch(&video.file_name);
    ctx.storage
        .get_to_file(&video.object_key, &local)
        .await
        .map_err(|e| ProviderError::Unavailable {
            engine: "storage".into(),
            message: e.to_string(),
        })?;
    let media = postiz
        .upload(&local, &video.file_name, &video.content_type)
        .await?;
    let language = Language::parse(ctx.language())
        .map(|l| l.name)
        .unwrap_or("");
    let caption = options.caption_for(language);
    let title = if caption.trim().is_empty() {
        format!("{} ({language})", video.file_name)
    } else {
        caption.chars().take(100).collect()
    };
    let with_settings: Vec<_> = targets
        .iter()
        .map(|c| {
            let given = options.settings.get(&c.platform);
            (c.clone(), post_settings(&c.platform, &title, given))
        })
        .collect();
    postiz.post(&with_settings, &caption, &media).await
}

/// The connected channels `wanted` names: a platform means all its enabled
/// accounts, anything else one channel by id. A name that matches nothing
/// fails with the channels there are.
fn pick_channels(wanted: &[String], connected: &[Channel]) -> Result<Vec<Channel>, StageError> {
    let mut picked: Vec<Channel> = Vec::new();
    for name in wanted {
        let matches: Vec<&Channel> = connected
            .iter()
            .filter(|c| !c.disabled && (c.id == *name || c.platform.eq_ignore_ascii_case(name)))
            .collect();
        if matches.is_empty() {
            let there: Vec<String> = connected
                .iter()
                .filter(|c| !c.disabled)
                .map(|c| format!("{} ({}, id {})", c.name, c.platform, c.id))
                .collect();
            return Err(StageError::bad_input(
                "unknown_channel",
                format!(
                    "options.social.channels: `{name}` matches no connected Postiz channel; connected: {}",
                    if there.is_empty() {
                        "none".into()
                    } else {
                        there.join(", ")
                    }
                ),
            ));
        }
        for c in matches {
            if !picked.iter().any(|p| p.id == c.id) {
                picked.push(c.clone());
            }
        }
    }
    Ok(picked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(id: &str, platform: &str, disabled: bool) -> Channel {
        Channel {
            id: id.into(),
            platform: platform.into(),
            name: format!("{platform} account"),
            disabled,
        }
    }

    #[test]
    fn platforms_and_ids_pick_enabled_channels_once() {
        let connected = [
            channel("a1", "youtube", false),
            channel("a2", "youtube", true),
            channel("b1", "x", false),
        ];
        let picked =
            pick_channels(&["YouTube".into(), "b1".into(), "x".into()], &connected).unwrap();
        let ids: Vec<_> = picked.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["a1", "b1"]);
        let err = pick_channels(&["tiktok".into()], &connected).unwrap_err();
        assert_eq!(err.code, "unknown_channel");
        assert!(
            err.message.contains("id a1") && !err.message.contains("a2"),
            "{}",
            err.message
        );
    }
}
