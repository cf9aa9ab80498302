//! voxline-synthesizer
