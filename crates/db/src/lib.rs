//! PostgreSQL, Voxline's source of truth: the connection pool, the
//! migrations, and one module per table family applying the state
//! machine's plans (`voxline_core::state`). Every query is a `.sql` file
//! under `queries/`; nothing outside this crate writes SQL.

#[macro_use]
mod query;

mod creation;
mod error;
mod listen;
mod lock;
mod outcomes;
mod pool;
mod rows;

pub mod api_keys;
pub mod artifacts;
pub mod clones;
pub mod credits;
pub mod deliveries;
pub mod drafts;
pub mod edits;
pub mod events;
pub mod glossaries;
pub mod jobs;
pub mod ops;
pub mod runs;
pub mod scripts;
pub mod snapshots;
pub mod social;
pub mod uploads;
pub mod usage;
pub mod workers;

pub use error::{
    CancelError, CommitError, CreateJobError, DbError, DeleteJobError, EditError, RetryError,
};
pub use listen::Notifications;
pub use outcomes::apply;
pub use pool::Db;
