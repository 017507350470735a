//! What a DNS query for one name and type came back with, as cutover shows it.

use serde::{Deserialize, Serialize};

/// The record types of the Microsoft 365 set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RecordKind {
    Mx,
    Txt,
    Cname,
    Srv,
    Ns,
    Soa,
}

impl RecordKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordKind::Mx => "MX",
            RecordKind::Txt => "TXT",
            RecordKind::Cname => "CNAME",
            RecordKind::Srv => "SRV",
            RecordKind::Ns => "NS",
            RecordKind::Soa => "SOA",
        }
    }
}

impl std::fmt::Display for RecordKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the query ended. Kept apart so the UI can tell "no such name" from "server broken".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum AnswerStatus {
    /// At least one record came back.
    Answer,
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no record of this type.
    NoData,
    /// The query failed (SERVFAIL, REFUSED, timeout, …); the text says which.
    Error(String),
}

/// One DNS record as answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordValue {
    /// Record data in zone-file form, lower-case host names without the trailing dot
    /// (`0 contoso-example.mail.protection.outlook.com` for MX, the joined text for TXT).
    pub value: String,
    /// TTL in seconds as the server answered it.
    pub ttl: u32,
}

/// The answer for one (name, type) of the Microsoft 365 set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordAnswer {
    /// Fully qualified name without the trailing dot, lower case.
    pub name: String,
    pub kind: RecordKind,
    pub status: AnswerStatus,
    /// Values sorted, so two sweeps compare equal when the data is the same.
    pub values: Vec<RecordValue>,
}
