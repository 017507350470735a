//! The help overlay: every key from [`KEY_HELP`], in a box over the middle of the screen.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Clear, Row, Table};

use crate::app::keys::KEY_HELP;

use super::theme;

pub fn render(frame: &mut Frame, area: Rect) {
    let key_w = KEY_HELP
        .iter()
        .map(|(k, _)| super::widgets::width(k))
        .max()
        .unwrap_or(0) as u16;
    let text_w = KEY_HELP
        .iter()
        .map(|(_, t)| super::widgets::width(t))
        .max()
        .unwrap_or(0) as u16;
    // Border (2) + padding (2) + gap (2).
    let width = (key_w + text_w + 6).min(area.width);
    let height = (KEY_HELP.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let rows = KEY_HELP
        .iter()
        .map(|(k, t)| Row::new([Cell::from(*k).style(theme::prompt()), Cell::from(*t)]));
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Line::styled(" Keys ", theme::title(true)))
        .title_bottom(Line::styled(" ? or Esc closes ", theme::dim()).right_aligned())
        .padding(ratatui::widgets::Padding::horizontal(1));
    let table = Table::new(rows, [Constraint::Length(key_w), Constraint::Fill(1)])
        .column_spacing(2)
        .block(block);
    frame.render_widget(Clear, rect);
    frame.render_widget(table, rect);
}
