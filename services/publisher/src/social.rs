//! Posting a finished language's video to social channels through Postiz:
//! the requested channels are matched to the connected ones, the video is
//! uploaded, and one post goes to all of them. The post is claimed in
//! PostgreSQL just before it is sent, so no retry posts it twice.

use std::time::Duration;

use serde_json::{Value, json};
use voxline_core::{Language, SocialOptions};
use voxline_db::artifacts::Artifact;
use voxline_db::social::{self, Prior};
use voxline_providers::ProviderError;
use voxline_providers::vendor::{Channel, Media, Postiz, post_settings};
use voxline_worker::{StageContext, StageError};

/// Posts `files`' video for the stage's language; returns what the job's
/// publish output records.
pub async fn post(
    ctx: &StageContext,
    postiz: Option<&Postiz>,
    options: &SocialOptions,
    files: &[Artifact],
) -> Result<Value, StageError> {
    let (job, language) = (ctx.job(), ctx.language());
    let in_flight = postiz.map_or(Duration::ZERO, Postiz::longest_post);
    match social::prior(&ctx.db, job.id, language, in_flight).await? {
        Some(Prior::Posted { posts, channels }) => {
            return Ok(
                json!({"kind": "social", "status": "posted", "channels": channels, "posts": posts}),
            );
        }
        Some(Prior::InFlight { since }) => {
            return Err(StageError::transient(
                "social_post_in_progress",
                format!(
                    "an attempt began posting this language at {since} and its answer may still come; the post is not sent twice, and a retry of the job after {} s settles it",
                    in_flight.as_secs()
                ),
            ));
        }
        Some(Prior::Unknown { since }) => {
            return Err(unconfirmed(&format!(
                "the post sent at {since} got no answer (the worker stopped while waiting)"
            )));
        }
        Some(Prior::Acknowledged { since }) => {
            // The user was told the outcome is unknown and retried:
            // posting again could duplicate it.
            return Ok(json!({"kind": "social", "status": "unknown",
                "message": format!("the post sent at {since} got no answer; it was not sent again, so check the channels in Postiz")}));
        }
        None => {}
    }
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
    let connected = postiz.channels().await?;
    let targets = pick_channels(&options.channels, &connected)?;
    let channels = json!(
        targets
            .iter()
            .map(|c| json!({"id": c.id, "platform": c.platform, "name": c.name}))
            .collect::<Vec<_>>()
    );
    let media = upload(ctx, postiz, video).await?;

    // From here on, a post may exist: claim it first.
    if !social::claim(&ctx.db, job.id, language, postiz.name(), &channels).await? {
        return Err(StageError::transient(
            "social_post_in_progress",
            "another attempt started posting this language; it will be looked at again",
        ));
    }
    let language_name = Language::parse(language).map(|l| l.name).unwrap_or("");
    let caption = options.caption_for(language_name);
    let title = if caption.trim().is_empty() {
        format!("{} ({language_name})", video.file_name)
    } else {
        caption.chars().take(100).collect()
    };
    let with_settings: Vec<_> = targets
        .iter()
        .map(|c| {
            (
                c.clone(),
                post_settings(&c.platform, &title, options.settings.get(&c.platform)),
            )
        })
        .collect();
    match postiz.post(&with_settings, &caption, &media).await {
        Ok(posts) => {
            social::posted(&ctx.db, job.id, language, &posts).await?;
            Ok(json!({"kind": "social", "status": "posted", "channels": channels, "posts": posts}))
        }
        Err(e @ ProviderError::Uncertain { .. }) => {
            social::unconfirmed(&ctx.db, job.id, language).await?;
            Err(unconfirmed(&e.to_string()))
        }
        Err(e) => {
            // Postiz certainly made no post: a later attempt may.
            social::abandon(&ctx.db, job.id, language).await?;
            Err(e.into())
        }
    }
}

fn unconfirmed(what: &str) -> StageError {
    StageError::permanent(
        "social_post_unconfirmed",
        format!(
            "{what}. It is not sent again, to avoid a duplicate post: check the channels in Postiz; retrying the job marks it done without posting"
        ),
    )
}

/// Fetches the video from storage and uploads it to Postiz.
async fn upload(
    ctx: &StageContext,
    postiz: &Postiz,
    video: &Artifact,
) -> Result<Media, StageError> {
    let local = ctx.scratch(&video.file_name);
    ctx.storage.get_to_file(&video.object_key, &local).await?;
    Ok(postiz
        .upload(&local, &video.file_name, &video.content_type)
        .await?)
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
