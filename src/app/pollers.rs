//! Background pollers: one task per source of truth (each tenant's Graph, the DNS sweep). Each
//! waits for its own request before the next tick (latest wins, no pile-up behind a slow
//! service) and sends owned results to the loop as actions.

use std::collections::HashSet;
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
use super::workbench::{Interner, PlanSketch, Planned};

/// A tenant's users and groups kept live through delta queries (`/users/delta`,
/// `/groups/delta`): the first round lists them; each later poll asks only for what changed
/// since, which is one request per collection when nothing did. Lives in the poller's task.
#[derive(Debug, Default)]
pub struct Directory {
    /// Sorted by id (the order a map by id would give), without a map's copy of each id or
    /// its nodes' room to grow: the first round's listing is kept as it came.
    users: Vec<User>,
    groups: Vec<Group>,
    users_link: Option<String>,
    groups_link: Option<String>,
    /// `domainNameReferences` of the domain (by id) as last listed. Graph lists only users
    /// and groups there, so it can only change in a round whose delta changed something; a
    /// quiet round reuses it instead of paging through 100,000 references again. Shared with
    /// the snapshots sent to the loop, never copied.
    /// Only the references the user and group lists do not show holding the domain are kept
    /// (usually none: the inventory has the others), with how many Graph listed.
    references: Option<(String, Arc<[DirectoryObjectRef]>, usize)>,
    /// The source's contacts and applications, read again every inventory period (Graph has
    /// no delta for them here); with the users and groups, what the inventory classifies.
    contacts: Vec<crate::graph::model::OrgContact>,
    applications: Vec<crate::graph::model::Application>,
}

impl crate::inventory::DirectoryView for Directory {
    fn users(&self) -> impl Iterator<Item = &User> {
        self.users.iter()
    }
    fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.iter()
    }
    fn contacts(&self) -> &[crate::graph::model::OrgContact] {
        &self.contacts
    }
    fn applications(&self) -> &[crate::graph::model::Application] {
        &self.applications
    }
    fn references(&self) -> &[DirectoryObjectRef] {
        self.references.as_ref().map_or(&[], |(_, r, _)| r)
    }
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
    ) -> Result<(Arc<[DirectoryObjectRef]>, usize), GraphError> {
        if let Some((id, kept, total)) = &self.references
            && id == domain_id
        {
            return Ok((kept.clone(), *total));
        }
        let listed = client.domain_name_references(domain_id).await?;
        let total = listed.len();
        // A reference to a user or group whose own addresses hold the domain adds nothing
        // the inventory does not list already; 100,000 of them need not be kept.
        let known = |id: &str| {
            by_id(&self.users, id, |u| &u.id)
                .is_some_and(|u| crate::inventory::user_holds(u, domain_id))
                || by_id(&self.groups, id, |g| &g.id)
                    .is_some_and(|g| crate::inventory::group_holds(g, domain_id))
        };
        let others: Arc<[DirectoryObjectRef]> =
            listed.into_iter().filter(|r| !known(&r.id)).collect();
        self.references = Some((domain_id.to_string(), others.clone(), total));
        Ok((others, total))
    }

    /// The contacts and applications as last read (they have no delta; the source poller
    /// reads them every inventory period).
    pub fn set_contacts_and_applications(
        &mut self,
        contacts: Vec<crate::graph::model::OrgContact>,
        applications: Vec<crate::graph::model::Application>,
    ) {
        self.contacts = contacts;
        self.applications = applications;
    }

    pub fn users(&self) -> impl ExactSizeIterator<Item = &User> {
        self.users.iter()
    }

    pub fn groups(&self) -> impl ExactSizeIterator<Item = &Group> {
        self.groups.iter()
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

/// The object with this id in objects sorted by id.
fn by_id<'a, T>(kept: &'a [T], key: &str, id: impl Fn(&T) -> &String) -> Option<&'a T> {
    let at = kept.binary_search_by(|o| id(o).as_str().cmp(key)).ok()?;
    kept.get(at)
}

/// One delta round into the kept objects (sorted by id): a first round (no link yet) replaces
/// them all; a later one removes, replaces and adds by id, as a map by id would (an id
/// removed and listed again in one round is kept). True when it changed something.
fn apply<T>(
    kept: &mut Vec<T>,
    link: &mut Option<String>,
    delta: Delta<T>,
    id: impl Fn(&T) -> &String,
) -> bool {
    let first = link.is_none();
    let changed = first || !delta.changed.is_empty() || !delta.removed.is_empty();
    *link = Some(delta.delta_link);
    if !changed {
        return false;
    }
    if first {
        *kept = delta.changed;
    } else {
        if !delta.removed.is_empty() {
            let gone: HashSet<&str> = delta.removed.iter().map(String::as_str).collect();
            kept.retain(|o| !gone.contains(id(o).as_str()));
        }
        kept.extend(delta.changed);
    }
    // By id, the last listing of an id winning: reversed, a stable sort puts the latest of
    // equal ids first, and `dedup_by` keeps the first of each run.
    kept.reverse();
    kept.sort_by(|a, b| id(a).cmp(id(b)));
    kept.dedup_by(|a, b| id(a) == id(b));
    kept.shrink_to_fit();
    true
}

/// Read everything the dashboard shows about one tenant. With `directory` its users and groups
/// are brought up to date through delta queries (a tenant whose directory no pane shows is not
/// listed at all), and `domainNameReferences` is listed again only when they changed.
///
/// The snapshot's `users` and `groups` stay empty: no pane reads them (the Users pane shows the
/// reference inventory), and copying 120,000 objects into every poll's snapshot was most of
/// the idle dashboard's CPU (`benches/process.rs`). The live copy is `directory`.
/// The bool: the directory changed in this round.
pub async fn poll_tenant(
    client: &GraphClient,
    domain: &str,
    mut directory: Option<&mut Directory>,
) -> Result<(TenantSnapshot, bool), GraphError> {
    let refresh = async {
        match directory.as_deref_mut() {
            Some(d) => d.refresh(client).await,
            None => Ok(false),
        }
    };
    let (organization, found, changed) =
        tokio::try_join!(client.organization(), client.domain(domain), refresh)?;
    let (references, references_total) = match (&found, directory) {
        (None, Some(directory)) => {
            // The domain is gone: nothing references it, and the inventory says so.
            directory.references = None;
            (Vec::new().into(), None)
        }
        (None, None) => (Vec::new().into(), None),
        (Some(d), Some(directory)) => {
            let (kept, total) = directory.references(client, &d.id).await?;
            (kept, Some(total))
        }
        (Some(d), None) => (client.domain_name_references(&d.id).await?.into(), None),
    };
    // The token these requests were answered with; reading it signs nothing in.
    let signed_in_from = client.tokens().signed_in_from_other_tenant().await;
    Ok((
        TenantSnapshot {
            organization,
            domain: found,
            references,
            references_total,
            users: Vec::new(),
            groups: Vec::new(),
            signed_in_from,
        },
        changed,
    ))
}

/// Read one tenant's connections and access (`access::read`) every `every`, and at once when
/// `wake` is notified (after a Connections run); each reading, or Microsoft's refusal in its
/// words, goes to the loop as [`Action::AccessPolled`].
pub fn spawn_access_poller(
    tenant: TenantId,
    graph: Arc<GraphClient>,
    exchange: Arc<crate::exchange::ExchangeClient>,
    domain: String,
    every: Duration,
    wake: Arc<tokio::sync::Notify>,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = wake.notified() => ticks.reset(),
            }
            let span = tracing::info_span!("poll_access", tenant = tenant.as_str());
            let result = read_access(&graph, &exchange, tenant, &domain)
                .instrument(span)
                .await;
            if let Err(e) = &result {
                tracing::warn!(tenant = tenant.as_str(), error = %e, "access read failed");
            }
            let polled = Action::AccessPolled {
                tenant,
                at: OffsetDateTime::now_utc(),
                result: result.map(Box::new),
            };
            if tx.send(polled).is_err() {
                return;
            }
        }
    })
}

/// The inventory with the tenant's own apps and cutover's registration marked (so the plan
/// never revokes what cutover signs in with), as `cutover access` reads it.
async fn read_access(
    graph: &GraphClient,
    exchange: &crate::exchange::ExchangeClient,
    tenant: TenantId,
    domain: &str,
) -> Result<crate::access::Inventory, String> {
    let mut inv = crate::access::read(graph, exchange, tenant.as_str(), domain)
        .await
        .map_err(|e| e.to_string())?;
    let org = graph.organization().await.map_err(|e| e.to_string())?;
    inv.mark_own(&org.id, graph.tokens().client_id());
    Ok(inv)
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
                .await
                .map(|(snapshot, _)| snapshot);
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

/// The source tenant's poller: every `every` what [`spawn_tenant_poller`] reads, its users and
/// groups kept live through delta queries; and from that same directory the reference
/// inventory and the workbench's release plan, made again only when something they depend on
/// changed (a delta round, the contacts or applications re-read every `inventory_every`, the
/// domain) or when `wake` asks (after a run). One copy of the directory, no full re-listing.
pub fn spawn_source_poller(
    client: Arc<GraphClient>,
    domain: String,
    every: Duration,
    inventory_every: Duration,
    wake: Arc<tokio::sync::Notify>,
    provider: Option<crate::config::Provider>,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut directory = Directory::default();
        let mut inventory = Inventory {
            provider,
            ..Inventory::default()
        };
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            let woken = tokio::select! {
                _ = ticks.tick() => false,
                _ = wake.notified() => {
                    ticks.reset();
                    true
                }
            };
            let span = tracing::info_span!("poll_tenant", tenant = "source");
            let result = poll_tenant(&client, &domain, Some(&mut directory))
                .instrument(span)
                .await;
            let at = OffsetDateTime::now_utc();
            let (snapshot, changed) = match result {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!(tenant = "source", error = %e, "tenant poll failed");
                    let failed = Action::TenantPolled {
                        tenant: TenantId::Source,
                        at,
                        result: Err(PollFailure::from(&e)),
                    };
                    if tx.send(failed).is_err() {
                        return;
                    }
                    continue;
                }
            };
            let this = snapshot.domain.clone();
            let polled = Action::TenantPolled {
                tenant: TenantId::Source,
                at,
                result: Ok(Box::new(snapshot)),
            };
            if tx.send(polled).is_err() {
                return;
            }
            let span = tracing::info_span!("poll_inventory");
            let sent = inventory
                .step(
                    &client,
                    &domain,
                    &mut directory,
                    (this, changed || woken),
                    inventory_every,
                    &tx,
                )
                .instrument(span)
                .await;
            if !sent {
                return;
            }
        }
    })
}

/// What the source poller remembers between inventories.
#[derive(Debug, Default)]
struct Inventory {
    /// When contacts, applications and domains were last read.
    read_at: Option<std::time::Instant>,
    initial: Option<String>,
    /// The domain as the last inventory saw it (its removal or default flag changes the plan).
    this: Option<crate::graph::model::Domain>,
    /// The provider whose portal manages the tenant's users, if any.
    provider: Option<crate::config::Provider>,
}

impl Inventory {
    /// Re-read what has no delta when its period is over; classify and plan again when
    /// anything changed (`changed`: the directory did, or a run asked). Nothing to send when
    /// nothing changed.
    /// False when the loop has gone.
    async fn step(
        &mut self,
        client: &GraphClient,
        domain: &str,
        directory: &mut Directory,
        (this, changed): (Option<crate::graph::model::Domain>, bool),
        every: Duration,
        tx: &UnboundedSender<Action>,
    ) -> bool {
        let at = OffsetDateTime::now_utc();
        let due = changed || self.read_at.is_none_or(|t| t.elapsed() >= every);
        let mut moved = changed || self.read_at.is_none() || this != self.this;
        if due {
            match tokio::try_join!(client.contacts(), client.applications(), client.domains()) {
                Ok((contacts, applications, domains)) => {
                    let initial = domains.into_iter().find(|d| d.is_initial).map(|d| d.id);
                    moved |= contacts != directory.contacts
                        || applications != directory.applications
                        || initial != self.initial;
                    directory.contacts = contacts;
                    directory.applications = applications;
                    self.initial = initial;
                    self.read_at = Some(std::time::Instant::now());
                }
                Err(e) => {
                    tracing::warn!(error = %e, "inventory poll failed");
                    return tx
                        .send(Action::InventoryPolled {
                            at,
                            result: Err(e.to_string()),
                        })
                        .is_ok();
                }
            }
        }
        if !moved {
            return true;
        }
        self.this = this;
        let (entries, sketch) = inventory_and_plan(
            domain,
            directory,
            self.this.as_ref(),
            self.initial.as_deref(),
            self.provider,
        );
        // The rows and their planned changes arrive together: a row never shows a plan made
        // from another reading.
        tx.send(Action::InventoryPolled {
            at,
            result: Ok(entries),
        })
        .is_ok()
            && tx
                .send(Action::ReleasePlanned { at, result: sketch })
                .is_ok()
    }
}

/// The inventory and the workbench's release plan of the source tenant, from one reading of
/// its directory (`this`: the domain there; `initial`: its onmicrosoft domain), as the source
/// poller sends them to the loop; `benches/memory.rs` measures this same path.
pub fn inventory_and_plan(
    domain: &str,
    directory: &Directory,
    this: Option<&crate::graph::model::Domain>,
    initial: Option<&str>,
    provider: Option<crate::config::Provider>,
) -> (
    Vec<crate::inventory::Entry>,
    Result<Box<PlanSketch>, String>,
) {
    // The inventory and the workbench's plan come from the same reading, so a row's
    // planned change is about the object as listed. The plan is handed over change by
    // change as compact rows, never held whole.
    let mut entries = crate::inventory::classify(domain, directory);
    // Rows in the order a person reads them, here rather than on the loop.
    entries.sort_by(crate::inventory::row_order);
    let mut planned = Vec::with_capacity(entries.len() * 2);
    let mut strings = Interner::default();
    // A provider-managed tenant's user renames are the portal's (`plan::provider`): they
    // become the user's blocked reason instead of rows cutover would send.
    let mut portal: Vec<(String, String)> = Vec::new();
    let mut moved: std::collections::HashSet<u64> = std::collections::HashSet::new();
    let mut each = |c: &crate::plan::change::Change| {
        if let Some(p) = provider
            && c.field == crate::plan::change::FIELD_UPN
        {
            moved.insert(super::workbench::key(&c.id));
            let flag = crate::plan::provider::portal_flag(p, c);
            portal.push((flag.target.id, flag.action));
            return;
        }
        planned.push(Planned::of_shared(c, &mut strings));
    };
    let plan = crate::plan::live::plan_emit(
        this,
        initial,
        directory,
        &entries,
        (TenantId::Source.as_str(), domain),
        None,
        crate::plan::release::Emit {
            keep: &|_| false,
            each: Some(&mut each),
            renames: false,
        },
    );
    if !moved.is_empty() {
        for row in &mut planned {
            if row.prerequisites.iter().any(|p| moved.contains(p)) {
                row.prerequisites = row
                    .prerequisites
                    .iter()
                    .filter(|p| !moved.contains(p))
                    .copied()
                    .collect();
            }
        }
    }
    let sketch = plan
        .map(|p| {
            let mut blocked = super::workbench::blocked(&p);
            blocked.extend(portal);
            Box::new(PlanSketch {
                initial_domain: p.initial_domain.clone(),
                planned,
                blocked,
            })
        })
        .map_err(|e| e.to_string());
    (entries, sketch)
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

/// Look for the newest tenant snapshots in the data dir every `every` (what
/// `snapshot.taken(…)` reads); a snapshot taken from the command line shows up too.
pub fn spawn_snapshot_watcher(
    snapshots_dir: std::path::PathBuf,
    domain: String,
    every: Duration,
    tx: UnboundedSender<Action>,
) -> JoinHandle<()> {
    let (dir, domain) = (Arc::new(snapshots_dir), Arc::new(domain));
    // The newest snapshot's folder and its verdict: files are hashed again only when a newer
    // snapshot appears, not at every look.
    let known: Arc<std::sync::Mutex<Vec<(std::path::PathBuf, crate::timeline::SnapshotFact)>>> =
        Arc::default();
    spawn_every(every, tx, move || {
        let (dir, domain, known) = (dir.clone(), domain.clone(), known.clone());
        async move {
            // Reading manifests and hashing files is file work: off the runtime's threads.
            let seen = tokio::task::spawn_blocking(move || {
                let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
                snapshots_seen_cached(&dir, &domain, &mut known)
            })
            .await;
            match seen {
                Ok(seen) => vec![Action::SnapshotsSeen(seen)],
                Err(_) => Vec::new(),
            }
        }
    })
}

/// The newest verified snapshot of each tenant.
pub fn snapshots_seen(dir: &std::path::Path, domain: &str) -> [crate::timeline::SnapshotFact; 2] {
    use crate::timeline::facts::snapshot_fact;
    [
        snapshot_fact(dir, "source", domain),
        snapshot_fact(dir, "destination", domain),
    ]
}

/// [`snapshots_seen`], verifying a snapshot's files only the first time its folder is seen.
fn snapshots_seen_cached(
    dir: &std::path::Path,
    domain: &str,
    known: &mut Vec<(std::path::PathBuf, crate::timeline::SnapshotFact)>,
) -> [crate::timeline::SnapshotFact; 2] {
    use crate::timeline::SnapshotFact;
    ["source", "destination"].map(|tenant| {
        match crate::store::snapshot::latest_under(dir, tenant, domain) {
            None => SnapshotFact::None,
            Some(s) => {
                if let Some((_, fact)) = known.iter().find(|(p, _)| *p == s.path) {
                    return fact.clone();
                }
                let fact = match crate::store::snapshot::verify(&s) {
                    Ok(()) => SnapshotFact::Taken(s.manifest.taken_at),
                    Err(why) => SnapshotFact::Damaged(why),
                };
                known.push((s.path.clone(), fact.clone()));
                fact
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::{apply, by_id};
    use crate::graph::delta::Delta;

    fn round(changed: &[(&str, u8)], removed: &[&str]) -> Delta<(String, u8)> {
        Delta {
            changed: changed.iter().map(|(i, v)| (i.to_string(), *v)).collect(),
            removed: removed.iter().map(|i| i.to_string()).collect(),
            delta_link: "next".into(),
        }
    }

    #[test]
    fn delta_rounds_keep_objects_by_id_as_a_map_would() {
        fn id(o: &(String, u8)) -> &String {
            &o.0
        }
        let (mut kept, mut link) = (Vec::new(), None);
        // A first round replaces everything; a listing's later copy of an id wins.
        assert!(apply(
            &mut kept,
            &mut link,
            round(&[("c", 1), ("a", 1), ("b", 1), ("a", 2)], &[]),
            id
        ));
        assert_eq!(link.as_deref(), Some("next"));
        let ids = |k: &[(String, u8)]| k.iter().map(|(i, v)| format!("{i}{v}")).collect::<Vec<_>>();
        assert_eq!(ids(&kept), ["a2", "b1", "c1"]);
        // A quiet round changes nothing.
        assert!(!apply(&mut kept, &mut link, round(&[], &[]), id));
        assert_eq!(ids(&kept), ["a2", "b1", "c1"]);
        // Replaced, added, removed; an id removed and listed again in one round stays.
        assert!(apply(
            &mut kept,
            &mut link,
            round(&[("b", 3), ("d", 1), ("c", 4), ("0", 1)], &["a", "c", "zz"]),
            id
        ));
        assert_eq!(ids(&kept), ["01", "b3", "c4", "d1"]);
        assert_eq!(by_id(&kept, "c", id).map(|o| o.1), Some(4));
        assert!(by_id(&kept, "a", id).is_none());
        // A link Graph forgot: the next round lists afresh and replaces everything.
        link = None;
        assert!(apply(&mut kept, &mut link, round(&[("e", 1)], &[]), id));
        assert_eq!(ids(&kept), ["e1"]);
    }
}
