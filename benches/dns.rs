//! DNS sweep benchmark: the full Microsoft 365 record set against 8 resolvers on loopback (the
//! rehearsal environment's caching forwarders in front of its authoritative server), and the
//! same with one resolver that never answers. Run: `cargo bench --bench dns`.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use cutover::dns::monitor::{Target, record_set, sweep_all};
use cutover::sim::cache::CachingResolver;
use cutover::sim::{Sim, SimOptions};

const RUNS: usize = 20;
const TIMEOUT: Duration = Duration::from_millis(500);

fn stats(mut v: Vec<Duration>) -> (Duration, Duration) {
    v.sort();
    (v[v.len() / 2], v[v.len() - 1])
}

async fn measure(
    targets: &[Target],
    names: &[(String, cutover::dns::RecordKind)],
) -> Vec<Duration> {
    let mut out = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let sweeps = sweep_all(targets, names).await;
        out.push(t.elapsed());
        assert_eq!(sweeps.len(), targets.len());
    }
    out
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let sim = Sim::start(SimOptions::default()).await.expect("sim");
        let mut caches = Vec::new();
        for _ in 0..8 {
            caches.push(CachingResolver::start(sim.dns_addr()).await.expect("cache"));
        }
        let names = record_set(sim.domain(), &[]);
        let live: Vec<Target> = caches
            .iter()
            .map(|c| Target::new(c.addr().to_string(), c.addr(), TIMEOUT, false).expect("target"))
            .collect();
        // Warm the caches once, as a dashboard's first poll would.
        let _ = sweep_all(&live, &names).await;
        let (median, max) = stats(measure(&live, &names).await);
        println!(
            "{} records x 8 resolvers: median {:.1} ms, max {:.1} ms over {RUNS} sweeps",
            names.len(),
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3
        );

        let silent = UdpSocket::bind("127.0.0.1:0").expect("bind");
        let silent_addr = silent.local_addr().expect("addr");
        let mut with_dead: Vec<Target> = caches[..7]
            .iter()
            .map(|c| Target::new(c.addr().to_string(), c.addr(), TIMEOUT, false).expect("target"))
            .collect();
        with_dead.push(Target::new("silent", silent_addr, TIMEOUT, false).expect("target"));
        let (median2, max2) = stats(measure(&with_dead, &names).await);
        println!(
            "{} records x 8 resolvers, one never answers (timeout {} ms): median {:.1} ms, max {:.1} ms over {RUNS} sweeps",
            names.len(),
            TIMEOUT.as_millis(),
            median2.as_secs_f64() * 1e3,
            max2.as_secs_f64() * 1e3
        );
        drop(silent);
        sim.shutdown().await;
    });
}
