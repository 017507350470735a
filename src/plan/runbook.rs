//! The cutover runbook: phases and steps relative to the cutover time (T), loaded from
//! `assets/runbook.toml` (embedded at build time).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runbook {
    pub phases: Vec<Phase>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phase {
    /// Stable id, e.g. "t-14d".
    pub id: String,
    /// Heading shown in the timeline, e.g. "Two weeks before (T-14d)".
    pub title: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Stable id, e.g. "lower-mx-ttl"; audit records cite it.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub detail: String,
    /// Due time relative to T in minutes (negative = before cutover).
    pub due_minutes: i64,
    /// Who does it: "admin", "dns owner", "project manager", …
    #[serde(default)]
    pub owner: String,
    /// Name of an automatic gate the machine can check later (e.g. "mx-ttl-low").
    #[serde(default)]
    pub gate: Option<String>,
}

/// Progress of one step. Manual for now; gates will set it automatically later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    #[default]
    Pending,
    InProgress,
    Done,
    Skipped,
}

impl StepStatus {
    /// The next status when the operator cycles a step.
    pub fn next(self) -> StepStatus {
        match self {
            StepStatus::Pending => StepStatus::InProgress,
            StepStatus::InProgress => StepStatus::Done,
            StepStatus::Done => StepStatus::Skipped,
            StepStatus::Skipped => StepStatus::Pending,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Pending => "pending",
            StepStatus::InProgress => "in progress",
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
        }
    }
}
