//! voxline-telemetry
