//! What the routes call: one function per operation, holding the rules.
//! Routes only extract, convert and answer.

pub mod admin;
pub mod credits;
pub mod jobs;
pub mod keys;
pub mod package;
pub mod segments;
pub mod uploads;
