//! One line of the audit journal. The field order of [`Record`] is the byte order on disk, and
//! the hash covers those bytes, so fields are only ever added at the end of the optional group
//! and the `v` field says which layout a line has. See `docs/audit-format.md`.

use serde::{Deserialize, Serialize};

/// Layout version written by this build.
pub const FORMAT_VERSION: u32 = 1;

/// What kind of event a line records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A dashboard or command session opened the journal.
    SessionStart,
    /// The session closed the journal cleanly.
    SessionEnd,
    /// Something the operator did (a key that changed cutover state, a step marked done).
    UserAction,
    /// Written before a change is sent to a service.
    Intent,
    /// Written after the service answered a change.
    Outcome,
    /// A change the pollers saw (DNS value or TTL, domain state).
    Observed,
    /// Free text the operator attached.
    Note,
    /// The journal repaired itself (e.g. a torn last line moved aside).
    Repair,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::SessionStart => "session_start",
            Kind::SessionEnd => "session_end",
            Kind::UserAction => "user_action",
            Kind::Intent => "intent",
            Kind::Outcome => "outcome",
            Kind::Observed => "observed",
            Kind::Note => "note",
            Kind::Repair => "repair",
        }
    }
}

/// The part of a record the caller supplies; the journal adds sequence, time, cutover id and
/// the chain hashes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub kind: Kind,
    /// "source", "destination", "dns", or none for the session itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Object the event is about (a DNS name and type, a domain, a user id, a runbook step id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Short verb phrase: "mx value changed", "step marked done".
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<serde_json::Value>,
    /// Free-form extra detail.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
}

impl Event {
    pub fn new(kind: Kind, action: impl Into<String>) -> Self {
        Event {
            kind,
            tenant: None,
            target: None,
            action: action.into(),
            before: None,
            after: None,
            details: serde_json::Value::Null,
        }
    }
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }
    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
    pub fn change(mut self, before: serde_json::Value, after: serde_json::Value) -> Self {
        self.before = Some(before);
        self.after = Some(after);
        self
    }
    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A complete line as stored: the event plus what the journal adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Layout version ([`FORMAT_VERSION`]).
    pub v: u32,
    /// 1 for the first line of a file, then +1 each line.
    pub seq: u64,
    /// UTC, RFC 3339.
    pub ts: String,
    pub cutover: String,
    /// OS user that ran cutover.
    pub operator: String,
    #[serde(flatten)]
    pub event: Event,
    /// SHA-256 (hex) of the previous line's record; 64 zeros on the first line.
    pub prev: String,
    /// SHA-256 (hex) of this line without its `hash` field.
    #[serde(default)]
    pub hash: String,
}
