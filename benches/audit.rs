//! Audit journal throughput (run with `cargo bench --bench audit`): appends with an fsync per
//! record, appends group-committed, and verifying a 1,000,000-record log. Prints figures; it
//! asserts nothing about time.

use std::time::Instant;

use cutover::audit::{Event, IncrementalVerifier, Journal, Kind, verify_file};
use serde_json::json;

/// An observed DNS change of realistic size (~400 bytes stored).
fn observed(i: u64) -> Event {
    Event::new(Kind::Observed, "mx value changed")
        .tenant("dns")
        .target(format!("contoso{}.example MX", i % 50))
        .change(
            json!([{"value": "10 contoso-example.mail.protection.outlook.com.", "ttl": 3600}]),
            json!([{"value": "0 contoso-example.mail.protection.outlook.com.", "ttl": 300}]),
        )
}

fn intent(i: u64) -> Event {
    Event::new(Kind::Intent, "remove alias")
        .tenant("source")
        .target(format!("user{i}@contoso.example"))
        .change(
            json!({"proxyAddresses": [format!("smtp:user{i}@contoso.example")]}),
            json!({"proxyAddresses": []}),
        )
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");

    let n = 2_000;
    let path = dir.path().join("fsync.jsonl");
    let mut j = Journal::open(&path, "bench").expect("open");
    let t = Instant::now();
    for i in 0..n {
        j.append(intent(i)).expect("append");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "append, fsync per record (intent): {n} records in {secs:.3} s = {:.0} records/s",
        n as f64 / secs
    );
    drop(j);

    let n = 1_000_000u64;
    let path = dir.path().join("grouped.jsonl");
    let mut j = Journal::open(&path, "bench").expect("open");
    let t = Instant::now();
    for i in 0..n {
        j.append(observed(i)).expect("append");
    }
    j.sync().expect("sync");
    let secs = t.elapsed().as_secs_f64();
    println!(
        "append, group-committed (observed): {n} records in {secs:.3} s = {:.0} records/s",
        n as f64 / secs
    );
    drop(j);

    let bytes = std::fs::metadata(&path).expect("size").len();
    let t = Instant::now();
    let report = verify_file(&path).expect("verify");
    let secs = t.elapsed().as_secs_f64();
    assert!(report.is_ok() && report.lines == n, "{report:?}");
    println!(
        "verify: {n} records ({:.0} MB) in {secs:.3} s = {:.0} records/s",
        bytes as f64 / 1e6,
        n as f64 / secs
    );

    // What the dashboard's writer thread does after a burst of appends to that log: the first
    // check reads it whole, later ones only the new lines.
    let mut verifier = IncrementalVerifier::default();
    let t = Instant::now();
    let first = verifier.advance(&path).expect("advance");
    let whole = t.elapsed().as_secs_f64();
    assert!(first.is_ok() && first.lines == n);
    let mut j = Journal::open(&path, "bench").expect("reopen");
    let burst = 100u64;
    for i in 0..burst {
        j.append(observed(n + i)).expect("append");
    }
    j.sync().expect("sync");
    drop(j);
    let t = Instant::now();
    let after = verifier.advance(&path).expect("advance");
    let incremental = t.elapsed().as_secs_f64();
    assert!(after.is_ok() && after.lines == n + burst, "{after:?}");
    println!(
        "incremental verify: first check {whole:.3} s, then {burst} appended records in {:.3} ms ({:.0}x less)",
        incremental * 1e3,
        whole / incremental
    );
}
