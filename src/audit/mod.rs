//! The append-only, hash-chained audit journal. Format: `docs/audit-format.md`.

pub mod error;
pub mod filter;
pub mod journal;
pub mod record;
pub mod redact;
pub mod review;
pub mod verify;

pub use error::AuditError;
pub use filter::{Filter, parse_kind, parse_time};
pub use journal::{GROUP_COMMIT, Journal, Observer, lock_note_path, read_records};
pub use record::{Event, FORMAT_VERSION, Kind, Record, ZERO_HASH, format_ts, parse_ts, sha256_hex};
pub use redact::{REDACTED, redact_event, redact_value};
pub use verify::{
    BadLine, IncrementalVerifier, VerifyReport, verify_bytes, verify_file, verify_file_anchored,
};
