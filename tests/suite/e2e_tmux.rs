//! End to end: the real binary runs `cutover demo` in a real terminal (a detached tmux session)
//! and is driven with `send-keys`, read with `capture-pane`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cutover::sim::{Sim, SimOptions};

use crate::common;
use common::{BIN, SESSION, Terminal};

const TITLES: [&str; 5] = [
    "Domain status",
    "DNS records / TTL",
    "Users and aliases",
    "Migration timeline",
    "Audit",
];

/// A user the demo's directory contains: the same seed gives the same directory, so ask an
/// identical rehearsal environment through the product's own client.
fn a_sim_user() -> (String, String) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let sim = Sim::start(SimOptions::default()).await.expect("sim");
        let client = sim.graph_client("source").expect("client");
        let users = client.users().await.expect("users");
        let domain = sim.domain().to_string();
        sim.shutdown().await;
        // Two users with the domain in their UPN: one to find, one that a filter must hide.
        // The first in the order the dashboard lists users (by sign-in name), so it is on
        // screen even at 80x24.
        let mut upns: Vec<String> = users
            .into_iter()
            .filter(|u| u.user_principal_name.ends_with(&format!("@{domain}")))
            .map(|u| u.user_principal_name)
            .collect();
        upns.sort_by_key(|u| u.to_lowercase());
        let mut in_domain = upns.into_iter();
        let first = in_domain.next().expect("a user in the domain");
        let other = in_domain
            .find(|u| u.split('@').next() != first.split('@').next())
            .expect("a second user");
        (first, other)
    })
}

fn all_titles(screen: &str) -> bool {
    TITLES.iter().all(|t| screen.contains(t))
}

fn drive_demo(width: u16, height: u16) -> PathBuf {
    let (user, other) = a_sim_user();
    let data = tempfile::tempdir().expect("tempdir").keep();
    let tmux = Terminal::start(
        width,
        height,
        &["demo", "--data-dir", data.to_str().expect("utf8")],
    );

    let local = user.split('@').next().unwrap_or_default().to_string();
    let screen = tmux.wait_for("the five panes and a sim user", |s| {
        all_titles(s) && s.contains(&local)
    });
    assert!(
        screen.contains("contoso.example"),
        "domain not shown:\n{screen}"
    );
    // Seen from outside (the sim answers the OpenID and user-realm lookups), the source
    // tenant holds the domain; the inventory poller fills the Users pane's counts.
    tmux.wait_for("the owner line", |s| {
        s.lines()
            .any(|l| l.contains("owner") && l.contains("source · Managed"))
    });
    // The domain's place in the cutover: at start the source holds it and nothing is applied
    // (what blocks the next step says so), computed from the tenants' and the journal's state.
    tmux.wait_for("the domain in source", |s| {
        s.lines()
            .any(|l| l.contains("stage") && l.contains("1/7 in source → releasing"))
            && s.lines()
                .any(|l| l.contains("blocked") && l.contains("no release applied"))
    });
    tmux.wait_for("the inventory counts", |s| {
        s.contains("by kind: ") && s.contains(" user")
    });

    // Help overlay lists the keys, and closes again.
    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay", |s| {
        s.contains("Tab") && s.contains("Quit") || s.contains("quit")
    });
    tmux.keys(&["?"]);
    tmux.wait_for("help closed", |s| all_titles(s) && !s.contains("Shift-Tab"));

    // A resize redraws the whole layout: not cropped, the top row's right border moves to the
    // new last column.
    let right_border_at = |s: &str, col: usize| {
        s.lines()
            .next()
            .is_some_and(|l| l.chars().count() == col && l.ends_with('┐'))
    };
    let out = tmux.run(&["resize-window", "-t", SESSION, "-x", "100", "-y", "30"]);
    assert!(out.status.success(), "resize-window failed");
    tmux.wait_for("the layout at 100x30", |s| {
        all_titles(s) && right_border_at(s, 100)
    });
    let out = tmux.run(&[
        "resize-window",
        "-t",
        SESSION,
        "-x",
        &width.to_string(),
        "-y",
        &height.to_string(),
    ]);
    assert!(out.status.success(), "resize-window back failed");
    tmux.wait_for("the layout back at full size", |s| {
        all_titles(s) && right_border_at(s, usize::from(width))
    });

    // Tab moves focus: the focused pane's title carries the focus marker.
    tmux.keys(&["Tab"]);
    tmux.wait_for("focus on the DNS pane", |s| {
        focused_title(s).is_some_and(|t| t.contains("DNS records"))
    });
    // `v` cycles the DNS views: expected vs actual first, with the source tenant's records…
    tmux.keys(&["v"]);
    tmux.wait_for("the expected-vs-actual view", |s| {
        s.contains("view: expected vs actual") && s.contains("Expires") && s.contains(" ok ")
    });
    // …then the propagation matrix has the demo's two caching resolvers,
    // all answering what the authoritative server answers at start.
    tmux.keys(&["v"]);
    tmux.wait_for("the propagation view", |s| {
        s.contains("view: propagation")
            && s.contains("cache-a")
            && s.contains("cache-b")
            && s.contains(" ok ")
    });
    // The TTL plan names the snapshot the demo took at start.
    tmux.keys(&["v"]);
    // …and the sim's blocklist (served by its DNS server) lists the demo's relay MX host.
    tmux.wait_for("the TTL plan with its snapshot and a blocklist hit", |s| {
        s.contains("lower TTL by") && s.contains("contoso.example-") && s.contains("LISTED")
    });
    tmux.keys(&["v"]);
    tmux.wait_for("back to the records view", |s| !s.contains("view: "));
    let snapshots: Vec<_> = std::fs::read_dir(data.join("snapshots"))
        .expect("snapshots dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(".zone"))
        .collect();
    assert_eq!(snapshots.len(), 1, "one snapshot before the first change");

    // Filter the users pane down to one user.
    tmux.keys(&["3"]);
    tmux.wait_for("focus on the users pane", |s| {
        focused_title(s).is_some_and(|t| t.contains("Users and aliases"))
    });
    let other_local = other.split('@').next().unwrap_or_default().to_string();
    tmux.wait_for("both users listed before filtering", |s| {
        s.contains(&local) && s.contains(&other_local)
    });
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &local]);
    tmux.wait_for("the filter being typed", |s| {
        s.contains(&format!("/{local}"))
    });
    tmux.keys(&["Enter"]);
    // Applied: the pane title carries the filter and only the matching user is left.
    let filtered = tmux.wait_for("the applied filter", |s| {
        s.contains(&format!("[/{local}]")) && s.contains(&local) && !s.contains(&other_local)
    });
    assert!(filtered.contains("1 of "), "count of matches:\n{filtered}");

    // The Audit pane carries the writer thread's verification; Enter opens an entry.
    tmux.keys(&["5"]);
    tmux.wait_for("the audit integrity badge", |s| {
        focused_title(s).is_some_and(|t| t.contains("Audit")) && s.contains("✓ verified, ")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("the audit detail view", |s| {
        s.contains(" Audit entry ") && s.contains("request id") && s.contains("before → after")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the detail view closed", |s| !s.contains(" Audit entry "));

    tmux.keys(&["q"]);
    let status = tmux.exit_status_within(10);
    assert_eq!(status, 0, "cutover exited with {status}");
    data
}

/// The line that holds the focused pane's title (marked with `▶`).
fn focused_title(screen: &str) -> Option<String> {
    screen.lines().find(|l| l.contains('▶')).map(|l| {
        let start = l.find('▶').unwrap_or(0);
        l[start..].chars().take(40).collect()
    })
}

fn verify(file: &Path) -> Output {
    Command::new(BIN)
        .args(["audit", "verify", "--file"])
        .arg(file)
        .output()
        .expect("run cutover")
}

#[test]
fn demo_at_120x40_then_audit_log_verifies_and_tampering_is_caught() {
    let data = drive_demo(120, 40);

    let out = Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .expect("run cutover");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("intact"), "{stdout}");

    let log = data.join("audit").join("demo.jsonl");
    let text = std::fs::read_to_string(&log).expect("audit log");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines.len() >= 3,
        "the demo wrote session start, the filter and session end: {text}"
    );
    assert!(
        text.contains("session_start")
            && text.contains("filter applied")
            && text.contains("session_end")
    );

    let tampered = data.join("tampered.jsonl");
    let write =
        |lines: &[String]| std::fs::write(&tampered, lines.join("\n") + "\n").expect("write");
    let owned: Vec<String> = lines.iter().map(|s| s.to_string()).collect();

    // One byte changed in the line that records the filter.
    let at = owned
        .iter()
        .position(|l| l.contains("filter applied"))
        .expect("filter line");
    let mut changed = owned.clone();
    changed[at] = changed[at].replacen("filter applied", "filter applieD", 1);
    write(&changed);
    expect_bad_line(&verify(&tampered), at as u64 + 1);

    // Line 2 deleted.
    let mut deleted = owned.clone();
    deleted.remove(1);
    write(&deleted);
    expect_bad_line(&verify(&tampered), 2);

    // Lines 1 and 2 swapped.
    let mut swapped = owned.clone();
    swapped.swap(0, 1);
    write(&swapped);
    expect_bad_line(&verify(&tampered), 1);

    let _ = std::fs::remove_dir_all(&data);
}

fn expect_bad_line(out: &Output, line: u64) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "verify should fail: {stdout}");
    assert!(
        stdout.contains(&format!("line {line}:")),
        "expected line {line}: {stdout}"
    );
}

#[test]
fn demo_at_80x24() {
    let data = drive_demo(80, 24);
    let _ = std::fs::remove_dir_all(&data);
}

/// `cutover demo --device-code` at 100x30.
fn device_code_demo(data: &Path) -> Terminal {
    Terminal::start(
        100,
        30,
        &[
            "demo",
            "--device-code",
            "--data-dir",
            data.to_str().expect("utf8"),
        ],
    )
}

#[test]
fn demo_device_code_sign_in_shows_the_dialog_and_goes_on_once_approved() {
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = device_code_demo(data.path());
    let screen = tmux.wait_for("the sign-in dialog over the dashboard", |s| {
        // The dialog covers the middle of the screen; the top panes stay in view.
        s.contains(" Sign in ") && s.contains("enter the code") && s.contains("Domain status")
    });
    assert!(screen.contains("/sim/device"), "{screen}");
    assert!(
        screen.contains("The destination tenant asks for a sign-in"),
        "{screen}"
    );
    // The sim's user approves after 3 seconds; the dialog closes and the destination polls.
    tmux.wait_for("the dialog closed and the destination polled", |s| {
        !s.contains(" Sign in ") && s.contains("destination: ok")
    });
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(10), 0);
}

#[test]
fn demo_device_code_sign_in_cancelled_with_esc() {
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = device_code_demo(data.path());
    tmux.wait_for("the sign-in dialog", |s| s.contains(" Sign in "));
    // Before the sim's user approves (3 s): Esc cancels that sign-in.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the cancel notice and the destination failing", |s| {
        !s.contains(" Sign in ")
            && s.contains("sign-in to destination cancelled")
            && s.contains("ERROR: sign-in")
    });
    // Other keys work again: the dialog is gone, the dashboard is usable.
    tmux.keys(&["?"]);
    tmux.wait_for("the help overlay", |s| s.contains(" Keys "));
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(10), 0);
    let log =
        std::fs::read_to_string(data.path().join("audit").join("demo.jsonl")).expect("audit log");
    assert!(log.contains("device-code sign-in cancelled"), "{log}");
}

/// The journal writer dies mid-session on a real fault: the file-size limit (`ulimit -f`, with
/// SIGXFSZ ignored so a write past it fails with EFBIG, as on a full disk). The journal is
/// filled past the limit beforehand, so opening and verifying it works and the first append
/// fails. The dashboard shows the red banner, refuses a timeline change, and `q` exits with the
/// terminal restored.
#[test]
fn demo_whose_journal_stops_shows_the_banner_refuses_changes_and_quits_cleanly() {
    use cutover::audit::{Event, Journal, Kind, verify_file};
    let data = tempfile::tempdir().expect("tempdir");
    let paths = cutover::store::Paths::resolve(Some(data.path())).expect("paths");
    let log = paths.audit_log("demo");
    {
        let mut journal = Journal::open(&log, "demo").expect("journal");
        let filler = "words of an earlier session ".repeat(100);
        while std::fs::metadata(&log).map_or(0, |m| m.len()) < 700 * 1024 {
            journal
                .append(
                    Event::new(Kind::Observed, "earlier").details(serde_json::json!({
                        "text": filler
                    })),
                )
                .expect("append");
        }
    }
    let before = std::fs::read(&log).expect("journal bytes");
    // 512 blocks: 256 KiB (sh) or 512 KiB (bash), both under the journal and over every other
    // file the demo writes.
    let tmux = Terminal::start_after(
        160,
        40,
        "trap '' XFSZ; ulimit -f 512; ",
        &["demo", "--data-dir", data.path().to_str().expect("utf8")],
    );
    let screen = tmux.wait_for("the red banner", |s| {
        s.lines()
            .next()
            .is_some_and(|l| l.starts_with("audit log stopped:"))
    });
    let banner = screen.lines().next().unwrap_or_default().trim_end();
    assert!(banner.contains("File too large"), "{banner}");
    assert!(banner.ends_with("changes are refused; q quits"), "{banner}");

    // A timeline step change is refused, and says so.
    tmux.keys(&["4"]);
    tmux.keys(&["d"]);
    tmux.wait_for("the refusal", |s| {
        s.contains("refused: the audit log has stopped")
    });
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(10), 0);
    let tty = tmux.tty_after();
    let modes: Vec<&str> = tty.split_whitespace().collect();
    assert!(
        modes.contains(&"icanon") && modes.contains(&"echo"),
        "raw mode left on:\n{tty}"
    );
    // Nothing was added, the step is still pending, the journal verifies.
    assert_eq!(std::fs::read(&log).expect("journal bytes"), before);
    let progress = cutover::plan::Progress::load(&paths.state_file("demo")).expect("progress");
    assert!(progress.marks.is_empty(), "{progress:?}");
    assert!(verify_file(&log).expect("verify").is_ok());
}
