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
    /// `domainNameReferences` of the watched domain (empty when absent).
    pub references: Vec<DirectoryObjectRef>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
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
    /// `/`: start typing a filter for the focused pane.
    StartFilter,
    FilterInput(char),
    FilterBackspace,
    /// Enter: keep the filter and leave input mode.
    FilterApply,
    /// Esc: clear the filter and leave input mode.
    FilterCancel,
    ToggleHelp,
    /// Space on a timeline step: pending → in progress → done → skipped → pending.
    CycleStepStatus,
    Quit,
    TenantPolled {
        tenant: TenantId,
        at: OffsetDateTime,
        result: Result<Box<TenantSnapshot>, String>,
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
    /// The journal could not write: shown in the status bar, never swallowed.
    AuditFailed(String),
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
    /// A device-code sign-in started: show the code and URL in the dialog.
    SignInStarted(super::state::SignInDialog),
    /// Esc in the sign-in dialog: stop waiting for that sign-in.
    CancelSignIn,
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
    /// Stop the device-code sign-in of this tenant's client.
    CancelSignIn(TenantId),
}
