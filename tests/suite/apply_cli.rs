//! `cutover plan release` and `cutover apply` against `sim serve` in its own process over
//! loopback: the plan lists a UPN change for every cloud user the inventory shows signing in
//! with the domain and an alias removal for every object holding a removable alias (with a
//! renamed user's old primary, which Exchange keeps as an alias), apply is refused without a
//! snapshot and without a typed domain, read-only changes nothing, apply moves the UPNs and
//! removes the aliases (a fresh inventory shows none left, the users under their new UPN), the
//! journal verifies and a resumed run sends nothing new.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common;
use crate::common::cli::{ok, one_line_exit_2, run, said, source_by_device_code};
use common::sim_serve;

use cutover::plan::release::Plan;

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
/// in the domain, plus its primary address in the domain, which Exchange keeps as an alias once
/// the UPN change (when the primary followed the UPN) or the primary move has run.
fn to_remove(dir: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = removable_aliases(dir);
    for e in inventory(dir, &[]) {
        if !removable(&e) {
            continue;
        }
        let primary = e["references"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["how"] == "primarySmtpAddress")
            .and_then(|r| r["value"].as_str())
            .and_then(|v| v.strip_prefix("SMTP:"));
        if let Some(address) = primary {
            let id = e["id"].as_str().unwrap_or_default().to_string();
            out.entry(id).or_default().insert(format!("smtp:{address}"));
        }
    }
    out
}

/// Object id → its primary address, for objects whose primary is in the domain.
fn primaries_in_domain(dir: &Path) -> BTreeMap<String, String> {
    inventory(dir, &[])
        .into_iter()
        .filter(removable)
        .filter_map(|e| {
            let refs = e["references"].as_array()?;
            let p = refs.iter().find(|r| r["how"] == "primarySmtpAddress")?;
            Some((
                e["id"].as_str()?.to_string(),
                p["value"].as_str()?.trim_start_matches("SMTP:").to_string(),
            ))
        })
        .collect()
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

/// Contacts holding the domain: id → (sends into the domain: its own address is there,
/// its other addresses in the domain).
fn contacts(dir: &Path) -> BTreeMap<String, (bool, BTreeSet<String>)> {
    inventory(dir, &[])
        .into_iter()
        .filter(|e| e["kind"] == "contact")
        .map(|e| {
            let refs = e["references"].as_array().cloned().unwrap_or_default();
            let own = refs.iter().any(|r| r["how"] == "mail");
            let aliases = refs
                .iter()
                .filter(|r| r["how"] == "smtpAddress")
                .filter_map(|r| r["value"].as_str().map(str::to_string))
                .collect();
            (
                e["id"].as_str().unwrap_or_default().to_string(),
                (own, aliases),
            )
        })
        .collect()
}

/// None of `ids` is still among `holding` (object id → what it holds in the domain).
fn none_left<'a, V: std::fmt::Debug>(
    ids: impl IntoIterator<Item = &'a String>,
    holding: &BTreeMap<String, V>,
    what: &str,
) {
    for id in ids {
        assert!(
            !holding.contains_key(id),
            "{id} still holds its {what} in the domain: {:?}",
            holding.get(id)
        );
    }
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
        &[
            "--users",
            "60",
            // Every eighth generated contact is a partner's with an alias in the domain.
            "--contacts",
            "24",
            "--grant-permission",
            "User.ReadWrite.All",
            "--grant-permission",
            "Application.ReadWrite.All",
        ],
    );

    let before = removable_aliases(dir);
    assert!(
        before.len() >= 5,
        "the sim has aliases to remove: {before:?}"
    );
    let contacts_before = contacts(dir);
    assert!(
        contacts_before
            .values()
            .any(|(own, a)| !own && !a.is_empty()),
        "the sim has partner contacts with an alias in the domain: {contacts_before:?}"
    );
    assert!(
        contacts_before.values().any(|(own, _)| *own),
        "and contacts sending into the domain: {contacts_before:?}"
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
    let of = |field: &str| -> Vec<&cutover::plan::change::Change> {
        plan.changes.iter().filter(|c| c.field == field).collect()
    };
    let (upn_changes, all_removals) = (of("userPrincipalName"), of("EmailAddresses"));
    // Contacts' aliases go through Set-MailContact: exactly the partner contacts' aliases.
    let is_contact = |c: &&cutover::plan::change::Change| matches!(&c.route, cutover::plan::change::Route::Exchange { cmdlet, .. } if cmdlet == "Set-MailContact");
    let (contact_removals, removals): (Vec<_>, Vec<_>) =
        all_removals.into_iter().partition(is_contact);
    let planned_contacts: BTreeMap<String, BTreeSet<String>> = contact_removals
        .iter()
        .map(|c| {
            let addrs = c.before.as_array().expect("list").iter();
            (
                c.target.id.clone(),
                addrs
                    .filter_map(|a| a.as_str().map(str::to_string))
                    .collect(),
            )
        })
        .collect();
    let partner_aliases: BTreeMap<String, BTreeSet<String>> = contacts_before
        .iter()
        .filter(|(_, (own, a))| !own && !a.is_empty())
        .map(|(id, (_, a))| (id.clone(), a.clone()))
        .collect();
    assert_eq!(planned_contacts, partner_aliases);
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
        .filter(|r| r.change.is_some() && r.field == "userPrincipalName")
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
    // Primaries in the domain that do not follow a UPN move through Exchange, to the
    // initial domain; the domain is the sim's default, so the initial domain becomes the default,
    // last. The sim's synced users and contacts keep the domain referenced, which only a person
    // can change, so there is no removal (Microsoft would refuse it) but a flag saying so.
    let primaries_before = primaries_in_domain(dir);
    let moving: BTreeMap<String, String> = primaries_before
        .iter()
        .filter(|(id, p)| !upns.get(*id).is_some_and(|u| u.eq_ignore_ascii_case(p)))
        .map(|(id, p)| (id.clone(), p.clone()))
        .collect();
    let planned_primaries: BTreeMap<String, String> = of("PrimarySmtpAddress")
        .iter()
        .map(|c| {
            (
                c.target.id.clone(),
                c.before.as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    assert_eq!(planned_primaries, moving);
    let groups_moving = inventory(dir, &[])
        .iter()
        .filter(|e| e["kind"] != "user" && moving.contains_key(e["id"].as_str().unwrap_or("")))
        .count();
    assert!(groups_moving >= 3, "groups' primaries move: {moving:?}");
    let n = plan.changes.len();
    assert_eq!(plan.changes[n - 1].field, "defaultDomain");
    assert_eq!(plan.changes[n - 1].target.id, plan.initial_domain);
    assert!(plan.changes.iter().all(|c| c.field != "domain"));
    assert!(
        plan.flags.iter().any(|f| f.rule.contains("on-premises")),
        "synced objects flagged"
    );
    let blocked: Vec<&cutover::plan::release::Flag> =
        plan.flags.iter().filter(|f| f.kind == "domain").collect();
    assert_eq!(blocked.len(), 1, "{:#?}", plan.flags);
    assert!(
        blocked[0].action.contains("synced user") && blocked[0].action.contains("contact"),
        "{}",
        blocked[0].action
    );
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

    // Applied: no alias in the domain left on those objects. The app holds no
    // Domain.ReadWrite.All, so making the initial domain default is refused, naming it: exit 1.
    let out = run(dir, &["apply", plan_arg, "--yes", "--concurrency", "3"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let applied = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        applied.contains(&format!("{} of {n} changes in effect, 1 not", n - 1)),
        "{applied}"
    );
    let refused = applied
        .lines()
        .find(|l| l.starts_with(&plan.changes[n - 1].id))
        .unwrap_or_default();
    assert!(
        refused.contains("missing Domain.ReadWrite.All (PATCH /domains/{id})"),
        "{applied}"
    );
    assert!(!refused.contains("eyJ"), "no token in the error: {refused}");
    // Every primary that was to move is out of the domain.
    none_left(moving.keys(), &primaries_in_domain(dir), "primary");
    none_left(before.keys(), &removable_aliases(dir), "aliases");
    // Contacts: the partners' aliases in the domain are gone (Set-MailContact); a contact that
    // sends into the domain is a person's decision and stays as it was.
    let contacts_after = contacts(dir);
    for (id, (own, aliases)) in &contacts_before {
        if *own {
            assert_eq!(
                contacts_after.get(id),
                Some(&(true, aliases.clone())),
                "{id} sends into the domain: left alone"
            );
        } else {
            none_left([id], &contacts_after, "aliases");
        }
    }
    // No cloud user the plan renamed signs in with the domain any more; each holds its new
    // UPN in the initial domain (read through an inventory of that domain).
    none_left(renamed.keys(), &cloud_upns_in_domain(dir), "UPN");
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
    // Each group (and mailbox) whose primary moved has its planned primary in the initial
    // domain, read back through Graph.
    let primaries_now: BTreeMap<String, String> = inventory(dir, &["--domain", initial])
        .into_iter()
        .filter_map(|e| {
            let p = e["references"]
                .as_array()?
                .iter()
                .find(|r| r["how"] == "primarySmtpAddress")?["value"]
                .as_str()?
                .trim_start_matches("SMTP:")
                .to_string();
            Some((e["id"].as_str()?.to_string(), p))
        })
        .collect();
    for c in of("PrimarySmtpAddress") {
        assert_eq!(
            primaries_now.get(&c.target.id).map(String::as_str),
            c.after.as_str(),
            "{}",
            c.target.display
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
    assert_eq!(sent, n, "one intent per change");
    // Resumed from the plan cutover kept, not the admin's file (gone now): what is done is not
    // sent again; the refused default-domain change is read, found not in effect and tried
    // again (one new intent), and refused again.
    std::fs::remove_file(&plan_file).expect("remove the admin's plan file");
    let resumed = run(dir, &["apply", "--resume", "--yes"]);
    assert_eq!(resumed.status.code(), Some(1), "{}", said(&resumed));
    let again = String::from_utf8_lossy(&resumed.stdout);
    assert_eq!(
        again.matches("done in an earlier run").count(),
        n - 1,
        "{again}"
    );
    assert_eq!(intents(dir), sent + 1);
    ok(&run(dir, &["audit", "verify"]));
    let log =
        std::fs::read_to_string(dir.join("data/audit/contoso.example.jsonl")).expect("journal");
    assert_eq!(
        log.matches("\"plan applied\"").count(),
        3,
        "read-only, apply, resume: {log}"
    );
    // The kept copy changed behind cutover's back: refused, naming it.
    let kept = dir.join("data/state/contoso.example.apply.plan.json");
    let mut text = std::fs::read_to_string(&kept).expect("kept plan");
    text.push(' ');
    std::fs::write(&kept, text).expect("tamper");
    one_line_exit_2(
        &run(dir, &["apply", "--resume", "--yes"]),
        "changed since it was applied",
    );
}

/// The whole release, every write's answer lost: `plan release --force-delete` and `apply`
/// move UPNs, primaries (groups' included) and aliases, make the initial domain the default
/// and force-delete the domain, each settled by reading it back; with no wait the removal is
/// recorded under way (exit 1) while nothing references the domain any more; `apply --resume`
/// waits until `GET /domains/{id}` answers 404, and the tenant no longer has the domain.
#[test]
fn release_completes_with_every_answer_lost_and_the_domain_gone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _sim = sim_serve(
        &dir.join("sim.toml"),
        dir,
        &[
            "--users",
            "7",
            "--contacts",
            "0",
            "--grant-permission",
            "User.ReadWrite.All",
            "--grant-permission",
            "Domain.ReadWrite.All",
            "--grant-permission",
            "Application.ReadWrite.All",
            "--apply-then-drop-rate",
            "1",
            "--domain-removal-delay-ms",
            "2500",
        ],
    );
    // Refused where Microsoft would refuse it: --disable-user-accounts needs --force-delete.
    let out = run(dir, &["plan", "release", "--disable-user-accounts"]);
    assert_eq!(out.status.code(), Some(2), "{}", said(&out));

    let json = ok(&run(dir, &["plan", "release", "--json", "--force-delete"]));
    let plan: Plan = serde_json::from_str(&json).expect("plan json");
    let last = plan.changes.last().expect("a removal");
    let cutover::plan::change::Route::Graph { path, body, .. } = &last.route else {
        panic!("graph route: {last:?}");
    };
    assert!(path.ends_with("/forceDelete"), "{path}");
    assert_eq!(
        body.as_ref().map(|b| b["disableUserAccounts"].clone()),
        Some(serde_json::json!(false))
    );
    let group_moves = plan
        .changes
        .iter()
        .filter(|c| {
            matches!(&c.route, cutover::plan::change::Route::Exchange { cmdlet, .. }
                if cmdlet != "Set-Mailbox")
                && c.field == "PrimarySmtpAddress"
        })
        .count();
    assert!(group_moves >= 3, "groups' primaries move: {plan:#?}");
    assert!(plan.changes.iter().any(|c| c.field == "defaultDomain"));
    let plan_file = dir.join("plan.json");
    std::fs::write(&plan_file, &json).expect("write plan");
    let plan_arg = plan_file.to_str().expect("utf-8 path");
    ok(&run(dir, &["snapshot", "--tenant", "source"]));

    let out = run(dir, &["apply", plan_arg, "--yes", "--removal-wait", "0"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let n = plan.changes.len();
    assert!(
        text.contains(&format!("{n} of {n} changes in effect")),
        "{text}"
    );
    assert!(text.contains("contoso.example removal under way"), "{text}");
    // Every HTTP answer was lost (the DNS change, the MX TTL, goes by a signed update the sim
    // answers); every such change was confirmed by reading, none sent twice.
    let log =
        std::fs::read_to_string(dir.join("data/audit/contoso.example.jsonl")).expect("journal");
    let http = plan
        .changes
        .iter()
        .filter(|c| c.tenant != cutover::plan::change::DNS_TENANT)
        .count();
    assert_eq!(n - http, 1, "the MX TTL is lowered: {plan:#?}");
    assert_eq!(
        log.matches("confirmed by reading it back").count(),
        http,
        "{log}"
    );
    assert_eq!(log.matches("\"kind\":\"intent\"").count(), n);
    // While the removal runs, nothing in the tenant references the domain any more.
    let left = inventory(dir, &[]);
    assert!(left.is_empty(), "still referencing: {left:#?}");

    let out = run(dir, &["apply", "--resume", "--yes", "--removal-wait", "60"]);
    let text = ok(&out);
    assert!(
        text.contains("contoso.example released: GET /domains/contoso.example answers 404"),
        "{text}"
    );
    assert_eq!(text.matches("done in an earlier run").count(), n, "{text}");
    // Read independently: Graph answers 404 for the domain (planning again cannot start).
    let out = run(dir, &["plan", "release"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{}", said(&out));
    assert!(
        err.contains("404") && err.contains("'contoso.example' does not exist"),
        "{err}"
    );
    ok(&run(dir, &["audit", "verify"]));
}

#[test]
fn a_device_code_sign_in_names_the_admin_on_every_journal_line() {
    use std::io::BufRead;
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let _sim = sim_serve(
        &dir.join("sim.toml"),
        dir,
        &["--users", "20", "--grant-permission", "User.ReadWrite.All"],
    );
    ok(&run(dir, &["snapshot", "--tenant", "source"]));
    let plan: Plan =
        serde_json::from_str(&ok(&run(dir, &["plan", "release", "--json"]))).expect("plan");
    // One UPN change, through Graph, as the signed-in admin.
    let upn = plan
        .changes
        .iter()
        .find(|c| c.field == "userPrincipalName")
        .expect("a UPN change")
        .clone();
    let one = Plan {
        changes: vec![upn],
        ..plan
    };
    let plan_file = dir.join("one.json");
    std::fs::write(&plan_file, serde_json::to_vec(&one).expect("json")).expect("write");

    let config = source_by_device_code(dir);
    let body = std::fs::read_to_string(&config).expect("config");
    let login_url = body
        .lines()
        .find_map(|l| l.strip_prefix("login_url = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("login url")
        .to_string();
    let mut child = Command::new(common::BIN)
        .args(["apply", plan_file.to_str().expect("utf-8"), "--yes"])
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("CUTOVER_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn apply");
    // Read stderr to its end on a thread (the prompt, then whatever follows), passing the code on.
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split("enter the code ").nth(1) {
                let code = rest.split_whitespace().next().unwrap_or_default();
                let _ = tx.send(code.to_string());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let Ok(code) = rx.recv_timeout(std::time::Duration::from_secs(30)) else {
        let _ = child.kill();
        let out = child.wait_with_output().expect("apply ends");
        panic!(
            "no device code asked for; exit {:?}, stdout {}, stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            reader.join().unwrap_or_default()
        );
    };
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let approved = rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::Client::new()
            .post(format!("{login_url}/sim/device"))
            .form(&[("user_code", code.as_str())])
            .send()
            .await
            .expect("approve")
            .status()
            .is_success()
    });
    assert!(approved, "the sim approved the code");
    let out = child.wait_with_output().expect("apply ends");
    let _ = reader.join().expect("stderr reader");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let log =
        std::fs::read_to_string(dir.join("data/audit/contoso.example.jsonl")).expect("journal");
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("line"))
        .filter(|v: &serde_json::Value| v["kind"] == "intent" || v["kind"] == "outcome")
        .collect();
    assert_eq!(lines.len(), 2, "{log}");
    for l in &lines {
        let who = l["upn"].as_str().unwrap_or_default();
        assert!(who.starts_with("admin@"), "{l}");
    }
    ok(&run(dir, &["audit", "verify"]));
}
