//! The append-only, hash-chained audit journal.

pub mod record;

pub use record::{Event, FORMAT_VERSION, Kind, Record};
