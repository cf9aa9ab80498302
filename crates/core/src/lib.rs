//! Voxline's domain vocabulary: ids, languages, job kinds, the stage graph and
//! the state machines of jobs, tasks and stage runs. No I/O lives here.

#[macro_use]
mod text_enum;

mod credits;
mod dispatch;
pub mod edits;
mod error;
pub mod glossary;
mod ids;
mod job;
mod language;
mod priority;
pub mod script;
pub mod sentences;
pub mod speakers;
mod stage;
pub mod state;
mod transcript;
pub mod wer;

pub use credits::{Credits, UNITS_PER_CREDIT};
pub use dispatch::Dispatch;
pub use error::CoreError;
pub use ids::{ApiKeyId, JobId, StageRunId, TaskId, TenantId, UploadId};
pub use job::{
    CloneVoices, JobKind, JobOptions, JobStatus, SocialOptions, SubtitleMode, TaskStatus,
};
pub use language::Language;
pub use priority::Priority;
pub use stage::{Stage, StageRunStatus, task_stages};
pub use transcript::{
    HeardLine, Segment, Stems, Synthesis, SynthesizedLine, Transcript, Translation, Word,
};
