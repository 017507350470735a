//! Everything the dashboard shows. Only [`super::update`] changes it; [`crate::ui::render`]
//! reads it.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::audit::Record;
use crate::dns::RecordAnswer;
use crate::plan::Progress;
use crate::plan::{Runbook, StepStatus};

use super::action::TenantSnapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pane {
    Domain,
    Dns,
    Users,
    Timeline,
    Audit,
    Connections,
}

impl Pane {
    pub const ALL: [Pane; 6] = [
        Pane::Domain,
        Pane::Dns,
        Pane::Users,
        Pane::Timeline,
        Pane::Audit,
        Pane::Connections,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Pane::Domain => "Domain status",
            Pane::Dns => "DNS records / TTL",
            Pane::Users => "Users and aliases",
            Pane::Timeline => "Migration timeline",
            Pane::Audit => "Audit",
            Pane::Connections => "Connections",
        }
    }
    pub fn index(self) -> usize {
        Pane::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TenantId {
    Source,
    Destination,
}

impl TenantId {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantId::Source => "source",
            TenantId::Destination => "destination",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Health {
    /// No poll has finished yet.
    #[default]
    Connecting,
    Ok,
    /// The last poll failed; the text is the one-line reason.
    Failing(String),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantState {
    pub health: Health,
    pub last_poll: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    /// While the last poll was refused 403: what the token lacks (`missing Domain.Read.All`).
    pub forbidden: Option<String>,
    /// The last successful snapshot; kept when a later poll fails so the screen stays useful.
    pub snapshot: Option<TenantSnapshot>,
    /// The configuration names no such tenant (a domain freed after cancelling a hoster has
    /// no destination): nothing polls it and the screen says so.
    pub unconfigured: bool,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DnsState {
    /// What the zone's authoritative servers answer (records view, TTL plan, change
    /// detection); empty when none was found or asked. Recursive resolvers' answers are only
    /// in `sweeps`: their TTLs are what is left of a cached copy.
    pub answers: Vec<RecordAnswer>,
    pub last_poll: Option<OffsetDateTime>,
    /// When any query of any resolver last got an answer (a value, NXDOMAIN or NODATA).
    pub last_answer_at: Option<OffsetDateTime>,
    /// Set while every query of every resolver fails: since when nothing answered (the last
    /// answer, else the first poll that failed).
    pub failing_since: Option<OffsetDateTime>,
    /// (name, type) → when the pollers last saw it change; the pane highlights recent changes.
    pub changed_at: HashMap<(String, String), OffsetDateTime>,
    /// (name, type) → the last real answer seen for it, which the next poll is compared with.
    /// Failed queries never replace it, so a passing SERVFAIL is not reported as a change.
    pub observed: HashMap<(String, String), ObservedAnswer>,
    /// Which sub-view the DNS pane shows (`v` cycles).
    pub view: DnsView,
    /// The last sweep of every resolver: the authoritative servers first, then the others.
    pub sweeps: Vec<crate::dns::propagation::ResolverSweep>,
    /// The snapshot taken before the first change (file name), if any.
    pub snapshot: Option<String>,
    /// Expected records (a tenant's serviceConfigurationRecords) and which tenant gave them.
    pub expected: Vec<crate::graph::model::DomainDnsRecord>,
    pub expected_from: Option<TenantId>,
    /// DNSBL verdicts for the MX hosts' addresses, from the last propagation sweep.
    pub blocklists: Vec<crate::dns::monitor::BlocklistResult>,
}

/// The DNS pane's sub-views; at 80x24 they take turns instead of sharing the space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DnsView {
    #[default]
    Records,
    /// Expected vs actual, one row per expected (or extra) record.
    Compare,
    Propagation,
    Plan,
}

impl DnsView {
    pub fn next(self) -> DnsView {
        match self {
            DnsView::Records => DnsView::Compare,
            DnsView::Compare => DnsView::Propagation,
            DnsView::Propagation => DnsView::Plan,
            DnsView::Plan => DnsView::Records,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            DnsView::Records => "records",
            DnsView::Compare => "expected vs actual",
            DnsView::Propagation => "propagation",
            DnsView::Plan => "TTL plan",
        }
    }
}

/// The last authoritative answer for one (name, type) that was not a failed query.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedAnswer {
    pub answer: RecordAnswer,
    pub at: OffsetDateTime,
}

/// Scroll position and filter of a list pane.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListView {
    pub selected: usize,
    pub filter: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum InputMode {
    #[default]
    Normal,
    /// Typing a filter for this pane.
    Filter(Pane),
    /// Typing the cutover time T (timeline pane, `t`).
    CutoverTime(String),
    /// Typing why a step is skipped or failed (timeline pane, `s` / `f`).
    StepReason {
        step: String,
        status: StepStatus,
        text: String,
    },
    /// Editing a step's note (its details, `e`).
    StepNote { step: String, text: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub now: OffsetDateTime,
    pub cutover_id: String,
    /// The custom domain being moved, e.g. `contoso.example`.
    pub domain: String,
    /// The domain as a person reads it: `bücher.example (xn--bcher-kva.example)` for an IDN.
    pub domain_shown: String,
    /// When the cutover is planned (T), only ever as the admin (or the demo) set it; the
    /// timeline shows due times relative to it, offsets only while it is `None`.
    pub cutover_at: Option<OffsetDateTime>,
    /// Where `cutover_at` came from, shown beside it.
    pub cutover_from: Option<crate::plan::CutoverSource>,
    /// The T the admin set in the timeline (saved with the progress), even while `--cutover`
    /// overrides it for this session: saving the progress must not turn one into the other.
    pub cutover_set_in_timeline: Option<OffsetDateTime>,
    pub focus: Pane,
    pub input: InputMode,
    pub show_help: bool,
    pub quitting: bool,
    pub size: (u16, u16),
    pub source: TenantState,
    pub destination: TenantState,
    pub dns: DnsState,
    pub runbook: Runbook,
    /// Marks and notes the operator set on steps (saved with T in the progress file).
    pub progress: Progress,
    /// Each step's status, the next step and the observed events (`app::timeline`).
    pub timeline: super::timeline::TimelineState,
    /// The selected step's details are open (Enter on the timeline).
    pub step_detail: bool,
    /// Who the journal names as acting: marks by hand carry it.
    pub operator: String,
    /// Audit journal lines, oldest first (the pane shows newest first).
    pub audit: Vec<Record>,
    pub audit_error: Option<String>,
    /// Result of the last verification of the journal file (badge in the Audit pane title).
    pub audit_integrity: Integrity,
    /// The selected Audit entry is shown in detail (Enter on the Audit pane; Esc closes).
    pub audit_detail: bool,
    /// Per-pane list views, indexed by [`Pane::index`].
    pub views: [ListView; 6],
    /// Rows and filter results the reducer keeps computed (see [`super::view`]).
    pub model: super::view::ViewModel,
    /// Who holds the domain, seen from outside (the outside poller).
    pub outside: OutsideState,
    /// The source tenant's reference inventory (made by the source poller when something moved).
    pub inventory: InventoryState,
    /// Device-code sign-ins waiting for the person, oldest first: the first is shown as a
    /// modal dialog.
    pub sign_in: Vec<SignInDialog>,
    /// A one-off message for the status bar (e.g. a cancelled sign-in).
    pub notice: Option<String>,
    /// Why the audit journal stopped, once it has: a red banner, and every change refused.
    pub audit_stopped: Option<String>,
    /// Background tasks that ended unexpectedly (name, reason), shown in red.
    pub stopped_tasks: Vec<(String, String)>,
    /// The domain's place in the cutover state machine and what blocks the next step
    /// (`app::place`, recomputed when a reading it depends on arrives).
    pub place: super::place::PlaceView,
    /// The cleanup workbench over the Users rows (`app::workbench`).
    pub workbench: super::workbench::Workbench,
    /// The Connections pane: each tenant's connectors and applications with access, and the
    /// access plan laid over them (`app::connections`).
    pub connections: super::connections::Connections,
    /// First help row shown (the overlay scrolls on a small screen).
    pub help_scroll: usize,
    /// The demo's player (`cutover demo --play`): whether it still has the controls.
    pub play: super::play::PlayState,
}

/// The last outside lookup and the baseline changes are compared with.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutsideState {
    pub last: Option<crate::graph::discovery::Outside>,
    pub last_poll: Option<OffsetDateTime>,
    /// Verdict, tenant id and namespace type of the last lookup in which no source failed.
    pub observed: Option<serde_json::Value>,
}

/// The reference inventory of the source tenant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InventoryState {
    /// `None` until the first inventory arrived.
    pub entries: Option<Vec<crate::inventory::Entry>>,
    /// How many of them hold the domain, counted once when they arrive.
    pub holding: Option<crate::inventory::Holding>,
    pub last_poll: Option<OffsetDateTime>,
    pub last_error: Option<String>,
}

/// Which of a tenant's two sign-ins asks: Graph's or Exchange Online's (each token holds one
/// resource, so a device-code profile is approved once for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInService {
    Graph,
    Exchange,
}

impl SignInService {
    pub fn label(self) -> &'static str {
        match self {
            SignInService::Graph => "Microsoft Graph",
            SignInService::Exchange => "Exchange Online",
        }
    }
}

/// What the person must do to approve a device-code sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInDialog {
    pub tenant: TenantId,
    pub service: SignInService,
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds the code is valid for.
    pub expires_in: u64,
}

impl State {
    /// The reducer's unit tests' starting point: cutover `c` for contoso.example, no runbook.
    #[cfg(test)]
    pub(crate) fn bare(now: OffsetDateTime) -> Self {
        State::new(
            "c".into(),
            "contoso.example".into(),
            Runbook { phases: Vec::new() },
            now,
        )
    }

    pub fn new(cutover_id: String, domain: String, runbook: Runbook, now: OffsetDateTime) -> Self {
        State {
            now,
            cutover_id,
            domain_shown: domain.clone(),
            domain,
            cutover_at: None,
            cutover_from: None,
            cutover_set_in_timeline: None,
            focus: Pane::Domain,
            input: InputMode::Normal,
            show_help: false,
            quitting: false,
            size: (0, 0),
            source: TenantState::default(),
            destination: TenantState::default(),
            dns: DnsState::default(),
            runbook,
            progress: Progress::default(),
            timeline: Default::default(),
            step_detail: false,
            operator: String::new(),
            audit: Vec::new(),
            audit_error: None,
            audit_integrity: Integrity::NotChecked,
            audit_detail: false,
            views: Default::default(),
            model: Default::default(),
            outside: OutsideState::default(),
            inventory: InventoryState::default(),
            sign_in: Vec::new(),
            notice: None,
            audit_stopped: None,
            stopped_tasks: Vec::new(),
            place: super::place::PlaceView::default(),
            workbench: Default::default(),
            connections: Default::default(),
            help_scroll: 0,
            play: Default::default(),
        }
    }

    /// Can changes still be journaled? The gate for every mutating command.
    pub fn audit_alive(&self) -> bool {
        self.audit_stopped.is_none()
    }

    /// Timeline progress as saved to the state file.
    pub fn progress(&self) -> crate::plan::Progress {
        let mut saved = self.progress.clone();
        // Only the T set in the timeline is saved: `--cutover` and the config's stay where
        // they were given.
        saved.cutover_at = self
            .cutover_set_in_timeline
            .map(crate::plan::cutover_time::rfc3339);
        saved
    }

    pub fn tenant(&self, id: TenantId) -> &TenantState {
        match id {
            TenantId::Source => &self.source,
            TenantId::Destination => &self.destination,
        }
    }

    pub fn tenant_mut(&mut self, id: TenantId) -> &mut TenantState {
        match id {
            TenantId::Source => &mut self.source,
            TenantId::Destination => &mut self.destination,
        }
    }

    pub fn view(&self, pane: Pane) -> &ListView {
        &self.views[pane.index()]
    }

    pub fn view_mut(&mut self, pane: Pane) -> &mut ListView {
        &mut self.views[pane.index()]
    }
}

/// What the last verification of the audit journal found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Integrity {
    #[default]
    NotChecked,
    Verified {
        lines: u64,
        head: String,
    },
    /// `line` 0: the file could not be read.
    Broken {
        line: u64,
        reason: String,
    },
}
