//! The product's own Graph and DNS clients against the rehearsal environment over loopback.

use std::time::Duration;

use cutover::dns::{AnswerStatus, DnsClient, RecordKind};
use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::graph::{Credentials, Endpoints, GraphClient, GraphError};
use cutover::sim::{Sim, SimOptions};

fn client(sim: &Sim, label: &str, secret: Option<&str>) -> GraphClient {
    let t = sim.tenant(label).expect("tenant").clone();
    GraphClient::new(
        Endpoints {
            login_url: sim.login_url(),
            graph_url: sim.graph_url(),
            graph_scope: GLOBAL_GRAPH_SCOPE.into(),
        },
        Credentials {
            tenant: t.id,
            client_id: t.client_id,
            client_secret: secret.map(str::to_string).unwrap_or(t.client_secret),
        },
    )
    .expect("client")
}

#[tokio::test]
async fn domain_is_verified_in_source_and_not_in_destination() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let source = client(&sim, "source", None);
    let destination = client(&sim, "destination", None);

    let d = source
        .domain("contoso.example")
        .await
        .expect("graph")
        .expect("present");
    assert!(d.is_verified);
    assert!(d.is_default);
    assert_eq!(d.authentication_type.as_deref(), Some("Managed"));
    let in_dest = destination
        .domain("contoso.example")
        .await
        .expect("graph")
        .expect("added");
    assert!(!in_dest.is_verified);
    assert!(
        source
            .domain("nope.example")
            .await
            .expect("graph")
            .is_none()
    );

    let org = source.organization().await.expect("org");
    assert!(
        org.verified_domains
            .iter()
            .any(|v| v.name == "contoso.example")
    );
    assert!(
        org.verified_domains
            .iter()
            .any(|v| v.is_initial && v.name.ends_with(".onmicrosoft.com"))
    );

    let records = source
        .service_configuration_records("contoso.example")
        .await
        .expect("records");
    let mx = records
        .iter()
        .find(|r| r.record_type.eq_ignore_ascii_case("mx"))
        .expect("mx record");
    assert_eq!(mx.value(), "0 contoso-example.mail.protection.outlook.com");
    let txt = destination
        .verification_dns_records("contoso.example")
        .await
        .expect("verification records");
    assert!(
        txt.iter()
            .any(|r| r.text.as_deref().is_some_and(|t| t.starts_with("MS=ms")))
    );

    let refs = source
        .domain_name_references("contoso.example")
        .await
        .expect("refs");
    assert!(!refs.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn every_user_arrives_across_pages() {
    let n = 2_500;
    let sim = Sim::start(SimOptions {
        users: n,
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let source = client(&sim, "source", None);

    // $top=999: three pages. Shared mailboxes are user objects too.
    let total = n + cutover::sim::SHARED_MAILBOXES.len();
    let users = source.users().await.expect("users");
    assert_eq!(users.len(), total);
    let mut ids: Vec<&str> = users.iter().map(|u| u.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), total, "no user twice");
    assert!(
        users.iter().any(|u| !u.proxy_addresses.is_empty()),
        "proxyAddresses selected"
    );

    // Small pages through the same paging code.
    let small: Vec<serde_json::Value> = source
        .get_all("/v1.0/users?$select=id&$top=97")
        .await
        .expect("paged");
    assert_eq!(small.len(), total);
    sim.shutdown().await;
}

#[tokio::test]
async fn wrong_secret_is_a_typed_sign_in_error() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let bad = client(&sim, "source", Some("not-the-secret"));
    match bad.domains().await {
        Err(GraphError::Auth {
            error, description, ..
        }) => {
            assert_eq!(error, "invalid_client");
            assert!(description.contains("AADSTS7000215"), "{description}");
        }
        other => panic!("expected invalid_client, got {other:?}"),
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn dns_answers_carry_values_and_ttls() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dns = DnsClient::new(&[sim.dns_addr()], Duration::from_secs(2)).expect("dns");

    let mx = dns.lookup("contoso.example", RecordKind::Mx).await;
    assert_eq!(mx.status, AnswerStatus::Answer);
    assert_eq!(mx.values.len(), 1);
    assert_eq!(
        mx.values[0].value,
        "0 contoso-example.mail.protection.outlook.com"
    );
    assert_eq!(mx.values[0].ttl, 3600);

    let sweep = dns.sweep("contoso.example").await;
    assert_eq!(
        sweep.len(),
        cutover::dns::m365_names("contoso.example").len()
    );
    let spf = sweep
        .iter()
        .find(|a| a.name == "contoso.example" && a.kind == RecordKind::Txt)
        .expect("txt");
    assert!(
        spf.values
            .iter()
            .any(|v| v.value == "v=spf1 include:spf.protection.outlook.com -all")
    );
    let sip = sweep
        .iter()
        .find(|a| a.name == "_sip._tls.contoso.example")
        .expect("sip srv");
    assert_eq!(sip.values[0].value, "100 1 443 sipdir.online.lync.com");

    let missing = dns
        .lookup("nothing-here.contoso.example", RecordKind::Cname)
        .await;
    assert_eq!(missing.status, AnswerStatus::NxDomain);
    let nodata = dns.lookup("contoso.example", RecordKind::Srv).await;
    assert_eq!(nodata.status, AnswerStatus::NoData);

    // A scenario change is what the next query sees.
    sim.set_dns_records(
        "contoso.example",
        "MX",
        300,
        &["0 contoso-example.mail.protection.outlook.com."],
    )
    .expect("set");
    let lowered = dns.lookup("contoso.example", RecordKind::Mx).await;
    assert_eq!(lowered.values[0].ttl, 300);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_dead_nameserver_is_an_error_not_a_hang() {
    // A UDP socket nobody answers on: the query costs its timeout and reports it.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let dns = DnsClient::new(
        &[silent.local_addr().expect("addr")],
        Duration::from_millis(300),
    )
    .expect("dns");
    let started = std::time::Instant::now();
    let answer = dns.lookup("contoso.example", RecordKind::Mx).await;
    assert!(
        matches!(answer.status, AnswerStatus::Error(_)),
        "{answer:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Like a real authoritative server, the sim's answers for its zone only: a blocklist name or
/// an Exchange Online host is REFUSED even with recursion desired; the public resolver reaches
/// them.
#[tokio::test]
async fn the_authoritative_server_refuses_what_only_recursion_answers() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let listed = format!("25.2.0.192.{}", cutover::sim::DNSBL_ZONE);
    let auth = DnsClient::new(&[sim.dns_addr()], Duration::from_secs(2)).expect("dns");
    assert_eq!(auth.lookup_v4(&listed).await, Err("REFUSED".to_string()));
    assert_eq!(
        auth.addresses("contoso-example.mail.protection.outlook.com")
            .await,
        Err("REFUSED".to_string())
    );
    let public = DnsClient::new(&[sim.resolver_addr()], Duration::from_secs(2)).expect("dns");
    assert_eq!(
        public.lookup_v4(&listed).await,
        Ok(vec![std::net::Ipv4Addr::new(127, 0, 0, 2)])
    );
    assert_eq!(
        public
            .addresses("contoso-example.mail.protection.outlook.com")
            .await
            .map(|a| a.iter().map(|ip| ip.to_string()).collect::<Vec<_>>()),
        Ok(vec![cutover::sim::MX_HOST_ADDRESS.to_string()])
    );
    sim.shutdown().await;
}

/// The dashboard's DNS poller against the sim's authoritative server and a caching resolver:
/// the cache's TTL counts down from sweep to sweep, the reducer journals no TTL change and the
/// records keep the authoritative TTL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caching_resolvers_countdown_is_not_journaled_as_a_ttl_change() {
    use cutover::app::{Action, Command, State, update};
    use cutover::dns::monitor::Target;
    use cutover::sim::cache::CachingResolver;

    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let cache = CachingResolver::start(sim.resolver_upstream())
        .await
        .expect("cache");
    let timeout = Duration::from_secs(1);
    let targets = vec![
        Target::new("ns1", sim.dns_addr(), timeout, true).expect("target"),
        Target::new("cache", cache.addr(), timeout, false).expect("target"),
    ];
    let names = vec![("contoso.example".to_string(), RecordKind::Mx)];
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let poller = cutover::app::pollers::spawn_propagation_poller(
        targets,
        Vec::new(),
        names,
        Duration::from_millis(1100),
        tx,
    );
    let runbook = cutover::plan::Runbook::embedded().expect("runbook");
    let mut state = State::new(
        "t".into(),
        "contoso.example".into(),
        runbook,
        time::OffsetDateTime::now_utc(),
    );
    let mut cache_ttls = Vec::new();
    while cache_ttls.len() < 3 {
        let action = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("a sweep in time")
            .expect("poller alive");
        if let Action::PropagationPolled(sweeps) = &action {
            let ttl = sweeps[1].answers[0].values[0].ttl;
            cache_ttls.push(ttl);
        }
        let commands = update(&mut state, action);
        assert!(
            !commands
                .iter()
                .any(|c| matches!(c, Command::Audit(e) if e.action == "dns ttl changed")),
            "{commands:?}"
        );
    }
    poller.abort();
    assert!(
        cache_ttls.last() < cache_ttls.first(),
        "the cache counts down: {cache_ttls:?}"
    );
    assert_eq!(state.dns.answers[0].values[0].ttl, 3600, "authoritative");
    cache.shutdown();
    sim.shutdown().await;
}

/// The dashboard's expected poller reads what `cutover dns` reads: while the destination has
/// the domain unverified, its verification TXT is expected beside the service records.
#[tokio::test]
async fn the_dashboard_expects_the_verification_txt_while_unverified() {
    use cutover::app::{Action, TenantId};
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let graph = std::sync::Arc::new(sim.graph_client("destination").expect("client"));
    let verification = graph
        .verification_dns_records("contoso.example")
        .await
        .expect("graph")
        .into_iter()
        .find_map(|r| r.text)
        .expect("a verification TXT");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let poller = cutover::app::pollers::spawn_expected_poller(
        TenantId::Destination,
        graph,
        "contoso.example".into(),
        Duration::from_secs(60),
        tx,
    );
    let action = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("in time")
        .expect("an action");
    poller.abort();
    let Action::ExpectedPolled { result, .. } = action else {
        panic!("{action:?}");
    };
    let records = result.expect("records");
    assert!(
        records
            .iter()
            .any(|r| r.text.as_deref() == Some(verification.as_str())),
        "{records:?}"
    );
    sim.shutdown().await;
}
