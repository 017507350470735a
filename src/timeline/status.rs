//! Where each runbook step stands: a mark set by hand wins; else a gate that holds makes it
//! done (since the time it first held, from the journal), a gate that can no longer hold makes
//! it failed; else the clock makes it pending, due (within the hour) or overdue.

use std::collections::HashMap;

use time::{Duration, OffsetDateTime};

use super::facts::{Evaluation, Facts, Verdict};
use crate::audit::{Kind, Record};
use crate::plan::progress::{Progress, StepMark};
use crate::plan::{Phase, Runbook, Step, StepStatus};

/// A step is "due" from this long before its due time.
pub const DUE_SOON: Duration = Duration::hours(1);

/// The journal's action for a gate that first held (target: the step id).
pub const GATE_HELD: &str = "gate held";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    Pending,
    /// Its due time is within [`DUE_SOON`].
    Due,
    /// Past its due time by this much.
    Overdue(Duration),
    /// Its gate holds; since when it first held, when the journal knows.
    DoneByGate(Option<OffsetDateTime>),
    DoneByHand {
        by: String,
        at: Option<OffsetDateTime>,
    },
    Skipped {
        by: String,
        reason: String,
    },
    /// Marked failed by hand (with the reason), or its gate can no longer hold (reason: what
    /// was observed).
    Failed {
        by: Option<String>,
        reason: String,
    },
    /// A back-out step: done only if the cutover is called off.
    Contingency,
}

impl StepState {
    /// One word (or two) for lists and exports.
    pub fn label(&self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Due => "due",
            StepState::Overdue(_) => "overdue",
            StepState::DoneByGate(_) => "done (gate)",
            StepState::DoneByHand { .. } => "done (by hand)",
            StepState::Skipped { .. } => "skipped",
            StepState::Failed { .. } => "failed",
            StepState::Contingency => "if backing out",
        }
    }

    /// Done or skipped: nothing more to do.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            StepState::DoneByGate(_) | StepState::DoneByHand { .. } | StepState::Skipped { .. }
        )
    }

    /// What the admin should look at next: due, overdue, failed, or pending.
    pub fn is_actionable(&self) -> bool {
        !self.is_closed() && *self != StepState::Contingency
    }
}

/// One step as the timeline shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct StepView {
    /// Index into the runbook's steps (in runbook order).
    pub index: usize,
    pub state: StepState,
    /// T plus the step's offset, when T is set.
    pub due_at: Option<OffsetDateTime>,
    /// The gate's evaluation, for steps with a gate.
    pub gate: Option<Evaluation>,
}

/// When each step's gate first held, from the journal's `gate held` records.
pub fn first_held(records: &[Record]) -> HashMap<String, OffsetDateTime> {
    let mut out = HashMap::new();
    for r in records {
        if r.event.kind == Kind::Observed
            && r.event.action == GATE_HELD
            && let (Some(step), Some(at)) = (r.event.target.as_ref(), crate::audit::parse_ts(&r.ts))
        {
            out.entry(step.clone()).or_insert(at);
        }
    }
    out
}

/// The state of one step.
pub fn step_state(
    phase: &Phase,
    step: &Step,
    mark: Option<&StepMark>,
    gate: Option<&Evaluation>,
    held_since: Option<OffsetDateTime>,
    due_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> StepState {
    if let Some(m) = mark {
        match m.status {
            StepStatus::Done | StepStatus::InProgress => {
                return StepState::DoneByHand {
                    by: m.by.clone(),
                    at: m.at_time(),
                };
            }
            StepStatus::Skipped => {
                return StepState::Skipped {
                    by: m.by.clone(),
                    reason: m.reason.clone(),
                };
            }
            StepStatus::Failed => {
                return StepState::Failed {
                    by: Some(m.by.clone()),
                    reason: m.reason.clone(),
                };
            }
        }
    }
    if phase.contingency {
        return StepState::Contingency;
    }
    match gate.map(|g| (g.verdict, g)) {
        Some((Verdict::Holds, _)) => return StepState::DoneByGate(held_since),
        Some((Verdict::Fails { last: true }, g)) => {
            return StepState::Failed {
                by: None,
                reason: g.observed.clone(),
            };
        }
        _ => {}
    }
    let _ = step;
    match due_at {
        Some(due) if now > due => StepState::Overdue(now - due),
        Some(due) if due - now <= DUE_SOON => StepState::Due,
        _ => StepState::Pending,
    }
}

/// Every step of the runbook, in runbook order.
pub fn compute(
    runbook: &Runbook,
    progress: &Progress,
    facts: &Facts,
    held: &HashMap<String, OffsetDateTime>,
    now: OffsetDateTime,
) -> Vec<StepView> {
    runbook
        .steps()
        .enumerate()
        .map(|(index, (phase, step))| {
            let due_at = facts
                .cutover_at
                .map(|t| t + Duration::minutes(step.due_minutes));
            let gate = step.parsed_gate.as_ref().map(|g| facts.evaluate(g));
            let state = step_state(
                phase,
                step,
                progress.mark(&step.id),
                gate.as_ref(),
                held.get(&step.id).copied(),
                due_at,
                now,
            );
            StepView {
                index,
                state,
                due_at,
                gate,
            }
        })
        .collect()
}

/// The next step to act on: the earliest-due open step (runbook order among equals).
pub fn next_actionable(runbook: &Runbook, views: &[StepView]) -> Option<usize> {
    let steps: Vec<&Step> = runbook.steps().map(|(_, s)| s).collect();
    views
        .iter()
        .filter(|v| v.state.is_actionable())
        .min_by_key(|v| {
            (
                steps.get(v.index).map_or(i64::MAX, |s| s.due_minutes),
                v.index,
            )
        })
        .map(|v| v.index)
}

/// `in 3h 12m`, `overdue 25m`, `in 2d 4h`: the countdown to (or past) a due time, to the
/// minute.
pub fn countdown(due: OffsetDateTime, now: OffsetDateTime) -> String {
    let d = due - now;
    let words = span(d.abs());
    if d.is_negative() {
        format!("overdue {words}")
    } else {
        format!("in {words}")
    }
}

/// `3h 12m`, `2d 4h`, `25m`, `0m`.
pub fn span(d: Duration) -> String {
    let minutes = d.whole_minutes().unsigned_abs();
    let (days, hours, mins) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins}m"),
        (0, h) if mins == 0 => format!("{h}h"),
        (0, h) => format!("{h}h {mins}m"),
        (d, 0) => format!("{d}d"),
        (d, h) => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::machine::Presence;
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2026-12-05 18:00 UTC);

    fn runbook() -> Runbook {
        Runbook::from_toml(
            r#"
            [[phases]]
            id = "day"
            title = "Day"
            [[phases.steps]]
            id = "remove"
            title = "Remove the domain from the source"
            due_minutes = 0
            gate = "source.domain.present == false"
            [[phases.steps]]
            id = "ttl"
            title = "Lower the MX TTL"
            due_minutes = -480
            gate = "dns.mx_ttl_lowered_before(T - 8h)"
            [[phases.steps]]
            id = "tell"
            title = "Tell the users"
            due_minutes = -30
            [[phases]]
            id = "back"
            title = "Back out"
            contingency = true
            [[phases.steps]]
            id = "undo"
            title = "Undo"
            due_minutes = 60
            "#,
        )
        .unwrap()
    }

    fn facts(now: OffsetDateTime) -> Facts {
        Facts {
            now: Some(now),
            cutover_at: Some(T),
            ..Facts::default()
        }
    }

    fn states(f: &Facts, p: &Progress, now: OffsetDateTime) -> Vec<(String, &'static str)> {
        let rb = runbook();
        compute(&rb, p, f, &HashMap::new(), now)
            .iter()
            .map(|v| {
                (
                    v.gate
                        .as_ref()
                        .map_or(String::new(), |g| g.observed.clone()),
                    v.state.label(),
                )
            })
            .collect()
    }

    #[test]
    fn the_clock_makes_steps_due_and_overdue_and_a_gate_makes_them_done() {
        let now = T - Duration::minutes(45);
        let mut f = facts(now);
        f.readings.source = Presence::Present {
            verified: true,
            default: false,
            removing: false,
        };
        let s = states(&f, &Progress::default(), now);
        // remove: due in 45 min (within the hour); ttl: unknown reading, overdue by 7h15;
        // tell: due in 15 min; undo: contingency.
        assert_eq!(
            s.iter().map(|x| x.1).collect::<Vec<_>>(),
            ["due", "overdue", "due", "if backing out"]
        );
        f.readings.source = Presence::Absent;
        let s = states(&f, &Progress::default(), now);
        assert_eq!(s[0].1, "done (gate)");
        assert_eq!(s[0].0, "source.domain.present: not in the tenant");
    }

    #[test]
    fn a_ttl_lowered_too_late_fails_for_good_and_a_mark_wins() {
        use super::super::facts::TtlSeen;
        let now = T - Duration::hours(2);
        let mut f = facts(now);
        f.mx_ttl_history = vec![
            TtlSeen {
                at: T - Duration::hours(30),
                ttl: Some(3600),
            },
            TtlSeen {
                at: T - Duration::hours(6),
                ttl: Some(300),
            },
        ];
        let s = states(&f, &Progress::default(), now);
        assert_eq!(s[1].1, "failed");
        assert!(s[1].0.contains("lowered too late"), "{}", s[1].0);

        // Lowered in time: done.
        f.mx_ttl_history[1].at = T - Duration::hours(9);
        assert_eq!(states(&f, &Progress::default(), now)[1].1, "done (gate)");

        // Before the deadline and still high: not failed yet, just overdue or pending.
        let early = T - Duration::hours(20);
        let mut g = facts(early);
        g.mx_ttl_history = vec![TtlSeen {
            at: early,
            ttl: Some(3600),
        }];
        assert_eq!(states(&g, &Progress::default(), early)[1].1, "pending");

        let mut p = Progress::default();
        p.set(
            "ttl",
            Some(StepMark {
                status: StepStatus::Skipped,
                by: "admin".into(),
                at: "2026-12-05T10:00:00Z".into(),
                reason: "the DNS host cannot go below 3600".into(),
            }),
        );
        f.mx_ttl_history[1].at = T - Duration::hours(6);
        assert_eq!(states(&f, &p, now)[1].1, "skipped");
    }

    #[test]
    fn next_is_the_earliest_open_step() {
        let now = T - Duration::minutes(45);
        let rb = runbook();
        let f = facts(now);
        let views = compute(&rb, &Progress::default(), &f, &HashMap::new(), now);
        // ttl (T-8h) is the earliest open step.
        assert_eq!(next_actionable(&rb, &views), Some(1));
    }

    #[test]
    fn countdowns() {
        let now = T;
        assert_eq!(countdown(T + Duration::minutes(192), now), "in 3h 12m");
        assert_eq!(countdown(T - Duration::minutes(25), now), "overdue 25m");
        assert_eq!(countdown(T + Duration::hours(52), now), "in 2d 4h");
        assert_eq!(countdown(T + Duration::hours(2), now), "in 2h");
        assert_eq!(countdown(T, now), "in 0m");
    }
}
