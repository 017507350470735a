//! `cutover access` and `cutover plan access` against `cutover sim serve` in its own process:
//! the inventory lists the seeded connectors and applications with their fields; a grant
//! revoked through plan + apply is gone from the sim and `cutover undo` puts it back; a
//! connector removed through Exchange is confirmed by reading it back; a service principal
//! deleted and restored comes back with its permissions; read-only changes nothing; a missing
//! permission is Graph's refusal named in one line.

use std::path::Path;

use serde_json::Value;

use crate::common::cli::{ok, run, said};
use crate::common::sim_serve;

const READ: &str = "Directory.Read.All";
const WRITES: [&str; 3] = [
    "DelegatedPermissionGrant.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
];

fn inventory(dir: &Path) -> Value {
    let text = ok(&run(dir, &["access", "--tenant", "source", "--json"]));
    serde_json::from_str(&text).expect("one JSON object")
}

fn app<'v>(inv: &'v Value, name: &str) -> Option<&'v Value> {
    inv["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["display_name"] == name)
}

/// The sim's mutation counters (`GET /sim/mutations`).
fn mutations(graph_url: &str) -> Value {
    use std::io::{Read, Write};
    let addr = graph_url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the sim");
    write!(
        s,
        "GET /sim/mutations HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    serde_json::from_str(body).expect("mutations JSON")
}

/// Write `cutover plan access ARGS --json` to `name` in `dir`; the plan's changes.
fn plan(dir: &Path, name: &str, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["plan", "access", "--tenant", "source", "--json"];
    all.extend_from_slice(args);
    let text = ok(&run(dir, &all));
    std::fs::write(dir.join(name), &text).expect("write plan");
    let plan: Value = serde_json::from_str(&text).expect("plan JSON");
    assert_eq!(plan["kind"], "access");
    plan["changes"].as_array().expect("changes").clone()
}

/// A file in `dir` as an argument.
fn at(dir: &Path, name: &str) -> String {
    dir.join(name).to_string_lossy().into_owned()
}

fn serve(dir: &Path, grants: &[&str]) -> crate::common::Served {
    let mut extra = Vec::new();
    for g in grants {
        extra.push("--grant-permission");
        extra.push(*g);
    }
    sim_serve(&dir.join("sim.toml"), &dir.join("data"), &extra)
}

#[test]
fn the_inventory_lists_connectors_apps_and_registrations_with_their_fields() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let _sim = serve(dir, &[READ]);
    let inv = inventory(dir);
    assert_eq!(inv["tenant"], "source");

    let connectors = inv["connectors"].as_array().expect("connectors");
    assert_eq!(connectors.len(), 4, "{connectors:#?}");
    let relay = connectors
        .iter()
        .find(|c| c["name"] == "Relay365 inbound")
        .expect("the add-on's connector");
    assert_eq!(relay["direction"], "inbound");
    assert_eq!(relay["connector_type"], "Partner");
    assert_eq!(relay["names_domain"], true);
    assert_eq!(relay["action"], "remove");
    assert_eq!(relay["domains"][0], "contoso.example");
    assert!(relay["tls"].as_str().unwrap().ends_with("relay365.example"));
    assert_eq!(relay["sender_ip_addresses"].as_array().unwrap().len(), 2);
    let partner = connectors
        .iter()
        .find(|c| c["name"] == "Outbound to Litware partner")
        .expect("partner");
    assert_eq!(partner["names_domain"], false);
    assert_eq!(partner["smart_hosts"][0], "mx.litware.example");

    // Application permissions with their time, delegated grants with who consented.
    let backup = app(&inv, "Fabrikam Cloud Backup").expect("backup app");
    let perms: Vec<&str> = backup["application"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["permission"].as_str().unwrap())
        .collect();
    assert!(perms.contains(&"full_access_as_app"), "{perms:?}");
    assert!(perms.contains(&"Mail.ReadWrite"), "{perms:?}");
    assert!(
        backup["application"][0]["created"]
            .as_str()
            .is_some_and(|t| t.starts_with("2024-")),
        "{backup}"
    );
    assert_eq!(backup["verified_publisher"], Value::Null);
    assert_eq!(backup["publisher"], "Fabrikam Backup GmbH");
    assert!(
        backup["last_sign_in"]
            .as_str()
            .unwrap()
            .contains("not offered by Graph v1.0")
    );
    let crm = app(&inv, "Northwind CRM").expect("crm");
    assert_eq!(crm["verified_publisher"], "Northwind Traders");
    let delegated = crm["delegated"].as_array().unwrap();
    assert_eq!(delegated.len(), 3);
    for d in delegated {
        assert_eq!(d["consent"], "user");
        assert!(d["user"].as_str().unwrap().contains('@'), "{d}");
        assert!(
            d["scopes"]
                .as_array()
                .unwrap()
                .contains(&"Mail.ReadWrite".into())
        );
        assert!(d["consented"].as_str().unwrap().contains("not offered"));
    }
    let calendar = app(&inv, "Adatum Calendar Sync").expect("admin-consented app");
    assert_eq!(calendar["delegated"][0]["consent"], "all_users");
    assert!(app(&inv, "Mailvault Archiver").is_some());
    assert!(app(&inv, "Relay365 Mail Routing").is_some());
    // Nothing of mail, calendars, contacts or the directory: not listed.
    assert!(app(&inv, "Build agent").is_none());

    let regs = inv["applications"].as_array().expect("applications");
    let names: Vec<&str> = regs
        .iter()
        .map(|a| a["display_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Intranet", "Payroll"], "{regs:#?}");
    assert_eq!(regs[1]["identifier_uris"].as_array().unwrap().len(), 0);
    assert!(
        regs[1]["redirect_uris"][0]
            .as_str()
            .unwrap()
            .contains("payroll.contoso.example")
    );

    // The text form says the same in lines.
    let text = ok(&run(dir, &["access", "--tenant", "source"]));
    assert!(
        text.contains("Exchange connectors: 4 (3 name the domain)"),
        "{text}"
    );
    assert!(
        text.contains("full_access_as_app on Office 365 Exchange Online"),
        "{text}"
    );
}

#[test]
fn a_missing_permission_is_graphs_refusal_in_one_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // The default grant reads service principals, not delegated grants.
    let _sim = serve(dir, &[]);
    let out = run(dir, &["access", "--tenant", "source"]);
    let err = String::from_utf8_lossy(&out.stderr);
    // Graph refused (a service answer, not bad input): exit 3.
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("missing Directory.Read.All (GET /oauth2PermissionGrants)"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn revoke_undo_remove_connector_delete_restore_and_read_only() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let mut grants = vec![READ];
    grants.extend(WRITES);
    let sim = serve(dir, &grants);
    let graph_url = sim.info["graph_url"]
        .as_str()
        .expect("graph_url")
        .to_string();
    ok(&run(dir, &["snapshot", "--tenant", "source"]));

    // Read-only: every change refused, the sim receives no write.
    let all = plan(dir, "all.json", &[]);
    assert!(all.len() >= 10, "{all:#?}");
    let before = mutations(&graph_url);
    let out = run(dir, &["apply", &at(dir, "all.json"), "--read-only"]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let after = mutations(&graph_url);
    assert_eq!(after["received"], before["received"], "{after}");
    assert_eq!(after["total"], 0);
    assert_eq!(inventory(dir)["connectors"].as_array().unwrap().len(), 4);

    // Revoke the CRM's delegated grants: gone from the sim.
    let crm = plan(
        dir,
        "crm.json",
        &["--only", "apps", "--app", "Northwind CRM"],
    );
    assert_eq!(crm.len(), 3, "{crm:#?}");
    assert!(crm.iter().all(|c| c["field"] == "oauth2PermissionGrant"));
    ok(&run(dir, &["apply", &at(dir, "crm.json"), "--yes"]));
    let inv = inventory(dir);
    assert!(app(&inv, "Northwind CRM").is_none(), "{inv:#}");
    assert_eq!(mutations(&graph_url)["total"], 3);

    // Undo one: that person's grant is back, the others stay revoked.
    let one = crm[0]["id"].as_str().unwrap();
    let who = crm[0]["before"]["principalId"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&run(dir, &["undo", one, "--yes"]));
    let inv = inventory(dir);
    let back = app(&inv, "Northwind CRM").expect("restored");
    let delegated = back["delegated"].as_array().unwrap();
    assert_eq!(delegated.len(), 1);
    assert_eq!(delegated[0]["principal_id"], who.as_str());

    // Remove the connectors that exist only for the domain, through Exchange, each confirmed
    // by reading Get-…Connector until it is gone.
    let conn = plan(dir, "conn.json", &["--only", "connectors"]);
    assert_eq!(conn.len(), 3);
    assert!(conn.iter().all(|c| c["route"]["via"] == "exchange"));
    let out = ok(&run(dir, &["apply", &at(dir, "conn.json"), "--yes"]));
    assert!(out.contains("3 of 3 changes in effect"), "{out}");
    let journal =
        std::fs::read_to_string(dir.join("data/audit/contoso.example.jsonl")).expect("journal");
    assert_eq!(
        journal
            .matches("confirmed: Get-InboundConnector no longer lists it")
            .count(),
        2,
        "{journal}"
    );
    let left = inventory(dir);
    let connectors = left["connectors"].as_array().unwrap();
    assert_eq!(connectors.len(), 1);
    assert_eq!(connectors[0]["names_domain"], false);

    // Undo a connector removal: New-InboundConnector with the saved settings.
    let relay = conn
        .iter()
        .find(|c| c["target"]["id"] == "Relay365 inbound")
        .expect("relay removal");
    ok(&run(dir, &["undo", relay["id"].as_str().unwrap(), "--yes"]));
    let inv = inventory(dir);
    let again = inv["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "Relay365 inbound")
        .expect("recreated");
    assert_eq!(again["sender_ip_addresses"].as_array().unwrap().len(), 2);
    assert_eq!(again["names_domain"], true);

    // Delete a service principal, then restore it with its application permissions.
    let del = plan(
        dir,
        "del.json",
        &[
            "--only",
            "apps",
            "--app",
            "Fabrikam Cloud Backup",
            "--delete",
        ],
    );
    assert_eq!(del.len(), 1);
    assert!(del[0]["rule"].as_str().unwrap().contains("30 days"));
    ok(&run(dir, &["apply", &at(dir, "del.json"), "--yes"]));
    assert!(app(&inventory(dir), "Fabrikam Cloud Backup").is_none());
    ok(&run(
        dir,
        &["undo", del[0]["id"].as_str().unwrap(), "--yes"],
    ));
    let inv = inventory(dir);
    let restored = app(&inv, "Fabrikam Cloud Backup").expect("restored");
    assert_eq!(restored["application"].as_array().unwrap().len(), 2);

    // An application the inventory does not list: one line, exit 2.
    crate::common::cli::one_line_exit_2(
        &run(dir, &["plan", "access", "--app", "No such app"]),
        "no listed application is 'No such app'",
    );
    ok(&run(dir, &["audit", "verify"]));
}
