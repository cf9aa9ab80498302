//! The load test's account of every job: what PostgreSQL, the API and
//! the event streams say of it.

use std::collections::{HashMap, HashSet};

use reqwest::StatusCode;
use serde_json::Value;
use voxline_testkit::load::StreamEnd;

use super::{JOBS, STREAMS_PER_JOB};

/// What PostgreSQL, the API and the streams say of every job.
pub struct Audit {
    pub problems: Vec<String>,
    pub recorded: usize,
    pub completed: usize,
    pub cancelled: usize,
    pub events: usize,
}

pub type Answers = HashMap<String, Option<(StatusCode, Value)>>;

/// Every job the API created is in PostgreSQL under its own key, once;
/// it ended cancelled if its cancellation was answered 200, completed if
/// 409; the API shows the same; no task or run is left open; a repeated
/// creation answered the same job; and each of its streams began with its
/// creation and closed after its end (events may follow the end in the
/// stream's last batch: the usage of an attempt a cancellation cut short).
pub async fn audit(
    db: &tokio_postgres::Client,
    created: &[(usize, String)],
    replays: &Answers,
    cancels: &Answers,
    reads: &Answers,
    ends: &[StreamEnd],
) -> anyhow::Result<Audit> {
    let mut problems = Vec::new();
    let rows = db
        .query(
            "SELECT id::text, status::text, idempotency_key FROM jobs",
            &[],
        )
        .await?;
    let recorded: HashMap<String, (String, Option<String>)> = rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect();
    let keys: HashSet<&str> = recorded
        .values()
        .filter_map(|(_, k)| k.as_deref())
        .collect();
    if created.len() != JOBS || recorded.len() != JOBS || keys.len() != JOBS {
        problems.push(format!(
            "{} jobs created, {} in PostgreSQL under {} keys; {JOBS} expected",
            created.len(),
            recorded.len(),
            keys.len()
        ));
    }
    let open_sql = "SELECT (SELECT count(*) FROM tasks WHERE status IN ('pending', 'running'))
                         + (SELECT count(*) FROM stage_runs WHERE status IN ('queued', 'running'))";
    let open: i64 = db.query_one(open_sql, &[]).await?.get(0);
    if open != 0 {
        problems.push(format!("{open} tasks or stage runs still open"));
    }
    for (i, id) in created {
        let Some((status, key)) = recorded.get(id) else {
            problems.push(format!("job {id} was created but is not in PostgreSQL"));
            continue;
        };
        if key.as_deref() != Some(format!("load-{i}").as_str()) {
            problems.push(format!("job {id} holds key {key:?}, not load-{i}"));
        }
        match &replays[id] {
            Some((StatusCode::OK, job)) if job["id"] == id.as_str() => {}
            other => problems.push(format!("job {id}: its repeat was answered {other:?}")),
        }
        let expected = match &cancels[id] {
            Some((StatusCode::OK, _)) => "cancelled",
            Some((StatusCode::CONFLICT, e)) if e["error"]["code"] == "job_finished" => "completed",
            other => {
                problems.push(format!("job {id}: its cancellation was answered {other:?}"));
                continue;
            }
        };
        if status != expected {
            problems.push(format!("job {id} is {status}, expected {expected}"));
        }
        let shown = reads[id]
            .as_ref()
            .and_then(|(_, job)| job["status"].as_str());
        if shown != Some(status.as_str()) {
            problems.push(format!(
                "job {id}: the API shows {shown:?}, PostgreSQL {status}"
            ));
        }
    }
    if ends.len() != created.len() * STREAMS_PER_JOB {
        problems.push(format!("{} streams for {} jobs", ends.len(), created.len()));
    }
    for end in ends {
        let status = recorded.get(&end.job).map_or("", |(s, _)| s.as_str());
        let ended = format!("job_{status}");
        if let Some(p) = &end.problem {
            problems.push(format!("a stream of {} ({status}): {p}", end.job));
        } else if end.kinds.first().map(String::as_str) != Some("job_created")
            || !end.kinds.contains(&ended)
        {
            problems.push(format!(
                "a stream of {} ({status}) read {:?}",
                end.job, end.kinds
            ));
        }
    }
    let count = |s: &str| recorded.values().filter(|(status, _)| status == s).count();
    Ok(Audit {
        problems,
        recorded: recorded.len(),
        completed: count("completed"),
        cancelled: count("cancelled"),
        events: ends.iter().map(|e| e.kinds.len()).sum(),
    })
}
