//! The help overlay: the key table of the keymap in effect ([`crate::app::keys::active`]), in
//! a box over the middle of the screen. README's key table is the same table.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Clear, Row, Table};

use crate::app::keys::{Context, active};

use super::theme;

pub fn render(frame: &mut Frame, area: Rect, scroll: usize) {
    let keymap = active();
    let help = keymap.help_rows();
    let key_w = help
        .iter()
        .map(|(k, _)| super::widgets::width(k))
        .max()
        .unwrap_or(0) as u16;
    let text_w = help
        .iter()
        .map(|(_, t)| super::widgets::width(t))
        .max()
        .unwrap_or(0) as u16;
    // Border (2) + padding (2) + gap (2).
    let width = (key_w + text_w + 6).min(area.width);
    let height = (help.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    // On a small screen the table scrolls; the bottom line says how much is below.
    let room = usize::from(height.saturating_sub(2));
    let scroll = scroll.min(help.len().saturating_sub(room));
    let below = help.len().saturating_sub(scroll + room);
    let closes = if below > 0 {
        format!(
            " {below} more: {} · {} closes ",
            keymap.keys_of(Context::Help, "down"),
            keymap.keys_of(Context::Help, "close")
        )
    } else {
        format!(" {} closes ", keymap.keys_of(Context::Help, "close"))
    };
    let rows = help
        .into_iter()
        .skip(scroll)
        .map(|(k, t)| Row::new([Cell::from(k).style(theme::prompt()), Cell::from(t)]));
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Line::styled(" Keys ", theme::title(true)))
        .title_bottom(Line::styled(closes, theme::dim()).right_aligned())
        .padding(ratatui::widgets::Padding::horizontal(1));
    let table = Table::new(rows, [Constraint::Length(key_w), Constraint::Fill(1)])
        .column_spacing(2)
        .block(block);
    frame.render_widget(Clear, rect);
    frame.render_widget(table, rect);
}
