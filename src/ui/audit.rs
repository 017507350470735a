//! Pane 5: the audit journal, newest first, with a failing journal or filter shown in red on
//! top and the integrity badge (verified / broken at line N / not checked) in the title.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Integrity, Pane, State};
use crate::audit::{Kind, Record};

use super::rows;
use super::theme;
use super::widgets::{self, List, Window};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let mut top = Vec::new();
    if let Some(e) = &state.audit_error {
        top.push(Line::from(Span::styled(
            format!("AUDIT LOG NOT WRITTEN: {e}"),
            theme::error(),
        )));
    }
    if let Err(e) = rows::audit_filter(state) {
        top.push(Line::from(Span::styled(
            format!("filter: {e}"),
            theme::error(),
        )));
    }
    let count = rows::audit_rows(state).count();
    let height = widgets::list_height(area, top.len());
    let window = Window::new(state, Pane::Audit, count, height);
    let table_rows = rows::audit_rows(state)
        .skip(window.start)
        .take(window.len)
        .map(row)
        .collect();
    let widths = [
        Constraint::Length(8),
        Constraint::Length(13),
        Constraint::Length(11),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Fill(3),
    ];
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Audit,
        List {
            top,
            header: Row::new([
                "Time",
                "Kind",
                "Tenant",
                "Target",
                "Action",
                "Before → after",
            ]),
            widths: &widths,
            rows: table_rows,
            window,
            empty: "no audit lines yet",
        },
    );
    render_badge(frame, area, state);
}

/// The integrity badge, right-aligned on the pane's top border.
fn render_badge(frame: &mut Frame, area: Rect, state: &State) {
    let (text, style) = badge(&state.audit_integrity);
    let width = widgets::width(&text) as u16;
    // Keep the left part of the title (number, name, filter) readable on narrow panes.
    if area.height == 0 || area.width < width + 24 {
        return;
    }
    let rect = Rect {
        x: area.x + area.width - width - 1,
        y: area.y,
        width,
        height: 1,
    };
    frame.render_widget(Line::from(Span::styled(text, style)), rect);
}

pub fn badge(integrity: &Integrity) -> (String, ratatui::style::Style) {
    match integrity {
        Integrity::NotChecked => (" not checked ".into(), theme::dim()),
        Integrity::Verified { lines, .. } => (format!(" ✓ verified, {lines} lines "), theme::ok()),
        Integrity::Broken { line: 0, .. } => (" ✗ cannot read the log ".into(), theme::error()),
        Integrity::Broken { line, .. } => (format!(" ✗ broken at line {line} "), theme::error()),
    }
}

fn row(record: &Record) -> Row<'static> {
    let kind_style = match record.event.kind {
        Kind::Observed => theme::warn(),
        Kind::Repair => theme::error(),
        Kind::SessionStart | Kind::SessionEnd => theme::dim(),
        _ => ratatui::style::Style::new(),
    };
    let [time, kind, tenant, target, action, change] = rows::audit_cells(record);
    Row::new([
        Cell::from(time).style(theme::dim()),
        Cell::from(kind).style(kind_style),
        Cell::from(tenant),
        Cell::from(target),
        Cell::from(action),
        Cell::from(change),
    ])
}
