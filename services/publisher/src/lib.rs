//! voxline-publisher
