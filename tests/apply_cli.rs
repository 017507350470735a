//! `cutover plan release` and `cutover apply` against `sim serve` in its own process over
//! loopback: the plan lists an alias removal for every object the inventory shows holding a
//! removable alias, apply is refused without a snapshot and without a typed domain, read-only
//! changes nothing, apply removes the aliases (a fresh inventory shows none left), the journal
//! verifies and a resumed run sends nothing new.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

mod common;
use common::{BIN, sim_serve};

use cutover::plan::release::Plan;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(dir.join("sim.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("CUTOVER_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run cutover")
}

fn said(out: &Output) -> String {
    format!(
        "exit {:?} stdout {} stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", said(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn one_line_exit_2(out: &Output, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", said(out));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(says), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Object id → its non-primary proxy addresses in the domain, for the objects cutover may edit
/// through Exchange (cloud-only mailboxes and mail-enabled groups; an unlicensed signed-in
/// user is flagged instead).
fn removable_aliases(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let text = ok(&run(dir, &["inventory", "--tenant", "source", "--json"]));
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).expect("json line");
        let kind = e["kind"].as_str().unwrap_or_default();
        if !matches!(
            kind,
            "user" | "distribution_group" | "microsoft365_group" | "mail_enabled_security_group"
        ) || e["synced"] == serde_json::json!(true)
            || (e["enabled"] == serde_json::json!(true) && e["licences"] == serde_json::json!(0))
        {
            continue;
        }
        let aliases: BTreeSet<String> = e["references"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|r| matches!(r["how"].as_str(), Some("smtpAddress" | "otherAddress")))
            .filter_map(|r| r["value"].as_str().map(str::to_string))
            .collect();
        if !aliases.is_empty() {
            out.insert(e["id"].as_str().unwrap_or_default().to_string(), aliases);
        }
    }
    out
}

fn audit_lines(dir: &Path) -> usize {
    let log = dir.join("data/audit/contoso.example.jsonl");
    std::fs::read_to_string(log).map_or(0, |t| t.lines().count())
}

#[test]
fn release_plan_applied_once_after_a_snapshot() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _sim = sim_serve(&dir.join("sim.toml"), dir, &["--users", "60"]);

    let before = removable_aliases(dir);
    assert!(
        before.len() >= 5,
        "the sim has aliases to remove: {before:?}"
    );

    // The plan: one removal per object with aliases, removing exactly those.
    let json = ok(&run(dir, &["plan", "release", "--json"]));
    let plan: Plan = serde_json::from_str(&json).expect("plan json");
    assert_eq!(plan.version, 1);
    let planned: BTreeMap<String, BTreeSet<String>> = plan
        .changes
        .iter()
        .map(|c| {
            let addrs = c.before.as_array().expect("list").iter();
            let addrs = addrs.filter_map(|a| a.as_str().map(str::to_string));
            (c.target.id.clone(), addrs.collect())
        })
        .collect();
    assert_eq!(planned, before);
    assert_eq!(planned.len(), plan.changes.len(), "one change per object");
    assert!(
        plan.flags.iter().any(|f| f.rule.contains("on-premises")),
        "synced objects flagged"
    );
    assert_eq!(plan.flags.last().map(|f| f.kind.as_str()), Some("domain"));
    // Deterministic: planned again, the same file.
    assert_eq!(ok(&run(dir, &["plan", "release", "--json"])), json);
    let text = ok(&run(dir, &["plan", "release"]));
    assert!(text.contains("needs UPN change to"), "{text}");
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, &json).expect("write plan");
    let plan_arg = plan_file.to_str().expect("utf-8 path");

    // No snapshot, no apply.
    one_line_exit_2(
        &run(dir, &["apply", plan_arg, "--yes"]),
        "cutover snapshot --tenant source",
    );
    assert_eq!(audit_lines(dir), 0, "nothing journaled");
    ok(&run(dir, &["snapshot", "--tenant", "source"]));

    // Without --yes and no terminal to type the domain on: refused.
    one_line_exit_2(&run(dir, &["apply", plan_arg]), "--yes");

    // Read-only: every change refused (exit 1), nothing changed.
    let ro = run(dir, &["apply", plan_arg, "--read-only"]);
    assert_eq!(ro.status.code(), Some(1), "{}", said(&ro));
    assert_eq!(removable_aliases(dir), before);

    // Applied: no alias in the domain left on those objects.
    let applied = ok(&run(
        dir,
        &["apply", plan_arg, "--yes", "--concurrency", "3"],
    ));
    assert!(
        applied.contains(&format!(
            "{n} of {n} changes in effect",
            n = plan.changes.len()
        )),
        "{applied}"
    );
    let after = removable_aliases(dir);
    for id in before.keys() {
        assert!(
            !after.contains_key(id),
            "{id} still holds {:?}",
            after.get(id)
        );
    }
    ok(&run(dir, &["audit", "verify"]));

    // Again, from the state file: nothing sent, nothing new journaled but the session lines.
    let intents = |dir: &Path| {
        let log = dir.join("data/audit/contoso.example.jsonl");
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("\"kind\":\"intent\""))
            .count()
    };
    let sent = intents(dir);
    assert_eq!(sent, plan.changes.len());
    let again = ok(&run(dir, &["apply", "--resume", "--yes"]));
    assert_eq!(
        again.matches("done in an earlier run").count(),
        plan.changes.len(),
        "{again}"
    );
    assert_eq!(intents(dir), sent);
    ok(&run(dir, &["audit", "verify"]));
}
