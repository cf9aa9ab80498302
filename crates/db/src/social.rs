//! Social posts, one per job language, recorded around the call to the
//! vendor so that a retried publish never posts twice: claimed (`posting`)
//! just before the post is sent, `posted` with the vendor's answer after.
//! A claim still `posting` after the longest a post can take means its
//! answer was lost: it becomes `unconfirmed` and the user is told; only
//! their retry moves past it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use voxline_core::JobId;

use crate::pool::row;
use crate::{Db, DbError};

/// What an earlier attempt left for a language's post.
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// It posted; here is what the vendor answered, and on which channels.
    Posted { posts: Value, channels: Value },
    /// It is sending the post now, or was until a moment ago: its answer
    /// may still come.
    InFlight { since: DateTime<Utc> },
    /// It sent the post and never learned the outcome; now `unconfirmed`,
    /// for the stage to tell the user.
    Unknown { since: DateTime<Utc> },
    /// The outcome is unknown, the user was told and retried the job: they
    /// have taken it in hand.
    Acknowledged { since: DateTime<Utc> },
}

/// What earlier attempts left, if anything. A claim older than
/// `in_flight` (the longest a post can wait for its answer) whose answer
/// never came is marked `unconfirmed` here.
pub async fn prior(
    db: &Db,
    job: JobId,
    language: &str,
    in_flight: Duration,
) -> Result<Option<Prior>, DbError> {
    let client = db.client().await?;
    // The same statement decides and marks, so two attempts looking at
    // once cannot both see `posting` turn into `Unknown`.
    let lapsed = row(
        &client,
        &query!("social/lapse"),
        &[&job, &language, &in_flight.as_secs_f64()],
    )
    .await?;
    if let Some(r) = lapsed {
        return Ok(Some(Prior::Unknown {
            since: r.try_get("started_at")?,
        }));
    }
    let Some(r) = row(&client, &query!("social/prior"), &[&job, &language]).await? else {
        return Ok(None);
    };
    let status: String = r.try_get("status")?;
    let since = r.try_get("started_at")?;
    Ok(Some(match status.as_str() {
        "posted" => Prior::Posted {
            posts: r
                .try_get::<_, Option<Value>>("posts")?
                .unwrap_or(Value::Null),
            channels: r.try_get("channels")?,
        },
        "unconfirmed" => Prior::Acknowledged { since },
        _ => Prior::InFlight { since },
    }))
}

/// Claims the language's post just before it is sent; `false` when another
/// attempt claimed it first.
pub async fn claim(
    db: &Db,
    job: JobId,
    language: &str,
    vendor: &str,
    channels: &Value,
) -> Result<bool, DbError> {
    let inserted = db
        .execute(
            &query!("social/claim"),
            &[&job, &language, &vendor, channels],
        )
        .await?;
    Ok(inserted == 1)
}

/// Records what the vendor answered to the post.
pub async fn posted(db: &Db, job: JobId, language: &str, posts: &Value) -> Result<(), DbError> {
    db.execute(&query!("social/posted"), &[&job, &language, posts])
        .await?;
    Ok(())
}

/// Marks a sent post whose outcome is unknown, as told to the user.
pub async fn unconfirmed(db: &Db, job: JobId, language: &str) -> Result<(), DbError> {
    db.execute(&query!("social/unconfirmed"), &[&job, &language])
        .await?;
    Ok(())
}

/// Forgets a claim whose post certainly did not happen (the vendor refused
/// it), so a retry may post.
pub async fn abandon(db: &Db, job: JobId, language: &str) -> Result<(), DbError> {
    db.execute(&query!("social/abandon"), &[&job, &language])
        .await?;
    Ok(())
}
