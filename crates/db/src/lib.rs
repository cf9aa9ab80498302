//! voxline-db
