//! The workbench's part of the reducer: selection, preview, confirmation, runs and their
//! results (the state is [`super::workbench::Workbench`]). Pure like the rest of the reducer.

use std::collections::HashMap;

use serde_json::json;
use time::OffsetDateTime;

use crate::audit::{Event, Kind};
use crate::executor::ChangeResult;
use crate::plan::change::Change;
use crate::plan::release::Plan;

use super::action::Command;
use super::state::{Pane, State, TenantId};
use super::workbench::{Bench, Confirm, Dialog, PlanSketch, Run, RunKind, Workbench};

/// The object id of the Users row at `row` (after the filter).
fn object_at(state: &State, row: usize) -> Option<String> {
    let i = *state.model.users.get(row)?;
    state
        .inventory
        .entries
        .as_ref()?
        .get(i as usize)
        .map(|e| e.id.clone())
}

/// The object id of `bench`'s row at `row` (after the filter).
fn object_of(state: &State, bench: Bench, row: usize) -> Option<String> {
    match bench {
        Bench::Users => object_at(state, row),
        Bench::Connections(_) => super::connections::shown(state)
            .get(row)
            .map(|r| r.id.clone()),
    }
}

/// How many rows `bench`'s pane shows.
fn rows_in(state: &State, bench: Bench) -> usize {
    match bench {
        Bench::Users => state.model.users.len(),
        Bench::Connections(_) => super::connections::shown(state).len(),
    }
}

fn pane_of(bench: Bench) -> Pane {
    match bench {
        Bench::Users => Pane::Users,
        Bench::Connections(_) => Pane::Connections,
    }
}

/// The workbench of the focused pane, if it has one.
pub fn focused(state: &State) -> Option<Bench> {
    match state.focus {
        Pane::Users => Some(Bench::Users),
        // The shown tenant's: `v` switches the list and its plan together.
        Pane::Connections => Some(Bench::Connections(state.connections.shown.0)),
        _ => None,
    }
}

pub fn bench(state: &State, bench: Bench) -> &Workbench {
    match bench {
        Bench::Users => &state.workbench,
        Bench::Connections(t) => &state.connections.tenant(t).bench,
    }
}

pub fn bench_mut(state: &mut State, bench: Bench) -> &mut Workbench {
    match bench {
        Bench::Users => &mut state.workbench,
        Bench::Connections(t) => &mut state.connections.tenant_mut(t).bench,
    }
}

/// Is a run under way on any workbench? One at a time.
fn any_running(state: &State) -> bool {
    state.workbench.running()
        || state.connections.source.bench.running()
        || state.connections.destination.bench.running()
}

/// The workbench a run's results belong to: the one running (else the Users one, whose
/// runs were the only ones before).
fn running_bench(state: &State) -> Bench {
    [TenantId::Source, TenantId::Destination]
        .into_iter()
        .find(|t| state.connections.tenant(*t).bench.running())
        .map_or(Bench::Users, Bench::Connections)
}

/// The object under the Users cursor.
pub fn cursor_object(state: &State) -> Option<String> {
    object_at(state, state.view(Pane::Users).selected)
}

/// The Users row (after the filter) that lists object `id`.
pub fn row_of(state: &State, id: &str) -> Option<usize> {
    let entries = state.inventory.entries.as_deref()?;
    state
        .model
        .users
        .iter()
        .position(|i| entries.get(*i as usize).is_some_and(|e| e.id == id))
}

/// The selection in row order; the row under the cursor when nothing is selected.
fn chosen(state: &State, b: Bench) -> Vec<String> {
    let w = bench(state, b);
    if w.selected.is_empty() {
        return object_of(state, b, state.view(pane_of(b)).selected)
            .into_iter()
            .collect();
    }
    match b {
        Bench::Users => {
            let entries = state.inventory.entries.as_deref().unwrap_or_default();
            entries
                .iter()
                .filter(|e| w.selected.contains(&e.id))
                .map(|e| e.id.clone())
                .collect()
        }
        Bench::Connections(t) => state
            .connections
            .tenant(t)
            .rows
            .iter()
            .filter(|r| w.selected.contains(&r.id))
            .map(|r| r.id.clone())
            .collect(),
    }
}

pub fn toggle_select(state: &mut State) {
    let Some(b) = focused(state) else {
        return;
    };
    let Some(id) = object_of(state, b, state.view(pane_of(b)).selected) else {
        return;
    };
    let w = bench_mut(state, b);
    if !w.selected.remove(&id) {
        w.selected.insert(id.clone());
    }
    w.anchor = Some(id);
}

pub fn select_range(state: &mut State) {
    let Some(b) = focused(state) else {
        return;
    };
    let cursor = state.view(pane_of(b)).selected;
    let rows = rows_in(state, b);
    // The anchor's row under the current filter; without one the range is the cursor's row.
    let anchor = bench(state, b)
        .anchor
        .as_deref()
        .and_then(|a| (0..rows).find(|r| object_of(state, b, *r).as_deref() == Some(a)))
        .unwrap_or(cursor);
    let (from, to) = (anchor.min(cursor), anchor.max(cursor));
    let ids: Vec<String> = (from..=to).filter_map(|r| object_of(state, b, r)).collect();
    bench_mut(state, b).selected.extend(ids);
}

pub fn select_all(state: &mut State) {
    let Some(b) = focused(state) else {
        return;
    };
    let ids: Vec<String> = (0..rows_in(state, b))
        .filter_map(|r| object_of(state, b, r))
        .collect();
    let w = bench_mut(state, b);
    if !ids.is_empty() && ids.iter().all(|id| w.selected.contains(id)) {
        for id in &ids {
            w.selected.remove(id);
        }
    } else {
        w.selected.extend(ids);
    }
}

pub fn preview(state: &mut State) {
    let Some(b) = focused(state) else {
        return;
    };
    let objects = chosen(state, b);
    let lines = bench(state, b).preview(&objects);
    let title = format!(
        "{} changes for {} object{}{}",
        lines.len(),
        objects.len(),
        if objects.len() == 1 { "" } else { "s" },
        if state.workbench.read_only {
            " · read-only: nothing would be sent"
        } else {
            ""
        }
    );
    state.workbench.dialog = Some(Dialog::Preview {
        title,
        lines,
        scroll: 0,
    });
}

/// `a`, `r`, `u`: what would be sent, in a confirmation; or a notice saying why nothing is.
pub fn start_run(state: &mut State, kind: RunKind) -> Vec<Command> {
    let Some(b) = focused(state) else {
        return Vec::new();
    };
    if any_running(state) {
        state.notice = Some("a run is under way; wait for it to end".to_string());
        return Vec::new();
    }
    let objects = chosen(state, b);
    let w = bench(state, b);
    let (changes, undoes, count) = match kind {
        RunKind::Apply => (w.to_apply(&objects), HashMap::new(), objects.len()),
        RunKind::Retry => {
            let changes = w.to_retry();
            let mut targets: Vec<&str> = changes.iter().map(|c| c.target.id.as_str()).collect();
            targets.sort_unstable();
            targets.dedup();
            let n = targets.len();
            (changes, HashMap::new(), n)
        }
        RunKind::Undo => {
            let ids = w.applied_of(&objects);
            if ids.is_empty() {
                state.notice = Some(
                    "nothing to undo: no change of the selection was applied in this session"
                        .to_string(),
                );
                return Vec::new();
            }
            match crate::plan::backout::undo_plan(&state.domain, &state.audit, &ids) {
                Ok(plan) => {
                    let undoes = w.undoes(&plan.changes, &ids);
                    (plan.changes, undoes, objects.len())
                }
                Err(why) => {
                    state.notice = Some(why);
                    return Vec::new();
                }
            }
        }
    };
    if changes.is_empty() {
        state.notice = Some(match kind {
            RunKind::Apply if bench(state, b).plan_error.is_some() => {
                "nothing to apply: the release plan could not be made (see the pane)".to_string()
            }
            RunKind::Apply => {
                "nothing to apply: the selection has no planned change (select with Space, V or *)"
                    .to_string()
            }
            RunKind::Retry => "nothing to retry: no change has failed".to_string(),
            RunKind::Undo => "nothing to undo".to_string(),
        });
        return Vec::new();
    }
    let lines = confirm_lines(state, &changes);
    state.workbench.dialog = Some(Dialog::Confirm(Confirm {
        kind,
        bench: b,
        undoes,
        objects: count,
        // Changing more than one object at once asks for the domain, typed.
        typed: (count > 1).then(String::new),
        lines,
        changes,
    }));
    vec![Command::Audit(
        Event::new(Kind::UserAction, "workbench run asked")
            .target(&state.domain)
            .details(json!({ "run": kind.verb(), "pane": pane_of(b).title(), "objects": count })),
    )]
}

/// The release plan's domain-level changes (initial domain default, removal) in the same
/// confirmation as `a`; the domain is always typed (a removed domain is not undone).
pub fn start_domain_run(state: &mut State) -> Vec<Command> {
    let changes = state.workbench.domain_changes();
    let why_not = if any_running(state) {
        Some("a run is under way; wait for it to end".to_string())
    } else if changes.is_empty() {
        Some(match &state.workbench.plan_error {
            Some(e) => format!("no domain-level change to apply: {e}"),
            None => "no domain-level change to apply: the release plan has none left".to_string(),
        })
    } else {
        None
    };
    if let Some(why) = why_not {
        state.notice = Some(why);
        return Vec::new();
    }
    propose(state, changes, "domain release")
}

/// A plan made outside the release workbench (the destination's adopt plan) in the same
/// confirmation; the domain is typed.
pub fn propose_plan(state: &mut State, plan: &Plan) -> Vec<Command> {
    if any_running(state) {
        state.notice = Some("a run is under way; wait for it to end".to_string());
        return Vec::new();
    }
    if plan.changes.is_empty() {
        state.notice = Some(format!("the {} plan has no change to apply", plan.kind));
        return Vec::new();
    }
    propose(state, plan.changes.clone(), &format!("{} plan", plan.kind))
}

/// What the confirmation lists: each change in words, and first whether nothing will be sent.
/// At most this many changes are put into words for the confirmation: a screen shows fewer,
/// and a bulk run over a large tenant has hundreds of thousands (the dialog counts the rest).
pub const CONFIRM_LINES: usize = 200;

fn confirm_lines(state: &State, changes: &[Change]) -> Vec<String> {
    let read_only = state
        .workbench
        .read_only
        .then(|| "read-only is on: each change is journaled as refused, nothing is sent".into());
    read_only
        .into_iter()
        .chain(changes.iter().take(CONFIRM_LINES).map(|c| {
            format!(
                "{}  {}",
                c.target.display,
                crate::plan::release::describe(c)
            )
        }))
        .collect()
}

/// Open the confirmation for `changes` (an apply, the domain typed) and journal the ask.
fn propose(state: &mut State, changes: Vec<Change>, what: &str) -> Vec<Command> {
    let mut targets: Vec<&str> = changes.iter().map(|c| c.target.id.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    let objects = targets.len();
    let lines = confirm_lines(state, &changes);
    state.workbench.dialog = Some(Dialog::Confirm(Confirm {
        kind: RunKind::Apply,
        bench: Bench::Users,
        undoes: HashMap::new(),
        objects,
        typed: Some(String::new()),
        lines,
        changes,
    }));
    vec![Command::Audit(
        Event::new(Kind::UserAction, "workbench run asked")
            .target(&state.domain)
            .details(json!({ "run": RunKind::Apply.verb(), "what": what, "objects": objects })),
    )]
}

pub fn confirm_input(state: &mut State, c: char) {
    if let Some(Dialog::Confirm(Confirm { typed: Some(t), .. })) = &mut state.workbench.dialog {
        t.push(c);
    }
}

pub fn confirm_backspace(state: &mut State) {
    if let Some(Dialog::Confirm(Confirm { typed: Some(t), .. })) = &mut state.workbench.dialog {
        t.pop();
    }
}

/// Enter in the confirmation: the run starts (one at a time), journaled as asked by the admin.
pub fn confirm_accept(state: &mut State) -> Vec<Command> {
    let Some(Dialog::Confirm(confirm)) = &state.workbench.dialog else {
        return Vec::new();
    };
    if !confirm.ready(&state.domain) {
        state.notice = Some(format!(
            "type {} to confirm a change to {} objects, or Esc",
            state.domain, confirm.objects
        ));
        return Vec::new();
    }
    let Some(Dialog::Confirm(confirm)) = state.workbench.dialog.take() else {
        return Vec::new();
    };
    let read_only = state.workbench.read_only;
    let run = Run {
        kind: confirm.kind,
        read_only,
        total: confirm.changes.len(),
        applied: 0,
        failed: 0,
        refused: 0,
        started: state.now,
        ended: None,
        error: None,
        undoes: confirm.undoes,
    };
    bench_mut(state, confirm.bench).start(run, &confirm.changes);
    state.notice = None;
    vec![
        Command::Audit(
            Event::new(Kind::UserAction, "workbench run confirmed")
                .target(&state.domain)
                .details(json!({
                    "run": confirm.kind.verb(),
                    "objects": confirm.objects,
                    "changes": confirm.changes.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(),
                    "read_only": read_only,
                })),
        ),
        Command::Execute {
            kind: confirm.kind,
            changes: confirm.changes,
            read_only,
        },
    ]
}

pub fn toggle_read_only(state: &mut State) -> Vec<Command> {
    let w = &mut state.workbench;
    w.read_only = !w.read_only;
    state.notice = Some(if w.read_only {
        "read-only on: nothing will be sent until R again".to_string()
    } else {
        "read-only off: confirmed changes are sent".to_string()
    });
    vec![Command::Audit(
        Event::new(Kind::UserAction, "read-only mode changed")
            .change(json!(!w.read_only), json!(w.read_only)),
    )]
}

pub fn release_planned(
    state: &mut State,
    at: OffsetDateTime,
    result: Result<Box<PlanSketch>, String>,
) {
    match result {
        Ok(plan) => state.workbench.replan(*plan, at),
        Err(e) => state.workbench.plan_error = Some(e),
    }
}

pub fn change_settled(state: &mut State, result: &ChangeResult) {
    let b = running_bench(state);
    bench_mut(state, b).settled(result);
}

/// The run ended: what it left under way is settled, and the inventory is read again so the
/// counts and the plan show what the run changed.
pub fn run_ended(state: &mut State, error: Option<String>) -> Vec<Command> {
    if let Some(e) = &error {
        state.notice = Some(format!("the run stopped: {e}"));
    }
    let b = running_bench(state);
    let now = state.now;
    bench_mut(state, b).ended(now, error);
    match b {
        Bench::Users => vec![Command::Reinventory],
        Bench::Connections(_) => vec![Command::ReadAccess],
    }
}

/// Up / Down while the help or a preview is open scroll it; `false`: neither is.
pub fn scroll(state: &mut State, down: bool) -> bool {
    let step = |v: &mut usize| {
        *v = if down {
            v.saturating_add(1)
        } else {
            v.saturating_sub(1)
        }
    };
    if state.show_help {
        step(&mut state.help_scroll);
        return true;
    }
    if let Some(Dialog::Preview { scroll, lines, .. }) = &mut state.workbench.dialog {
        step(scroll);
        *scroll = (*scroll).min(lines.len().saturating_sub(1));
        return true;
    }
    false
}

/// Rows to keep from the previous inventory: objects this session changed that no longer
/// hold the domain (their rows show what happened to them).
pub fn kept_rows(state: &State, new: &[crate::inventory::Entry]) -> Vec<crate::inventory::Entry> {
    let Some(old) = state.inventory.entries.as_deref() else {
        return Vec::new();
    };
    let present: std::collections::HashSet<&str> = new.iter().map(|e| e.id.as_str()).collect();
    old.iter()
        .filter(|e| !present.contains(e.id.as_str()) && state.workbench.touched(&e.id))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::update;
    use crate::app::{Action, workbench::PlanSketch};
    use crate::inventory::{Entry, Kind, Reference};
    use crate::plan::change::Change;

    /// A bulk confirmation over many objects words a bounded number of changes, sends them all,
    /// and says how many it did not list.
    #[test]
    fn a_bulk_confirmation_lists_a_bounded_number_and_counts_the_rest() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut s = State::bare(now);
        let n = CONFIRM_LINES + 50;
        let entries: Vec<Entry> = (0..n)
            .map(|i| Entry {
                id: format!("u{i:04}"),
                kind: Kind::User,
                display_name: format!("User {i}"),
                user_principal_name: Some(format!("u{i}@contoso.example")),
                enabled: Some(true),
                synced: Some(false),
                licences: Some(1),
                references: vec![Reference {
                    how: "userPrincipalName",
                    value: format!("u{i}@contoso.example"),
                }],
            })
            .collect();
        let changes: Vec<Change> = entries
            .iter()
            .map(|e| {
                Change::set_upn(
                    "source",
                    &e.id,
                    &e.display_name,
                    &format!("{}@contoso.example", e.id),
                    &format!("{}@contoso.onmicrosoft.com", e.id),
                )
            })
            .collect();
        let plan = crate::plan::release::Plan {
            version: 1,
            kind: "release".into(),
            tenant: "source".into(),
            domain: "contoso.example".into(),
            initial_domain: "contoso.onmicrosoft.com".into(),
            changes,
            renames: Vec::new(),
            flags: Vec::new(),
            notices: Vec::new(),
        };
        update(
            &mut s,
            Action::InventoryPolled {
                at: now,
                result: Ok(entries),
            },
        );
        update(
            &mut s,
            Action::ReleasePlanned {
                at: now,
                result: Ok(Box::new(PlanSketch::of(&plan))),
            },
        );
        update(&mut s, Action::Focus(Pane::Users));
        update(&mut s, Action::SelectAll);
        update(&mut s, Action::StartRun(RunKind::Apply));
        let Some(Dialog::Confirm(c)) = &s.workbench.dialog else {
            panic!("no confirmation: {:?}", s.notice);
        };
        assert_eq!(c.changes.len(), n, "every change is sent");
        assert_eq!(c.lines.len(), CONFIRM_LINES, "a bounded number is worded");
        assert_eq!(c.objects, n);
        assert_eq!(
            c.typed.as_deref(),
            Some(""),
            "bulk: the domain is asked for"
        );
    }
}
