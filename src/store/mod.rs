//! Where cutover keeps its files: the data directory layout and atomic file replacement.

mod atomic;
mod paths;
pub mod snapshot;

pub use atomic::write_atomic;
pub(crate) use paths::create_private_dir;
pub use paths::{Paths, sanitize_id};

use std::io;
use std::path::PathBuf;

/// Problems with the data directory. Messages are one line and say what to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Neither `--data-dir` nor a platform data directory is available (no home directory).
    #[error(
        "cannot find a data directory for cutover (no home directory is known); pass --data-dir with a writable folder"
    )]
    NoDataDir,
    /// The directory (or one of its subdirectories) cannot be created or written.
    #[error("cannot use data directory {}: {reason}; pass --data-dir with a writable folder", path.display())]
    Unusable { path: PathBuf, reason: String },
}

/// A short, lower-case description of an I/O error for one-line messages, without the
/// "(os error N)" noise.
pub(crate) fn describe_io(err: &io::Error) -> String {
    use io::ErrorKind as K;
    match err.kind() {
        K::PermissionDenied => "permission denied".into(),
        K::NotFound => "not found".into(),
        K::AlreadyExists => "already exists".into(),
        K::NotADirectory => "a path component is a file, not a folder".into(),
        K::IsADirectory => "is a folder".into(),
        K::ReadOnlyFilesystem => "read-only file system".into(),
        K::StorageFull => "no space left on the device".into(),
        K::QuotaExceeded => "disk quota exceeded".into(),
        _ => err.to_string(),
    }
}
