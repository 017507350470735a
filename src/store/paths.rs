//! The data directory and the files under it (`audit/`, `logs/`, `state/`, `snapshots/`).

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use directories::ProjectDirs;

use super::{StoreError, describe_io};

/// The folders cutover writes to. Everything lives under one data directory so `--data-dir`
/// moves all of it at once (tests and rehearsals use a temporary one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub data_dir: PathBuf,
}

fn project_dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "cutover")
}

impl Paths {
    /// `override_dir` (from `--data-dir`) or the platform data directory; an error if neither is
    /// available. A relative override is made absolute so messages show where files really go.
    pub fn resolve(override_dir: Option<&Path>) -> Result<Paths, StoreError> {
        let data_dir = match override_dir {
            Some(dir) => std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf()),
            None => project_dirs()
                .map(|p| p.data_dir().to_path_buf())
                .ok_or(StoreError::NoDataDir)?,
        };
        Ok(Paths { data_dir })
    }

    /// Create the data directory and its subdirectories, then prove it is writable by creating
    /// and removing a probe file (a directory can exist yet be read-only).
    pub fn ensure(&self) -> Result<(), StoreError> {
        for dir in [
            self.data_dir.clone(),
            self.audit_dir(),
            self.logs_dir(),
            self.state_dir(),
            self.snapshots_dir(),
        ] {
            create_private_dir(&dir).map_err(|e| self.unusable(&e))?;
        }
        self.probe().map_err(|e| self.unusable(&e))
    }

    fn unusable(&self, err: &io::Error) -> StoreError {
        StoreError::Unusable {
            path: self.data_dir.clone(),
            reason: describe_io(err),
        }
    }

    fn probe(&self) -> io::Result<()> {
        let probe = self
            .data_dir
            .join(format!(".write-probe-{}", uuid::Uuid::new_v4().simple()));
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)?;
        let written = file.write_all(b"probe").and_then(|()| file.sync_all());
        drop(file);
        let removed = fs::remove_file(&probe);
        written.and(removed)
    }

    pub fn audit_dir(&self) -> PathBuf {
        self.data_dir.join("audit")
    }
    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }
    pub fn state_dir(&self) -> PathBuf {
        self.data_dir.join("state")
    }
    pub fn snapshots_dir(&self) -> PathBuf {
        self.data_dir.join("snapshots")
    }

    /// `audit/<id>.jsonl`, with the id reduced to safe file-name characters ([`sanitize_id`]).
    pub fn audit_log(&self, cutover_id: &str) -> PathBuf {
        self.audit_dir()
            .join(format!("{}.jsonl", sanitize_id(cutover_id)))
    }

    /// `state/<id>.json`, with the id reduced to safe file-name characters ([`sanitize_id`]).
    pub fn state_file(&self, cutover_id: &str) -> PathBuf {
        self.state_dir()
            .join(format!("{}.json", sanitize_id(cutover_id)))
    }

    /// `tokens/<profile>.json`: one profile's cached tokens (owner-only, never logged).
    pub fn token_cache(&self, profile: &str) -> PathBuf {
        self.data_dir
            .join("tokens")
            .join(format!("{}.json", sanitize_id(profile)))
    }

    /// `<platform config dir>/config.toml`, or `None` when no home directory is known.
    pub fn config_file() -> Option<PathBuf> {
        project_dirs().map(|p| p.config_dir().join("config.toml"))
    }
}

/// Reduce a cutover id to `[A-Za-z0-9._-]` so it can never escape its folder or hide a file:
/// every other character becomes `_`, a leading `.` becomes `_`, and an empty id becomes
/// `unnamed`.
pub fn sanitize_id(id: &str) -> String {
    let mut out: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.starts_with('.') {
        out.replace_range(0..1, "_");
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

/// Audit logs and snapshots name tenants and people, so new folders are owner-only on Unix.
pub(crate) fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_uses_override() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(tmp.path())).unwrap();
        assert_eq!(paths.data_dir, tmp.path());
        assert_eq!(paths.audit_dir(), tmp.path().join("audit"));
        assert_eq!(
            paths.audit_log("c-1"),
            tmp.path().join("audit").join("c-1.jsonl")
        );
        assert_eq!(
            paths.state_file("c-1"),
            tmp.path().join("state").join("c-1.json")
        );
    }

    #[test]
    fn resolve_makes_relative_override_absolute() {
        let paths = Paths::resolve(Some(Path::new("some/rel"))).unwrap();
        assert!(paths.data_dir.is_absolute());
        assert!(paths.data_dir.ends_with("some/rel"));
    }

    #[test]
    fn sanitize_keeps_safe_ids_and_defuses_others() {
        assert_eq!(sanitize_id("contoso-2026.11_a"), "contoso-2026.11_a");
        assert_eq!(sanitize_id("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(sanitize_id(".hidden"), "_hidden");
        assert_eq!(sanitize_id("a b/ü"), "a_b__");
        assert_eq!(sanitize_id(""), "unnamed");
    }

    #[test]
    fn ensure_creates_all_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        let paths = Paths::resolve(Some(&tmp.path().join("data"))).unwrap();
        paths.ensure().unwrap();
        for dir in [
            paths.audit_dir(),
            paths.logs_dir(),
            paths.state_dir(),
            paths.snapshots_dir(),
        ] {
            assert!(dir.is_dir(), "{} missing", dir.display());
        }
        // The probe file is gone again.
        let leftovers: Vec<_> = fs::read_dir(&paths.data_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".write-probe"))
            .collect();
        assert!(leftovers.is_empty());
        // Idempotent.
        paths.ensure().unwrap();
    }

    /// Whether permission bits stop this process from writing (they do not for root).
    #[cfg(unix)]
    fn permissions_are_enforced(dir: &Path) -> bool {
        fs::File::create(dir.join("root-check")).is_err()
    }

    #[test]
    fn ensure_on_unwritable_path_explains() {
        let tmp = tempfile::tempdir().unwrap();
        #[cfg(unix)]
        let target = {
            use std::os::unix::fs::PermissionsExt;
            let ro = tmp.path().join("readonly");
            fs::create_dir(&ro).unwrap();
            fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
            if permissions_are_enforced(&ro) {
                ro.join("data")
            } else {
                // Running as root: a path under a regular file fails for everyone.
                fs::write(tmp.path().join("file"), b"x").unwrap();
                tmp.path().join("file").join("data")
            }
        };
        #[cfg(not(unix))]
        let target = {
            fs::write(tmp.path().join("file"), b"x").unwrap();
            tmp.path().join("file").join("data")
        };
        let paths = Paths::resolve(Some(&target)).unwrap();
        let err = paths.ensure().unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, StoreError::Unusable { .. }), "{msg}");
        assert!(
            msg.starts_with(&format!("cannot use data directory {}: ", target.display())),
            "{msg}"
        );
        assert!(
            msg.ends_with("; pass --data-dir with a writable folder"),
            "{msg}"
        );
        assert!(!msg.contains('\n'));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // Let the tempdir clean up.
            let _ = fs::set_permissions(
                tmp.path().join("readonly"),
                fs::Permissions::from_mode(0o700),
            );
        }
    }

    #[test]
    fn config_file_is_toml_in_config_dir() {
        if let Some(path) = Paths::config_file() {
            assert!(path.ends_with("config.toml"));
        }
    }
}
