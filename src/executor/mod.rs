//! The one way cutover writes to a service. For each change: an `intent` line, fsynced,
//! before the request; the request; an `outcome` line with Microsoft's `request-id` and the
//! result. Before anything is sent, every change the journal shows intended but not finished is
//! checked against the live state ([`reconcile`]); a write that fails ambiguously (5xx, a
//! connection dropped after sending) is checked the same way instead of being re-sent blindly.
//! Read-only mode is enforced here: no mutating request at all. See `docs/executor.md`.

pub mod dns;
pub mod reconcile;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde_json::json;

use crate::audit::{AuditError, Event, Journal, Kind};
use crate::exchange::{ExchangeClient, ExchangeError, Route as ExchangeRoute};
use crate::graph::GraphClient;
use crate::graph::write as graph_write;
use crate::plan::change::{Change, FIELD_DOMAIN_RELEASED, Route};
use reconcile::{Live, Past};

/// Default changes in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 4;
/// Sends of one change at most, when each ambiguous failure is followed by a read showing it
/// not applied.
pub const MAX_SENDS: u32 = 3;

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
}

/// Default of [`Executor::removal_settle`].
pub const DEFAULT_REMOVAL_SETTLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Default wait for the source's release (`Change::await_release`) in one run: a later
/// `cutover apply --resume` waits again. Microsoft takes minutes to a day.
pub const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How often the release is polled.
pub const RELEASE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

impl Executor {
    pub fn new(journal: Journal) -> Executor {
        Executor {
            journal: Arc::new(Mutex::new(journal)),
            exchange: HashMap::new(),
            graph: HashMap::new(),
            dns: None,
            read_only: false,
            concurrency: DEFAULT_CONCURRENCY,
            removal_settle: DEFAULT_REMOVAL_SETTLE,
            release_wait: (RELEASE_WAIT, RELEASE_POLL),
        }
    }

    /// The Exchange client for changes whose `tenant` is `label`.
    pub fn with_exchange(mut self, label: &str, client: ExchangeClient) -> Executor {
        self.exchange.insert(label.to_string(), Arc::new(client));
        self
    }

    /// The Graph client for changes whose `tenant` is `label`.
    pub fn with_graph(mut self, label: &str, client: GraphClient) -> Executor {
        self.graph.insert(label.to_string(), Arc::new(client));
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
            let wave: Vec<ChangeResult> = futures_util::stream::iter(ready)
                .map(|c| {
                    let blocked = c.prerequisites.iter().find(|p| {
                        results.get(*p).is_some_and(|r| {
                            !matches!(
                                r.status,
                                Status::Applied | Status::Reconciled | Status::AlreadyDone
                            )
                        })
                    });
                    let before = past.get(&c.id).copied().unwrap_or(Past::New);
                    let blocked = blocked.cloned();
                    async move {
                        match blocked {
                            Some(p) => Ok(ChangeResult {
                                id: c.id.clone(),
                                status: Status::Skipped(format!("prerequisite {p} not applied")),
                                request_id: None,
                            }),
                            None => self.one(c, before).await,
                        }
                    }
                })
                .buffer_unordered(self.concurrency)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
            for r in wave {
                results.insert(r.id.clone(), r);
            }
        }
        Ok(plan.iter().filter_map(|c| results.remove(&c.id)).collect())
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
                        }),
                        Err(e) => Err(Unsent {
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
                Ok(match client.write(method, path, body.as_ref()).await {
                    Ok(w) => Ok(Sent {
                        request_id: w.request_id,
                        warnings: Vec::new(),
                        action: None,
                    }),
                    Err(e) => Err(Unsent {
                        ambiguous: graph_write::ambiguous(&e),
                        request_id: graph_write::request_id_of(&e),
                        error: e.to_string(),
                    }),
                })
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
                    }),
                    Err(e) => Err(Unsent {
                        error: e.error,
                        ambiguous: e.ambiguous,
                        request_id: None,
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
        let done = |status, request_id| {
            Ok(ChangeResult {
                id: c.id.clone(),
                status,
                request_id,
            })
        };
        if past == Past::Done {
            return done(Status::AlreadyDone, None);
        }
        if c.field == FIELD_DOMAIN_RELEASED {
            return self.await_release(c).await;
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
        let mut failures = Vec::new();
        for _ in 0..MAX_SENDS {
            let error = match self.send(c).await? {
                Ok(sent) => {
                    self.outcome(
                        c,
                        sent.action.as_deref().unwrap_or("applied"),
                        "ok",
                        sent.request_id.clone(),
                        json!({"warnings": sent.warnings, "failures": failures}),
                    )
                    .await?;
                    return done(Status::Applied, sent.request_id);
                }
                Err(e) => e,
            };
            if !error.ambiguous {
                // Refused: Microsoft's words go into the outcome.
                let result = format!("failed: {}", error.error);
                self.outcome(
                    c,
                    "not applied",
                    &result,
                    error.request_id.clone(),
                    json!({"failures": failures}),
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
                        json!({"failures": failures}),
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

/// A write answered.
struct Sent {
    request_id: Option<String>,
    warnings: Vec<String>,
    /// The outcome's words when not plain "applied" (a DNS change seen on N servers).
    action: Option<String>,
}

/// A write that failed, and whether it may nevertheless have been applied.
struct Unsent {
    error: String,
    ambiguous: bool,
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
