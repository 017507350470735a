//! The Graph client against a troubled rehearsal environment: `$batch` with throttled items,
//! `$count` under `ConsistencyLevel: eventual`, the per-tenant concurrency limit, 429 with
//! `Retry-After`, and listings that stay complete under 10% injected faults.

use std::collections::HashSet;
use std::time::Duration;

use cutover::graph::batch::BatchRequest;
use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::graph::{GraphClient, RetryPolicy};
use cutover::sim::{Faults, Sim, SimOptions, Throttle};

fn client(sim: &Sim) -> GraphClient {
    sim.graph_client("source")
        .expect("client")
        .with_retry(RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_secs(2),
        })
}

#[tokio::test]
async fn batch_retries_only_throttled_items_and_keeps_final_statuses() {
    let sim = Sim::start(SimOptions {
        users: 60,
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let c = client(&sim);
    let users = c.users().await.expect("users");
    let mut requests: Vec<BatchRequest> = users
        .iter()
        .take(45)
        .enumerate()
        .map(|(i, u)| BatchRequest::get(i.to_string(), format!("/users/{}?$select=id", u.id)))
        .collect();
    requests.push(BatchRequest::get(
        "missing",
        "/users/00000000-0000-0000-0000-000000000000",
    ));
    // 25 requests at once, then 15 a second: the first batches drain the bucket.
    sim.set_throttle(Some(Throttle {
        capacity: 25,
        per_second: 15.0,
    }));
    let answers = c.batch(requests).await.expect("batch");
    assert!(
        sim.fault_counts().1 >= 21,
        "items were throttled: {:?}",
        sim.fault_counts()
    );
    assert_eq!(answers.len(), 46);
    for (i, a) in answers.iter().take(45).enumerate() {
        assert_eq!(a.id, i.to_string(), "order kept");
        assert_eq!(a.status, 200, "item {i}: {:?}", a.body);
        assert_eq!(a.body["id"], users[i].id);
    }
    assert_eq!(answers[45].status, 404, "a final error is not retried");
}

#[tokio::test]
async fn more_than_twenty_items_in_one_post_are_refused_by_the_sim() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let c = client(&sim);
    // The client splits; the service refuses an oversized batch, as Graph does.
    let body = serde_json::json!({
        "requests": (0..21).map(|i| serde_json::json!({"id": i.to_string(), "method": "GET", "url": "/organization"})).collect::<Vec<_>>()
    });
    let t = sim.tenant("source").expect("tenant");
    let token: serde_json::Value = http_client()
        .post(format!("{}/{}/oauth2/v2.0/token", sim.login_url(), t.id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", t.client_id.as_str()),
            ("client_secret", t.client_secret.as_str()),
            ("scope", GLOBAL_GRAPH_SCOPE),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let resp = http_client()
        .post(format!("{}/v1.0/$batch", sim.graph_url()))
        .bearer_auth(token["access_token"].as_str().expect("token"))
        .json(&body)
        .send()
        .await
        .expect("batch");
    assert_eq!(resp.status().as_u16(), 400);
    let reqs = (0..41)
        .map(|i| BatchRequest::get(i.to_string(), "/organization"))
        .collect();
    let answers = c.batch(reqs).await.expect("split into three posts");
    assert!(answers.iter().all(|a| a.status == 200));
}

#[tokio::test]
async fn count_uses_eventual_consistency() {
    let sim = Sim::start(SimOptions {
        users: 137,
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let c = client(&sim);
    let all = c.users().await.expect("users");
    assert_eq!(
        c.count("/v1.0/users").await.expect("count"),
        all.len() as u64
    );
    assert_eq!(
        c.count("/v1.0/groups").await.expect("count"),
        c.groups().await.expect("groups").len() as u64
    );
}

#[tokio::test]
async fn concurrency_limit_holds_per_tenant() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    sim.set_faults(Faults {
        latency: Duration::from_millis(40),
        ..Faults::default()
    });
    let c = std::sync::Arc::new(client(&sim).with_concurrency(3));
    c.organization().await.expect("warm up the token");
    sim.take_peak_in_flight();
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let c = c.clone();
        tasks.push(tokio::spawn(async move { c.organization().await }));
    }
    for t in tasks {
        t.await.expect("join").expect("organization");
    }
    let peak = sim.take_peak_in_flight();
    assert!((2..=3).contains(&peak), "peak in flight {peak}");
}

#[tokio::test]
async fn throttled_gets_wait_for_retry_after() {
    let sim = Sim::start(SimOptions {
        throttle: Some(Throttle {
            capacity: 3,
            per_second: 10.0,
        }),
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let c = client(&sim);
    for _ in 0..8 {
        c.organization().await.expect("eventually served");
    }
    assert!(sim.fault_counts().1 > 0, "some requests were throttled");
}

#[tokio::test]
async fn listings_stay_complete_under_ten_percent_faults() {
    let options = SimOptions {
        users: 3_000,
        groups: 400,
        contacts: Some(300),
        seed: 7,
        ..SimOptions::default()
    };
    // The reference: the same directory without faults.
    let calm = Sim::start(options.clone()).await.expect("sim");
    let reference = cutover::inventory::collect(&client(&calm), "contoso.example")
        .await
        .expect("inventory");
    calm.shutdown().await;

    // One Graph request in ten fails: half 5xx, half cut off mid-body.
    let sim = Sim::start(SimOptions {
        faults: Faults {
            error_rate: 0.05,
            reset_rate: 0.05,
            ..Faults::default()
        },
        ..options
    })
    .await
    .expect("sim");
    let c = client(&sim);
    // Small pages, so that every listing meets faults: about 300 requests in all.
    for (collection, top) in [
        ("users", 50),
        ("groups", 10),
        ("contacts", 10),
        ("applications", 1),
    ] {
        let listed: Vec<serde_json::Value> = c
            .get_all(&format!("/v1.0/{collection}?$select=id&$top={top}"))
            .await
            .expect("complete despite faults");
        let ids: HashSet<&str> = listed.iter().filter_map(|u| u["id"].as_str()).collect();
        assert_eq!(ids.len(), listed.len(), "{collection}: no duplicates");
        let held = sim.ids("source", collection).expect("held");
        let held: HashSet<&str> = held.iter().map(String::as_str).collect();
        assert_eq!(ids, held, "{collection}: every object, none twice");
    }
    let references = c
        .get_all::<serde_json::Value>("/v1.0/domains/contoso.example/domainNameReferences?$top=20")
        .await
        .expect("references despite faults");
    let delta = c.users_delta(None).await.expect("delta despite faults");
    assert_eq!(
        delta.changed.len(),
        3_003,
        "delta's first round lists everyone"
    );
    // The whole inventory, as `cutover inventory` collects it, is the calm one.
    let troubled = cutover::inventory::collect(&c, "contoso.example")
        .await
        .expect("inventory despite faults");
    assert_eq!(troubled, reference);
    assert_eq!(
        references.len(),
        reference
            .iter()
            .filter(|e| matches!(
                e.kind,
                cutover::inventory::Kind::User
                    | cutover::inventory::Kind::DistributionGroup
                    | cutover::inventory::Kind::Microsoft365Group
                    | cutover::inventory::Kind::MailEnabledSecurityGroup
            ))
            .count(),
        "domainNameReferences lists the users and groups holding the domain"
    );

    // The faults really were about one in ten.
    let (injected, _) = sim.fault_counts();
    let requests = sim.graph_requests();
    let rate = injected as f64 / requests as f64;
    assert!(requests >= 250, "{requests} requests");
    assert!(
        (0.05..=0.15).contains(&rate),
        "{injected} faults in {requests} requests"
    );
}

/// reqwest is built without a bundled TLS provider; the product installs ring, so do tests.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
