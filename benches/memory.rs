//! Where the dashboard's memory goes at 100,000 users: the source poller's directory, the
//! inventory and the release plan's compact rows (`app::pollers::inventory_and_plan`, the
//! poller's own path), and the loop taking them in (`app::update`), built against the
//! rehearsal in this process.
//! The process figures (first frame, idle CPU, peak RSS) are `benches/process.rs`'s.
//!
//! `cargo bench --bench memory`. Two figures per step: bytes the program holds (counted by a
//! global allocator that wraps the system's: live bytes after the step, and the most live at
//! any moment during it), and how much the step grew the resident set, which also counts what
//! the allocator keeps after a step's temporary allocations are freed.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use cutover::app::pollers::{Directory, inventory_and_plan, poll_tenant};
use cutover::app::{Action, State, update};
use cutover::sim::{Sim, SimOptions};

/// The system allocator, counting the bytes asked for and not yet freed, and the most at once.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

fn grew(n: usize) {
    let now = LIVE.fetch_add(n, Relaxed) + n;
    PEAK.fetch_max(now, Relaxed);
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
}

/// Measures one step at a time: live bytes before and after, the most live during, RSS growth.
struct Steps {
    live: usize,
    rss: u64,
    base_live: usize,
    base_rss: u64,
}

const MB: f64 = 1_000_000.0;

impl Steps {
    fn start() -> Steps {
        let (live, rss) = (LIVE.load(Relaxed), rss_kib());
        PEAK.store(live, Relaxed);
        println!("| step | held after | most held during | RSS growth |");
        println!("| --- | --- | --- | --- |");
        Steps {
            live,
            rss,
            base_live: live,
            base_rss: rss,
        }
    }

    /// Ends a step: prints its line and starts the next.
    fn step(&mut self, what: &str) {
        let (live, peak, rss) = (LIVE.load(Relaxed), PEAK.load(Relaxed), rss_kib());
        println!(
            "| {what} | {:+.1} MB | {:+.1} MB | {:+.1} MB |",
            (live as f64 - self.live as f64) / MB,
            (peak as f64 - self.live as f64) / MB,
            (rss as f64 - self.rss as f64) * 1024.0 / MB,
        );
        PEAK.store(live, Relaxed);
        (self.live, self.rss) = (live, rss);
    }

    fn total(&self) {
        println!(
            "total over the rehearsal: held {:.1} MB, RSS {:.1} MB",
            (LIVE.load(Relaxed) as f64 - self.base_live as f64) / MB,
            (rss_kib() as f64 - self.base_rss as f64) * 1024.0 / MB,
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let sim = Sim::start(SimOptions {
            users: 100_000,
            groups: 20_000,
            contacts: Some(5000),
            ..SimOptions::default()
        })
        .await
        .unwrap();
        let client = sim.graph_client("source").unwrap();
        let domain = sim.domain().to_string();
        let domains = client.domains().await.unwrap();
        let initial = domains.iter().find(|d| d.is_initial).map(|d| d.id.clone());
        let contacts = client.contacts().await.unwrap();
        let applications = client.applications().await.unwrap();

        let mut steps = Steps::start();
        let mut dir = Directory::default();
        let (snap, _) = poll_tenant(&client, &domain, Some(&mut dir)).await.unwrap();
        dir.set_contacts_and_applications(contacts, applications);
        steps.step(&format!(
            "directory ({} users, {} groups kept by delta; {} references kept)",
            dir.users().len(),
            dir.groups().len(),
            snap.references.len()
        ));

        // The inventory alone, to split the next step (made and dropped).
        let entries = cutover::inventory::classify(&domain, &dir);
        let objects = entries.len();
        steps.step(&format!("inventory entries alone ({objects} objects)"));
        drop(entries);
        steps.step("(inventory dropped)");

        let (entries, sketch) = inventory_and_plan(
            &domain,
            &dir,
            snap.domain.as_ref(),
            initial.as_deref(),
            None,
        );
        let changes = sketch.as_ref().map_or(0, |s| s.planned.len());
        steps.step(&format!(
            "inventory and plan as the poller makes them ({objects} objects, {changes} changes)"
        ));

        let now = time::OffsetDateTime::now_utc();
        let mut state = State::new(
            "bench".into(),
            domain.clone(),
            cutover::plan::Runbook { phases: Vec::new() },
            now,
        );
        update(
            &mut state,
            Action::InventoryPolled {
                at: now,
                result: Ok(entries),
            },
        );
        steps.step("the loop takes the inventory (Users view model)");
        update(
            &mut state,
            Action::ReleasePlanned {
                at: now,
                result: sketch,
            },
        );
        steps.step("the loop takes the plan (workbench)");
        steps.total();

        // A second reading (after a run, or when a delta round moved something): the poller
        // makes the next inventory and plan while the loop still holds the last ones.
        let (entries, sketch) = inventory_and_plan(
            &domain,
            &dir,
            snap.domain.as_ref(),
            initial.as_deref(),
            None,
        );
        steps.step("again, while the loop holds the first (a re-plan)");
        update(
            &mut state,
            Action::InventoryPolled {
                at: now,
                result: Ok(entries),
            },
        );
        update(
            &mut state,
            Action::ReleasePlanned {
                at: now,
                result: sketch,
            },
        );
        steps.step("the loop takes them in place of the first");
        steps.total();
        drop((state, dir));
    });
}
