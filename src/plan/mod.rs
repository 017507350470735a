//! The cutover model: runbook, steps and their status.

pub mod runbook;

pub use runbook::{Phase, Runbook, Step, StepStatus};
