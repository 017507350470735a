//! One line of the audit journal. The field order of [`Record`] is the byte order on disk, and
//! the hash covers those bytes, so fields are only ever added at the end of the optional group
//! and the `v` field says which layout a line has. See `docs/audit-format.md`.

use serde::{Deserialize, Serialize};

/// Layout version written by this build.
pub const FORMAT_VERSION: u32 = 2;

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
    /// "source", "destination", "dns", "outside" (who holds the domain seen from outside), or
    /// none for the session itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Object the event is about (a DNS name and type, a domain, a user id, a runbook step id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Short verb phrase: "mx value changed", "step marked done".
    pub action: String,
    /// A written `null` reads back as `Some(Null)` ("was empty"), not as `None` ("not
    /// recorded"), so the record read is the record written.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub before: Option<serde_json::Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub after: Option<serde_json::Value>,
    /// Free-form extra detail.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub details: serde_json::Value,
    /// How a change ended (outcome lines): `ok`, or a short failure text. Since version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
    /// Microsoft's `request-id` of the call an intent/outcome is about. Since version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A field that is present is `Some`, even when it is `null` (absent fields take `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(d).map(Some)
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
            result: None,
            request_id: None,
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
    pub fn result(mut self, result: impl Into<String>) -> Self {
        self.result = Some(result.into());
        self
    }
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = Some(id.into());
        self
    }
    /// Whether this is an outcome whose result is not `ok`.
    pub fn failed(&self) -> bool {
        self.kind == Kind::Outcome && self.result.as_deref().is_some_and(|r| r != "ok")
    }
}

/// A complete line as stored: the event plus what the journal adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Layout version ([`FORMAT_VERSION`]).
    pub v: u32,
    /// 1 for the first line of a file, then +1 each line.
    pub seq: u64,
    /// UTC, RFC 3339 with milliseconds and a `Z`: `2026-11-21T21:05:03.123Z` ([`format_ts`]).
    pub ts: String,
    pub cutover: String,
    /// OS user that ran cutover.
    pub operator: String,
    #[serde(flatten)]
    pub event: Event,
    /// The signed-in admin's UPN, when there is one. Since version 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// SHA-256 (hex) of the previous line's record; 64 zeros on the first line.
    pub prev: String,
    /// SHA-256 (hex) of this line without its `hash` field.
    #[serde(default)]
    pub hash: String,
}

/// `prev` of the first line of a file: 64 zeros.
pub const ZERO_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a stored line ends with after its hashed prefix: `,"hash":"` + 64 hex digits + `"}`.
const HASH_KEY: &[u8] = b",\"hash\":\"";
const HASH_SUFFIX_LEN: usize = HASH_KEY.len() + 64 + 2;

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest.iter() {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The hash a stored line must carry: SHA-256 of the line without its hash field, i.e. of
/// `prefix + "}"`.
fn hash_of_prefix(prefix: &[u8]) -> String {
    hex(&prefix_digest(prefix))
}

fn prefix_digest(prefix: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    hasher.update(prefix);
    hasher.update(b"}");
    hasher.finalize().into()
}

fn hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

/// Whether `hex64` (lower-case hex) is the hash of `prefix + "}"`, without allocating.
pub fn prefix_hash_is(prefix: &[u8], hex64: &str) -> bool {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let digest = prefix_digest(prefix);
    let want = hex64.as_bytes();
    want.len() == 64
        && digest.iter().enumerate().all(|(i, b)| {
            want[2 * i] == HEX[usize::from(b >> 4)] && want[2 * i + 1] == HEX[usize::from(b & 15)]
        })
}

/// Format a time the way `ts` is stored: UTC, milliseconds, `Z`.
pub fn format_ts(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    // The description has no component that can fail for a UTC time within years 0..=9999;
    // fall back to RFC 3339 rather than panic outside that range.
    at.format(fmt).unwrap_or_else(|_| {
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    })
}

/// Read a stored `ts` back (RFC 3339); `None` for a line that does not carry one.
pub fn parse_ts(ts: &str) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()
}

impl Record {
    /// Compute `hash` from the other fields and return the stored line (without its `\n`).
    /// The record is serialized once with an empty hash; everything before `,"hash":""}` is the
    /// prefix the hash covers, so readers can check it from the bytes alone.
    pub fn seal(&mut self) -> Result<String, serde_json::Error> {
        self.hash.clear();
        let json = serde_json::to_string(self)?;
        let empty_tail = ",\"hash\":\"\"}";
        let Some(prefix) = json.strip_suffix(empty_tail) else {
            // Only possible if the struct's last field stopped being `hash`.
            return Err(serde::ser::Error::custom(
                "record does not serialize with hash as its last field",
            ));
        };
        self.hash = hash_of_prefix(prefix.as_bytes());
        Ok(format!("{prefix},\"hash\":\"{}\"}}", self.hash))
    }
}

/// Split a stored line (without `\n`) into its hashed prefix and the hex hash at its end, or
/// `None` if it does not end with a well-formed hash field.
pub fn split_hash(line: &[u8]) -> Option<(&[u8], &str)> {
    let cut = line.len().checked_sub(HASH_SUFFIX_LEN)?;
    let (prefix, tail) = line.split_at_checked(cut)?;
    let hex = tail.strip_prefix(HASH_KEY)?.strip_suffix(b"\"}")?;
    if !hex.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let hex = std::str::from_utf8(hex).ok()?;
    Some((prefix, hex))
}

/// Whether a stored line (without `\n`) carries the hash of its own content.
pub fn line_hash_matches(line: &[u8]) -> bool {
    split_hash(line).is_some_and(|(prefix, hex)| hash_of_prefix(prefix) == hex)
}

/// Recompute the hash of a stored line from its bytes, if it has a well-formed hash field.
pub fn recompute_hash(line: &[u8]) -> Option<String> {
    split_hash(line).map(|(prefix, _)| hash_of_prefix(prefix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_from_null_reads_back_as_written() {
        // Found by tests/suite/properties.rs: `null` used to read back as "no before".
        let e = Event::new(Kind::Intent, "set forwarding").change(json!(null), json!("a@b"));
        let line = serde_json::to_string(&e).unwrap();
        assert!(line.contains(r#""before":null"#), "{line}");
        let back: Event = serde_json::from_str(&line).unwrap();
        assert_eq!(back, e);
        let absent: Event = serde_json::from_str(r#"{"kind":"note","action":"x"}"#).unwrap();
        assert_eq!((absent.before, absent.after), (None, None));
    }
}
