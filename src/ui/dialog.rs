//! The workbench's dialogs over the middle of the screen: the preview of the selection's
//! changes (`p`) and the confirmation before a run (`a`, `r`, `u`), which asks for the domain
//! to be typed when more than one object would change.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Padding, Paragraph};

use crate::app::keys::{Context, active};
use crate::app::state::{State, TenantId};
use crate::app::workbench::{Confirm, Dialog, RunKind};

use super::theme;
use super::widgets::{truncate, wrap};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    match &state.workbench.dialog {
        Some(Dialog::Preview {
            title,
            lines,
            scroll,
        }) => preview(frame, area, title, lines, *scroll),
        Some(Dialog::Confirm(c)) => confirm(frame, area, state, c),
        None => {}
    }
}

/// Nine tenths of the screen, centred: the lines are long (addresses, cmdlets).
fn boxed(area: Rect, lines: usize) -> Rect {
    let width = (area.width.saturating_mul(9) / 10).max(area.width.min(40));
    let height = (lines as u16 + 2).min(area.height.saturating_sub(2).max(3));
    Rect {
        x: area.x + (area.width.saturating_sub(width)) / 2,
        y: area.y + (area.height.saturating_sub(height)) / 2,
        width,
        height,
    }
}

fn preview(frame: &mut Frame, area: Rect, title: &str, lines: &[String], scroll: usize) {
    // Whole lines, wrapped: the preview is the exact change, never cut. The box is sized by
    // the rows the lines wrap to (border 2 + padding 2 around the text).
    let text_w = usize::from(boxed(area, 1).width.saturating_sub(4)).max(1);
    let wrapped: Vec<Vec<String>> = lines.iter().map(|l| wrap(l, text_w)).collect();
    let rect = boxed(area, wrapped.iter().map(Vec::len).sum::<usize>().max(1));
    let room = usize::from(rect.height.saturating_sub(2));
    // Whole changes from `scroll` while they fit (at least the first, cut if it must be);
    // the rest is counted below the box.
    let mut used = 0;
    let fit = wrapped
        .iter()
        .skip(scroll)
        .take_while(|rows| {
            used += rows.len();
            used <= room
        })
        .count()
        .max(1);
    let shown: Vec<Line> = if lines.is_empty() {
        vec![Line::styled(
            "no planned change for this selection",
            theme::dim(),
        )]
    } else {
        wrapped
            .iter()
            .skip(scroll)
            .take(fit)
            .flatten()
            .map(|row| Line::from(row.clone()))
            .collect()
    };
    let keys = active();
    let more = if scroll + fit < lines.len() {
        format!(" {} more · ", lines.len() - scroll - fit)
    } else {
        " ".to_string()
    };
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Line::styled(
            format!(" Preview: {title} "),
            theme::title(true),
        ))
        .title_bottom(
            Line::styled(
                format!(
                    "{more}{} scroll · {} closes ",
                    keys.keys_of(Context::Preview, "down"),
                    keys.keys_of(Context::Preview, "close")
                ),
                theme::dim(),
            )
            .right_aligned(),
        )
        .padding(Padding::horizontal(1));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(shown).block(block), rect);
}

fn confirm(frame: &mut Frame, area: Rect, state: &State, c: &Confirm) {
    let verb = match c.kind {
        RunKind::Apply => "Apply",
        RunKind::Retry => "Retry",
        RunKind::Undo => "Undo",
    };
    // The tenant the changes write to (the adopt plan's are the destination's; DNS and the
    // wait for the other tenant's release do not name it).
    let tenant = c
        .changes
        .iter()
        .map(|c| c.tenant.as_str())
        .find(|t| *t == "destination")
        .unwrap_or("source");
    let mut head = vec![Line::from(vec![
        Span::styled(
            format!(
                "{verb} {} change{} to {} object{} in the {tenant} tenant",
                c.changes.len(),
                if c.changes.len() == 1 { "" } else { "s" },
                c.objects,
                if c.objects == 1 { "" } else { "s" },
            ),
            theme::prompt(),
        ),
        Span::raw(if state.workbench.read_only {
            " (read-only: nothing is sent)"
        } else {
            ""
        }),
    ])];
    // Said before anything is sent: Microsoft may refuse a partner's technician some of it.
    let id = if tenant == "destination" {
        TenantId::Destination
    } else {
        TenantId::Source
    };
    if let Some(other) = state
        .tenant(id)
        .snapshot
        .as_ref()
        .and_then(|s| s.signed_in_from.as_ref())
    {
        let said = format!(
            "Signed in as a user of another tenant ({}): Microsoft may refuse a partner some of these",
            other.home
        );
        // Wrapped, not cut: the box's width depends on the screen alone.
        let width = usize::from(boxed(area, 0).width.saturating_sub(4));
        head.extend(
            wrap(&said, width)
                .into_iter()
                .map(|l| Line::styled(l, theme::warn())),
        );
    }
    let keys = active();
    let accept = keys.keys_of(Context::Confirm, "accept");
    let cancel = keys.keys_of(Context::Confirm, "cancel");
    let ask = match &c.typed {
        Some(t) => Line::from(vec![
            Span::raw(format!("Type {} and {accept} to go on: ", state.domain)),
            Span::styled(t.clone(), theme::prompt()),
            Span::styled("▏", theme::prompt()),
        ]),
        None => Line::from(format!("{accept} sends it · {cancel} cancels")),
    };
    // The changes, as many as fit; the box keeps room for the question.
    let room = usize::from(area.height.saturating_sub(8)).max(1);
    let rect = boxed(area, c.lines.len().min(room) + head.len() + 3);
    let inner_w = usize::from(rect.width.saturating_sub(4));
    head.push(Line::from(""));
    for l in c.lines.iter().take(room) {
        head.push(Line::from(truncate(l, inner_w)));
    }
    // Lines not shown: those that did not fit, and the changes never put into words.
    let unworded = c
        .changes
        .len()
        .saturating_sub(crate::app::cleanup::CONFIRM_LINES);
    let hidden = c.lines.len().saturating_sub(room) + unworded;
    if hidden > 0 {
        head.push(Line::styled(
            format!("… and {hidden} more (p previews them)"),
            theme::dim(),
        ));
    }
    head.push(ask);
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Line::styled(format!(" {verb}? "), theme::title(true)))
        .title_bottom(Line::styled(format!(" {cancel} cancels "), theme::dim()).right_aligned())
        .padding(Padding::horizontal(1));
    frame.render_widget(Clear, rect);
    frame.render_widget(Paragraph::new(head).block(block), rect);
}
