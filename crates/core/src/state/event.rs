//! What the events of a job say (the SSE stream and webhooks read them).

text_enum!(
    /// The kind of a job event.
    EventKind, "event kind", sql "event_kind" {
        JobCreated => "job_created",
        StageStarted => "stage_started",
        StageProgress => "stage_progress",
        StageSucceeded => "stage_succeeded",
        StageRetrying => "stage_retrying",
        /// A worker stopping handed the stage back; it is queued again.
        StageReleased => "stage_released",
        StageFailed => "stage_failed",
        TaskCompleted => "task_completed",
        JobCompleted => "job_completed",
        JobFailed => "job_failed",
        JobCancelled => "job_cancelled",
        JobRetried => "job_retried",
        SegmentsEdited => "segments_edited",
        /// Engine calls of an attempt that ended without an outcome of its
        /// own (its lease was lost) were recorded.
        UsageRecorded => "usage_recorded",
        /// Files of the job were deleted: their lifetime ran out, or the
        /// job was cancelled.
        FilesRemoved => "files_removed",
    }
);

impl EventKind {
    /// The event that tells a job reached `status` (a final one).
    pub fn job_ended(status: crate::JobStatus) -> Option<Self> {
        match status {
            crate::JobStatus::Completed => Some(Self::JobCompleted),
            crate::JobStatus::Failed => Some(Self::JobFailed),
            crate::JobStatus::Cancelled => Some(Self::JobCancelled),
            _ => None,
        }
    }
}
