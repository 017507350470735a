//! The cutover model: runbook, steps and their status.

pub mod adopt;
pub mod adopt_live;
pub mod backout;
pub mod change;
pub mod cutover_time;
pub mod error;
pub mod live;
pub mod machine;
pub mod mapping;
pub mod progress;
pub mod provider;
pub mod release;
pub mod runbook;

pub use cutover_time::{CutoverSource, parse_cutover};
pub use error::PlanError;
pub use progress::Progress;
pub use runbook::{ACTIONS, Phase, Runbook, Step, StepStatus, format_offset};
