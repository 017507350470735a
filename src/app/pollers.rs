//! Background pollers: one task per source of truth (each tenant's Graph, the DNS sweep). Each
//! waits for its own request before the next tick (latest wins, no pile-up behind a slow
//! service) and sends owned results to the loop as actions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tracing::Instrument;

use crate::dns::DnsClient;
use crate::graph::delta::Delta;
use crate::graph::model::{DirectoryObjectRef, Group, User};
use crate::graph::{GraphClient, GraphError};

use super::action::{Action, PollFailure, TenantSnapshot};
use super::state::TenantId;

/// A tenant's users and groups kept live through delta queries (`/users/delta`,
/// `/groups/delta`): the first round lists them; each later poll asks only for what changed
/// since, which is one request per collection when nothing did. Lives in the poller's task.
#[derive(Debug, Default)]
pub struct Directory {
    users: BTreeMap<String, User>,
    groups: BTreeMap<String, Group>,
    users_link: Option<String>,
    groups_link: Option<String>,
    /// `domainNameReferences` of the domain (by id) as last listed. Graph lists only users
    /// and groups there, so it can only change in a round whose delta changed something; a
    /// quiet round reuses it instead of paging through 100,000 references again.
    references: Option<(String, Vec<DirectoryObjectRef>)>,
}

impl Directory {
    /// Bring both collections up to date. A failed round changes nothing and keeps its link
    /// (the next poll asks again from the same point); a link Graph no longer knows (410 Gone,
    /// its sync state expired) is dropped, so the next poll lists that collection afresh.
    /// True when the round changed something (a first listing always does).
    pub async fn refresh(&mut self, client: &GraphClient) -> Result<bool, GraphError> {
        let (users, groups) = tokio::join!(
            client.users_delta(self.users_link.as_deref()),
            client.groups_delta(self.groups_link.as_deref()),
        );
        let users = settle(users, &mut self.users_link);
        let groups = settle(groups, &mut self.groups_link);
        let (users, groups) = (users?, groups?);
        let changed = apply(&mut self.users, &mut self.users_link, users, |u| &u.id);
        let changed = apply(&mut self.groups, &mut self.groups_link, groups, |g| &g.id) || changed;
        if changed {
            self.references = None;
        }
        Ok(changed)
    }

    /// The domain's `domainNameReferences`: listed after a round that changed the directory
    /// (or for another domain id), else the last listing.
    async fn references(
        &mut self,
        client: &GraphClient,
        domain_id: &str,
    ) -> Result<Vec<DirectoryObjectRef>, GraphError> {
        if let Some((id, kept)) = &self.references
            && id == domain_id
        {
            return Ok(kept.clone());
        }
        let listed = client.domain_name_references(domain_id).await?;
        self.references = Some((domain_id.to_string(), listed.clone()));
        Ok(listed)
    }

    pub fn users(&self) -> impl ExactSizeIterator<Item = &User> {
        self.users.values()
    }

    pub fn groups(&self) -> impl ExactSizeIterator<Item = &Group> {
        self.groups.values()
    }
}

/// Forget a delta link that Graph answered 410 Gone for; pass the result on.
fn settle<T>(
    result: Result<Delta<T>, GraphError>,
    link: &mut Option<String>,
) -> Result<Delta<T>, GraphError> {
    if let Err(GraphError::Api { status: 410, .. }) = &result {
        *link = None;
    }
    result
}

/// One delta round into the kept objects: a first round (no link yet) replaces them all.
/// True when it changed something.
fn apply<T>(
    kept: &mut BTreeMap<String, T>,
    link: &mut Option<String>,
    delta: Delta<T>,
    id: impl Fn(&T) -> &String,
) -> bool {
    let first = link.is_none();
    if first {
        kept.clear();
    }
    let changed = first || !delta.changed.is_empty() || !delta.removed.is_empty();
    for gone in &delta.removed {
        kept.remove(gone);
    }
    for object in delta.changed {
        kept.insert(id(&object).clone(), object);
    }
    *link = Some(delta.delta_link);
    changed
}

/// Read everything the dashboard shows about one tenant. With `directory` its users and groups
/// are brought up to date through delta queries (a tenant whose directory no pane shows is not
/// listed at all), and `domainNameReferences` is listed again only when they changed.
///
/// The snapshot's `users` and `groups` stay empty: no pane reads them (the Users pane shows the
/// reference inventory), and copying 120,000 objects into every poll's snapshot was most of
/// the idle dashboard's CPU (`benches/process.rs`). The live copy is `directory`.
pub async fn poll_tenant(
    client: &GraphClient,
    domain: &str,
    mut directory: Option<&mut Directory>,
) -> Result<TenantSnapshot, GraphError> {
    let refresh = async {
        match directory.as_deref_mut() {
            Some(d) => d.refresh(client).await.map(|_| ()),
            None => Ok(()),
        }
    };
    let (organization, found, ()) =
        tokio::try_join!(client.organization(), client.domain(domain), refresh)?;
    let references = match (&found, directory) {
        (None, _) => Vec::new(),
        (Some(d), Some(directory)) => directory.references(client, &d.id).await?,
        (Some(d), None) => client.domain_name_references(&d.id).await?,
    };
    Ok(TenantSnapshot {
        organization,
        domain: found,
        references,
        users: Vec::new(),
        groups: Vec::new(),
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

/// [`spawn_every`], and also at once when `wake` is notified (after a run changed what the
/// poll reads, so the screen need not wait a whole period to show it).
pub fn spawn_every_or_woken<F, Fut>(
    every: Duration,
    wake: Arc<tokio::sync::Notify>,
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
            tokio::select! {
                _ = ticks.tick() => {}
                _ = wake.notified() => ticks.reset(),
            }
            for action in poll().await {
                if tx.send(action).is_err() {
                    return;
                }
            }
        }
    })
}

/// Poll one tenant every `every`; with `list_directory` its users and groups too, through
/// delta queries (see [`Directory`]).
pub fn spawn_tenant_poller(
    tenant: TenantId,
    client: Arc<GraphClient>,
    domain: String,
    list_directory: bool,
    every: Duration,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    // One poll at a time (`spawn_every` awaits each), so the lock is never contended; it only
    // lets the directory outlive each poll's future.
    let directory = Arc::new(tokio::sync::Mutex::new(Directory::default()));
    spawn_every(every, tx, move || {
        let (client, domain, directory) = (client.clone(), domain.clone(), directory.clone());
        async move {
            let span = tracing::info_span!("poll_tenant", tenant = tenant.as_str());
            let mut directory = directory.lock().await;
            let directory = list_directory.then_some(&mut *directory);
            let result = poll_tenant(&client, &domain, directory)
                .instrument(span)
                .await;
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
    wake: Arc<tokio::sync::Notify>,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    spawn_every_or_woken(every, wake, tx, move || {
        let (client, domain) = (client.clone(), domain.clone());
        async move {
            let span = tracing::info_span!("poll_inventory");
            let read = crate::plan::live::read(&client, &domain)
                .instrument(span)
                .await;
            let at = OffsetDateTime::now_utc();
            let read = match read {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(error = %e, "inventory poll failed");
                    return vec![Action::InventoryPolled {
                        at,
                        result: Err(e.to_string()),
                    }];
                }
            };
            // The inventory and the workbench's release plan come from the same reading, so
            // a row's planned change is about the object as listed.
            let entries = crate::inventory::classify(&domain, read.directory.clone());
            let plan =
                crate::plan::live::plan(&read, &entries, TenantId::Source.as_str(), &domain, None)
                    .map(Box::new)
                    .map_err(|e| e.to_string());
            vec![
                Action::InventoryPolled {
                    at,
                    result: Ok(entries),
                },
                Action::ReleasePlanned { at, result: plan },
            ]
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
