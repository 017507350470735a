//! Pane 4: the runbook as phases and steps, with status, owner and due time relative to T.
//!
//! Drawn as lines rather than a table so that phase headings can use the full width.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use time::OffsetDateTime;

use crate::app::state::{Pane, State};
use crate::app::timeline::Observed;
use crate::plan::Phase;
use crate::timeline::StepState;
use crate::timeline::status::{countdown, span};

use super::rows::{self, StepRow};
use super::theme;
use super::widgets::{self, pad};

/// The step title keeps at least this much room before owner and date columns are shown.
const TITLE_MIN: usize = 20;
const DUE_W: usize = 6;
const DUE_AT_W: usize = 11;
/// `overdue 23h 59m`, `done by hand`.
const STATE_W: usize = 16;

enum Entry<'a> {
    Phase(&'a Phase),
    Step(StepRow<'a>),
    /// Something observed, where it happened.
    Event(&'a Observed),
    /// The current time among the steps.
    Now,
}

/// Which optional columns fit, and how wide the columns are.
struct Columns {
    prefix: usize,
    title: usize,
    owner: Option<usize>,
    due_at: bool,
    status: bool,
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let mut block = widgets::pane_block(state, Pane::Timeline);
    // T and where it came from, on the right of the border; until the admin sets it, say so.
    let title_w = widgets::width(&format!(" ▶ 4 {} ", Pane::Timeline.title()));
    let room = usize::from(area.width).saturating_sub(title_w + 3);
    let t_text = cutover_label(state, room);
    if !t_text.0.is_empty() {
        block = block.title_top(Line::styled(t_text.0, t_text.1).right_aligned());
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height == 0 || inner.width == 0 {
        return;
    }
    let focused = state.focus == Pane::Timeline;

    // Phases are heading lines above their (filtered) steps; the selection counts steps only.
    // With T set and no filter, observed events and a "now" line sit where they happened.
    let placed = state.cutover_at.is_some() && state.view(Pane::Timeline).filter.is_empty();
    let mut events = state.timeline.events.iter().peekable();
    let mut now_shown = !placed;
    let mut entries = Vec::new();
    let mut selected_entry = None;
    let selected_step = state.view(Pane::Timeline).selected;
    let mut last_phase: Option<&str> = None;
    for (step_index, row) in rows::step_rows(state).enumerate() {
        if last_phase != Some(row.phase.id.as_str()) {
            if placed && row.phase.contingency {
                // What happened after the last planned step, before the back-out plan.
                place_until(&mut entries, &mut events, &mut now_shown, None, state.now);
            }
            last_phase = Some(row.phase.id.as_str());
            entries.push(Entry::Phase(row.phase));
        }
        if placed && !row.phase.contingency {
            let due = row.view.and_then(|v| v.due_at);
            place_until(&mut entries, &mut events, &mut now_shown, due, state.now);
        }
        if step_index <= selected_step {
            // Clamped: a selection past the end lands on the last step.
            selected_entry = Some(entries.len());
        }
        entries.push(Entry::Step(row));
    }
    if placed {
        place_until(&mut entries, &mut events, &mut now_shown, None, state.now);
    }

    let height = usize::from(inner.height) - 1; // below the column header
    let start = selected_entry.map_or(0, |sel| rows::window_start(sel, height));
    let end = (start + height).min(entries.len());
    let visible = entries.get(start..end).unwrap_or_default();

    let owner_need = visible
        .iter()
        .filter_map(|e| match e {
            Entry::Step(s) => Some(widgets::width(&s.step.owner)),
            _ => None,
        })
        .max()
        .unwrap_or(0)
        .clamp(5, 15);
    let cols = columns(
        usize::from(inner.width),
        usize::from(focused),
        owner_need,
        state.cutover_at.is_some(),
    );

    let mut lines = vec![header(&cols)];
    if visible.is_empty() {
        let text = if !state.view(Pane::Timeline).filter.is_empty() {
            "no rows match the filter"
        } else if state.runbook.phases.is_empty() {
            "no runbook loaded"
        } else {
            "no steps"
        };
        lines.push(Line::styled(text, theme::dim()));
    }
    for (i, entry) in visible.iter().enumerate() {
        let selected = focused && selected_entry == Some(start + i);
        let mut line = match entry {
            Entry::Phase(p) => Line::from(vec![
                Span::raw(" ".repeat(cols.prefix)),
                Span::styled(p.title.clone(), theme::phase()),
            ]),
            Entry::Step(s) => step_line(state, s, &cols, selected),
            Entry::Event(e) => Line::from(vec![
                Span::raw(" ".repeat(cols.prefix + 1)),
                Span::styled(
                    widgets::truncate(
                        &format!("{} ◆ {}", rows::local_hm(e.at), e.text),
                        usize::from(inner.width).saturating_sub(cols.prefix + 1),
                    ),
                    theme::dim(),
                ),
            ]),
            Entry::Now => {
                let label = format!("── now {} ", rows::local_hm(state.now));
                let rest = usize::from(inner.width)
                    .saturating_sub(widgets::width(&label) + cols.prefix + 1);
                Line::from(vec![
                    Span::raw(" ".repeat(cols.prefix + 1)),
                    Span::styled(format!("{label}{}", "─".repeat(rest)), theme::warn()),
                ])
            }
        };
        if selected {
            line = line.style(theme::selected(true));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

/// Title first; then the absolute due time (when T is set); then the owner, if room is left.
/// ` T 2026-12-05 18:00 UTC (config) `, without the year when that does not fit, then without
/// where it came from (except for the demo's own T, which always says so); ` T not set · t sets
/// it ` while the admin has not given one.
fn cutover_label(state: &State, room: usize) -> (String, Style) {
    use crate::plan::CutoverSource;
    let fits = |s: &String| widgets::width(s) <= room;
    let Some(at) = state.cutover_at else {
        let style = theme::warn();
        return [" T not set · t sets it ", " T not set "]
            .into_iter()
            .map(str::to_string)
            .find(fits)
            .map_or((String::new(), style), |s| (s, style));
    };
    let when = crate::plan::cutover_time::format_cutover(at);
    // `2026-12-05 18:00 UTC` → `12-05 18:00 UTC`
    let short_when = when.get(5..).unwrap_or(&when).to_string();
    let from = state.cutover_from.map(|f| format!(" ({})", f.label()));
    let from = from.as_deref().unwrap_or("");
    let to_t = countdown(at, state.now);
    let mut forms = vec![
        format!(" T {when}{from} · {to_t} "),
        format!(" T {short_when}{from} · {to_t} "),
        format!(" T {when}{from} "),
        format!(" T {short_when}{from} "),
    ];
    if state.cutover_from != Some(CutoverSource::Demo) {
        forms.push(format!(" T {short_when} "));
    }
    let style = theme::header();
    forms
        .into_iter()
        .find(fits)
        .map_or((String::new(), style), |s| (s, style))
}

fn columns(inner: usize, prefix: usize, owner_need: usize, has_t: bool) -> Columns {
    // prefix, next, marker, gap, title, gap, due; then, as room allows, the status (countdown),
    // the local due time and the owner.
    let mut rest = inner.saturating_sub(prefix + 1 + 3 + 1 + 1 + DUE_W);
    let status = rest >= TITLE_MIN + 1 + STATE_W;
    if status {
        rest -= 1 + STATE_W;
    }
    let due_at = has_t && rest >= TITLE_MIN + 1 + DUE_AT_W;
    if due_at {
        rest -= 1 + DUE_AT_W;
    }
    let owner = (rest >= TITLE_MIN + 1 + owner_need).then_some(owner_need);
    if let Some(w) = owner {
        rest -= 1 + w;
    }
    Columns {
        prefix,
        title: rest,
        owner,
        due_at,
        status,
    }
}

fn header(cols: &Columns) -> Line<'static> {
    let mut text = format!(
        "{}     {}",
        " ".repeat(cols.prefix),
        pad("Step", cols.title)
    );
    if let Some(w) = cols.owner {
        text.push(' ');
        text.push_str(&pad("Owner", w));
    }
    text.push(' ');
    text.push_str(&pad("Due", DUE_W));
    if cols.due_at {
        text.push(' ');
        text.push_str(&pad("Local", DUE_AT_W));
    }
    if cols.status {
        text.push(' ');
        text.push_str("Status");
    }
    Line::styled(text, theme::header())
}

fn step_line(state: &State, s: &StepRow<'_>, cols: &Columns, selected: bool) -> Line<'static> {
    let [marker, title, owner, due, due_at, _] = s.cells(state);
    let st = s.state();
    let marker_style = match st {
        None | Some(StepState::Pending | StepState::Contingency) => Style::new(),
        Some(StepState::Due) => theme::warn(),
        Some(StepState::Overdue(_) | StepState::Failed { .. }) => theme::error(),
        Some(StepState::DoneByGate(_) | StepState::DoneByHand { .. }) => theme::ok(),
        Some(StepState::Skipped { .. }) => theme::dim(),
    };
    let (state_text, state_style) = state_cell(state, s);
    let text_style = if matches!(st, Some(StepState::Skipped { .. })) {
        theme::dim()
    } else {
        Style::new()
    };
    let prefix = if selected { "›" } else { " " };
    let next = state.timeline.next == Some(s.index);
    let mut title = title;
    if s.step.optional {
        title.push_str(" (optional)");
    }
    let mut spans = vec![
        Span::raw(prefix.repeat(cols.prefix)),
        Span::styled(if next { "▸" } else { " " }, theme::warn()),
        Span::styled(marker, marker_style),
        Span::raw(" "),
        Span::styled(pad(&title, cols.title), text_style),
    ];
    if let Some(w) = cols.owner {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(pad(&owner, w), theme::dim()));
    }
    spans.push(Span::raw(" "));
    spans.push(Span::styled(pad(&due, DUE_W), Style::new()));
    if cols.due_at {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(pad(&due_at, DUE_AT_W), Style::new()));
    }
    if cols.status {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(pad(&state_text, STATE_W), state_style));
    }
    Line::from(spans)
}

/// The status column: a countdown for open steps, when and how for closed ones.
pub fn state_cell(state: &State, s: &StepRow<'_>) -> (String, Style) {
    let due = s.view.and_then(|v| v.due_at);
    match s.state() {
        None => (String::new(), Style::new()),
        Some(StepState::Pending) => match due {
            Some(at) => (countdown(at, state.now), theme::dim()),
            None => ("pending".into(), theme::dim()),
        },
        Some(StepState::Due) => match due {
            Some(at) => (countdown(at, state.now), theme::warn()),
            None => ("due".into(), theme::warn()),
        },
        Some(StepState::Overdue(by)) => (format!("overdue {}", span(*by)), theme::error()),
        Some(StepState::DoneByGate(at)) => (
            at.map_or("done (gate)".into(), |at| {
                format!("gate {}", rows::local_hm(at))
            }),
            theme::ok(),
        ),
        Some(StepState::DoneByHand { at, .. }) => (
            at.map_or("done".into(), |at| format!("done {}", rows::local_hm(at))),
            theme::ok(),
        ),
        Some(StepState::Skipped { .. }) => ("skipped".into(), theme::dim()),
        Some(StepState::Failed { .. }) => ("failed".into(), theme::error()),
        Some(StepState::Contingency) => ("if backing out".into(), theme::dim()),
    }
}

/// Push the events that happened by `until` (all of them: `None`), and the "now" line when
/// its time has come, in time order.
fn place_until<'a>(
    entries: &mut Vec<Entry<'a>>,
    events: &mut std::iter::Peekable<std::slice::Iter<'a, Observed>>,
    now_shown: &mut bool,
    until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) {
    loop {
        let next_event = events.peek().map(|e| e.at);
        let now_due = !*now_shown && until.is_none_or(|u| now <= u);
        match next_event.filter(|at| until.is_none_or(|u| *at <= u)) {
            Some(at) if !now_due || at <= now => {
                if let Some(e) = events.next() {
                    entries.push(Entry::Event(e));
                }
            }
            _ if now_due => {
                entries.push(Entry::Now);
                *now_shown = true;
            }
            _ => return,
        }
    }
}
