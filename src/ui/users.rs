//! Pane 3: source-tenant users and groups that still reference the domain, with their aliases;
//! the reference inventory's counts per kind, and its contacts, applications and other
//! references as rows.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Row};

use crate::app::state::{Pane, State};
use crate::app::workbench::{RowState, RowWork, Run, RunKind};

use super::rows::{self, DirObject};
use super::theme;
use super::widgets::{self, List, Window, truncate};

/// Below this inner width the mail column goes (it usually repeats the UPN).
const MAIL_MIN_WIDTH: u16 = 100;
const KIND_WIDTH: u16 = 8;
/// Below this width for the text columns the planned change goes (the preview shows it).
const PLANNED_MIN_WIDTH: u16 = 56;

/// One visible row as text.
struct TextRow {
    kind: &'static str,
    name: String,
    mail: String,
    aliases: String,
    selected: bool,
    /// The workbench's planned change and state (empty until a release plan arrived), and the
    /// state in words, made once per visible row.
    work: RowWork,
    state_text: String,
}

pub fn render(frame: &mut Frame, area: Rect, state: &State) {
    let domain = state.domain.as_str();
    let filtered = !state.view(Pane::Users).filter.is_empty();
    // Computed by the reducer when the inventory or the filter changed, not here.
    let count = state.model.users.len();
    let mut top = Line::from(match &state.inventory.holding {
        None => Span::styled("source tenant not yet inventoried", theme::dim()),
        Some(h) if filtered => Span::raw(format!("{count} of {} objects hold {domain}", h.total)),
        Some(h) => Span::raw(format!("{} objects hold {domain}", h.total)),
    });
    let bench = &state.workbench;
    if !bench.selected.is_empty() {
        top.push_span(Span::styled(
            format!(" · {} selected", bench.selected.len()),
            theme::prompt(),
        ));
    }
    if let Some(e) = &bench.plan_error {
        top.push_span(Span::styled(format!(" · no plan: {e}"), theme::error()));
    }

    // A run's progress takes the inventory's line while it lasts and until the next run.
    let inventory = match &bench.run {
        Some(run) => progress_line(run, state.now, area.width.saturating_sub(2)),
        None => inventory_line(state),
    };
    let planned = bench.planned_at.is_some();

    let height = widgets::list_height(area, 2);
    let window = Window::new(state, Pane::Users, count, height);
    // Only the visible rows become text.
    let lines: Vec<TextRow> = rows::directory_window(state, window.start, window.len)
        .map(|o: DirObject<'_>| TextRow {
            kind: o.kind_label(),
            name: o.name().to_string(),
            mail: o.mail().to_string(),
            aliases: o.aliases_joined(),
            selected: bench.selected.contains(&o.0.id),
            work: if planned {
                bench.row(&o.0.id)
            } else {
                RowWork {
                    planned: String::new(),
                    state: RowState::None,
                }
            },
            state_text: String::new(),
        })
        .map(|mut l| {
            l.state_text = l.work.state.text();
            l
        })
        .collect();
    if planned {
        return render_workbench(frame, area, state, [top, inventory], &lines, window);
    }

    let inner_w = area.width.saturating_sub(2);
    let with_mail = inner_w >= MAIL_MIN_WIDTH;
    // Marker column (when focused) and the spaces between columns.
    let chrome = u16::from(state.focus == Pane::Users) + if with_mail { 3 } else { 2 };
    let text_w = inner_w.saturating_sub(KIND_WIDTH + chrome);
    let widest = |f: fn(&TextRow) -> &str, header: &str| {
        let w = lines
            .iter()
            .map(|l| widgets::width(f(l)))
            .max()
            .unwrap_or(0);
        w.max(header.len()).min(usize::from(u16::MAX)) as u16
    };
    let name_need = widest(|l| &l.name, "UPN / name");
    let aliases_need = widest(|l| &l.aliases, "Aliases in domain");

    let (header, widths) = if with_mail {
        let mail_need = widest(|l| &l.mail, "Mail");
        let [name_w, rest] = widgets::share_width(text_w, name_need, mail_need + aliases_need);
        let [mail_w, aliases_w] = widgets::share_width(rest, mail_need, aliases_need);
        (
            Row::new(["Kind", "UPN / name", "Mail", "Aliases in domain"]),
            vec![
                Constraint::Length(KIND_WIDTH),
                Constraint::Length(name_w),
                Constraint::Length(mail_w),
                Constraint::Length(aliases_w),
            ],
        )
    } else {
        let [name_w, aliases_w] = widgets::share_width(text_w, name_need, aliases_need);
        (
            Row::new(["Kind", "UPN / name", "Aliases in domain"]),
            vec![
                Constraint::Length(KIND_WIDTH),
                Constraint::Length(name_w),
                Constraint::Length(aliases_w),
            ],
        )
    };
    // Cut with an ellipsis, so a shortened address never passes for a whole one.
    let fit = |text: &str, i: usize| match widths.get(i) {
        Some(Constraint::Length(w)) => truncate(text, usize::from(*w)),
        _ => text.to_string(),
    };
    let table_rows = lines
        .iter()
        .map(|l| {
            let kind = Cell::from(Span::styled(l.kind, theme::dim()));
            if with_mail {
                Row::new([
                    kind,
                    fit(&l.name, 1).into(),
                    fit(&l.mail, 2).into(),
                    fit(&l.aliases, 3).into(),
                ])
            } else {
                Row::new([kind, fit(&l.name, 1).into(), fit(&l.aliases, 2).into()])
            }
        })
        .collect();
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Users,
        List {
            top: vec![top, inventory],
            header,
            widths: &widths,
            rows: table_rows,
            window,
            empty: if state.source.snapshot.is_none() {
                "waiting for the first poll"
            } else {
                "nothing references the domain"
            },
        },
    );
}

/// The rows with the workbench's columns: selection mark, kind, name, planned change, state
/// (and the aliases when the pane is wide).
fn render_workbench(
    frame: &mut Frame,
    area: Rect,
    state: &State,
    top: [Line<'static>; 2],
    lines: &[TextRow],
    window: Window,
) {
    let inner_w = area.width.saturating_sub(2);
    let with_aliases = inner_w >= MAIL_MIN_WIDTH;
    // Marker column (when focused), the selection mark and the spaces between columns.
    let chrome = u16::from(state.focus == Pane::Users) + 1 + if with_aliases { 5 } else { 4 };
    let text_w = inner_w.saturating_sub(KIND_WIDTH + chrome);
    let need = |f: &dyn Fn(&TextRow) -> &str, header: &str| {
        let w = lines
            .iter()
            .map(|l| widgets::width(f(l)))
            .max()
            .unwrap_or(0);
        w.max(header.len()).min(usize::from(u16::MAX)) as u16
    };
    let name_need = need(&|l| &l.name, "UPN / name");
    let state_need = need(&|l| &l.state_text, "State");
    let planned_need = need(&|l| &l.work.planned, "Planned change");
    let aliases_need = if with_aliases {
        need(&|l| &l.aliases, "Aliases in domain")
    } else {
        0
    };
    // The name says which object, the state what happened to it: they come first. The
    // planned change needs room to be readable; on a narrow pane the preview (p) shows it.
    let with_planned = text_w >= PLANNED_MIN_WIDTH;
    // The name says which object: most of the width when the change is not shown, up to half
    // when it is. The planned change (short by design) then takes its need, leaving the state
    // at least a word (a failure's or a blocking rule's words are whole in the preview).
    let name_w = if with_planned {
        name_need.min(text_w / 2)
    } else {
        name_need.min(text_w * 3 / 5)
    };
    let rest = text_w.saturating_sub(name_w);
    let change_need = planned_need + aliases_need;
    let state_w = if with_planned {
        let state_min = state_need.min(12);
        rest.saturating_sub(change_need.min(rest.saturating_sub(state_min)))
    } else {
        rest
    };
    let rest = rest.saturating_sub(state_w);
    let [planned_w, aliases_w] = if with_aliases {
        widgets::share_width(rest, planned_need, aliases_need)
    } else {
        [rest, 0]
    };
    let mut header = vec!["", "Kind", "UPN / name"];
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(KIND_WIDTH),
        Constraint::Length(name_w),
    ];
    if with_aliases {
        header.push("Aliases in domain");
        widths.push(Constraint::Length(aliases_w));
    }
    if with_planned {
        header.push("Planned change");
        widths.push(Constraint::Length(planned_w));
    }
    header.push("State");
    widths.push(Constraint::Length(state_w));
    let rows = lines
        .iter()
        .map(|l| {
            let w = &l.work;
            let state_style = match w.state {
                RowState::Applied => theme::ok(),
                RowState::Failed(_) => theme::error(),
                RowState::Applying | RowState::Refused | RowState::Partly(..) => theme::warn(),
                RowState::Blocked(_) | RowState::Undone | RowState::None => theme::dim(),
                RowState::Planned => ratatui::style::Style::default(),
            };
            let mut cells = vec![
                Cell::from(Span::styled(
                    if l.selected { "●" } else { " " },
                    theme::prompt(),
                )),
                Cell::from(Span::styled(l.kind, theme::dim())),
                Cell::from(truncate(&l.name, usize::from(name_w))),
            ];
            if with_aliases {
                cells.push(Cell::from(truncate(&l.aliases, usize::from(aliases_w))));
            }
            if with_planned {
                cells.push(Cell::from(truncate(&w.planned, usize::from(planned_w))));
            }
            cells.push(Cell::from(Span::styled(
                truncate(&l.state_text, usize::from(state_w)),
                state_style,
            )));
            Row::new(cells)
        })
        .collect();
    let [count, second] = top;
    widgets::render_list(
        frame,
        area,
        state,
        Pane::Users,
        List {
            top: vec![count, second],
            header: Row::new(header),
            widths: &widths,
            rows,
            window,
            empty: "nothing references the domain",
        },
    );
}

/// `apply ████░░░░ 34/120 · 2 failed · 84 left · 12.3/s · ETA 7s`, or once it ended, what it
/// did.
pub(super) fn progress_line(run: &Run, now: time::OffsetDateTime, width: u16) -> Line<'static> {
    let verb = match (run.kind, run.read_only) {
        (_, true) => "read-only",
        (RunKind::Apply, _) => "apply",
        (RunKind::Retry, _) => "retry",
        (RunKind::Undo, _) => "undo",
    };
    let rate = run
        .rate(now)
        .map(|r| format!(" · {r:.1}/s"))
        .unwrap_or_default();
    if let Some(ended) = run.ended {
        let secs = (ended - run.started).as_seconds_f64();
        let mut spans = vec![Span::raw(format!(
            "{verb}: {} of {} done",
            run.applied, run.total
        ))];
        if run.failed > 0 {
            spans.push(Span::styled(
                format!(" · {} failed (r retries)", run.failed),
                theme::error(),
            ));
        }
        if run.refused > 0 {
            spans.push(Span::styled(
                format!(" · {} not sent (read-only)", run.refused),
                theme::warn(),
            ));
        }
        spans.push(Span::styled(format!(" · {secs:.1} s{rate}"), theme::dim()));
        if let Some(e) = &run.error {
            spans.push(Span::styled(format!(" · stopped: {e}"), theme::error()));
        }
        return Line::from(spans);
    }
    let eta = run
        .eta(now)
        .map(|s| format!(" · ETA {}s", s.ceil() as u64))
        .unwrap_or_default();
    let counts = format!(
        " {}/{} · {} failed · {} left",
        run.settled(),
        run.total,
        run.failed,
        run.left()
    );
    // Rate and ETA go first when the line is short: a cut figure would mislead.
    let room = usize::from(width).saturating_sub(widgets::width(verb) + 1 + 4);
    let tail = [
        format!("{counts}{rate}{eta}"),
        format!("{counts}{eta}"),
        counts,
    ]
    .into_iter()
    .find(|t| widgets::width(t) <= room)
    .unwrap_or_default();
    let bar_w = usize::from(width)
        .saturating_sub(widgets::width(verb) + widgets::width(&tail) + 1)
        .clamp(4, 20);
    let filled = (bar_w * run.settled()).checked_div(run.total).unwrap_or(0);
    Line::from(vec![
        Span::raw(format!("{verb} ")),
        Span::styled("█".repeat(filled), theme::ok()),
        Span::styled("░".repeat(bar_w.saturating_sub(filled)), theme::dim()),
        Span::raw(tail),
    ])
}

/// `by kind: 4 user, 1 shared?, 2 dist grp, 1 contact, 1 app · 11:59:30` (the total is on the
/// line above).
fn inventory_line(state: &State) -> Line<'static> {
    let inv = &state.inventory;
    let Some(holding) = inv.holding.as_ref() else {
        return match &inv.last_error {
            Some(e) => Line::from(Span::styled(
                format!("inventory failed: {e}"),
                theme::error(),
            )),
            None => Line::from(Span::styled("inventory: collecting…", theme::dim())),
        };
    };
    let mut spans = vec![Span::raw(if holding.total == 0 {
        "by kind: nothing holds the domain".to_string()
    } else {
        format!("by kind: {}", holding.split())
    })];
    if let Some(at) = inv.last_poll {
        spans.push(Span::styled(
            format!(" · {}", super::rows::hms(at)),
            theme::dim(),
        ));
    }
    if inv.last_error.is_some() {
        spans.push(Span::styled(" · last poll failed", theme::error()));
    }
    Line::from(spans)
}
