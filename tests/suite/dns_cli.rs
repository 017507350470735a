//! `cutover dns`, `dns snapshot` and `dns diff` as a person runs them, against the rehearsal
//! environment's authoritative DNS on loopback, with expected records fetched from its Graph
//! by the product's own client.

use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Output};

use cutover::graph::GraphClient;
use cutover::sim::{Sim, SimOptions};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn graph(sim: &Sim, label: &str) -> GraphClient {
    sim.graph_client(label).expect("client")
}

async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output().expect("run"))
        .await
        .expect("join")
}

fn sim_args(sim: &Sim, data: &Path) -> Vec<String> {
    vec![
        "--resolver".into(),
        sim.dns_addr().to_string(),
        "--no-system".into(),
        "--auth-port".into(),
        sim.dns_addr().port().to_string(),
        "--timeout-ms".into(),
        "500".into(),
        "--data-dir".into(),
        data.display().to_string(),
    ]
}

/// The MX row of `cutover dns --json`.
fn mx_row(json: &serde_json::Value) -> serde_json::Value {
    json["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["type"] == "MX")
        .expect("mx row")
        .clone()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_records_match_then_a_changed_mx_is_a_mismatch() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let records = graph(&sim, "source")
        .service_configuration_records("contoso.example")
        .await
        .expect("graph");
    assert!(
        records
            .iter()
            .any(|r| r.record_type.eq_ignore_ascii_case("mx"))
    );
    let expect = dir.path().join("expected.json");
    std::fs::write(&expect, serde_json::to_vec(&records).expect("json")).expect("write");

    let mut args: Vec<String> = vec!["dns".into(), "Contoso.Example.".into()];
    args.extend(sim_args(&sim, dir.path()));
    args.extend([
        "--expect-file".into(),
        expect.display().to_string(),
        "--expect-from".into(),
        "source".into(),
        "--json".into(),
    ]);
    let out = run(args.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["all_match"], true);
    let resolvers = json["resolvers"].as_array().expect("resolvers");
    assert_eq!(
        resolvers.len(),
        2,
        "authoritative through NS plus the named one"
    );
    assert_eq!(resolvers[0]["authoritative"], true);
    let mx = mx_row(&json);
    assert_eq!(mx["status"], "ok");
    assert_eq!(mx["ttl"], "3600");

    sim.set_dns_records("contoso.example", "MX", 300, &["10 mx.elsewhere.example."])
        .expect("set");
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mx = mx_row(&json);
    assert_eq!(mx["status"], "mismatch");
    assert_eq!(mx["actual"], "10 mx.elsewhere.example");
    assert_eq!(mx["ttl"], "300");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_then_diff_shows_the_change() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let zone = dir.path().join("before.zone");
    let mut args: Vec<String> = vec!["dns".into(), "snapshot".into(), "contoso.example".into()];
    args.extend(sim_args(&sim, dir.path()));
    args.extend(["--out".into(), zone.display().to_string()]);
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let zone_text = std::fs::read_to_string(&zone).expect("zone");
    assert!(
        zone_text
            .contains("contoso.example. 3600 IN MX 0 contoso-example.mail.protection.outlook.com."),
        "{zone_text}"
    );
    assert!(
        zone_text.contains("IN SOA ns1.contoso.example."),
        "{zone_text}"
    );
    assert!(dir.path().join("before.zone.json").exists());

    let mut diff: Vec<String> = vec!["dns".into(), "diff".into(), "contoso.example".into()];
    diff.extend(sim_args(&sim, dir.path()));
    diff.extend(["--against".into(), zone.display().to_string()]);
    let out = run(diff.clone()).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    sim.set_dns_records("contoso.example", "MX", 300, &["0 new.example."])
        .expect("set");
    let out = run(diff).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("contoso.example MX: 0 contoso-example.mail.protection.outlook.com (ttl 3600) -> 0 new.example (ttl 300)"),
        "{stdout}"
    );
    // The zone's serial moves with every change, so the SOA is the only other line.
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.contains("contoso.example SOA: "), "{stdout}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolver_that_never_answers_is_a_timeout_not_a_hang() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    // Bound and never read: queries to it are lost, as with a dead resolver.
    let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let mut args: Vec<String> = vec!["dns".into(), "contoso.example".into(), "--json".into()];
    args.extend(sim_args(&sim, dir.path()));
    args.extend([
        "--resolver".into(),
        silent.local_addr().expect("addr").to_string(),
    ]);
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let cells = json["propagation"][0]["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 3);
    assert_eq!(cells[1]["state"], "current");
    assert_eq!(cells[2]["state"], "failed: timeout");
    sim.shutdown().await;
}

#[test]
fn bad_names_and_resolvers_are_one_line_exit_2() {
    for (args, needle) in [
        (vec!["dns", "contoso..com", "--no-system"], "empty label"),
        (vec!["dns", "contoso", "--no-system"], "single label"),
        (vec!["dns", &"a".repeat(64), "--no-system"], "at most 63"),
        (
            vec!["dns", "contoso.com", "--resolver", "dns.google"],
            "--resolver",
        ),
        (
            vec![
                "dns",
                "contoso.com",
                "--name",
                "x.contoso.com/A",
                "--no-system",
            ],
            "--name",
        ),
        (vec!["dns", "contoso.com", "--no-system"], "no resolver"),
    ] {
        let out = Command::new(BIN).args(&args).output().expect("run");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(needle), "{needle} in {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caching_resolver_stays_stale_until_its_ttl_runs_out() {
    use cutover::dns::{DnsClient, RecordKind};
    use cutover::sim::cache::CachingResolver;
    use std::time::Duration;

    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let cache = CachingResolver::start(sim.dns_addr()).await.expect("cache");
    let dir = tempfile::tempdir().expect("tempdir");
    let client = DnsClient::new(&[cache.addr()], Duration::from_secs(1)).expect("client");
    // Fill the cache, then see the TTL count down in its answers.
    let first = client.lookup("contoso.example", RecordKind::Mx).await;
    assert_eq!(first.values[0].ttl, 3600);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = client.lookup("contoso.example", RecordKind::Mx).await;
    assert!(second.values[0].ttl < 3600, "{second:?}");

    sim.set_dns_records("contoso.example", "MX", 300, &["0 new.example."])
        .expect("set");
    let mut args: Vec<String> = vec!["dns".into(), "contoso.example".into(), "--json".into()];
    args.extend(sim_args(&sim, dir.path()));
    args.extend(["--resolver".into(), cache.addr().to_string()]);
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let mx = json["propagation"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["type"] == "MX")
        .expect("mx")
        .clone();
    assert_eq!(mx["cells"][0]["state"], "current", "authoritative");
    assert_eq!(mx["cells"][1]["state"], "current", "the sim asked directly");
    assert_eq!(mx["cells"][2]["state"], "stale", "{mx}");
    let left = mx["cells"][2]["expires_in_s"].as_i64().expect("countdown");
    assert!((3500..3600).contains(&left), "{left}");
    cache.shutdown();
    sim.shutdown().await;
}

/// The config `sim serve --write-config` writes, with one more record to watch.
fn write_config(sim: &Sim, path: &Path) {
    // dns.names adds a record to the watched set.
    let text = sim.config_toml().replacen(
        "[dns]\n",
        "[dns]\nnames = [\"_mta-sts.contoso.example/TXT\"]\n",
        1,
    );
    assert!(text.contains("_mta-sts"));
    std::fs::write(path, text).expect("write config");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expected_records_come_from_the_configured_tenant() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    write_config(&sim, &config);
    // The resolvers come from the config: its public resolver reaches the MX host and the
    // blocklist, which the zone's own server would refuse.
    let base = |from: &str| {
        let mut args: Vec<String> = vec!["dns".into(), "contoso.example".into(), "--json".into()];
        args.extend([
            "--timeout-ms".into(),
            "1000".into(),
            "--data-dir".into(),
            dir.path().display().to_string(),
            "--config".into(),
            config.display().to_string(),
            "--expect-from".into(),
            from.into(),
        ]);
        args
    };
    // The source tenant holds the domain: its serviceConfigurationRecords are all served.
    let out = run(base("source")).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let records = json["records"].as_array().expect("records");
    let mx = records.iter().find(|r| r["type"] == "MX").expect("mx row");
    assert_eq!(mx["status"], "ok", "{mx}");
    assert_eq!(
        mx["expected"], "0 contoso-example.mail.protection.outlook.com",
        "{mx}"
    );
    // dns.names adds records to the set.
    assert!(
        records
            .iter()
            .any(|r| r["name"] == "_mta-sts.contoso.example"),
        "{records:?}"
    );

    // Point the MX elsewhere: the record the tenant asks for is now a mismatch.
    sim.set_dns_records("contoso.example", "MX", 300, &["10 mx.elsewhere.example."])
        .expect("set");
    let out = run(base("source")).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // The destination has added the domain but not verified it: its verification TXT is
    // expected too, and missing until the DNS owner publishes it.
    let verification = graph(&sim, "destination")
        .verification_dns_records("contoso.example")
        .await
        .expect("graph")
        .into_iter()
        .find_map(|r| r.text)
        .expect("a TXT verification record");
    let out = run(base("destination")).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let row = json["records"]
        .as_array()
        .expect("records")
        .iter()
        .find(|r| r["expected"] == verification.as_str())
        .expect("the verification row")
        .clone();
    assert_eq!(row["status"], "missing", "{row}");
    sim.shutdown().await;
}

/// `cutover --config F dns D`, nothing else: the resolvers come from `[dns]` as the dashboard
/// takes them (the sim's public resolver, its authoritative port, no system resolvers).
fn config_only(config: &Path, data: &Path) -> Vec<String> {
    vec![
        "--config".into(),
        config.display().to_string(),
        "dns".into(),
        "contoso.example".into(),
        "--json".into(),
        "--timeout-ms".into(),
        "1000".into(),
        "--data-dir".into(),
        data.display().to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_config_decides_the_resolvers_without_flags() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, sim.config_toml()).expect("write");
    let out = run(config_only(&config, dir.path())).await;
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("json: {}", text(&out)));
    let resolvers = json["resolvers"].as_array().expect("resolvers");
    let labels: Vec<&str> = resolvers
        .iter()
        .filter_map(|r| r["resolver"].as_str())
        .collect();
    assert_eq!(resolvers.len(), 2, "{labels:?}");
    assert_eq!(resolvers[0]["authoritative"], true, "found through NS");
    assert_eq!(labels[1], sim.resolver_addr().to_string());
    let mx = mx_row(&json);
    assert_eq!(
        mx["actual"], "0 contoso-example.mail.protection.outlook.com",
        "{mx}"
    );

    // Two nameservers are two resolvers, each asked on its own: two columns, not one.
    let two = sim.config_toml().replace(
        &format!("nameservers = [\"{}\"]", sim.resolver_addr()),
        &format!(
            "nameservers = [\"{}\", \"{}\"]",
            sim.resolver_addr(),
            sim.resolver_upstream()
        ),
    );
    assert_ne!(two, sim.config_toml());
    std::fs::write(&config, two).expect("write");
    let out = run(config_only(&config, dir.path())).await;
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("json: {}", text(&out)));
    assert_eq!(json["resolvers"].as_array().expect("resolvers").len(), 3);
    let row = json["propagation"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["type"] == "MX")
        .expect("mx")
        .clone();
    assert_eq!(
        row["cells"].as_array().expect("cells").len(),
        3,
        "one cell per resolver: {row}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocklists_go_through_recursion_and_say_not_checked_with_the_reason() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, sim.config_toml()).expect("write");
    // A second MX host inside the zone that has no address.
    sim.set_dns_records(
        "contoso.example",
        "MX",
        3600,
        &[
            "0 contoso-example.mail.protection.outlook.com.",
            "10 nowhere.contoso.example.",
        ],
    )
    .expect("set");
    let mut args = config_only(&config, dir.path());
    args.extend(["--dnsbl".into(), cutover::sim::REFUSING_DNSBL_ZONE.into()]);
    let out = run(args).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let bl = json["blocklists"].as_array().expect("blocklists");
    let find = |host: &str, zone: &str| {
        bl.iter()
            .find(|b| b["host"] == host && b["zone"] == zone)
            .unwrap_or_else(|| panic!("{host} on {zone} in {bl:?}"))
            .clone()
    };
    // The Exchange Online host's address is known only outside the zone: found through the
    // public resolver, it is clean on the sim's list.
    let outlook = "contoso-example.mail.protection.outlook.com";
    let clean = find(outlook, cutover::sim::DNSBL_ZONE);
    assert_eq!(clean["verdict"], "clean", "{clean}");
    assert_eq!(clean["address"], cutover::sim::MX_HOST_ADDRESS);
    let refused = find(outlook, cutover::sim::REFUSING_DNSBL_ZONE);
    assert_eq!(refused["verdict"], "not_checked", "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("refuses")),
        "{refused}"
    );
    for zone in [cutover::sim::DNSBL_ZONE, cutover::sim::REFUSING_DNSBL_ZONE] {
        let none = find("nowhere.contoso.example", zone);
        assert_eq!(none["verdict"], "not_checked", "{none}");
        assert_eq!(none["address"], serde_json::Value::Null);
        assert!(
            none["detail"]
                .as_str()
                .is_some_and(|d| d.contains("no address for nowhere.contoso.example: NXDOMAIN")),
            "{none}"
        );
    }
    sim.shutdown().await;
}
