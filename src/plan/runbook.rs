//! The cutover runbook: phases and steps relative to the cutover time (T), loaded from
//! `assets/runbook.toml` (embedded at build time).

use std::collections::HashSet;
use std::fmt::Write;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::error::PlanError;
use crate::timeline::gate::{self, Expr};

/// The actions a step can link to (Enter on the step, then `a`): what the dashboard opens or
/// starts for it. Naming an unknown one is an error, as for gates.
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "release-plan",
        "open the release plan in the Users pane (the cleanup workbench)",
    ),
    (
        "take-snapshot",
        "take the DNS zone snapshot now, if none is kept",
    ),
    (
        "lower-mx-ttl",
        "show the MX TTL plan (the DNS pane's TTL view)",
    ),
    (
        "dns-compare",
        "show the DNS records the destination expects beside the zone's",
    ),
    ("dns-propagation", "show what each resolver answers"),
    ("verify-audit", "verify the audit journal's hash chain now"),
];

// Unknown keys are rejected so a misspelt optional key (`gates`, `ownr`) is reported instead of
// being dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    pub phases: Vec<Phase>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Stable id, e.g. "t-14d".
    pub id: String,
    /// Heading shown in the timeline, e.g. "Two weeks before (T-14d)".
    pub title: String,
    /// Steps done only if the cutover is called off (the back-out plan): never due or
    /// overdue by the clock, and not in `cutover check` unless asked for by name.
    #[serde(default)]
    pub contingency: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// Nice to have: not doing it does not block the cutover (`cutover check` reports it apart).
    #[serde(default)]
    pub optional: bool,
    /// The automatic gate as written, e.g. `dns.mx_ttl <= 300` ([`crate::timeline::gate`]);
    /// its place in the file, for load errors.
    #[serde(default)]
    pub gate: Option<Spanned<String>>,
    /// The gate parsed (at load).
    #[serde(skip)]
    pub parsed_gate: Option<Expr>,
    /// What the dashboard offers for this step: one of [`ACTIONS`].
    #[serde(default)]
    pub action: Option<String>,
}

impl Runbook {
    /// The runbook shipped with cutover (`assets/runbook.toml`, embedded at build time).
    pub fn embedded() -> Result<Runbook, PlanError> {
        Runbook::from_toml(include_str!("../../assets/runbook.toml"))
    }

    /// Parse and validate a runbook: at least one phase, phase and step ids unique and
    /// non-empty, titles non-empty, gates known.
    pub fn from_toml(text: &str) -> Result<Runbook, PlanError> {
        let line_of = |at: usize| text.bytes().take(at).filter(|b| *b == b'\n').count() + 1;
        let mut runbook: Runbook = toml::from_str(text).map_err(|e| PlanError::Parse {
            // toml's Display spans several lines with a source excerpt; keep one line.
            line: e.span().map_or(0, |span| line_of(span.start)),
            reason: e.message().trim().to_string(),
        })?;
        runbook.validate()?;
        for step in runbook.phases.iter_mut().flat_map(|p| p.steps.iter_mut()) {
            if let Some(text_gate) = &step.gate {
                let parsed = gate::parse(text_gate.get_ref()).map_err(|e| PlanError::BadGate {
                    step: step.id.clone(),
                    line: line_of(text_gate.span().start),
                    gate: text_gate.get_ref().clone(),
                    reason: e.to_string(),
                })?;
                step.parsed_gate = Some(parsed);
            }
        }
        Ok(runbook)
    }

    /// The runbook in force: `runbook.toml` in `dir` (the folder of the configuration file)
    /// when there is one, else the embedded one. The path is returned when a file was used.
    pub fn load(
        dir: Option<&std::path::Path>,
    ) -> Result<(Runbook, Option<std::path::PathBuf>), PlanError> {
        let Some(path) = dir.map(|d| d.join(RUNBOOK_FILE)) else {
            return Ok((Runbook::embedded()?, None));
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Runbook::from_toml(&text)
                .map(|r| (r, Some(path.clone())))
                .map_err(|e| PlanError::RunbookFile {
                    path,
                    reason: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((Runbook::embedded()?, None)),
            Err(e) => Err(PlanError::RunbookFile {
                path,
                reason: crate::store::describe_io(&e),
            }),
        }
    }

    fn validate(&self) -> Result<(), PlanError> {
        if self.phases.is_empty() {
            return Err(PlanError::NoPhases);
        }
        let mut phase_ids = HashSet::new();
        let mut step_ids = HashSet::new();
        for (index, phase) in self.phases.iter().enumerate() {
            let bad_phase = |reason: &str| PlanError::BadPhase {
                phase: if phase.id.is_empty() {
                    format!("#{}", index + 1)
                } else {
                    phase.id.clone()
                },
                reason: reason.to_string(),
            };
            if phase.id.trim().is_empty() {
                return Err(bad_phase("has an empty id"));
            }
            if phase.title.trim().is_empty() {
                return Err(bad_phase("has an empty title"));
            }
            if !phase_ids.insert(phase.id.as_str()) {
                return Err(bad_phase("is defined more than once"));
            }
            for (n, step) in phase.steps.iter().enumerate() {
                if step.id.trim().is_empty() {
                    return Err(PlanError::BadStep {
                        step: format!("#{} of phase {}", n + 1, phase.id),
                        reason: "has an empty id".into(),
                    });
                }
                let bad_step = |reason: String| PlanError::BadStep {
                    step: step.id.clone(),
                    reason,
                };
                if !step_ids.insert(step.id.as_str()) {
                    return Err(PlanError::DuplicateStep {
                        step: step.id.clone(),
                    });
                }
                if step.title.trim().is_empty() {
                    return Err(bad_step("has an empty title".into()));
                }
                if let Some(action) = &step.action
                    && !ACTIONS.iter().any(|(name, _)| name == action)
                {
                    return Err(bad_step(format!(
                        "links unknown action \"{action}\" (known: {})",
                        ACTIONS
                            .iter()
                            .map(|(name, _)| *name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// Every step with its phase, in runbook order.
    pub fn steps(&self) -> impl Iterator<Item = (&Phase, &Step)> {
        self.phases
            .iter()
            .flat_map(|phase| phase.steps.iter().map(move |step| (phase, step)))
    }

    /// The step with this id, with its phase.
    pub fn step(&self, id: &str) -> Option<(&Phase, &Step)> {
        self.steps().find(|(_, step)| step.id == id)
    }
}

/// The file name of a user's runbook, beside the configuration file.
pub const RUNBOOK_FILE: &str = "runbook.toml";

impl Step {
    /// The gate as written, if the step has one.
    pub fn gate_text(&self) -> Option<&str> {
        self.gate.as_ref().map(|g| g.get_ref().as_str())
    }

    /// The due time as shown in the timeline, e.g. `T-8h` ([`format_offset`]).
    pub fn due_label(&self) -> String {
        format_offset(self.due_minutes)
    }
}

/// Format minutes relative to T: `T-14d`, `T-8h`, `T-30m`, `T+0`, `T+2h`, `T+1d`. Offsets that are
/// not a whole number of the largest unit list each non-zero unit: `T-1d2h`, `T+1h30m`.
pub fn format_offset(minutes: i64) -> String {
    if minutes == 0 {
        return "T+0".to_string();
    }
    let mut out = String::from(if minutes < 0 { "T-" } else { "T+" });
    let mut rest = minutes.unsigned_abs();
    for (size, unit) in [(24 * 60, 'd'), (60, 'h'), (1, 'm')] {
        let count = rest / size;
        rest %= size;
        if count > 0 {
            // Writing to a String cannot fail.
            let _ = write!(out, "{count}{unit}");
        }
    }
    out
}

/// A status the operator sets by hand ([`super::progress::StepMark`]); the other statuses
/// (pending, due, overdue, done by gate) come from the clock and the gate
/// ([`crate::timeline::status`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Done,
    Skipped,
    Failed,
    /// Only in version 1 progress files; read and dropped.
    #[serde(skip_serializing)]
    InProgress,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::Skipped => "skipped",
            StepStatus::Failed => "failed",
            StepStatus::InProgress => "in progress",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_runbook_is_valid_and_complete() {
        let rb = Runbook::embedded().unwrap();
        let phases: Vec<_> = rb.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            phases,
            ["t-14d", "t-7d", "t-1d", "cutover", "after", "back-out"]
        );
        let count = rb.steps().count();
        assert!((35..=55).contains(&count), "{count} steps");
        // Every gate parsed; every kind of fact the issue names is used by some step.
        let gated: Vec<&Step> = rb
            .steps()
            .map(|(_, s)| s)
            .filter(|s| s.gate.is_some())
            .collect();
        assert!(gated.iter().all(|s| s.parsed_gate.is_some()));
        let texts: String = gated
            .iter()
            .filter_map(|s| s.gate_text())
            .collect::<Vec<_>>()
            .join(" ");
        for fact in [
            "dns.mx_ttl <=",
            "dns.mx_ttl_lowered_before(T - 8h)",
            "source.references == 0",
            "source.domain.present == false",
            "destination.domain.verified",
            "dns.mx.points_to == destination",
            "dns.spf.includes_exchange_online",
            "dns.propagated(mx) >= 0.9",
            "snapshot.taken(source)",
            "audit.verified",
        ] {
            assert!(texts.contains(fact), "{fact} unused");
        }
        assert!(rb.phases.last().unwrap().contingency);
        // Steps run in time order within each phase, and every step says who does it.
        for phase in &rb.phases {
            assert!(!phase.steps.is_empty(), "{} is empty", phase.id);
            assert!(
                phase
                    .steps
                    .windows(2)
                    .all(|w| w[0].due_minutes <= w[1].due_minutes),
                "{} out of order",
                phase.id
            );
            for step in &phase.steps {
                assert!(!step.owner.is_empty(), "{} has no owner", step.id);
                assert!(!step.detail.is_empty(), "{} has no detail", step.id);
            }
        }
        let cutover = &rb.phases[3].steps;
        assert_eq!(cutover.first().unwrap().due_label(), "T-8h");
        assert_eq!(cutover.last().unwrap().due_label(), "T+2h");
        let (phase, step) = rb.step("lower-mx-ttl").unwrap();
        assert_eq!(phase.id, "t-1d");
        assert_eq!(step.gate_text(), Some("dns.mx_ttl <= 300"));
        assert_eq!(step.action.as_deref(), Some("lower-mx-ttl"));
    }

    const TWO_STEPS: &str = r#"
        [[phases]]
        id = "p"
        title = "Phase"
        [[phases.steps]]
        id = "a"
        title = "A"
        due_minutes = -60
        [[phases.steps]]
        id = "STEP2"
        title = "B"
        due_minutes = 0
    "#;

    #[test]
    fn minimal_runbook_parses_with_defaults() {
        let rb = Runbook::from_toml(TWO_STEPS.replace("STEP2", "b").as_str()).unwrap();
        let (_, b) = rb.step("b").unwrap();
        assert_eq!(
            (
                b.detail.as_str(),
                b.owner.as_str(),
                b.gate_text(),
                b.optional
            ),
            ("", "", None, false)
        );
    }

    #[test]
    fn duplicate_step_id_is_named() {
        let err = Runbook::from_toml(&TWO_STEPS.replace("STEP2", "a")).unwrap_err();
        assert!(matches!(&err, PlanError::DuplicateStep { step } if step == "a"));
        assert!(err.to_string().contains("\"a\""), "{err}");
    }

    #[test]
    fn invalid_runbooks_are_rejected_naming_the_culprit() {
        let empty_title = TWO_STEPS.replace("title = \"B\"", "title = \" \"");
        let err = Runbook::from_toml(&empty_title).unwrap_err();
        assert_eq!(err.to_string(), "runbook step \"STEP2\" has an empty title");

        let bad_gate = TWO_STEPS.replace(
            "due_minutes = 0",
            "due_minutes = 0\ngate = \"dns.mx_ttl <= nine\"",
        );
        let err = Runbook::from_toml(&bad_gate).unwrap_err();
        let gate_line = bad_gate
            .lines()
            .position(|l| l.starts_with("gate"))
            .unwrap()
            + 1;
        assert!(
            matches!(&err, PlanError::BadGate { step, line, .. } if step == "STEP2" && *line == gate_line),
            "{err}"
        );
        assert!(err.to_string().contains("cannot be compared"), "{err}");
        assert!(
            err.to_string().contains(&format!("line {gate_line}")),
            "{err}"
        );

        let unknown =
            TWO_STEPS.replace("due_minutes = 0", "due_minutes = 0\ngate = \"mx-ttl-low\"");
        let err = Runbook::from_toml(&unknown).unwrap_err();
        assert!(err.to_string().contains("unknown fact \"mx\""), "{err}");

        let action = TWO_STEPS.replace("due_minutes = 0", "due_minutes = 0\naction = \"reboot\"");
        let err = Runbook::from_toml(&action).unwrap_err();
        assert!(
            err.to_string().contains("unknown action \"reboot\""),
            "{err}"
        );

        assert!(matches!(
            Runbook::from_toml("phases = []").unwrap_err(),
            PlanError::NoPhases
        ));

        let typo = TWO_STEPS.replace("due_minutes = 0", "due_minutes = 0\ngates = \"x\"");
        let err = Runbook::from_toml(&typo).unwrap_err();
        let gates_line = typo.lines().position(|l| l.starts_with("gates")).unwrap() + 1;
        assert!(
            matches!(err, PlanError::Parse { line, .. } if line == gates_line),
            "{err}"
        );
        assert!(!err.to_string().contains('\n'), "{err}");

        let missing_due = TWO_STEPS.replace("due_minutes = 0", "");
        let err = Runbook::from_toml(&missing_due).unwrap_err();
        assert!(err.to_string().contains("due_minutes"), "{err}");
    }

    #[test]
    fn offsets_use_the_largest_whole_unit_or_mix_units() {
        let cases = [
            (-14 * 1440, "T-14d"),
            (-7 * 1440, "T-7d"),
            (-1440, "T-1d"),
            (-480, "T-8h"),
            (-30, "T-30m"),
            (0, "T+0"),
            (1, "T+1m"),
            (120, "T+2h"),
            (1440, "T+1d"),
            (10080, "T+7d"),
            (-(1440 + 120), "T-1d2h"),
            (90, "T+1h30m"),
            (1440 + 5, "T+1d5m"),
            (-(1440 + 61), "T-1d1h1m"),
        ];
        for (minutes, label) in cases {
            assert_eq!(format_offset(minutes), label, "{minutes}");
        }
        // No overflow at the extremes.
        assert!(format_offset(i64::MIN).starts_with("T-"));
    }
}
