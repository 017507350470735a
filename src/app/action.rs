//! The only ways state changes ([`Action`]) and the only effects the reducer asks for
//! ([`Command`]).

use time::OffsetDateTime;

use crate::audit::{Event, Record};
use crate::graph::model::{DirectoryObjectRef, Domain, Group, Organization, User};

use super::state::{Pane, TenantId};

/// Everything the Graph poller learned about one tenant in one pass.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantSnapshot {
    pub organization: Organization,
    /// The watched domain in this tenant; `None` when the tenant does not have it.
    pub domain: Option<Domain>,
    /// `domainNameReferences` of the watched domain (empty when absent); shared with the
    /// poller's copy, never cloned per poll. The source poller keeps only those its user and
    /// group lists do not already show holding the domain (see `references_total`).
    pub references: std::sync::Arc<[DirectoryObjectRef]>,
    /// How many objects `domainNameReferences` listed when `references` holds fewer; `None`:
    /// `references` is the whole list.
    pub references_total: Option<usize>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    /// The delegated sign-in this poll was made with belongs to a user of another tenant (a
    /// partner's technician or a guest), read from the token's `idp`; `None` for the tenant's
    /// own users and app-only sign-ins (which cannot be told apart).
    pub signed_in_from: Option<crate::graph::auth::OtherTenant>,
}

/// Why a tenant poll failed: the one-line reason and, when Graph answered 403, the short
/// form of what the token lacks (`missing Domain.Read.All`) for the status bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollFailure {
    pub message: String,
    pub forbidden: Option<String>,
}

impl TenantSnapshot {
    /// How many objects reference the domain, as Graph listed them.
    pub fn reference_count(&self) -> usize {
        self.references_total.unwrap_or(self.references.len())
    }
}

impl From<&crate::graph::GraphError> for PollFailure {
    fn from(e: &crate::graph::GraphError) -> Self {
        PollFailure {
            message: e.to_string(),
            forbidden: e.refusal().map(|r| r.short()),
        }
    }
}

impl From<String> for PollFailure {
    fn from(message: String) -> Self {
        PollFailure {
            message,
            forbidden: None,
        }
    }
}

impl From<&str> for PollFailure {
    fn from(message: &str) -> Self {
        PollFailure::from(message.to_string())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Render tick: advances `State::now` (countdowns, "last poll n s ago").
    Tick(OffsetDateTime),
    Resize(u16, u16),
    FocusNext,
    FocusPrev,
    Focus(Pane),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    /// A click on the focused list: select its n-th visible row (0: the first row shown).
    SelectVisible(usize),
    /// `/`: start typing a filter for the focused pane.
    StartFilter,
    FilterInput(char),
    FilterBackspace,
    /// Enter: keep the filter and leave input mode.
    FilterApply,
    /// Esc: clear the filter and leave input mode.
    FilterCancel,
    ToggleHelp,
    /// `d` on a timeline step: done by hand (again: back to its gate and the clock).
    MarkDone,
    /// `s` / `f`: skipped / failed by hand; asks why first.
    StartMarkReason(crate::plan::StepStatus),
    /// `c`: clear the step's mark.
    ClearMark,
    /// Typing in the reason or note prompt.
    StepInput(char),
    StepBackspace,
    /// Enter in the reason or note prompt.
    StepInputApply,
    /// Esc in the reason or note prompt.
    StepInputCancel,
    /// `n`: the cursor to the next step to act on.
    NextStep,
    /// Enter on a step: its details (gate, observed, marks, note, linked action).
    ToggleStepDetail,
    /// `e` in the details: edit the note.
    StartNote,
    /// `a` in the details: the step's linked action.
    StepAction,
    /// A snapshot taken from the timeline ended: its folder, or why not.
    SnapshotTaken(Result<String, String>),
    /// The newest tenant snapshots in the data dir (source, destination).
    SnapshotsSeen([crate::timeline::SnapshotFact; 2]),
    /// `t` on the timeline: start typing the cutover time T.
    StartCutoverInput,
    CutoverInput(char),
    CutoverBackspace,
    /// Enter: set T to what was typed (refused with a notice when it does not parse).
    CutoverApply,
    /// Esc: leave T as it was.
    CutoverCancel,
    Quit,
    TenantPolled {
        tenant: TenantId,
        at: OffsetDateTime,
        result: Result<Box<TenantSnapshot>, PollFailure>,
    },
    /// One sweep of every resolver at one tick: the zone's authoritative servers (marked; their
    /// answers are the records and TTLs) and the recursive ones (propagation).
    PropagationPolled(Vec<crate::dns::propagation::ResolverSweep>),
    /// A tenant's serviceConfigurationRecords for the domain (the expected DNS records).
    ExpectedPolled {
        tenant: TenantId,
        result: Result<Vec<crate::graph::model::DomainDnsRecord>, String>,
    },
    /// DNSBL verdicts for the MX hosts' addresses.
    BlocklistsPolled(Vec<crate::dns::monitor::BlocklistResult>),
    /// The zone snapshot before the first change is on disk (its file name).
    SnapshotReady(String),
    /// Show the DNS pane's next sub-view (records, propagation, TTL plan).
    DnsCycleView,
    /// The journal wrote a line (the loop feeds every appended record back for the Audit pane).
    AuditAppended(Box<Record>),
    /// Open / close the detail view of the selected Audit entry.
    ToggleAuditDetail,
    /// The writer thread verified the journal file.
    AuditIntegrity(super::state::Integrity),
    /// Who holds the domain, seen from outside (each source's answer, faults included).
    OutsidePolled {
        at: OffsetDateTime,
        outside: Box<crate::graph::discovery::Outside>,
    },
    /// The source tenant's reference inventory.
    InventoryPolled {
        at: OffsetDateTime,
        result: Result<Vec<crate::inventory::Entry>, String>,
    },
    /// A tenant's connections and access (`access::read`), or why they could not be read
    /// (Microsoft's refusal in its words).
    AccessPolled {
        tenant: TenantId,
        at: OffsetDateTime,
        result: Result<Box<crate::access::Inventory>, String>,
    },
    /// `v` on Connections: show the other tenant's list.
    ConnectionsTenant,
    /// `m` on Connections: the shown tenant's mail apps reviewed (what `cutover access
    /// --mark-reviewed` journals; the `*.mail_apps_reviewed` gate reads it).
    MarkAppsReviewed,
    /// A device-code sign-in started: show the code and URL in the dialog.
    SignInStarted(super::state::SignInDialog),
    /// That sign-in has ended (approved, refused, expired, cancelled): its dialog closes.
    SignInEnded {
        tenant: TenantId,
        service: super::state::SignInService,
    },
    /// Esc in the sign-in dialog: stop waiting for that sign-in.
    CancelSignIn,
    /// The journal writer has ended (a failed append, a panic, its thread gone): nothing more
    /// can be recorded, so every further change is refused (see [`Action::changes_cutover`]).
    AuditStopped(String),
    /// A background task (a poller, the progress saver) ended when it should not have.
    TaskStopped {
        name: String,
        reason: String,
    },
    /// Timeline progress could not be saved (the saver thread's answer).
    ProgressNotSaved(String),
    /// Space on Users: select or unselect the row's object.
    ToggleSelect,
    /// `V`: select every row from the one last toggled to this one.
    SelectRange,
    /// `*`: select every row the filter shows; if all are, unselect them.
    SelectAll,
    /// `p`: preview the exact changes of the selection (the row's, when none is selected).
    Preview,
    /// `a` / `r` / `u`: ask to apply the selection, retry the failed, undo the selection.
    StartRun(super::workbench::RunKind),
    /// `R`: read-only on or off.
    ToggleReadOnly,
    /// Esc in the preview or the confirmation.
    DialogClose,
    ConfirmInput(char),
    ConfirmBackspace,
    /// Enter in the confirmation: send the changes.
    ConfirmAccept,
    /// The source tenant's release plan, made when its inventory was read.
    ReleasePlanned {
        at: OffsetDateTime,
        result: Result<Box<super::workbench::PlanSketch>, String>,
    },
    /// One change of the run settled (the executor's answer).
    ChangeSettled(crate::executor::ChangeResult),
    /// The run ended; `Some`: it stopped early, and why.
    RunEnded(Option<String>),
    /// Ask to apply the release plan's domain-level changes (the initial domain made default,
    /// the domain removed), once the objects no longer hold it: the same confirmation, the
    /// domain typed.
    StartDomainRun,
    /// Ask to apply a plan made outside the release workbench (the destination's adopt plan):
    /// the same confirmation and executor run.
    ProposePlan(Box<crate::plan::release::Plan>),
    /// From the demo's player (`cutover demo --play`), or a person taking the controls from it.
    Play(super::play::PlayEvent),
}

impl Action {
    /// Does this action change cutover state in a way the journal must record (a `user_action`
    /// line)? These are refused once the journal has stopped: the one gate for every mutating
    /// command. The match has no catch-all so that each new action must be classified here.
    pub fn changes_cutover(&self) -> bool {
        match self {
            // A filter applied is journaled; refuse before typing rather than lose the text.
            Action::StartFilter | Action::FilterApply => true,
            Action::CancelSignIn | Action::MarkAppsReviewed => true,
            // Marks and notes are journaled; refuse before typing, as for filters.
            Action::MarkDone
            | Action::StartMarkReason(_)
            | Action::ClearMark
            | Action::StepInputApply
            | Action::StartNote
            | Action::StepAction => true,
            Action::StepInput(_)
            | Action::StepBackspace
            | Action::StepInputCancel
            | Action::NextStep
            | Action::ToggleStepDetail
            | Action::SnapshotsSeen(_)
            | Action::SnapshotTaken(_) => false,
            // Setting T is journaled; refuse before typing, as for filters.
            Action::StartCutoverInput | Action::CutoverApply => true,
            Action::CutoverInput(_) | Action::CutoverBackspace | Action::CutoverCancel => false,
            // Each is journaled, and a run writes intents and outcomes.
            Action::StartRun(_) | Action::ConfirmAccept | Action::ToggleReadOnly => true,
            Action::StartDomainRun | Action::ProposePlan(_) => true,
            // The player's actions are checked one by one when they are unwrapped.
            Action::Play(_) => false,
            Action::ToggleSelect
            | Action::SelectRange
            | Action::SelectAll
            | Action::Preview
            | Action::DialogClose
            | Action::ConfirmInput(_)
            | Action::ConfirmBackspace
            | Action::ReleasePlanned { .. }
            | Action::ChangeSettled(_)
            | Action::RunEnded(_) => false,
            Action::Tick(_)
            | Action::Resize(..)
            | Action::FocusNext
            | Action::FocusPrev
            | Action::Focus(_)
            | Action::Up
            | Action::Down
            | Action::PageUp
            | Action::PageDown
            | Action::Top
            | Action::Bottom
            | Action::SelectVisible(_)
            | Action::FilterInput(_)
            | Action::FilterBackspace
            | Action::FilterCancel
            | Action::ToggleHelp
            | Action::Quit
            | Action::TenantPolled { .. }
            | Action::PropagationPolled(_)
            | Action::ExpectedPolled { .. }
            | Action::BlocklistsPolled(_)
            | Action::SnapshotReady(_)
            | Action::DnsCycleView
            | Action::AuditAppended(_)
            | Action::ToggleAuditDetail
            | Action::AuditIntegrity(_)
            | Action::OutsidePolled { .. }
            | Action::InventoryPolled { .. }
            | Action::AccessPolled { .. }
            | Action::ConnectionsTenant
            | Action::SignInStarted(_)
            | Action::SignInEnded { .. }
            | Action::AuditStopped(_)
            | Action::TaskStopped { .. }
            | Action::ProgressNotSaved(_) => false,
        }
    }
}

/// Effects requested by [`super::update`]; the event loop carries them out.
#[derive(Debug, Clone, PartialEq)]
// Commands live for one turn of the loop, a handful at a time; boxing the event would only add
// an allocation per audit line.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Append this event to the audit journal.
    Audit(Event),
    /// Leave the dashboard.
    Quit,
    /// Stop the device-code sign-in of this tenant's Graph or Exchange client.
    CancelSignIn(TenantId, super::state::SignInService),
    /// Save timeline progress (on the saver thread, latest wins; never on the loop).
    SaveProgress(crate::plan::Progress),
    /// Send these changes through the executor (one run at a time), read-only or not.
    Execute {
        kind: super::workbench::RunKind,
        changes: Vec<crate::plan::change::Change>,
        read_only: bool,
    },
    /// Read the source's inventory (and plan) again now, not at the next period.
    Reinventory,
    /// Read the tenants' connections and access again now (after a Connections run).
    ReadAccess,
    /// Take a snapshot of the source tenant's objects on the domain (a step's linked action).
    TakeSnapshot,
    /// Redraw even after a tick. Other actions always redraw; after a tick the loop redraws
    /// when the clock-dependent face of the screen changed (`ui::clock::face`) or on this.
    Redraw,
}
