//! The change engine under Microsoft-style write throttling (run with `cargo bench --bench
//! apply`): 10,000 alias removals through Exchange (`Set-Mailbox` / `Set-DistributionGroup`
//! / `Set-UnifiedGroup` with `EmailAddresses @{Remove=…}`) against the rehearsal environment
//! throttled to R writes per second per tenant, through `executor::Executor` at concurrency 4
//! with an fsynced journal. Prints the wall time against the bound 10,000 / R, the 429s the
//! sim answered, and lost / doubled changes from the sim's per-object mutation counters. It
//! asserts nothing about time.
//!
//! Then the Graph variant: `APPLY_UPN_N` (default 2000) UPN changes at the same rate, once as
//! single `PATCH /v1.0/users/{id}` requests and once in `$batch`es of 20, with a relay on
//! loopback counting the HTTP requests that reach the sim (the requests batching saves).
//!
//! Environment: `APPLY_N` (changes, default 10000), `APPLY_RATE` (writes/s, default 100),
//! `APPLY_CONCURRENCY` (default 4), `APPLY_UPN_N` (default 2000; 0 skips the Graph variant).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use cutover::audit::{Journal, read_records, verify_file};
use cutover::executor::{Executor, Status};
use cutover::graph::GraphClient;
use cutover::plan::change::{Change, Target};
use cutover::sim::relay::{WriteCounts, counting_relay};
use cutover::sim::{Sim, SimOptions, WRITE_PERMISSIONS};

const DOMAIN: &str = "contoso.example";

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n: usize = env("APPLY_N", 10_000);
    let rate: f64 = env("APPLY_RATE", 100.0);
    let concurrency: usize = env("APPLY_CONCURRENCY", 4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let upn_n: usize = env("APPLY_UPN_N", 2_000);
    rt.block_on(async {
        let sim = exchange_removals(n, upn_n, rate, concurrency).await;
        if upn_n > 0 {
            upn_changes(&sim, upn_n, rate, concurrency).await;
        }
    });
}

async fn exchange_removals(n: usize, upn_n: usize, rate: f64, concurrency: usize) -> Sim {
    let t = Instant::now();
    // Mailboxes and groups: one removable alias each from most of them.
    let sim = Sim::start(SimOptions {
        users: (2 * n).max(3 * upn_n),
        groups: n / 10,
        grant_permissions: WRITE_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let x = sim.exchange_client("source").expect("exchange client");
    let recipients = x.recipients().await.expect("Get-Recipient").items;
    let mut ids = HashMap::new();
    let plan: Vec<Change> = recipients
        .iter()
        .filter_map(|r| {
            let cmdlet = r.kind().set_cmdlet()?;
            let alias = r
                .email_addresses
                .iter()
                .find(|a| a.starts_with("smtp:") && a.ends_with(&format!("@{DOMAIN}")))?;
            ids.insert(
                r.primary_smtp_address.clone(),
                r.external_directory_object_id.clone()?,
            );
            Some(Change::remove_addresses(
                "source",
                cmdlet,
                Target {
                    id: r.primary_smtp_address.clone(),
                    display: r.display_name.clone(),
                },
                std::slice::from_ref(alias),
            ))
        })
        .take(n)
        .collect();
    assert_eq!(plan.len(), n, "the sim has {n} recipients with an alias");
    println!(
        "setup: sim with {} recipients, plan of {n} alias removals, in {:.1} s",
        recipients.len(),
        t.elapsed().as_secs_f64()
    );

    sim.set_write_rate(Some(rate));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("apply.jsonl");
    let exec = Executor::new(Journal::open(&path, "bench").expect("journal"))
        .with_exchange("source", sim.exchange_client("source").expect("client"))
        .concurrency(concurrency);
    let t = Instant::now();
    let results = exec.run(&plan).await.expect("run");
    let wall = t.elapsed().as_secs_f64();

    let applied = results
        .iter()
        .filter(|r| r.status == Status::Applied)
        .count();
    let m = sim.mutations();
    let (mut lost, mut doubled) = (0, 0);
    for c in &plan {
        let times = ids.get(&c.target.id).map_or(0, |id| m.of("source", id));
        match times {
            0 => lost += 1,
            1 => {}
            _ => doubled += 1,
        }
    }
    let (_, throttled) = sim.write_throttled();
    let records = read_records(&path).expect("records").len();
    verify_file(&path).expect("journal verifies");
    let bound = n as f64 / rate;
    println!(
        "exchange: {n} alias removals at {rate} writes/s, concurrency {concurrency}: wall {wall:.1} s, bound {bound:.1} s, wall/bound {:.3}",
        wall / bound
    );
    println!(
        "  applied {applied}, lost {lost}, doubled {doubled}, sim state changes {}, 429s answered {throttled}",
        m.total
    );
    println!(
        "  journal: {records} lines, each intent and outcome fsynced ({:.0} lines/s)",
        records as f64 / wall
    );
    sim
}

/// UPN changes of `2 * n` cloud users: `n` sent singly, then `n` batched.
async fn upn_changes(sim: &Sim, n: usize, rate: f64, concurrency: usize) {
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    let users = sim
        .graph_client("source")
        .expect("graph")
        .users()
        .await
        .expect("users");
    let taken: std::collections::HashSet<String> = users
        .iter()
        .map(|u| u.user_principal_name.to_ascii_lowercase())
        .collect();
    let plan: Vec<Change> = users
        .iter()
        .filter(|u| u.on_premises_sync_enabled != Some(true))
        .filter_map(|u| {
            let (local, host) = u.user_principal_name.rsplit_once('@')?;
            let new = format!("{local}@{initial}");
            (host.eq_ignore_ascii_case(DOMAIN) && !taken.contains(&new.to_ascii_lowercase())).then(
                || {
                    Change::set_upn(
                        "source",
                        &u.id,
                        u.display_name.as_deref().unwrap_or(&u.user_principal_name),
                        &u.user_principal_name,
                        &new,
                    )
                },
            )
        })
        .take(2 * n)
        .collect();
    assert_eq!(
        plan.len(),
        2 * n,
        "the sim has {} cloud users to rename",
        2 * n
    );
    let (single, batched) = plan.split_at(n);
    for (label, part, batching) in [("single PATCH", single, false), ("$batch", batched, true)] {
        sim.set_write_rate(Some(rate));
        let before = sim.mutations();
        let (client, seen) = relayed(sim).await;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("upn.jsonl");
        let exec = Executor::new(Journal::open(&path, "bench").expect("journal"))
            .with_graph("source", client)
            .concurrency(concurrency)
            .batching(batching);
        let t = Instant::now();
        let results = exec.run(part).await.expect("run");
        let wall = t.elapsed().as_secs_f64();
        let applied = results
            .iter()
            .filter(|r| r.status == Status::Applied)
            .count();
        let m = sim.mutations();
        let (mut lost, mut doubled) = (0, 0);
        for c in part {
            match m.of("source", &c.target.id) - before.of("source", &c.target.id) {
                0 => lost += 1,
                1 => {}
                _ => doubled += 1,
            }
        }
        let (throttled, _) = sim.write_throttled();
        verify_file(&path).expect("journal verifies");
        let bound = n as f64 / rate;
        println!(
            "graph, {label}: {n} UPN changes at {rate} writes/s: wall {wall:.1} s, bound {bound:.1} s, wall/bound {:.3}; HTTP write requests {} ({} PATCH, {} $batch); applied {applied}, lost {lost}, doubled {doubled}, 429s answered {throttled}",
            wall / bound,
            seen.patches() + seen.batches(),
            seen.patches(),
            seen.batches(),
        );
    }
}

/// The source's Graph client through a relay that counts the write requests reaching the sim.
async fn relayed(sim: &Sim) -> (GraphClient, Arc<WriteCounts>) {
    let (url, counts) = counting_relay(&sim.graph_url()).await.expect("relay");
    (
        sim.graph_client_via("source", &url).expect("client"),
        counts,
    )
}
