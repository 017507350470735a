//! Pieces the panes share: the numbered, focus-aware block, the scrolled list table, column
//! sharing and truncation.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, HighlightSpacing, Paragraph, Row, Table, TableState};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use crate::app::state::{Pane, State};

use super::{rows, theme};

/// ` 3 Users and aliases [/smith] `; the focused pane is highlighted and marked `▶` so focus
/// is visible without colour too (monochrome terminals, screen readers, captured text).
pub fn pane_block(state: &State, pane: Pane) -> Block<'static> {
    let focused = state.focus == pane;
    let filter = &state.view(pane).filter;
    let marker = if focused { "▶ " } else { "" };
    let mut title = format!(" {marker}{} {} ", pane.index() + 1, pane.title());
    if !filter.is_empty() {
        title.push_str(&format!("[/{filter}] "));
    }
    Block::bordered()
        .border_style(theme::border(focused))
        .title(Line::from(Span::styled(title, theme::title(focused))))
}

/// The slice of a list that fits: which rows to build and where the selection is among them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub len: usize,
    /// Index of the selected row inside the window.
    pub selected: Option<usize>,
}

impl Window {
    /// `count` rows, `height` lines to show them in, selection from the pane's view (clamped,
    /// since the list may have shrunk since the reducer last saw it).
    pub fn new(state: &State, pane: Pane, count: usize, height: usize) -> Window {
        if count == 0 || height == 0 {
            return Window {
                start: 0,
                len: 0,
                selected: None,
            };
        }
        let selected = state.view(pane).selected.min(count - 1);
        let start = rows::window_start(selected, height);
        Window {
            start,
            len: height.min(count - start),
            selected: Some(selected - start),
        }
    }
}

/// What a list pane draws inside its border.
pub struct List<'a> {
    /// Lines above the table (a count, an error).
    pub top: Vec<Line<'a>>,
    pub header: Row<'a>,
    pub widths: &'a [Constraint],
    /// Only the window's rows.
    pub rows: Vec<Row<'a>>,
    pub window: Window,
    /// Shown in grey when there are no rows at all.
    pub empty: &'a str,
}

/// Lines inside a list pane that the rows can use, given how many lines sit above the table.
pub fn list_height(area: Rect, top_lines: usize) -> usize {
    super::layout::inner_height(area).saturating_sub(top_lines + 1)
}

/// A list pane: block, top lines, header, the window's rows with the selection marked when
/// focused, and a grey line in place of the rows when there are none.
pub fn render_list(frame: &mut Frame, area: Rect, state: &State, pane: Pane, list: List<'_>) {
    let focused = state.focus == pane;
    let block = pane_block(state, pane);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let top_h = (list.top.len() as u16).min(inner.height);
    let top = Rect {
        height: top_h,
        ..inner
    };
    let body = Rect {
        y: inner.y + top_h,
        height: inner.height - top_h,
        ..inner
    };
    frame.render_widget(Paragraph::new(list.top), top);
    let table = Table::new(list.rows, list.widths.iter().copied())
        .header(list.header.style(theme::header()))
        .column_spacing(1)
        .row_highlight_style(theme::selected(focused))
        .highlight_symbol("›")
        .highlight_spacing(HighlightSpacing::WhenSelected);
    let mut table_state = TableState::new().with_selected(list.window.selected.filter(|_| focused));
    frame.render_stateful_widget(table, body, &mut table_state);
    if list.window.len == 0 && body.height > 1 {
        let line = Rect {
            y: body.y + 1,
            height: 1,
            x: body.x + 1,
            width: body.width.saturating_sub(1),
        };
        let text = if state.view(pane).filter.is_empty() {
            list.empty
        } else {
            "no rows match the filter"
        };
        frame.render_widget(Paragraph::new(Span::styled(text, theme::dim())), line);
    }
}

/// Split `total` between two columns: each gets what it needs when both fit; otherwise the
/// narrower keeps its need up to half and the wider gets the rest.
pub fn share_width(total: u16, a: u16, b: u16) -> [u16; 2] {
    if a.saturating_add(b) <= total {
        return [a, total - a];
    }
    let half = total / 2;
    if a <= half {
        [a, total - a]
    } else if b <= half {
        [total - b, b]
    } else {
        [half, total - half]
    }
}

/// Terminal cells `text` takes: a CJK character two, a combining mark none. Column widths
/// are measured with this, never with a count of characters or bytes.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// At most `width` terminal cells, with `…` when cut; never splits a character.
pub fn truncate(text: &str, width: usize) -> String {
    if self::width(text) <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// `text` in rows of at most `width` cells, broken between words, a word longer than a row
/// broken between characters; at least one row. The dialogs size and scroll by these rows.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    let mut row = String::new();
    let mut used = 0;
    for word in text.split(' ') {
        let w = self::width(word);
        let gap = usize::from(!row.is_empty());
        if used + gap + w <= width {
            if gap == 1 {
                row.push(' ');
            }
            row.push_str(word);
            used += gap + w;
            continue;
        }
        if !row.is_empty() {
            rows.push(std::mem::take(&mut row));
            used = 0;
        }
        for c in word.chars() {
            let cw = UnicodeWidthChar::width(c).unwrap_or(0);
            if used + cw > width {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            row.push(c);
            used += cw;
        }
    }
    if !row.is_empty() || rows.is_empty() {
        rows.push(row);
    }
    rows
}

/// `text` cut to `width` cells and padded with spaces to exactly `width` cells (`format!`'s
/// padding counts characters, which misaligns wide ones).
pub fn pad(text: &str, width: usize) -> String {
    let mut out = truncate(text, width);
    let used = self::width(&out);
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// The rectangle of a centred overlay (details views): up to 100 columns, 4 rows of margin.
pub fn overlay_rect(area: Rect) -> Rect {
    let width = area.width.saturating_sub(8).clamp(20.min(area.width), 100);
    let height = area.height.saturating_sub(4).max(area.height.min(6));
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_share_fairly() {
        assert_eq!(share_width(40, 10, 12), [10, 30]);
        assert_eq!(share_width(30, 10, 40), [10, 20]);
        assert_eq!(share_width(30, 40, 8), [22, 8]);
        assert_eq!(share_width(30, 40, 40), [15, 15]);
        assert_eq!(share_width(0, 4, 4), [0, 0]);
    }

    #[test]
    fn truncates_with_ellipsis() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
        assert_eq!(truncate("abc", 0), "");
    }

    #[test]
    fn wide_characters_are_measured_in_cells() {
        // 田中太郎 takes eight cells: four characters would overflow a four-cell column.
        assert_eq!(width("田中太郎"), 8);
        assert_eq!(truncate("田中太郎", 8), "田中太郎");
        assert_eq!(truncate("田中太郎", 7), "田中太…");
        assert_eq!(truncate("田中太郎", 6), "田中…");
        assert_eq!(truncate("田中太郎", 1), "…");
        assert!(width(&truncate("Jürgen Müller 田中太郎", 12)) <= 12);
        // A combining mark takes no cell of its own.
        assert_eq!(width("प्रिया"), width(&truncate("प्रिया", 10)));
        assert_eq!(pad("田中", 6), "田中  ");
        assert_eq!(pad("Zoë", 5), "Zoë  ");
        assert_eq!(width(&pad("田中太郎", 5)), 5);
    }
}
