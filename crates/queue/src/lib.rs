//! voxline-queue
