//! The dashboard's tenant poll keeps the directory live through delta queries: after the first
//! full listing, a poll in which nothing changed costs one request per collection more than a
//! poll that lists nothing, and a tenant whose directory no pane shows is not listed at all.
//! Counted at the rehearsal environment (`Sim::graph_requests`).

use cutover::app::pollers::{Directory, poll_tenant};
use cutover::sim::{Sim, SimOptions};

#[tokio::test]
async fn a_quiet_poll_costs_one_request_per_collection() {
    let sim = Sim::start(SimOptions {
        users: 2500,
        groups: 300,
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let client = sim.graph_client("source").expect("client");
    let domain = sim.domain().to_string();

    // What a poll costs without the directory (organization, domain, its references).
    let before = sim.graph_requests();
    let bare = poll_tenant(&client, &domain, None).await.expect("poll");
    let bare_cost = sim.graph_requests() - before;
    assert!(bare.users.is_empty() && bare.groups.is_empty());

    let mut directory = Directory::default();
    let before = sim.graph_requests();
    let first = poll_tenant(&client, &domain, Some(&mut directory))
        .await
        .expect("first poll");
    let first_cost = sim.graph_requests() - before;
    let all = client.users().await.expect("users");
    assert_eq!(first.users.len(), all.len());
    assert_eq!(
        first.groups.len(),
        client.groups().await.expect("groups").len()
    );
    assert!(
        first_cost > bare_cost + 2,
        "the first round pages through everything: {first_cost} vs {bare_cost}"
    );

    for _ in 0..3 {
        let before = sim.graph_requests();
        let quiet = poll_tenant(&client, &domain, Some(&mut directory))
            .await
            .expect("quiet poll");
        assert_eq!(sim.graph_requests() - before, bare_cost + 2);
        assert_eq!(quiet.users, first.users);
        assert_eq!(quiet.groups, first.groups);
    }

    // Changes arrive through the same one request per collection.
    assert!(sim.rename_user("source", &all[10].id, "Renamed Ten"));
    assert!(sim.delete_user("source", &all[11].id));
    let group = first.groups[0].id.clone();
    assert!(sim.rename_group("source", &group, "Renamed Group"));
    let before = sim.graph_requests();
    let changed = poll_tenant(&client, &domain, Some(&mut directory))
        .await
        .expect("poll after changes");
    assert_eq!(sim.graph_requests() - before, bare_cost + 2);
    assert_eq!(changed.users.len(), all.len() - 1);
    let name = |id: &str| {
        changed
            .users
            .iter()
            .find(|u| u.id == id)
            .map(|u| u.display_name.clone().unwrap_or_default())
    };
    assert_eq!(name(&all[10].id).as_deref(), Some("Renamed Ten"));
    assert_eq!(name(&all[11].id), None, "the deleted user is gone");
    let renamed = changed.groups.iter().find(|g| g.id == group);
    assert_eq!(
        renamed.and_then(|g| g.display_name.as_deref()),
        Some("Renamed Group")
    );
    // The snapshot matches a full listing.
    let mut listed: Vec<String> = client
        .users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut kept: Vec<String> = changed.users.iter().map(|u| u.id.clone()).collect();
    listed.sort();
    kept.sort();
    assert_eq!(kept, listed);
}
