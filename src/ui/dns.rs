//! Pane 2: the domain's DNS records as answered, one row per value, recent changes highlighted.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};

use crate::app::state::{DnsView, Pane, State};

use super::rows::{self, DnsRow, DnsValueKind};
use super::theme;
use super::widgets::{self, List, Window, truncate};

/// How long a change stays highlighted.
const RECENT_SECS: i64 = 60;

/// Is a change at `at` still highlighted?
pub fn is_recent(state: &State, at: time::OffsetDateTime) -> bool {
    (state.now - at).whole_seconds() <= RECENT_SECS
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    match state.dns.view {
        DnsView::Records => {}
        DnsView::Compare => return super::dns_compare::render(frame, area, state),
        DnsView::Propagation => return super::dns_views::render_propagation(frame, area, state),
        DnsView::Plan => return super::dns_views::render_plan(frame, area, state),
    }
    let all = rows::dns_rows(state);
    let height = widgets::list_height(area, 0);
    let window = Window::new(state, Pane::Dns, all.len(), height);
    let visible = &all[window.start..window.start + window.len];

    let widest = |f: fn(&DnsRow<'_>) -> usize, min: usize| {
        visible
            .iter()
            .map(f)
            .max()
            .unwrap_or(0)
            .max(min)
            .min(usize::from(u16::MAX)) as u16
    };
    let (comparisons, propagation) = super::dns_views::record_context(state);
    let statuses: Vec<(String, Style)> = visible
        .iter()
        .map(|r| {
            super::dns_views::record_status(
                state,
                &comparisons,
                &propagation,
                &r.answer.name,
                r.answer.kind,
                &r.value,
            )
        })
        .collect();
    // The status column appears only when there is something to say (expected records or
    // resolvers to compare), so the values keep their room otherwise.
    let status_need = statuses
        .iter()
        .map(|(s, _)| widgets::width(s) as u16)
        .max()
        .unwrap_or(0);
    let status_w = if status_need == 0 {
        0
    } else {
        status_need.max(6) + 1
    };
    let name_need = widest(|r| widgets::width(&r.name), 4);
    let type_w = widest(|r| r.answer.kind.as_str().len(), 4);
    let ttl_w = widest(|r| r.ttl.len(), 3);
    // Marker, type, TTL, four gaps, and the selection marker when focused; then the name gets
    // what it needs up to a third, the value the rest.
    let fixed = 1 + type_w + ttl_w + status_w + 4 + u16::from(state.focus == Pane::Dns);
    let avail = area.width.saturating_sub(2).saturating_sub(fixed);
    let name_w = name_need.min((avail / 3).max(4)).min(avail);
    let value_w = avail - name_w;
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(name_w),
        Constraint::Length(type_w),
        Constraint::Length(value_w),
        Constraint::Length(ttl_w),
    ];
    let mut header = vec!["", "Name", "Type", "Value", "TTL"];
    if status_w > 0 {
        widths.push(Constraint::Length(status_w - 1));
        header.push("Status");
    }
    let table_rows = visible
        .iter()
        .zip(statuses)
        .map(|(r, status)| {
            row(
                state,
                r,
                usize::from(name_w),
                usize::from(value_w),
                status_w > 0,
                status,
            )
        })
        .collect();
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
            header: Row::new(header),
            widths: &widths,
            rows: table_rows,
            window,
            empty,
        },
    );
}

fn row(
    state: &State,
    r: &DnsRow<'_>,
    name_w: usize,
    value_w: usize,
    show_status: bool,
    status: (String, Style),
) -> Row<'static> {
    let key = (r.answer.name.clone(), r.answer.kind.as_str().to_string());
    let recent = state
        .dns
        .changed_at
        .get(&key)
        .is_some_and(|at| is_recent(state, *at));
    let value_style = match r.value_kind {
        DnsValueKind::Value => Style::new(),
        DnsValueKind::Missing => theme::dim(),
        DnsValueKind::Error => theme::error(),
    };
    let mut cells = vec![
        Cell::from(if recent { "*" } else { " " }),
        Cell::from(truncate(&r.name, name_w)),
        Cell::from(r.answer.kind.as_str()),
        Cell::from(truncate(&r.value, value_w)).style(value_style),
        Cell::from(r.ttl.clone()),
    ];
    if show_status {
        cells.push(Cell::from(status.0).style(status.1));
    }
    let row = Row::new(cells);
    if recent {
        row.style(theme::changed())
    } else {
        row
    }
}
