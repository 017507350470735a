//! `cutover check` and `cutover timeline` against `cutover sim serve` in its own process: gates
//! read from the rehearsal's Graph and DNS as they change (a release that finishes, a TTL
//! lowered too late, MX propagation half done), exit codes for a service down and bad input,
//! and the exports.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::cli::{command_with, one_line_exit_2, run, said};
use crate::common::sim_serve;

const T: &str = "2026-12-05T18:00Z";

fn check_json(dir: &Path, args: &[&str]) -> (Output, Value) {
    let mut all = vec!["check", "--json"];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", said(&out)));
    (out, v)
}

fn gate<'a>(v: &'a Value, step: &str) -> &'a Value {
    v["gates"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["step"] == step))
        .unwrap_or_else(|| panic!("no gate for {step}: {v:#}"))
}

/// The sim's Graph, login and rehearsal routes share one address.
fn sim_post(served: &crate::common::Served, tenant: &str, action: &str) {
    let url = format!(
        "{}/sim/domain",
        served.info["login_url"].as_str().expect("login_url")
    );
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let r = reqwest::Client::new()
            .post(url)
            .form(&[("tenant", tenant), ("action", action)])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status().as_u16(), 200, "{:?}", r.text().await);
    });
}

/// Replace an RRset at the sim's authoritative server with the configuration's TSIG key, as
/// `[dns.update]` does for a real zone.
async fn set_records(config: &Path, domain: &str, rtype: &str, ttl: u32, values: &[&str]) {
    use cutover::dns::update::{Updater, read_secret};
    let cfg = cutover::config::load(config).expect("config");
    let update = cfg.dns_update.expect("[dns.update]");
    let secret = read_secret(&update.key).expect("key");
    let updater = Updater::new(&update, domain, secret).expect("updater");
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    updater
        .replace_rrset(domain, rtype, ttl, &values)
        .await
        .expect("update applied");
}

#[test]
fn a_release_that_finishes_turns_the_removal_gate_from_fails_to_holds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let served = sim_serve(&dir.path().join("sim.toml"), &dir.path().join("data"), &[]);

    let (out, v) = check_json(dir.path(), &["--phase", "cutover", "--cutover", T]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let removal = gate(&v, "remove-domain-source");
    assert_eq!(removal["result"], "fails", "{removal}");
    assert_eq!(removal["gate"], "source.domain.present == false");
    assert!(
        removal["observed"]
            .as_str()
            .is_some_and(|o| o.contains("in the tenant, verified")),
        "{removal}"
    );
    // The text form lists it with what was observed.
    let text = run(dir.path(), &["check", "--phase", "cutover", "--cutover", T]);
    assert_eq!(text.status.code(), Some(1), "{}", said(&text));
    let stdout = String::from_utf8_lossy(&text.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("remove-domain-source "))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(
        line.contains("fails") && line.contains("in the tenant"),
        "{line}"
    );

    sim_post(&served, "source", "release");
    let (out, v) = check_json(dir.path(), &["--phase", "cutover", "--cutover", T]);
    let removal = gate(&v, "remove-domain-source");
    assert_eq!(removal["result"], "holds", "{}", said(&out));
    assert_eq!(
        removal["observed"],
        "source.domain.present: not in the tenant"
    );
    // Other gates of the phase still fail (the TTL was never lowered): still exit 1.
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
}

#[test]
fn a_ttl_lowered_after_t_minus_8h_fails_as_lowered_too_late() {
    use cutover::audit::{Event, Journal, Kind};
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sim.toml");
    let served = sim_serve(&config, &dir.path().join("data"), &[]);
    let domain = served.info["domain"].as_str().expect("domain").to_string();
    let paths = cutover::store::Paths::resolve(Some(&dir.path().join("data"))).expect("paths");
    let mx = format!(
        "0 {}.mail.protection.outlook.com.",
        domain.replace('.', "-")
    );
    let seen = |action: &str, ttl: u32| {
        Event::new(Kind::Observed, action)
            .tenant("dns")
            .target(format!("{domain} MX"))
            .change(Value::Null, json!([{"value": mx, "ttl": ttl}]))
    };

    // The journal as the dashboard writes it: the MX seen at 3600 s, then (after the deadline
    // T-8h) lowered to 300 s at the zone and seen so.
    let mut journal = Journal::open(&paths.audit_log(&domain), &domain).expect("journal");
    journal
        .append(seen("dns record seen", 3600))
        .expect("append");
    let first = time::OffsetDateTime::now_utc();
    let deadline = first.replace_nanosecond(0).expect("whole second") + time::Duration::seconds(1);
    std::thread::sleep(Duration::from_millis(
        u64::try_from((deadline - first).whole_milliseconds()).expect("ms") + 200,
    ));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(set_records(&config, &domain, "MX", 300, &[mx.as_str()]));
    journal
        .append(seen("dns ttl changed", 300))
        .expect("append");
    journal.sync().expect("sync");
    drop(journal);

    let t = cutover::plan::cutover_time::rfc3339(deadline + time::Duration::hours(8));
    let (out, v) = check_json(dir.path(), &["--phase", "cutover", "--cutover", &t]);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    let confirm = gate(&v, "confirm-mx-ttl");
    assert_eq!(confirm["result"], "fails", "{confirm}");
    let observed = confirm["observed"].as_str().expect("observed");
    assert!(observed.contains("lowered too late"), "{observed}");
    // The TTL is low now: the plain TTL gate holds; only the timing fails.
    assert_eq!(gate(&v, "lower-mx-ttl")["result"], "holds", "{v:#}");

    // Lowered before the deadline (T an hour later): the same journal makes it hold.
    let later = cutover::plan::cutover_time::rfc3339(deadline + time::Duration::hours(9));
    let (_, v) = check_json(dir.path(), &["--phase", "cutover", "--cutover", &later]);
    assert_eq!(gate(&v, "confirm-mx-ttl")["result"], "holds", "{v:#}");
}

#[test]
fn mx_propagation_half_done_fails_saying_k_of_n_resolvers() {
    use cutover::dns::{DnsClient, RecordKind};
    use cutover::sim::cache::CachingResolver;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sim.toml");
    let served = sim_serve(&config, &dir.path().join("data"), &[]);
    let domain = served.info["domain"].as_str().expect("domain").to_string();
    let auth: std::net::SocketAddr = served.info["dns"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("dns addr");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (stale, fresh) = rt.block_on(async {
        let stale = CachingResolver::start(auth).await.expect("cache");
        let fresh = CachingResolver::start(auth).await.expect("cache");
        // One resolver caches the old MX (TTL 3600), then the zone's MX changes.
        let client = DnsClient::new(&[stale.addr()], Duration::from_secs(2)).expect("client");
        let old = client.lookup(&domain, RecordKind::Mx).await;
        assert!(!old.values.is_empty(), "{old:?}");
        set_records(&config, &domain, "MX", 300, &["0 new-mx.example."]).await;
        (stale, fresh)
    });
    // The configuration asks these two resolvers.
    let text = std::fs::read_to_string(&config).expect("config");
    let nameservers = text
        .lines()
        .find(|l| l.starts_with("nameservers"))
        .expect("nameservers line")
        .to_string();
    std::fs::write(
        dir.path().join("two.toml"),
        text.replace(
            &nameservers,
            &format!("nameservers = [\"{}\", \"{}\"]", stale.addr(), fresh.addr()),
        ),
    )
    .expect("write");
    let out = command_with(
        dir.path(),
        "two.toml",
        &["check", "--json", "--phase", "cutover", "--cutover", T],
    )
    .output()
    .expect("run");
    let v: Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", said(&out)));
    let propagated = gate(&v, "check-dns-records");
    assert_eq!(propagated["result"], "fails", "{propagated}");
    assert_eq!(
        propagated["observed"], "dns.propagated(mx): 1 of 2 resolvers serve the zone's value",
        "{propagated}"
    );
    drop(rt);
}

#[test]
fn a_service_down_exits_3_and_bad_input_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sim.toml");
    let _served = sim_serve(&config, &dir.path().join("data"), &[]);
    let text = std::fs::read_to_string(&config).expect("config");
    // Port 9 (discard) is closed on loopback: Graph cannot be asked.
    let down: String = text
        .lines()
        .map(|l| {
            if l.starts_with("graph_url") {
                "graph_url = \"http://127.0.0.1:9\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(dir.path().join("down.toml"), down).expect("write");
    // t-7d's one gate is Graph's: destination.domain.present.
    let out = command_with(dir.path(), "down.toml", &["check", "--phase", "t-7d"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", said(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("add-domain-destination"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // The same phase against the running sim holds (the rehearsal lists it there).
    let up = run(dir.path(), &["check", "--phase", "t-7d"]);
    assert_eq!(up.status.code(), Some(0), "{}", said(&up));

    one_line_exit_2(
        &run(dir.path(), &["check", "--phase", "t-99d"]),
        "--phase t-99d: no such phase",
    );
    one_line_exit_2(&run(dir.path(), &["check"]), "no cutover time T");

    // A runbook beside the config with a misspelt fact: refused, naming the step and line.
    std::fs::write(
        dir.path().join("runbook.toml"),
        "[[phases]]\nid = \"day\"\ntitle = \"Day\"\n\n[[phases.steps]]\nid = \"gone\"\ntitle = \"Gone\"\ndue_minutes = 0\ngate = \"source.domain.presnt == false\"\n",
    )
    .expect("runbook");
    let bad = run(dir.path(), &["check", "--phase", "day"]);
    one_line_exit_2(&bad, "gone");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("line 9") && err.contains("source.domain.presnt"),
        "{err}"
    );
    one_line_exit_2(&run(dir.path(), &["timeline"]), "gone");
}

#[test]
fn timeline_exports_every_step_with_its_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _served = sim_serve(&dir.path().join("sim.toml"), &dir.path().join("data"), &[]);
    let runbook = cutover::plan::Runbook::embedded().expect("runbook");
    let steps: Vec<_> = runbook.steps().map(|(_, s)| s.clone()).collect();

    let json_out = run(
        dir.path(),
        &["timeline", "--format", "json", "--cutover", T],
    );
    assert_eq!(json_out.status.code(), Some(0), "{}", said(&json_out));
    let v: Value = serde_json::from_slice(&json_out.stdout).expect("JSON parses");
    let rows = v["steps"].as_array().expect("steps");
    assert_eq!(rows.len(), steps.len());
    for (row, step) in rows.iter().zip(&steps) {
        assert_eq!(row["step"], step.id.as_str());
        assert!(
            row["status"].as_str().is_some_and(|s| !s.is_empty()),
            "{row}"
        );
    }
    // Gated steps were evaluated against the sim: the destination lists the domain.
    let added = rows
        .iter()
        .find(|r| r["step"] == "add-domain-destination")
        .expect("row");
    assert_eq!(added["status"], "done (gate)", "{added}");
    let removal = rows
        .iter()
        .find(|r| r["step"] == "remove-domain-source")
        .expect("row");
    assert_eq!(
        removal["observed"],
        "source.domain.present: in the tenant, verified, default"
    );

    let csv_file = dir.path().join("timeline.csv");
    let out = run(
        dir.path(),
        &[
            "timeline",
            "--format",
            "csv",
            "--cutover",
            T,
            "--output",
            csv_file.to_str().expect("path"),
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    assert!(out.stdout.is_empty());
    let csv = std::fs::read_to_string(&csv_file).expect("csv");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(records.len(), steps.len());
    for (r, step) in records.iter().zip(&steps) {
        assert_eq!(r.get(1), Some(step.id.as_str()));
        assert!(r.get(7).is_some_and(|s| !s.is_empty()), "{r:?}");
    }

    let md = run(dir.path(), &["timeline", "--cutover", T]);
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.starts_with("# Cutover timeline: contoso.example"),
        "{md}"
    );
    for step in &steps {
        assert!(
            md.contains(&step.title.replace('|', "\\|")),
            "{}: {md}",
            step.title
        );
    }
    assert!(md.contains("done (gate)"), "{md}");
}
