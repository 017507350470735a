//! Timeline progress of one cutover: each step's status and the cutover time, saved atomically
//! to `<data dir>/state/<cutover id>.json`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize, Serializer};

use super::error::PlanError;
use super::runbook::StepStatus;
use crate::store::{describe_io, write_atomic};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Status by step id; a step without an entry is pending.
    #[serde(default, serialize_with = "sorted")]
    pub statuses: HashMap<String, StepStatus>,
    /// The cutover time T, RFC 3339, once it is fixed.
    #[serde(default)]
    pub cutover_at: Option<String>,
}

/// Write statuses in key order so the file is stable and diffs stay readable.
fn sorted<S: Serializer>(map: &HashMap<String, StepStatus>, s: S) -> Result<S::Ok, S::Error> {
    map.iter().collect::<BTreeMap<_, _>>().serialize(s)
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
        serde_json::from_slice(&bytes).map_err(|e| PlanError::ProgressCorrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
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

    pub fn status(&self, step_id: &str) -> StepStatus {
        self.statuses.get(step_id).copied().unwrap_or_default()
    }

    /// Set a step's status; pending removes the entry, as that is the default.
    pub fn set(&mut self, step_id: &str, status: StepStatus) {
        if status == StepStatus::Pending {
            self.statuses.remove(step_id);
        } else {
            self.statuses.insert(step_id.to_string(), status);
        }
    }

    /// Advance a step to its next status ([`StepStatus::next`]) and return the new one.
    pub fn cycle(&mut self, step_id: &str) -> StepStatus {
        let next = self.status(step_id).next();
        self.set(step_id, next);
        next
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
        assert_eq!(p.status("lower-mx-ttl"), StepStatus::Pending);
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
        p.set("lower-mx-ttl", StepStatus::Done);
        p.set("take-snapshot", StepStatus::InProgress);
        assert_eq!(p.cycle("change-upns"), StepStatus::InProgress);
        p.set("gone", StepStatus::Done);
        p.set("gone", StepStatus::Pending);
        p.save(&path).unwrap();
        assert!(path.ends_with("state/contoso_2026.json"));

        let back = Progress::load(&path).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.status("take-snapshot"), StepStatus::InProgress);
        assert!(!back.statuses.contains_key("gone"));
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
        assert!(text.contains("\"in_progress\""), "{text}");
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
