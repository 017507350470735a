//! Timeline progress of one cutover: each step's status and the cutover time, saved atomically
//! to `<data dir>/state/<cutover id>.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::PlanError;
use super::runbook::StepStatus;
use crate::store::{describe_io, write_atomic};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// What the operator decided for a step by hand, by step id; a step without an entry
    /// follows its gate and the clock.
    #[serde(default)]
    pub marks: BTreeMap<String, StepMark>,
    /// The operator's notes, by step id.
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
    /// The cutover time T, RFC 3339, once it is fixed.
    #[serde(default)]
    pub cutover_at: Option<String>,
    /// Version 1 kept statuses cycled by hand; they are read once and become marks.
    #[serde(default, skip_serializing, rename = "statuses")]
    legacy: HashMap<String, StepStatus>,
}

/// A step's status set by hand: who, when, and why (for skipped and failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepMark {
    pub status: StepStatus,
    /// The operator as the journal names them.
    pub by: String,
    /// RFC 3339.
    pub at: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl StepMark {
    pub fn at_time(&self) -> Option<time::OffsetDateTime> {
        crate::audit::parse_ts(&self.at)
    }
}

impl Progress {
    /// Read saved progress; a missing file is a fresh cutover (default progress), a file that
    /// does not parse is an error naming it rather than silently losing the operator's work.
    pub fn load(path: &Path) -> Result<Progress, PlanError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Progress::default());
            }
            Err(e) => {
                return Err(PlanError::ProgressRead {
                    path: path.to_path_buf(),
                    reason: describe_io(&e),
                });
            }
        };
        let mut progress: Progress =
            serde_json::from_slice(&bytes).map_err(|e| PlanError::ProgressCorrupt {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        for (id, status) in std::mem::take(&mut progress.legacy) {
            // "in progress" has no place any more: the clock and the gate say where a step is.
            if matches!(status, StepStatus::Done | StepStatus::Skipped) {
                progress.marks.entry(id).or_insert(StepMark {
                    status,
                    by: String::new(),
                    at: String::new(),
                    reason: "set before this version kept who and when".into(),
                });
            }
        }
        Ok(progress)
    }

    /// Save atomically (see [`write_atomic`]), creating the folder if needed.
    pub fn save(&self, path: &Path) -> Result<(), PlanError> {
        let write_err = |reason: String| PlanError::ProgressWrite {
            path: path.to_path_buf(),
            reason,
        };
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| write_err(e.to_string()))?;
        bytes.push(b'\n');
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| write_err(describe_io(&e)))?;
        }
        write_atomic(path, &bytes).map_err(|e| write_err(describe_io(&e)))
    }

    /// The mark set by hand on a step, if any.
    pub fn mark(&self, step_id: &str) -> Option<&StepMark> {
        self.marks.get(step_id)
    }

    /// Set a step's status by hand, or clear it (`None`: the gate and the clock decide again).
    pub fn set(&mut self, step_id: &str, mark: Option<StepMark>) {
        match mark {
            Some(m) => {
                self.marks.insert(step_id.to_string(), m);
            }
            None => {
                self.marks.remove(step_id);
            }
        }
    }

    /// Set a step's note; an empty note removes it.
    pub fn set_note(&mut self, step_id: &str, note: &str) {
        if note.trim().is_empty() {
            self.notes.remove(step_id);
        } else {
            self.notes.insert(step_id.to_string(), note.to_string());
        }
    }

    /// The cutover time, if set and valid RFC 3339.
    pub fn cutover_time(&self) -> Option<time::OffsetDateTime> {
        let at = self.cutover_at.as_deref()?;
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_fresh_progress() {
        let tmp = tempfile::tempdir().unwrap();
        let p = Progress::load(&tmp.path().join("none.json")).unwrap();
        assert_eq!(p, Progress::default());
        assert!(p.mark("lower-mx-ttl").is_none());
    }

    fn mark(status: StepStatus, reason: &str) -> Option<StepMark> {
        Some(StepMark {
            status,
            by: "admin@contoso.example".into(),
            at: "2026-11-28T18:00:00Z".into(),
            reason: reason.into(),
        })
    }

    #[test]
    fn round_trip_through_the_state_file() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = crate::store::Paths::resolve(Some(tmp.path())).unwrap();
        let path = paths.state_file("contoso/2026");
        let mut p = Progress {
            cutover_at: Some("2026-11-28T20:00:00Z".into()),
            ..Progress::default()
        };
        p.set("lower-mx-ttl", mark(StepStatus::Done, ""));
        p.set(
            "take-snapshot",
            mark(StepStatus::Skipped, "taken by the DNS host"),
        );
        p.set("change-upns", mark(StepStatus::Failed, "licence missing"));
        p.set("gone", mark(StepStatus::Done, ""));
        p.set("gone", None);
        p.set_note("change-upns", "call the helpdesk first");
        p.set_note("x", "  ");
        p.save(&path).unwrap();
        assert!(path.ends_with("state/contoso_2026.json"));

        let back = Progress::load(&path).unwrap();
        assert_eq!(back, p);
        assert_eq!(
            back.mark("take-snapshot").unwrap().reason,
            "taken by the DNS host"
        );
        assert!(back.mark("gone").is_none());
        assert!(!back.notes.contains_key("x"));
        assert_eq!(
            back.cutover_time().map(|t| t.unix_timestamp()),
            Some(1_795_896_000)
        );

        // Stable, sorted, human-readable file.
        let text = std::fs::read_to_string(&path).unwrap();
        let change = text.find("change-upns").unwrap();
        let lower = text.find("lower-mx-ttl").unwrap();
        let take = text.find("take-snapshot").unwrap();
        assert!(change < lower && lower < take, "{text}");
        assert!(text.contains("\"failed\""), "{text}");
    }

    #[test]
    fn version_1_statuses_become_marks() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("v1.json");
        std::fs::write(
            &path,
            br#"{"statuses": {"a": "done", "b": "in_progress", "c": "skipped"}}"#,
        )
        .unwrap();
        let p = Progress::load(&path).unwrap();
        assert_eq!(p.mark("a").unwrap().status, StepStatus::Done);
        assert!(p.mark("b").is_none());
        assert_eq!(p.mark("c").unwrap().status, StepStatus::Skipped);
        p.save(&path).unwrap();
        assert!(!std::fs::read_to_string(&path).unwrap().contains("statuses"));
    }

    #[test]
    fn corrupt_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.json");
        std::fs::write(&path, b"{\"statuses\": {\"a\": \"finished\"}}").unwrap();
        let err = Progress::load(&path).unwrap_err();
        assert!(matches!(err, PlanError::ProgressCorrupt { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(!msg.contains('\n'), "{msg}");
    }
}
