//! `cutover inventory` against `sim serve`: every object holding the domain, with how, checked
//! against the rehearsal directory read independently through the Graph client.

use std::collections::{HashMap, HashSet};
use std::process::Command;

use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::graph::model::address_in_domain;
use cutover::graph::{Credentials, Endpoints, GraphClient};

use crate::common;
use common::{BIN, sim_serve};

#[test]
fn inventory_lists_every_holder_with_how() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sim.toml");
    let served = sim_serve(&config, dir.path(), &["--users", "300"]);
    let info = served.info.clone();

    let out = Command::new(BIN)
        .args(["inventory", "--tenant", "source", "--json", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let entries: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let by_kind = |k: &str| -> HashMap<String, serde_json::Value> {
        entries
            .iter()
            .filter(|e| e["kind"] == k)
            .map(|e| (e["id"].as_str().expect("id").to_string(), e.clone()))
            .collect()
    };

    // Independently: which users and groups hold the domain.
    let domain = info["domain"].as_str().expect("domain").to_string();
    let t = &info["tenants"][0];
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (users, groups) = rt.block_on(async {
        let c = GraphClient::new(
            Endpoints {
                login_url: info["login_url"].as_str().expect("url").into(),
                graph_url: info["graph_url"].as_str().expect("url").into(),
                graph_scope: GLOBAL_GRAPH_SCOPE.into(),
            },
            Credentials {
                tenant: t["id"].as_str().expect("id").into(),
                client_id: t["client_id"].as_str().expect("cid").into(),
                client_secret: t["client_secret"].as_str().expect("s").into(),
            },
        )
        .expect("client");
        (
            c.users().await.expect("users"),
            c.groups().await.expect("groups"),
        )
    });
    let holding_users: HashSet<String> = users
        .iter()
        .filter(|u| {
            address_in_domain(&u.user_principal_name, &domain)
                || u.mail
                    .as_deref()
                    .is_some_and(|m| address_in_domain(m, &domain))
                || u.proxy_addresses.iter().any(|p| {
                    address_in_domain(p.split_once(':').map_or(p.as_str(), |x| x.1), &domain)
                })
        })
        .map(|u| u.id.clone())
        .collect();
    let listed_users: HashSet<String> = by_kind("user").into_keys().collect();
    assert_eq!(listed_users, holding_users);
    // Users carry their state: enabled, synced, licences as Graph reports them.
    let listed = by_kind("user");
    let mut licensed = 0;
    for u in users.iter().filter(|u| listed.contains_key(&u.id)) {
        let e = &listed[&u.id];
        assert_eq!(e["licences"], u.assigned_licenses.len(), "{e}");
        assert_eq!(e["enabled"], u.account_enabled.unwrap_or(true), "{e}");
        assert!(e["synced"].is_boolean(), "{e}");
        licensed += usize::from(!u.assigned_licenses.is_empty());
    }
    assert!(
        licensed > 0 && licensed < listed.len(),
        "a mix of licensed and not"
    );
    assert!(
        users.len() > holding_users.len(),
        "some users do not hold it"
    );

    let group_holders = groups
        .iter()
        .filter(|g| {
            g.mail
                .as_deref()
                .is_some_and(|m| address_in_domain(m, &domain))
                || g.proxy_addresses
                    .iter()
                    .any(|p| address_in_domain(p, &domain))
        })
        .count();
    let listed_groups = entries
        .iter()
        .filter(|e| e["kind"].as_str().is_some_and(|k| k.ends_with("_group")))
        .count();
    assert_eq!(listed_groups, group_holders);

    // Contacts: 15 generated for 300 people, every fourth holding the domain: the eighth
    // through an alias (a partner's contact), the others sending into it.
    let contacts = by_kind("contact");
    assert_eq!(contacts.len(), 3);
    let mut hows: Vec<&str> = contacts
        .values()
        .map(|c| c["references"][0]["how"].as_str().unwrap_or_default())
        .collect();
    hows.sort_unstable();
    assert_eq!(hows, ["mail", "mail", "smtpAddress"]);
    // Applications: only the one with identifier URIs on the domain.
    let apps = by_kind("application");
    assert_eq!(apps.len(), 1);
    let app = apps.values().next().expect("app");
    assert_eq!(app["display_name"], "Intranet");
    assert_eq!(app["references"].as_array().expect("refs").len(), 2);
    assert!(
        app["references"]
            .as_array()
            .expect("refs")
            .iter()
            .all(|r| r["how"] == "identifierUri")
    );

    // Every user's reference says how, e.g. the primary SMTP address.
    let a_user = by_kind("user").into_values().next().expect("user");
    let hows: Vec<&str> = a_user["references"]
        .as_array()
        .expect("refs")
        .iter()
        .filter_map(|r| r["how"].as_str())
        .collect();
    assert!(
        hows.iter()
            .any(|h| ["userPrincipalName", "mail", "primarySmtpAddress"].contains(h))
    );

    // The text form leads with the total.
    let text = Command::new(BIN)
        .args(["inventory", "--tenant", "source", "--config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.starts_with(&format!(
            "{} objects in the source tenant hold {domain}:",
            entries.len()
        )),
        "{text}"
    );
}
