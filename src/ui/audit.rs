//! Pane 5: the audit journal, newest first, with a failing journal shown in red on top.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Pane, State};
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
