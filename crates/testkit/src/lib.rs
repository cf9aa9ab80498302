//! voxline-testkit
