//! voxline-storage
