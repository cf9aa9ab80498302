//! Voxline's job and task states in the frontend's words. The frontend
//! stops polling only on `complete` or `error`, so every final state maps
//! to one of those two; a running task is named by its stage.

use chrono::{DateTime, Utc};
use voxline_core::{JobStatus, Stage, TaskStatus};
use voxline_db::jobs::Task;

pub fn task_status(t: &Task) -> &'static str {
    match t.status {
        TaskStatus::Pending => "pending",
        TaskStatus::Running => stage_word(t.stage),
        TaskStatus::Completed => "complete",
        TaskStatus::Failed | TaskStatus::Cancelled => "error",
    }
}

fn stage_word(stage: Stage) -> &'static str {
    match stage {
        Stage::Transcribe => "processing",
        Stage::Translate | Stage::Synthesize => "generating",
        Stage::Render | Stage::Publish => "finalizing",
    }
}

/// The job's state: final states as they are; a live job is as far along
/// as its least advanced unfinished language.
pub fn job_status(status: JobStatus, tasks: &[Task]) -> &'static str {
    match status {
        JobStatus::Completed => "complete",
        JobStatus::Failed | JobStatus::Cancelled => "error",
        JobStatus::Queued | JobStatus::Running => tasks
            .iter()
            .filter(|t| !t.status.is_final())
            .map(|t| match t.status {
                TaskStatus::Running => stage_word(t.stage),
                _ => "processing",
            })
            .min_by_key(|word| rank(word))
            .unwrap_or("processing"),
    }
}

fn rank(word: &str) -> u8 {
    match word {
        "processing" => 0,
        "generating" => 1,
        _ => 2,
    }
}

/// Seconds left, extrapolated from the progress made since `started`;
/// unknown until there is enough progress to go on.
pub fn remaining_seconds(
    started: Option<DateTime<Utc>>,
    progress: f64,
    now: DateTime<Utc>,
) -> Option<u64> {
    let started = started?;
    if !(0.05..1.0).contains(&progress) {
        return None;
    }
    let elapsed = (now - started).num_milliseconds().max(0) as f64 / 1000.0;
    Some((elapsed * (1.0 - progress) / progress).ceil() as u64)
}

/// A 0–1 fraction as the frontend's 0–100 integer.
pub fn percent(fraction: f64) -> u32 {
    (fraction.clamp(0.0, 1.0) * 100.0).round() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use voxline_core::{JobId, TaskId};

    fn task(status: TaskStatus, stage: Stage) -> Task {
        Task {
            id: TaskId::new(),
            job_id: JobId::new(),
            language: "es".into(),
            status,
            stage,
            stages: vec![],
            progress: 0.0,
            message: String::new(),
            error_code: None,
            error_message: None,
            stats: None,
            credits: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            started_at: None,
            finished_at: None,
        }
    }

    #[test]
    fn states_map_to_the_frontend_words() {
        use Stage::*;
        use TaskStatus::*;
        assert_eq!(task_status(&task(Running, Synthesize)), "generating");
        assert_eq!(task_status(&task(Cancelled, Render)), "error");
        let tasks = [
            task(Running, Render),
            task(Running, Translate),
            task(Completed, Publish),
        ];
        assert_eq!(job_status(JobStatus::Running, &tasks), "generating");
        assert_eq!(
            job_status(JobStatus::Queued, &[task(Pending, Transcribe)]),
            "processing"
        );
        assert_eq!(job_status(JobStatus::Completed, &tasks), "complete");
        assert_eq!(job_status(JobStatus::Cancelled, &tasks), "error");
    }

    #[test]
    fn remaining_time_needs_progress() {
        let now = Utc::now();
        let started = now - chrono::Duration::seconds(30);
        assert_eq!(remaining_seconds(Some(started), 0.5, now), Some(30));
        assert_eq!(remaining_seconds(Some(started), 0.01, now), None);
        assert_eq!(remaining_seconds(None, 0.5, now), None);
        assert_eq!(percent(0.426), 43);
    }
}
