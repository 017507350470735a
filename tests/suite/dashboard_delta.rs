//! The dashboard's tenant poll keeps the directory live through delta queries: after the first
//! full listing, a poll in which nothing changed costs one request per collection (and lists
//! `domainNameReferences` only after a change), and a tenant whose directory no pane shows is
//! not listed at all.
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
    let (bare, _) = poll_tenant(&client, &domain, None).await.expect("poll");
    let bare_cost = sim.graph_requests() - before;
    assert!(bare.users.is_empty() && bare.groups.is_empty());
    assert!(
        !bare.references.is_empty(),
        "the sim's users hold the domain"
    );

    let mut directory = Directory::default();
    let before = sim.graph_requests();
    let (first, listed_first) = poll_tenant(&client, &domain, Some(&mut directory))
        .await
        .expect("first poll");
    assert!(listed_first, "a first listing is a change");
    let first_cost = sim.graph_requests() - before;
    let all = client.users().await.expect("users");
    assert_eq!(directory.users().len(), all.len());
    assert_eq!(
        directory.groups().len(),
        client.groups().await.expect("groups").len()
    );
    // The live copy is the directory: the snapshot does not carry 100,000 objects each poll.
    assert!(first.users.is_empty() && first.groups.is_empty());
    // The count is Graph's whole list; only references the user and group lists do not show
    // holding the domain are kept (here none: the sim's holders are users and groups).
    assert_eq!(first.reference_count(), bare.references.len());
    assert!(first.references.len() < bare.references.len());
    assert!(
        first_cost > bare_cost + 2,
        "the first round pages through everything: {first_cost} vs {bare_cost}"
    );

    let ids = |d: &Directory| d.users().map(|u| u.id.clone()).collect::<Vec<_>>();
    let listed = ids(&directory);
    for _ in 0..3 {
        let before = sim.graph_requests();
        let (quiet, moved) = poll_tenant(&client, &domain, Some(&mut directory))
            .await
            .expect("quiet poll");
        assert!(!moved, "nothing changed");
        // Organization, domain and one delta request per collection: the references can only
        // change with the users and groups, so a quiet round does not list them again.
        assert_eq!(sim.graph_requests() - before, 4);
        assert_eq!(quiet.references, first.references);
        assert_eq!(quiet.reference_count(), first.reference_count());
        assert_eq!(ids(&directory), listed);
    }

    // Changes arrive through the same one request per collection, and the references are
    // listed again.
    assert!(sim.rename_user("source", &all[10].id, "Renamed Ten"));
    assert!(sim.delete_user("source", &all[11].id));
    let group = directory.groups().next().expect("a group").id.clone();
    assert!(sim.rename_group("source", &group, "Renamed Group"));
    let before = sim.graph_requests();
    let (changed, moved) = poll_tenant(&client, &domain, Some(&mut directory))
        .await
        .expect("poll after changes");
    assert!(moved, "the round saw the changes");
    assert_eq!(sim.graph_requests() - before, bare_cost + 2);
    let (fresh, _) = poll_tenant(&client, &domain, None)
        .await
        .expect("bare poll");
    assert_eq!(changed.reference_count(), fresh.references.len());
    assert_eq!(
        changed.reference_count() + 1,
        first.reference_count(),
        "a user was deleted"
    );
    assert_eq!(directory.users().len(), all.len() - 1);
    let name = |id: &str| {
        directory
            .users()
            .find(|u| u.id == id)
            .map(|u| u.display_name.clone().unwrap_or_default())
    };
    assert_eq!(name(&all[10].id).as_deref(), Some("Renamed Ten"));
    assert_eq!(name(&all[11].id), None, "the deleted user is gone");
    let renamed = directory.groups().find(|g| g.id == group);
    assert_eq!(
        renamed.and_then(|g| g.display_name.as_deref()),
        Some("Renamed Group")
    );
    // The kept directory matches a full listing.
    let mut listed: Vec<String> = client
        .users()
        .await
        .expect("users")
        .into_iter()
        .map(|u| u.id)
        .collect();
    let mut kept = ids(&directory);
    listed.sort();
    kept.sort();
    assert_eq!(kept, listed);
}
