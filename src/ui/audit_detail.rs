//! The detail view of one Audit entry (Enter on the Audit pane): every field, before/after as
//! a line diff, the Microsoft request id, and the chain hashes.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use crate::app::state::State;
use crate::audit::Record;

use super::{rows, theme, widgets};

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let rect = widgets::overlay_rect(area);
    let lines = match rows::selected_audit(state) {
        Some(r) => lines(r),
        None => vec![Line::styled("no entry selected", theme::dim())],
    };
    let block = Block::bordered()
        .border_style(theme::border(true))
        .title(Line::styled(" Audit entry ", theme::title(true)))
        .title_bottom(
            Line::styled(" Esc closes · Up/Down next entry ", theme::dim()).right_aligned(),
        )
        .padding(ratatui::widgets::Padding::horizontal(1));
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        rect,
    );
}

fn field(name: &str, value: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<11}"), theme::header()),
        Span::raw(value.into()),
    ])
}

fn lines(r: &Record) -> Vec<Line<'static>> {
    let e = &r.event;
    let none = || "–".to_string();
    let operator = match &r.upn {
        Some(upn) => format!("{} ({upn})", r.operator),
        None => r.operator.clone(),
    };
    let mut out = vec![
        field("line", r.seq.to_string()),
        field("time", r.ts.clone()),
        field("kind", e.kind.as_str()),
        field("operator", operator),
        field("tenant", e.tenant.clone().unwrap_or_else(none)),
        field("target", e.target.clone().unwrap_or_else(none)),
        field("action", e.action.clone()),
        field("result", e.result.clone().unwrap_or_else(none)),
        field("request id", e.request_id.clone().unwrap_or_else(none)),
        Line::default(),
        Line::styled("before → after", theme::header()),
    ];
    if e.before.is_none() && e.after.is_none() {
        out.push(Line::styled("  (no change recorded)", theme::dim()));
    } else {
        for (tag, text) in diff(&pretty(e.before.as_ref()), &pretty(e.after.as_ref())) {
            let style = match tag {
                '-' => theme::error(),
                '+' => theme::ok(),
                _ => theme::dim(),
            };
            out.push(Line::styled(format!("{tag} {text}"), style));
        }
    }
    if !e.details.is_null() {
        out.push(Line::default());
        out.push(Line::styled("details", theme::header()));
        out.extend(
            pretty(Some(&e.details))
                .into_iter()
                .map(|l| Line::raw(format!("  {l}"))),
        );
    }
    out.push(Line::default());
    out.push(field("prev", r.prev.clone()));
    out.push(field("hash", r.hash.clone()));
    out
}

/// Pretty JSON split into lines; nothing for an absent value.
fn pretty(v: Option<&serde_json::Value>) -> Vec<String> {
    v.map(|v| {
        serde_json::to_string_pretty(v)
            .unwrap_or_else(|_| v.to_string())
            .lines()
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// Line diff by longest common subsequence: `' '` kept, `'-'` only before, `'+'` only after.
/// Values are small (a record's fields), so the quadratic table is fine.
pub fn diff(a: &[String], b: &[String]) -> Vec<(char, String)> {
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(n + m);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            out.push((' ', a[i].clone()));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removed lines first, as unified diffs show them.
            out.push(('-', a[i].clone()));
            i += 1;
        } else {
            out.push(('+', b[j].clone()));
            j += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn diff_marks_removed_and_added_lines() {
        let d = diff(
            &v(&["{", "a: 1", "b: 2", "}"]),
            &v(&["{", "b: 2", "c: 3", "}"]),
        );
        let tags: String = d.iter().map(|(t, _)| *t).collect();
        assert_eq!(tags, " - + ");
        assert_eq!(d[1], ('-', "a: 1".to_string()));
        assert_eq!(d[3], ('+', "c: 3".to_string()));
        assert_eq!(diff(&[], &v(&["300"])), vec![('+', "300".to_string())]);
    }
}
