//! Conversion figures from storage (placeholder).
