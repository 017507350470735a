//! `cutover snapshot --tenant T [--domain D] [--out DIR]`: the snapshot before the first
//! change, on demand, through the same library function `apply` uses
//! ([`crate::store::snapshot::take`]).

use std::process::ExitCode;

use time::OffsetDateTime;

use super::args::SnapshotArgs;
use super::{Failure, Globals, Outcome, config, dns, exchange, prepare, runtime, start};
use crate::store::snapshot::{self, Folder, Request, SnapshotError};

pub(crate) fn snapshot(globals: &Globals, args: &SnapshotArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(args.tenant)?;
    let domain = loaded.domain(globals)?;
    let cfg = &loaded.cfg;
    let (paths, _log) = prepare(globals)?;
    let folder = match &args.out {
        Some(dir) => Folder::Exactly(std::path::absolute(dir).unwrap_or_else(|_| dir.clone())),
        None => Folder::Under(paths.snapshots_dir()),
    };
    let rt = runtime()?;
    let taken = rt.block_on(async {
        let graph = start::client_for(profile, &paths, Some(start::print_device_code()))?;
        let exchange = exchange::exchange_client(profile, &paths)?;
        // The dashboard's resolvers: the zone's authoritative servers come first.
        let targets = dns::dashboard_resolvers(&domain, cfg).await?;
        let authoritative = targets.iter().find(|t| t.authoritative);
        let names = crate::dns::monitor::record_set(&domain.ascii, &cfg.names);
        snapshot::take(Request {
            tenant: args.tenant.name(),
            domain: &domain.ascii,
            graph: &graph,
            exchange: Some(&exchange),
            dns: authoritative.map(|t| t.client.as_ref()),
            dns_names: &names,
            folder,
            now: OffsetDateTime::now_utc(),
        })
        .await
        .map_err(|e| match e {
            SnapshotError::Graph(g @ crate::graph::GraphError::Auth { .. })
            | SnapshotError::Graph(g @ crate::graph::GraphError::Config(_)) => {
                start::sign_in_failure(g)
            }
            e if e.is_input() => Failure::Input(e.to_string()),
            e => Failure::Service(e.to_string()),
        })
    })?;
    let m = &taken.manifest;
    for (what, part) in [("forwarding", &m.forwarding), ("DNS", &m.dns)] {
        if let Some(why) = &part.missing {
            eprintln!("cutover: warning: the snapshot has no {what}: {why}");
        }
    }
    let counts: Vec<String> = m
        .files
        .iter()
        .filter(|f| f.name.ends_with(".csv"))
        .map(|f| format!("{} {}", f.rows, f.name.trim_end_matches(".csv")))
        .collect();
    println!(
        "snapshot of {} in the {} tenant ({}) written to {}: {}",
        domain.display_both(),
        m.tenant,
        m.tenant_id,
        taken.path.display(),
        counts.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}
