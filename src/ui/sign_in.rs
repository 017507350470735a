//! The device-code sign-in dialog: the code and the address to enter it at, over the middle of
//! the screen while a tenant waits for a person to approve.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph, Wrap};

use crate::app::state::SignInDialog;

use super::theme;

/// `after`: how many other sign-ins wait behind this one (each shows once this one ends).
pub fn render(frame: &mut Frame, area: Rect, dialog: &SignInDialog, after: usize) {
    let mut lines = vec![
        Line::from(format!(
            "The {} tenant asks for a sign-in to {}.",
            dialog.tenant.as_str(),
            dialog.service.label()
        )),
        Line::from(""),
        Line::from("To sign in, open"),
        Line::styled(format!("  {}", dialog.verification_uri), theme::prompt()),
        Line::from(vec![
            Span::raw("and enter the code "),
            Span::styled(dialog.user_code.clone(), theme::prompt()),
            Span::raw(" "),
        ]),
        Line::styled(
            format!(
                "(valid {} min; the dashboard goes on once approved)",
                dialog.expires_in / 60
            ),
            theme::dim(),
        ),
    ];
    if after > 0 {
        lines.push(Line::styled(
            format!(
                "{after} more sign-in{} waiting after this one",
                if after == 1 { "" } else { "s" }
            ),
            theme::dim(),
        ));
    }
    let text_w = lines.iter().map(Line::width).max().unwrap_or(0) as u16;
    // Border (2) + padding (2).
    let width = (text_w + 4).min(area.width);
    let height = (lines.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Line::styled(" Sign in ", theme::title(true)))
        .title_bottom(
            Line::styled(" Esc cancels this sign-in · q quits ", theme::dim()).right_aligned(),
        )
        .padding(Padding::horizontal(1));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
}
