//! `cutover plan backout` and `cutover undo` against `sim serve` in its own process: after a
//! release plan is applied, the backout plan holds one inverse per applied change, newest
//! first, and applied through `cutover apply` it brings the UPNs and the aliases in the domain
//! back; planned again it is empty. `cutover undo` puts one change back, and refuses (exit 2,
//! one line) an id already undone and an id the journal does not have.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::cli::{ok, one_line_exit_2, run};
use crate::common::sim_serve;

use cutover::plan::release::Plan;

/// Object id → (its UPN if in the domain, its addresses in the domain), from a fresh
/// inventory of the source tenant.
fn holdings(dir: &Path) -> BTreeMap<String, (Option<String>, BTreeSet<String>)> {
    let text = ok(&run(dir, &["inventory", "--tenant", "source", "--json"]));
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let e: serde_json::Value = serde_json::from_str(line).expect("json line");
        let refs = e["references"].as_array().cloned().unwrap_or_default();
        let upn = refs
            .iter()
            .find(|r| r["how"] == "userPrincipalName")
            .and_then(|r| r["value"].as_str())
            .map(str::to_string);
        let addresses = refs
            .iter()
            .filter(|r| r["how"] != "userPrincipalName")
            .filter_map(|r| r["value"].as_str())
            .map(|a| a.to_ascii_lowercase())
            .collect();
        out.insert(
            e["id"].as_str().unwrap_or_default().to_string(),
            (upn, addresses),
        );
    }
    out
}

#[test]
fn backout_puts_back_what_apply_changed_and_undo_one_change() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _sim = sim_serve(
        &dir.join("sim.toml"),
        dir,
        &[
            "--users",
            "40",
            "--grant-permission",
            "User.ReadWrite.All",
            "--grant-permission",
            "Domain.ReadWrite.All",
            "--grant-permission",
            "Application.ReadWrite.All",
        ],
    );
    // Nothing applied yet: no journal, nothing to back out.
    one_line_exit_2(&run(dir, &["plan", "backout"]), "nothing was applied");

    let start = holdings(dir);
    let json = ok(&run(dir, &["plan", "release", "--json"]));
    let release: Plan = serde_json::from_str(&json).expect("plan");
    std::fs::write(dir.join("release.json"), &json).expect("write");
    ok(&run(dir, &["snapshot", "--tenant", "source"]));
    let release_file = dir.join("release.json");
    ok(&run(
        dir,
        &["apply", release_file.to_str().expect("utf-8"), "--yes"],
    ));
    assert_ne!(holdings(dir), start, "the release changed something");

    let json = ok(&run(dir, &["plan", "backout", "--json"]));
    let backout: Plan = serde_json::from_str(&json).expect("backout plan");
    assert_eq!(backout.kind, "backout");
    assert_eq!(backout.changes.len(), release.changes.len());
    assert!(backout.flags.is_empty(), "{:?}", backout.flags);
    // Each UPN change is put back after the alias removal that followed it.
    for b in backout
        .changes
        .iter()
        .filter(|c| c.field == "userPrincipalName")
    {
        let alias_back = backout
            .changes
            .iter()
            .find(|c| c.target.id == b.target.id && c.field == "EmailAddresses");
        if let Some(a) = alias_back {
            assert_eq!(b.prerequisites, vec![a.id.clone()]);
        }
    }
    let text = ok(&run(dir, &["plan", "backout"]));
    assert!(
        text.starts_with("backout plan for contoso.example"),
        "{text}"
    );

    std::fs::write(dir.join("backout.json"), &json).expect("write");
    let backout_file = dir.join("backout.json");
    let applied = ok(&run(
        dir,
        &["apply", backout_file.to_str().expect("utf-8"), "--yes"],
    ));
    assert!(
        applied.contains(&format!(
            "{n} of {n} changes in effect",
            n = backout.changes.len()
        )),
        "{applied}"
    );
    assert_eq!(
        holdings(dir),
        start,
        "the backout brought the domain's names back"
    );
    ok(&run(dir, &["audit", "verify"]));
    let again: Plan =
        serde_json::from_str(&ok(&run(dir, &["plan", "backout", "--json"]))).expect("plan");
    assert!(again.changes.is_empty(), "{:?}", again.changes);

    // The release's UPN change of one user was undone by the backout: undo refuses it.
    let upn = release
        .changes
        .iter()
        .find(|c| c.field == "userPrincipalName")
        .expect("a UPN change");
    one_line_exit_2(&run(dir, &["undo", &upn.id, "--yes"]), "already undone");
    one_line_exit_2(
        &run(dir, &["undo", "0123456789abcdef", "--yes"]),
        "no change 0123456789abcdef",
    );
    // The backout's change that put this user's UPN back, undone: the release's UPN again.
    let one = backout
        .changes
        .iter()
        .find(|c| c.field == "userPrincipalName" && c.target.id == upn.target.id)
        .expect("UPN back");
    let undo = ok(&run(dir, &["undo", &one.id, "--yes"]));
    assert!(undo.contains("1 of 1 changes in effect"), "{undo}");
    let now = holdings(dir);
    assert_eq!(
        now.get(&upn.target.id).and_then(|h| h.0.clone()),
        None,
        "{} signs in outside the domain again",
        upn.target.id
    );
    one_line_exit_2(&run(dir, &["undo", &one.id, "--yes"]), "already undone");
    ok(&run(dir, &["audit", "verify"]));
}
