//! The one way cutover writes to a service. For each change: an `intent` line, fsynced,
//! before the request; the request; an `outcome` line with Microsoft's `request-id` and the
//! result. Before anything is sent, every change the journal shows intended but not finished is
//! checked against the live state ([`reconcile`]); a write that fails ambiguously (5xx, a
//! connection dropped after sending) is checked the same way instead of being re-sent blindly.
//! Read-only mode is enforced here: no mutating request at all. See `docs/executor.md`.

pub mod dns;
pub mod pace;
pub mod reconcile;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::audit::{AuditError, Event, Journal, Kind};
use crate::exchange::{ExchangeClient, ExchangeError, Route as ExchangeRoute};
use crate::graph::GraphClient;
use crate::graph::batch as graph_batch;
use crate::graph::write as graph_write;
use crate::plan::change::{Change, FIELD_DOMAIN_RELEASED, Route};
use reconcile::{Live, Past};

/// Default changes in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Sends of one change at most, when each ambiguous failure is followed by a read showing it
/// not applied.
pub const MAX_SENDS: u32 = 3;
/// 429s reaching the executor (after the client waited out its own) that one change may wait
/// out before it is recorded as failed; a throttled send was not applied, so it is not one of
/// the `MAX_SENDS`.
pub const MAX_THROTTLED_WAITS: u32 = 20;

/// What became of one change in this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Sent and answered (or confirmed by a read after an ambiguous failure).
    Applied,
    /// An unfinished intent from an earlier run, found already in effect: nothing sent.
    Reconciled,
    /// The journal already records it applied: nothing sent, nothing journaled.
    AlreadyDone,
    /// Not sent: read-only mode.
    Refused,
    /// Not sent: a prerequisite did not succeed.
    Skipped(String),
    /// Sent and refused, or its state is unknown (the journal says which).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeResult {
    pub id: String,
    pub status: Status,
    /// Microsoft's `request-id` of the answer the outcome rests on.
    pub request_id: Option<String>,
}

/// Why a run could not start or had to stop.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// The plan itself is unusable; nothing was sent.
    #[error("{0}")]
    Plan(String),
    /// The journal could not be read or written; nothing more is sent.
    #[error("{0}")]
    Audit(#[from] AuditError),
}

/// The executor: a journal, the clients per tenant label, the mode.
pub struct Executor {
    journal: Arc<Mutex<Journal>>,
    exchange: HashMap<String, Arc<ExchangeClient>>,
    graph: HashMap<String, Arc<GraphClient>>,
    dns: Option<Arc<dns::DnsWriter>>,
    read_only: bool,
    concurrency: usize,
    /// How long a domain removal whose answer was lost is read again before it counts as not
    /// applied (a plain DELETE under way shows nothing until the domain is gone).
    removal_settle: std::time::Duration,
    /// How long a wait for another tenant's release polls, and how often.
    release_wait: (std::time::Duration, std::time::Duration),
    /// One pacer per tenant and service ("exchange:source", "graph:source").
    pacers: HashMap<String, Arc<pace::Pacer>>,
    pacing: bool,
    batching: bool,
    /// Told of each change's result as soon as it settles (the dashboard's progress).
    on_settled: Option<Settled>,
}

/// See [`Executor::on_settled`].
pub type Settled = Arc<dyn Fn(&ChangeResult) + Send + Sync>;

/// Default of [`Executor::removal_settle`].
pub const DEFAULT_REMOVAL_SETTLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Default wait for the source's release (`Change::await_release`) in one run: a later
/// `cutover apply --resume` waits again. Microsoft takes minutes to a day.
pub const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How often the release is polled.
pub const RELEASE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

impl Executor {
    pub fn new(journal: Journal) -> Executor {
        Executor::shared(Arc::new(Mutex::new(journal)))
    }

    /// An executor appending to a journal someone else appends to as well (the dashboard's
    /// writer thread): one file, one chain, one lock.
    pub fn shared(journal: Arc<Mutex<Journal>>) -> Executor {
        Executor {
            journal,
            exchange: HashMap::new(),
            graph: HashMap::new(),
            dns: None,
            read_only: false,
            concurrency: DEFAULT_CONCURRENCY,
            removal_settle: DEFAULT_REMOVAL_SETTLE,
            release_wait: (RELEASE_WAIT, RELEASE_POLL),
            pacers: HashMap::new(),
            pacing: true,
            batching: true,
            on_settled: None,
        }
    }

    /// Call `f` with each change's result as soon as it settles, before the run ends.
    pub fn on_settled(mut self, f: Settled) -> Executor {
        self.on_settled = Some(f);
        self
    }

    /// Send Graph user PATCHes in `$batch`es of up to 20 (on by default).
    pub fn batching(mut self, on: bool) -> Executor {
        self.batching = on;
        self
    }

    /// Space writes from what the services say about the rate (on by default); off, only
    /// 429s slow the run down.
    pub fn pacing(mut self, on: bool) -> Executor {
        self.pacing = on;
        self
    }

    /// The pacer of a change's tenant and service.
    fn pacer(&self, c: &Change) -> Option<&pace::Pacer> {
        let service = match c.route {
            Route::Graph { .. } => "graph",
            _ => "exchange",
        };
        self.pacers
            .get(&format!("{service}:{}", c.tenant))
            .map(Arc::as_ref)
    }

    /// The Exchange client for changes whose `tenant` is `label`.
    pub fn with_exchange(
        mut self,
        label: &str,
        client: impl Into<Arc<ExchangeClient>>,
    ) -> Executor {
        self.exchange.insert(label.to_string(), client.into());
        self.pacers
            .insert(format!("exchange:{label}"), Arc::new(pace::Pacer::new()));
        self
    }

    /// The Graph client for changes whose `tenant` is `label`.
    pub fn with_graph(mut self, label: &str, client: impl Into<Arc<GraphClient>>) -> Executor {
        self.graph.insert(label.to_string(), client.into());
        self.pacers
            .insert(format!("graph:{label}"), Arc::new(pace::Pacer::new()));
        self
    }

    /// How long to wait for another tenant's release of a domain, polling every `every`.
    pub fn release_wait(
        mut self,
        deadline: std::time::Duration,
        every: std::time::Duration,
    ) -> Executor {
        self.release_wait = (deadline, every.max(std::time::Duration::from_millis(10)));
        self
    }

    /// How DNS changes (`Route::Dns`) are applied: RFC 2136 updates for configured zones,
    /// instructions and a watch for the others.
    pub fn with_dns(mut self, writer: dns::DnsWriter) -> Executor {
        self.dns = Some(Arc::new(writer));
        self
    }

    /// [`Executor::with_dns`] with a writer shared by several runs (the dashboard's).
    pub fn with_dns_shared(mut self, writer: Arc<dns::DnsWriter>) -> Executor {
        self.dns = Some(writer);
        self
    }

    /// No mutating request, whatever the plan says; each change is journaled as refused.
    pub fn read_only(mut self, on: bool) -> Executor {
        self.read_only = on;
        self
    }

    /// Changes in flight at once (at least 1).
    pub fn concurrency(mut self, n: usize) -> Executor {
        self.concurrency = n.max(1);
        self
    }

    /// How long to keep reading a domain whose removal's answer was lost, for it to be gone,
    /// before sending the removal again.
    pub fn removal_settle(mut self, bound: std::time::Duration) -> Executor {
        self.removal_settle = bound;
        self
    }

    /// The Graph client of a tenant label (for reads after a run, e.g. waiting for a removed
    /// domain to be gone).
    pub fn graph_client(&self, label: &str) -> Option<Arc<GraphClient>> {
        self.graph.get(label).cloned()
    }

    /// Journal what a read saw (an `observed` line, e.g. a domain released), fsynced.
    pub async fn observed(
        &self,
        tenant: &str,
        target: &str,
        action: &str,
        details: serde_json::Value,
    ) -> Result<(), ExecError> {
        self.journal(
            Event::new(Kind::Observed, action)
                .tenant(tenant)
                .target(target)
                .details(details),
        )
        .await
    }

    /// Give the journal back (e.g. to append a session end).
    pub fn into_journal(self) -> Option<Journal> {
        Arc::try_unwrap(self.journal)
            .ok()
            .and_then(|m| m.into_inner().ok())
    }

    /// Apply `plan` in prerequisite order, reconciling what the journal left unfinished first.
    /// Running the same plan again (`--resume`) sends only what is not yet done.
    pub async fn run(&self, plan: &[Change]) -> Result<Vec<ChangeResult>, ExecError> {
        self.validate(plan)?;
        let path = self.lock()?.path().to_path_buf();
        let past = reconcile::journal_state(&path)?;
        let mut results: HashMap<String, ChangeResult> = HashMap::new();
        let mut left: Vec<&Change> = plan.iter().collect();
        while !left.is_empty() {
            // A change runs once all its prerequisites have run; a failed prerequisite skips it.
            let (ready, later): (Vec<&Change>, Vec<&Change>) = left
                .into_iter()
                .partition(|c| c.prerequisites.iter().all(|p| results.contains_key(p)));
            left = later;
            // A prerequisite refused by read-only mode does not skip the change: read-only
            // refuses it too, journaled as a refusal (a skip would leave no outcome and read
            // as a failure).
            let blocked_by = |c: &Change| {
                c.prerequisites
                    .iter()
                    .find(|p| {
                        results.get(*p).is_some_and(|r| {
                            !matches!(
                                r.status,
                                Status::Applied
                                    | Status::Reconciled
                                    | Status::AlreadyDone
                                    | Status::Refused
                            )
                        })
                    })
                    .cloned()
            };
            let units: Vec<Vec<Job>> = self
                .units(ready)
                .into_iter()
                .map(|unit| {
                    unit.into_iter()
                        .map(|c| Job {
                            change: c,
                            blocked: blocked_by(c),
                            past: past.get(&c.id).copied().unwrap_or(Past::New),
                        })
                        .collect()
                })
                .collect();
            // The futures are made here, not by a closure inside the stream: rustc cannot
            // prove such a closure's future `Send` for every lifetime of `Job`
            // (rust-lang/rust#102211), and the dashboard spawns runs on its runtime.
            let work: Vec<_> = units.into_iter().map(|u| self.unit_told(u)).collect();
            let wave: Vec<ChangeResult> = futures_util::stream::iter(work)
                .buffer_unordered(self.concurrency)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<Vec<_>>, _>>()?
                .into_iter()
                .flatten()
                .collect();
            for r in wave {
                results.insert(r.id.clone(), r);
            }
        }
        Ok(plan.iter().filter_map(|c| results.remove(&c.id)).collect())
    }

    /// The wave's changes as units of work: Graph user PATCHes of one tenant in `$batch`es of
    /// up to 20 (when batching is on), everything else one by one.
    fn units<'c>(&self, ready: Vec<&'c Change>) -> Vec<Vec<&'c Change>> {
        let mut units = Vec::new();
        let mut open: Vec<(String, Vec<&'c Change>)> = Vec::new();
        for c in ready {
            if !(self.batching && batchable(c)) {
                units.push(vec![c]);
                continue;
            }
            let at = match open.iter().position(|(t, _)| *t == c.tenant) {
                Some(at) => at,
                None => {
                    open.push((c.tenant.clone(), Vec::new()));
                    open.len() - 1
                }
            };
            if let Some((_, group)) = open.get_mut(at) {
                group.push(c);
                if group.len() == graph_batch::MAX_BATCH {
                    units.push(std::mem::take(group));
                }
            }
        }
        units.extend(open.into_iter().map(|(_, g)| g).filter(|g| !g.is_empty()));
        units
    }

    /// [`Executor::unit`], telling [`Executor::on_settled`] each result.
    async fn unit_told(&self, unit: Vec<Job<'_>>) -> Result<Vec<ChangeResult>, ExecError> {
        let settled = self.unit(unit).await?;
        if let Some(tell) = &self.on_settled {
            for r in &settled {
                tell(r);
            }
        }
        Ok(settled)
    }

    /// Run one unit: a single change, or a `$batch` of Graph writes.
    async fn unit(&self, unit: Vec<Job<'_>>) -> Result<Vec<ChangeResult>, ExecError> {
        let mut out = Vec::new();
        let mut to_send = Vec::new();
        let batch = unit.len() > 1;
        for job in unit {
            let c = job.change;
            if let Some(p) = job.blocked {
                out.push(ChangeResult {
                    id: c.id.clone(),
                    status: Status::Skipped(format!("prerequisite {p} not applied")),
                    request_id: None,
                });
            } else if !batch {
                out.push(self.one(c, job.past).await?);
            } else if let Some(settled) = self.prepare(c, job.past).await? {
                out.push(settled);
            } else {
                // Intent journaled and fsynced: only now may it go out in the batch.
                to_send.push(c);
            }
        }
        if to_send.len() < 2 {
            for c in to_send {
                out.push(self.deliver(c, Attempts::default(), None).await?);
            }
            return Ok(out);
        }
        let Some(client) = to_send.first().and_then(|c| self.graph.get(&c.tenant)) else {
            return Err(ExecError::Plan("no Graph client for a batch".into()));
        };
        let writes: Vec<graph_write::BatchWrite> = to_send
            .iter()
            .filter_map(|c| match &c.route {
                Route::Graph { method, path, body } => Some(graph_write::BatchWrite {
                    method,
                    path,
                    body: body.as_ref(),
                }),
                _ => None,
            })
            .collect();
        let pacer = to_send
            .first()
            .and_then(|c| self.pacer(c))
            .filter(|_| self.pacing);
        if let Some(p) = pacer {
            p.wait_n(writes.len() as u32).await;
        }
        let answers = client.write_batch(&writes).await;
        if let Some(p) = pacer {
            // One adjustment per batch (its items were one burst): the highest use of the
            // limit any item reported, and whether any item was throttled.
            let mut pace = crate::graph::Pace::default();
            let mut throttled = 0;
            for w in answers.iter().flatten() {
                pace.limit_used = match (pace.limit_used, w.pace.limit_used) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                throttled += w.throttled;
            }
            p.answered_n(&pace, throttled, answers.len() as u32);
        }
        for (c, answer) in to_send.into_iter().zip(answers) {
            let answer = graph_answer(answer);
            let attempts = Attempts {
                batched: true,
                ..Attempts::default()
            };
            out.push(self.deliver(c, attempts, Some(answer)).await?);
        }
        Ok(out)
    }

    /// Everything that would stop the run half-way is refused before the first request.
    fn validate(&self, plan: &[Change]) -> Result<(), ExecError> {
        let mut ids = HashSet::new();
        for c in plan {
            if !ids.insert(c.id.as_str()) {
                return Err(ExecError::Plan(format!(
                    "the plan lists change {} twice; plan again",
                    c.id
                )));
            }
        }
        for c in plan {
            if let Some(p) = c.prerequisites.iter().find(|p| !ids.contains(p.as_str())) {
                return Err(ExecError::Plan(format!(
                    "change {} needs {p}, which the plan does not contain; plan again",
                    c.id
                )));
            }
            match &c.route {
                Route::Exchange { .. } if !self.exchange.contains_key(&c.tenant) => {
                    return Err(ExecError::Plan(format!(
                        "change {} is for tenant '{}', which has no Exchange sign-in; configure it",
                        c.id, c.tenant
                    )));
                }
                Route::Exchange { .. } => {}
                Route::Graph { .. } if !self.graph.contains_key(&c.tenant) => {
                    return Err(ExecError::Plan(format!(
                        "change {} is for tenant '{}', which has no Graph sign-in; configure it",
                        c.id, c.tenant
                    )));
                }
                Route::Graph { method, path, body } => {
                    graph_route_usable(c, method, path, body.as_ref())?
                }
                Route::Dns { .. } if self.dns.is_none() => {
                    return Err(ExecError::Plan(format!(
                        "change {} is a DNS change and this run has no DNS settings; apply it with 'cutover apply'",
                        c.id
                    )));
                }
                Route::Dns { .. } => dns::usable(c).map_err(|why| {
                    ExecError::Plan(format!("change {}: {why}; plan again", c.id))
                })?,
                other => {
                    return Err(ExecError::Plan(format!(
                        "change {} goes through {}, which this executor cannot apply yet; remove it from the plan and make it by hand",
                        c.id,
                        other.kind()
                    )));
                }
            }
        }
        Ok(())
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Journal>, ExecError> {
        self.journal.lock().map_err(|_| {
            ExecError::Plan("the journal's writer panicked; nothing more is sent".into())
        })
    }

    /// Append (and fsync, for intents and outcomes) off the async threads.
    async fn journal(&self, event: Event) -> Result<(), ExecError> {
        let journal = Arc::clone(&self.journal);
        tokio::task::spawn_blocking(move || match journal.lock() {
            Ok(mut j) => j.append(event).map(|_| ()).map_err(ExecError::from),
            Err(_) => Err(ExecError::Plan(
                "the journal's writer panicked; nothing more is sent".into(),
            )),
        })
        .await
        .map_err(|e| ExecError::Plan(format!("the journal's writer stopped: {e}")))?
    }

    fn client(&self, c: &Change) -> Result<&ExchangeClient, ExecError> {
        self.exchange
            .get(&c.tenant)
            .map(|c| c.as_ref())
            .ok_or_else(|| ExecError::Plan(format!("no Exchange client for '{}'", c.tenant)))
    }

    async fn outcome(
        &self,
        c: &Change,
        action: &str,
        result: &str,
        request_id: Option<String>,
        details: serde_json::Value,
    ) -> Result<(), ExecError> {
        let mut details = details;
        details["change"] = json!(c.id);
        let mut e = Event::new(Kind::Outcome, action)
            .tenant(&c.tenant)
            .target(&c.target.id)
            .details(details)
            .result(result);
        if let Some(id) = request_id {
            e = e.request_id(id);
        }
        self.journal(e).await
    }

    /// Is the change in effect? Read through the change's own route's service.
    async fn check(&self, c: &Change) -> Result<Live, String> {
        match &c.route {
            Route::Graph { .. } => match self.graph.get(&c.tenant) {
                Some(g) => reconcile::check_graph(g, c).await,
                None => Err(format!("no Graph client for '{}'", c.tenant)),
            },
            Route::Dns { .. } => match &self.dns {
                Some(d) => d.check(c).await,
                None => Err("no DNS settings in this run".to_string()),
            },
            _ => match self.exchange.get(&c.tenant) {
                Some(x) => reconcile::check_exchange(x, c).await,
                None => Err(format!("no Exchange client for '{}'", c.tenant)),
            },
        }
    }

    /// [`Executor::check`] after an ambiguous failure. A domain removal accepted by a plain
    /// DELETE shows nothing in Graph until the domain is gone, so the domain is read again
    /// (bounded by `removal_settle`) before the removal counts as not applied: re-sending it
    /// would only be refused as "already in progress".
    async fn settle(&self, c: &Change) -> Result<Live, String> {
        let first = self.check(c).await?;
        if first.holds || c.field != crate::plan::change::FIELD_DOMAIN {
            return Ok(first);
        }
        let Some(client) = self.graph.get(&c.tenant) else {
            return Ok(first);
        };
        // Gone or still listed, the read after the wait decides (with its request id).
        reconcile::wait_released(client, &c.target.id, self.removal_settle, |_| {}).await?;
        self.check(c).await
    }

    /// A connector change answered: read `Get-…Connector -Identity <name>` until it shows the
    /// change (Exchange answers before every server has it), at most `removal_settle`. The
    /// words for the outcome, or the failure result when it never showed.
    async fn confirm_by_polling(&self, c: &Change) -> Result<String, String> {
        let started = std::time::Instant::now();
        let mut reads = 0u32;
        let cmdlet = match &c.route {
            Route::Exchange { cmdlet, .. } => cmdlet
                .replacen("Remove-", "Get-", 1)
                .replacen("New-", "Get-", 1),
            _ => "a read".to_string(),
        };
        let wanted = if c.after.is_null() {
            "no longer lists it"
        } else {
            "lists it"
        };
        let last = loop {
            reads += 1;
            let seen = match self.check(c).await {
                Ok(Live { holds: true, .. }) => {
                    return Ok(format!(
                        "applied (confirmed: {cmdlet} {wanted}, read {reads} time(s))"
                    ));
                }
                Ok(_) => format!("{cmdlet} does not show it yet"),
                Err(why) => why,
            };
            let waited = started.elapsed();
            if waited >= self.removal_settle {
                break seen;
            }
            let step = Duration::from_millis(250)
                .max(waited / 10)
                .min(Duration::from_secs(5));
            tokio::time::sleep(step.min(self.removal_settle.saturating_sub(waited))).await;
        };
        Err(format!(
            "failed: Exchange accepted it but after {} s {last}; run 'cutover apply --resume' to read it again",
            started.elapsed().as_secs()
        ))
    }

    /// Send the change once, in its slot of its tenant's and service's pacer, and tell the
    /// pacer what the answer said about the rate.
    async fn paced_send(&self, c: &Change) -> Result<Result<Sent, Unsent>, ExecError> {
        let pacer = self.pacer(c).filter(|_| self.pacing);
        if let Some(p) = pacer {
            p.wait().await;
        }
        let sent = self.send(c).await?;
        if let Some(p) = pacer {
            match &sent {
                Ok(s) => p.answered(&s.pace, s.throttled),
                Err(e) if e.throttled => p.hold(Duration::ZERO),
                Err(_) => {}
            }
        }
        Ok(sent)
    }

    /// Send the change once through its route.
    async fn send(&self, c: &Change) -> Result<Result<Sent, Unsent>, ExecError> {
        match &c.route {
            Route::Exchange { cmdlet, params } => {
                let client = self.client(c)?;
                Ok(
                    match client
                        .invoke_write(ExchangeRoute::InvokeCommand, cmdlet, params.clone())
                        .await
                    {
                        Ok(answer) => Ok(Sent {
                            request_id: answer.request_ids.last().cloned(),
                            warnings: answer.warnings,
                            action: None,
                            pace: answer.pace,
                            throttled: answer.throttled,
                        }),
                        Err(e) => Err(Unsent {
                            throttled: e.status() == Some(429),
                            ambiguous: ambiguous(&e),
                            request_id: request_id_of(&e),
                            error: e.to_string(),
                        }),
                    },
                )
            }
            Route::Graph { method, path, body } => {
                let client = self.graph.get(&c.tenant).ok_or_else(|| {
                    ExecError::Plan(format!("no Graph client for '{}'", c.tenant))
                })?;
                Ok(graph_answer(
                    client.write(method, path, body.as_ref()).await,
                ))
            }
            Route::Dns { .. } => {
                let writer = self
                    .dns
                    .as_ref()
                    .ok_or_else(|| ExecError::Plan("no DNS settings in this run".into()))?;
                Ok(match writer.send(c).await {
                    Ok(done) => Ok(Sent {
                        request_id: done.request_id,
                        warnings: Vec::new(),
                        action: Some(done.action),
                        // DNS updates go to the zone's primary, which Microsoft does not pace.
                        pace: crate::graph::Pace::default(),
                        throttled: 0,
                    }),
                    Err(e) => Err(Unsent {
                        error: e.error,
                        ambiguous: e.ambiguous,
                        request_id: None,
                        throttled: false,
                    }),
                })
            }
            other => Err(ExecError::Plan(format!(
                "change {} goes through {}, which this executor cannot apply yet",
                c.id,
                other.kind()
            ))),
        }
    }

    async fn one(&self, c: &Change, past: Past) -> Result<ChangeResult, ExecError> {
        if let Some(settled) = self.prepare(c, past).await? {
            return Ok(settled);
        }
        self.deliver(c, Attempts::default(), None).await
    }

    /// Everything before the first send: a change already done, reconciled from the live
    /// state, or refused (read-only) is settled here; otherwise its intent is journaled
    /// (fsynced) and `None` says it is to be sent.
    async fn prepare(&self, c: &Change, past: Past) -> Result<Option<ChangeResult>, ExecError> {
        let done = |status, request_id| {
            Ok(Some(ChangeResult {
                id: c.id.clone(),
                status,
                request_id,
            }))
        };
        if past == Past::Done {
            return done(Status::AlreadyDone, None);
        }
        if c.field == FIELD_DOMAIN_RELEASED {
            return self.await_release(c).await.map(Some);
        }
        if past == Past::Pending {
            // A read is not a write: read-only mode reconciles too.
            match self.check(c).await {
                Ok(Live {
                    holds: true,
                    request_id,
                }) => {
                    self.outcome(
                        c,
                        "reconciled: already applied",
                        "ok",
                        request_id.clone(),
                        json!({}),
                    )
                    .await?;
                    return done(Status::Reconciled, request_id);
                }
                Ok(_) => {}
                // Unknown: the intent stays open for the next run.
                Err(why) => return done(Status::Failed(why), None),
            }
        }
        if self.read_only {
            self.outcome(
                c,
                "not applied: read-only mode",
                "refused: read-only mode",
                None,
                json!({}),
            )
            .await?;
            return done(Status::Refused, None);
        }
        let via = match &c.route {
            Route::Exchange { cmdlet, .. } => cmdlet.clone(),
            Route::Graph { method, path, .. } => format!("{method} {path}"),
            Route::Dns { zone, rtype, .. } => match &self.dns {
                Some(d) => format!("DNS {rtype} ({})", d.mode(zone)),
                None => format!("DNS {rtype}"),
            },
            other => other.kind().to_string(),
        };
        self.journal(
            Event::new(Kind::Intent, format!("{} via {via}", c.field))
                .tenant(&c.tenant)
                .target(&c.target.id)
                .change(c.before.clone(), c.after.clone())
                .details(json!({
                    "change": c.id,
                    "display": c.target.display,
                    "route": c.route,
                    "rule": c.rule,
                    "resumed": past == Past::Pending,
                })),
        )
        .await?;
        Ok(None)
    }

    /// Send until the change is settled. `first` is the answer of a send already made (its
    /// item in a `$batch`), handled like any other send's answer.
    async fn deliver(
        &self,
        c: &Change,
        attempts: Attempts,
        first: Option<Result<Sent, Unsent>>,
    ) -> Result<ChangeResult, ExecError> {
        let done = |status, request_id| {
            Ok(ChangeResult {
                id: c.id.clone(),
                status,
                request_id,
            })
        };
        let Attempts {
            mut failures,
            mut throttled,
            mut waits,
            mut sends,
            batched,
        } = attempts;
        let mut first = first;
        while sends < MAX_SENDS {
            let answer = match first.take() {
                Some(answer) => answer,
                None => self.paced_send(c).await?,
            };
            let error = match answer {
                Ok(sent) => {
                    throttled += sent.throttled;
                    let mut action = sent.action.clone();
                    if c.field == crate::plan::change::FIELD_CONNECTOR {
                        match self.confirm_by_polling(c).await {
                            Ok(words) => action = Some(words),
                            Err(result) => {
                                self.outcome(
                                    c,
                                    "answered, not confirmed",
                                    &result,
                                    sent.request_id.clone(),
                                    json!({"warnings": sent.warnings, "failures": failures, "throttled": throttled}),
                                )
                                .await?;
                                return done(Status::Failed(result), sent.request_id);
                            }
                        }
                    }
                    self.outcome(
                        c,
                        action.as_deref().unwrap_or("applied"),
                        "ok",
                        sent.request_id.clone(),
                        json!({"warnings": sent.warnings, "failures": failures, "throttled": throttled, "batched": batched}),
                    )
                    .await?;
                    return done(Status::Applied, sent.request_id);
                }
                Err(e) => e,
            };
            if error.throttled && waits < MAX_THROTTLED_WAITS {
                // The client waited out its Retry-Afters already; wait a little longer each
                // time (1 s, 2 s, … 5 s: Microsoft's Retry-After is seconds).
                throttled += 1;
                waits += 1;
                let wait = Duration::from_secs(u64::from(waits.min(5)));
                tracing::warn!(change = %c.id, wait_s = wait.as_secs(), "still throttled; waiting before sending again");
                if let Some(p) = self.pacer(c) {
                    p.hold(wait);
                }
                tokio::time::sleep(wait).await;
                continue;
            }
            sends += 1;
            if !error.ambiguous {
                // Refused: Microsoft's words go into the outcome.
                let result = format!("failed: {}", error.error);
                self.outcome(
                    c,
                    "not applied",
                    &result,
                    error.request_id.clone(),
                    json!({"failures": failures, "throttled": throttled}),
                )
                .await?;
                return done(Status::Failed(result), error.request_id);
            }
            // It may have run: the live state says whether, not a blind re-send.
            failures.push(error.error.clone());
            match self.settle(c).await {
                Ok(Live {
                    holds: true,
                    request_id,
                }) => {
                    self.outcome(
                        c,
                        "applied (confirmed by reading it back after the answer was lost)",
                        "ok",
                        request_id.clone(),
                        json!({"failures": failures, "throttled": throttled}),
                    )
                    .await?;
                    return done(Status::Applied, request_id);
                }
                Ok(_) => {}
                Err(why) => {
                    let result = format!("unknown: {}; {why}", error.error);
                    self.outcome(
                        c,
                        "unknown whether applied",
                        &result,
                        None,
                        json!({"failures": failures}),
                    )
                    .await?;
                    return done(Status::Failed(result), None);
                }
            }
        }
        let result = format!(
            "failed: {MAX_SENDS} sends failed and reading back showed it not applied; last: {}",
            failures.last().map(String::as_str).unwrap_or("")
        );
        self.outcome(
            c,
            "not applied",
            &result,
            None,
            json!({"failures": failures}),
        )
        .await?;
        done(Status::Failed(result), None)
    }
}

impl Executor {
    /// A wait for another tenant's release (`Change::await_release`): read, not write, so no
    /// intent and read-only mode reads too (once). Polls until the read holds or the deadline
    /// passes; the outcome records what was seen, with the request id of the last read.
    async fn await_release(&self, c: &Change) -> Result<ChangeResult, ExecError> {
        let (deadline, every) = self.release_wait;
        let started = tokio::time::Instant::now();
        let last_error = loop {
            let error = match self.check(c).await {
                Ok(Live {
                    holds: true,
                    request_id,
                }) => {
                    self.outcome(
                        c,
                        "released: the releasing tenant answers 404",
                        "ok",
                        request_id.clone(),
                        json!({"waited_ms": started.elapsed().as_millis() as u64}),
                    )
                    .await?;
                    return Ok(ChangeResult {
                        id: c.id.clone(),
                        status: Status::Applied,
                        request_id,
                    });
                }
                Ok(_) => None,
                Err(why) => Some(why),
            };
            if self.read_only || started.elapsed() + every > deadline {
                break error;
            }
            tokio::time::sleep(every).await;
        };
        let seen = last_error.unwrap_or_else(|| format!("the {} tenant still has it", c.tenant));
        let result = format!(
            "failed: {} not released after {} s ({seen}); run 'cutover apply --resume' later: removal takes minutes to a day",
            c.target.display,
            started.elapsed().as_secs()
        );
        self.outcome(c, "not released yet", &result, None, json!({}))
            .await?;
        Ok(ChangeResult {
            id: c.id.clone(),
            status: Status::Failed(result),
            request_id: None,
        })
    }
}

/// A change of a wave, with what stops it and what the journal says of it.
struct Job<'c> {
    change: &'c Change,
    blocked: Option<String>,
    past: Past,
}

/// Graph lets these go in a `$batch`: a user's PATCH (the UPN). Domain add, verify, default
/// and removal stay single requests.
fn batchable(c: &Change) -> bool {
    matches!(&c.route, Route::Graph { method, path, .. }
        if method.eq_ignore_ascii_case("PATCH") && path.starts_with("/v1.0/users/"))
}

/// What the sends of one change so far came to.
#[derive(Default)]
struct Attempts {
    /// Ambiguous failures, each settled by reading the object back.
    failures: Vec<String>,
    /// 429s answered: none applied the change.
    throttled: u32,
    /// 429s the executor itself waited out.
    waits: u32,
    /// Sends that may have reached the service (at most [`MAX_SENDS`]).
    sends: u32,
    /// The first send went in a `$batch`.
    batched: bool,
}

/// A write answered.
struct Sent {
    request_id: Option<String>,
    warnings: Vec<String>,
    /// The outcome's words when not plain "applied" (a DNS change seen on N servers).
    action: Option<String>,
    /// What the answer said about the rate.
    pace: crate::graph::Pace,
    /// 429s the client waited out before this answer.
    throttled: u32,
}

/// A Graph write's answer (alone or a `$batch` item) as the executor weighs it.
fn graph_answer(
    answer: Result<graph_write::Written, crate::graph::GraphError>,
) -> Result<Sent, Unsent> {
    match answer {
        Ok(w) => Ok(Sent {
            request_id: w.request_id,
            warnings: Vec::new(),
            action: None,
            pace: w.pace,
            throttled: w.throttled,
        }),
        Err(e) => Err(Unsent {
            throttled: e.status() == Some(429),
            ambiguous: graph_write::ambiguous(&e),
            request_id: graph_write::request_id_of(&e),
            error: e.to_string(),
        }),
    }
}

/// A write that failed, and whether it may nevertheless have been applied.
struct Unsent {
    error: String,
    ambiguous: bool,
    /// Still 429 after the client's own waits: not applied, to be sent again after a wait.
    throttled: bool,
    request_id: Option<String>,
}

/// A Graph change the executor can send and read back, or why not (before any request).
fn graph_route_usable(
    c: &Change,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<(), ExecError> {
    let refuse = |why: String| {
        Err(ExecError::Plan(format!(
            "change {}: {why}; plan again",
            c.id
        )))
    };
    if c.field == FIELD_DOMAIN_RELEASED {
        // A wait: the one read the executor polls instead of sending.
        return if method == "GET" && path.starts_with("/v1.0/domains/") {
            Ok(())
        } else {
            refuse(format!(
                "a release wait is GET /v1.0/domains/{{id}}, not {method} {path}"
            ))
        };
    }
    if !graph_write::WRITE_METHODS.contains(&method) {
        return refuse(format!("'{method}' is not a Graph write method"));
    }
    if !path.starts_with("/v1.0/") {
        return refuse(format!("Graph path '{path}' does not start with /v1.0/"));
    }
    if !reconcile::GRAPH_FIELDS.contains(&c.field.as_str()) {
        // Without a read-back, an ambiguous failure could not be settled without re-sending.
        return refuse(format!(
            "cutover cannot read field '{}' back through Graph",
            c.field
        ));
    }
    let force = path.ends_with("/forceDelete");
    let says_disable = body
        .and_then(|b| b.get("disableUserAccounts"))
        .is_some_and(serde_json::Value::is_boolean);
    if force && !says_disable {
        // Graph's default is true: every renamed user would be disabled.
        return refuse(
            "forceDelete must say disableUserAccounts (true or false) explicitly".to_string(),
        );
    }
    Ok(())
}

/// Whether a failed write may nevertheless have been applied.
fn ambiguous(e: &ExchangeError) -> bool {
    match e {
        ExchangeError::Transport { .. } | ExchangeError::Decode { .. } => true,
        ExchangeError::Api { status, .. } => *status >= 500,
        _ => false,
    }
}

fn request_id_of(e: &ExchangeError) -> Option<String> {
    match e {
        ExchangeError::Api { request_id, .. } | ExchangeError::Forbidden { request_id, .. } => {
            request_id.clone()
        }
        _ => None,
    }
}
