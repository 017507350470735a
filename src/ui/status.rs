//! The status bar: each poller's health and last poll time, the newest error, a failing audit
//! journal, and the filter prompt while typing one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::state::{Health, InputMode, State, TenantId};

use super::rows::hms;
use super::theme;
use super::widgets::truncate;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    if area.width == 0 || area.height == 0 {
        return;
    }
    let mut spans: Vec<Span> = Vec::new();
    if let InputMode::Filter(pane) = state.input {
        spans.push(Span::styled(
            format!("/{}", state.view(pane).filter),
            theme::prompt(),
        ));
        spans.push(Span::styled("▏ ", theme::prompt()));
        spans.push(Span::styled("Enter keep · Esc clear  ", theme::dim()));
    }
    if let InputMode::CutoverTime(text) = &state.input {
        spans.push(Span::styled(format!("T = {text}"), theme::prompt()));
        spans.push(Span::styled("▏ ", theme::prompt()));
        spans.push(Span::styled(
            format!(
                "e.g. {} (UTC) or …+01:00 · Enter set · Esc cancel  ",
                crate::plan::cutover_time::EXAMPLE
            ),
            theme::dim(),
        ));
    }
    match &state.input {
        InputMode::StepReason { step, status, text } => {
            spans.push(Span::styled(
                format!("{step} {} because: {text}", status.as_str()),
                theme::prompt(),
            ));
            spans.push(Span::styled("▏ ", theme::prompt()));
            spans.push(Span::styled("Enter save · Esc cancel  ", theme::dim()));
        }
        InputMode::StepNote { step, text } => {
            spans.push(Span::styled(
                format!("note on {step}: {text}"),
                theme::prompt(),
            ));
            spans.push(Span::styled("▏ ", theme::prompt()));
            spans.push(Span::styled(
                "Enter save (empty removes) · Esc cancel  ",
                theme::dim(),
            ));
        }
        _ => {}
    }
    if state.workbench.read_only {
        spans.push(Span::styled("READ-ONLY", theme::alarm()));
        spans.push(Span::raw("  "));
    }
    // A notice (e.g. a cancelled sign-in) comes first: it answers what the person just did.
    if let Some(n) = &state.notice {
        spans.push(Span::styled(n.clone(), theme::warn()));
        spans.push(Span::raw("  "));
    }
    for id in [TenantId::Source, TenantId::Destination] {
        let t = state.tenant(id);
        if t.unconfigured {
            spans.push(Span::raw(format!("{}: ", id.as_str())));
            spans.push(Span::styled("not configured  ", theme::dim()));
            continue;
        }
        let (word, style) = match (&t.health, &t.forbidden) {
            (Health::Failing(_), Some(what)) => (format!("forbidden: {what}"), theme::error()),
            (Health::Connecting, _) => ("connecting".into(), theme::dim()),
            (Health::Ok, _) => ("ok".into(), theme::ok()),
            (Health::Failing(_), None) => ("ERROR".into(), theme::error()),
        };
        spans.push(Span::raw(format!("{}: ", id.as_str())));
        spans.push(Span::styled(word, style));
        if let Some(at) = t.last_poll {
            spans.push(Span::styled(format!(" {}", hms(at)), theme::dim()));
        }
        // A partner's technician (or a guest) signed in: the Domain pane names the tenant.
        if t.snapshot
            .as_ref()
            .is_some_and(|s| s.signed_in_from.is_some())
        {
            spans.push(Span::styled(" partner sign-in", theme::warn()));
        }
        spans.push(Span::raw("  "));
    }
    spans.push(Span::raw("dns: "));
    // Failing only when every query of every resolver failed; the time is the last answer.
    match (state.dns.failing_since, state.dns.last_poll) {
        (Some(since), _) => spans.push(Span::styled(
            format!("failing (no resolver answered since {})", hms(since)),
            theme::error(),
        )),
        (None, Some(at)) => {
            spans.push(Span::styled("ok", theme::ok()));
            spans.push(Span::styled(format!(" {}", hms(at)), theme::dim()));
        }
        (None, None) => spans.push(Span::styled("connecting", theme::dim())),
    }
    spans.push(Span::raw("  "));

    // Errors get what is left of the line; the audit journal first, since a failing journal
    // means actions go unrecorded.
    let mut errors: Vec<String> = Vec::new();
    if let Some(e) = &state.audit_error {
        errors.push(format!("audit: {e}"));
    }
    for (name, reason) in &state.stopped_tasks {
        errors.push(format!("{name} stopped: {reason}"));
    }

    let poll_errors = [
        ("source", state.source.last_error.as_ref()),
        ("destination", state.destination.last_error.as_ref()),
    ];
    let failing: Vec<(&str, &String)> = poll_errors
        .iter()
        .filter_map(|(w, e)| e.map(|e| (*w, e)))
        .collect();
    // One failing poller is already marked ERROR above; name it only when several fail.
    match failing.as_slice() {
        [] => {}
        [(_, e)] => errors.push((*e).clone()),
        [(who, e), ..] => errors.push(format!("{who}: {e}")),
    }
    let used: usize = spans.iter().map(Span::width).sum();
    let mut room = usize::from(area.width).saturating_sub(used);
    let share = if errors.is_empty() {
        0
    } else {
        room / errors.len()
    };
    for e in errors {
        let text = truncate(&e, share.saturating_sub(2));
        room = room.saturating_sub(super::widgets::width(&text) + 2);
        spans.push(Span::styled(text, theme::error()));
        spans.push(Span::raw("  "));
    }
    if room >= 6 && state.input == InputMode::Normal {
        spans.push(Span::styled("? help", theme::dim()));
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme::status_bar()),
        area,
    );
}
