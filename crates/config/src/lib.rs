//! voxline-config
