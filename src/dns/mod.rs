//! DNS lookups of the Microsoft 365 record set.

pub mod model;

pub use model::{AnswerStatus, RecordAnswer, RecordKind, RecordValue};
