//! voxline-renderer
