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
    let lapsed = client
        .query_opt(
            "UPDATE social_posts SET status = 'unconfirmed'
             WHERE job_id = $1 AND language = $2 AND status = 'posting'
               AND started_at < now() - $3::float8 * interval '1 second'
             RETURNING started_at",
            &[&job.0, &language, &in_flight.as_secs_f64()],
        )
        .await?;
    if let Some(row) = lapsed {
        return Ok(Some(Prior::Unknown { since: row.get(0) }));
    }
    let Some(row) = client
        .query_opt(
            "SELECT status, posts, channels, started_at FROM social_posts
             WHERE job_id = $1 AND language = $2",
            &[&job.0, &language],
        )
        .await?
    else {
        return Ok(None);
    };
    let status: String = row.get(0);
    let since = row.get(3);
    Ok(Some(match status.as_str() {
        "posted" => Prior::Posted {
            posts: row.get::<_, Option<Value>>(1).unwrap_or(Value::Null),
            channels: row.get(2),
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
        .client()
        .await?
        .execute(
            "INSERT INTO social_posts (job_id, language, vendor, status, channels)
             VALUES ($1, $2, $3, 'posting', $4) ON CONFLICT (job_id, language) DO NOTHING",
            &[&job.0, &language, &vendor, channels],
        )
        .await?;
    Ok(inserted == 1)
}

/// Records what the vendor answered to the post.
pub async fn posted(db: &Db, job: JobId, language: &str, posts: &Value) -> Result<(), DbError> {
    db.client()
        .await?
        .execute(
            "UPDATE social_posts SET status = 'posted', posts = $3, posted_at = now()
             WHERE job_id = $1 AND language = $2",
            &[&job.0, &language, posts],
        )
        .await?;
    Ok(())
}

/// Marks a sent post whose outcome is unknown, as told to the user.
pub async fn unconfirmed(db: &Db, job: JobId, language: &str) -> Result<(), DbError> {
    db.client()
        .await?
        .execute(
            "UPDATE social_posts SET status = 'unconfirmed'
             WHERE job_id = $1 AND language = $2 AND status = 'posting'",
            &[&job.0, &language],
        )
        .await?;
    Ok(())
}

/// Forgets a claim whose post certainly did not happen (the vendor refused
/// it), so a retry may post.
pub async fn abandon(db: &Db, job: JobId, language: &str) -> Result<(), DbError> {
    db.client()
        .await?
        .execute(
            "DELETE FROM social_posts WHERE job_id = $1 AND language = $2 AND status = 'posting'",
            &[&job.0, &language],
        )
        .await?;
    Ok(())
}
