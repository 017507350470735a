//! Inventory benchmark: `cutover inventory` of 100,000 users + 20,000 groups + 5,000 contacts
//! from `cutover sim serve` with 50 ms latency on every Graph request, each in its own process.
//! Reports the wall time against the lower bound (the largest collection's page count × the
//! latency, collections fetched concurrently) and the inventory process's peak RSS (VmHWM from
//! /proc, Linux). Uses the release binary next to this bench's target dir:
//! `cargo build --release && cargo bench --bench inventory [-- RUNS]`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const USERS: usize = 100_000;
const GROUPS: usize = 20_000;
const CONTACTS: usize = 5_000;
const LATENCY_MS: u64 = 50;
const PAGE: usize = 999;
/// What the sim adds on top: shared mailboxes, named groups, app registrations.
const SHARED_MAILBOXES: usize = 3;
const NAMED_GROUPS: usize = 9;
const APPLICATIONS: usize = 3;

/// `target/release/cutover`, found from this bench binary (`target/release/deps/…`).
fn cutover_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("bench path");
    let release = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/release")
        .to_path_buf();
    let bin = release.join(format!("cutover{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        eprintln!(
            "{} is missing: run 'cargo build --release' first",
            bin.display()
        );
        std::process::exit(2);
    }
    bin
}

/// The peak resident set (VmHWM) of a running process, in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct Run {
    wall: Duration,
    peak_kib: u64,
    /// Entries by kind, from the JSON lines.
    kinds: BTreeMap<String, usize>,
}

fn inventory(bin: &Path, config: &Path, data: &Path) -> Run {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args(["inventory", "--config"])
        .arg(config)
        .args([
            "--tenant",
            "source",
            "--domain",
            "contoso.example",
            "--json",
            "--data-dir",
        ])
        .arg(data)
        .env_remove("CUTOVER_CONFIG")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn inventory");
    let pid = child.id();
    let stdout = child.stdout.take().expect("stdout");
    // Read the output on a thread (so the pipe never blocks the process) and poll the peak
    // RSS here until the process ends; VmHWM only grows, so the last reading is the peak.
    let reader = std::thread::spawn(move || {
        let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            // Only the kind, without parsing the line: this thread shares the cores.
            let kind = line
                .split("\"kind\":\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("?")
                .to_string();
            *kinds.entry(kind).or_default() += 1;
        }
        kinds
    });
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let wall = started.elapsed();
    assert!(status.success(), "inventory failed: {status}");
    let kinds = reader.join().expect("reader");
    Run {
        wall,
        peak_kib: peak,
        kinds,
    }
}

fn pages(n: usize) -> usize {
    n.div_ceil(PAGE).max(1)
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(3);
    let bin = cutover_binary();
    let dir = std::env::temp_dir().join(format!("cutover-bench-inventory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config = dir.join("sim.toml");

    let started = Instant::now();
    let mut sim = Command::new(&bin)
        .args([
            "sim",
            "serve",
            "--json",
            "--latency-ms",
            &LATENCY_MS.to_string(),
        ])
        .args([
            "--users",
            &USERS.to_string(),
            "--groups",
            &GROUPS.to_string(),
        ])
        .args(["--contacts", &CONTACTS.to_string(), "--write-config"])
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.join("sim-data"))
        .env_remove("CUTOVER_CONFIG")
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn sim serve");
    let mut line = String::new();
    BufReader::new(sim.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("sim serve line");
    let ready = started.elapsed();
    let sim_rss = peak_rss_kib(sim.id()).unwrap_or(0);
    let _sim = Served(sim);
    assert!(line.contains("graph_url"), "sim serve said: {line}");
    println!(
        "sim serve: {USERS} users + {GROUPS} groups + {CONTACTS} contacts generated and serving in {:.2} s (peak RSS {:.0} MB)",
        ready.as_secs_f64(),
        sim_rss as f64 / 1024.0
    );

    let mut results = Vec::new();
    for i in 0..runs {
        // A fresh data dir each run: every run signs in, as a first inventory does.
        let r = inventory(&bin, &config, &dir.join(format!("data-{i}")));
        results.push(r);
    }

    // The collections the inventory reads, with their sizes. domainNameReferences lists the
    // users and mail-enabled groups that hold the domain, which the inventory reports as
    // such (it adds contacts and applications from their own collections).
    let kinds = &results[0].kinds;
    let count = |k: &str| kinds.get(k).copied().unwrap_or(0);
    let references = count("user")
        + count("distribution_group")
        + count("microsoft365_group")
        + count("mail_enabled_security_group");
    let collections = [
        ("users", USERS + SHARED_MAILBOXES),
        ("groups", GROUPS + NAMED_GROUPS),
        ("contacts", CONTACTS),
        ("applications", APPLICATIONS),
        ("domainNameReferences", references),
    ];
    let largest = collections
        .iter()
        .map(|(name, n)| (pages(*n), *name))
        .max()
        .expect("collections");
    let bound = Duration::from_millis(LATENCY_MS * largest.0 as u64);
    println!("collections ($top={PAGE}):");
    for (name, n) in collections {
        println!("  {name:<22} {n:>7} objects  {:>4} pages", pages(n));
    }
    println!(
        "lower bound: {} pages of {} x {LATENCY_MS} ms = {:.2} s",
        largest.0,
        largest.1,
        bound.as_secs_f64()
    );
    println!("entries: {kinds:?}");
    for (i, r) in results.iter().enumerate() {
        println!(
            "run {}: wall {:.2} s, ratio {:.2} (target <= 1.2), peak RSS {:.0} MB (target <= 300 MB), {} entries",
            i + 1,
            r.wall.as_secs_f64(),
            r.wall.as_secs_f64() / bound.as_secs_f64(),
            r.peak_kib as f64 / 1024.0,
            r.kinds.values().sum::<usize>()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
