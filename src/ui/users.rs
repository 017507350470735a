//! Pane 3: source-tenant users and groups that still reference the domain, with their aliases.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Pane, State};

use super::rows::{self, DirObject};
use super::theme;
use super::widgets::{self, List, Window};

/// Below this inner width the mail column goes (it usually repeats the UPN).
const MAIL_MIN_WIDTH: u16 = 70;

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let domain = state.domain.as_str();
    let count = rows::directory_rows(state).count();
    let top = Line::from(if state.source.snapshot.is_none() {
        Span::styled("source tenant not yet polled", theme::dim())
    } else if state.view(Pane::Users).filter.is_empty() {
        Span::raw(format!("{count} objects reference {domain}"))
    } else {
        let total = rows::directory_objects(state).count();
        Span::raw(format!("{count} of {total} objects reference {domain}"))
    });

    let height = widgets::list_height(area, 1);
    let window = Window::new(state, Pane::Users, count, height);
    let with_mail = area.width.saturating_sub(2) >= MAIL_MIN_WIDTH;
    // Only the visible rows become text.
    let table_rows = rows::directory_rows(state)
        .skip(window.start)
        .take(window.len)
        .map(|o| row(&o, domain, with_mail))
        .collect();

    let (header, widths): (Row, &[Constraint]) = if with_mail {
        (
            Row::new(["Kind", "UPN / name", "Mail", "Aliases in domain"]),
            &[
                Constraint::Length(8),
                Constraint::Fill(3),
                Constraint::Fill(3),
                Constraint::Fill(4),
            ],
        )
    } else {
        (
            Row::new(["Kind", "UPN / name", "Aliases in domain"]),
            &[
                Constraint::Length(8),
                Constraint::Fill(1),
                Constraint::Fill(1),
            ],
        )
    };
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Users,
        List {
            top: vec![top],
            header,
            widths,
            rows: table_rows,
            window,
            empty: "nothing references the domain",
        },
    );
}

fn row(o: &DirObject<'_>, domain: &str, with_mail: bool) -> Row<'static> {
    let kind = Cell::from(Span::styled(o.kind_label(), theme::dim()));
    let name = Cell::from(o.name().to_string());
    let aliases = Cell::from(o.aliases_joined(domain));
    if with_mail {
        Row::new([kind, name, Cell::from(o.mail().to_string()), aliases])
    } else {
        Row::new([kind, name, aliases])
    }
}
