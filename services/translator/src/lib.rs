//! voxline-translator
