//! The executor's Graph route against the rehearsal environment over loopback, with the write
//! permissions granted: UPN changes applied exactly once each (the sim's per-object mutation
//! counters), writes whose answer is lost or that fail with a 5xx settled by reading the user
//! back rather than re-sending, read-only mode sending nothing, Microsoft's refusal of a UPN on
//! an unverified domain carried into the outcome in its own words, an unfinished intent
//! reconciled without a write, and a domain removal (which has no inverse).

use std::sync::Arc;
use std::time::Duration;

use cutover::audit::{Journal, Kind, Record, read_records, verify_file};
use cutover::executor::{Executor, Status};
use cutover::graph::{GraphClient, RetryPolicy};
use cutover::plan::change::{Change, Inverse, Route};
use cutover::sim::relay::{WriteCounts, counting_relay};
use cutover::sim::{Sim, SimOptions, WRITE_PERMISSIONS};

use crate::common;

async fn sim() -> Sim {
    Sim::start(SimOptions {
        users: 120,
        grant_permissions: WRITE_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
        domain_removal_delay: Duration::from_millis(300),
        ..SimOptions::default()
    })
    .await
    .expect("sim")
}

/// A domain nothing in the rehearsal references (partner contacts use fabrikam.example).
const SPARE: &str = "spare-domain.example";

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    }
}

fn graph(sim: &Sim) -> GraphClient {
    sim.graph_client("source")
        .expect("graph client")
        .with_retry(quick())
}

/// The source's Graph client through a relay that counts the write requests reaching the sim.
async fn relayed(sim: &Sim) -> (GraphClient, Arc<WriteCounts>) {
    let (url, counts) = counting_relay(&sim.graph_url()).await.expect("relay");
    let client = sim
        .graph_client_via("source", &url)
        .expect("client")
        .with_retry(quick());
    (client, counts)
}

/// `n` cloud users of the custom domain moved to `<local part>@<initial domain>`.
async fn upn_changes(sim: &Sim, n: usize) -> Vec<Change> {
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    let users = graph(sim).users().await.expect("users");
    let taken: Vec<String> = users
        .iter()
        .map(|u| u.user_principal_name.to_ascii_lowercase())
        .collect();
    let plan: Vec<Change> = users
        .iter()
        .filter(|u| u.on_premises_sync_enabled != Some(true))
        .filter_map(|u| {
            let (local, host) = u.user_principal_name.rsplit_once('@')?;
            if !host.eq_ignore_ascii_case(sim.domain()) {
                return None;
            }
            let new = format!("{local}@{initial}");
            if taken.contains(&new.to_ascii_lowercase()) {
                return None;
            }
            Some(Change::set_upn(
                "source",
                &u.id,
                u.display_name.as_deref().unwrap_or(&u.user_principal_name),
                &u.user_principal_name,
                &new,
            ))
        })
        .take(n)
        .collect();
    assert_eq!(plan.len(), n, "the sim has {n} cloud users in the domain");
    plan
}

fn lines<'r>(records: &'r [Record], kind: Kind, id: &str) -> Vec<&'r Record> {
    records
        .iter()
        .filter(|r| r.event.kind == kind && r.event.details["change"] == id)
        .collect()
}

async fn upn_of(sim: &Sim, id: &str) -> String {
    graph(sim)
        .user_principal_name(id)
        .await
        .expect("read user")
        .0
}

#[tokio::test]
async fn thirty_upn_changes_at_concurrency_four_are_each_applied_once() {
    let sim = sim().await;
    let plan = upn_changes(&sim, 30).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");
    let (client, seen) = relayed(&sim).await;
    // Single PATCHes, which the relay counts ($batch writes: tests/suite/pacing.rs).
    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_graph("source", client)
        .concurrency(4)
        .batching(false);
    let results = exec.run(&plan).await.expect("run");
    assert!(
        results.iter().all(|r| r.status == Status::Applied),
        "{results:?}"
    );
    let m = sim.mutations();
    assert_eq!(m.total, 30, "one mutating request per change");
    assert_eq!(seen.patches(), 30, "one PATCH per change");
    let records = read_records(&path).expect("records");
    for c in &plan {
        assert_eq!(m.of("source", &c.target.id), 1, "{}", c.target.display);
        assert_eq!(upn_of(&sim, &c.target.id).await, c.after.as_str().unwrap());
        let intents = lines(&records, Kind::Intent, &c.id);
        let outcomes = lines(&records, Kind::Outcome, &c.id);
        assert_eq!((intents.len(), outcomes.len()), (1, 1), "{}", c.id);
        assert!(intents[0].seq < outcomes[0].seq);
        assert_eq!(outcomes[0].event.result.as_deref(), Some("ok"));
        assert!(
            outcomes[0].event.request_id.is_some(),
            "the write's request-id"
        );
        // The inverse sets the old UPN back.
        let Inverse::Apply {
            route: Route::Graph { body, .. },
        } = &c.inverse
        else {
            panic!("a Graph inverse");
        };
        assert_eq!(
            body.as_ref().unwrap()["userPrincipalName"],
            c.before,
            "inverse"
        );
    }
    assert!(verify_file(&path).expect("verify").is_ok());

    // The same plan again sends nothing.
    let again = exec.run(&plan).await.expect("again");
    assert!(again.iter().all(|r| r.status == Status::AlreadyDone));
    assert_eq!(sim.mutations().total, 30);
    assert_eq!(seen.patches(), 30);
}

#[tokio::test]
async fn lost_answers_and_failed_writes_are_settled_by_reading_not_resending() {
    let sim = sim().await;
    let plan = upn_changes(&sim, 30).await;
    // Cut the answer of 3 writes in 10 after applying them; fail 1 in 10 before applying.
    sim.set_write_faults(0.1, 0.3);
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");
    let (client, seen) = relayed(&sim).await;
    // Single PATCHes, which the relay counts ($batch writes: tests/suite/pacing.rs).
    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_graph("source", client)
        .concurrency(4)
        .batching(false);
    let results = exec.run(&plan).await.expect("run");
    // A change refused with 503 on each of its 3 sends (about one run in thirty) is left
    // failed, saying so; the resume below applies it.
    assert!(
        results.iter().all(|r| match &r.status {
            Status::Applied => true,
            Status::Failed(why) => why.contains("reading back showed it not applied"),
            _ => false,
        }),
        "{results:?}"
    );
    let resumed = exec.run(&plan).await.expect("resume");
    assert!(
        resumed
            .iter()
            .all(|r| matches!(r.status, Status::AlreadyDone | Status::Applied)),
        "{resumed:?}"
    );
    let m = sim.mutations();
    // A lost answer is settled by a read; only a write refused with 503 before it ran is
    // sent again.
    assert_eq!(seen.patches(), 30 + m.failed, "{m:?}");
    assert!(m.dropped > 0, "some answers were lost: {m:?}");
    assert!(m.failed > 0, "some writes failed before applying: {m:?}");
    for c in &plan {
        assert_eq!(
            m.of("source", &c.target.id),
            1,
            "{} applied exactly once",
            c.target.display
        );
        assert_eq!(upn_of(&sim, &c.target.id).await, c.after.as_str().unwrap());
    }
    assert_eq!(m.total, 30);
    let records = read_records(&path).expect("records");
    let confirmed = records
        .iter()
        .filter(|r| {
            r.event.kind == Kind::Outcome && r.event.action.contains("confirmed by reading")
        })
        .count() as u64;
    // Every lost answer was settled by a read (a read after a 503 finds nothing and re-sends).
    assert_eq!(confirmed, m.dropped, "{m:?}");
    for c in &plan {
        let outcomes = lines(&records, Kind::Outcome, &c.id);
        let ok = outcomes
            .iter()
            .filter(|o| o.event.result.as_deref() == Some("ok"))
            .count();
        assert_eq!(ok, 1, "{}: one ok outcome", c.id);
        assert_eq!(
            outcomes.last().and_then(|o| o.event.result.as_deref()),
            Some("ok")
        );
    }
    assert!(verify_file(&path).expect("verify").is_ok());
}

#[tokio::test]
async fn read_only_sends_no_mutating_request() {
    let sim = sim().await;
    let mut plan = upn_changes(&sim, 5).await;
    plan.push(Change::remove_domain("source", sim.domain()));
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");
    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_graph("source", graph(&sim))
        .read_only(true);
    let results = exec.run(&plan).await.expect("run");
    assert!(
        results.iter().all(|r| r.status == Status::Refused),
        "{results:?}"
    );
    assert_eq!(sim.mutations().total, 0, "zero mutating requests");
    for c in plan.iter().take(5) {
        assert_eq!(upn_of(&sim, &c.target.id).await, c.before.as_str().unwrap());
    }
    let records = read_records(&path).expect("records");
    assert!(records.iter().all(|r| r.event.kind != Kind::Intent));
}

#[tokio::test]
async fn a_upn_on_an_unverified_domain_fails_with_microsofts_words() {
    let sim = sim().await;
    let g = graph(&sim);
    g.add_domain("fabrikam.example").await.expect("add domain");
    let before = sim.mutations().total;
    let mut c = upn_changes(&sim, 1).await.remove(0);
    let user = c.target.id.clone();
    let old = c.before.as_str().unwrap().to_string();
    let local = old.split_once('@').unwrap().0;
    c = Change::set_upn(
        "source",
        &user,
        &c.target.display,
        &old,
        &format!("{local}@fabrikam.example"),
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");
    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_graph("source", graph(&sim));
    let results = exec.run(std::slice::from_ref(&c)).await.expect("run");
    let Status::Failed(why) = &results[0].status else {
        panic!("refused: {results:?}");
    };
    assert!(
        why.contains("The domain portion of the userPrincipalName property is invalid"),
        "{why}"
    );
    assert!(results[0].request_id.is_some(), "the refusal's request-id");
    assert_eq!(sim.mutations().total, before, "nothing changed");
    assert_eq!(upn_of(&sim, &user).await, old);
    let records = read_records(&path).expect("records");
    let outcome = lines(&records, Kind::Outcome, &c.id);
    assert_eq!(outcome.len(), 1);
    assert!(
        outcome[0]
            .event
            .result
            .as_deref()
            .unwrap_or_default()
            .contains("You must use one of the verified domain names"),
        "{:?}",
        outcome[0].event.result
    );
}

#[tokio::test]
async fn an_unfinished_upn_intent_is_reconciled_by_reading_the_user() {
    let sim = sim().await;
    let plan = upn_changes(&sim, 2).await;
    let (applied, not_applied) = (&plan[0], &plan[1]);
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");
    // An earlier run journaled both intents and died after the first write reached Graph.
    common::interrupted_run(&path, &plan, "userPrincipalName via PATCH");
    graph(&sim)
        .patch_user(
            &applied.target.id,
            &serde_json::json!({"userPrincipalName": applied.after}),
        )
        .await
        .expect("the earlier run's write");
    assert_eq!(sim.mutations().total, 1);
    let exec =
        Executor::new(Journal::open(&path, "c").expect("reopen")).with_graph("source", graph(&sim));
    let results = exec.run(&plan).await.expect("resume");
    assert_eq!(results[0].status, Status::Reconciled);
    assert_eq!(results[1].status, Status::Applied);
    let m = sim.mutations();
    assert_eq!(m.total, 2, "nothing re-sent for the change already applied");
    assert_eq!(m.of("source", &applied.target.id), 1);
    assert_eq!(m.of("source", &not_applied.target.id), 1);
    assert!(verify_file(&path).expect("verify").is_ok());
}

#[tokio::test]
async fn a_domain_removal_is_applied_once_and_has_no_inverse() {
    let sim = sim().await;
    let g = graph(&sim);
    g.add_domain(SPARE).await.expect("add domain");
    assert_eq!(sim.mutations().of("source", SPARE), 1, "added");
    let c = Change::remove_domain("source", SPARE);
    assert!(
        matches!(&c.inverse, Inverse::None { why } if why.contains("added and verified again"))
    );
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");
    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_graph("source", graph(&sim));
    let results = exec.run(std::slice::from_ref(&c)).await.expect("run");
    assert_eq!(results[0].status, Status::Applied, "{results:?}");
    assert_eq!(sim.mutations().of("source", SPARE), 2, "removed once");
    // Removal is asynchronous: 404 once it completes.
    let mut gone = false;
    for _ in 0..50 {
        if g.domain_state(SPARE).await.expect("read").0.is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(gone, "the domain was removed");

    // The custom domain is the default and referenced: making the initial domain default
    // goes through; the removal then meets Microsoft's refusal, in its words.
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    let default = Change::set_default_domain("source", &initial, sim.domain());
    let mut remove = Change::remove_domain("source", sim.domain());
    remove.prerequisites.push(default.id.clone());
    let results = exec.run(&[default.clone(), remove]).await.expect("run");
    assert_eq!(results[0].status, Status::Applied, "{results:?}");
    assert!(
        g.domain_state(&initial)
            .await
            .expect("read")
            .0
            .expect("initial")
            .is_default
    );
    let Status::Failed(why) = &results[1].status else {
        panic!("refused: {results:?}");
    };
    assert!(why.contains("still reference it"), "{why}");
    assert!(why.contains("request-id"), "{why}");
    // Its inverse makes the custom domain default again.
    let Inverse::Apply {
        route: Route::Graph { path, .. },
    } = &default.inverse
    else {
        panic!("a Graph inverse");
    };
    assert!(path.ends_with(sim.domain()), "{path}");
}

#[tokio::test]
async fn force_delete_without_disable_user_accounts_is_refused_before_any_request() {
    let sim = sim().await;
    let mut c = Change::force_delete_domain("source", sim.domain(), false);
    let Route::Graph { body, .. } = &c.route else {
        panic!("a Graph route");
    };
    assert_eq!(
        body.as_ref().unwrap()["disableUserAccounts"],
        serde_json::json!(false),
        "said explicitly"
    );
    if let Route::Graph { body, .. } = &mut c.route {
        *body = None;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let exec = Executor::new(Journal::open(&tmp.path().join("c.jsonl"), "c").expect("journal"))
        .with_graph("source", graph(&sim));
    let err = exec
        .run(std::slice::from_ref(&c))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("disableUserAccounts"), "{err}");
    assert_eq!(sim.mutations().total, 0);
}
