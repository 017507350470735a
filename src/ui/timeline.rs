//! Pane 4: the runbook as phases and steps, with status, owner and due time relative to T.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Pane, State};
use crate::plan::{Phase, StepStatus};

use super::rows::{self, StepRow};
use super::theme;
use super::widgets::{self, List, Window};

/// Inner widths from which the owner and the absolute due time get a column.
const OWNER_MIN_WIDTH: u16 = 46;
const DUE_AT_MIN_WIDTH: u16 = 56;

enum Entry<'a> {
    Phase(&'a Phase),
    Step(StepRow<'a>),
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    // Phases appear as header rows above their (filtered) steps; the selection counts steps only.
    let mut entries = Vec::new();
    let mut selected_entry = None;
    let selected_step = state.view(Pane::Timeline).selected;
    let mut last_phase: Option<&str> = None;
    for (step_index, row) in rows::step_rows(state).enumerate() {
        if last_phase != Some(row.phase.id.as_str()) {
            last_phase = Some(row.phase.id.as_str());
            entries.push(Entry::Phase(row.phase));
        }
        if step_index <= selected_step {
            // Clamped: a selection past the end lands on the last step.
            selected_entry = Some(entries.len());
        }
        entries.push(Entry::Step(row));
    }

    let height = widgets::list_height(area, 0);
    let window = match selected_entry {
        Some(sel) if height > 0 => {
            let start = rows::window_start(sel, height);
            Window {
                start,
                len: height.min(entries.len() - start),
                selected: Some(sel - start),
            }
        }
        _ => Window {
            start: 0,
            len: 0,
            selected: None,
        },
    };

    let inner_w = area.width.saturating_sub(2);
    let with_owner = inner_w >= OWNER_MIN_WIDTH;
    let with_due_at = state.cutover_at.is_some() && inner_w >= DUE_AT_MIN_WIDTH;
    let visible = &entries[window.start..window.start + window.len];
    let owner_w = visible
        .iter()
        .filter_map(|e| match e {
            Entry::Step(s) => Some(s.step.owner.chars().count()),
            Entry::Phase(_) => None,
        })
        .max()
        .unwrap_or(5)
        .clamp(5, 15) as u16;
    let mut widths = vec![Constraint::Length(3), Constraint::Fill(1)];
    let mut header = vec!["", "Step"];
    if with_owner {
        widths.push(Constraint::Length(owner_w));
        header.push("Owner");
    }
    widths.push(Constraint::Length(6));
    header.push("Due");
    if with_due_at {
        widths.push(Constraint::Length(11));
        header.push("UTC");
    }

    let table_rows = visible
        .iter()
        .map(|e| match e {
            Entry::Phase(p) => {
                Row::new([Cell::from(""), Cell::from(p.title.as_str())]).style(theme::phase())
            }
            Entry::Step(s) => step_row(state, s, with_owner, with_due_at),
        })
        .collect();
    let empty = if state.runbook.phases.is_empty() {
        "no runbook loaded"
    } else {
        "no steps"
    };
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Timeline,
        List {
            top: Vec::new(),
            header: Row::new(header),
            widths: &widths,
            rows: table_rows,
            window,
            empty,
        },
    );
}

fn step_row(state: &State, s: &StepRow<'_>, with_owner: bool, with_due_at: bool) -> Row<'static> {
    let [marker, title, owner, due, due_at] = s.cells(state);
    let marker_style = match s.status {
        StepStatus::Pending => Style::new(),
        StepStatus::InProgress => theme::warn(),
        StepStatus::Done => theme::ok(),
        StepStatus::Skipped => theme::dim(),
    };
    // Open steps past their due time are red; due within a day, yellow.
    let open = matches!(s.status, StepStatus::Pending | StepStatus::InProgress);
    let due_style = match rows::due_at(state, s.step) {
        Some(at) if open && at < state.now => theme::error(),
        Some(at) if open && (at - state.now).whole_hours() < 24 => theme::warn(),
        _ => Style::new(),
    };
    let mut cells = vec![Cell::from(marker).style(marker_style), Cell::from(title)];
    if with_owner {
        cells.push(Cell::from(owner).style(theme::dim()));
    }
    cells.push(Cell::from(due).style(due_style));
    if with_due_at {
        cells.push(Cell::from(due_at).style(due_style));
    }
    let row = Row::new(cells);
    if s.status == StepStatus::Skipped {
        row.style(theme::dim())
    } else {
        row
    }
}
