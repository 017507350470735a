//! Provider-managed tenants and the access gates, against `cutover sim serve` in its own
//! process: `provider = …` is checked and adds the provider's portal steps to `cutover
//! timeline`; `source.connectors_for_domain` and `source.mail_apps_reviewed` follow the sim as
//! connectors are removed, the review is journaled and an application gains mail access again.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::common::cli::{command_with, ok, one_line_exit_2, run, said};
use crate::common::sim_serve;

const T: &str = "2026-12-05T18:00Z";
const GRANTS: [&str; 4] = [
    "Directory.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
];

fn serve(dir: &Path) -> crate::common::Served {
    let mut extra = Vec::new();
    for g in GRANTS {
        extra.push("--grant-permission");
        extra.push(g);
    }
    sim_serve(&dir.join("sim.toml"), &dir.join("data"), &extra)
}

/// `sim.toml` with `line` added to the source's profile, as `name`.
fn with_source_line(dir: &Path, name: &str, line: &str) {
    let text = std::fs::read_to_string(dir.join("sim.toml")).expect("sim.toml");
    let changed = text.replacen("[tenants.source]", &format!("[tenants.source]\n{line}"), 1);
    assert_ne!(changed, text, "no [tenants.source] in {text}");
    std::fs::write(dir.join(name), changed).expect("write config");
}

fn gate_of(dir: &Path, step: &str) -> (Output, Value) {
    let out = run(
        dir,
        &["check", "--json", "--phase", "cutover", "--cutover", T],
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", said(&out)));
    let g = v["gates"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["step"] == step))
        .unwrap_or_else(|| panic!("no gate for {step}: {v:#}"))
        .clone();
    (out, g)
}

fn plan_and_apply(dir: &Path, name: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["plan", "access", "--tenant", "source", "--json"];
    all.extend_from_slice(args);
    let text = ok(&run(dir, &all));
    std::fs::write(dir.join(name), &text).expect("write plan");
    let plan: Value = serde_json::from_str(&text).expect("plan JSON");
    let file = dir.join(name).to_string_lossy().into_owned();
    ok(&run(dir, &["apply", &file, "--yes"]));
    plan["changes"].as_array().expect("changes").clone()
}

#[test]
fn connector_and_mail_app_gates_follow_the_tenant_and_the_journaled_review() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let _sim = serve(dir);
    // cutover apply wants a snapshot to undo from.
    ok(&run(dir, &["snapshot", "--tenant", "source"]));

    // The rehearsal's source has connectors naming the domain and apps with mail access.
    let (out, g) = gate_of(dir, "review-connections");
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert_eq!(g["result"], "fails", "{g:#}");
    let observed = g["observed"].as_str().expect("observed");
    assert!(
        observed.contains("source.connectors_for_domain: 3 connectors name the domain"),
        "{observed}"
    );
    assert!(observed.contains("not reviewed"), "{observed}");
    assert!(observed.contains("Fabrikam Cloud Backup"), "{observed}");

    // The review alone does not make the gate hold while connectors remain.
    let said_review = ok(&run(
        dir,
        &["access", "--tenant", "source", "--mark-reviewed"],
    ));
    assert!(said_review.contains("reviewed"), "{said_review}");
    let (_, g) = gate_of(dir, "review-connections");
    assert_eq!(g["result"], "fails", "{g:#}");
    let observed = g["observed"].as_str().unwrap();
    assert!(
        observed.contains("applications with mail permissions reviewed"),
        "{observed}"
    );
    assert!(observed.contains("3 connectors"), "{observed}");

    // Remove them through the change engine: the gate holds.
    let removed = plan_and_apply(dir, "conn.json", &["--only", "connectors"]);
    assert_eq!(removed.len(), 3);
    let (_, g) = gate_of(dir, "review-connections");
    assert_eq!(g["result"], "holds", "{g:#}");
    assert!(
        g["observed"]
            .as_str()
            .unwrap()
            .contains("0 connectors name the domain"),
        "{g:#}"
    );

    // An application whose mail access was revoked before the review, and that gets it back
    // afterwards, reopens the review.
    let crm = plan_and_apply(
        dir,
        "crm.json",
        &["--only", "apps", "--app", "Northwind CRM"],
    );
    ok(&run(
        dir,
        &["access", "--tenant", "source", "--mark-reviewed"],
    ));
    let (_, g) = gate_of(dir, "review-connections");
    assert_eq!(g["result"], "holds", "{g:#}");
    ok(&run(
        dir,
        &["undo", crm[0]["id"].as_str().expect("id"), "--yes"],
    ));
    let (_, g) = gate_of(dir, "review-connections");
    assert_eq!(g["result"], "fails", "{g:#}");
    let observed = g["observed"].as_str().unwrap();
    assert!(observed.contains("1 of "), "{observed}");
    assert!(observed.contains("Northwind CRM"), "{observed}");
    assert!(observed.contains("--mark-reviewed"), "{observed}");

    // The review is on the audit journal's hash chain, with the apps it covered.
    let journal =
        std::fs::read_to_string(dir.join("data/audit/contoso.example.jsonl")).expect("journal");
    assert_eq!(journal.matches("\"mail apps reviewed\"").count(), 2);
    let verify = run(dir, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(0), "{}", said(&verify));
}

fn timeline_ids(dir: &Path, config: &str) -> Vec<String> {
    let out = command_with(
        dir,
        config,
        &["timeline", "--format", "json", "--cutover", T],
    )
    .output()
    .expect("run");
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", said(&out)));
    v["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["step"].as_str().expect("id").to_string())
        .collect()
}

#[test]
fn a_provider_managed_source_adds_the_portal_steps_and_a_bad_provider_is_one_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let _sim = sim_serve(&dir.join("sim.toml"), &dir.join("data"), &[]);

    let plain = timeline_ids(dir, "sim.toml");
    assert!(!plain.iter().any(|s| s.starts_with("ionos-")), "{plain:?}");

    with_source_line(dir, "ionos.toml", "provider = \"ionos\"");
    let ionos = timeline_ids(dir, "ionos.toml");
    for id in [
        "ionos-list-portal-users",
        "ionos-rename-users-in-portal",
        "ionos-default-domain-in-portal",
        "ionos-groups-off-domain",
        "ionos-confirm-portal-release",
    ] {
        assert!(ionos.iter().any(|s| s == id), "{id} missing: {ionos:?}");
    }
    assert!(!ionos.iter().any(|s| s.starts_with("telekom-")));
    // The portal's rename comes before cutover's own UPN change.
    let at = |id: &str| ionos.iter().position(|s| s == id).expect(id);
    assert!(at("ionos-rename-users-in-portal") < at("change-upns"));
    assert_eq!(ionos.len(), plain.len() + 7, "{ionos:?}");

    let check = command_with(dir, "ionos.toml", &["config", "check"])
        .output()
        .expect("run");
    let text = ok(&check);
    assert!(text.contains("managed by provider ionos"), "{text}");

    with_source_line(dir, "bad.toml", "provider = \"1und1\"");
    let bad = command_with(dir, "bad.toml", &["timeline", "--cutover", T])
        .output()
        .expect("run");
    one_line_exit_2(
        &bad,
        "tenants.source.provider '1und1' is not one of ionos, telekom, csp, other",
    );
}

#[test]
fn the_release_plan_hands_user_renames_to_the_portal_and_apply_does_not_send_them() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let _sim = sim_serve(&dir.join("sim.toml"), &dir.join("data"), &[]);
    let plain: Value = serde_json::from_str(&ok(&run(
        dir,
        &["plan", "release", "--tenant", "source", "--json"],
    )))
    .expect("plan");
    let upn = |p: &Value| {
        p["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .filter(|c| c["field"] == "userPrincipalName")
            .count()
    };
    let renames = upn(&plain);
    assert!(
        renames > 0,
        "the rehearsal has users on the domain: {plain:#}"
    );

    with_source_line(dir, "ionos.toml", "provider = \"ionos\"");
    let text = command_with(
        dir,
        "ionos.toml",
        &["plan", "release", "--tenant", "source", "--json"],
    )
    .output()
    .expect("run");
    let plan: Value = serde_json::from_str(&ok(&text)).expect("plan");
    assert_eq!(upn(&plan), 0, "{plan:#}");
    let portal: Vec<&Value> = plan["flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter(|f| {
            f["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("IONOS portal: change the user name from "))
        })
        .collect();
    assert_eq!(portal.len(), renames, "{plan:#}");
    // Nothing left in the plan waits for a change that is no longer in it.
    let ids: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    for c in plan["changes"].as_array().unwrap() {
        for p in c["prerequisites"].as_array().into_iter().flatten() {
            assert!(ids.contains(&p.as_str().unwrap()), "{c:#}");
        }
    }
    let shown = ok(&command_with(
        dir,
        "ionos.toml",
        &["plan", "release", "--tenant", "source"],
    )
    .output()
    .expect("run"));
    assert!(
        shown.contains("IONOS portal: change the user name"),
        "{shown}"
    );

    // Applied: the executor takes the plan, and no user's UPN is written.
    std::fs::write(dir.join("ionos-plan.json"), &text.stdout).expect("write");
    ok(
        &command_with(dir, "ionos.toml", &["snapshot", "--tenant", "source"])
            .output()
            .expect("run"),
    );
    let file = dir.join("ionos-plan.json").to_string_lossy().into_owned();
    let out = command_with(dir, "ionos.toml", &["apply", &file, "--yes"])
        .output()
        .expect("run");
    assert_ne!(out.status.code(), Some(2), "{}", said(&out));
    let journal =
        std::fs::read_to_string(dir.join("data/audit/contoso.example.jsonl")).expect("journal");
    assert!(journal.contains("\"plan applied\""), "{journal}");
    assert!(!journal.contains("userPrincipalName"), "{journal}");
    assert!(!journal.contains("/v1.0/users/"), "{journal}");
}

/// The dashboard's workbench makes the same plan: with `provider = "ionos"`, no UPN change is
/// offered, and a user whose only change was its sign-in name is blocked, naming the portal.
#[test]
fn the_workbench_hands_user_renames_to_the_portal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let data = dir.join("data");
    let _served = sim_serve(&dir.join("sim.toml"), &data, &["--users", "30"]);
    with_source_line(dir, "ionos.toml", "provider = \"ionos\"");
    let config = dir.join("ionos.toml");
    let tmux = crate::common::Terminal::start(
        220,
        50,
        &[
            "--config",
            config.to_str().expect("utf8"),
            "--data-dir",
            data.to_str().expect("utf8"),
        ],
    );
    tmux.keys(&["3"]);
    let screen = tmux.wait_for("a user handed to the portal", |s| s.contains("blocked: IO"));
    assert!(!screen.contains("UPN → "), "{screen}");
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(20), 0);
}
