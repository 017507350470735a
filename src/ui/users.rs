//! Pane 3: source-tenant users and groups that still reference the domain, with their aliases;
//! the reference inventory's counts per kind, and its contacts, applications and other
//! references as rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Pane, State};

use super::rows::{self, DirObject};
use super::theme;
use super::widgets::{self, List, Window, truncate};

/// Below this inner width the mail column goes (it usually repeats the UPN).
const MAIL_MIN_WIDTH: u16 = 100;
const KIND_WIDTH: u16 = 8;

/// One visible row as text.
struct TextRow {
    kind: &'static str,
    name: String,
    mail: String,
    aliases: String,
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let domain = state.domain.as_str();
    let filtered = !state.view(Pane::Users).filter.is_empty();
    // Computed by the reducer when the inventory or the filter changed, not here.
    let count = state.model.users.len();
    let top = Line::from(match &state.inventory.holding {
        None => Span::styled("source tenant not yet inventoried", theme::dim()),
        Some(h) if filtered => Span::raw(format!("{count} of {} objects hold {domain}", h.total)),
        Some(h) => Span::raw(format!("{} objects hold {domain}", h.total)),
    });

    let inventory = inventory_line(state);

    let height = widgets::list_height(area, 2);
    let window = Window::new(state, Pane::Users, count, height);
    // Only the visible rows become text.
    let lines: Vec<TextRow> = rows::directory_window(state, window.start, window.len)
        .map(|o: DirObject<'_>| TextRow {
            kind: o.kind_label(),
            name: o.name().to_string(),
            mail: o.mail().to_string(),
            aliases: o.aliases_joined(),
        })
        .collect();

    let inner_w = area.width.saturating_sub(2);
    let with_mail = inner_w >= MAIL_MIN_WIDTH;
    // Marker column (when focused) and the spaces between columns.
    let chrome = u16::from(state.focus == Pane::Users) + if with_mail { 3 } else { 2 };
    let text_w = inner_w.saturating_sub(KIND_WIDTH + chrome);
    let widest = |f: fn(&TextRow) -> &str, header: &str| {
        let w = lines
            .iter()
            .map(|l| widgets::width(f(l)))
            .max()
            .unwrap_or(0);
        w.max(header.len()).min(usize::from(u16::MAX)) as u16
    };
    let name_need = widest(|l| &l.name, "UPN / name");
    let aliases_need = widest(|l| &l.aliases, "Aliases in domain");

    let (header, widths) = if with_mail {
        let mail_need = widest(|l| &l.mail, "Mail");
        let [name_w, rest] = widgets::share_width(text_w, name_need, mail_need + aliases_need);
        let [mail_w, aliases_w] = widgets::share_width(rest, mail_need, aliases_need);
        (
            Row::new(["Kind", "UPN / name", "Mail", "Aliases in domain"]),
            vec![
                Constraint::Length(KIND_WIDTH),
                Constraint::Length(name_w),
                Constraint::Length(mail_w),
                Constraint::Length(aliases_w),
            ],
        )
    } else {
        let [name_w, aliases_w] = widgets::share_width(text_w, name_need, aliases_need);
        (
            Row::new(["Kind", "UPN / name", "Aliases in domain"]),
            vec![
                Constraint::Length(KIND_WIDTH),
                Constraint::Length(name_w),
                Constraint::Length(aliases_w),
            ],
        )
    };
    // Cut with an ellipsis, so a shortened address never passes for a whole one.
    let fit = |text: &str, i: usize| match widths.get(i) {
        Some(Constraint::Length(w)) => truncate(text, usize::from(*w)),
        _ => text.to_string(),
    };
    let table_rows = lines
        .iter()
        .map(|l| {
            let kind = Cell::from(Span::styled(l.kind, theme::dim()));
            if with_mail {
                Row::new([
                    kind,
                    fit(&l.name, 1).into(),
                    fit(&l.mail, 2).into(),
                    fit(&l.aliases, 3).into(),
                ])
            } else {
                Row::new([kind, fit(&l.name, 1).into(), fit(&l.aliases, 2).into()])
            }
        })
        .collect();
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Users,
        List {
            top: vec![top, inventory],
            header,
            widths: &widths,
            rows: table_rows,
            window,
            empty: if state.source.snapshot.is_none() {
                "waiting for the first poll"
            } else {
                "nothing references the domain"
            },
        },
    );
}

/// `by kind: 4 user, 1 shared?, 2 dist grp, 1 contact, 1 app · 11:59:30` (the total is on the
/// line above).
fn inventory_line(state: &State) -> Line<'static> {
    let inv = &state.inventory;
    let Some(holding) = inv.holding.as_ref() else {
        return match &inv.last_error {
            Some(e) => Line::from(Span::styled(
                format!("inventory failed: {e}"),
                theme::error(),
            )),
            None => Line::from(Span::styled("inventory: collecting…", theme::dim())),
        };
    };
    let mut spans = vec![Span::raw(if holding.total == 0 {
        "by kind: nothing holds the domain".to_string()
    } else {
        format!("by kind: {}", holding.split())
    })];
    if let Some(at) = inv.last_poll {
        spans.push(Span::styled(
            format!(" · {}", super::rows::hms(at)),
            theme::dim(),
        ));
    }
    if inv.last_error.is_some() {
        spans.push(Span::styled(" · last poll failed", theme::error()));
    }
    Line::from(spans)
}
