//! The cutover model: runbook, steps and their status.

pub mod error;
pub mod progress;
pub mod runbook;

pub use error::PlanError;
pub use progress::Progress;
pub use runbook::{GATES, Phase, Runbook, Step, StepStatus, format_offset};
