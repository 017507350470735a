//! Background pollers: one task per source of truth (each tenant's Graph, the DNS sweep). Each
//! waits for its own request before the next tick (latest wins, no pile-up behind a slow
//! service) and sends owned results to the loop as actions.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::Instrument;

use crate::dns::DnsClient;
use crate::graph::{GraphClient, GraphError};

use super::action::{Action, PollFailure, TenantSnapshot};
use super::state::TenantId;

/// Read everything the dashboard shows about one tenant.
pub async fn poll_tenant(client: &GraphClient, domain: &str) -> Result<TenantSnapshot, GraphError> {
    let (organization, found, users, groups) = tokio::try_join!(
        client.organization(),
        client.domain(domain),
        client.users(),
        client.groups(),
    )?;
    let references = match &found {
        Some(d) => client.domain_name_references(&d.id).await?,
        None => Vec::new(),
    };
    Ok(TenantSnapshot {
        organization,
        domain: found,
        references,
        users,
        groups,
    })
}

/// Run `poll` at every tick of `every` and send what it returns to the loop; a tick missed
/// while a poll ran is skipped, not queued. Ends when the loop has gone.
pub fn spawn_every<F, Fut>(
    every: Duration,
    tx: UnboundedSender<Action>,
    mut poll: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Vec<Action>> + Send + 'static,
{
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            for action in poll().await {
                if tx.send(action).is_err() {
                    return;
                }
            }
        }
    })
}

pub fn spawn_tenant_poller(
    tenant: TenantId,
    client: Arc<GraphClient>,
    domain: String,
    every: Duration,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    spawn_every(every, tx, move || {
        let (client, domain) = (client.clone(), domain.clone());
        async move {
            let span = tracing::info_span!("poll_tenant", tenant = tenant.as_str());
            let result = poll_tenant(&client, &domain).instrument(span).await;
            if let Err(e) = &result {
                tracing::warn!(tenant = tenant.as_str(), error = %e, "tenant poll failed");
            }
            vec![Action::TenantPolled {
                tenant,
                at: OffsetDateTime::now_utc(),
                result: result.map(Box::new).map_err(|e| PollFailure::from(&e)),
            }]
        }
    })
}

/// Sweep the authoritative servers and every resolver at the same tick, so the records (the
/// authoritative answers) and the propagation matrix are of one moment. Each resolver has its
/// own client (cache off). Blocklists are asked through the first recursive resolver: the MX
/// hosts and the lists lie outside the zone, where an authoritative server refuses.
pub fn spawn_propagation_poller(
    resolvers: Vec<crate::dns::monitor::Target>,
    dnsbl: Vec<String>,
    names: Vec<(String, crate::dns::RecordKind)>,
    every: Duration,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    let (resolvers, dnsbl, names) = (Arc::new(resolvers), Arc::new(dnsbl), Arc::new(names));
    spawn_every(every, tx, move || {
        let (resolvers, dnsbl, names) = (resolvers.clone(), dnsbl.clone(), names.clone());
        async move {
            let sweeps = crate::dns::monitor::sweep_all(&resolvers, &names).await;
            let reference = crate::dns::monitor::reference(&names, &sweeps);
            let blocklists = match crate::dns::targets::recursive(&resolvers) {
                Some(r) if !dnsbl.is_empty() => {
                    crate::dns::monitor::check_blocklists(&r.client, &reference, &dnsbl).await
                }
                _ => Vec::new(),
            };
            vec![
                Action::PropagationPolled(sweeps),
                Action::BlocklistsPolled(blocklists),
            ]
        }
    })
}

/// Fetch the expected DNS records from one tenant: its serviceConfigurationRecords, plus the
/// verification TXT while the domain is unverified there (`dns::expected::tenant_records`, as
/// `cutover dns` reads them). A tenant without the domain expects nothing.
pub fn spawn_expected_poller(
    tenant: TenantId,
    client: Arc<GraphClient>,
    domain: String,
    every: Duration,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    spawn_every(every, tx, move || {
        let (client, domain) = (client.clone(), domain.clone());
        async move {
            let result = crate::dns::expected::tenant_records(&client, &domain)
                .await
                .map(Option::unwrap_or_default)
                .map_err(|e| e.to_string());
            vec![Action::ExpectedPolled { tenant, result }]
        }
    })
}

/// Ask who holds the domain from outside (OpenID configuration, user realm, and Graph through
/// `graph`). Every source's answer goes to the loop, faults included.
pub fn spawn_outside_poller(
    discovery: crate::graph::discovery::DiscoveryClient,
    graph: Arc<GraphClient>,
    domain: String,
    every: Duration,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    let discovery = Arc::new(discovery);
    spawn_every(every, tx, move || {
        let (discovery, graph, domain) = (discovery.clone(), graph.clone(), domain.clone());
        async move {
            let span = tracing::info_span!("poll_outside");
            let outside = discovery
                .lookup(&domain, Some(&graph))
                .instrument(span)
                .await;
            for (source, error) in outside.faults() {
                tracing::warn!(source = source.label(), error, "outside lookup failed");
            }
            vec![Action::OutsidePolled {
                at: OffsetDateTime::now_utc(),
                outside: Box::new(outside),
            }]
        }
    })
}

/// Collect the source tenant's reference inventory (every user, group, contact, application
/// and domainNameReferences entry): heavy, so on its own slow interval.
pub fn spawn_inventory_poller(
    client: Arc<GraphClient>,
    domain: String,
    every: Duration,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    spawn_every(every, tx, move || {
        let (client, domain) = (client.clone(), domain.clone());
        async move {
            let span = tracing::info_span!("poll_inventory");
            let result = crate::inventory::collect(&client, &domain)
                .instrument(span)
                .await;
            if let Err(e) = &result {
                tracing::warn!(error = %e, "inventory poll failed");
            }
            vec![Action::InventoryPolled {
                at: OffsetDateTime::now_utc(),
                result: result.map_err(|e| e.to_string()),
            }]
        }
    })
}

/// The zone snapshot before the first change, taken once in the background so the dashboard
/// opens without waiting for DNS: nothing is changed before it opens, and cutover itself never
/// writes DNS. An existing snapshot of the domain is kept (see `dns::snapshot::ensure`).
pub fn spawn_snapshot(
    reference: Arc<DnsClient>,
    domain: String,
    dir: std::path::PathBuf,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        match crate::dns::snapshot::ensure(&reference, &domain, &dir).await {
            Ok(path) => {
                if let Some(name) = path.file_name() {
                    let _ = tx.send(Action::SnapshotReady(name.to_string_lossy().into_owned()));
                }
            }
            Err(e) => tracing::warn!(error = %e, "snapshot before the first change failed"),
        }
    })
}
