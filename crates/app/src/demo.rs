//! Demo data: filled in below.
