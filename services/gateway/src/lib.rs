//! voxline-gateway
