//! The demo's player (`cutover demo --play [--speed N]`): a whole release → adopt against the
//! rehearsal, driven through the same workbench, confirmation and executor a person uses. It
//! sends the actions a person's keys would (focus Users, `*`, `a`, the domain typed, Enter;
//! then the domain's own release, then the destination's adopt plan) and watches the state the
//! loop publishes after every batch ([`Seen`]) to know when a run has ended or the source has
//! released the domain. Its actions come wrapped in [`PlayEvent::Act`] and are dropped once a
//! person has taken the controls: the first key or click ([`PlayEvent::TakeOver`], sent by the
//! loop before the key's own action) stops it for good. See `docs/demo.md`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;

use crate::audit::{Event, Kind};
use crate::dns::DnsClient;
use crate::exchange::ExchangeClient;
use crate::graph::GraphClient;

use super::action::{Action, Command};
use super::state::{Pane, State};
use super::workbench::RunKind;

/// Whether the player has the controls, and how many runs it started (so it can tell its
/// run's end from the previous one's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlayState {
    pub playing: bool,
    pub runs: usize,
}

/// What the player sends, and the person's takeover.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayEvent {
    /// An action as a person's key would send it; dropped once the player is stopped.
    Act(Box<Action>),
    /// What the player is doing, in the status line.
    Say(String),
    /// The play is over (done, or it could not go on: the reason).
    Finished(String),
    /// A key or click while playing: the player stops, the person has the controls.
    TakeOver,
}

/// The reducer's part for the player.
pub fn reduce(state: &mut State, event: PlayEvent) -> Vec<Command> {
    if !state.play.playing {
        return Vec::new();
    }
    match event {
        PlayEvent::Act(action) => {
            let before = state.workbench.running();
            let commands = super::update::update(state, *action);
            if !before && state.workbench.running() {
                state.play.runs += 1;
            }
            commands
        }
        PlayEvent::Say(text) => {
            state.notice = Some(format!("demo: {text} · any key takes over"));
            Vec::new()
        }
        PlayEvent::Finished(text) => {
            state.play.playing = false;
            state.notice = Some(format!("demo: {text} · you have the controls"));
            vec![Command::Audit(
                Event::new(Kind::Note, "demo player finished").details(serde_json::json!({
                    "said": text
                })),
            )]
        }
        PlayEvent::TakeOver => {
            state.play.playing = false;
            state.notice = Some("you have the controls: the demo stopped playing".to_string());
            vec![Command::Audit(Event::new(
                Kind::UserAction,
                "took the controls from the demo player",
            ))]
        }
    }
}

/// The state the player watches, published by the loop after every batch of actions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    pub playing: bool,
    /// Users rows (objects holding the domain, and those this session changed).
    pub rows: usize,
    /// A release plan arrived.
    pub planned: bool,
    pub plan_error: Option<String>,
    pub runs: usize,
    pub running: bool,
    /// The last run's figures.
    pub applied: usize,
    pub failed: usize,
    pub run_error: Option<String>,
    pub dialog: bool,
    /// The source tenant lists the domain (`None`: not polled yet).
    pub source_has_domain: Option<bool>,
    /// The destination lists the domain verified (`None`: not polled yet).
    pub destination_verified: Option<bool>,
    /// The timeline's next step (runbook index), while the player plays.
    pub next_step: Option<usize>,
}

/// [`Seen`] of the state: counts and flags only, nothing proportional to the directory.
pub fn seen(state: &State) -> Seen {
    let w = &state.workbench;
    let run = w.run.as_ref();
    let has = |t: &super::state::TenantState| t.snapshot.as_ref().map(|s| s.domain.is_some());
    Seen {
        playing: state.play.playing,
        rows: state.model.users.len(),
        planned: w.planned_at.is_some(),
        plan_error: w.plan_error.clone(),
        runs: state.play.runs,
        running: w.running(),
        applied: run.map_or(0, |r| r.applied),
        failed: run.map_or(0, |r| r.failed),
        run_error: run.and_then(|r| r.error.clone()),
        dialog: w.dialog.is_some(),
        source_has_domain: has(&state.source),
        destination_verified: state
            .destination
            .snapshot
            .as_ref()
            .map(|s| s.domain.as_ref().is_some_and(|d| d.is_verified)),
        next_step: state.timeline.next,
    }
}

/// What the player reads and changes besides the dashboard's actions: the clients for the
/// snapshots before the first change and for the adopt plan, and the zone's authoritative
/// server.
pub struct Kit {
    /// Pauses between steps are divided by it (1: as a person would watch).
    pub speed: f64,
    pub domain: String,
    pub source: Arc<GraphClient>,
    pub source_exchange: Arc<ExchangeClient>,
    pub destination: Arc<GraphClient>,
    pub destination_exchange: Arc<ExchangeClient>,
    pub authoritative: Arc<DnsClient>,
    /// `<data dir>/snapshots`.
    pub snapshots_dir: PathBuf,
}

/// Why the player stopped before the end.
enum Stop {
    /// A person took the controls (or the dashboard is closing).
    Over,
    Failed(String),
}

/// How long the player waits for one thing before it says so and stops.
const PATIENCE: Duration = Duration::from_secs(600);

struct Player {
    kit: Kit,
    tx: UnboundedSender<Action>,
    seen: watch::Receiver<Seen>,
}

/// Play the cutover; the end (done, or why not) goes back as [`PlayEvent::Finished`].
pub async fn play(kit: Kit, tx: UnboundedSender<Action>, seen: watch::Receiver<Seen>) {
    let mut player = Player {
        kit,
        tx: tx.clone(),
        seen,
    };
    let end = match player.cutover().await {
        Ok(()) => PlayEvent::Finished(
            "the cutover has played: the source released the domain and the destination holds it verified"
                .to_string(),
        ),
        Err(Stop::Over) => return,
        Err(Stop::Failed(why)) => {
            tracing::warn!(%why, "the demo player stopped");
            PlayEvent::Finished(format!("the play stopped: {why}"))
        }
    };
    let _ = tx.send(Action::Play(end));
}

impl Player {
    async fn cutover(&mut self) -> Result<(), Stop> {
        self.say("waiting for the inventory and the release plan of the source tenant")?;
        let s = self
            .wait_for("the release plan", |s| {
                s.planned && s.rows > 0 || s.plan_error.is_some()
            })
            .await?;
        if let Some(e) = s.plan_error {
            return Err(Stop::Failed(format!("no release plan: {e}")));
        }

        // Nothing is changed before the tenant's snapshot is on disk (and the adopt plan
        // restores the source's names from it).
        self.say("a snapshot of the source tenant before the first change")?;
        let sources = self.snapshot_source().await?;
        self.show_timeline().await?;
        self.pause(2.0).await?;

        self.act(Action::Focus(Pane::Users))?;
        self.say("select every object that holds the domain (*)")?;
        self.pause(1.5).await?;
        self.act(Action::SelectAll)?;
        self.pause(2.0).await?;
        self.say("preview the exact changes (p)")?;
        self.act(Action::Preview)?;
        self.pause(3.0).await?;
        self.act(Action::DialogClose)?;
        self.say("apply them (a), confirmed by typing the domain")?;
        self.confirmed_run(Action::StartRun(RunKind::Apply)).await?;
        // Transient refusals are what `r` is for; twice, then the play says what is left.
        for _ in 0..2 {
            if self.seen.borrow().failed == 0 {
                break;
            }
            self.say("retry the failed changes (r)")?;
            self.pause(1.5).await?;
            self.confirmed_run(Action::StartRun(RunKind::Retry)).await?;
        }
        let failed = self.seen.borrow().failed;
        if failed > 0 {
            return Err(Stop::Failed(format!(
                "{failed} changes still fail after two retries; the Users pane shows Microsoft's words"
            )));
        }

        self.show_timeline().await?;
        self.say("the objects are free: make the initial domain default and remove the domain")?;
        self.pause(2.0).await?;
        self.confirmed_run(Action::StartDomainRun).await?;
        if self.seen.borrow().failed > 0 {
            return Err(Stop::Failed(
                "the domain's release failed; the Audit pane shows Microsoft's answer".to_string(),
            ));
        }
        self.say(
            "waiting for Microsoft to finish the removal (the source stops listing the domain)",
        )?;
        self.wait_for("the source's release of the domain", |s| {
            s.source_has_domain == Some(false)
        })
        .await?;
        self.show_timeline().await?;

        self.say("adopt: a snapshot of the destination tenant before its first change")?;
        self.snapshot(
            "destination",
            &self.kit.destination,
            &self.kit.destination_exchange,
        )
        .await?;
        // Each pass plans from what the destination now is: the domain added, then its TXT
        // and verification, records and addresses, then the DKIM selectors its config names.
        for pass in 1..=4 {
            let plan = self.adopt_plan(&sources).await?;
            if plan.changes.is_empty() {
                break;
            }
            self.say(&format!(
                "adopt plan, pass {pass}: {} changes in the destination",
                plan.changes.len()
            ))?;
            self.pause(2.0).await?;
            self.confirmed_run(Action::ProposePlan(Box::new(plan)))
                .await?;
            let failed = self.seen.borrow().failed;
            if failed > 0 {
                return Err(Stop::Failed(format!(
                    "{failed} changes of the adopt plan failed; the Audit pane shows why"
                )));
            }
            self.pause(2.0).await?;
        }
        self.say("waiting for the destination to show the domain verified")?;
        self.wait_for("the destination's verified domain", |s| {
            s.destination_verified == Some(true)
        })
        .await?;
        self.show_timeline().await?;
        Ok(())
    }

    /// Show the timeline as a person checking it would: focus it and jump to the next step
    /// (`n`). The gated steps mark themselves done as their conditions hold; the player does
    /// not mark anything by hand. Focus goes back to Users.
    async fn show_timeline(&mut self) -> Result<(), Stop> {
        self.act(Action::Focus(Pane::Timeline))?;
        self.pause(0.5).await?;
        self.act(Action::NextStep)?;
        self.pause(1.2).await?;
        self.act(Action::Focus(Pane::Users))?;
        Ok(())
    }

    /// Ask for a run, type the domain into the confirmation, Enter, and wait for its end.
    async fn confirmed_run(&mut self, ask: Action) -> Result<(), Stop> {
        let runs = self.seen.borrow().runs;
        self.act(ask)?;
        self.pause(1.5).await?;
        if !self.seen.borrow().dialog {
            return Err(Stop::Failed(
                "the confirmation did not open (the status line says why)".to_string(),
            ));
        }
        for c in self.kit.domain.clone().chars() {
            self.act(Action::ConfirmInput(c))?;
            self.pause(0.12).await?;
        }
        self.pause(1.0).await?;
        self.act(Action::ConfirmAccept)?;
        let s = self
            .wait_for("the run's end", |s| s.runs > runs && !s.running)
            .await?;
        match s.run_error {
            Some(e) => Err(Stop::Failed(format!("the run stopped: {e}"))),
            None => Ok(()),
        }
    }

    /// The source's snapshot and the objects it holds in the domain (what adopt restores).
    async fn snapshot_source(&self) -> Result<Vec<crate::plan::mapping::SourceObject>, Stop> {
        let dir = self
            .snapshot("source", &self.kit.source, &self.kit.source_exchange)
            .await?;
        crate::plan::mapping::read_snapshot(&dir, &self.kit.domain).map_err(Stop::Failed)
    }

    async fn snapshot(
        &self,
        tenant: &str,
        graph: &GraphClient,
        exchange: &ExchangeClient,
    ) -> Result<PathBuf, Stop> {
        let names = crate::dns::monitor::record_set(&self.kit.domain, &[]);
        let taken = crate::store::snapshot::take(crate::store::snapshot::Request {
            tenant,
            domain: &self.kit.domain,
            graph,
            exchange: Some(exchange),
            dns: Some(&self.kit.authoritative),
            dns_names: &names,
            folder: crate::store::snapshot::Folder::Under(self.kit.snapshots_dir.clone()),
            now: time::OffsetDateTime::now_utc(),
        })
        .await
        .map_err(|e| Stop::Failed(format!("the {tenant} snapshot: {e}")))?;
        self.still_playing()?;
        Ok(taken.path)
    }

    /// The adopt plan from the destination's live state, the zone and the source's snapshot,
    /// through the default mapping (the migrated copy of each object).
    async fn adopt_plan(
        &self,
        sources: &[crate::plan::mapping::SourceObject],
    ) -> Result<crate::plan::release::Plan, Stop> {
        let read = crate::plan::adopt_live::read(
            &self.kit.destination,
            &self.kit.destination_exchange,
            &self.kit.authoritative,
            &self.kit.domain,
        )
        .await
        .map_err(|e| Stop::Failed(format!("the adopt plan: {e}")))?;
        self.still_playing()?;
        let map = crate::plan::mapping::default_mapping(sources, &read.dest);
        crate::plan::adopt::adopt_plan(&read.facts, sources, &map, &read.dest)
            .map_err(|e| Stop::Failed(format!("the adopt plan: {e}")))
    }

    fn still_playing(&self) -> Result<(), Stop> {
        if self.seen.borrow().playing {
            Ok(())
        } else {
            Err(Stop::Over)
        }
    }

    fn send(&self, event: PlayEvent) -> Result<(), Stop> {
        self.still_playing()?;
        self.tx.send(Action::Play(event)).map_err(|_| Stop::Over)
    }

    fn act(&self, action: Action) -> Result<(), Stop> {
        self.send(PlayEvent::Act(Box::new(action)))
    }

    fn say(&self, text: &str) -> Result<(), Stop> {
        self.send(PlayEvent::Say(text.to_string()))
    }

    /// A pause a person can follow, divided by the speed; a takeover ends it at once.
    async fn pause(&mut self, secs: f64) -> Result<(), Stop> {
        let until = tokio::time::Instant::now() + Duration::from_secs_f64(secs / self.kit.speed);
        loop {
            self.still_playing()?;
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return self.still_playing(),
                changed = self.seen.changed() => {
                    if changed.is_err() {
                        return Err(Stop::Over);
                    }
                }
            }
        }
    }

    /// Wait until `done` holds for the published state (a takeover or the loop's end stops
    /// the wait), at most [`PATIENCE`].
    async fn wait_for(&mut self, what: &str, done: impl Fn(&Seen) -> bool) -> Result<Seen, Stop> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            {
                let s = self.seen.borrow_and_update();
                if !s.playing {
                    return Err(Stop::Over);
                }
                if done(&s) {
                    return Ok(s.clone());
                }
            }
            match tokio::time::timeout_at(deadline, self.seen.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(Stop::Over),
                Err(_) => {
                    return Err(Stop::Failed(format!(
                        "waited {} min for {what}",
                        PATIENCE.as_secs() / 60
                    )));
                }
            }
        }
    }
}
