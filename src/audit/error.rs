//! Errors of the audit journal. Each message is one line that names the file and says what to
//! do; none carries record content, so a secret can never leak through an error.

use std::io;
use std::path::PathBuf;

use crate::store::describe_io;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading, creating, writing or syncing the file failed.
    #[error(
        "cannot {action} audit log {}: {}; check that its folder exists and is writable",
        path.display(),
        describe_io(source)
    )]
    Io {
        path: PathBuf,
        /// What was being done: "open", "read", "write to", "sync", "lock".
        action: &'static str,
        #[source]
        source: io::Error,
    },
    /// Another process (or another `Journal` in this one) holds the file's lock.
    #[error(
        "audit log {} is already open in another cutover process ({holder}); close that one and try again",
        path.display()
    )]
    Locked {
        path: PathBuf,
        /// "process 1234" from `<log>.lock`, or "an unknown process".
        holder: String,
    },
    /// The existing file does not verify, so appending would extend a broken chain.
    #[error(
        "audit log {} fails verification at line {line}: {reason}; keep the file as evidence, \
         inspect it with `cutover audit verify`, and do not append to it",
        path.display()
    )]
    Corrupt {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// The existing file records a different cutover.
    #[error(
        "audit log {} belongs to cutover \"{found}\", not \"{expected}\"; use that cutover id or another data directory",
        path.display()
    )]
    CutoverMismatch {
        path: PathBuf,
        found: String,
        expected: String,
    },
    /// A line cannot be parsed as a record (reading for display).
    #[error(
        "cannot read audit log {} at line {line}: {reason}; run `cutover audit verify` on it",
        path.display()
    )]
    Unreadable {
        path: PathBuf,
        line: u64,
        reason: String,
    },
    /// A record could not be serialized (a bug, not an environment problem).
    #[error("cannot encode a record for audit log {}: {reason}; please report this bug", path.display())]
    Encode { path: PathBuf, reason: String },
    /// An earlier write or sync failed and the file's tail is unknown, so the journal refuses
    /// to chain further records onto it.
    #[error(
        "an earlier write to audit log {} failed, so it accepts no more records; restart cutover to check and reopen it",
        path.display()
    )]
    Poisoned { path: PathBuf },
    /// The path names a device, pipe or folder (e.g. a link to /dev/full): reading it would not
    /// end, and appends to it are no journal.
    #[error(
        "audit log {} is not a regular file; remove it or use another data directory",
        path.display()
    )]
    NotAFile { path: PathBuf },
}
