//! The DNS pane's expected-vs-actual view: one row per record the tenant asks for (and per
//! extra record DNS has), with the TTL answered, how long resolvers may keep their copies, and
//! the status.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};
use time::{Duration, OffsetDateTime};

use crate::app::state::{Pane, State};
use crate::dns::RecordKind;
use crate::dns::expected::Comparison;
use crate::dns::model::AnswerStatus;
use crate::dns::ttl_plan::format_countdown;

use super::rows::relative_name;
use super::theme;
use super::widgets::{self, List, Window, truncate};

/// One row of the view, everything already as text.
pub struct CompareRow {
    pub name: String,
    pub kind: RecordKind,
    pub expected: String,
    pub actual: String,
    pub ttl: String,
    pub expires_in: String,
    pub status: (String, ratatui::style::Style),
}

/// The longest a resolver may still serve the copy it holds now: over every resolver swept, its
/// answered TTL counted down from the sweep. A change made now is seen everywhere after this.
fn expires_in(state: &State, name: &str, kind: RecordKind) -> Option<Duration> {
    let left = |at: OffsetDateTime, ttl: u32| {
        (at + Duration::seconds(i64::from(ttl)) - state.now).max(Duration::ZERO)
    };
    let swept = state.dns.sweeps.iter().filter_map(|s| {
        let a = s
            .answers
            .iter()
            .find(|a| a.name == name && a.kind == kind)?;
        let ttl = a.values.iter().map(|v| v.ttl).max()?;
        Some(left(s.at, ttl))
    });
    let polled = state.dns.last_poll.and_then(|at| {
        let a = state
            .dns
            .answers
            .iter()
            .find(|a| a.name == name && a.kind == kind)?;
        Some(left(at, a.values.iter().map(|v| v.ttl).max()?))
    });
    swept.chain(polled).max()
}

pub fn compare_rows(state: &State) -> Vec<CompareRow> {
    let (comparisons, propagation) = super::dns_views::record_context(state);
    comparisons
        .iter()
        .map(|c: &Comparison| {
            let value = c
                .expected
                .clone()
                .or_else(|| c.actual.first().cloned())
                .unwrap_or_default();
            let mut status = super::dns_views::record_status(
                state,
                &comparisons,
                &propagation,
                &c.name,
                c.kind,
                &value,
            );
            // The countdown has its own column here.
            if status.0.starts_with("stale ") {
                status.0.truncate("stale".len());
            }
            let answer = state
                .dns
                .answers
                .iter()
                .find(|a| a.name == c.name && a.kind == c.kind);
            let actual = if c.actual.is_empty() {
                match answer.map(|a| &a.status) {
                    Some(AnswerStatus::NxDomain) => "NXDOMAIN".into(),
                    Some(AnswerStatus::NoData) => "NODATA".into(),
                    Some(AnswerStatus::Error(e)) => format!("error: {e}"),
                    Some(AnswerStatus::Answer) | None => String::new(),
                }
            } else {
                c.actual.join(" | ")
            };
            CompareRow {
                name: relative_name(&c.name, &state.domain),
                kind: c.kind,
                expected: c.expected.clone().unwrap_or_else(|| "–".into()),
                actual,
                ttl: answer
                    .and_then(|a| a.values.iter().map(|v| v.ttl).max())
                    .map(|t| format!("{t}s"))
                    .unwrap_or_default(),
                expires_in: expires_in(state, &c.name, c.kind)
                    .map(format_countdown)
                    .unwrap_or_default(),
                status,
            }
        })
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let rows = compare_rows(state);
    let height = widgets::list_height(area, 1);
    let window = Window::new(state, Pane::Dns, rows.len(), height);
    let visible = &rows[window.start..window.start + window.len];
    let status_w = visible
        .iter()
        .map(|r| widgets::width(&r.status.0))
        .max()
        .unwrap_or(0)
        .max(6) as u16;
    let (type_w, ttl_w, exp_w) = (5u16, 6u16, 8u16);
    let fixed = type_w + ttl_w + exp_w + status_w + 6 + u16::from(state.focus == Pane::Dns);
    let avail = area.width.saturating_sub(2).saturating_sub(fixed);
    // The name what it needs up to a fifth, the two values share the rest.
    let name_need = visible
        .iter()
        .map(|r| widgets::width(&r.name))
        .max()
        .unwrap_or(0)
        .max(4) as u16;
    let name_w = name_need.min((avail / 5).max(4)).min(avail);
    let value_w = (avail - name_w) / 2;
    let widths = [
        Constraint::Length(name_w),
        Constraint::Length(type_w),
        Constraint::Length(value_w),
        Constraint::Length(value_w),
        Constraint::Length(ttl_w),
        Constraint::Length(exp_w),
        Constraint::Length(status_w),
    ];
    let header = Row::new(vec![
        "Name", "Type", "Expected", "Actual", "TTL", "Expires", "Status",
    ]);
    let table_rows = visible
        .iter()
        .map(|r| {
            Row::new(vec![
                Cell::from(truncate(&r.name, usize::from(name_w))),
                Cell::from(r.kind.as_str()),
                Cell::from(truncate(&r.expected, usize::from(value_w))),
                Cell::from(truncate(&r.actual, usize::from(value_w))),
                Cell::from(r.ttl.clone()),
                Cell::from(r.expires_in.clone()),
                Cell::from(r.status.0.clone()).style(r.status.1),
            ])
        })
        .collect();
    let from = match state.dns.expected_from {
        Some(t) => format!(" · expected from the {} tenant", t.as_str()),
        None => String::new(),
    };
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Dns,
        List {
            top: vec![Line::from(Span::styled(
                format!("view: {} (v: next){from}", state.dns.view.label()),
                theme::dim(),
            ))],
            header,
            widths: &widths,
            rows: table_rows,
            window,
            empty: "no expected records yet",
        },
    );
}
