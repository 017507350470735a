//! Where the dashboard's memory goes at 100,000 users: the source poller's directory, the
//! inventory, the release plan's compact rows and the workbench, built as the dashboard builds
//! them against the rehearsal (in this process), each step's growth of the resident set printed.
//! The process figures (first frame, idle CPU, peak RSS) are `benches/process.rs`'s.
//!
//! `cargo bench --bench memory`. Resident-set growth includes what the allocator keeps after a
//! step's temporary allocations are freed, so a step can read larger than what it holds.
use cutover::app::pollers::{Directory, poll_tenant};
use cutover::app::workbench::{Interner, PlanSketch, Planned, Workbench};
use cutover::sim::{Sim, SimOptions};

fn rss() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        / 1024
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
        let r0 = rss();
        let mut dir = Directory::default();
        let (snap, _) = poll_tenant(&client, &domain, Some(&mut dir)).await.unwrap();
        let r1 = rss();
        println!(
            "directory (users+groups+refs {}): {} MB",
            snap.references.len(),
            r1 - r0
        );
        let entries = cutover::inventory::classify(&domain, &dir);
        let r2 = rss();
        println!("entries {}: {} MB", entries.len(), r2 as i64 - r1 as i64);
        let domains = client.domains().await.unwrap();
        let initial = domains.iter().find(|d| d.is_initial).map(|d| d.id.clone());
        let mut planned = Vec::new();
        let mut strings = Interner::default();
        let mut each =
            |c: &cutover::plan::change::Change| planned.push(Planned::of_shared(c, &mut strings));
        let plan = cutover::plan::live::plan_emit(
            snap.domain.as_ref(),
            initial.as_deref(),
            &dir,
            &entries,
            ("source", &domain),
            None,
            cutover::plan::release::Emit {
                keep: &|_| false,
                each: Some(&mut each),
                renames: false,
            },
        )
        .unwrap();
        let r3 = rss();
        println!("planned {}: {} MB", planned.len(), r3 as i64 - r2 as i64);
        let sketch = PlanSketch {
            initial_domain: plan.initial_domain.clone(),
            planned,
            blocked: cutover::app::workbench::blocked(&plan),
        };
        let mut w = Workbench::default();
        w.replan(sketch, time::OffsetDateTime::now_utc());
        let r4 = rss();
        println!("workbench: {} MB", r4 as i64 - r3 as i64);
        let mut vm = cutover::app::view::ViewModel::default();
        vm.inventory_changed(Some(&entries), "");
        let r5 = rss();
        println!("view model: {} MB", r5 as i64 - r4 as i64);
        println!("total over sim: {} MB", r5 - r0);
        drop((w, vm, entries, dir));
    });
}
