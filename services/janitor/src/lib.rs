//! voxline-janitor
