//! Pane 6: the connections and access of one tenant (`v` switches): connectors, the grants and
//! application permissions of apps that reach mail, calendars, contacts or the directory, and
//! registrations whose URIs use the domain, each with its planned change and its state. The
//! rows are made by the reducer when a reading arrives (`app::connections`); a failed reading
//! is shown as Microsoft's refusal, in its words.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::connections::shown;
use crate::app::state::{Pane, State, TenantId};
use crate::app::workbench::RowState;

use super::theme;
use super::widgets::{self, List, Window, truncate};

const KIND_WIDTH: u16 = 8;
/// From this inner width on, the details column is shown (the preview has them otherwise).
const DETAIL_MIN_WIDTH: u16 = 70;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let conn = &state.connections;
    let tenant = conn.shown.0;
    let t = conn.tenant(tenant);
    let bench = &t.bench;
    let other = match tenant {
        TenantId::Source => "destination",
        TenantId::Destination => "source",
    };
    let mut top = Line::from(Span::raw(format!("{} tenant", tenant.as_str())));
    if t.read {
        top.push_span(Span::raw(format!(
            " · {} connector{} naming {} · {} app{} with access",
            t.naming,
            if t.naming == 1 { "" } else { "s" },
            state.domain,
            t.apps,
            if t.apps == 1 { "" } else { "s" },
        )));
    }
    if !bench.selected.is_empty() {
        top.push_span(Span::styled(
            format!(" · {} selected", bench.selected.len()),
            theme::prompt(),
        ));
    }
    top.push_span(Span::styled(format!(" · v: {other}"), theme::dim()));
    let second = match (&bench.run, &t.error, t.at) {
        (_, Some(e), _) => Line::from(Span::styled(format!("refused: {e}"), theme::error())),
        (Some(run), None, _) => {
            super::users::progress_line(run, state.now, area.width.saturating_sub(2))
        }
        (None, None, Some(at)) => Line::from(Span::styled(
            format!("read {}", super::rows::hms(at)),
            theme::dim(),
        )),
        (None, None, None) => Line::from(Span::styled("not read yet", theme::dim())),
    };

    let rows = shown(state);
    let height = widgets::list_height(area, 2);
    let window = Window::new(state, Pane::Connections, rows.len(), height);
    let visible: Vec<&_> = rows
        .iter()
        .skip(window.start)
        .take(window.len)
        .copied()
        .collect();
    // Each visible row's planned change and state, once per frame for the window only.
    let work: Vec<(String, RowState, String)> = visible
        .iter()
        .map(|r| {
            let w = bench.row(&r.id);
            let planned = match (&w.state, r.note.as_deref()) {
                (RowState::None, Some(note)) => note.to_string(),
                _ => w.planned,
            };
            let text = w.state.text();
            (planned, w.state, text)
        })
        .collect();

    let inner_w = area.width.saturating_sub(2);
    let with_detail = inner_w >= DETAIL_MIN_WIDTH;
    let chrome = u16::from(state.focus == Pane::Connections) + 1 + if with_detail { 5 } else { 4 };
    let text_w = inner_w.saturating_sub(KIND_WIDTH + chrome);
    let need = |w: usize, header: &str| w.max(header.len()).min(usize::from(u16::MAX)) as u16;
    let name_need = need(
        visible
            .iter()
            .map(|r| widgets::width(&r.name))
            .max()
            .unwrap_or(0),
        "Name",
    );
    let planned_need = need(
        work.iter().map(|w| widgets::width(&w.0)).max().unwrap_or(0),
        "Planned change",
    );
    let state_need = need(
        work.iter().map(|w| widgets::width(&w.2)).max().unwrap_or(0),
        "State",
    );
    // Narrow, the name is what tells rows apart (the preview has the rest).
    let name_w = name_need
        .min(if with_detail { text_w / 4 } else { text_w / 3 })
        .max(4.min(text_w));
    let state_w = state_need.min(text_w / 4);
    let rest = text_w.saturating_sub(name_w + state_w);
    let [planned_w, detail_w] = if with_detail {
        let planned_w = planned_need.min(rest / 2);
        [planned_w, rest.saturating_sub(planned_w)]
    } else {
        [rest, 0]
    };
    let mut header = vec!["", "Kind", "Name"];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(KIND_WIDTH),
        Constraint::Length(name_w),
    ];
    if with_detail {
        header.push("What");
        widths.push(Constraint::Length(detail_w));
    }
    header.extend(["Planned change", "State"]);
    widths.extend([Constraint::Length(planned_w), Constraint::Length(state_w)]);
    let table_rows = visible
        .iter()
        .zip(&work)
        .map(|(r, (planned, row_state, text))| {
            let style = match row_state {
                RowState::Applied => theme::ok(),
                RowState::Failed(_) => theme::error(),
                RowState::Applying | RowState::Refused | RowState::Partly(..) => theme::warn(),
                RowState::Blocked(_) | RowState::Undone | RowState::None => theme::dim(),
                RowState::Planned => ratatui::style::Style::default(),
            };
            let mut cells = vec![
                Cell::from(Span::styled(
                    if bench.selected.contains(&r.id) {
                        "●"
                    } else {
                        " "
                    },
                    theme::prompt(),
                )),
                Cell::from(Span::styled(r.kind, theme::dim())),
                Cell::from(truncate(&r.name, usize::from(name_w))),
            ];
            if with_detail {
                cells.push(Cell::from(truncate(&r.detail, usize::from(detail_w))));
            }
            cells.push(Cell::from(truncate(planned, usize::from(planned_w))));
            cells.push(Cell::from(Span::styled(
                truncate(text, usize::from(state_w)),
                style,
            )));
            Row::new(cells)
        })
        .collect();
    let empty = if t.error.is_some() {
        "nothing read: see the refusal above"
    } else if !t.read && tenant == TenantId::Destination {
        "not read: the dashboard reads a tenant it has Graph and Exchange sign-ins for"
    } else if !t.read {
        "waiting for the first reading"
    } else {
        "no connector or application with access"
    };
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Connections,
        List {
            top: vec![top, second],
            header: Row::new(header),
            widths: &widths,
            rows: table_rows,
            window,
            empty,
        },
    );
}
