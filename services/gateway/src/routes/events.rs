//! `GET /v1/jobs/{id}/events`: Server-Sent Events of a job's progress,
//! read from PostgreSQL (so any gateway replica can serve any job), ending
//! once the job has ended and every event was sent. `Last-Event-ID` resumes.

use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use futures::stream;
use voxline_core::JobId;
use voxline_db::{events, jobs};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::event_watch::Watching;
use crate::routes::job_id;
use crate::state::AppState;

/// A comment line this often keeps proxies from closing an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

struct Cursor {
    state: web::Data<AppState>,
    caller: Caller,
    job: JobId,
    last_id: i64,
    /// Wakes the stream when its job has news (`crate::event_watch`).
    news: Watching,
    finished: bool,
}

/// Progress as Server-Sent Events (`id`, `event` = the kind, `data` = JSON),
/// ending once the job has ended; send `Last-Event-ID` to resume.
#[utoipa::path(get, path = "/v1/jobs/{id}/events", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "An event stream", content_type = "text/event-stream", body = String),
        (status = 404, body = crate::views::ErrorBody)))]
pub async fn stream(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let job = job_id(&id)?;
    jobs::get(&state.db, caller.tenant, job)
        .await
        .map_err(|e| match e {
            voxline_db::DbError::NotFound => ApiError::not_found("job"),
            e => e.into(),
        })?;
    let last_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let news = state.event_watch.watch(job);
    let cursor = Cursor {
        state,
        caller,
        job,
        last_id,
        news,
        finished: false,
    };
    let body = stream::unfold(cursor, |mut c| async move {
        if c.finished {
            return None;
        }
        loop {
            // The job's state before its events: a job seen ended has its
            // last event committed (in the same transaction), so the read
            // after it finds it. The other order can see the events just
            // before the end, then the job ended, and close the stream
            // without the end.
            let ended = jobs::get(&c.state.db, c.caller.tenant, c.job)
                .await
                .map(|j| j.status.is_final());
            let batch = events::since(&c.state.db, c.job, c.last_id, 100).await;
            match (batch, ended) {
                (Ok(batch), Ok(ended)) if !batch.is_empty() => {
                    let mut out = String::new();
                    for e in &batch {
                        c.last_id = e.id;
                        let data = serde_json::to_string(e).unwrap_or_default();
                        out.push_str(&format!(
                            "id: {}\nevent: {}\ndata: {data}\n\n",
                            e.id, e.kind
                        ));
                    }
                    c.finished = ended && batch.len() < 100;
                    return Some((Ok::<_, actix_web::Error>(Bytes::from(out)), c));
                }
                (Ok(_), Ok(true)) => return None,
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(error = %e, "event stream interrupted");
                    let out = format!(
                        "event: error\ndata: {}\n\n",
                        serde_json::json!({"message": "the event source is unavailable; reconnect with Last-Event-ID"})
                    );
                    c.finished = true;
                    return Some((Ok(Bytes::from(out)), c));
                }
                _ => {}
            }
            // Nothing new: wait for the job's next event, saying we are
            // here now and then.
            if tokio::time::timeout(KEEPALIVE, c.news.news_after(c.last_id))
                .await
                .is_err()
            {
                return Some((Ok(Bytes::from_static(b": keep-alive\n\n")), c));
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body))
}
