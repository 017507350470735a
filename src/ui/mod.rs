//! Rendering: a pure function of [`crate::app::State`]. No I/O, no clock (the time is
//! `state.now`), no awaits, no locks. One module per pane, plus the status bar, the help overlay,
//! the theme, the layout and the row model that the reducer shares.

mod audit;
mod audit_detail;
mod banner;
pub mod clock;
mod connections;
mod dialog;
mod dns;
mod dns_compare;
pub(crate) mod dns_views;
mod domain;
mod help;
mod step_detail;
/// Geometry lives with the view model (the reducer needs the page height).
pub use crate::app::layout;
pub mod rows;
mod sign_in;
mod status;
pub mod theme;
mod timeline;
mod users;
mod widgets;

/// Text measured and cut in terminal cells; the CLI's tables use the same.
pub use widgets::{pad, truncate, width};

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::app::State;
use crate::app::state::Pane;

/// Where each pane is on a screen of `state.size` (the banner above them): what the mouse
/// clicked is found with it.
pub fn pane_areas(state: &State) -> layout::Areas {
    let (w, h) = state.size;
    let area = Rect::new(0, 0, w, h);
    let top = banner::height(state, area);
    let body = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    layout::areas(body, state.focus)
}

/// Draw the whole dashboard.
pub fn render(frame: &mut Frame, state: &State) {
    let area = frame.area();
    let top = banner::height(state, area);
    if top > 0 {
        banner::render(
            frame,
            Rect {
                height: top,
                ..area
            },
            state,
        );
    }
    let body = Rect {
        y: area.y + top,
        height: area.height - top,
        ..area
    };
    let areas = layout::areas(body, state.focus);
    for pane in Pane::ALL {
        let rect = areas.panes[pane.index()];
        if rect.width == 0 || rect.height == 0 {
            continue;
        }
        match pane {
            Pane::Domain => domain::render(frame, rect, state),
            Pane::Dns => dns::render(frame, rect, state),
            Pane::Users => users::render(frame, rect, state),
            Pane::Timeline => timeline::render(frame, rect, state),
            Pane::Audit => audit::render(frame, rect, state),
            Pane::Connections => connections::render(frame, rect, state),
        }
    }
    status::render(frame, areas.status, state);
    if state.audit_detail {
        audit_detail::render(frame, area, state);
    }
    if state.step_detail {
        step_detail::render(frame, area, state);
    }
    dialog::render(frame, area, state);
    if state.show_help {
        help::render(frame, area, state.help_scroll);
    }
    // The sign-in dialog is modal and waits for a person: it stays on top.
    if let Some(dialog) = state.sign_in.first() {
        sign_in::render(frame, area, dialog, state.sign_in.len() - 1);
    }
}
