//! The reducer's part for the Timeline pane: the facts the gates read, taken from the state
//! (the same readings the other panes show), each step's status recomputed when a reading,
//! a mark, T or the minute changes (never per frame), the journal's observations placed on the
//! timeline, and the operator's marks and notes (journaled, saved).

use std::collections::HashMap;

use serde_json::json;
use time::OffsetDateTime;

use super::action::{Action, Command};
use super::state::{InputMode, Integrity, Pane, State, TenantId};
use crate::audit::{Event, Kind};
use crate::dns::{AnswerStatus, RecordKind};
use crate::plan::StepStatus;
use crate::plan::machine::JournalReading;
use crate::plan::progress::StepMark;
use crate::timeline::facts::{self, Facts, SnapshotFact, TtlSeen};
use crate::timeline::status::{self, GATE_HELD, StepView};

/// The timeline as the reducer keeps it for the pane.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimelineState {
    /// One per runbook step, in runbook order.
    pub views: Vec<StepView>,
    /// Index (runbook order) of the next step to act on.
    pub next: Option<usize>,
    /// When each gate first held (journal, then this session).
    pub held: HashMap<String, OffsetDateTime>,
    /// The newest tenant snapshots in the data dir (the local poller).
    pub snapshots: [SnapshotFact; 2],
    /// Observed events, oldest first, shown where they happened.
    pub events: Vec<Observed>,
    /// MX TTL observations from the journal.
    ttl_history: Vec<TtlSeen>,
    /// How many of `State::audit`'s records have been read into the above.
    read: usize,
    /// The minute of the last recompute (the clock moves steps from pending to due to overdue).
    minute: i64,
    /// Each recursive resolver's last apex MX values, to see when one starts serving a new MX.
    resolver_mx: HashMap<String, Vec<String>>,
}

/// Something that happened, as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub at: OffsetDateTime,
    pub text: String,
}

/// Whether `action` can change a step's status or the events.
pub fn feeds(action: &Action) -> bool {
    super::place::feeds(action)
        || matches!(
            action,
            Action::AuditIntegrity(_)
                | Action::SnapshotsSeen(_)
                | Action::ExpectedPolled { .. }
                | Action::AccessPolled { .. }
        )
}

/// Recompute after an action that feeds the timeline, or when the minute turned.
pub fn refresh(state: &mut State, fed: bool) -> Vec<Command> {
    let minute = state.now.unix_timestamp().div_euclid(60);
    if !fed && minute == state.timeline.minute && !state.timeline.views.is_empty() {
        return Vec::new();
    }
    state.timeline.minute = minute;
    read_journal(state);
    let facts = facts_of(state);
    let views = status::compute(
        &state.runbook,
        &state.progress,
        &facts,
        &state.timeline.held,
        state.now,
    );
    let mut commands = Vec::new();
    // A gate that holds for the first time is journaled: that record is when it first held,
    // for this session's screen and every later one.
    for ((_, step), view) in state.runbook.steps().zip(&views) {
        let holds = view
            .gate
            .as_ref()
            .is_some_and(|g| g.verdict == crate::timeline::Verdict::Holds);
        if holds && !state.timeline.held.contains_key(&step.id) {
            state.timeline.held.insert(step.id.clone(), state.now);
            commands.push(Command::Audit(
                Event::new(Kind::Observed, GATE_HELD)
                    .target(step.id.clone())
                    .details(json!({
                        "gate": step.gate_text(),
                        "observed": view.gate.as_ref().map(|g| g.observed.clone()),
                    })),
            ));
        }
    }
    let views = if commands.is_empty() {
        views
    } else {
        // The steps whose gate just held show the time it held.
        status::compute(
            &state.runbook,
            &state.progress,
            &facts,
            &state.timeline.held,
            state.now,
        )
    };
    state.timeline.next = status::next_actionable(&state.runbook, &views);
    state.timeline.views = views;
    commands
}

/// The facts the gates read, from the state's readings.
pub fn facts_of(state: &State) -> Facts {
    let readings = super::place::readings(state, JournalReading::default());
    let mx = state
        .dns
        .answers
        .iter()
        .find(|a| a.kind == RecordKind::Mx && a.name.eq_ignore_ascii_case(&state.domain))
        .cloned();
    let history = facts::with_current(
        state.timeline.ttl_history.clone(),
        mx.as_ref(),
        state.dns.last_poll.unwrap_or(state.now),
    );
    Facts {
        now: Some(state.now),
        cutover_at: state.cutover_at,
        readings,
        source_error: state.source.last_error.clone(),
        destination_error: state.destination.last_error.clone(),
        mx,
        dns_error: state.dns.failing_since.map(|since| {
            format!(
                "no DNS server has answered since {}",
                crate::plan::cutover_time::format_cutover(since)
            )
        }),
        sweeps: state.dns.sweeps.clone(),
        snapshots: state.timeline.snapshots.clone(),
        audit: match &state.audit_integrity {
            Integrity::NotChecked => None,
            Integrity::Verified { .. } => Some(Ok(())),
            Integrity::Broken { line, reason } => Some(Err(format!("line {line}: {reason}"))),
        },
        mx_ttl_history: history,
        access: [TenantId::Source, TenantId::Destination].map(|t| access_facts(state, t)),
    }
}

/// A tenant's access gates from the Connections pane's last reading and the journal's reviews
/// (the same `access` functions `cutover check` uses).
fn access_facts(state: &State, tenant: TenantId) -> crate::timeline::facts::AccessFacts {
    let t = state.connections.tenant(tenant);
    match &t.inventory {
        Some(inv) => crate::timeline::facts::AccessFacts {
            connectors_for_domain: Some(inv.connectors_for_domain()),
            mail_apps: Some(inv.mail_apps_review(&state.audit)),
            error: None,
        },
        None => crate::timeline::facts::AccessFacts {
            connectors_for_domain: None,
            mail_apps: None,
            error: t.error.clone(),
        },
    }
}

/// Read the journal's new records: gates that held, MX TTL observations, events to show.
fn read_journal(state: &mut State) {
    let fresh = state.audit.get(state.timeline.read..).unwrap_or_default();
    for (step, at) in status::first_held(fresh) {
        state.timeline.held.entry(step).or_insert(at);
    }
    state
        .timeline
        .ttl_history
        .extend(facts::mx_ttl_history(fresh, &state.domain));
    let events: Vec<Observed> = fresh
        .iter()
        .filter_map(|r| event_of(r, &state.domain))
        .collect();
    state.timeline.events.extend(events);
    state.timeline.read = state.audit.len();
}

/// The journal's observations worth a line on the timeline.
fn event_of(r: &crate::audit::Record, domain: &str) -> Option<Observed> {
    if r.event.kind != Kind::Observed {
        return None;
    }
    let at = crate::audit::parse_ts(&r.ts)?;
    let tenant = r.event.tenant.as_deref().unwrap_or("");
    let target = r.event.target.as_deref().unwrap_or("");
    let field = |v: &Option<serde_json::Value>, k: &str| {
        v.as_ref().and_then(|v| v.get(k)).and_then(|v| v.as_bool())
    };
    let text = match r.event.action.as_str() {
        "domain state changed" => {
            let (before, after) = (&r.event.before, &r.event.after);
            match (field(before, "present"), field(after, "present")) {
                (Some(true), Some(false)) => format!("{domain} removed from the {tenant} tenant"),
                (Some(false), Some(true)) => format!("{domain} added to the {tenant} tenant"),
                _ if field(before, "isVerified") == Some(false)
                    && field(after, "isVerified") == Some(true) =>
                {
                    format!("{domain} verified in the {tenant} tenant")
                }
                _ => return None,
            }
        }
        "dns value changed" => format!("{target} changed"),
        "dns ttl changed" => {
            let ttl = r
                .event
                .after
                .as_ref()
                .and_then(|a| a.as_array())
                .and_then(|a| a.iter().filter_map(|v| v.get("ttl")?.as_u64()).min());
            match ttl {
                Some(ttl) => format!("{target} TTL now {ttl} s"),
                None => format!("{target} TTL changed"),
            }
        }
        RESOLVER_SERVING => {
            let resolver = r
                .event
                .details
                .get("resolver")
                .and_then(|v| v.as_str())
                .unwrap_or("a resolver");
            format!("{resolver} serves the new {target}")
        }
        _ => return None,
    };
    Some(Observed { at, text })
}

/// The journal's action when a recursive resolver starts serving the zone's new apex MX.
pub const RESOLVER_SERVING: &str = "resolver serves new value";

/// After a propagation sweep: a recursive resolver whose apex MX changed to what the zone
/// serves is journaled (the first answer of a session is the baseline, not a change).
pub fn resolvers_moved(state: &mut State) -> Vec<Command> {
    let zone: Option<Vec<String>> = state
        .dns
        .answers
        .iter()
        .find(|a| a.kind == RecordKind::Mx && a.name.eq_ignore_ascii_case(&state.domain))
        .filter(|a| a.status == AnswerStatus::Answer)
        .map(sorted_values);
    let mut commands = Vec::new();
    for sweep in state.dns.sweeps.iter().filter(|s| !s.authoritative) {
        let Some(answer) = sweep.answers.iter().find(|a| {
            a.kind == RecordKind::Mx
                && a.name.eq_ignore_ascii_case(&state.domain)
                && a.status == AnswerStatus::Answer
        }) else {
            continue;
        };
        let values = sorted_values(answer);
        let before = state
            .timeline
            .resolver_mx
            .insert(sweep.resolver.clone(), values.clone());
        if let Some(before) = before
            && before != values
            && zone.as_ref() == Some(&values)
        {
            commands.push(Command::Audit(
                Event::new(Kind::Observed, RESOLVER_SERVING)
                    .tenant(crate::plan::change::DNS_TENANT)
                    .target(format!("{} MX", state.domain))
                    .change(json!(before), json!(values))
                    .details(json!({ "resolver": sweep.resolver })),
            ));
        }
    }
    commands
}

fn sorted_values(a: &crate::dns::RecordAnswer) -> Vec<String> {
    let mut v: Vec<String> = a.values.iter().map(|v| v.value.clone()).collect();
    v.sort();
    v
}

/// The step under the Timeline cursor: (runbook index, id).
pub fn selected_step(state: &State) -> Option<(usize, String)> {
    let selected = state.view(Pane::Timeline).selected;
    super::view::step_rows(state)
        .nth(selected)
        .map(|r| (r.index, r.step.id.clone()))
}

fn mark(state: &State, status: StepStatus, reason: String) -> StepMark {
    StepMark {
        status,
        by: state.operator.clone(),
        at: crate::plan::cutover_time::rfc3339(state.now),
        reason,
    }
}

/// Set or clear a step's mark, journaled with the old and new value, and saved.
fn set_mark(state: &mut State, id: &str, new: Option<StepMark>) -> Vec<Command> {
    let old = state.progress.mark(id).cloned();
    if old == new {
        return Vec::new();
    }
    let word = |m: &Option<StepMark>| match m {
        Some(m) => json!({ "status": m.status, "reason": m.reason }),
        None => json!("automatic"),
    };
    let event = Event::new(Kind::UserAction, "step status changed")
        .target(id.to_string())
        .change(word(&old), word(&new));
    state.notice = Some(match &new {
        Some(m) => format!("{id}: {} by hand", m.status.as_str()),
        None => format!("{id}: back to its gate and the clock"),
    });
    state.progress.set(id, new);
    let mut commands = vec![
        Command::Audit(event),
        Command::SaveProgress(state.progress()),
    ];
    commands.extend(refresh(state, true));
    commands
}

/// `d`: done by hand (again: back to automatic).
pub fn toggle_done(state: &mut State) -> Vec<Command> {
    let Some((_, id)) = selected_step(state) else {
        return Vec::new();
    };
    let new = match state.progress.mark(&id) {
        Some(m) if m.status == StepStatus::Done => None,
        _ => Some(mark(state, StepStatus::Done, String::new())),
    };
    set_mark(state, &id, new)
}

/// `c`: clear the mark; the gate and the clock decide again.
pub fn clear_mark(state: &mut State) -> Vec<Command> {
    let Some((_, id)) = selected_step(state) else {
        return Vec::new();
    };
    set_mark(state, &id, None)
}

/// `s` / `f`: ask for the reason first.
pub fn start_reason(state: &mut State, status: StepStatus) {
    if let Some((_, step)) = selected_step(state) {
        state.input = InputMode::StepReason {
            step,
            status,
            text: String::new(),
        };
    }
}

/// Enter in the reason prompt: a reason is required (it is what the change record reads).
pub fn apply_reason(state: &mut State) -> Vec<Command> {
    let InputMode::StepReason { step, status, text } = &state.input else {
        return Vec::new();
    };
    if text.trim().is_empty() {
        state.notice = Some("type why, then Enter (Esc leaves the step as it was)".into());
        return Vec::new();
    }
    let (step, status, reason) = (step.clone(), *status, text.trim().to_string());
    state.input = InputMode::Normal;
    let m = mark(state, status, reason);
    set_mark(state, &step, Some(m))
}

/// `e` in the step's details: edit its note (starting from the current one).
pub fn start_note(state: &mut State) {
    if let Some((_, step)) = selected_step(state) {
        let text = state.progress.notes.get(&step).cloned().unwrap_or_default();
        state.input = InputMode::StepNote { step, text };
    }
}

/// Enter in the note prompt: journaled (old and new text) and saved.
pub fn apply_note(state: &mut State) -> Vec<Command> {
    let InputMode::StepNote { step, text } = &state.input else {
        return Vec::new();
    };
    let (step, text) = (step.clone(), text.trim().to_string());
    state.input = InputMode::Normal;
    let old = state.progress.notes.get(&step).cloned().unwrap_or_default();
    if old == text {
        return Vec::new();
    }
    state.progress.set_note(&step, &text);
    state.notice = Some(format!("{step}: note saved"));
    vec![
        Command::Audit(
            Event::new(Kind::Note, "step note changed")
                .target(step)
                .change(json!(old), json!(text)),
        ),
        Command::SaveProgress(state.progress()),
    ]
}

/// `n`: the cursor to the next step to act on (clearing a filter that hides it).
pub fn jump_next(state: &mut State) {
    let Some(next) = state.timeline.next else {
        state.notice = Some("every step is done or skipped".into());
        return;
    };
    let row = super::view::step_rows(state).position(|r| r.index == next);
    let row = match row {
        Some(row) => row,
        None => {
            state.view_mut(Pane::Timeline).filter.clear();
            super::view::step_rows(state)
                .position(|r| r.index == next)
                .unwrap_or(0)
        }
    };
    state.view_mut(Pane::Timeline).selected = row;
}

/// `a` in the step's details: what its linked action opens or starts.
pub fn run_linked(state: &mut State) -> Vec<Command> {
    use super::state::DnsView;
    let Some((index, id)) = selected_step(state) else {
        return Vec::new();
    };
    let Some(action) = state
        .runbook
        .steps()
        .nth(index)
        .and_then(|(_, s)| s.action.clone())
    else {
        state.notice = Some(format!("{id} has no linked action"));
        return Vec::new();
    };
    state.step_detail = false;
    let journal = Command::Audit(
        Event::new(Kind::UserAction, "step action opened")
            .target(id)
            .details(json!({ "action": action })),
    );
    match action.as_str() {
        "release-plan" => state.focus = Pane::Users,
        "lower-mx-ttl" | "dns-compare" | "dns-propagation" => {
            state.focus = Pane::Dns;
            state.dns.view = match action.as_str() {
                "lower-mx-ttl" => DnsView::Plan,
                "dns-compare" => DnsView::Compare,
                _ => DnsView::Propagation,
            };
        }
        "take-snapshot" => {
            state.notice = Some("taking a snapshot of the source tenant's objects…".into());
            return vec![journal, Command::TakeSnapshot];
        }
        "verify-audit" => {
            // The writer thread verifies the chain as it grows; show where that stands.
            state.focus = Pane::Audit;
            state.notice = Some(match &state.audit_integrity {
                Integrity::NotChecked => "the audit journal is being verified".to_string(),
                Integrity::Verified { lines, .. } => {
                    format!("the audit journal verifies ({lines} lines)")
                }
                Integrity::Broken { line, reason } => {
                    format!("the audit journal does not verify: line {line}: {reason}")
                }
            });
        }
        _ => {}
    }
    vec![journal]
}
