//! The reducer: the only place [`State`] changes. Pure: no I/O, no clock (time comes in actions).

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::audit::{Event, Kind};
use crate::dns::propagation::ResolverSweep;
use crate::dns::{AnswerStatus, RecordAnswer, RecordKind};
use crate::graph::model::Domain;

use super::action::{Action, Command, PollFailure, TenantSnapshot};
use super::state::{Health, InputMode, ObservedAnswer, Pane, State, TenantId};
use super::{cleanup, layout, view};

/// Apply one action to the state and return the effects the loop must carry out. Whether a
/// tick changed the screen is the loop's question (it compares `ui::clock::face`): the reducer
/// knows nothing of drawing.
pub fn update(state: &mut State, action: Action) -> Vec<Command> {
    let moves_place = super::place::feeds(&action);
    let fed = super::timeline::feeds(&action);
    let inventory = matches!(action, Action::InventoryPolled { .. });
    // The object under the Users cursor stays under it when new rows arrive.
    let cursor = inventory.then(|| cleanup::cursor_object(state)).flatten();
    let commands = reduce(state, action);
    // The Users rows follow their data and their filter here, once, not in every frame.
    if inventory {
        let filter = &state.views[Pane::Users.index()].filter;
        state
            .model
            .inventory_changed(state.inventory.entries.as_deref(), filter);
        if let Some(row) = cursor.and_then(|id| cleanup::row_of(state, &id)) {
            state.view_mut(Pane::Users).selected = row;
        }
    } else {
        state
            .model
            .users_filter_changed(&state.views[Pane::Users.index()].filter);
    }
    if moves_place {
        super::place::refresh(state);
    }
    let mut commands = commands;
    commands.extend(super::timeline::refresh(state, fed));
    commands
}

fn reduce(state: &mut State, action: Action) -> Vec<Command> {
    if !state.audit_alive() && action.changes_cutover() {
        refuse(state, &action);
        return Vec::new();
    }
    match action {
        Action::Tick(now) => state.now = now,
        Action::Resize(w, h) => state.size = (w, h),
        Action::FocusNext => state.focus = step_focus(state.focus, 1),
        Action::FocusPrev => state.focus = step_focus(state.focus, Pane::ALL.len() - 1),
        Action::Focus(p) => state.focus = p,
        Action::Up if cleanup::scroll(state, false) => {}
        Action::Down if cleanup::scroll(state, true) => {}
        Action::Up => move_selection(state, |sel, _, _| sel.saturating_sub(1)),
        Action::Down => move_selection(state, |sel, _, _| sel.saturating_add(1)),
        Action::PageUp => move_selection(state, |sel, _, page| sel.saturating_sub(page)),
        Action::PageDown => move_selection(state, |sel, _, page| sel.saturating_add(page)),
        Action::Top => move_selection(state, |_, _, _| 0),
        Action::Bottom => move_selection(state, |_, count, _| count.saturating_sub(1)),
        // The window shown is a function of the selection (`window_start`), so the clicked
        // row is found from the selection before the click.
        Action::SelectVisible(n) => move_selection(state, |sel, _, page| {
            view::window_start(sel, page).saturating_add(n)
        }),
        Action::StartFilter => {
            if is_list(state.focus) {
                state.input = InputMode::Filter(state.focus);
            }
        }
        Action::FilterInput(c) => {
            if let InputMode::Filter(p) = state.input {
                let view = state.view_mut(p);
                view.filter.push(c);
                view.selected = 0;
            }
        }
        Action::FilterBackspace => {
            if let InputMode::Filter(p) = state.input {
                let view = state.view_mut(p);
                if view.filter.pop().is_some() {
                    view.selected = 0;
                }
            }
        }
        Action::FilterApply => {
            if let InputMode::Filter(p) = state.input {
                state.input = InputMode::Normal;
                let filter = state.view(p).filter.clone();
                if !filter.is_empty() {
                    return vec![Command::Audit(
                        Event::new(Kind::UserAction, "filter applied")
                            .target(p.title())
                            .details(json!({ "filter": filter })),
                    )];
                }
            }
        }
        Action::FilterCancel => {
            // In filter mode the pane being typed into; otherwise Esc clears the focused pane.
            let pane = match state.input {
                InputMode::Filter(p) => p,
                _ => state.focus,
            };
            state.input = InputMode::Normal;
            let view = state.view_mut(pane);
            if !view.filter.is_empty() {
                view.filter.clear();
                view.selected = 0;
            }
        }
        Action::ToggleHelp => {
            state.show_help = !state.show_help;
            state.help_scroll = 0;
        }
        Action::MarkDone if state.focus == Pane::Timeline => {
            return super::timeline::toggle_done(state);
        }
        Action::StartMarkReason(status) if state.focus == Pane::Timeline => {
            super::timeline::start_reason(state, status);
        }
        Action::ClearMark if state.focus == Pane::Timeline => {
            return super::timeline::clear_mark(state);
        }
        Action::NextStep if state.focus == Pane::Timeline => super::timeline::jump_next(state),
        Action::ToggleStepDetail => {
            state.step_detail = !state.step_detail && state.focus == Pane::Timeline;
        }
        Action::StartNote if state.step_detail => super::timeline::start_note(state),
        Action::StepAction if state.step_detail => return super::timeline::run_linked(state),
        Action::StepInput(c) => match &mut state.input {
            InputMode::StepReason { text, .. } | InputMode::StepNote { text, .. } => text.push(c),
            _ => {}
        },
        Action::StepBackspace => match &mut state.input {
            InputMode::StepReason { text, .. } | InputMode::StepNote { text, .. } => {
                text.pop();
            }
            _ => {}
        },
        Action::StepInputApply => {
            return match state.input {
                InputMode::StepReason { .. } => super::timeline::apply_reason(state),
                InputMode::StepNote { .. } => super::timeline::apply_note(state),
                _ => Vec::new(),
            };
        }
        Action::StepInputCancel => {
            if matches!(
                state.input,
                InputMode::StepReason { .. } | InputMode::StepNote { .. }
            ) {
                state.input = InputMode::Normal;
            }
        }
        Action::SnapshotsSeen(seen) => state.timeline.snapshots = seen,
        Action::SnapshotTaken(result) => {
            let event = match &result {
                Ok(path) => {
                    state.notice = Some(format!("snapshot taken: {path}"));
                    Event::new(Kind::Note, "tenant snapshot taken").details(json!({ "path": path }))
                }
                Err(why) => {
                    state.notice = Some(format!("no snapshot: {why}"));
                    Event::new(Kind::Note, "tenant snapshot failed").result(why.clone())
                }
            };
            return vec![Command::Audit(
                event.tenant("source").target(state.domain.clone()),
            )];
        }
        Action::MarkDone
        | Action::StartMarkReason(_)
        | Action::ClearMark
        | Action::NextStep
        | Action::StartNote
        | Action::StepAction => {}
        Action::StartCutoverInput => {
            if state.focus == Pane::Timeline {
                // Start from the time in force, so a small correction is a small edit.
                let text = state
                    .cutover_at
                    .map(crate::plan::cutover_time::rfc3339)
                    .unwrap_or_default();
                state.input = InputMode::CutoverTime(text);
            }
        }
        Action::CutoverInput(c) => {
            if let InputMode::CutoverTime(text) = &mut state.input {
                text.push(c);
            }
        }
        Action::CutoverBackspace => {
            if let InputMode::CutoverTime(text) = &mut state.input {
                text.pop();
            }
        }
        Action::CutoverApply => return set_cutover(state),
        Action::CutoverCancel => {
            if matches!(state.input, InputMode::CutoverTime(_)) {
                state.input = InputMode::Normal;
            }
        }
        Action::Quit => {
            state.quitting = true;
            return vec![Command::Quit];
        }
        Action::TenantPolled { tenant, at, result } => {
            return tenant_polled(state, tenant, at, result);
        }
        Action::PropagationPolled(sweeps) => {
            let mut commands = dns_polled(state, sweeps);
            commands.extend(super::timeline::resolvers_moved(state));
            return commands;
        }
        Action::DnsCycleView => {
            state.dns.view = state.dns.view.next();
            // Each view lists other rows; start at the top of the new one.
            state.views[Pane::Dns.index()].selected = 0;
        }
        Action::BlocklistsPolled(results) => state.dns.blocklists = results,
        Action::SnapshotReady(name) => state.dns.snapshot = Some(name),
        Action::ExpectedPolled { tenant, result } => match result {
            Ok(records) => {
                state.dns.expected = records;
                state.dns.expected_from = Some(tenant);
            }
            // The last good list stays; the tenant poller already reports Graph failures.
            Err(e) => tracing::warn!(tenant = tenant.as_str(), error = %e, "expected records"),
        },
        Action::AuditAppended(record) => state.audit.push(*record),
        Action::AuditIntegrity(i) => state.audit_integrity = i,
        Action::ToggleAuditDetail => {
            state.audit_detail = !state.audit_detail && state.focus == Pane::Audit;
        }
        Action::OutsidePolled { at, outside } => {
            return super::observe::outside_polled(state, at, *outside);
        }
        Action::InventoryPolled { at, result } => {
            return super::observe::inventory_polled(state, at, result);
        }
        Action::AccessPolled { tenant, at, result } => {
            super::connections::polled(state, tenant, at, result);
        }
        Action::ConnectionsTenant if state.focus == Pane::Connections => {
            super::connections::switch_tenant(state);
        }
        Action::ConnectionsTenant => {}
        Action::MarkAppsReviewed if state.focus == Pane::Connections => {
            let tenant = state.connections.shown.0;
            return match &state.connections.tenant(tenant).inventory {
                Some(inv) => {
                    state.notice = Some(format!(
                        "{}: {} mail apps marked reviewed",
                        tenant.as_str(),
                        inv.mail_apps().len()
                    ));
                    vec![Command::Audit(inv.review_event())]
                }
                None => {
                    state.notice = Some(format!(
                        "{}: nothing to review until its connections are read",
                        tenant.as_str()
                    ));
                    Vec::new()
                }
            };
        }
        Action::MarkAppsReviewed => {}
        Action::SignInStarted(dialog) => {
            state.notice = None;
            // A new code for the same sign-in replaces its old one.
            state
                .sign_in
                .retain(|d| (d.tenant, d.service) != (dialog.tenant, dialog.service));
            state.sign_in.push(dialog);
        }
        Action::SignInEnded { tenant, service } => {
            state
                .sign_in
                .retain(|d| (d.tenant, d.service) != (tenant, service));
        }
        Action::CancelSignIn => return super::observe::cancel_sign_in(state),
        Action::AuditStopped(reason) => {
            // The loop's generic "writer gone" gives way to the writer's own reason.
            if state.audit_stopped.is_none() || state.audit_stopped.as_deref() == Some(WRITER_GONE)
            {
                state.audit_error = Some(reason.clone());
                state.audit_stopped = Some(reason);
            }
        }
        Action::TaskStopped { name, reason } => {
            let event = Event::new(Kind::Note, "background task stopped")
                .target(&name)
                .details(json!({ "reason": reason.clone() }));
            state.stopped_tasks.push((name, reason));
            return vec![Command::Audit(event)];
        }
        Action::ToggleSelect => cleanup::toggle_select(state),
        Action::SelectRange => cleanup::select_range(state),
        Action::SelectAll => cleanup::select_all(state),
        Action::Preview => cleanup::preview(state),
        Action::StartRun(kind) => return cleanup::start_run(state, kind),
        Action::ToggleReadOnly => return cleanup::toggle_read_only(state),
        Action::DialogClose => state.workbench.dialog = None,
        Action::ConfirmInput(c) => cleanup::confirm_input(state, c),
        Action::ConfirmBackspace => cleanup::confirm_backspace(state),
        Action::ConfirmAccept => return cleanup::confirm_accept(state),
        Action::ReleasePlanned { at, result } => cleanup::release_planned(state, at, result),
        Action::ChangeSettled(result) => cleanup::change_settled(state, &result),
        Action::RunEnded(error) => return cleanup::run_ended(state, error),
        Action::StartDomainRun => return cleanup::start_domain_run(state),
        Action::ProposePlan(plan) => return cleanup::propose_plan(state, &plan),
        Action::Play(event) => return super::play::reduce(state, event),
        Action::ProgressNotSaved(error) => {
            let event = Event::new(Kind::Note, "progress not saved")
                .details(json!({ "error": error.clone() }));
            state.notice = Some(format!("progress not saved: {error}"));
            return vec![Command::Audit(event)];
        }
    }
    Vec::new()
}

/// The reason the loop gives when a line cannot be handed to the writer (its thread is gone).
pub const WRITER_GONE: &str = "the journal writer has ended";

/// A change asked for while the journal is stopped: say so, change nothing. A filter being
/// typed is dropped, so nothing unjournaled stays applied.
fn refuse(state: &mut State, action: &Action) {
    if let (Action::FilterApply, InputMode::Filter(p)) = (action, state.input.clone()) {
        state.input = InputMode::Normal;
        let view = state.view_mut(p);
        view.filter.clear();
        view.selected = 0;
    }
    state.notice = Some(
        "refused: the audit log has stopped, so this change would go unrecorded; quit with q"
            .to_string(),
    );
}

fn step_focus(focus: Pane, by: usize) -> Pane {
    Pane::ALL[(focus.index() + by) % Pane::ALL.len()]
}

/// Panes that are lists (and so can be filtered and scrolled).
fn is_list(pane: Pane) -> bool {
    !matches!(pane, Pane::Domain)
}

/// `f(selected, row count, page size)` → new selection, clamped to the focused pane's rows.
fn move_selection(state: &mut State, f: impl FnOnce(usize, usize, usize) -> usize) {
    let pane = state.focus;
    let count = view::row_count(state, pane);
    let page = layout::page_size(state);
    let view = state.view_mut(pane);
    // The list may have shrunk since the last move (new poll, new filter).
    let current = view.selected.min(count.saturating_sub(1));
    view.selected = f(current, count, page).min(count.saturating_sub(1));
}

/// Enter in the cutover-time prompt: T becomes what the admin typed, journaled with the value
/// it replaces; a time that does not parse keeps the prompt open with the reason.
fn set_cutover(state: &mut State) -> Vec<Command> {
    use crate::plan::cutover_time::{CutoverSource, format_cutover, parse_cutover, rfc3339};
    let InputMode::CutoverTime(text) = &state.input else {
        return Vec::new();
    };
    let at = match parse_cutover(text) {
        Ok(at) => at,
        Err(reason) => {
            state.notice = Some(reason);
            return Vec::new();
        }
    };
    state.input = InputMode::Normal;
    let before = state.cutover_at;
    state.notice = Some(format!("cutover time T set to {}", format_cutover(at)));
    if before == Some(at) && state.cutover_from == Some(CutoverSource::Timeline) {
        return Vec::new();
    }
    state.cutover_at = Some(at);
    state.cutover_from = Some(CutoverSource::Timeline);
    state.cutover_set_in_timeline = Some(at);
    vec![
        Command::Audit(
            Event::new(Kind::UserAction, "cutover time set")
                .target(state.cutover_id.clone())
                .change(json!(before.map(rfc3339)), json!(rfc3339(at))),
        ),
        Command::SaveProgress(state.progress()),
    ]
}

/// The domain fields whose change is worth an audit line.
fn domain_json(domain: Option<&Domain>) -> Value {
    match domain {
        None => json!({ "present": false }),
        Some(d) => json!({
            "present": true,
            "isVerified": d.is_verified,
            "isDefault": d.is_default,
            "authenticationType": d.authentication_type,
        }),
    }
}

fn tenant_polled(
    state: &mut State,
    tenant: TenantId,
    at: OffsetDateTime,
    result: Result<Box<TenantSnapshot>, PollFailure>,
) -> Vec<Command> {
    let domain = state.domain.clone();
    let ts = state.tenant_mut(tenant);
    let snapshot = match result {
        Ok(s) => s,
        Err(e) => {
            // Keep the previous snapshot: a stale view beats an empty one while the link is down.
            ts.health = Health::Failing(e.message.clone());
            ts.last_error = Some(e.message);
            ts.forbidden = e.forbidden;
            return Vec::new();
        }
    };
    ts.health = Health::Ok;
    ts.forbidden = None;
    ts.last_poll = Some(at);
    ts.last_error = None;
    let previous = ts.snapshot.replace(*snapshot);

    let mut commands = Vec::new();
    // Whose sign-in the changes will go out under: journaled when first seen (and if it
    // changes), so a review afterwards knows a partner's technician was signed in.
    let from = |s: Option<&TenantSnapshot>| s.and_then(|s| s.signed_in_from.clone());
    let (was, now) = (from(previous.as_ref()), from(ts.snapshot.as_ref()));
    if let Some(other) = now.as_ref().filter(|_| now != was) {
        commands.push(Command::Audit(
            Event::new(Kind::Observed, "signed in from another tenant")
                .tenant(tenant.as_str())
                .target(&domain)
                .details(json!({
                    "tenant_id": other.tenant,
                    "home_tenant_id": other.home,
                    "warning": other.warning(tenant.as_str()),
                })),
        ));
    }
    let (Some(before), Some(after)) = (previous.as_ref(), ts.snapshot.as_ref()) else {
        return commands; // the first snapshot is the baseline, not a change
    };
    let (b, a) = (
        domain_json(before.domain.as_ref()),
        domain_json(after.domain.as_ref()),
    );
    if b != a {
        commands.push(Command::Audit(
            Event::new(Kind::Observed, "domain state changed")
                .tenant(tenant.as_str())
                .target(&domain)
                .change(b, a),
        ));
    }
    let (b, a) = (before.reference_count(), after.reference_count());
    if b != a {
        commands.push(Command::Audit(
            Event::new(Kind::Observed, "domain references changed")
                .tenant(tenant.as_str())
                .target(&domain)
                .change(json!(b), json!(a)),
        ));
    }
    commands
}

/// An answer's data for the audit trail: the values with TTLs, or the status when there are none.
fn answer_json(answer: &RecordAnswer) -> Value {
    match &answer.status {
        AnswerStatus::Answer => json!(answer.values),
        AnswerStatus::NxDomain => json!("NXDOMAIN"),
        AnswerStatus::NoData => json!("NODATA"),
        AnswerStatus::Error(e) => json!(format!("error: {e}")),
    }
}

/// What must match for two answers to carry "the same data": status and the set of values.
fn data_key(answer: &RecordAnswer) -> (&AnswerStatus, Vec<&str>) {
    let mut values: Vec<&str> = answer.values.iter().map(|v| v.value.as_str()).collect();
    values.sort_unstable();
    (&answer.status, values)
}

/// The TTL of an answered record set (all members share one; take the largest to be safe).
fn set_ttl(answer: &RecordAnswer) -> Option<u32> {
    answer.values.iter().map(|v| v.ttl).max()
}

/// One sweep of every resolver. Only the authoritative servers' answers become the records
/// and are compared for changes: a recursive resolver's TTL counts down in its cache and says
/// nothing about the configured TTL.
fn dns_polled(state: &mut State, sweeps: Vec<ResolverSweep>) -> Vec<Command> {
    let Some(at) = sweeps.iter().map(|s| s.at).max() else {
        state.dns.sweeps = sweeps;
        return Vec::new();
    };
    let names: Vec<(String, RecordKind)> = sweeps
        .iter()
        .flat_map(|s| s.answers.iter())
        .map(|a| (a.name.clone(), a.kind))
        .fold(Vec::new(), |mut names, pair| {
            if !names.contains(&pair) {
                names.push(pair);
            }
            names
        });
    let answered = sweeps
        .iter()
        .flat_map(|s| s.answers.iter())
        .any(|a| !matches!(a.status, AnswerStatus::Error(_)));
    let answers = crate::dns::monitor::authoritative_answers(&names, &sweeps).unwrap_or_default();
    let domain = state.domain.clone();
    let dns = &mut state.dns;
    dns.sweeps = sweeps;
    dns.answers = answers;
    dns.last_poll = Some(at);
    if answered {
        dns.last_answer_at = Some(at);
        dns.failing_since = None;
    } else if dns.failing_since.is_none() {
        dns.failing_since = Some(dns.last_answer_at.unwrap_or(at));
    }

    let mut commands = Vec::new();
    for new in &dns.answers {
        // A failed query says nothing about the record; compare the next real answer with the
        // last one instead.
        if matches!(new.status, AnswerStatus::Error(_)) {
            continue;
        }
        let key = (new.name.clone(), new.kind.as_str().to_string());
        let Some(prev) = dns.observed.get_mut(&key) else {
            // First sight of this record: the baseline, not a change. The apex MX's is
            // journaled all the same: the MX TTL gate needs to know since when it was low.
            if new.kind == RecordKind::Mx && new.name.eq_ignore_ascii_case(&domain) {
                commands.push(Command::Audit(
                    Event::new(Kind::Observed, "dns record seen")
                        .tenant("dns")
                        .target(format!("{} {}", new.name, new.kind.as_str()))
                        .change(Value::Null, answer_json(new)),
                ));
            }
            let first = ObservedAnswer {
                answer: new.clone(),
                at,
            };
            dns.observed.insert(key, first);
            continue;
        };
        let mut action = None;
        if data_key(&prev.answer) != data_key(new) {
            action = Some("dns value changed");
        } else if set_ttl(&prev.answer) != set_ttl(new) {
            // Authoritative answers carry the configured TTL, so any difference is a change.
            action = Some("dns ttl changed");
        }
        if let Some(action) = action {
            commands.push(Command::Audit(
                Event::new(Kind::Observed, action)
                    .tenant("dns")
                    .target(format!("{} {}", new.name, new.kind.as_str()))
                    .change(answer_json(&prev.answer), answer_json(new)),
            ));
            dns.changed_at.insert(key, at);
        }
        prev.answer = new.clone();
        prev.at = at;
    }
    commands
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::ListView;
    use crate::dns::{RecordKind, RecordValue};
    use crate::graph::model::{DirectoryObjectRef, User};
    use crate::plan::{Phase, Runbook, Step, StepStatus};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);

    fn step(id: &str, title: &str) -> Step {
        Step {
            id: id.into(),
            title: title.into(),
            detail: String::new(),
            due_minutes: -1440,
            owner: "admin".into(),
            optional: false,
            gate: None,
            parsed_gate: None,
            action: None,
        }
    }

    fn state() -> State {
        let runbook = Runbook {
            phases: vec![Phase {
                id: "t-1d".into(),
                title: "Day before".into(),
                contingency: false,
                steps: vec![
                    step("lower-mx-ttl", "Lower MX TTL"),
                    step("notify-users", "Notify users"),
                    step("export-aliases", "Export aliases"),
                ],
            }],
        };
        let mut s = State::new("c1".into(), "contoso.example".into(), runbook, T0);
        s.size = (120, 40);
        s
    }

    fn audit_events(cmds: &[Command]) -> Vec<&Event> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Audit(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn focus_cycles_both_ways() {
        let mut s = state();
        assert_eq!(s.focus, Pane::Domain);
        for expected in [
            Pane::Dns,
            Pane::Users,
            Pane::Timeline,
            Pane::Audit,
            Pane::Connections,
            Pane::Domain,
        ] {
            update(&mut s, Action::FocusNext);
            assert_eq!(s.focus, expected);
        }
        update(&mut s, Action::FocusPrev);
        assert_eq!(s.focus, Pane::Connections);
        update(&mut s, Action::Focus(Pane::Users));
        assert_eq!(s.focus, Pane::Users);
    }

    #[test]
    fn selection_clamps_to_rows() {
        let mut s = state();
        update(&mut s, Action::Focus(Pane::Timeline));
        update(&mut s, Action::Up);
        assert_eq!(s.view(Pane::Timeline).selected, 0);
        for _ in 0..5 {
            update(&mut s, Action::Down);
        }
        assert_eq!(s.view(Pane::Timeline).selected, 2);
        update(&mut s, Action::Top);
        assert_eq!(s.view(Pane::Timeline).selected, 0);
        update(&mut s, Action::PageDown);
        assert_eq!(s.view(Pane::Timeline).selected, 2);
        update(&mut s, Action::Bottom);
        assert_eq!(s.view(Pane::Timeline).selected, 2);
        // The domain pane is no list: nothing to select.
        update(&mut s, Action::Focus(Pane::Domain));
        update(&mut s, Action::Down);
        assert_eq!(s.view(Pane::Domain).selected, 0);
    }

    #[test]
    fn filter_edit_apply_and_cancel() {
        let mut s = state();
        update(&mut s, Action::Focus(Pane::Timeline));
        update(&mut s, Action::Down);
        update(&mut s, Action::StartFilter);
        assert_eq!(s.input, InputMode::Filter(Pane::Timeline));
        for c in "mxx".chars() {
            assert!(update(&mut s, Action::FilterInput(c)).is_empty());
        }
        update(&mut s, Action::FilterBackspace);
        assert_eq!(
            s.view(Pane::Timeline),
            &ListView {
                selected: 0,
                filter: "mx".into()
            }
        );
        assert_eq!(view::row_count(&s, Pane::Timeline), 1);

        let cmds = update(&mut s, Action::FilterApply);
        assert_eq!(s.input, InputMode::Normal);
        assert_eq!(s.view(Pane::Timeline).filter, "mx");
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, Kind::UserAction);
        assert_eq!(events[0].action, "filter applied");
        assert_eq!(events[0].target.as_deref(), Some("Migration timeline"));
        assert_eq!(events[0].details, json!({"filter": "mx"}));

        // Esc in normal mode clears the focused pane's filter.
        assert!(update(&mut s, Action::FilterCancel).is_empty());
        assert_eq!(s.view(Pane::Timeline).filter, "");

        // Cancel while typing clears too; applying an empty filter is not audited.
        update(&mut s, Action::StartFilter);
        update(&mut s, Action::FilterInput('x'));
        update(&mut s, Action::FilterCancel);
        assert_eq!(s.input, InputMode::Normal);
        assert_eq!(s.view(Pane::Timeline).filter, "");
        update(&mut s, Action::StartFilter);
        assert!(update(&mut s, Action::FilterApply).is_empty());
    }

    #[test]
    fn the_cutover_time_is_set_by_the_admin_journaled_and_saved() {
        let mut s = state();
        assert_eq!(s.cutover_at, None, "nothing invents T");
        // Only on the timeline.
        update(&mut s, Action::StartCutoverInput);
        assert_eq!(s.input, InputMode::Normal);
        update(&mut s, Action::Focus(Pane::Timeline));
        update(&mut s, Action::StartCutoverInput);
        assert_eq!(s.input, InputMode::CutoverTime(String::new()));
        for c in "2026-12-05T19:00".chars() {
            assert!(update(&mut s, Action::CutoverInput(c)).is_empty());
        }
        // No zone: refused with the reason, the prompt stays open, nothing journaled.
        assert!(update(&mut s, Action::CutoverApply).is_empty());
        assert!(s.notice.as_deref().unwrap_or("").contains("no time zone"));
        assert_eq!(s.cutover_at, None);
        for c in "+01:00".chars() {
            update(&mut s, Action::CutoverInput(c));
        }
        let cmds = update(&mut s, Action::CutoverApply);
        assert_eq!(s.input, InputMode::Normal);
        assert_eq!(
            s.cutover_at,
            Some(time::macros::datetime!(2026-12-05 18:00 UTC))
        );
        assert_eq!(s.cutover_from, Some(crate::plan::CutoverSource::Timeline));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "cutover time set");
        assert_eq!(events[0].before, Some(json!(null)));
        assert_eq!(events[0].after, Some(json!("2026-12-05T18:00:00Z")));
        // What is saved is the T set in the timeline, in UTC.
        let saved = cmds.iter().find_map(|c| match c {
            Command::SaveProgress(p) => Some(p.clone()),
            _ => None,
        });
        assert_eq!(
            saved.and_then(|p| p.cutover_at),
            Some("2026-12-05T18:00:00Z".to_string())
        );

        // Esc leaves T as it was; the prompt starts from the time in force.
        update(&mut s, Action::StartCutoverInput);
        assert_eq!(
            s.input,
            InputMode::CutoverTime("2026-12-05T18:00:00Z".into())
        );
        update(&mut s, Action::CutoverBackspace);
        update(&mut s, Action::CutoverCancel);
        assert_eq!(s.input, InputMode::Normal);
        assert_eq!(
            s.cutover_at,
            Some(time::macros::datetime!(2026-12-05 18:00 UTC))
        );
    }

    #[test]
    fn no_filter_on_the_domain_pane() {
        let mut s = state();
        update(&mut s, Action::StartFilter);
        assert_eq!(s.input, InputMode::Normal);
        update(&mut s, Action::FilterInput('a'));
        assert_eq!(s.view(Pane::Domain).filter, "");
    }

    #[test]
    fn marking_a_step_audits_the_change_with_who_and_why() {
        let mut s = state();
        s.operator = "alex".into();
        update(&mut s, Action::Focus(Pane::Timeline));
        update(&mut s, Action::Down);
        let cmds = update(&mut s, Action::MarkDone);
        let mark = s.progress.mark("notify-users").cloned().unwrap();
        assert_eq!((mark.status, mark.by.as_str()), (StepStatus::Done, "alex"));
        assert!(matches!(
            s.timeline.views[1].state,
            crate::timeline::StepState::DoneByHand { .. }
        ));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1);
        let e = events[0];
        assert_eq!(
            (e.kind, e.action.as_str()),
            (Kind::UserAction, "step status changed")
        );
        assert_eq!(e.target.as_deref(), Some("notify-users"));
        assert_eq!(e.before, Some(json!("automatic")));
        assert_eq!(e.after, Some(json!({"status": "done", "reason": ""})));
        // `d` again: back to automatic.
        update(&mut s, Action::MarkDone);
        assert!(s.progress.mark("notify-users").is_none());

        // Skipping asks why; Enter without a reason keeps asking, nothing is journaled.
        update(&mut s, Action::StartMarkReason(StepStatus::Skipped));
        assert!(update(&mut s, Action::StepInputApply).is_empty());
        for c in "done by the DNS host".chars() {
            update(&mut s, Action::StepInput(c));
        }
        let cmds = update(&mut s, Action::StepInputApply);
        assert_eq!(s.input, InputMode::Normal);
        assert_eq!(
            s.progress.mark("notify-users").unwrap().reason,
            "done by the DNS host"
        );
        assert_eq!(audit_events(&cmds).len(), 1);
        assert!(cmds.iter().any(|c| matches!(c, Command::SaveProgress(_))));

        // The selection is into the filtered list.
        update(&mut s, Action::StartFilter);
        for c in "export".chars() {
            update(&mut s, Action::FilterInput(c));
        }
        update(&mut s, Action::FilterApply);
        let cmds = update(&mut s, Action::MarkDone);
        assert_eq!(
            audit_events(&cmds)[0].target.as_deref(),
            Some("export-aliases")
        );

        // Not on other panes.
        update(&mut s, Action::Focus(Pane::Users));
        assert!(update(&mut s, Action::MarkDone).is_empty());
    }

    #[test]
    fn a_note_is_journaled_and_saved() {
        let mut s = state();
        update(&mut s, Action::Focus(Pane::Timeline));
        update(&mut s, Action::ToggleStepDetail);
        assert!(s.step_detail);
        update(&mut s, Action::StartNote);
        for c in "call Bob".chars() {
            update(&mut s, Action::StepInput(c));
        }
        let cmds = update(&mut s, Action::StepInputApply);
        assert_eq!(
            s.progress.notes.get("lower-mx-ttl").map(String::as_str),
            Some("call Bob")
        );
        let e = audit_events(&cmds)[0];
        assert_eq!(
            (e.kind, e.action.as_str()),
            (Kind::Note, "step note changed")
        );
        assert_eq!(e.after, Some(json!("call Bob")));
        assert!(
            cmds.iter()
                .any(|c| matches!(c, Command::SaveProgress(p) if p.notes.len() == 1))
        );
    }

    #[test]
    fn next_jumps_to_the_earliest_open_step() {
        let mut s = state();
        s.cutover_at = Some(T0 + time::Duration::days(2));
        update(&mut s, Action::Focus(Pane::Timeline));
        update(&mut s, Action::MarkDone);
        update(&mut s, Action::Bottom);
        update(&mut s, Action::NextStep);
        assert_eq!(s.view(Pane::Timeline).selected, 1);
    }

    #[test]
    fn quit_help_resize_tick() {
        let mut s = state();
        assert_eq!(update(&mut s, Action::Quit), vec![Command::Quit]);
        assert!(s.quitting);
        update(&mut s, Action::ToggleHelp);
        assert!(s.show_help);
        update(&mut s, Action::Resize(80, 24));
        assert_eq!(s.size, (80, 24));
        let later = datetime!(2025-03-01 12:00:05 UTC);
        update(&mut s, Action::Tick(later));
        assert_eq!(s.now, later);
    }

    fn answer(name: &str, kind: RecordKind, values: &[(&str, u32)]) -> RecordAnswer {
        RecordAnswer {
            name: name.into(),
            kind,
            status: AnswerStatus::Answer,
            values: values
                .iter()
                .map(|(v, ttl)| RecordValue {
                    value: (*v).into(),
                    ttl: *ttl,
                })
                .collect(),
        }
    }

    fn mx(value: &str, ttl: u32) -> Vec<RecordAnswer> {
        vec![answer("contoso.example", RecordKind::Mx, &[(value, ttl)])]
    }

    fn sweep(
        label: &str,
        authoritative: bool,
        secs: i64,
        answers: Vec<RecordAnswer>,
    ) -> ResolverSweep {
        ResolverSweep {
            resolver: label.into(),
            authoritative,
            at: T0 + time::Duration::seconds(secs),
            answers,
        }
    }

    /// One sweep in which only the zone's authoritative server was asked.
    fn poll_dns(s: &mut State, secs: i64, answers: Vec<RecordAnswer>) -> Vec<Command> {
        update(
            s,
            Action::PropagationPolled(vec![sweep("ns1.contoso.example", true, secs, answers)]),
        )
    }

    const OLD_MX: &str = "0 contoso-example.mail.protection.outlook.com";
    const NEW_MX: &str = "0 fabrikam-example.mail.protection.outlook.com";

    #[test]
    fn dns_first_poll_is_the_baseline() {
        let mut s = state();
        // Not a change; the apex MX is journaled as seen (the MX TTL gate's evidence).
        let cmds = poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1, "{cmds:?}");
        assert_eq!(events[0].action, "dns record seen");
        assert_eq!(
            events[0].after,
            Some(json!([{"value": OLD_MX, "ttl": 3600}]))
        );
        assert!(s.dns.changed_at.is_empty());
        assert_eq!(s.dns.last_poll, Some(T0));
    }

    #[test]
    fn dns_value_change_is_reported() {
        let mut s = state();
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        let cmds = poll_dns(&mut s, 30, mx(NEW_MX, 3600));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1);
        let e = events[0];
        assert_eq!(
            (e.kind, e.action.as_str()),
            (Kind::Observed, "dns value changed")
        );
        assert_eq!(e.tenant.as_deref(), Some("dns"));
        assert_eq!(e.target.as_deref(), Some("contoso.example MX"));
        assert_eq!(e.before, Some(json!([{"value": OLD_MX, "ttl": 3600}])));
        assert_eq!(e.after, Some(json!([{"value": NEW_MX, "ttl": 3600}])));
        assert_eq!(
            s.dns
                .changed_at
                .get(&("contoso.example".to_string(), "MX".to_string())),
            Some(&(T0 + time::Duration::seconds(30)))
        );
    }

    #[test]
    fn dns_status_change_is_a_value_change() {
        let mut s = state();
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        let mut gone = mx(OLD_MX, 3600);
        gone[0].status = AnswerStatus::NxDomain;
        gone[0].values.clear();
        let cmds = poll_dns(&mut s, 30, gone);
        assert_eq!(audit_events(&cmds)[0].after, Some(json!("NXDOMAIN")));
    }

    #[test]
    fn dns_ttl_jump_is_reported() {
        let mut s = state();
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        // Authoritative answer: TTL lowered to 300 between polls.
        let cmds = poll_dns(&mut s, 30, mx(OLD_MX, 300));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "dns ttl changed");
        assert_eq!(
            events[0].before,
            Some(json!([{"value": OLD_MX, "ttl": 3600}]))
        );
        assert_eq!(
            events[0].after,
            Some(json!([{"value": OLD_MX, "ttl": 300}]))
        );
        assert!(!s.dns.changed_at.is_empty());
        // Raised back: a rise above the new reference.
        let cmds = poll_dns(&mut s, 60, mx(OLD_MX, 3600));
        assert_eq!(audit_events(&cmds)[0].action, "dns ttl changed");
    }

    #[test]
    fn dns_failed_query_is_not_a_change() {
        let mut s = state();
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        let mut failed = mx(OLD_MX, 0);
        failed[0].status = AnswerStatus::Error("SERVFAIL".into());
        failed[0].values.clear();
        assert!(poll_dns(&mut s, 30, failed.clone()).is_empty());
        // Shown as failing, but the comparison baseline is still the last real answer.
        assert_eq!(s.dns.answers, failed);
        assert!(poll_dns(&mut s, 60, mx(OLD_MX, 3600)).is_empty());
        // A change that happened while the query failed is still seen.
        poll_dns(&mut s, 90, failed);
        let cmds = poll_dns(&mut s, 120, mx(NEW_MX, 3600));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].before,
            Some(json!([{"value": OLD_MX, "ttl": 3600}]))
        );
    }

    #[test]
    fn dns_record_seen_first_later_is_a_baseline() {
        let mut s = state();
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        let mut more = mx(OLD_MX, 3600);
        more.push(answer(
            "_dmarc.contoso.example",
            RecordKind::Txt,
            &[("v=DMARC1; p=none", 3600)],
        ));
        assert!(poll_dns(&mut s, 30, more).is_empty());
    }

    #[test]
    fn a_recursive_resolvers_countdown_is_neither_the_ttl_nor_a_change() {
        let mut s = state();
        s.cutover_at = Some(T0 + time::Duration::hours(48));
        let poll = |s: &mut State, secs: i64, cached: u32| {
            update(
                s,
                Action::PropagationPolled(vec![
                    sweep("ns1.contoso.example", true, secs, mx(OLD_MX, 3600)),
                    sweep("1.1.1.1:53", false, secs, mx(OLD_MX, cached)),
                ]),
            )
        };
        // The cache counts down, expires, refetches and is refetched by others: none of it is
        // a TTL change, and the TTL plan reads the authoritative 3600 s throughout.
        for (secs, cached) in [(0, 120), (30, 90), (60, 3600), (90, 40), (120, 3590)] {
            let cmds = poll(&mut s, secs, cached);
            let changes = audit_events(&cmds)
                .into_iter()
                .filter(|e| e.action != "dns record seen")
                .count();
            assert_eq!(changes, 0, "{secs}: {cmds:?}");
            let lines = crate::ui::dns_views::plan_lines(&s);
            let ttl = lines
                .iter()
                .find(|(label, _, _)| label == "MX TTL now")
                .map(|(_, v, _)| v.clone());
            assert_eq!(ttl.as_deref(), Some("3600 s (target 300 s)"), "{secs}");
        }
        assert!(s.dns.changed_at.is_empty());
        assert_eq!(
            s.dns.sweeps.len(),
            2,
            "the resolver stays in the propagation view"
        );
    }

    #[test]
    fn without_an_authoritative_answer_the_ttl_is_unknown() {
        let mut s = state();
        s.cutover_at = Some(T0 + time::Duration::hours(48));
        let cmds = update(
            &mut s,
            Action::PropagationPolled(vec![sweep("1.1.1.1:53", false, 0, mx(OLD_MX, 300))]),
        );
        assert!(cmds.is_empty());
        assert!(s.dns.answers.is_empty(), "{:?}", s.dns.answers);
        let lines = crate::ui::dns_views::plan_lines(&s);
        assert!(
            lines
                .iter()
                .any(|(_, v, _)| v == "TTL unknown: no authoritative answer"),
            "{lines:?}"
        );
        assert!(
            !lines.iter().any(|(_, v, _)| v.contains("300 s")),
            "{lines:?}"
        );
    }

    #[test]
    fn dns_failing_since_the_last_answer() {
        let mut s = state();
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        assert_eq!(s.dns.last_answer_at, Some(T0));
        assert_eq!(s.dns.failing_since, None);
        let mut failed = mx(OLD_MX, 0);
        failed[0].status = AnswerStatus::Error("timeout".into());
        failed[0].values.clear();
        update(
            &mut s,
            Action::PropagationPolled(vec![
                sweep("ns1.contoso.example", true, 30, failed.clone()),
                sweep("1.1.1.1:53", false, 30, failed.clone()),
            ]),
        );
        poll_dns(&mut s, 60, failed);
        assert_eq!(
            s.dns.failing_since,
            Some(T0),
            "the last time anything answered"
        );
        assert_eq!(s.dns.last_poll, Some(T0 + time::Duration::seconds(60)));
        poll_dns(&mut s, 90, mx(OLD_MX, 3600));
        assert_eq!(s.dns.failing_since, None);
    }

    fn snapshot(domain: Option<Domain>, refs: usize) -> Box<TenantSnapshot> {
        Box::new(TenantSnapshot {
            domain,
            references: (0..refs)
                .map(|i| DirectoryObjectRef {
                    odata_type: Some("#microsoft.graph.user".into()),
                    id: i.to_string(),
                    display_name: None,
                })
                .collect(),
            users: vec![User {
                user_principal_name: "a@contoso.example".into(),
                ..User::default()
            }],
            ..TenantSnapshot::default()
        })
    }

    fn verified() -> Domain {
        Domain {
            id: "contoso.example".into(),
            is_verified: true,
            authentication_type: Some("Managed".into()),
            ..Domain::default()
        }
    }

    fn poll_tenant(s: &mut State, result: Result<Box<TenantSnapshot>, String>) -> Vec<Command> {
        update(
            s,
            Action::TenantPolled {
                tenant: TenantId::Source,
                at: T0,
                result: result.map_err(PollFailure::from),
            },
        )
    }

    #[test]
    fn tenant_domain_changes_are_reported() {
        let mut s = state();
        assert!(poll_tenant(&mut s, Ok(snapshot(Some(verified()), 3))).is_empty());
        assert_eq!(s.source.health, Health::Ok);
        assert_eq!(s.source.last_poll, Some(T0));
        assert!(poll_tenant(&mut s, Ok(snapshot(Some(verified()), 3))).is_empty());

        let cmds = poll_tenant(&mut s, Ok(snapshot(Some(verified()), 1)));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].action, "domain references changed");
        assert_eq!(
            (events[0].before.clone(), events[0].after.clone()),
            (Some(json!(3)), Some(json!(1)))
        );

        let cmds = poll_tenant(&mut s, Ok(snapshot(None, 0)));
        let events = audit_events(&cmds);
        assert_eq!(events.len(), 2);
        let e = events[0];
        assert_eq!(
            (e.kind, e.action.as_str()),
            (Kind::Observed, "domain state changed")
        );
        assert_eq!(e.tenant.as_deref(), Some("source"));
        assert_eq!(e.target.as_deref(), Some("contoso.example"));
        assert_eq!(e.after, Some(json!({"present": false})));
        assert_eq!(
            e.before,
            Some(
                json!({"present": true, "isVerified": true, "isDefault": false,
                        "authenticationType": "Managed"})
            )
        );
    }

    #[test]
    fn tenant_failure_keeps_the_snapshot() {
        let mut s = state();
        poll_tenant(&mut s, Ok(snapshot(Some(verified()), 3)));
        let cmds = poll_tenant(&mut s, Err("HTTP 503".into()));
        assert!(cmds.is_empty());
        assert_eq!(s.source.health, Health::Failing("HTTP 503".into()));
        assert_eq!(s.source.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(s.source.last_poll, Some(T0));
        assert!(s.source.snapshot.is_some());
        // Recovery compares against the last good snapshot.
        let cmds = poll_tenant(&mut s, Ok(snapshot(Some(verified()), 2)));
        assert_eq!(audit_events(&cmds).len(), 1);
        assert_eq!(s.source.health, Health::Ok);
        assert_eq!(s.source.last_error, None);
    }

    #[test]
    fn audit_lines_and_failures() {
        let mut s = state();
        let record = crate::audit::Record {
            v: 1,
            seq: 1,
            ts: "2025-03-01T12:00:00Z".into(),
            cutover: "c1".into(),
            operator: "op".into(),
            event: Event::new(Kind::Note, "hello"),
            upn: None,
            prev: String::new(),
            hash: String::new(),
        };
        update(&mut s, Action::AuditAppended(Box::new(record)));
        assert_eq!(s.audit.len(), 1);
        let cmds = update(&mut s, Action::ProgressNotSaved("disk full".into()));
        assert_eq!(s.notice.as_deref(), Some("progress not saved: disk full"));
        assert_eq!(audit_events(&cmds)[0].action, "progress not saved");
    }

    #[test]
    fn a_step_change_asks_for_its_progress_to_be_saved() {
        let mut s = state();
        update(&mut s, Action::Focus(Pane::Timeline));
        let cmds = update(&mut s, Action::MarkDone);
        let saved = cmds.iter().find_map(|c| match c {
            Command::SaveProgress(p) => Some(p),
            _ => None,
        });
        assert_eq!(
            saved.and_then(|p| p.mark("lower-mx-ttl")).map(|m| m.status),
            Some(StepStatus::Done)
        );
    }

    #[test]
    fn once_the_journal_stopped_every_change_is_refused() {
        let mut s = state();
        update(&mut s, Action::Focus(Pane::Timeline));
        // Typing a filter when the journal stops.
        update(&mut s, Action::StartFilter);
        update(&mut s, Action::FilterInput('m'));
        assert!(
            update(
                &mut s,
                Action::AuditStopped("cannot write: disk full".into())
            )
            .is_empty()
        );
        assert!(!s.audit_alive());
        assert!(update(&mut s, Action::FilterApply).is_empty());
        assert_eq!(
            (s.input.clone(), s.view(Pane::Timeline).filter.as_str()),
            (InputMode::Normal, "")
        );
        let refused = s.notice.clone().unwrap_or_default();
        assert!(
            refused.starts_with("refused: the audit log has stopped"),
            "{refused}"
        );

        for action in [
            Action::MarkDone,
            Action::StartFilter,
            Action::CancelSignIn,
            Action::StartCutoverInput,
        ] {
            s.notice = None;
            assert!(update(&mut s, action.clone()).is_empty(), "{action:?}");
            assert!(s.notice.is_some(), "{action:?} refused without a word");
        }
        assert!(s.progress.marks.is_empty());
        assert_eq!(s.input, InputMode::Normal);
        // T typed before the journal stopped is not set after it.
        s.input = InputMode::CutoverTime("2026-12-05T18:00Z".into());
        assert!(update(&mut s, Action::CutoverApply).is_empty());
        assert_eq!(s.cutover_at, None);
        // Looking around and quitting still work.
        update(&mut s, Action::Down);
        assert_eq!(s.view(Pane::Timeline).selected, 1);
        assert_eq!(update(&mut s, Action::Quit), vec![Command::Quit]);
    }

    #[test]
    fn the_writers_own_reason_replaces_the_loops_generic_one() {
        let mut s = state();
        update(&mut s, Action::AuditStopped(WRITER_GONE.into()));
        update(&mut s, Action::AuditStopped("it panicked: boom".into()));
        update(&mut s, Action::AuditStopped(WRITER_GONE.into()));
        assert_eq!(s.audit_stopped.as_deref(), Some("it panicked: boom"));
    }

    #[test]
    fn a_stopped_task_is_shown_and_journaled() {
        let mut s = state();
        let cmds = update(
            &mut s,
            Action::TaskStopped {
                name: "dns poller".into(),
                reason: "it panicked: boom".into(),
            },
        );
        assert_eq!(
            s.stopped_tasks,
            vec![("dns poller".to_string(), "it panicked: boom".to_string())]
        );
        let e = audit_events(&cmds)[0];
        assert_eq!(
            (e.kind, e.action.as_str()),
            (Kind::Note, "background task stopped")
        );
        assert_eq!(e.target.as_deref(), Some("dns poller"));
        assert_eq!(e.details, json!({"reason": "it panicked: boom"}));
    }

    /// What the loop asks after a tick: did the screen's clock-dependent face change?
    fn tick_redraws(s: &mut State, at: OffsetDateTime) -> bool {
        let before = crate::ui::clock::face(s);
        update(s, Action::Tick(at));
        crate::ui::clock::face(s) != before
    }

    fn redraws(s: &mut State, secs: i64) -> bool {
        tick_redraws(s, T0 + time::Duration::milliseconds(secs * 1000 + 250))
    }

    #[test]
    fn an_idle_dashboard_does_not_redraw_on_ticks() {
        let mut s = state();
        // Records with TTLs, polled tenants, no cutover time: nothing counts down.
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        poll_tenant(&mut s, Ok(snapshot(Some(verified()), 3)));
        for secs in 0..120 {
            assert!(!redraws(&mut s, secs), "redraw at {secs} s");
        }
    }

    #[test]
    fn a_visible_countdown_redraws_each_second_and_only_then() {
        let mut s = state();
        let sweep = |resolver: &str, ttl| crate::dns::propagation::ResolverSweep {
            resolver: resolver.into(),
            authoritative: resolver == "authoritative",
            at: T0,
            answers: mx(if ttl == 300 { NEW_MX } else { OLD_MX }, ttl),
        };
        // The authoritative server has the new MX; a resolver still holds the old for an hour.
        update(
            &mut s,
            Action::PropagationPolled(vec![sweep("authoritative", 300), sweep("resolver", 3600)]),
        );
        update(&mut s, Action::Focus(Pane::Dns));
        update(&mut s, Action::DnsCycleView);
        update(&mut s, Action::DnsCycleView);
        assert_eq!(s.dns.view, crate::app::state::DnsView::Propagation);
        assert!(redraws(&mut s, 1));
        // Four ticks a second; the countdown moves once.
        let quarter =
            |s: &mut State, ms: i64| tick_redraws(s, T0 + time::Duration::milliseconds(ms));
        let moved: Vec<bool> = [2100, 2350, 2600, 2850, 3100]
            .iter()
            .map(|ms| quarter(&mut s, *ms))
            .collect();
        assert_eq!(moved, [true, false, false, false, true]);
    }

    #[test]
    fn a_dns_change_highlight_expiring_redraws_once() {
        let mut s = state();
        poll_dns(&mut s, 0, mx(OLD_MX, 3600));
        poll_dns(&mut s, 1, mx(NEW_MX, 3600));
        let changes: Vec<i64> = (2..120).filter(|secs| redraws(&mut s, *secs)).collect();
        assert_eq!(changes, [62]);
    }
}

#[cfg(test)]
mod view_model_tests {
    use super::*;
    use crate::app::view::{self, DirObject, Filter};
    use crate::inventory::{Entry, Kind as EntryKind, Reference};
    use time::macros::datetime;

    fn entry(i: usize, name: &str, alias: &str) -> Entry {
        Entry {
            id: format!("id-{i}"),
            kind: if i.is_multiple_of(3) {
                EntryKind::Contact
            } else {
                EntryKind::User
            },
            display_name: name.to_string(),
            user_principal_name: (!i.is_multiple_of(3)).then(|| format!("u{i}@contoso.example")),
            enabled: Some(true),
            synced: None,
            licences: None,
            references: vec![
                Reference {
                    how: "mail",
                    value: format!("m{i}@contoso.example"),
                },
                Reference {
                    how: "otherAddress",
                    value: format!("smtp:{alias}@contoso.example"),
                },
            ],
        }
    }

    fn inventory(s: &mut State, entries: Vec<Entry>) {
        update(
            s,
            Action::InventoryPolled {
                at: datetime!(2025-03-01 12:00 UTC),
                result: Ok(entries),
            },
        );
    }

    /// The rows the Users filter should let through, read cell by cell from the inventory.
    fn expected(s: &State) -> Vec<String> {
        let filter = Filter::for_pane(s, Pane::Users);
        view::directory_objects(s)
            .filter(|o| filter.matches_any(o.search_cells()))
            .map(|o| o.0.id.clone())
            .collect()
    }

    fn shown(s: &State) -> Vec<String> {
        view::directory_rows(s)
            .map(|o: DirObject<'_>| o.0.id.clone())
            .collect()
    }

    fn typed(s: &mut State, text: &str) {
        for c in text.chars() {
            update(s, Action::FilterInput(c));
        }
    }

    #[test]
    fn the_users_rows_follow_the_inventory_and_the_filter() {
        let mut s = State::bare(datetime!(2025-03-01 12:00 UTC));
        update(&mut s, Action::Resize(120, 40));
        let names = ["Jürgen Groß", "Ann Lee", "田中 太郎", "Bob", "ANNA"];
        inventory(
            &mut s,
            (0..50)
                .map(|i| entry(i, names[i % names.len()], &format!("alias{i}")))
                .collect(),
        );
        assert_eq!(view::row_count(&s, Pane::Users), 50);
        assert_eq!(shown(&s), expected(&s));

        update(&mut s, Action::Focus(Pane::Users));
        update(&mut s, Action::StartFilter);
        // Growing, shrinking and replacing the needle; upper case and non-ASCII text; a needle
        // that spans two cells must not match.
        // `\u{8}` is a backspace, `\u{7f}` erases the whole filter.
        let steps = [
            "ann",
            "\u{8}",
            "\u{7f}",
            "JÜR",
            "\u{7f}",
            "田中",
            "\u{7f}",
            "alias1",
            "7",
            "\u{8}",
            "\u{7f}",
            "user\u{1f}u",
            "\u{7f}",
            "contact",
        ];
        for step in steps {
            for c in step.chars() {
                match c {
                    '\u{8}' => {
                        update(&mut s, Action::FilterBackspace);
                    }
                    '\u{7f}' => {
                        while !s.view(Pane::Users).filter.is_empty() {
                            update(&mut s, Action::FilterBackspace);
                        }
                    }
                    _ => typed(&mut s, &c.to_string()),
                }
            }
            let filter = s.view(Pane::Users).filter.clone();
            assert_eq!(shown(&s), expected(&s), "filter {filter:?}");
            assert_eq!(view::row_count(&s, Pane::Users), shown(&s).len());
        }
        assert_eq!(s.view(Pane::Users).filter, "contact");
        assert_eq!(shown(&s).len(), 17, "every third entry is a contact");

        // Selection stays within the filtered rows.
        update(&mut s, Action::FilterApply);
        update(&mut s, Action::Bottom);
        assert_eq!(s.view(Pane::Users).selected, 16);

        // A new inventory is filtered by the filter in force.
        inventory(&mut s, (0..6).map(|i| entry(i, "x", "y")).collect());
        assert_eq!(shown(&s), ["id-0", "id-3"]);
        update(&mut s, Action::Down);
        assert_eq!(s.view(Pane::Users).selected, 1);

        // Esc clears the filter: every object again.
        update(&mut s, Action::FilterCancel);
        assert_eq!(view::row_count(&s, Pane::Users), 6);
        assert_eq!(
            view::directory_window(&s, 4, 10)
                .map(|o| o.0.id.as_str())
                .collect::<Vec<_>>(),
            ["id-4", "id-5"]
        );
    }

    #[test]
    fn the_plan_line_count_is_the_plan_views() {
        use crate::dns::{AnswerStatus, RecordAnswer, RecordKind, RecordValue};
        let mut s = State::bare(datetime!(2025-03-01 12:00 UTC));
        let lines = |s: &State| crate::ui::dns_views::plan_lines(s).len();
        assert_eq!(view::plan_line_count(&s), lines(&s));
        s.cutover_at = Some(datetime!(2025-03-03 12:00 UTC));
        assert_eq!(view::plan_line_count(&s), lines(&s));
        s.dns.last_poll = Some(datetime!(2025-03-01 12:00 UTC));
        assert_eq!(view::plan_line_count(&s), lines(&s));
        s.dns.answers = vec![RecordAnswer {
            name: "contoso.example".into(),
            kind: RecordKind::Mx,
            status: AnswerStatus::Answer,
            values: vec![RecordValue {
                value: "0 mx.example".into(),
                ttl: 3600,
            }],
        }];
        assert_eq!(view::plan_line_count(&s), lines(&s));
        s.dns.blocklists = vec![crate::dns::monitor::BlocklistResult {
            host: "mx.example".into(),
            address: None,
            zone: "zen.example".into(),
            listing: crate::dns::blocklist::Listing::Clean,
        }];
        assert_eq!(view::plan_line_count(&s), lines(&s));
        s.cutover_at = None;
        assert_eq!(view::plan_line_count(&s), lines(&s));
    }
}
