//! voxline-transcriber
