//! Social posts, one per job language, recorded around the call to the
//! vendor so that a retried publish never posts twice.

use chrono::{DateTime, Utc};
use serde_json::Value;
use voxline_core::JobId;

use crate::{Db, DbError};

/// Where a language's social post stands before posting.
#[derive(Debug, Clone, PartialEq)]
pub enum Start {
    /// Nothing was posted yet; the row now says `posting`.
    Fresh,
    /// An earlier attempt posted; here is what the vendor answered.
    Posted(Value),
    /// An earlier attempt sent the post and never learned the outcome.
    Unknown { since: DateTime<Utc> },
}

/// Claims the language's post before it is sent.
pub async fn start(
    db: &Db,
    job: JobId,
    language: &str,
    vendor: &str,
    channels: &Value,
) -> Result<Start, DbError> {
    let client = db.client().await?;
    let inserted = client
        .execute(
            "INSERT INTO social_posts (job_id, language, vendor, status, channels)
             VALUES ($1, $2, $3, 'posting', $4) ON CONFLICT (job_id, language) DO NOTHING",
            &[&job.0, &language, &vendor, channels],
        )
        .await?;
    if inserted == 1 {
        return Ok(Start::Fresh);
    }
    let row = client
        .query_one(
            "SELECT status, posts, started_at FROM social_posts WHERE job_id = $1 AND language = $2",
            &[&job.0, &language],
        )
        .await?;
    let status: String = row.get(0);
    Ok(if status == "posted" {
        Start::Posted(row.get::<_, Option<Value>>(1).unwrap_or(Value::Null))
    } else {
        Start::Unknown { since: row.get(2) }
    })
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

/// Forgets a claim whose post certainly did not happen (the vendor refused
/// it, or it was never sent), so a retry may post.
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
