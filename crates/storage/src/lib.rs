//! Object storage behind one seam: a local folder by default, any
//! S3-compatible store by configuration. Keys follow one deterministic
//! layout (`keys`), and downloads are expiring signed URLs (`links`).

mod error;
pub mod keys;
mod links;
mod store;

pub use error::StorageError;
pub use links::{LinkPurpose, SignedLink};
pub use store::Storage;
