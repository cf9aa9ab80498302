//! voxline-cli
