//! The DNS pane's other sub-views: the propagation matrix (names × resolvers, stale cells
//! counting down to expiry) and the TTL plan with the snapshot taken before changes.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Pane, State};
use crate::dns::RecordKind;
use crate::dns::propagation::{Cell as PropCell, ResolverSweep};
use crate::dns::ttl_plan::{TtlPlanStatus, format_countdown, ttl_plan};

use super::theme;
use super::widgets::{self, List, Window, truncate};

fn view_line(state: &State) -> Line<'static> {
    Line::from(Span::styled(
        format!("view: {} (v: next)", state.dns.view.label()),
        theme::dim(),
    ))
}

/// The matrix and its columns: the view model's, which the reducer counts rows by.
fn propagation(state: &State) -> (Vec<crate::dns::propagation::Row>, &[ResolverSweep]) {
    crate::app::view::propagation(state)
}

/// What is left of a resolver's cached copy, short enough for a column: `59m40s`, `3h05m`,
/// `2d03h`.
fn short_left(left: time::Duration) -> String {
    let s = left.whole_seconds().max(0);
    match s {
        0..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

pub fn render_propagation(frame: &mut Frame, area: Rect, state: &State) {
    let sweeps = &state.dns.sweeps;
    let (rows, others) = propagation(state);
    let height = widgets::list_height(area, 1);
    let window = Window::new(state, Pane::Dns, rows.len(), height);
    let visible = &rows[window.start..window.start + window.len];
    let col_w: u16 = 9;
    let fixed = 6 + (col_w + 1) * others.len() as u16 + u16::from(state.focus == Pane::Dns);
    let name_w = area.width.saturating_sub(2).saturating_sub(fixed).max(4);
    let mut widths = vec![Constraint::Length(name_w), Constraint::Length(5)];
    widths.extend(others.iter().map(|_| Constraint::Length(col_w)));
    let mut header = vec![Cell::from("Name"), Cell::from("Type")];
    header.extend(
        others
            .iter()
            .map(|s| Cell::from(truncate(&s.resolver, usize::from(col_w)))),
    );
    let table_rows = visible
        .iter()
        .map(|r| {
            let mut cells = vec![
                Cell::from(truncate(&r.name, usize::from(name_w))),
                Cell::from(r.kind.as_str()),
            ];
            cells.extend(r.cells.iter().zip(others).map(|(c, sweep)| match c {
                // A recursive resolver's TTL is what is left of its cached copy.
                PropCell::Current if !sweep.authoritative => {
                    let ttl = sweep
                        .answers
                        .iter()
                        .find(|a| a.name == r.name && a.kind == r.kind)
                        .and_then(|a| a.values.iter().map(|v| v.ttl).max());
                    let text = match ttl {
                        Some(ttl) => {
                            let expires = sweep.at + time::Duration::seconds(i64::from(ttl));
                            format!("ok {}", short_left(expires - state.now))
                        }
                        None => "ok".into(),
                    };
                    Cell::from(truncate(&text, usize::from(col_w))).style(theme::ok())
                }
                PropCell::Current => Cell::from("ok").style(theme::ok()),
                PropCell::Stale { expires_at } => {
                    let left = (*expires_at - state.now).max(time::Duration::ZERO);
                    Cell::from(truncate(&format_countdown(left), usize::from(col_w)))
                        .style(theme::warn())
                }
                PropCell::Failed(e) => {
                    Cell::from(truncate(e, usize::from(col_w))).style(theme::error())
                }
                PropCell::Unknown => Cell::from("?").style(theme::dim()),
            }));
            Row::new(cells)
        })
        .collect();
    let empty = if sweeps.is_empty() {
        "no resolvers polled yet"
    } else {
        "no records"
    };
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Dns,
        List {
            top: vec![Line::from(vec![
                Span::styled(
                    format!("view: {} (v: next)", state.dns.view.label()),
                    theme::dim(),
                ),
                Span::styled(" · cached, expires in …", theme::dim()),
            ])],
            header: Row::new(header),
            widths: &widths,
            rows: table_rows,
            window,
            empty,
        },
    );
}

/// Label/value lines of the TTL plan.
pub fn plan_lines(state: &State) -> Vec<(String, String, ratatui::style::Style)> {
    let mut out = Vec::new();
    // Only the authoritative servers' TTL: a recursive resolver's is what is left of its cache.
    let mx_ttl = state
        .dns
        .answers
        .iter()
        .find(|a| a.kind == RecordKind::Mx && a.name == state.domain)
        .and_then(|a| a.values.iter().map(|v| v.ttl).max());
    let fmt = crate::plan::cutover_time::format_cutover;
    match (state.cutover_at, mx_ttl) {
        (Some(at), Some(ttl)) => {
            let plan = ttl_plan(at, ttl, state.now);
            out.push(("cutover at".into(), fmt(at), ratatui::style::Style::new()));
            out.push((
                "MX TTL now".into(),
                format!("{ttl} s (target 300 s)"),
                ratatui::style::Style::new(),
            ));
            out.push((
                "lower TTL by".into(),
                fmt(plan.deadline),
                ratatui::style::Style::new(),
            ));
            let (text, style) = match plan.status {
                TtlPlanStatus::Lowered => ("done: TTL is at the target".to_string(), theme::ok()),
                TtlPlanStatus::Due => (
                    format!("{} left", format_countdown(plan.remaining)),
                    theme::warn(),
                ),
                TtlPlanStatus::Overdue => (
                    format!(
                        "OVERDUE by {}: the old MX may be cached past the cutover",
                        format_countdown(-plan.remaining)
                    ),
                    theme::error(),
                ),
            };
            out.push(("countdown".into(), text, style));
        }
        (None, _) => {
            out.push(("cutover at".into(), "T not set".into(), theme::warn()));
            out.push((
                "needs".into(),
                "the cutover time T: press t in the timeline, or set cutover_at in the config"
                    .into(),
                theme::dim(),
            ));
        }
        (_, None) if state.dns.last_poll.is_none() => {
            out.push(("MX TTL now".into(), "no MX answer yet".into(), theme::dim()))
        }
        (_, None) => out.push((
            "MX TTL now".into(),
            "TTL unknown: no authoritative answer".into(),
            theme::warn(),
        )),
    }
    for b in &state.dns.blocklists {
        use crate::dns::blocklist::Listing;
        // The verdict leads so it survives clipping at 80 columns.
        let (verdict, why, style) = match &b.listing {
            Listing::Clean => ("clean", String::new(), theme::ok()),
            Listing::Listed(reasons) => (
                "LISTED",
                format!(": {}", reasons.join("; ")),
                theme::error(),
            ),
            Listing::CouldNotCheck(why) => ("not checked", format!(": {why}"), theme::warn()),
        };
        let address = b
            .address
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        out.push((
            "blocklist".into(),
            format!("{verdict} {address} ({}) on {}{why}", b.host, b.zone),
            style,
        ));
    }
    out.push((
        "snapshot".into(),
        state
            .dns
            .snapshot
            .clone()
            .unwrap_or_else(|| "none taken yet".into()),
        theme::dim(),
    ));
    out
}

pub fn render_plan(frame: &mut Frame, area: Rect, state: &State) {
    let lines = plan_lines(state);
    let height = widgets::list_height(area, 1);
    let window = Window::new(state, Pane::Dns, lines.len(), height);
    let label_w: u16 = 13;
    let value_w = area
        .width
        .saturating_sub(2 + label_w + 1 + u16::from(state.focus == Pane::Dns));
    let widths = [Constraint::Length(label_w), Constraint::Length(value_w)];
    let rows = lines[window.start..window.start + window.len]
        .iter()
        .map(|(label, value, style)| {
            Row::new([
                Cell::from(label.clone()),
                Cell::from(truncate(value, usize::from(value_w))).style(*style),
            ])
        })
        .collect();
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Dns,
        List {
            top: vec![view_line(state)],
            header: Row::new(["TTL plan", ""]),
            widths: &widths,
            rows,
            window,
            empty: "nothing to plan",
        },
    );
}

/// The status of one records-view row: stale (with the time until the last stale copy
/// expires), else the expected-vs-actual verdict, else nothing when no records are expected.
pub fn record_status(
    state: &State,
    comparisons: &[crate::dns::expected::Comparison],
    propagation: &[crate::dns::propagation::Row],
    name: &str,
    kind: RecordKind,
    value: &str,
) -> (String, ratatui::style::Style) {
    use crate::dns::expected::Verdict;
    let stale_until = propagation
        .iter()
        .filter(|r| r.name == name && r.kind == kind)
        .flat_map(|r| r.cells.iter())
        .filter_map(|c| match c {
            PropCell::Stale { expires_at } => Some(*expires_at),
            _ => None,
        })
        .max();
    let mine: Vec<_> = comparisons
        .iter()
        .filter(|c| c.name == name && c.kind == kind)
        .collect();
    if mine
        .iter()
        .any(|c| c.verdict == Verdict::Extra && c.actual.iter().any(|a| a == value))
    {
        return ("extra".into(), theme::warn());
    }
    let worst = mine
        .iter()
        .filter(|c| c.verdict != Verdict::Extra && !(c.optional && c.verdict != Verdict::Ok))
        .map(|c| &c.verdict)
        .find(|v| **v != Verdict::Ok);
    match (worst, stale_until) {
        (Some(v), _) => (v.as_str().to_string(), theme::error()),
        (None, Some(until)) => (
            format!(
                "stale {}",
                format_countdown((until - state.now).max(time::Duration::ZERO))
            ),
            theme::warn(),
        ),
        (None, None) if !mine.is_empty() => ("ok".into(), theme::ok()),
        (None, None) => (String::new(), ratatui::style::Style::new()),
    }
}

/// Comparisons and the propagation matrix for the records view, computed once per frame.
pub fn record_context(
    state: &State,
) -> (
    Vec<crate::dns::expected::Comparison>,
    Vec<crate::dns::propagation::Row>,
) {
    let comparisons = crate::dns::expected::compare(&state.dns.expected, &state.dns.answers);
    (comparisons, propagation(state).0)
}
