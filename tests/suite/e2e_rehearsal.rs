//! End to end as an admin rehearses: `cutover sim serve --write-config` runs in its own
//! process, the real dashboard runs against that config in a real terminal (tmux), a filter is
//! typed in a non-Latin script, a timeline step is changed, the cutover time is set, and after
//! `q` the journal holds all three and verifies.

use std::path::Path;
use std::process::Command;

use crate::common;
use common::{BIN, Terminal, sim_serve};

/// A user of the rehearsal directory whose display name is not in the Latin script, read
/// through the served Graph with the product's own client: (UPN, display name).
fn non_latin_user(config: &Path) -> (String, String) {
    let out = Command::new(BIN)
        .args(["inventory", "--tenant", "source", "--json", "--config"])
        .arg(config)
        .env_remove("CUTOVER_LOG")
        .output()
        .expect("run cutover inventory");
    assert!(
        out.status.success(),
        "inventory failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["kind"] == "user")
        .filter_map(|e| {
            let name = e["display_name"].as_str()?.to_string();
            let upn = e["user_principal_name"].as_str()?.to_string();
            // Beyond Latin Extended: Greek, Cyrillic, CJK, …
            name.chars()
                .any(|c| c.is_alphabetic() && u32::from(c) > 0x24F)
                .then_some((upn, name))
        })
        .next()
        .unwrap_or_else(|| panic!("no user with a non-Latin display name in:\n{text}"))
}

#[test]
fn rehearsal_filter_in_a_non_latin_script_step_change_and_t_are_journaled_and_verify() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let sim_data = dir.path().join("sim-data");
    let data = dir.path().join("data");
    let _served = sim_serve(&config, &sim_data, &[]);
    let (upn, name) = non_latin_user(&config);
    // Two characters of the name: enough to find the user, typed as a person would.
    let needle: String = name
        .chars()
        .filter(|c| c.is_alphabetic() && u32::from(*c) > 0x24F)
        .take(2)
        .collect();

    let tmux = Terminal::dashboard(&config, &data);
    tmux.wait_for("the Users pane listing the inventory", |s| {
        s.contains("objects hold") && s.contains("by kind:")
    });
    tmux.wait_for("T not set on the timeline", |s| s.contains("T not set"));

    // A filter in a non-Latin script narrows the list to that user.
    tmux.keys(&["3", "/"]);
    tmux.keys(&["-l", &needle]);
    tmux.keys(&["Enter"]);
    // The row names the user by sign-in name (cut with … when the column is narrower).
    let local = format!("{}@", upn.split('@').next().unwrap_or_default());
    let screen = tmux.wait_for("the filtered list", |s| {
        s.contains(&format!("[/{needle}]")) && s.contains(" of ") && s.contains(&local)
    });
    assert!(screen.contains("objects hold"), "{screen}");

    // A timeline step changes, and T is set by the admin.
    tmux.keys(&["4", "d"]);
    tmux.wait_for("the step done by hand", |s| s.contains("[x]"));
    tmux.keys(&["t"]);
    tmux.keys(&["-l", "2026-12-05T19:00+01:00"]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("T on the timeline", |s| {
        s.contains("12-05 18:00 UTC (timeline)")
    });
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(20), 0, "{}", tmux.screen());

    let data_arg = data.to_str().expect("utf8");
    let verify = Command::new(BIN)
        .args(["audit", "verify", "--data-dir", data_arg])
        .output()
        .expect("audit verify");
    assert!(
        verify.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let export = Command::new(BIN)
        .args(["audit", "export", "--json", "--data-dir", data_arg])
        .output()
        .expect("audit export");
    assert!(export.status.success());
    let records: Vec<serde_json::Value> =
        serde_json::from_slice(&export.stdout).expect("export is a JSON array");
    let find = |action: &str| {
        records
            .iter()
            .find(|r| r["action"] == action)
            .unwrap_or_else(|| panic!("no '{action}' line in {records:#?}"))
    };
    assert_eq!(find("filter applied")["details"]["filter"], needle.as_str());
    assert_eq!(find("step status changed")["after"]["status"], "done");
    let t = find("cutover time set");
    assert_eq!(t["before"], serde_json::Value::Null);
    assert_eq!(t["after"], "2026-12-05T18:00:00Z");

    // T set in the timeline is there again after a restart, said where it came from.
    let again = Terminal::dashboard(&config, &data);
    again.wait_for("the dashboard", |s| s.contains("objects hold"));
    // Focused, the timeline has room for where T came from.
    again.keys(&["4"]);
    again.wait_for("the saved T", |s| s.contains("12-05 18:00 UTC (timeline)"));
    again.keys(&["q"]);
    assert_eq!(again.exit_status_within(20), 0);
}
