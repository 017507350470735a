//! Rendering: a pure function of [`crate::app::State`].

use ratatui::Frame;

use crate::app::State;

/// Draw the whole dashboard.
pub fn render(frame: &mut Frame, state: &State) {
    let _ = (frame, state);
}
