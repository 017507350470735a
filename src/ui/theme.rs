//! Colours and styles, in one place. A calm palette: plain text on the terminal's background,
//! colour only where it carries meaning (focus, ok, warning, error, recent change).

use ratatui::style::{Color, Modifier, Style};

const ACCENT: Color = Color::Cyan;
const MUTED: Color = Color::DarkGray;

pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(ACCENT)
    } else {
        Style::new().fg(MUTED)
    }
}

pub fn title(focused: bool) -> Style {
    if focused {
        Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
    } else {
        Style::new()
    }
}

pub fn header() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// The selected row; fainter when its pane is not focused, so one selection stands out.
pub fn selected(focused: bool) -> Style {
    if focused {
        Style::new().bg(Color::Blue).fg(Color::White)
    } else {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

pub fn ok() -> Style {
    Style::new().fg(Color::Green)
}

pub fn warn() -> Style {
    Style::new().fg(Color::Yellow)
}

pub fn error() -> Style {
    Style::new().fg(Color::Red)
}

pub fn dim() -> Style {
    Style::new().fg(MUTED)
}

/// A DNS row that changed within the last minute.
pub fn changed() -> Style {
    Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

pub fn phase() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

pub fn status_bar() -> Style {
    Style::new()
}

pub fn prompt() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}
