//! The event loop: input, pollers and the render tick meet in one `select!`; every change goes
//! through [`update`]; the screen is redrawn only when state changed (bursts are merged) and the
//! audit journal is written on its own thread so an fsync never stalls the screen.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream};
use futures_util::StreamExt;
use time::OffsetDateTime;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::audit::{Event, IncrementalVerifier, Journal, Kind};
use crate::graph::GraphClient;
use crate::plan::Progress;

use super::action::{Action, Command};
use super::keys::map_key;
use super::pollers::{
    spawn_expected_poller, spawn_inventory_poller, spawn_outside_poller, spawn_propagation_poller,
    spawn_snapshot, spawn_tenant_poller,
};
use super::state::{Integrity, State, TenantId};
use super::terminal::TerminalGuard;
use super::update::update;

/// What the dashboard talks to.
pub struct Services {
    pub source: Arc<GraphClient>,
    pub destination: Arc<GraphClient>,
    pub graph_every: Duration,
    pub dns_every: Duration,
    /// Every resolver asked, the zone's authoritative servers first (their answers are the
    /// records and TTLs), then the recursive ones (propagation); empty means no DNS poller.
    pub resolvers: Vec<crate::dns::monitor::Target>,
    /// The tenant whose serviceConfigurationRecords are the expected DNS records, if any.
    pub expect_from: Option<TenantId>,
    /// DNS blocklist zones the MX hosts' addresses are checked on.
    pub dnsbl: Vec<String>,
    /// Records watched beside the Microsoft 365 set (from the config).
    pub extra_names: Vec<(String, crate::dns::RecordKind)>,
    /// Where the zone snapshot before the first change is kept (`<data dir>/snapshots`).
    pub snapshots_dir: PathBuf,
    /// Asks who holds the domain from outside (none: no outside poller); Graph's lookup goes
    /// through the destination's client.
    pub discovery: Option<crate::graph::discovery::DiscoveryClient>,
    pub outside_every: Duration,
    /// How often the source tenant's reference inventory is collected (it is heavy).
    pub inventory_every: Duration,
}

/// Everything the loop needs, prepared by the command that starts the dashboard.
pub struct Dashboard {
    pub state: State,
    pub services: Services,
    pub journal: Journal,
    /// Where timeline progress is saved (atomically) when a step changes.
    pub progress_file: PathBuf,
    /// The action channel, when something had to send on it before the loop started (the
    /// device-code prompt of the clients); `None` makes a new one.
    pub channel: Option<(UnboundedSender<Action>, UnboundedReceiver<Action>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

/// How often countdowns and "n s ago" advance when nothing else happens.
const TICK: Duration = Duration::from_millis(250);

pub async fn run(dashboard: Dashboard) -> Result<(), RunError> {
    let Dashboard {
        mut state,
        services,
        journal,
        progress_file,
        channel,
    } = dashboard;

    let (tx, mut rx) = channel.unwrap_or_else(unbounded_channel::<Action>);
    let (audit_tx, audit_thread) = spawn_audit_writer(journal, tx.clone());
    let _ = audit_tx.send(
        Event::new(Kind::SessionStart, "dashboard opened")
            .target(state.domain.clone())
            .details(serde_json::json!({ "version": env!("CARGO_PKG_VERSION") })),
    );

    let names = crate::dns::monitor::record_set(&state.domain, &services.extra_names);
    let mut pollers = vec![
        spawn_tenant_poller(
            TenantId::Source,
            services.source.clone(),
            state.domain.clone(),
            services.graph_every,
            tx.clone(),
        ),
        spawn_tenant_poller(
            TenantId::Destination,
            services.destination.clone(),
            state.domain.clone(),
            services.graph_every,
            tx.clone(),
        ),
    ];
    if let Some(tenant) = services.expect_from {
        let client = match tenant {
            TenantId::Source => services.source.clone(),
            TenantId::Destination => services.destination.clone(),
        };
        pollers.push(spawn_expected_poller(
            tenant,
            client,
            state.domain.clone(),
            services.graph_every,
            tx.clone(),
        ));
    }
    // The snapshot is of what the authoritative servers answer (else the first resolver's).
    let reference = services
        .resolvers
        .iter()
        .find(|t| t.authoritative)
        .or(services.resolvers.first())
        .map(|t| t.client.clone());
    if let Some(reference) = reference {
        pollers.push(spawn_snapshot(
            reference,
            state.domain.clone(),
            services.snapshots_dir.clone(),
            tx.clone(),
        ));
        pollers.push(spawn_propagation_poller(
            services.resolvers.clone(),
            services.dnsbl.clone(),
            names.clone(),
            services.dns_every,
            tx.clone(),
        ));
    }

    if let Some(discovery) = services.discovery.clone() {
        pollers.push(spawn_outside_poller(
            discovery,
            services.destination.clone(),
            state.domain.clone(),
            services.outside_every,
            tx.clone(),
        ));
    }
    pollers.push(spawn_inventory_poller(
        services.source.clone(),
        state.domain.clone(),
        services.inventory_every,
        tx.clone(),
    ));

    let result = event_loop(&mut state, &mut rx, &audit_tx, &progress_file, &services).await;

    for poller in &pollers {
        poller.abort();
    }
    let _ = audit_tx.send(Event::new(Kind::SessionEnd, "dashboard closed"));
    drop(audit_tx);
    // The writer drains what is queued (the session end included) before it exits.
    let _ = tokio::task::spawn_blocking(move || audit_thread.join()).await;
    result
}

async fn event_loop(
    state: &mut State,
    rx: &mut UnboundedReceiver<Action>,
    audit_tx: &std::sync::mpsc::Sender<Event>,
    progress_file: &Path,
    services: &Services,
) -> Result<(), RunError> {
    let mut guard = TerminalGuard::enter()?;
    let size = guard.terminal.size()?;
    update(state, Action::Resize(size.width, size.height));
    let mut events = EventStream::new();
    let mut ticks = tokio::time::interval(TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut signals = Signals::new();
    let mut dirty = true;

    loop {
        if dirty {
            guard
                .terminal
                .draw(|frame| crate::ui::render(frame, state))?;
            dirty = false;
        }
        let first = tokio::select! {
            event = events.next() => match event {
                Some(Ok(TermEvent::Key(key))) => map_key(state, key),
                Some(Ok(TermEvent::Resize(w, h))) => Some(Action::Resize(w, h)),
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(RunError::Terminal(e)),
                None => Some(Action::Quit),
            },
            Some(action) = rx.recv() => Some(action),
            _ = ticks.tick() => Some(Action::Tick(OffsetDateTime::now_utc())),
            _ = signals.recv() => Some(Action::Quit),
        };
        let Some(first) = first else { continue };
        // Merge a burst (several poll results at once) into one redraw.
        let mut batch = vec![first];
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        for action in batch {
            let step_changed = matches!(action, Action::CycleStepStatus);
            for command in update(state, action) {
                match command {
                    Command::Audit(event) => {
                        let _ = audit_tx.send(event);
                    }
                    Command::Quit => return Ok(()),
                    Command::CancelSignIn(tenant) => match tenant {
                        TenantId::Source => services.source.tokens().cancel_sign_in(),
                        TenantId::Destination => services.destination.tokens().cancel_sign_in(),
                    },
                }
            }
            if step_changed {
                save_progress(state, progress_file, audit_tx);
            }
            dirty = true;
        }
        if state.quitting {
            return Ok(());
        }
    }
}

/// Keep timeline progress across restarts. A failure is shown and journaled, never ignored.
fn save_progress(state: &mut State, path: &Path, audit_tx: &std::sync::mpsc::Sender<Event>) {
    let progress = Progress {
        statuses: state.step_status.clone(),
        cutover_at: state.cutover_at.and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
    };
    if let Err(e) = progress.save(path) {
        let message = e.to_string();
        tracing::error!("{message}");
        let _ = audit_tx.send(
            Event::new(Kind::Note, "progress not saved")
                .details(serde_json::json!({ "error": message.clone() })),
        );
        update(state, Action::AuditFailed(message));
    }
}

/// How often the writer thread verifies the whole journal again rather than the new lines only.
const WHOLE_CHECK_EVERY: Duration = Duration::from_secs(600);

/// The journal lives on its own thread: appends are fsynced (observed lines group-committed
/// within a second), and the loop must not wait for the disk. Every stored record (or failure)
/// comes back as an action for the Audit pane. The thread also verifies the file at start and
/// whenever it falls idle after appends (the new lines; the whole file every ten minutes), and
/// reports the result as the integrity badge.
fn spawn_audit_writer(
    mut journal: Journal,
    actions: UnboundedSender<Action>,
) -> (std::sync::mpsc::Sender<Event>, std::thread::JoinHandle<()>) {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let handle = std::thread::spawn(move || {
        // New lines are verified as they come; the whole file again every ten minutes, so a
        // change further back (another process editing the log) is found too.
        let mut verifier = IncrementalVerifier::default();
        let mut whole_checked = std::time::Instant::now();
        let mut report = |journal: &Journal| {
            if whole_checked.elapsed() >= WHOLE_CHECK_EVERY {
                verifier.reset();
                whole_checked = std::time::Instant::now();
            }
            let integrity = match verifier.advance(journal.path()) {
                Ok(r) => match r.first_bad {
                    None => Integrity::Verified {
                        lines: r.lines,
                        head: r.head,
                    },
                    Some(bad) => Integrity::Broken {
                        line: bad.line,
                        reason: bad.reason,
                    },
                },
                Err(e) => Integrity::Broken {
                    line: 0,
                    reason: e.to_string(),
                },
            };
            let _ = actions.send(Action::AuditIntegrity(integrity));
        };
        report(&journal);
        let mut recheck = false;
        loop {
            // Wake for the group-commit deadline of unsynced observed lines, or to re-verify
            // once the burst of appends is over.
            let wait = match journal.sync_deadline() {
                Some(at) => at.saturating_duration_since(std::time::Instant::now()),
                None if recheck => Duration::from_millis(200),
                None => Duration::from_secs(3600),
            };
            match rx.recv_timeout(wait) {
                Ok(event) => {
                    let action = match journal.append(event) {
                        Ok(record) => Action::AuditAppended(Box::new(record)),
                        Err(e) => {
                            tracing::error!(error = %e, "audit append failed");
                            Action::AuditFailed(e.to_string())
                        }
                    };
                    let _ = actions.send(action);
                    recheck = true;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = journal.sync() {
                        tracing::error!(error = %e, "audit sync failed");
                        let _ = actions.send(Action::AuditFailed(e.to_string()));
                    }
                    if recheck && journal.sync_deadline().is_none() {
                        recheck = false;
                        report(&journal);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
        // Dropping the journal syncs what is left and releases the lock.
        drop(journal);
    });
    (tx, handle)
}

/// SIGTERM and SIGHUP end the dashboard like `q` does, so the terminal is restored and the
/// journal closed.
struct Signals {
    #[cfg(unix)]
    term: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Signals {
                term: signal(SignalKind::terminate()).ok(),
                hup: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            let term = async {
                match self.term.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            let hup = async {
                match self.hup.as_mut() {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = term => {},
                _ = hup => {},
            }
        }
        #[cfg(not(unix))]
        {
            std::future::pending::<()>().await
        }
    }
}
