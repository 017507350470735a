//! Who holds the domain, seen from outside: the discovery client against the rehearsal
//! environment over loopback, before and after the domain moves, and with faults on one source.

use std::time::Duration;

use cutover::graph::discovery::{Answer, DiscoveryClient, Source, Verdict};
use cutover::graph::{GraphClient, RetryPolicy};
use cutover::sim::{OutsideFault, OutsideRoute, Sim, SimOptions};

fn graph_client(sim: &Sim, label: &str) -> GraphClient {
    sim.graph_client(label)
        .expect("client")
        .with_retry(RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        })
}

#[tokio::test]
async fn the_answers_follow_the_domain_from_source_to_destination() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let domain = sim.domain().to_string();
    let source = sim.tenant("source").expect("source").clone();
    let destination = sim.tenant("destination").expect("destination").clone();
    let discovery = DiscoveryClient::new(&sim.login_url(), Duration::from_secs(5)).expect("client");
    // Graph is asked through the destination's own client: any tenant may ask.
    let graph = graph_client(&sim, "destination");

    let before = discovery.lookup(&domain, Some(&graph)).await;
    assert_eq!(before.verdict(), Verdict::Held, "{before:?}");
    assert_eq!(before.tenant_id(), Some(source.id.as_str()));
    let openid = before.openid_configuration.found().expect("openid");
    assert!(openid.issuer.contains(&source.id), "{}", openid.issuer);
    assert_eq!(before.namespace_type(), Some("Managed"));
    let info = before.find_tenant_information.found().expect("graph");
    assert_eq!(info.tenant_id, source.id);
    assert_eq!(info.display_name.as_deref(), Some(source.name.as_str()));
    assert_eq!(info.default_domain_name.as_deref(), Some(domain.as_str()));
    assert!(before.faults().is_empty());

    // The source lets go: for a moment nobody holds it.
    assert!(sim.release_domain("source"));
    let between = discovery.lookup(&domain, Some(&graph)).await;
    assert_eq!(between.verdict(), Verdict::Free, "{between:?}");
    match &between.openid_configuration {
        Answer::NotFound { detail } => assert!(detail.starts_with("AADSTS90002"), "{detail}"),
        other => panic!("expected AADSTS90002, got {other:?}"),
    }
    assert_eq!(between.namespace_type(), Some("Unknown"));
    assert!(matches!(
        between.find_tenant_information,
        Answer::NotFound { .. }
    ));

    // The destination takes over.
    sim.verify_domain("destination").expect("verify");
    let after = discovery.lookup(&domain, Some(&graph)).await;
    assert_eq!(after.verdict(), Verdict::Held);
    assert_eq!(after.tenant_id(), Some(destination.id.as_str()));
    assert_eq!(
        after
            .find_tenant_information
            .found()
            .map(|t| t.tenant_id.as_str()),
        Some(destination.id.as_str())
    );
    // Only one tenant at a time: the source cannot verify it back while the destination has it.
    assert!(sim.verify_domain("source").is_err());
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_domains_and_no_graph_client() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let discovery = DiscoveryClient::new(&sim.login_url(), Duration::from_secs(5)).expect("client");
    let graph = graph_client(&sim, "source");
    let out = discovery
        .lookup("nobody-has-this.example", Some(&graph))
        .await;
    assert_eq!(out.verdict(), Verdict::Free, "{out:?}");
    assert_eq!(out.tenant_id(), None);

    let anonymous = discovery.lookup(sim.domain(), None).await;
    assert_eq!(anonymous.verdict(), Verdict::Held);
    assert!(matches!(
        anonymous.find_tenant_information,
        Answer::Skipped { .. }
    ));
    sim.shutdown().await;
}

#[tokio::test]
async fn a_fault_in_one_source_is_reported_and_the_others_still_answer() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let domain = sim.domain().to_string();
    let source_id = sim.tenant("source").expect("source").id.clone();
    let discovery =
        DiscoveryClient::new(&sim.login_url(), Duration::from_millis(500)).expect("client");
    let graph = graph_client(&sim, "destination");

    sim.set_outside_fault(OutsideRoute::UserRealm, Some(OutsideFault::Status(503)));
    sim.set_outside_fault(
        OutsideRoute::OpenidConfiguration,
        Some(OutsideFault::Delay(Duration::from_secs(3))),
    );
    let out = discovery.lookup(&domain, Some(&graph)).await;
    let faults: Vec<Source> = out.faults().iter().map(|(s, _)| *s).collect();
    assert_eq!(
        faults,
        [Source::OpenidConfiguration, Source::UserRealm],
        "{out:?}"
    );
    match &out.user_realm {
        Answer::Failed { error } => assert!(error.contains("503"), "{error}"),
        other => panic!("{other:?}"),
    }
    // Graph still names the holder.
    assert_eq!(out.verdict(), Verdict::Held);
    assert_eq!(out.tenant_id(), Some(source_id.as_str()));

    // Graph failing too, nothing found: no conclusion rather than "free".
    sim.set_outside_fault(
        OutsideRoute::FindTenantInformation,
        Some(OutsideFault::Status(500)),
    );
    let out = discovery.lookup(&domain, Some(&graph)).await;
    assert_eq!(out.verdict(), Verdict::Unknown, "{out:?}");
    assert_eq!(out.faults().len(), 3);

    // Cleared: all three answer again.
    for route in [
        OutsideRoute::UserRealm,
        OutsideRoute::OpenidConfiguration,
        OutsideRoute::FindTenantInformation,
    ] {
        sim.set_outside_fault(route, None);
    }
    let out = discovery.lookup(&domain, Some(&graph)).await;
    assert!(out.faults().is_empty(), "{out:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_sim_only_route_moves_the_domain_for_scripts() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let destination_id = sim.tenant("destination").expect("destination").id.clone();
    let discovery = DiscoveryClient::new(&sim.login_url(), Duration::from_secs(5)).expect("client");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let post = |tenant: &'static str, action: &'static str| {
        http.post(format!("{}/sim/domain", sim.login_url()))
            .form(&[("tenant", tenant), ("action", action)])
            .send()
    };
    // Verifying in the destination while the source holds it is refused.
    let refused = post("destination", "verify").await.expect("post");
    assert_eq!(refused.status().as_u16(), 400);
    assert_eq!(
        post("source", "release")
            .await
            .expect("post")
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        discovery.lookup(sim.domain(), None).await.verdict(),
        Verdict::Free
    );
    assert_eq!(
        post("destination", "verify")
            .await
            .expect("post")
            .status()
            .as_u16(),
        200
    );
    let after = discovery.lookup(sim.domain(), None).await;
    assert_eq!(after.tenant_id(), Some(destination_id.as_str()));
    // Nothing to release twice.
    assert_eq!(
        post("source", "release")
            .await
            .expect("post")
            .status()
            .as_u16(),
        400
    );
    sim.shutdown().await;
}
