//! Errors of the runbook and the saved timeline progress. One line each, naming what is wrong
//! and where.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The runbook text is not valid TOML or does not have the runbook's shape.
    #[error("runbook is not valid at line {line}: {reason}; fix the runbook file")]
    Parse { line: usize, reason: String },
    #[error("runbook has no phases; add at least one [[phases]] table")]
    NoPhases,
    /// A phase has an empty id or title, or shares its id with another phase.
    #[error("runbook phase \"{phase}\" {reason}")]
    BadPhase { phase: String, reason: String },
    /// Two steps share an id; audit records cite steps by id, so ids must be unique.
    #[error("runbook step id \"{step}\" is used more than once; give each step its own id")]
    DuplicateStep { step: String },
    /// A step has an empty id, empty title or a gate cutover does not know.
    #[error("runbook step \"{step}\" {reason}")]
    BadStep { step: String, reason: String },
    #[error(
        "runbook step \"{step}\" at line {line}: gate \"{gate}\" does not parse: {reason}; see docs/runbook.md for the facts a gate can name"
    )]
    BadGate {
        step: String,
        line: usize,
        gate: String,
        reason: String,
    },
    #[error("runbook file {}: {reason}", path.display())]
    RunbookFile { path: PathBuf, reason: String },
    #[error("cannot read progress file {}: {reason}; check its permissions", path.display())]
    ProgressRead { path: PathBuf, reason: String },
    #[error(
        "progress file {} is damaged ({reason}); move it aside to start the timeline afresh",
        path.display()
    )]
    ProgressCorrupt { path: PathBuf, reason: String },
    #[error("cannot save progress file {}: {reason}; check that the data directory is writable", path.display())]
    ProgressWrite { path: PathBuf, reason: String },
}
