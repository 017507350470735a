//! The rehearsal environment at full scale (100,000 users, 20,000 generated groups, 5,000
//! contacts), listed through the product's `GraphClient` with `$top=999`: every object
//! arrives exactly once, checked as a set and a count against what the sim holds.

use std::collections::HashSet;

use cutover::graph::GraphClient;
use cutover::sim::{SHARED_MAILBOXES, Sim, SimOptions};

fn client(sim: &Sim) -> GraphClient {
    sim.graph_client("source").expect("client")
}

/// Same ids, each once: the listing's count equals its set's size equals the sim's.
fn assert_complete(what: &str, listed: Vec<String>, held: Vec<String>) {
    let n = listed.len();
    let set: HashSet<String> = listed.into_iter().collect();
    assert_eq!(set.len(), n, "{what}: {} ids listed twice", n - set.len());
    let expected: HashSet<String> = held.into_iter().collect();
    assert_eq!(
        set.len(),
        expected.len(),
        "{what}: listed {} of {}",
        set.len(),
        expected.len()
    );
    let missing = expected.difference(&set).count();
    let foreign = set.difference(&expected).count();
    assert_eq!((missing, foreign), (0, 0), "{what}: missing, not held");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_thousand_users_page_through_without_loss_or_duplicate() {
    let sim = Sim::start(SimOptions {
        users: 100_000,
        groups: 20_000,
        contacts: Some(5_000),
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let c = client(&sim);
    let before = sim.graph_requests();
    let (users, groups, contacts) =
        tokio::try_join!(c.users(), c.groups(), c.contacts()).expect("listings");

    assert_eq!(users.len(), 100_000 + SHARED_MAILBOXES.len());
    assert_complete(
        "users",
        users.into_iter().map(|u| u.id).collect(),
        sim.ids("source", "users").expect("users"),
    );
    assert_eq!(groups.len(), 20_000 + 9);
    assert_complete(
        "groups",
        groups.into_iter().map(|g| g.id).collect(),
        sim.ids("source", "groups").expect("groups"),
    );
    assert_eq!(contacts.len(), 5_000);
    assert_complete(
        "contacts",
        contacts.into_iter().map(|c| c.id).collect(),
        sim.ids("source", "contacts").expect("contacts"),
    );
    // $top=999 really was used: ceil(100003/999) + ceil(20009/999) + ceil(5000/999) pages.
    assert_eq!(sim.graph_requests() - before, 101 + 21 + 6);
    assert_eq!(c.count("/v1.0/users").await.expect("count"), 100_003);
    sim.shutdown().await;
}

#[test]
fn sim_serve_scale_flags_are_checked_in_one_line() {
    for (flag, value) in [
        ("--users", "100001"),
        ("--groups", "20001"),
        ("--contacts", "5001"),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_cutover"))
            .args(["sim", "serve", flag, value])
            .output()
            .expect("run cutover");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(flag) && err.contains(value), "{err}");
    }
}
