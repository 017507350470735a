//! The details of one timeline step (Enter on the Timeline pane): when it is due, where it
//! stands and why, its gate with what was observed, its note and its linked action.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::state::{InputMode, State};
use crate::plan::ACTIONS;
use crate::plan::cutover_time::format_cutover;
use crate::timeline::export::state_detail;
use crate::timeline::status::countdown;
use crate::timeline::{StepState, Verdict};

use super::{rows, theme, widgets};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let rect = widgets::overlay_rect(area);
    let text_width = usize::from(rect.width.saturating_sub(4));
    let selected = state.view(crate::app::state::Pane::Timeline).selected;
    let lines = match rows::step_rows(state).nth(selected) {
        Some(row) => lines(state, &row, text_width),
        None => vec![Line::styled("no step selected", theme::dim())],
    };
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Line::styled(" Step ", theme::title(true)))
        .title_bottom(
            Line::styled(" e note · a action · Esc closes ", theme::dim()).right_aligned(),
        )
        .padding(ratatui::widgets::Padding::horizontal(1));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(lines).block(block), rect);
}

fn field(name: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<9}"), theme::header()),
        Span::raw(value.into()),
    ])
}

/// `value` wrapped under a field name, continuation lines indented.
fn wrapped(out: &mut Vec<Line<'static>>, name: &str, value: &str, width: usize) {
    let parts = widgets::wrap(value, width.saturating_sub(9).max(10));
    for (i, part) in parts.into_iter().enumerate() {
        out.push(field(if i == 0 { name } else { "" }, part));
    }
}

fn lines(state: &State, row: &rows::StepRow<'_>, width: usize) -> Vec<Line<'static>> {
    let step = row.step;
    let mut out = vec![
        Line::styled(step.title.clone(), theme::title(true)),
        field("id", format!("{} · phase {}", step.id, row.phase.title)),
    ];
    let due = match row.view.and_then(|v| v.due_at) {
        Some(at) => format!(
            "{} · {} local · {} · {}",
            step.due_label(),
            rows::local_md_hm(at),
            format_cutover(at),
            countdown(at, state.now)
        ),
        None => format!("{} (T not set)", step.due_label()),
    };
    out.push(field("due", due));
    let mut who = step.owner.clone();
    if step.optional {
        who.push_str(" · optional");
    }
    out.push(field("owner", who));
    if let Some(st) = row.state() {
        let detail = state_detail(st);
        let status = if detail.is_empty() {
            st.label().to_string()
        } else {
            format!("{}: {detail}", st.label())
        };
        let style = match st {
            StepState::Overdue(_) | StepState::Failed { .. } => theme::error(),
            StepState::DoneByGate(_) | StepState::DoneByHand { .. } => theme::ok(),
            _ => ratatui::style::Style::new(),
        };
        let mut lines = Vec::new();
        wrapped(&mut lines, "status", &status, width);
        out.extend(lines.into_iter().map(|l| l.style(style)));
    }
    match (step.gate_text(), row.view.and_then(|v| v.gate.as_ref())) {
        (Some(gate), Some(eval)) => {
            let verdict = match eval.verdict {
                Verdict::Holds => "holds",
                Verdict::Fails { last: true } => "fails, and can no longer hold",
                Verdict::Fails { last: false } => "does not hold yet",
                Verdict::Unknown { .. } => "unknown",
            };
            out.push(field("gate", format!("{gate} — {verdict}")));
            wrapped(&mut out, "seen", &eval.observed, width);
            if let Some(at) = state.timeline.held.get(&step.id) {
                out.push(field("held", format!("first at {}", format_cutover(*at))));
            }
        }
        _ => out.push(field("gate", "none: d marks it done by hand")),
    }
    let action = step.action.as_deref().and_then(|a| {
        ACTIONS
            .iter()
            .find(|(name, _)| *name == a)
            .map(|(_, what)| format!("a: {what}"))
    });
    out.push(field("action", action.unwrap_or_else(|| "none".into())));
    match &state.input {
        InputMode::StepNote { step: id, text } if *id == step.id => {
            out.push(Line::from(vec![
                Span::styled(format!("{:<9}", "note"), theme::header()),
                Span::styled(format!("{text}▏"), theme::prompt()),
            ]));
        }
        _ => match state.progress.notes.get(&step.id) {
            Some(note) => wrapped(&mut out, "note", note, width),
            None => out.push(field("note", "none · e adds one")),
        },
    }
    if !step.detail.is_empty() {
        out.push(Line::default());
        out.extend(
            widgets::wrap(&step.detail, width)
                .into_iter()
                .map(|l| Line::styled(l, theme::dim())),
        );
    }
    out
}
