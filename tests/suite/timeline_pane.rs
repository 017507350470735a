//! The Timeline pane on the real binary in a real terminal (tmux), against `cutover sim serve`
//! in its own process: T set from the pane, a gated step done by its gate (the destination
//! lists the domain) with the time it first held journaled, a step marked done by hand, one
//! skipped with its reason, a note added in the step's details, `n` jumping to the next open
//! step; then the dashboard is killed with SIGKILL and, started again, shows the same marks,
//! note and T from the progress file.

use std::path::Path;
use std::process::Command;

use crate::common::{Terminal, sim_serve};

fn journal_lines(data: &Path) -> Vec<serde_json::Value> {
    let dir = data.join("audit");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("audit dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "jsonl") {
            let text = std::fs::read_to_string(&path).expect("journal");
            out.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
            );
        }
    }
    out
}

/// The line of the selected row (`›` in front).
fn selected_line(screen: &str) -> String {
    screen
        .lines()
        .find(|l| l.contains('›'))
        .unwrap_or_default()
        .to_string()
}

fn cutover_pid(tmux: &Terminal) -> String {
    let out = tmux.run(&["list-panes", "-F", "#{pane_pid}"]);
    let shell = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let children = Command::new("pgrep")
        .args(["-P", &shell])
        .output()
        .expect("pgrep");
    String::from_utf8_lossy(&children.stdout)
        .lines()
        .next()
        .unwrap_or_else(|| panic!("no child of the pane's shell {shell}"))
        .trim()
        .to_string()
}

#[test]
fn set_t_mark_note_jump_and_survive_a_kill() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (config, data) = (tmp.path().join("config.toml"), tmp.path().join("data"));
    let _served = sim_serve(&config, &data, &["--users", "40"]);
    let tmux = Terminal::dashboard(&config, &data);
    tmux.wait_for("the dashboard", |s| s.contains("Migration timeline"));
    tmux.keys(&["4"]);
    tmux.wait_for("T not set", |s| s.contains("T not set"));

    // T from the pane.
    tmux.keys(&["t"]);
    tmux.keys(&["-l", "2026-12-20T18:00Z"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("T on the border", |s| {
        s.contains("12-20 18:00 UTC (timeline)")
    });

    // The destination lists the domain (unverified) from the start: the gated step
    // "add-domain-destination" is done by its gate, and the journal says when it first held.
    tmux.keys(&["/"]);
    tmux.keys(&["-l", "Add the domain to the destination"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the gated step done", |s| {
        selected_line(s).contains("gate ")
    });
    assert!(selected_line(&screen).contains("[✓]"), "{screen}");
    let held = journal_lines(&data)
        .into_iter()
        .find(|r| r["action"] == "gate held" && r["target"] == "add-domain-destination")
        .expect("a gate held record");
    assert_eq!(held["details"]["gate"], "destination.domain.present");
    // Esc clears the filter (a key sent right after Esc would read as Alt+key: wait).
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", |s| s.contains("Two weeks before"));

    // The first step done by hand; the second skipped with a reason.
    tmux.keys(&["g"]);
    tmux.keys(&["d"]);
    tmux.wait_for("done by hand", |s| selected_line(s).contains("done "));
    tmux.keys(&["j", "s"]);
    tmux.keys(&["-l", "the zone was exported last month"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("skipped", |s| selected_line(s).contains("skipped"));

    // A note in the step's details.
    tmux.keys(&["Enter"]);
    tmux.wait_for("the details", |s| s.contains("none · e adds one"));
    tmux.keys(&["e"]);
    tmux.keys(&["-l", "ask the DNS owner for a fresh export"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the note", |s| {
        s.contains("ask the DNS owner for a fresh export")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the details closed", |s| !s.contains("e note · a action"));

    // `n` from the bottom goes to the earliest open step: the third of the first phase.
    tmux.keys(&["G"]);
    tmux.keys(&["n"]);
    let screen = tmux.wait_for("the next step", |s| {
        selected_line(s).contains("Record the MX TTL")
    });
    assert!(selected_line(&screen).contains('▸'), "{screen}");

    // Every manual change is journaled.
    let lines = journal_lines(&data);
    let actions: Vec<(String, String)> = lines
        .iter()
        .filter(|r| r["kind"] == "user_action" || r["kind"] == "note")
        .map(|r| {
            (
                r["action"].as_str().unwrap_or_default().to_string(),
                r["target"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for want in [
        ("cutover time set", ""),
        ("step status changed", "confirm-domain-ownership"),
        ("step status changed", "export-dns-zone"),
        ("step note changed", "export-dns-zone"),
    ] {
        assert!(
            actions
                .iter()
                .any(|(a, t)| a == want.0 && (want.1.is_empty() || t == want.1)),
            "{want:?} not in {actions:?}"
        );
    }

    // Killed outright: the progress file is whole and the next start shows the same.
    let pid = cutover_pid(&tmux);
    let killed = Command::new("kill")
        .args(["-9", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    drop(tmux);
    let state_dir = data.join("state");
    for entry in std::fs::read_dir(&state_dir).expect("state dir") {
        let path = entry.expect("entry").path();
        let p = cutover::plan::Progress::load(&path).expect("progress reads back");
        assert_eq!(p.cutover_at.as_deref(), Some("2026-12-20T18:00:00Z"));
        assert_eq!(p.marks.len(), 2, "{p:?}");
        assert_eq!(
            p.marks["export-dns-zone"].reason,
            "the zone was exported last month"
        );
    }

    let tmux = Terminal::dashboard(&config, &data);
    tmux.wait_for("the dashboard", |s| s.contains("Migration timeline"));
    tmux.keys(&["4"]);
    tmux.wait_for("T again", |s| s.contains("12-20 18:00 UTC (timeline)"));
    tmux.keys(&["g", "j", "Enter"]);
    let screen = tmux.wait_for("the note again", |s| {
        s.contains("ask the DNS owner for a fresh export")
    });
    assert!(
        screen.contains("the zone was exported last month"),
        "{screen}"
    );
    tmux.keys(&["Escape"]);
    tmux.wait_for("the details closed", |s| !s.contains("e note · a action"));
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(10), 0);
}
