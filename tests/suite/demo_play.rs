//! `cutover demo --play` on the real binary in a real terminal (tmux): the player drives the
//! whole release → adopt through the workbench until the Domain status pane shows the source
//! without the domain and the destination holding it verified, the Audit pane has shown the
//! runs' intents and outcomes and the journal verifies; the first key takes the controls and
//! nothing further is sent; a bad `--speed` is one line and exit 2.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::cli::one_line_exit_2;
use crate::common::{BIN, Terminal};

fn start(data: &Path, speed: &str) -> Terminal {
    Terminal::start(
        200,
        60,
        &[
            "demo",
            "--play",
            "--speed",
            speed,
            "--data-dir",
            data.to_str().expect("utf8"),
        ],
    )
}

/// The Domain status pane's row `label` (its first box only).
fn domain_row<'a>(screen: &'a str, label: &str) -> Option<&'a str> {
    screen
        .lines()
        .find(|l| l.starts_with(&format!("│{label} ")))
        .and_then(|l| l.split('┐').next())
        .and_then(|l| l.split("││").next())
}

fn journal(data: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(data.join("audit").join("demo.jsonl")).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn kind(r: &serde_json::Value) -> &str {
    r["kind"].as_str().unwrap_or_default()
}

#[test]
fn the_demo_plays_a_whole_cutover_through_the_workbench() {
    let data = tempfile::tempdir().expect("tempdir");
    let tmux = start(data.path(), "20");
    // The play takes seconds at speed 20; a loaded CI machine gets minutes. Watch the screen
    // the whole time: the Audit pane shows the runs' intents and outcomes while they go.
    let deadline = Instant::now() + Duration::from_secs(240);
    let (mut intents, mut outcomes, mut applied) = (false, false, false);
    let screen = loop {
        let s = tmux.screen();
        let audit = s.split("5 Audit").nth(1).unwrap_or_default();
        intents |= audit.contains(" intent ");
        outcomes |= audit.contains(" outcome ");
        applied |= s.contains(" applied");
        if s.contains("you have the controls") {
            break s;
        }
        assert!(Instant::now() < deadline, "the play did not end:\n{s}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        screen.contains("the cutover has played"),
        "the play stopped early:\n{screen}"
    );
    assert!(intents && outcomes, "no intent/outcome in the Audit pane");
    assert!(applied, "no Users row showed its change applied");
    // The Domain status pane: the source no longer has the domain, the destination holds it
    // verified (read from the pollers, which may need a round after the player's last look).
    let screen = tmux.wait_for("the domain moved in the Domain status pane", |s| {
        let present = domain_row(s, "present").unwrap_or_default();
        let verified = domain_row(s, "verified").unwrap_or_default();
        present.contains("absent")
            && present.trim_end().ends_with("yes")
            && verified.contains("yes")
    });
    let present = domain_row(&screen, "present").unwrap_or_default();
    assert!(
        present.find("absent") < present.find("yes"),
        "source absent, destination present: {present}"
    );
    // The timeline advanced by itself: the gated steps are done by their gates (nobody
    // marked them), each journaled when its gate first held (the snapshot watcher looks
    // every few seconds).
    let steps = [
        "take-snapshot",
        "remove-domain-source",
        "verify-domain-destination",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let held: Vec<String> = journal(data.path())
            .iter()
            .filter(|r| r["action"] == "gate held")
            .filter_map(|r| r["target"].as_str().map(str::to_string))
            .collect();
        if steps.iter().all(|s| held.iter().any(|h| h == s)) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "gates held: {held:?}; screen:\n{screen}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    assert!(
        !journal(data.path())
            .iter()
            .any(|r| r["action"] == "step status changed"),
        "the player marked a step by hand"
    );

    // The journal: every intent has its outcome, all in effect, in the source, the
    // destination and the zone; and it verifies.
    let records = journal(data.path());
    let intents: Vec<_> = records.iter().filter(|r| kind(r) == "intent").collect();
    let outcomes: Vec<_> = records.iter().filter(|r| kind(r) == "outcome").collect();
    assert!(intents.len() > 100, "{} intents", intents.len());
    for tenant in ["source", "destination", "dns"] {
        assert!(
            intents.iter().any(|r| r["tenant"] == tenant),
            "no intent for {tenant}"
        );
    }
    let bad: Vec<_> = outcomes.iter().filter(|r| r["result"] != "ok").collect();
    assert!(
        bad.is_empty(),
        "{} not ok, the first: {:?}",
        bad.len(),
        bad.first()
    );
    // Every intent has its outcome (the wait for the source's release is an outcome alone).
    for i in &intents {
        let change = &i["details"]["change"];
        assert!(
            outcomes.iter().any(|o| o["details"]["change"] == *change),
            "intent {change} without its outcome"
        );
    }
    let confirmed = records
        .iter()
        .filter(|r| r["action"] == "workbench run confirmed")
        .count();
    assert!(confirmed >= 3, "{confirmed} confirmed runs");
    let verify = Command::new(BIN)
        .args(["audit", "verify", "--file"])
        .arg(data.path().join("audit").join("demo.jsonl"))
        .output()
        .expect("run cutover audit verify");
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(20), 0);
}

#[test]
fn the_first_key_takes_the_controls_and_the_player_sends_nothing_more() {
    let data = tempfile::tempdir().expect("tempdir");
    // A person's pace: the player has selected every object and is about to preview and apply.
    let tmux = start(data.path(), "1");
    tmux.wait_for("the player's selection", |s| s.contains(" selected"));
    tmux.keys(&["Escape"]);
    let screen = tmux.wait_for("the takeover notice", |s| {
        s.contains("you have the controls")
    });
    assert!(!screen.contains("the cutover has played"), "{screen}");
    // At speed 1 an unstopped player confirms its first run about ten seconds after the
    // selection; watch longer than that: no run, no intent, no further step.
    let until = Instant::now() + Duration::from_secs(15);
    let before = tmux.screen();
    while Instant::now() < until {
        let s = tmux.screen();
        // The Users rows (selected: ●) say applying… or applied once a run goes.
        let rows: Vec<&str> = s.lines().filter(|l| l.contains('●')).collect();
        assert!(
            !rows
                .iter()
                .any(|l| l.contains("applying") || l.contains(" applied")),
            "{s}"
        );
        assert!(
            !s.contains("Type contoso.example"),
            "a confirmation opened:\n{s}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let records = journal(data.path());
    assert!(
        records
            .iter()
            .any(|r| r["action"] == "took the controls from the demo player"),
        "the takeover is journaled"
    );
    assert!(
        !records
            .iter()
            .any(|r| kind(r) == "intent" || r["action"] == "workbench run asked"),
        "the player went on after the key"
    );
    // The selection the player made stays: the key stopped it, it did not undo it.
    let selected = |s: &str| {
        s.lines()
            .find(|l| l.contains(" selected"))
            .map(|l| l.to_string())
    };
    assert_eq!(selected(&tmux.screen()), selected(&before));
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(20), 0);
}

#[test]
fn a_bad_speed_is_one_line_and_exit_2() {
    let data = tempfile::tempdir().expect("tempdir");
    for speed in ["0", "-1", "fast", "inf"] {
        let out = Command::new(BIN)
            .args(["demo", "--play", &format!("--speed={speed}"), "--data-dir"])
            .arg(data.path())
            .stdin(Stdio::null())
            .output()
            .expect("run cutover");
        one_line_exit_2(&out, "is not a speed");
    }
    // --speed alone: it only paces --play.
    let out = Command::new(BIN)
        .args(["demo", "--speed", "5", "--data-dir"])
        .arg(data.path())
        .stdin(Stdio::null())
        .output()
        .expect("run cutover");
    one_line_exit_2(&out, "--play");
}
