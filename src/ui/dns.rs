//! Pane 2: the domain's DNS records as answered, one row per value, recent changes highlighted.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Pane, State};

use super::rows::{self, DnsRow, DnsValueKind};
use super::theme;
use super::widgets::{self, List, Window};

/// How long a change stays highlighted.
const RECENT_SECS: i64 = 60;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let all = rows::dns_rows(state);
    let height = widgets::list_height(area, 0);
    let window = Window::new(state, Pane::Dns, all.len(), height);
    let visible = &all[window.start..window.start + window.len];

    // Name column as wide as the longest visible name, within reason.
    let name_w = visible
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(4)
        .clamp(4, 24) as u16;
    let widths = [
        Constraint::Length(1),
        Constraint::Length(name_w),
        Constraint::Length(5),
        Constraint::Fill(1),
        Constraint::Length(6),
    ];
    let table_rows = visible.iter().map(|r| row(state, r)).collect();
    let empty = if state.dns.last_poll.is_none() {
        "not yet polled"
    } else {
        "no records"
    };
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Dns,
        List {
            top: Vec::new(),
            header: Row::new(["", "Name", "Type", "Value", "TTL"]),
            widths: &widths,
            rows: table_rows,
            window,
            empty,
        },
    );
}

fn row<'a>(state: &State, r: &'a DnsRow<'_>) -> Row<'a> {
    let key = (r.answer.name.clone(), r.answer.kind.as_str().to_string());
    let recent = state
        .dns
        .changed_at
        .get(&key)
        .is_some_and(|at| (state.now - *at).whole_seconds() <= RECENT_SECS);
    let value_style = match r.value_kind {
        DnsValueKind::Value => Style::new(),
        DnsValueKind::Missing => theme::dim(),
        DnsValueKind::Error => theme::error(),
    };
    let row = Row::new([
        Cell::from(if recent { "*" } else { " " }),
        Cell::from(r.name.as_str()),
        Cell::from(r.answer.kind.as_str()),
        Cell::from(r.value.as_str()).style(value_style),
        Cell::from(r.ttl.as_str()),
    ]);
    if recent {
        row.style(theme::changed())
    } else {
        row
    }
}
