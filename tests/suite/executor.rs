//! The executor against the rehearsal environment over loopback: Exchange alias removals
//! applied once each under concurrency, read-only mode sending nothing, unfinished intents
//! reconciled from the journal, and a write whose answer is lost confirmed by reading it back
//! instead of being re-sent. A byte-level TCP relay between the client and the sim counts the
//! mutating cmdlets that reach the sim and can drop a connection after the sim has answered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use cutover::audit::{Journal, Kind, Record, read_records, verify_file};
use cutover::exchange::{ExchangeClient, GLOBAL_EXCHANGE_SCOPE, Recipient};
use cutover::executor::{Executor, Status};
use cutover::graph::RetryPolicy;
use cutover::graph::auth::{Auth, SignIn};
use cutover::plan::change::Change;
use cutover::sim::{Sim, SimOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common;

const DOMAIN: &str = "contoso.example";

/// A relay on loopback in front of the sim.
struct Relay {
    url: String,
    /// Requests carrying a `Set-…` cmdlet that reached the sim.
    writes: Arc<AtomicU32>,
    /// Drop the connection of the next this-many writes once the sim has answered them.
    drop_next: Arc<AtomicU32>,
    /// Writes sent and not yet answered, and the most at once.
    in_flight: Arc<AtomicU32>,
    peak: Arc<AtomicU32>,
}

async fn relay(upstream: SocketAddr) -> Relay {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let writes = Arc::new(AtomicU32::new(0));
    let drop_next = Arc::new(AtomicU32::new(0));
    let in_flight = Arc::new(AtomicU32::new(0));
    let peak = Arc::new(AtomicU32::new(0));
    let counters = [&writes, &drop_next, &in_flight, &peak].map(Arc::clone);
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(up) = TcpStream::connect(upstream).await else {
                continue;
            };
            tokio::spawn(pump(client, up, counters.clone()));
        }
    });
    Relay {
        url,
        writes,
        drop_next,
        in_flight,
        peak,
    }
}

async fn pump(client: TcpStream, up: TcpStream, counters: [Arc<AtomicU32>; 4]) {
    let [writes, drop_next, in_flight, peak] = counters;
    let waiting = Arc::new(AtomicU32::new(0));
    let answered = Arc::clone(&waiting);
    let in_flight_too = Arc::clone(&in_flight);
    const PATTERN: &[u8] = b"x-cmdletname: set-";
    let (mut cr, mut cw) = client.into_split();
    let (mut ur, mut uw) = up.into_split();
    let dropping = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&dropping);
    let requests = async move {
        let mut tail: Vec<u8> = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let chunk = buf.get(..n).unwrap_or_default();
            // Matches that end inside this chunk (the tail only joins a split header).
            let mut seen: Vec<u8> = tail.clone();
            seen.extend_from_slice(chunk);
            let lower = seen.to_ascii_lowercase();
            let found = lower
                .windows(PATTERN.len())
                .enumerate()
                .filter(|(i, w)| *w == PATTERN && i + PATTERN.len() > tail.len())
                .count() as u32;
            if found > 0 {
                writes.fetch_add(found, Ordering::SeqCst);
                waiting.fetch_add(found, Ordering::SeqCst);
                let now = in_flight.fetch_add(found, Ordering::SeqCst) + found;
                peak.fetch_max(now, Ordering::SeqCst);
                if drop_next
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
                    .is_ok()
                {
                    flag.store(true, Ordering::SeqCst);
                }
            }
            let keep = seen.len().saturating_sub(PATTERN.len());
            tail = seen.split_off(keep);
            if uw.write_all(chunk).await.is_err() {
                return;
            }
        }
    };
    let answers = async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match ur.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // One connection carries one request at a time: this answers its write, if any.
            if answered
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| w.checked_sub(1))
                .is_ok()
            {
                in_flight_too.fetch_sub(1, Ordering::SeqCst);
            }
            // The sim has applied the write and answered: lose the answer.
            if dropping.load(Ordering::SeqCst) {
                return;
            }
            if cw
                .write_all(buf.get(..n).unwrap_or_default())
                .await
                .is_err()
            {
                return;
            }
        }
    };
    tokio::select! {
        _ = requests => {}
        _ = answers => {}
    }
}

async fn sim() -> Sim {
    // Cloud-only: the tests edit any recipient, and Exchange refuses a synced mailbox's
    // addresses.
    Sim::start(SimOptions {
        users: 120,
        cloud_only: true,
        ..SimOptions::default()
    })
    .await
    .expect("sim")
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    }
}

/// The product's Exchange client for the source tenant, talking through `relay`.
fn client(sim: &Sim, relay: &Relay) -> ExchangeClient {
    let t = sim.tenant("source").expect("source");
    ExchangeClient::new(
        &relay.url,
        SignIn {
            login_url: sim.login_url(),
            tenant: t.id.clone(),
            client_id: t.client_id.clone(),
            scope: GLOBAL_EXCHANGE_SCOPE.into(),
            auth: Auth::ClientSecret(t.client_secret.clone()),
            cache: None,
            warn: None,
        },
    )
    .expect("client")
    .with_retry(quick())
}

fn upstream(sim: &Sim) -> SocketAddr {
    sim.graph_url()
        .trim_start_matches("http://")
        .parse()
        .expect("sim address")
}

async fn live(x: &ExchangeClient, identity: &str) -> Recipient {
    x.recipients()
        .await
        .expect("Get-Recipient")
        .items
        .into_iter()
        .find(|r| r.primary_smtp_address == identity)
        .expect("recipient")
}

fn alias_of(c: &Change) -> String {
    c.before[0].as_str().expect("alias").to_string()
}

fn lines<'r>(records: &'r [Record], kind: Kind, id: &str) -> Vec<&'r Record> {
    records
        .iter()
        .filter(|r| r.event.kind == kind && r.event.details["change"] == id)
        .collect()
}

#[tokio::test]
async fn twenty_removals_with_concurrency_four_are_each_applied_once() {
    let sim = sim().await;
    let relay = relay(upstream(&sim)).await;
    let x = client(&sim, &relay);
    let plan = common::alias_removals(&x, DOMAIN, 0, 20).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");

    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_exchange("source", client(&sim, &relay))
        .concurrency(4);
    let results = exec.run(&plan).await.expect("run");
    assert_eq!(results.len(), 20);
    assert!(
        results.iter().all(|r| r.status == Status::Applied),
        "{results:?}"
    );
    assert_eq!(
        relay.writes.load(Ordering::SeqCst),
        20,
        "one write per change"
    );
    // Some relays see more than one write at once only by timing; the bound is what is checked.
    let peak = relay.peak.load(Ordering::SeqCst);
    assert!((1..=4).contains(&peak), "{peak} writes at once");
    assert_eq!(relay.in_flight.load(Ordering::SeqCst), 0);
    for c in &plan {
        let r = live(&x, &c.target.id).await;
        assert!(
            !r.email_addresses
                .iter()
                .any(|a| a.eq_ignore_ascii_case(&alias_of(c))),
            "{} still holds {}",
            c.target.display,
            alias_of(c)
        );
    }
    let records = read_records(&path).expect("records");
    for c in &plan {
        let intents = lines(&records, Kind::Intent, &c.id);
        let outcomes = lines(&records, Kind::Outcome, &c.id);
        assert_eq!((intents.len(), outcomes.len()), (1, 1), "{}", c.id);
        // The intent is on disk before the outcome, and the outcome cites the sim's request id.
        assert!(intents[0].seq < outcomes[0].seq);
        assert_eq!(outcomes[0].event.result.as_deref(), Some("ok"));
        assert!(outcomes[0].event.request_id.is_some());
    }
    assert!(verify_file(&path).expect("verify").is_ok());

    // The same plan again (a resume after a finished run) sends nothing.
    let again = exec.run(&plan).await.expect("again");
    assert!(again.iter().all(|r| r.status == Status::AlreadyDone));
    assert_eq!(relay.writes.load(Ordering::SeqCst), 20);
}

#[tokio::test]
async fn read_only_sends_nothing_and_says_why() {
    let sim = sim().await;
    let relay = relay(upstream(&sim)).await;
    let x = client(&sim, &relay);
    let plan = common::alias_removals(&x, DOMAIN, 0, 5).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");

    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_exchange("source", client(&sim, &relay))
        .read_only(true);
    let results = exec.run(&plan).await.expect("run");
    assert!(
        results.iter().all(|r| r.status == Status::Refused),
        "{results:?}"
    );
    assert_eq!(
        relay.writes.load(Ordering::SeqCst),
        0,
        "no mutating request"
    );
    for c in &plan {
        let r = live(&x, &c.target.id).await;
        assert!(r.email_addresses.contains(&alias_of(c)), "unchanged");
    }
    let records = read_records(&path).expect("records");
    assert_eq!(
        records
            .iter()
            .filter(|r| r.event.kind == Kind::Intent)
            .count(),
        0
    );
    for c in &plan {
        let outcomes = lines(&records, Kind::Outcome, &c.id);
        assert_eq!(outcomes.len(), 1);
        assert_eq!(
            outcomes[0].event.result.as_deref(),
            Some("refused: read-only mode")
        );
    }
    // Leaving read-only applies them: a refusal is not a record of success.
    let exec = Executor::new(exec.into_journal().expect("journal back"))
        .with_exchange("source", client(&sim, &relay));
    let results = exec.run(&plan).await.expect("run");
    assert!(
        results.iter().all(|r| r.status == Status::Applied),
        "{results:?}"
    );
    assert_eq!(relay.writes.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn unfinished_intents_are_reconciled_before_anything_is_sent() {
    let sim = sim().await;
    let relay = relay(upstream(&sim)).await;
    let x = client(&sim, &relay);
    let plan = common::alias_removals(&x, DOMAIN, 0, 2).await;
    let (applied, not_applied) = (&plan[0], &plan[1]);
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");

    // An earlier run journaled both intents and died: the first change had reached the sim.
    common::interrupted_run(&path, &plan, "EmailAddresses via Set-Mailbox");
    let cutover::plan::change::Route::Exchange { cmdlet, params } = &applied.route else {
        panic!("an Exchange route");
    };
    x.invoke_write(
        cutover::exchange::Route::InvokeCommand,
        cmdlet,
        params.clone(),
    )
    .await
    .expect("the earlier run's write");
    assert_eq!(relay.writes.load(Ordering::SeqCst), 1);

    let exec = Executor::new(Journal::open(&path, "c").expect("reopen"))
        .with_exchange("source", client(&sim, &relay));
    let results = exec.run(&plan).await.expect("resume");
    assert_eq!(results[0].status, Status::Reconciled);
    assert_eq!(results[1].status, Status::Applied);
    assert_eq!(
        relay.writes.load(Ordering::SeqCst),
        2,
        "nothing sent for the change already applied"
    );
    for c in &plan {
        let r = live(&x, &c.target.id).await;
        assert!(!r.email_addresses.contains(&alias_of(c)));
    }
    let records = read_records(&path).expect("records");
    let reconciled = lines(&records, Kind::Outcome, &applied.id);
    assert_eq!(reconciled.len(), 1);
    assert_eq!(reconciled[0].event.action, "reconciled: already applied");
    assert_eq!(lines(&records, Kind::Intent, &applied.id).len(), 1);
    assert_eq!(lines(&records, Kind::Intent, &not_applied.id).len(), 2);
    assert_eq!(
        lines(&records, Kind::Outcome, &not_applied.id)[0]
            .event
            .result
            .as_deref(),
        Some("ok")
    );
    assert!(verify_file(&path).expect("verify").is_ok());
}

#[tokio::test]
async fn a_lost_answer_is_read_back_not_resent() {
    let sim = sim().await;
    let relay = relay(upstream(&sim)).await;
    let x = client(&sim, &relay);
    let plan = common::alias_removals(&x, DOMAIN, 0, 1).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join("c.jsonl");

    relay.drop_next.store(1, Ordering::SeqCst);
    let exec = Executor::new(Journal::open(&path, "c").expect("journal"))
        .with_exchange("source", client(&sim, &relay));
    let results = exec.run(&plan).await.expect("run");
    assert_eq!(results[0].status, Status::Applied, "{results:?}");
    assert_eq!(
        relay.writes.load(Ordering::SeqCst),
        1,
        "the write whose answer was lost is not sent again"
    );
    let r = live(&x, &plan[0].target.id).await;
    assert!(!r.email_addresses.contains(&alias_of(&plan[0])));
    let records = read_records(&path).expect("records");
    let outcome = lines(&records, Kind::Outcome, &plan[0].id);
    assert_eq!(outcome.len(), 1);
    assert!(
        outcome[0].event.action.contains("confirmed by reading"),
        "{:?}",
        outcome[0].event
    );
    assert!(verify_file(&path).expect("verify").is_ok());
}
