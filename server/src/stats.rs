//! Conversion figures (placeholder).
