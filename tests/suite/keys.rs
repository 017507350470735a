//! Keys are data and the mouse works, on the real binary: a key remapped in `keys.toml` beside
//! the configuration acts (and the help shows it), a bad keys file stops the start with its
//! file and line, and mouse clicks sent through tmux focus a pane and select a row.

use std::path::Path;
use std::process::Command;

use crate::common::{BIN, Terminal};

/// `cutover demo` with `keys` written as keys.toml beside a (missing) config.toml.
fn demo_with_keys(dir: &Path, keys: &str) -> Terminal {
    std::fs::write(dir.join("keys.toml"), keys).expect("keys.toml");
    Terminal::start(
        120,
        40,
        &[
            "--config",
            dir.join("config.toml").to_str().expect("utf8"),
            "demo",
            "--data-dir",
            dir.join("data").to_str().expect("utf8"),
        ],
    )
}

fn focused_on(screen: &str, title: &str) -> bool {
    screen.contains(&format!("▶ {title}"))
}

/// A left click at (column, row), 0-based, as the terminal reports it with SGR mouse mode
/// (which crossterm asks for): press then release.
fn click(tmux: &Terminal, column: usize, row: usize) {
    let (x, y) = (column + 1, row + 1);
    tmux.keys(&["-l", &format!("\x1b[<0;{x};{y}M\x1b[<0;{x};{y}m")]);
}

/// Where `text` first appears on the screen: (column in cells, row).
fn find(screen: &str, text: &str) -> (usize, usize) {
    for (row, line) in screen.lines().enumerate() {
        if let Some(i) = line.find(text) {
            return (line[..i].chars().count(), row);
        }
    }
    panic!("{text:?} not on screen:\n{screen}");
}

#[test]
fn a_remapped_key_acts_and_the_help_shows_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmux = demo_with_keys(dir.path(), "[normal]\nfocus_users = [\"u\"]\n");
    tmux.wait_for("the users", |s| s.contains("objects hold"));
    assert!(focused_on(&tmux.screen(), "1 Domain status"));
    // The old key no longer focuses the pane; the new one does.
    tmux.keys(&["3"]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(
        focused_on(&tmux.screen(), "1 Domain status"),
        "{}",
        tmux.screen()
    );
    tmux.keys(&["u"]);
    tmux.wait_for("Users focused by u", |s| {
        focused_on(s, "3 Users and aliases")
    });
    tmux.keys(&["?"]);
    tmux.wait_for("the help with u", |s| s.contains("1 / 2 / u / 4 / 5"));
    // Apart: Esc then q at once reads as Alt-q.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the help closed", |s| !s.contains(" Keys "));
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(20), 0);
}

#[test]
fn a_bad_keys_file_stops_the_start_with_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let keys = dir.path().join("keys.toml");
    for (text, line, what) in [
        (
            "[normal]\nhelp = [\"h\"]\nup = [\"Up\", \"j\"]\n",
            3,
            "j is bound to both",
        ),
        (
            "# mine\n\n[normal]\nleap = [\"x\"]\n",
            4,
            "unknown action 'leap'",
        ),
        (
            "[dns]\nview = [\"Meta-v\"]\n",
            2,
            "unknown key name 'Meta-v'",
        ),
    ] {
        std::fs::write(&keys, text).expect("keys.toml");
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .args(["demo", "--data-dir"])
            .arg(dir.path().join("data"))
            .output()
            .expect("run cutover");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        let at = format!("{}: line {line}: ", keys.display());
        assert!(stderr.contains(&at) && stderr.contains(what), "{stderr}");
        // `cutover keys` says the same.
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("keys")
            .output()
            .expect("run cutover");
        assert_eq!(out.status.code(), Some(2));
    }
    // A good one: `cutover keys` prints the table with the change.
    std::fs::write(&keys, "[normal]\ndown = [\"Down\", \"n\"]\n").expect("keys.toml");
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .arg("keys")
        .output()
        .expect("run cutover");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("| `Up, k / Down, n` | move the selection |"),
        "{stdout}"
    );
}

#[test]
fn mouse_clicks_focus_a_pane_and_select_a_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let tmux = demo_with_keys(dir.path(), "");
    let screen = tmux.wait_for("the users", |s| s.contains("objects hold"));
    // A click inside the Users pane focuses it.
    let (x, y) = find(&screen, "3 Users and aliases");
    click(&tmux, x + 2, y + 2);
    // Focus changes the layout: wait for a whole frame (focused, its first row marked), not a
    // capture taken half-way through the redraw.
    let first_row_marked = |s: &str| {
        s.lines()
            .position(|l| l.contains("Kind "))
            .and_then(|h| s.lines().nth(h + 1))
            .is_some_and(|l| l.contains('›'))
    };
    let screen = tmux.wait_for("Users focused by a click", |s| {
        focused_on(s, "3 Users and aliases") && first_row_marked(s)
    });
    // The first row is selected; a click on the third selects it.
    let (_, header) = find(&screen, "Kind");
    let first = screen
        .lines()
        .nth(header + 1)
        .expect("a first row")
        .to_string();
    assert!(first.contains('›'), "{screen}");
    let third = screen
        .lines()
        .nth(header + 3)
        .expect("a third row")
        .to_string();
    click(&tmux, x + 4, header + 3);
    let screen = tmux.wait_for("the third row selected", |s| {
        s.lines().nth(header + 3).is_some_and(|l| l.contains('›'))
    });
    assert!(!screen.lines().nth(header + 1).unwrap_or("").contains('›'));
    let name = |l: &str| {
        l.split_whitespace()
            .find(|w| w.contains('@'))
            .map(str::to_string)
    };
    assert_eq!(
        name(screen.lines().nth(header + 3).unwrap_or("")),
        name(&third),
        "the clicked row is the one selected"
    );
    // The wheel moves the selection of the pane under the pointer.
    tmux.keys(&["-l", &format!("\x1b[<65;{};{}M", x + 5, header + 4)]);
    tmux.wait_for("the fourth row selected", |s| {
        s.lines().nth(header + 4).is_some_and(|l| l.contains('›'))
    });
    // A click on the Audit pane focuses it.
    let (ax, ay) = find(&screen, "5 Audit");
    click(&tmux, ax + 3, ay + 1);
    tmux.wait_for("Audit focused by a click", |s| focused_on(s, "5 Audit"));
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(20), 0);
    // Mouse reporting was turned off again: the terminal is back to cooked mode.
    let tty = tmux.tty_after();
    assert!(tty.contains(" icanon") && tty.contains(" echo"), "{tty}");
}
