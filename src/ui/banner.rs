//! The red line across the top when the audit journal has stopped: from then on nothing can be
//! recorded, so every change is refused, and the person must know before trying one.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use crate::app::State;

use super::widgets::truncate;

/// Lines the banner takes from the top of `area` (0 while the journal is alive).
pub fn height(state: &State, area: Rect) -> u16 {
    u16::from(state.audit_stopped.is_some() && area.height > 1)
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let Some(reason) = &state.audit_stopped else {
        return;
    };
    // The consequence stays in view; a long reason is cut to leave room for it.
    const HEAD: &str = "audit log stopped: ";
    const TAIL: &str = " — changes are refused; q quits";
    let width = usize::from(area.width);
    let room = width.saturating_sub(HEAD.chars().count() + TAIL.chars().count());
    let text = if room >= 20 {
        format!("{HEAD}{}{TAIL}", truncate(reason, room))
    } else {
        truncate(&format!("{HEAD}{reason}{TAIL}"), width)
    };
    frame.render_widget(
        Paragraph::new(Line::from(text)).style(super::theme::alarm()),
        area,
    );
}
