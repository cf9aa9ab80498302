//! The database layer's own tests, against a real PostgreSQL (a database
//! of their own per test): every query prepares against the migrated
//! schema, the schema's job roll-up agrees with the state machine's, and
//! the lease protocol (claim, renew, record an outcome, fail, release,
//! expire, fencing, batches) keeps its promises.

mod common;
mod lease_protocol;
mod queries;
mod rollup;
mod snapshots;
