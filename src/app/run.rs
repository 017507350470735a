//! The event loop: input, pollers and the render tick meet in one `select!`; every change goes
//! through [`update`]; the screen is redrawn only when state changed (bursts are merged) and the
//! audit journal is written on its own thread so an fsync never stalls the screen.

use std::path::PathBuf;
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
use super::keys::{map_key, map_mouse};
use super::pollers::{
    spawn_expected_poller, spawn_outside_poller, spawn_propagation_poller, spawn_snapshot,
    spawn_source_poller, spawn_tenant_poller,
};
use super::state::{Integrity, State, TenantId};
use super::supervise::{Ends, Supervisor, spawn_thread};
use super::terminal::TerminalGuard;
use super::update::{WRITER_GONE, update};

/// What the dashboard talks to.
pub struct Services {
    pub source: Arc<GraphClient>,
    /// The provider whose portal manages the source's users (its renames are the portal's).
    pub source_provider: Option<crate::config::Provider>,
    /// The source tenant's Exchange client, for the workbench's changes (none: runs are
    /// refused with the reason).
    pub source_exchange: Option<Arc<crate::exchange::ExchangeClient>>,
    /// None when no destination tenant is configured: nothing polls it.
    pub destination: Option<Arc<GraphClient>>,
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
    /// through the destination's client, else the source's.
    pub discovery: Option<crate::graph::discovery::DiscoveryClient>,
    pub outside_every: Duration,
    /// How often the source tenant's reference inventory is collected (it is heavy).
    pub inventory_every: Duration,
    /// How often each tenant's connections and access are read (the Connections pane).
    pub access_every: Duration,
    /// The destination tenant's Exchange client, for runs of the adopt plan (none: a run
    /// holding destination Exchange changes is refused by the executor, naming it).
    pub destination_exchange: Option<Arc<crate::exchange::ExchangeClient>>,
    /// How runs change DNS record sets (none: a run holding one is refused by the executor).
    pub dns_writer: Option<Arc<crate::executor::dns::DnsWriter>>,
    /// `cutover demo --play`: the player's speed (pauses divided by it); none: no player.
    pub play: Option<f64>,
}

/// Everything the loop needs, prepared by the command that starts the dashboard.
pub struct Dashboard {
    pub state: State,
    pub services: Services,
    pub journal: Journal,
    /// Where timeline progress is saved (atomically, on the saver thread) when a step changes.
    pub progress_file: PathBuf,
    /// The action channel, when something had to send on it before the loop started (the
    /// device-code prompt of the clients); `None` makes a new one.
    pub channel: Option<(UnboundedSender<Action>, UnboundedReceiver<Action>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot use the terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("cannot start the {0} thread: {1}")]
    Thread(&'static str, std::io::Error),
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
    // One journal for the writer thread and the workbench's executor: every stored record,
    // whoever appended it, comes back for the Audit pane.
    let mut journal = journal;
    let feed = tx.clone();
    journal.observe(Box::new(move |record| {
        let _ = feed.send(Action::AuditAppended(Box::new(record.clone())));
    }));
    let journal = Arc::new(std::sync::Mutex::new(journal));
    let (audit_tx, audit_thread) = spawn_audit_writer(journal.clone(), tx.clone())?;
    let (save_tx, save_thread) = spawn_progress_saver(progress_file, tx.clone())?;
    let _ = audit_tx.send(
        Event::new(Kind::SessionStart, "dashboard opened")
            .target(state.domain.clone())
            .details(serde_json::json!({ "version": env!("CARGO_PKG_VERSION") })),
    );

    let names = crate::dns::monitor::record_set(&state.domain, &services.extra_names);
    let mut tasks = Supervisor::new();
    let inventory_wake = Arc::new(tokio::sync::Notify::new());
    tasks.watch(
        "source poller",
        Ends::Never,
        spawn_source_poller(
            services.source.clone(),
            state.domain.clone(),
            services.graph_every,
            services.inventory_every,
            inventory_wake.clone(),
            services.source_provider,
            tx.clone(),
        ),
    );
    if let Some(destination) = &services.destination {
        tasks.watch(
            "destination poller",
            Ends::Never,
            spawn_tenant_poller(
                TenantId::Destination,
                destination.clone(),
                state.domain.clone(),
                // No pane shows the destination's users and groups: do not list them.
                false,
                services.graph_every,
                tx.clone(),
            ),
        );
    }
    // The Connections pane: each tenant whose Graph and Exchange clients the dashboard has.
    let mut access_wake = Vec::new();
    let access_clients = [
        (
            TenantId::Source,
            Some(services.source.clone()),
            services.source_exchange.clone(),
        ),
        (
            TenantId::Destination,
            services.destination.clone(),
            services.destination_exchange.clone(),
        ),
    ];
    for (tenant, graph, exchange) in access_clients {
        let (Some(graph), Some(exchange)) = (graph, exchange) else {
            continue;
        };
        // One per poller: `notify_one` keeps the wake for a poller busy reading.
        let wake = Arc::new(tokio::sync::Notify::new());
        access_wake.push(wake.clone());
        tasks.watch(
            if tenant == TenantId::Source {
                "source access poller"
            } else {
                "destination access poller"
            },
            Ends::Never,
            super::pollers::spawn_access_poller(
                tenant,
                graph,
                exchange,
                state.domain.clone(),
                services.access_every,
                wake,
                tx.clone(),
            ),
        );
    }
    let client_of = |tenant| match tenant {
        TenantId::Source => Some(services.source.clone()),
        TenantId::Destination => services.destination.clone(),
    };
    if let Some((tenant, client)) = services
        .expect_from
        .and_then(|t| client_of(t).map(|c| (t, c)))
    {
        tasks.watch(
            "expected records poller",
            Ends::Never,
            spawn_expected_poller(
                tenant,
                client,
                state.domain.clone(),
                services.graph_every,
                tx.clone(),
            ),
        );
    }
    // The snapshot is of what the authoritative servers answer (else the first resolver's).
    let reference = services
        .resolvers
        .iter()
        .find(|t| t.authoritative)
        .or(services.resolvers.first())
        .map(|t| t.client.clone());
    if let Some(reference) = reference {
        tasks.watch(
            "zone snapshot",
            Ends::Once,
            spawn_snapshot(
                reference,
                state.domain.clone(),
                services.snapshots_dir.clone(),
                tx.clone(),
            ),
        );
        tasks.watch(
            "propagation poller",
            Ends::Never,
            spawn_propagation_poller(
                services.resolvers.clone(),
                services.dnsbl.clone(),
                names.clone(),
                services.dns_every,
                tx.clone(),
            ),
        );
    }

    if let Some(discovery) = services.discovery.clone() {
        tasks.watch(
            "outside poller",
            Ends::Never,
            spawn_outside_poller(
                discovery,
                services
                    .destination
                    .clone()
                    .unwrap_or_else(|| services.source.clone()),
                state.domain.clone(),
                services.outside_every,
                tx.clone(),
            ),
        );
    }

    tasks.watch(
        "snapshot watcher",
        Ends::Never,
        super::pollers::spawn_snapshot_watcher(
            services.snapshots_dir.clone(),
            state.domain.clone(),
            Duration::from_secs(3),
            tx.clone(),
        ),
    );

    // The demo's player watches what the loop publishes after every batch.
    let (seen_tx, seen_rx) = tokio::sync::watch::channel(super::play::seen(&state));
    if let Some(speed) = services.play {
        match player_kit(&services, &state.domain, speed) {
            Ok(kit) => tasks.watch(
                "demo player",
                Ends::Once,
                tokio::spawn(super::play::play(kit, tx.clone(), seen_rx)),
            ),
            Err(why) => {
                let _ = tx.send(Action::Play(super::play::PlayEvent::Finished(why)));
            }
        }
    }

    let channels = Channels {
        audit: &audit_tx,
        save: &save_tx,
        journal: &journal,
        actions: &tx,
        inventory_wake: &inventory_wake,
        access_wake: &access_wake,
        seen: &seen_tx,
    };
    let result = event_loop(&mut state, &mut rx, &mut tasks, channels, &services).await;

    tasks.abort_all();
    let _ = audit_tx.send(Event::new(Kind::SessionEnd, "dashboard closed"));
    drop(audit_tx);
    drop(save_tx);
    // The writer drains what is queued (the session end included) and the saver writes the
    // latest progress before they exit.
    let _ = tokio::task::spawn_blocking(move || {
        let _ = save_thread.join();
        audit_thread.join()
    })
    .await;
    result
}

/// Where the loop hands work that must not run on it.
#[derive(Clone, Copy)]
struct Channels<'a> {
    audit: &'a std::sync::mpsc::Sender<Event>,
    save: &'a std::sync::mpsc::Sender<Progress>,
    /// The journal the workbench's executor appends to.
    journal: &'a Arc<std::sync::Mutex<Journal>>,
    /// Where a run's results come back.
    actions: &'a UnboundedSender<Action>,
    /// Wakes the source poller (its inventory and release plan) after a run.
    inventory_wake: &'a Arc<tokio::sync::Notify>,
    /// Wakes the access pollers (the Connections pane) after a run there.
    access_wake: &'a [Arc<tokio::sync::Notify>],
    /// What the demo's player watches ([`super::play::Seen`]), published after every batch.
    seen: &'a tokio::sync::watch::Sender<super::play::Seen>,
}

async fn event_loop(
    state: &mut State,
    rx: &mut UnboundedReceiver<Action>,
    tasks: &mut Supervisor,
    channels: Channels<'_>,
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
    // Actions of one input event after its first (a mouse click that focuses and selects).
    let mut pending = Vec::new();

    loop {
        if dirty {
            guard
                .terminal
                .draw(|frame| crate::ui::render(frame, state))?;
            dirty = false;
        }
        let first = tokio::select! {
            event = events.next() => match event {
                // The first key or click while the demo plays takes the controls; the key
                // itself then acts as it always does.
                Some(Ok(TermEvent::Key(_) | TermEvent::Mouse(_))) if state.play.playing => {
                    dirty |= apply(state, Action::Play(super::play::PlayEvent::TakeOver), channels, services);
                    match event {
                        Some(Ok(TermEvent::Key(key))) => map_key(state, key),
                        Some(Ok(TermEvent::Mouse(mouse))) => {
                            let mut actions = map_mouse(state, mouse);
                            let first = (!actions.is_empty()).then(|| actions.remove(0));
                            pending.extend(actions);
                            first
                        }
                        _ => None,
                    }
                }
                Some(Ok(TermEvent::Key(key))) => map_key(state, key),
                Some(Ok(TermEvent::Resize(w, h))) => Some(Action::Resize(w, h)),
                // A click may be two actions (focus, then select); they go in one batch.
                Some(Ok(TermEvent::Mouse(mouse))) => {
                    let mut actions = map_mouse(state, mouse);
                    let first = (!actions.is_empty()).then(|| actions.remove(0));
                    pending.extend(actions);
                    first
                }
                Some(Ok(_)) => None,
                Some(Err(e)) => return Err(RunError::Terminal(e)),
                None => Some(Action::Quit),
            },
            Some(action) = rx.recv() => Some(action),
            action = tasks.stopped() => Some(action),
            _ = ticks.tick() => Some(Action::Tick(OffsetDateTime::now_utc())),
            _ = signals.recv() => Some(Action::Quit),
        };
        let Some(first) = first else { continue };
        // Merge a burst (several poll results at once) into one redraw.
        let mut batch = vec![first];
        batch.append(&mut pending);
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
        }
        for action in batch {
            dirty |= apply(state, action, channels, services);
        }
        let seen = super::play::seen(state);
        channels.seen.send_if_modified(|old| {
            let changed = *old != seen;
            *old = seen;
            changed
        });
        if state.quitting {
            return Ok(());
        }
    }
}

/// Run one action through the reducer and carry out its commands; true when the screen must
/// be redrawn (every action but a tick that changed nothing visible).
fn apply(state: &mut State, action: Action, channels: Channels<'_>, services: &Services) -> bool {
    // A tick redraws only when it changed what the clock shows (an idle dashboard stays idle).
    let face = matches!(action, Action::Tick(_)).then(|| crate::ui::clock::face(state));
    let commands = update(state, action);
    let mut redraw = face.is_none_or(|before| crate::ui::clock::face(state) != before);
    let mut follow_up = Vec::new();
    for command in commands {
        match command {
            Command::Audit(event) => {
                // The writer's thread is gone: the receiver hung up.
                if channels.audit.send(event).is_err() {
                    follow_up.push(Action::AuditStopped(WRITER_GONE.to_string()));
                }
            }
            Command::SaveProgress(progress) => {
                if channels.save.send(progress).is_err() {
                    follow_up.push(Action::ProgressNotSaved(
                        "the progress saver has ended; restart cutover".to_string(),
                    ));
                }
            }
            Command::Execute {
                kind,
                changes,
                read_only,
            } => spawn_run(channels, services, kind, changes, read_only),
            Command::Reinventory => channels.inventory_wake.notify_one(),
            // Both tenants' pollers: a run may change either.
            Command::ReadAccess => {
                for wake in channels.access_wake {
                    wake.notify_one();
                }
            }
            Command::TakeSnapshot => spawn_tenant_snapshot(state, channels, services),
            Command::Redraw => redraw = true,
            Command::Quit => state.quitting = true,
            Command::CancelSignIn(tenant, service) => {
                use super::state::SignInService;
                let tokens = match (tenant, service) {
                    (TenantId::Source, SignInService::Graph) => Some(services.source.tokens()),
                    (TenantId::Source, SignInService::Exchange) => {
                        services.source_exchange.as_deref().map(|e| e.tokens())
                    }
                    (TenantId::Destination, SignInService::Graph) => {
                        services.destination.as_deref().map(|d| d.tokens())
                    }
                    (TenantId::Destination, SignInService::Exchange) => {
                        services.destination_exchange.as_deref().map(|e| e.tokens())
                    }
                };
                if let Some(tokens) = tokens {
                    tokens.cancel_sign_in();
                }
            }
        }
    }
    for action in follow_up {
        apply(state, action, channels, services);
        redraw = true;
    }
    redraw
}

/// Timeline progress is written on its own thread (an atomic write ends in fsync), latest
/// wins: a burst of step changes is one write. A failure comes back as
/// [`Action::ProgressNotSaved`] (shown and journaled).
fn spawn_progress_saver(
    path: PathBuf,
    actions: UnboundedSender<Action>,
) -> Result<
    (
        std::sync::mpsc::Sender<Progress>,
        std::thread::JoinHandle<()>,
    ),
    RunError,
> {
    let (tx, rx) = std::sync::mpsc::channel::<Progress>();
    let report = |reason| Action::TaskStopped {
        name: "progress saver".to_string(),
        reason,
    };
    let handle = spawn_thread("progress saver", actions.clone(), report, move || {
        while let Ok(mut latest) = rx.recv() {
            while let Ok(newer) = rx.try_recv() {
                latest = newer;
            }
            if let Err(e) = latest.save(&path) {
                let message = e.to_string();
                tracing::error!("{message}");
                let _ = actions.send(Action::ProgressNotSaved(message));
            }
        }
        Ok(())
    })
    .map_err(|e| RunError::Thread("progress saver", e))?;
    Ok((tx, handle))
}

/// How often the writer thread verifies the whole journal again rather than the new lines only.
const WHOLE_CHECK_EVERY: Duration = Duration::from_secs(600);

/// The journal lives on its own thread: appends are fsynced (observed lines group-committed
/// within a second), and the loop must not wait for the disk. Every stored record comes back
/// as an action for the Audit pane. The thread also verifies the file at start and whenever it
/// falls idle after appends (the new lines; the whole file every ten minutes), and reports the
/// result as the integrity badge.
///
/// A failed append or sync ends the thread: the line may be torn or lost and the chain's state
/// is unknown, so the journal fails closed. The thread's end (that error, or a panic) comes back
/// as [`Action::AuditStopped`], which refuses every further change.
fn spawn_audit_writer(
    journal: Arc<std::sync::Mutex<Journal>>,
    actions: UnboundedSender<Action>,
) -> Result<(std::sync::mpsc::Sender<Event>, std::thread::JoinHandle<()>), RunError> {
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let handle = spawn_thread(
        "audit writer",
        actions.clone(),
        Action::AuditStopped,
        move || write_journal(journal, &rx, &actions),
    )
    .map_err(|e| RunError::Thread("audit writer", e))?;
    Ok((tx, handle))
}

/// The writer's loop; returns when the loop hangs up, or with the reason the journal stopped.
fn write_journal(
    journal: Arc<std::sync::Mutex<Journal>>,
    rx: &std::sync::mpsc::Receiver<Event>,
    actions: &UnboundedSender<Action>,
) -> Result<(), String> {
    use std::sync::mpsc::RecvTimeoutError;
    // New lines are verified as they come; the whole file again every ten minutes, so a
    // change further back (another process editing the log) is found too.
    let mut verifier = IncrementalVerifier::default();
    let mut whole_checked = std::time::Instant::now();
    let lock = || {
        journal
            .lock()
            .map_err(|_| "the journal's lock was poisoned by a panic".to_string())
    };
    let path = lock()?.path().to_path_buf();
    // The line count last verified: the executor appends too, so the writer re-verifies when
    // the journal has grown past it, whoever wrote the lines.
    let mut verified = 0u64;
    let mut report = |verified: &mut u64| {
        if whole_checked.elapsed() >= WHOLE_CHECK_EVERY {
            verifier.reset();
            whole_checked = std::time::Instant::now();
        }
        let integrity = match verifier.advance(&path) {
            Ok(r) => match r.first_bad {
                None => {
                    *verified = r.lines;
                    Integrity::Verified {
                        lines: r.lines,
                        head: r.head,
                    }
                }
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
    report(&mut verified);
    let mut recheck = false;
    loop {
        // Wake for the group-commit deadline of unsynced observed lines, to re-verify once
        // the burst of appends is over, or to see whether the executor appended.
        let wait = match lock()?.sync_deadline() {
            Some(at) => at.saturating_duration_since(std::time::Instant::now()),
            None if recheck => Duration::from_millis(200),
            None => Duration::from_secs(2),
        };
        match rx.recv_timeout(wait) {
            Ok(event) => {
                // The journal's observer hands the stored record to the Audit pane.
                lock()?.append(event).map_err(|e| e.to_string())?;
                recheck = true;
            }
            Err(RecvTimeoutError::Timeout) => {
                let (idle, lines) = {
                    let mut j = lock()?;
                    j.sync().map_err(|e| e.to_string())?;
                    (j.sync_deadline().is_none(), j.head().0)
                };
                if idle && (recheck || lines != verified) {
                    recheck = false;
                    report(&mut verified);
                }
            }
            // Dropping the journal (the last holder) syncs what is left and releases the lock.
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        }
    }
}

/// Run the workbench's changes through the executor on its own task: each result comes back
/// as [`Action::ChangeSettled`], the end as [`Action::RunEnded`], a panic included (never a
/// silent end).
fn spawn_run(
    channels: Channels<'_>,
    services: &Services,
    kind: super::workbench::RunKind,
    changes: Vec<crate::plan::change::Change>,
    read_only: bool,
) {
    use futures_util::FutureExt;
    let tx = channels.actions.clone();
    let Some(exchange) = services.source_exchange.clone() else {
        let _ = tx.send(Action::RunEnded(Some(
            "no Exchange sign-in for the source tenant; the workbench needs one (configure it, or use 'cutover apply')".to_string(),
        )));
        return;
    };
    let tell = tx.clone();
    let mut executor = crate::executor::Executor::shared(channels.journal.clone())
        .with_graph(TenantId::Source.as_str(), services.source.clone())
        .with_exchange(TenantId::Source.as_str(), exchange);
    // The adopt plan (demo player) writes to the destination and the zone, and reads the
    // source's release; without these clients the executor refuses such a run, naming why.
    if let Some(d) = &services.destination {
        executor = executor.with_graph(TenantId::Destination.as_str(), d.clone());
    }
    if let Some(d) = &services.destination_exchange {
        executor = executor.with_exchange(TenantId::Destination.as_str(), d.clone());
    }
    if let Some(w) = &services.dns_writer {
        executor = executor.with_dns_shared(w.clone());
    }
    let executor = executor.read_only(read_only).on_settled(Arc::new(move |r| {
        let _ = tell.send(Action::ChangeSettled(r.clone()));
    }));
    tracing::info!(
        run = kind.verb(),
        changes = changes.len(),
        read_only,
        "workbench run"
    );
    let (graph, journal) = (services.source.clone(), channels.journal.clone());
    tokio::spawn(async move {
        // Who makes the changes: the person a delegated (device-code) sign-in names goes on
        // every journal line from here on, as `cutover apply` does. A failed sign-in is the
        // first change's to report, with its request id.
        if let Ok(token) = graph.tokens().access_token().await
            && let Ok(mut j) = journal.lock()
        {
            j.set_upn(crate::graph::permissions::signed_in_user(&token));
        }
        let ran = std::panic::AssertUnwindSafe(executor.run(&changes))
            .catch_unwind()
            .await;
        let error = match ran {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(panic) => Some(format!(
                "the executor stopped: {}",
                super::supervise::panic_message(panic.as_ref())
            )),
        };
        let _ = tx.send(Action::RunEnded(error));
    });
}

/// What the demo's player needs, or why it cannot play (said on screen).
fn player_kit(services: &Services, domain: &str, speed: f64) -> Result<super::play::Kit, String> {
    let missing = |what: &str| format!("the demo cannot play: no {what}");
    Ok(super::play::Kit {
        speed,
        domain: domain.to_string(),
        source: services.source.clone(),
        source_exchange: services
            .source_exchange
            .clone()
            .ok_or_else(|| missing("Exchange client for the source"))?,
        destination: services
            .destination
            .clone()
            .ok_or_else(|| missing("destination tenant"))?,
        destination_exchange: services
            .destination_exchange
            .clone()
            .ok_or_else(|| missing("Exchange client for the destination"))?,
        authoritative: services
            .resolvers
            .iter()
            .find(|t| t.authoritative)
            .map(|t| t.client.clone())
            .ok_or_else(|| missing("authoritative server of the zone"))?,
        snapshots_dir: services.snapshots_dir.clone(),
    })
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

/// A snapshot of the source tenant's objects on the domain (a step's linked action), as
/// `cutover snapshot --tenant source` takes it, on its own task; the result comes back as
/// [`Action::SnapshotTaken`] and the watcher's reading right after.
fn spawn_tenant_snapshot(state: &State, channels: Channels<'_>, services: &Services) {
    let graph = services.source.clone();
    let exchange = services.source_exchange.clone();
    let dns = services
        .resolvers
        .iter()
        .find(|t| t.authoritative)
        .map(|t| t.client.clone());
    let names = crate::dns::monitor::record_set(&state.domain, &services.extra_names);
    let (domain, dir, tx) = (
        state.domain.clone(),
        services.snapshots_dir.clone(),
        channels.actions.clone(),
    );
    tokio::spawn(async move {
        let taken = crate::store::snapshot::take(crate::store::snapshot::Request {
            tenant: "source",
            domain: &domain,
            graph: &graph,
            exchange: exchange.as_deref(),
            dns: dns.as_deref(),
            dns_names: &names,
            folder: crate::store::snapshot::Folder::Under(dir.clone()),
            now: OffsetDateTime::now_utc(),
        })
        .await;
        let result = taken
            .map(|s| s.path.display().to_string())
            .map_err(|e| e.to_string());
        let _ = tx.send(Action::SnapshotTaken(result));
        let seen =
            tokio::task::spawn_blocking(move || super::pollers::snapshots_seen(&dir, &domain))
                .await;
        if let Ok(seen) = seen {
            let _ = tx.send(Action::SnapshotsSeen(seen));
        }
    });
}
