//! voxline-providers
