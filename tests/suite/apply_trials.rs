//! The crash and fault trials of `cutover apply`, against `cutover sim serve` in its own
//! process (300 users, the write permissions granted), each on a fresh rehearsal:
//! - read-only: the sim receives no mutating request at all (`GET /sim/mutations`);
//! - one uninterrupted run, which also measures how long a run takes;
//! - 10 runs killed with SIGKILL after a seeded random delay spread over 0 to 1.5 times that
//!   duration (so kills land before, during and after the writes), each followed by
//!   `cutover apply --resume` until it finishes;
//! - 10 % injected write faults (5 % answered 503 before applying, 5 % applied and the answer
//!   cut), with and without a kill.
//!
//! After each: every change applied exactly once (the sim's per-object counters equal the
//! plan's changes per object, and no other object changed), one `ok` outcome per change in
//! the journal, `cutover audit verify` passes, and reading each change's object back
//! (`executor::reconcile`, the executor's own reads) shows the plan's after-state.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::cli::{command, ok, said};
use crate::common::{Served, sim_serve};

use cutover::audit::{Kind, read_records};
use cutover::exchange::{ExchangeClient, GLOBAL_EXCHANGE_SCOPE};
use cutover::executor::reconcile::{check_exchange, check_graph};
use cutover::graph::auth::{Auth, SignIn};
use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::graph::{Credentials, Endpoints, GraphClient};
use cutover::plan::change::{Change, Route};
use cutover::plan::release::Plan;

const USERS: &str = "300";
const CONCURRENCY: u64 = 4;

struct Trial {
    dir: tempfile::TempDir,
    sim: Served,
    plan: Plan,
    plan_file: PathBuf,
}

impl Trial {
    /// A fresh rehearsal, its release plan written to a file, and a snapshot taken.
    fn new(extra: &[&str]) -> Trial {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut args = vec![
            "--users",
            USERS,
            "--grant-permission",
            "User.ReadWrite.All",
            "--grant-permission",
            "Domain.ReadWrite.All",
            "--grant-permission",
            "Application.ReadWrite.All",
        ];
        args.extend_from_slice(extra);
        let sim = sim_serve(&dir.path().join("sim.toml"), dir.path(), &args);
        let plan_file = dir.path().join("plan.json");
        let run = |args: &[&str]| command(dir.path(), args).output().expect("run cutover");
        let json = ok(&run(&["plan", "release", "--json"]));
        let mut plan: Plan = serde_json::from_str(&json).expect("plan json");
        // The trials count HTTP writes per object; the plan's DNS change (the MX TTL, through
        // the sim's TSIG-signed updates) is exercised by tests/suite/dns_update.rs instead.
        plan.changes
            .retain(|c| c.tenant != cutover::plan::change::DNS_TENANT);
        assert!(plan.changes.len() > 300, "{}", plan.changes.len());
        let json = serde_json::to_string_pretty(&plan).expect("plan json");
        std::fs::write(&plan_file, &json).expect("write plan");
        ok(&run(&["snapshot", "--tenant", "source"]));
        Trial {
            dir,
            sim,
            plan,
            plan_file,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        command(self.dir.path(), args)
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run cutover")
    }

    fn plan_arg(&self) -> String {
        self.plan_file.to_str().expect("utf-8 path").to_string()
    }

    fn apply_args(&self) -> Vec<String> {
        let c = CONCURRENCY.to_string();
        ["apply", &self.plan_arg(), "--yes", "--concurrency", &c]
            .map(str::to_string)
            .to_vec()
    }

    fn journal(&self) -> PathBuf {
        self.dir.path().join("data/audit/contoso.example.jsonl")
    }

    /// `GET /sim/mutations` on the sim's HTTP server.
    fn mutations(&self) -> serde_json::Value {
        let url = self.sim.info["graph_url"].as_str().expect("graph_url");
        let addr = url.trim_start_matches("http://");
        let mut s = std::net::TcpStream::connect(addr).expect("connect to the sim");
        write!(
            s,
            "GET /sim/mutations HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .expect("send");
        let mut text = String::new();
        s.read_to_string(&mut text).expect("read");
        let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        serde_json::from_str(body).expect("JSON counters")
    }

    /// `apply --resume` until every change is in effect (at most 8 runs); each run exits 0 or
    /// 1 (some change failed and is left for the next run), never anything else.
    fn resume_until_done(&self) -> usize {
        let state = self
            .dir
            .path()
            .join("data/state/contoso.example.apply.json");
        for n in 1..=8 {
            // Killed before it recorded which plan it applies, `--resume` has nothing to go
            // on (and says so, exit 2): the person applies the plan again, the same thing.
            let out = if state.exists() {
                self.run(&["apply", "--resume", "--yes"])
            } else {
                let args = self.apply_args();
                self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
            };
            match out.status.code() {
                Some(0) => return n,
                Some(1) => continue,
                _ => panic!("resume: {}", said(&out)),
            }
        }
        panic!("8 resumed runs did not finish the plan");
    }

    /// Every change exactly once, recorded once, the journal sound, the after-state live.
    fn check_exactly_once(&self) -> Figures {
        let m = self.mutations();
        let mut expected: BTreeMap<(String, String), u64> = BTreeMap::new();
        for c in &self.plan.changes {
            *expected
                .entry((c.tenant.clone(), c.target.id.to_ascii_lowercase()))
                .or_default() += 1;
            // Making a domain the default also takes the default from the one before.
            if c.field == cutover::plan::change::FIELD_DEFAULT_DOMAIN
                && let Some(previous) = c.before.as_str()
            {
                *expected
                    .entry((c.tenant.clone(), previous.to_ascii_lowercase()))
                    .or_default() += 1;
            }
        }
        let counted: BTreeMap<(String, String), u64> = m["per_object"]
            .as_array()
            .expect("per_object")
            .iter()
            .map(|o| {
                (
                    (
                        o["tenant"].as_str().expect("tenant").to_string(),
                        o["id"].as_str().expect("id").to_string(),
                    ),
                    o["count"].as_u64().expect("count"),
                )
            })
            .collect();
        let differ: Vec<_> = counted
            .keys()
            .chain(expected.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .filter(|k| counted.get(*k) != expected.get(*k))
            .map(|k| (k, counted.get(k), expected.get(k)))
            .collect();
        assert!(
            differ.is_empty(),
            "each change applied exactly once; (object, sim counted, plan changes): {differ:?}"
        );
        let n = self.plan.changes.len() as u64;
        assert_eq!(m["total"].as_u64(), Some(n));

        // The journal: one `ok` outcome per change, whatever the kills and faults did.
        let records = read_records(&self.journal()).expect("journal");
        let mut oks: BTreeMap<String, usize> = BTreeMap::new();
        let mut reconciled = 0;
        for r in &records {
            let Some(id) = r.event.details.get("change").and_then(|v| v.as_str()) else {
                continue;
            };
            if r.event.kind == Kind::Outcome && r.event.result.as_deref() == Some("ok") {
                *oks.entry(id.to_string()).or_default() += 1;
                if r.event.action.starts_with("reconciled") {
                    reconciled += 1;
                }
            }
        }
        for c in &self.plan.changes {
            assert_eq!(oks.get(&c.id), Some(&1), "change {} recorded once", c.id);
        }
        assert_eq!(oks.len(), self.plan.changes.len());
        ok(&self.run(&["audit", "verify"]));

        self.check_after_state();
        Figures {
            reconciled,
            received: m["received"].as_u64().expect("received"),
            failed: m["failed"].as_u64().expect("failed"),
            dropped: m["dropped"].as_u64().expect("dropped"),
        }
    }

    /// Each change's object read back the way the executor reads it: `after` holds.
    fn check_after_state(&self) {
        let info = &self.sim.info;
        let tenant = info["tenants"]
            .as_array()
            .expect("tenants")
            .iter()
            .find(|t| t["label"] == "source")
            .expect("source tenant");
        let s = |v: &serde_json::Value| v.as_str().expect("string").to_string();
        let graph = GraphClient::new(
            Endpoints {
                login_url: s(&info["login_url"]),
                graph_url: s(&info["graph_url"]),
                graph_scope: GLOBAL_GRAPH_SCOPE.into(),
            },
            Credentials {
                tenant: s(&tenant["id"]),
                client_id: s(&tenant["client_id"]),
                client_secret: s(&tenant["client_secret"]),
            },
        )
        .expect("graph client");
        let exchange = ExchangeClient::new(
            &s(&info["exchange_url"]),
            SignIn {
                login_url: s(&info["login_url"]),
                tenant: s(&tenant["id"]),
                client_id: s(&tenant["client_id"]),
                scope: GLOBAL_EXCHANGE_SCOPE.into(),
                auth: Auth::ClientSecret(s(&tenant["client_secret"])),
                cache: None,
                warn: None,
            },
        )
        .expect("exchange client");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            use futures_util::StreamExt;
            let checks = futures_util::stream::iter(&self.plan.changes)
                .map(|c: &Change| {
                    let (graph, exchange) = (&graph, &exchange);
                    async move {
                        let live = match c.route {
                            Route::Graph { .. } => check_graph(graph, c).await,
                            _ => check_exchange(exchange, c).await,
                        };
                        (c, live)
                    }
                })
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
            for (c, live) in checks {
                let live = live.unwrap_or_else(|e| panic!("read {}: {e}", c.target.display));
                assert!(
                    live.holds,
                    "{} {}: not {}",
                    c.target.display, c.field, c.after
                );
            }
        });
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Figures {
    reconciled: usize,
    received: u64,
    failed: u64,
    dropped: u64,
}

/// Where a kill landed, told from the journal it left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Landed {
    /// No intent written yet.
    Before,
    /// Some changes intended, not all finished.
    During,
    /// The run had finished (or every change had its outcome).
    After,
}

/// Start `apply`, SIGKILL it after `delay`, and say where the kill landed.
fn killed_run(t: &Trial, delay: Duration) -> Landed {
    let mut child = t
        .command(
            &t.apply_args()
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn apply");
    std::thread::sleep(delay);
    let finished = child.try_wait().expect("try_wait").is_some();
    // Child::kill is SIGKILL on Unix: no destructor, no flush, as a crash or `kill -9`.
    let _ = child.kill();
    let _ = child.wait();
    if finished {
        return Landed::After;
    }
    let records = read_records(&t.journal()).unwrap_or_default();
    let with_change = |kind: Kind| {
        records
            .iter()
            .filter(|r| r.event.kind == kind && r.event.details.get("change").is_some())
            .count()
    };
    match (with_change(Kind::Intent), with_change(Kind::Outcome)) {
        (0, _) => Landed::Before,
        (_, o) if o >= t.plan.changes.len() => Landed::After,
        _ => Landed::During,
    }
}

/// xorshift64*, seeded: the kill delays are random but the same on every run of the test.
fn next(state: &mut u64) -> f64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    let x = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

#[test]
fn kill_9_and_write_faults_leave_every_change_applied_exactly_once() {
    let started = Instant::now();

    // Read-only: no mutating request reaches the sim at all, nothing intended.
    let t = Trial::new(&[]);
    let ro = t.run(&["apply", &t.plan_arg(), "--read-only"]);
    assert_eq!(ro.status.code(), Some(1), "{}", said(&ro));
    let m = t.mutations();
    assert_eq!(m["received"].as_u64(), Some(0), "{m}");
    assert_eq!(m["total"].as_u64(), Some(0), "{m}");
    let intents = read_records(&t.journal())
        .expect("journal")
        .iter()
        .filter(|r| r.event.kind == Kind::Intent)
        .count();
    assert_eq!(intents, 0);

    // Uninterrupted, on the same sim: the baseline, how long a whole run takes, and when in it
    // the writes happen (the journal's first intent and last outcome, from the spawn).
    let clock = Instant::now();
    let spawned = time::OffsetDateTime::now_utc();
    let args = t.apply_args();
    ok(&t.run(&args.iter().map(String::as_str).collect::<Vec<_>>()));
    let whole = clock.elapsed();
    let at = |r: &cutover::audit::Record| {
        let ts = time::OffsetDateTime::parse(&r.ts, &time::format_description::well_known::Rfc3339)
            .expect("journal ts");
        Duration::try_from(ts - spawned).unwrap_or(Duration::ZERO)
    };
    let records = read_records(&t.journal()).expect("journal");
    let first_intent = records
        .iter()
        .find(|r| r.event.kind == Kind::Intent)
        .map(at)
        .expect("an intent");
    let last_outcome = records
        .iter()
        .rev()
        .find(|r| r.event.kind == Kind::Outcome)
        .map(at)
        .expect("an outcome");
    let f = t.check_exactly_once();
    let n = t.plan.changes.len() as u64;
    assert_eq!(f.received, n, "one request per change");
    assert_eq!(f.reconciled, 0);
    drop(t);

    // 10 kills, one in each tenth of a span from half-way to the first intent until a fifth
    // past the last outcome (random inside its tenth): most land among the writes, some
    // before the first and after the last.
    let (from, to) = (
        first_intent / 2,
        last_outcome + (last_outcome.saturating_sub(first_intent)) / 5,
    );
    let mut seed = 0x00C0_FFEE_u64;
    let mut landed = Vec::new();
    let mut reconciled = Vec::new();
    for i in 0..10u32 {
        let t = Trial::new(&[]);
        let share = (f64::from(i) + next(&mut seed)) / 10.0;
        let delay = from + (to - from).mul_f64(share);
        let where_ = killed_run(&t, delay);
        let runs = t.resume_until_done();
        let f = t.check_exactly_once();
        // Not one request more than changes: a change whose intent the kill left open was
        // read back, and re-sent only if it had not reached the sim (a blind re-send of an
        // applied change reaches the sim and changes nothing, so it would show here).
        assert_eq!(f.received, n, "{f:?}");
        eprintln!(
            "trial {i}: kill after {delay:?} ({share:.2} of {from:?}..{to:?}; writes {first_intent:?}..{last_outcome:?}) landed {where_:?}; \
             {runs} resumed run(s); {} reconciled; {} requests for {n} changes",
            f.reconciled, f.received
        );
        landed.push(where_);
        reconciled.push(f.reconciled);
    }
    assert!(landed.contains(&Landed::During), "{landed:?}");

    // 10 % write faults: half answered 503 before applying, half applied with the answer cut.
    // A 503 is sent again after a read shows it not applied; a cut answer never is.
    for (seed, kill) in [("7", None), ("8", Some(0.5))] {
        let t = Trial::new(&[
            "--seed",
            seed,
            "--write-error-rate",
            "0.05",
            "--apply-then-drop-rate",
            "0.05",
        ]);
        let n = t.plan.changes.len() as u64;
        let where_ = match kill {
            Some(share) => Some(killed_run(&t, whole.mul_f64(share))),
            None => {
                let args = t.apply_args();
                let first = t.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
                assert!(
                    matches!(first.status.code(), Some(0 | 1)),
                    "{}",
                    said(&first)
                );
                None
            }
        };
        let runs = t.resume_until_done();
        let f = t.check_exactly_once();
        assert!(f.failed > 0 && f.dropped > 0, "faults were injected: {f:?}");
        assert_eq!(f.received, n + f.failed, "{f:?}");
        eprintln!(
            "faults seed {seed}: kill {where_:?}; {runs} resumed run(s); {} 503s, {} cut answers, \
             {} reconciled; {} requests for {n} changes",
            f.failed, f.dropped, f.reconciled, f.received
        );
    }
    eprintln!(
        "kills landed {landed:?}; reconciled {reconciled:?}; whole run {whole:?}; trials took {:?}",
        started.elapsed()
    );
}
