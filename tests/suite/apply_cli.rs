//! `cutover plan release` and `cutover apply` against `sim serve` in its own process over
//! loopback: the plan lists a UPN change for every cloud user the inventory shows signing in
//! with the domain and an alias removal for every object holding a removable alias (with a
//! renamed user's old primary, which Exchange keeps as an alias), apply is refused without a
//! snapshot and without a typed domain, read-only changes nothing, apply moves the UPNs and
//! removes the aliases (a fresh inventory shows none left, the users under their new UPN), the
//! journal verifies and a resumed run sends nothing new.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common;
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

fn inventory(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["inventory", "--tenant", "source", "--json"];
    args.extend_from_slice(extra);
    let text = ok(&run(dir, &args));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Cloud-only user id → its UPN, for users whose UPN is in the domain.
fn cloud_upns_in_domain(dir: &Path) -> BTreeMap<String, String> {
    inventory(dir, &[])
        .into_iter()
        .filter(|e| e["kind"] == "user" && e["synced"] != serde_json::json!(true))
        .filter_map(|e| {
            let refs = e["references"].as_array()?;
            let upn = refs.iter().find(|r| r["how"] == "userPrincipalName")?;
            Some((
                e["id"].as_str()?.to_string(),
                upn["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// What the release must remove through Exchange: object id → its non-primary proxy addresses
/// in the domain, plus, for a user signing in with the domain whose primary address is its
/// UPN, that address as the alias Exchange keeps after the UPN change.
fn to_remove(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = removable_aliases(dir);
    for e in inventory(dir, &[]) {
        if !removable(&e) || e["kind"] != "user" {
            continue;
        }
        let refs = e["references"].as_array().cloned().unwrap_or_default();
        let value = |how: &str| {
            refs.iter()
                .find(|r| r["how"] == how)
                .and_then(|r| r["value"].as_str())
                .map(str::to_string)
        };
        if let (Some(upn), Some(primary)) =
            (value("userPrincipalName"), value("primarySmtpAddress"))
            && let Some(address) = primary.strip_prefix("SMTP:")
            && address.eq_ignore_ascii_case(&upn)
        {
            let id = e["id"].as_str().unwrap_or_default().to_string();
            out.entry(id).or_default().insert(format!("smtp:{address}"));
        }
    }
    out
}

/// The objects cutover may edit through Exchange: cloud-only mailboxes and mail-enabled groups;
/// an unlicensed signed-in user is flagged instead.
fn removable(e: &serde_json::Value) -> bool {
    let kind = e["kind"].as_str().unwrap_or_default();
    matches!(
        kind,
        "user" | "distribution_group" | "microsoft365_group" | "mail_enabled_security_group"
    ) && e["synced"] != serde_json::json!(true)
        && !(e["enabled"] == serde_json::json!(true) && e["licences"] == serde_json::json!(0))
}

/// Object id → its non-primary proxy addresses in the domain, for the objects cutover may edit
/// through Exchange.
fn removable_aliases(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for e in inventory(dir, &[]) {
        if !removable(&e) {
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
    // UPN changes are Graph writes: the app must hold User.ReadWrite.All.
    let _sim = sim_serve(
        &dir.join("sim.toml"),
        dir,
        &["--users", "60", "--grant-permission", "User.ReadWrite.All"],
    );

    let before = removable_aliases(dir);
    assert!(
        before.len() >= 5,
        "the sim has aliases to remove: {before:?}"
    );
    let upns = cloud_upns_in_domain(dir);
    assert!(upns.len() >= 5, "the sim has UPNs to move: {upns:?}");
    let expected_removals = to_remove(dir);
    assert!(
        expected_removals.len() > before.len()
            || expected_removals.values().map(BTreeSet::len).sum::<usize>()
                > before.values().map(BTreeSet::len).sum::<usize>(),
        "some renamed user's primary follows its UPN"
    );

    // The plan: one UPN change per cloud user signing in with the domain, before one removal
    // per object with aliases, removing exactly those (and the old primary, after the UPN).
    let json = ok(&run(dir, &["plan", "release", "--json"]));
    let plan: Plan = serde_json::from_str(&json).expect("plan json");
    assert_eq!(plan.version, 1);
    let (upn_changes, removals): (Vec<_>, Vec<_>) = plan
        .changes
        .iter()
        .partition(|c| c.field == "userPrincipalName");
    let planned_upns: BTreeMap<String, String> = upn_changes
        .iter()
        .map(|c| {
            let from = c.before.as_str().expect("UPN string").to_string();
            (c.target.id.clone(), from)
        })
        .collect();
    assert_eq!(planned_upns, upns);
    assert_eq!(
        planned_upns.len(),
        upn_changes.len(),
        "one UPN change per user"
    );
    for r in &removals {
        let position = |id: &str| plan.changes.iter().position(|c| c.id == id);
        for p in &r.prerequisites {
            let upn = position(p).expect("prerequisite in the plan");
            assert!(upn < position(&r.id).expect("itself"), "UPN change first");
            assert_eq!(plan.changes[upn].target.id, r.target.id);
        }
    }
    let renamed: BTreeMap<String, String> = plan
        .renames
        .iter()
        .filter(|r| r.change.is_some())
        .map(|r| (r.target.id.clone(), r.to.clone()))
        .collect();
    assert_eq!(
        renamed.keys().collect::<Vec<_>>(),
        upns.keys().collect::<Vec<_>>()
    );
    let planned: BTreeMap<String, BTreeSet<String>> = removals
        .iter()
        .map(|c| {
            let addrs = c.before.as_array().expect("list").iter();
            let addrs = addrs.filter_map(|a| a.as_str().map(str::to_string));
            (c.target.id.clone(), addrs.collect())
        })
        .collect();
    assert_eq!(planned, expected_removals);
    assert_eq!(planned.len(), removals.len(), "one removal per object");
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
    assert_eq!(cloud_upns_in_domain(dir), upns);

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
    // No cloud user the plan renamed signs in with the domain any more; each holds its new
    // UPN in the initial domain (read through an inventory of that domain).
    let left = cloud_upns_in_domain(dir);
    for id in renamed.keys() {
        assert!(
            !left.contains_key(id),
            "{id} still signs in as {:?}",
            left.get(id)
        );
    }
    let initial = plan.initial_domain.as_str();
    let now: BTreeMap<String, String> = inventory(dir, &["--domain", initial])
        .into_iter()
        .filter_map(|e| {
            Some((
                e["id"].as_str()?.to_string(),
                e["user_principal_name"].as_str()?.to_string(),
            ))
        })
        .collect();
    for (id, to) in &renamed {
        assert_eq!(now.get(id), Some(to), "{id}");
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
