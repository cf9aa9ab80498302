//! Voxline's domain vocabulary: ids, languages, job kinds, the stage graph and
//! the state machines of jobs, tasks and stage runs. No I/O lives here.

#[macro_use]
mod text_enum;

mod credits;
pub mod edits;
mod error;
mod ids;
mod job;
mod language;
mod stage;
mod transcript;

pub use credits::{Credits, UNITS_PER_CREDIT};
pub use error::CoreError;
pub use ids::{ApiKeyId, JobId, StageRunId, TaskId, TenantId, UploadId};
pub use job::{JobKind, JobOptions, JobStatus, SocialOptions, SubtitleMode, TaskStatus};
pub use language::Language;
pub use stage::{Stage, StageRunStatus, task_stages};
pub use transcript::{Segment, Synthesis, SynthesizedLine, Transcript, Translation, Word};
