//! The migration timeline: the runbook's steps against the clock and the world. Gates
//! ([`gate`]) are evaluated over what cutover has read ([`facts`]); each step's status follows
//! from its mark, its gate and its due time ([`status`]); [`export`] writes it out for the
//! change record. The dashboard's Timeline pane and `cutover check` / `cutover timeline` use
//! these same functions.

pub mod export;
pub mod facts;
pub mod gate;
pub mod read;
pub mod status;

pub use facts::{Evaluation, Facts, SnapshotFact, Verdict};
pub use status::{StepState, StepView, compute, first_held, next_actionable};
