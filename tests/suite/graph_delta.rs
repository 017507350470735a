//! Delta queries against the rehearsal environment: the first round lists everything, a
//! delta after changes returns exactly the changes, `$deltatoken=latest` starts from now.

use std::collections::HashSet;

use cutover::graph::GraphClient;
use cutover::sim::{Sim, SimOptions};

fn client(sim: &Sim) -> GraphClient {
    sim.graph_client("source").expect("client")
}

#[tokio::test]
async fn delta_after_changes_returns_exactly_the_changes() {
    let sim = Sim::start(SimOptions {
        users: 450,
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let c = client(&sim);
    let first = c.users_delta(None).await.expect("first round");
    let all = c.users().await.expect("users");
    assert_eq!(first.changed.len(), all.len());
    let ids: HashSet<&str> = first.changed.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids.len(), all.len(), "no duplicates across pages");
    assert!(first.removed.is_empty());

    let quiet = c
        .users_delta(Some(&first.delta_link))
        .await
        .expect("no changes");
    assert!(quiet.changed.is_empty() && quiet.removed.is_empty());

    // Two renames (one of them twice) and a deletion.
    assert!(sim.rename_user("source", &all[3].id, "Renamed Three"));
    assert!(sim.rename_user("source", &all[200].user_principal_name, "Renamed 200"));
    assert!(sim.rename_user("source", &all[3].id, "Renamed Three Again"));
    assert!(sim.delete_user("source", &all[7].id));

    let d = c.users_delta(Some(&quiet.delta_link)).await.expect("delta");
    let mut changed: Vec<(String, String)> = d
        .changed
        .iter()
        .map(|u| (u.id.clone(), u.display_name.clone().unwrap_or_default()))
        .collect();
    changed.sort();
    let mut expected = vec![
        (all[3].id.clone(), "Renamed Three Again".to_string()),
        (all[200].id.clone(), "Renamed 200".to_string()),
    ];
    expected.sort();
    assert_eq!(changed, expected);
    assert_eq!(d.removed, vec![all[7].id.clone()]);

    // The link from this round starts after these changes.
    let after = c.users_delta(Some(&d.delta_link)).await.expect("after");
    assert!(after.changed.is_empty() && after.removed.is_empty());
}

#[tokio::test]
async fn latest_token_starts_from_now_and_groups_have_delta_too() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let c = client(&sim);
    let groups = c.groups().await.expect("groups");
    let link = c.latest_delta_link("groups").await.expect("latest");
    assert!(sim.rename_group("source", &groups[0].id, "Renamed group"));
    let d = c.groups_delta(Some(&link)).await.expect("delta");
    assert_eq!(d.changed.len(), 1);
    assert_eq!(d.changed[0].display_name.as_deref(), Some("Renamed group"));
    // A user change is not in the groups delta.
    let users = c.users().await.expect("users");
    assert!(sim.rename_user("source", &users[0].id, "X"));
    let d2 = c.groups_delta(Some(&d.delta_link)).await.expect("delta");
    assert!(d2.changed.is_empty());
    // A tampered delta token is refused, not misread.
    let bad = d.delta_link.replace("deltatoken=", "deltatoken=1");
    assert!(c.groups_delta(Some(&bad)).await.is_err());
}

#[tokio::test]
async fn a_large_groups_delta_lists_every_group_then_only_the_renamed_ones() {
    let sim = Sim::start(SimOptions {
        groups: 2_500,
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let c = client(&sim);
    // The first round pages through every group, each once.
    let first = c.groups_delta(None).await.expect("first round");
    let held: HashSet<String> = sim
        .ids("source", "groups")
        .expect("groups")
        .into_iter()
        .collect();
    let listed: HashSet<String> = first.changed.iter().map(|g| g.id.clone()).collect();
    assert_eq!(first.changed.len(), held.len(), "no group twice");
    assert_eq!(listed, held);

    let ids: Vec<&String> = first.changed.iter().map(|g| &g.id).collect();
    assert!(sim.rename_group("source", ids[10], "Renamed ten"));
    assert!(sim.rename_group("source", ids[2_400], "Renamed 2400"));
    // A user change is not a group change.
    let user = sim.ids("source", "users").expect("users")[0].clone();
    assert!(sim.rename_user("source", &user, "Someone else"));

    let d = c
        .groups_delta(Some(&first.delta_link))
        .await
        .expect("delta");
    let mut changed: Vec<(String, String)> = d
        .changed
        .iter()
        .map(|g| (g.id.clone(), g.display_name.clone().unwrap_or_default()))
        .collect();
    changed.sort();
    let mut expected = vec![
        (ids[10].clone(), "Renamed ten".to_string()),
        (ids[2_400].clone(), "Renamed 2400".to_string()),
    ];
    expected.sort();
    assert_eq!(changed, expected);
    assert!(d.removed.is_empty());
}
