//! Dashboard benchmark at 100,000 objects: the time to draw one frame and the time a filter
//! keystroke or a Down key takes to show (the reducer's work plus one frame), on ratatui's
//! `TestBackend` (the drawing into the buffer, not the terminal's own output). The state is
//! built through the reducer (`Action::InventoryPolled`, then the workbench's
//! `Action::ReleasePlanned`), as the dashboard builds it.
//!
//! "before" repeats, in the same run, the per-frame and per-key rescans the code did before the
//! view model (issue 11): every frame counted the Users rows through the filter and walked the
//! filtered rows up to the window, and every Down key counted them once more. It adds those
//! scans (same `Filter`, same cells) to today's work, so the ratio is measured, not estimated.
//!
//! `cargo bench --bench dashboard [-- RUNS]` (default 30 runs per figure; median and worst).

use std::hint::black_box;
use std::time::{Duration, Instant};

use cutover::app::view::{self, Filter};
use cutover::app::workbench::{Interner, PlanSketch, Planned};
use cutover::app::{Action, Pane, State, update};
use cutover::inventory::{Entry, Kind, Reference};
use cutover::plan::Runbook;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const OBJECTS: usize = 100_000;
const WIDTH: u16 = 160;
const HEIGHT: u16 = 48;

fn entry(i: usize) -> Entry {
    let group = i % 10 == 9;
    let mut references = vec![Reference {
        how: "mail",
        value: format!("user{i}@contoso.example"),
    }];
    for a in 0..(i % 3) {
        references.push(Reference {
            how: "otherAddress",
            value: format!("smtp:alias{a}.user{i}@contoso.example"),
        });
    }
    Entry {
        id: format!("00000000-0000-0000-0000-{i:012}"),
        kind: if group {
            Kind::DistributionGroup
        } else {
            Kind::User
        },
        display_name: format!("Person {i} Müller"),
        user_principal_name: (!group).then(|| format!("user{i}@contoso.example")),
        enabled: Some(true),
        synced: Some(false),
        licences: Some(1),
        references,
    }
}

fn state() -> State {
    let now = time::OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
    let mut s = State::new(
        "bench".into(),
        "contoso.example".into(),
        Runbook { phases: Vec::new() },
        now,
    );
    update(&mut s, Action::Resize(WIDTH, HEIGHT));
    update(
        &mut s,
        Action::InventoryPolled {
            at: now,
            result: Ok((0..OBJECTS).map(entry).collect()),
        },
    );
    // The workbench's plan over the same rows: a UPN change and an alias removal per user, as
    // the source poller hands it over (compact rows), so every frame draws the planned change
    // and state columns.
    let entries: Vec<Entry> = (0..OBJECTS).map(entry).collect();
    let changes = entries.iter().flat_map(|e| {
        let target = cutover::plan::change::Target {
            id: e.id.clone(),
            display: e.display_name.clone(),
        };
        let upn = e.user_principal_name.as_ref().map(|u| {
            cutover::plan::change::Change::set_upn(
                "source",
                &e.id,
                &e.display_name,
                u,
                &u.replace("contoso.example", "contoso.onmicrosoft.com"),
            )
        });
        let aliases: Vec<String> = e
            .references
            .iter()
            .map(|r| format!("smtp:{}", r.value))
            .collect();
        let removal = cutover::plan::change::Change::remove_addresses(
            "source",
            "Set-Mailbox",
            target,
            &aliases,
        );
        upn.into_iter().chain(std::iter::once(removal))
    });
    let mut strings = Interner::default();
    let planned = changes
        .map(|c| Planned::of_shared(&c, &mut strings))
        .collect();
    update(
        &mut s,
        Action::ReleasePlanned {
            at: now,
            result: Ok(Box::new(PlanSketch {
                initial_domain: "contoso.onmicrosoft.com".into(),
                planned,
                blocked: Vec::new(),
            })),
        },
    );
    update(&mut s, Action::Focus(Pane::Users));
    s
}

/// The scans the renderer and reducer used to make: count the filtered rows, walk to `skip`.
fn old_scans(s: &State, counts: usize, skip: bool) -> usize {
    let filter = Filter::for_pane(s, Pane::Users);
    let rows = || {
        view::directory_objects(s)
            .filter(|o| filter.is_empty() || filter.matches_any(o.search_cells()))
    };
    let mut n = 0;
    for _ in 0..counts {
        n += rows().count();
    }
    if skip {
        let start = s.view(Pane::Users).selected.saturating_sub(30);
        n += rows().skip(start).take(40).count();
    }
    black_box(n)
}

struct Figures(Vec<Duration>);

impl Figures {
    fn median(&self) -> Duration {
        let mut v = self.0.clone();
        v.sort();
        v.get(v.len() / 2).copied().unwrap_or_default()
    }
    fn worst(&self) -> Duration {
        self.0.iter().max().copied().unwrap_or_default()
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn time(runs: usize, mut f: impl FnMut()) -> Figures {
    f(); // warm-up
    Figures(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn report(name: &str, after: &Figures, before: Option<&Figures>) {
    let line = format!(
        "{name:<44} after {:>10} (worst {:>10})",
        ms(after.median()),
        ms(after.worst())
    );
    match before {
        Some(b) => println!(
            "{line}  before {:>10} (worst {:>10})  ratio {:.1}x",
            ms(b.median()),
            ms(b.worst()),
            b.median().as_secs_f64() / after.median().as_secs_f64().max(1e-9)
        ),
        None => println!("{line}"),
    }
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let built = Instant::now();
    let mut s = state();
    println!(
        "{OBJECTS} objects, {WIDTH}x{HEIGHT}, {runs} runs per figure; state built through the reducer in {}",
        ms(built.elapsed())
    );
    let mut term = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("test backend");
    let mut frame = |s: &State| {
        term.draw(|f| cutover::ui::render(f, s)).expect("draw");
    };

    // A frame with the selection at the top, then at the last row, no filter.
    let after = time(runs, || frame(&s));
    let before = time(runs, || {
        old_scans(&s, 0, true);
        frame(&s);
    });
    report("frame, no filter, top", &after, Some(&before));
    update(&mut s, Action::Bottom);
    let after = time(runs, || frame(&s));
    let before = time(runs, || {
        old_scans(&s, 0, true);
        frame(&s);
    });
    report("frame, no filter, last row", &after, Some(&before));

    // A Down key from the middle of the list: the reducer's work and one frame.
    update(&mut s, Action::Top);
    for _ in 0..5 {
        update(&mut s, Action::PageDown);
    }
    let after = time(runs, || {
        update(&mut s, Action::Down);
        frame(&s);
    });
    let before = time(runs, || {
        update(&mut s, Action::Down);
        // The old reducer counted the rows; the old frame walked to the window.
        old_scans(&s, 1, true);
        frame(&s);
    });
    report("Down key + frame, no filter", &after, Some(&before));

    // Typing a filter one character at a time: each key is the reducer's work and one frame.
    // Then erasing it, where each key recomputes from every object.
    update(&mut s, Action::Top);
    update(&mut s, Action::StartFilter);
    let needle = "user12";
    let mut typing = Vec::new();
    let mut typing_before = Vec::new();
    let mut erasing = Vec::new();
    let mut erasing_before = Vec::new();
    for _ in 0..runs.div_ceil(needle.len()).max(1) {
        for c in needle.chars() {
            let t = Instant::now();
            update(&mut s, Action::FilterInput(c));
            frame(&s);
            typing.push(t.elapsed());
            // Before: the key did no filtering, the frame counted and walked the rows.
            let t = Instant::now();
            old_scans(&s, 1, true);
            frame(&s);
            typing_before.push(t.elapsed());
        }
        let rows = view::row_count(&s, Pane::Users);
        for _ in needle.chars() {
            let t = Instant::now();
            update(&mut s, Action::FilterBackspace);
            frame(&s);
            erasing.push(t.elapsed());
            let t = Instant::now();
            old_scans(&s, 1, true);
            frame(&s);
            erasing_before.push(t.elapsed());
        }
        black_box(rows);
    }
    report(
        "filter keystroke (typing 'user12') + frame",
        &Figures(typing),
        Some(&Figures(typing_before)),
    );
    report(
        "filter backspace (to empty) + frame",
        &Figures(erasing),
        Some(&Figures(erasing_before)),
    );

    // A frame while a filter is in force (1,111 of 100,000 rows match 'user12').
    for c in needle.chars() {
        update(&mut s, Action::FilterInput(c));
    }
    update(&mut s, Action::FilterApply);
    update(&mut s, Action::Bottom);
    println!("filter 'user12': {} rows", view::row_count(&s, Pane::Users));
    let after = time(runs, || frame(&s));
    let before = time(runs, || {
        old_scans(&s, 1, true);
        frame(&s);
    });
    report("frame, filter 'user12', last row", &after, Some(&before));
}
