//! Command implementations behind `main.rs`.
