//! voxline-standalone
