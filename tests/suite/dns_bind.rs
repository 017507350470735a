//! `cutover dns` against a real DNS server from Debian: BIND's `named` serving a zone on a free
//! loopback port, with a config written to a temp dir. `.ci/run` installs bind9; this test fails
//! (it does not skip) when `named` is missing.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cutover::dns::{AnswerStatus, DnsClient, RecordKind};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn named_binary() -> PathBuf {
    for dir in ["/usr/sbin", "/usr/local/sbin", "/usr/bin", "/sbin"] {
        let p = Path::new(dir).join("named");
        if p.exists() {
            return p;
        }
    }
    panic!("BIND's named is not installed: run .ci/run, or apt-get install bind9");
}

struct Named(Child);

impl Drop for Named {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

const ZONE: &str = "xn--mnchen-3ya.example";

fn zone_file(long_txt: &str) -> String {
    // The long TXT is split into 255-byte character-strings as a DNS host would store it.
    let chunks: Vec<String> = long_txt
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!(
        "$ORIGIN {ZONE}.
$TTL 3600
@ IN SOA ns1 hostmaster 7 3600 600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
@ 1800 IN MX 0 XN--MNCHEN-3YA-EXAMPLE.mail.protection.outlook.com.
@ 1800 IN MX 10 mx
mx IN A 192.0.2.25
mx IN A 192.0.2.26
mx IN A 192.0.2.27
@ IN TXT \"v=spf1 include:spf.protection.outlook.com -all\"
@ IN TXT {}
autodiscover IN CNAME autodiscover.outlook.com.
selector1._domainkey IN CNAME selector1-alias
selector1-alias IN CNAME selector1-xn--mnchen-3ya-example._domainkey.fabrikam.onmicrosoft.com.
sip IN A 192.0.2.10
",
        chunks.join(" ")
    )
}

fn start_named(dir: &Path, port: u16, long_txt: &str) -> Named {
    std::fs::write(dir.join("zone.db"), zone_file(long_txt)).expect("zone");
    // The blocklist lists .25 (code 2) and refuses the query for .26 (Spamhaus' 127.255.255.254).
    std::fs::write(
        dir.join("bl.db"),
        "$ORIGIN bl.test.example.
$TTL 300
@ IN SOA ns1 hostmaster 1 3600 600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
25.2.0.192 IN A 127.0.0.2
26.2.0.192 IN A 127.255.255.254
",
    )
    .expect("bl zone");
    let d = dir.display();
    let conf = format!(
        "options {{
  directory \"{d}\";
  pid-file \"{d}/named.pid\";
  session-keyfile \"{d}/session.key\";
  managed-keys-directory \"{d}\";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
}};
controls {{ }};
zone \"{ZONE}\" {{ type primary; file \"{d}/zone.db\"; }};
zone \"bl.test.example\" {{ type primary; file \"{d}/bl.db\"; }};
"
    );
    run_named(dir, &conf)
}

/// `named` in the foreground on `conf` (written to `dir/named.conf`), its log in `dir/named.log`.
fn run_named(dir: &Path, conf: &str) -> Named {
    let conf_path = dir.join("named.conf");
    std::fs::write(&conf_path, conf).expect("conf");
    let child = Command::new(named_binary())
        .args(["-g", "-4", "-c"])
        .arg(&conf_path)
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(dir.join("named.log")).expect("log"),
        ))
        .spawn()
        .expect("start named");
    Named(child)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_dns_against_bind() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let long_txt = format!("verify={}", "k".repeat(400));
    let _named = start_named(dir.path(), port, &long_txt);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");

    // Wait until named serves the zone.
    let probe = DnsClient::new(&[addr], Duration::from_millis(300)).expect("client");
    let started = Instant::now();
    loop {
        if probe.lookup(ZONE, RecordKind::Soa).await.status == AnswerStatus::Answer {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "named did not come up: {}",
            std::fs::read_to_string(dir.path().join("named.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let args: Vec<String> = vec![
        "dns".into(),
        "MÜNCHEN.example".into(),
        "--json".into(),
        "--resolver".into(),
        addr.to_string(),
        "--no-system".into(),
        "--auth-port".into(),
        port.to_string(),
        "--name".into(),
        "mail.other.example/MX".into(),
        "--dnsbl".into(),
        "bl.test.example".into(),
        "--data-dir".into(),
        dir.path().join("data").display().to_string(),
    ];
    let out = tokio::task::spawn_blocking(move || Command::new(BIN).args(&args).output())
        .await
        .expect("join")
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "NXDOMAIN and REFUSED rows are not a match: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["domain"], ZONE);
    assert_eq!(json["domain_unicode"], "münchen.example");
    assert_eq!(
        json["resolvers"][0]["authoritative"], true,
        "found through NS"
    );
    let rows = json["records"].as_array().expect("rows");
    let row = |name: &str, kind: &str| {
        rows.iter()
            .find(|r| r["name"] == name && r["type"] == kind)
            .unwrap_or_else(|| panic!("{name} {kind} in {stdout}"))
            .clone()
    };
    let mx = row(ZONE, "MX");
    assert_eq!(
        mx["actual"],
        format!("0 xn--mnchen-3ya-example.mail.protection.outlook.com | 10 mx.{ZONE}"),
        "lower case, no trailing dot"
    );
    let bl = json["blocklists"].as_array().expect("blocklists");
    let verdict = |addr: &str| {
        bl.iter()
            .find(|b| b["address"] == addr)
            .unwrap_or_else(|| panic!("{addr} in {bl:?}"))["verdict"]
            .clone()
    };
    assert_eq!(bl.len(), 4, "three addresses and the outlook host: {bl:?}");
    assert_eq!(verdict("192.0.2.27"), "clean", "NXDOMAIN at the list");
    assert_eq!(verdict("192.0.2.25"), "listed");
    assert_eq!(verdict("192.0.2.26"), "not_checked");
    // named does not recurse: the outlook host's address is REFUSED, and the verdict says so.
    let outlook = bl
        .iter()
        .find(|b| b["address"].is_null())
        .unwrap_or_else(|| panic!("the host without address in {bl:?}"));
    assert_eq!(outlook["verdict"], "not_checked");
    assert!(
        outlook["detail"]
            .as_str()
            .is_some_and(|d| d.contains("REFUSED")),
        "{outlook}"
    );
    assert_eq!(mx["ttl"], "1800");
    let txt = row(ZONE, "TXT");
    assert!(
        txt["actual"].as_str().expect("txt").contains(&long_txt),
        "chunks joined: {txt}"
    );
    assert_eq!(
        row(&format!("lyncdiscover.{ZONE}"), "CNAME")["status"],
        "nxdomain"
    );
    assert_eq!(row(&format!("sip.{ZONE}"), "CNAME")["status"], "nodata");
    assert_eq!(row("mail.other.example", "MX")["status"], "refused");
    assert_eq!(
        row(&format!("selector1._domainkey.{ZONE}"), "CNAME")["actual"],
        format!(
            "selector1-alias.{ZONE} → selector1-xn--mnchen-3ya-example._domainkey.fabrikam.onmicrosoft.com"
        ),
        "CNAME chain followed and shown in A-label form"
    );
    assert!(json["spf"]["problems"].as_array().expect("spf").is_empty());
}

const UPDATE_ZONE: &str = "update.example";
const UPDATE_KEY: &str = "cutover-test";

/// named serving `update.example` with `allow-update { key "cutover-test"; }`, the key file
/// written as cutover reads it (BIND's own key clause, included by named.conf).
fn start_named_updatable(dir: &Path, port: u16, secret: &[u8]) -> Named {
    std::fs::write(
        dir.join("update.db"),
        format!(
            "$ORIGIN {UPDATE_ZONE}.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 600 1209600 300
@ IN NS ns1
ns1 IN A 127.0.0.1
@ IN MX 0 update-example.mail.protection.outlook.com.
"
        ),
    )
    .expect("zone");
    let key = dir.join("update.key");
    std::fs::write(
        &key,
        cutover::dns::update::key_file_text(UPDATE_KEY, "hmac-sha256", secret),
    )
    .expect("key");
    let d = dir.display();
    let conf = format!(
        "options {{
  directory \"{d}\";
  pid-file \"{d}/named.pid\";
  session-keyfile \"{d}/session.key\";
  managed-keys-directory \"{d}\";
  listen-on port {port} {{ 127.0.0.1; }};
  listen-on-v6 {{ none; }};
  recursion no;
  dnssec-validation no;
}};
controls {{ }};
include \"{d}/update.key\";
zone \"{UPDATE_ZONE}\" {{ type primary; file \"{d}/update.db\"; allow-update {{ key \"{UPDATE_KEY}\"; }}; }};
"
    );
    run_named(dir, &conf)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_updates_against_bind() {
    use cutover::audit::Journal;
    use cutover::dns::update::{KeySource, UpdateConfig, UpdateError, Updater};
    use cutover::executor::dns::DnsWriter;
    use cutover::executor::{Executor, Status};
    use cutover::plan::change::{Change, RrSet};

    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let secret = b"a secret only named and cutover know".to_vec();
    let _named = start_named_updatable(dir.path(), port, &secret);
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let auth =
        DnsClient::with_recursion(&[addr], Duration::from_millis(500), false).expect("client");
    let started = Instant::now();
    while auth.lookup(UPDATE_ZONE, RecordKind::Soa).await.status != AnswerStatus::Answer {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "named did not come up: {}",
            std::fs::read_to_string(dir.path().join("named.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let config = |key: &Path| UpdateConfig {
        server: addr,
        zone: Some(UPDATE_ZONE.into()),
        key_name: UPDATE_KEY.into(),
        algorithm: "hmac-sha256".into(),
        key: KeySource::File(key.to_path_buf()),
    };
    let key = dir.path().join("update.key");
    let writer = || {
        let cfg = config(&key);
        let secret = cutover::dns::update::read_secret(&cfg.key).expect("secret");
        DnsWriter::new(
            cutover::dns::targets::Plan {
                nameservers: vec![addr],
                system: false,
                authoritative_port: port,
                timeout: Duration::from_secs(2),
            },
            std::sync::Arc::new(|_: &str| {}),
        )
        .with_updater(Updater::new(&cfg, UPDATE_ZONE, secret).expect("updater"))
    };
    let mx = "0 update-example.mail.protection.outlook.com.";
    let set = |ttl| RrSet {
        ttl,
        values: vec![mx.to_string()],
    };
    let down = Change::set_rrset(
        UPDATE_ZONE,
        UPDATE_ZONE,
        "MX",
        &set(3600),
        &set(300),
        "TTL down",
    );
    let back = Change::set_rrset(
        UPDATE_ZONE,
        UPDATE_ZONE,
        "MX",
        &set(300),
        &set(3600),
        "TTL back",
    );
    let journal = dir.path().join("audit.jsonl");
    let ttl_now = || async {
        let a = auth.lookup(UPDATE_ZONE, RecordKind::Mx).await;
        assert_eq!(a.values.len(), 1, "{a:?}");
        a.values[0].ttl
    };
    for (change, ttl) in [(&down, 300), (&back, 3600)] {
        let exec = Executor::new(Journal::open(&journal, "c").expect("journal")).with_dns(writer());
        let r = exec.run(std::slice::from_ref(change)).await.expect("run");
        assert_eq!(r[0].status, Status::Applied, "{r:?}");
        assert_eq!(ttl_now().await, ttl, "named serves the change");
    }
    cutover::audit::verify_file(&journal).expect("journal verifies");

    // A wrong secret under the right key name: named answers NOTAUTH/BADSIG.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(
        &wrong,
        cutover::dns::update::key_file_text(UPDATE_KEY, "hmac-sha256", b"not the secret"),
    )
    .expect("wrong key");
    let cfg = config(&wrong);
    let e = Updater::new(
        &cfg,
        UPDATE_ZONE,
        cutover::dns::update::read_secret(&cfg.key).expect("s"),
    )
    .expect("updater")
    .replace_rrset(UPDATE_ZONE, "MX", 60, &[mx.to_string()])
    .await
    .expect_err("refused");
    assert!(
        matches!(&e, UpdateError::Refused(m) if m.contains("BADSIG")),
        "{e:?}"
    );
    assert_eq!(ttl_now().await, 3600, "nothing changed");
}
