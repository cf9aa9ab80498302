//! PostgreSQL, Voxline's source of truth: the connection pool, the
//! migrations, and one module of SQL per table family. Nothing outside this
//! crate writes SQL.

mod error;
mod pool;

pub mod api_keys;
pub mod artifacts;
pub mod credits;
pub mod deliveries;
pub mod drafts;
pub mod edits;
pub mod events;
pub mod jobs;
pub mod ops;
pub mod outbox;
pub mod runs;
pub mod social;
pub mod uploads;
pub mod usage;

pub use error::DbError;
pub use pool::Db;
