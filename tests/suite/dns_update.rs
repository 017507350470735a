//! DNS changes through the executor against the rehearsal environment's authoritative server:
//! RFC 2136 updates signed with the sim's TSIG key (MX TTL 3600 → 300 and back, journaled,
//! read back from the authoritative server while the caching resolver still holds the old
//! TTL), unsigned and wrongly signed updates refused as BIND refuses them, read-only sending
//! none; and `cutover apply` with a plan of DNS changes against `cutover sim serve` in its own
//! process, in both modes: automatic with `[dns.update]`, and instructions + watch without it
//! (the change made by the test as the DNS host's admin, or never made before `--dns-wait`).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use cutover::audit::{Journal, Kind, read_records, verify_file};
use cutover::dns::targets::Plan as Resolvers;
use cutover::dns::update::{KeySource, UpdateConfig, UpdateError, Updater};
use cutover::dns::{AnswerStatus, DnsClient, RecordKind};
use cutover::executor::dns::DnsWriter;
use cutover::executor::{Executor, Status};
use cutover::plan::change::{Change, RrSet};
use cutover::sim::{Sim, SimOptions};

use crate::common::cli::{command_with, said};
use crate::common::{self, BIN};

const DOMAIN: &str = "contoso.example";
const MX: &str = "0 contoso-example.mail.protection.outlook.com.";

fn resolvers(sim: &Sim) -> Resolvers {
    Resolvers {
        nameservers: vec![sim.resolver_addr()],
        system: false,
        authoritative_port: sim.dns_addr().port(),
        timeout: Duration::from_secs(2),
    }
}

fn update_config(sim: &Sim, key_name: &str, key_file: &Path) -> UpdateConfig {
    UpdateConfig {
        server: sim.dns_addr(),
        zone: Some(DOMAIN.into()),
        key_name: key_name.into(),
        algorithm: "hmac-sha256".into(),
        key: KeySource::File(key_file.to_path_buf()),
    }
}

fn key_file(dir: &Path, sim: &Sim, secret: &[u8]) -> std::path::PathBuf {
    let path = dir.join("sim.tsig.key");
    let key = sim.dns_update_key();
    std::fs::write(
        &path,
        cutover::dns::update::key_file_text(&key.name, &key.algorithm, secret),
    )
    .unwrap();
    path
}

fn updater(sim: &Sim, path: &Path) -> Updater {
    let cfg = update_config(sim, &sim.dns_update_key().name, path);
    let secret = cutover::dns::update::read_secret(&cfg.key).unwrap();
    Updater::new(&cfg, DOMAIN, secret).unwrap()
}

/// The MX answer (TTL, values) of one server.
async fn mx_at(addr: SocketAddr, authoritative: bool) -> (u32, Vec<String>) {
    let client =
        DnsClient::with_recursion(&[addr], Duration::from_secs(2), !authoritative).unwrap();
    let a = client.lookup(DOMAIN, RecordKind::Mx).await;
    assert_eq!(a.status, AnswerStatus::Answer, "{a:?}");
    (
        a.values.first().map(|v| v.ttl).unwrap_or_default(),
        a.values.into_iter().map(|v| v.value).collect(),
    )
}

fn mx_change(from: u32, to: u32) -> Change {
    Change::set_rrset(
        DOMAIN,
        DOMAIN,
        "MX",
        &RrSet {
            ttl: from,
            values: vec![MX.into()],
        },
        &RrSet {
            ttl: to,
            values: vec![MX.into()],
        },
        "lower the MX TTL before moving MX; wait out the old TTL",
    )
}

fn executor(sim: &Sim, journal: &Path, key: Option<&Path>) -> Executor {
    let mut writer = DnsWriter::new(resolvers(sim), std::sync::Arc::new(|_: &str| {}))
        .watch(Duration::from_millis(100), Duration::from_secs(2));
    if let Some(path) = key {
        writer = writer.with_updater(updater(sim, path));
    }
    Executor::new(Journal::open(journal, "c").unwrap()).with_dns(writer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mx_ttl_lowered_and_restored_through_signed_updates() {
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &sim, &sim.dns_update_key().secret);
    let journal = dir.path().join("audit.jsonl");

    // What the zone serves now, authoritative and through the caching resolver (now cached).
    let (ttl, values) = mx_at(sim.dns_addr(), true).await;
    assert_eq!((ttl, values.len()), (3600, 1));
    let _ = mx_at(sim.resolver_addr(), false).await;

    let down = mx_change(3600, 300);
    let results = executor(&sim, &journal, Some(&key))
        .run(std::slice::from_ref(&down))
        .await
        .unwrap();
    assert_eq!(results[0].status, Status::Applied, "{results:?}");
    assert_eq!(sim.dns_updates_received(), 1);
    // At once on the authoritative server, same values.
    assert_eq!(mx_at(sim.dns_addr(), true).await, (300, values.clone()));
    // The public resolver still hands out its cached copy until the old TTL runs out.
    let (cached, _) = mx_at(sim.resolver_addr(), false).await;
    assert!(cached > 300, "the cache keeps the old TTL: {cached}");

    let records = read_records(&journal).unwrap();
    let intent = records
        .iter()
        .find(|r| r.event.kind == Kind::Intent)
        .expect("intent");
    assert!(
        intent.event.action.contains("RFC 2136"),
        "{:?}",
        intent.event
    );
    let outcome = records
        .iter()
        .find(|r| r.event.kind == Kind::Outcome)
        .expect("outcome");
    assert_eq!(outcome.event.result.as_deref(), Some("ok"));
    assert!(
        outcome
            .event
            .request_id
            .as_deref()
            .is_some_and(|id| id.starts_with(&format!("dns:{}#", sim.dns_addr()))),
        "{:?}",
        outcome.event
    );
    verify_file(&journal).unwrap();
    let text = std::fs::read_to_string(&journal).unwrap();
    let secret_b64 = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(&sim.dns_update_key().secret)
    };
    assert!(!text.contains(&secret_b64), "no secret in the journal");

    // The same plan again: done, nothing sent.
    let again = executor(&sim, &journal, Some(&key))
        .run(std::slice::from_ref(&down))
        .await
        .unwrap();
    assert_eq!(again[0].status, Status::AlreadyDone);
    assert_eq!(sim.dns_updates_received(), 1);

    // And back: the inverse.
    let up = mx_change(300, 3600);
    let results = executor(&sim, &journal, Some(&key))
        .run(std::slice::from_ref(&up))
        .await
        .unwrap();
    assert_eq!(results[0].status, Status::Applied, "{results:?}");
    assert_eq!(mx_at(sim.dns_addr(), true).await, (3600, values));
    assert_eq!(sim.dns_updates_received(), 2);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_and_wrongly_signed_updates_are_refused() {
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let values = vec![MX.to_string()];

    // A wrong secret under the right key name: NOTAUTH/BADSIG.
    let wrong = key_file(dir.path(), &sim, b"not the sim's secret at all!!!!!");
    let e = updater(&sim, &wrong)
        .replace_rrset(DOMAIN, "MX", 60, &values)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, UpdateError::Refused(m) if m.contains("BADSIG")),
        "{e:?}"
    );

    // A key the server does not know: NOTAUTH/BADKEY.
    let cfg = update_config(&sim, "someone-else", &wrong);
    let e = Updater::new(&cfg, DOMAIN, b"0123456789abcdef".to_vec())
        .unwrap()
        .replace_rrset(DOMAIN, "MX", 60, &values)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, UpdateError::Refused(m) if m.contains("BADKEY")),
        "{e:?}"
    );

    // Unsigned: REFUSED, as BIND answers an update no allow-update matches.
    let code = unsigned_update(sim.dns_addr()).await;
    assert_eq!(code, hickory_proto::op::ResponseCode::Refused);

    assert_eq!(
        sim.dns_updates_received(),
        3,
        "all three reached the server"
    );
    assert_eq!(mx_at(sim.dns_addr(), true).await.0, 3600, "nothing changed");
    sim.shutdown().await;
}

/// Send an unsigned update setting MX TTL 60 and return the answer's rcode.
async fn unsigned_update(server: SocketAddr) -> hickory_proto::op::ResponseCode {
    use hickory_proto::op::{Message, MessageType, OpCode, Query, UpdateMessage};
    use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let zone_name = Name::from_ascii(format!("{DOMAIN}.")).unwrap();
    let mut zone = Query::new();
    zone.set_name(zone_name.clone())
        .set_query_class(DNSClass::IN)
        .set_query_type(RecordType::SOA);
    let mut m = Message::new(4242, MessageType::Query, OpCode::Update);
    m.add_zone(zone);
    let rdata = cutover::dns::update::rdata(RecordType::MX, MX).unwrap();
    m.add_update(Record::from_rdata(zone_name, 60, rdata));
    let bytes = m.to_vec().unwrap();
    let mut s = tokio::net::TcpStream::connect(server).await.unwrap();
    s.write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .unwrap();
    s.write_all(&bytes).await.unwrap();
    let mut len = [0u8; 2];
    s.read_exact(&mut len).await.unwrap();
    let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut answer).await.unwrap();
    Message::from_vec(&answer).unwrap().metadata.response_code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_only_sends_no_update() {
    let sim = Sim::start(SimOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key = key_file(dir.path(), &sim, &sim.dns_update_key().secret);
    let journal = dir.path().join("audit.jsonl");
    let results = executor(&sim, &journal, Some(&key))
        .read_only(true)
        .run(&[mx_change(3600, 300)])
        .await
        .unwrap();
    assert_eq!(results[0].status, Status::Refused);
    assert_eq!(sim.dns_updates_received(), 0);
    assert_eq!(mx_at(sim.dns_addr(), true).await.0, 3600);
    let records = read_records(&journal).unwrap();
    assert!(records.iter().all(|r| r.event.kind != Kind::Intent));
    sim.shutdown().await;
}

// ---- cutover apply against `cutover sim serve` in its own process ----

fn run(dir: &Path, config: &str, args: &[&str]) -> Output {
    command_with(dir, config, args)
        .output()
        .expect("run cutover")
}

fn write_plan(path: &Path, changes: &[Change]) {
    let plan = serde_json::json!({
        "version": cutover::plan::release::PLAN_VERSION,
        "kind": "release",
        "tenant": "source",
        "domain": DOMAIN,
        "initial_domain": "unused.onmicrosoft.com",
        "changes": changes,
    });
    std::fs::write(path, serde_json::to_vec_pretty(&plan).unwrap()).unwrap();
}

/// A signed update as the DNS host's admin makes it, with the key `sim serve` wrote.
fn admin_update(
    dir: &Path,
    server: SocketAddr,
    name: &str,
    rtype: &str,
    ttl: u32,
    values: &[&str],
) {
    let cfg = UpdateConfig {
        server,
        zone: Some(DOMAIN.into()),
        key_name: cutover::sim::UPDATE_KEY_NAME.into(),
        algorithm: "hmac-sha256".into(),
        key: KeySource::File(dir.join("sim.tsig.key")),
    };
    let secret = cutover::dns::update::read_secret(&cfg.key).unwrap();
    let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(
        Updater::new(&cfg, DOMAIN, secret)
            .unwrap()
            .replace_rrset(name, rtype, ttl, &values),
    )
    .unwrap();
}

#[test]
fn apply_dns_plans_automatic_and_by_instructions() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sim = common::sim_serve(&dir.join("sim.toml"), dir, &["--users", "10"]);
    let server: SocketAddr = sim.info["dns"].as_str().unwrap().parse().unwrap();

    // The key beside the config, private; the config names it and holds no secret.
    let key_path = dir.join("sim.tsig.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let config = std::fs::read_to_string(dir.join("sim.toml")).unwrap();
    assert!(config.contains("[dns.update]"), "{config}");
    let key_text = std::fs::read_to_string(&key_path).unwrap();
    let secret = key_text.split('"').nth(3).expect("the key clause's secret");
    assert!(!config.contains(secret));
    // The same environment without [dns.update]: changes become instructions.
    let manual = config.split("\n[dns.update]").next().unwrap().to_string();
    std::fs::write(dir.join("manual.toml"), manual).unwrap();

    let out = run(dir, "sim.toml", &["snapshot", "--tenant", "source"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));

    // Automatic: MX TTL down through a signed update.
    let plan = dir.join("mx.json");
    write_plan(&plan, &[mx_change(3600, 300)]);
    let plan_arg = plan.to_str().unwrap();
    let ro = run(dir, "sim.toml", &["apply", plan_arg, "--read-only"]);
    assert_eq!(ro.status.code(), Some(1), "{}", said(&ro));
    let out = run(dir, "sim.toml", &["apply", plan_arg, "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (ttl, _) = rt.block_on(mx_at(server, true));
    assert_eq!(ttl, 300);

    // Instructions, never made: ends "not yet visible" at the deadline.
    let txt = Change::set_rrset(
        DOMAIN,
        "_cutover-check",
        "TXT",
        &RrSet {
            ttl: 300,
            values: vec![],
        },
        &RrSet {
            ttl: 300,
            values: vec!["moved by cutover".into()],
        },
        "a marker record",
    );
    let plan2 = dir.join("txt.json");
    write_plan(&plan2, std::slice::from_ref(&txt));
    let plan2_arg = plan2.to_str().unwrap();
    let out = run(
        dir,
        "manual.toml",
        &[
            "apply",
            plan2_arg,
            "--yes",
            "--dns-wait",
            "1s",
            "--dns-poll",
            "200ms",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{}", said(&out));
    assert!(
        stdout.contains("_cutover-check.contoso.example. 300 IN TXT \"moved by cutover\""),
        "{stdout}"
    );
    assert!(stdout.contains("not yet visible"), "{stdout}");

    // Instructions again; the admin makes the change once they are printed; the run ends.
    let mut child = Command::new(BIN)
        .args([
            "apply",
            plan2_arg,
            "--yes",
            "--dns-wait",
            "60s",
            "--dns-poll",
            "200ms",
        ])
        .arg("--config")
        .arg(dir.join("manual.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("CUTOVER_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains("IN TXT") {
            break;
        }
    }
    assert!(seen.contains("DNS change"), "{seen}");
    admin_update(
        dir,
        server,
        "_cutover-check",
        "TXT",
        300,
        &["moved by cutover"],
    );
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{seen}{}", rest.join("\n"));
    assert!(
        rest.iter().any(|l| l.contains("1 of 1 changes in effect")),
        "{rest:?}"
    );

    let journal = dir.join("data/audit/contoso.example.jsonl");
    let records = read_records(&journal).unwrap();
    let seen_outcome = records
        .iter()
        .filter(|r| r.event.kind == Kind::Outcome)
        .filter(|r| r.event.details["change"] == serde_json::json!(txt.id))
        .map(|r| r.event.action.clone())
        .collect::<Vec<_>>();
    assert!(
        seen_outcome
            .iter()
            .any(|a| a == "applied (seen on 1 authoritative servers)"),
        "{seen_outcome:?}"
    );
    let out = run(dir, "sim.toml", &["audit", "verify"]);
    assert_eq!(out.status.code(), Some(0), "{}", said(&out));
}
