//! Appending to the journal: one sealed line per event under an exclusive lock so two
//! processes never interleave or fork the chain. Intents, outcomes and session/user lines are
//! fsynced before `append` returns; observed lines are group-committed (synced at most once a
//! second, and always before the next synced line and on close). A torn last line is moved
//! aside on open and recorded as a `repair` line.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::error::AuditError;
use super::record::{Event, FORMAT_VERSION, Kind, Record, format_ts};
use super::redact::redact_event;
use super::verify::check;

/// Told of every record once it is stored (the dashboard's Audit pane); called with the
/// journal's lock held, so it must only hand the record on.
pub type Observer = Box<dyn Fn(&Record) + Send + Sync>;

/// An open journal file, locked for this process until dropped.
pub struct Journal {
    path: PathBuf,
    file: File,
    cutover: String,
    operator: String,
    /// The signed-in admin, written on every line from [`Journal::set_upn`] on.
    upn: Option<String>,
    seq: u64,
    head: String,
    /// File length after the last complete line, to cut a failed write back off.
    len: u64,
    /// Set when a failed write may have left an unknown tail.
    poisoned: bool,
    /// Observed lines written since the last fsync.
    unsynced: bool,
    last_sync: Instant,
    /// `<log>.lock`, holding this process's id while the lock is held.
    lock_note: PathBuf,
    observer: Option<Observer>,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("path", &self.path)
            .field("cutover", &self.cutover)
            .field("seq", &self.seq)
            .field("poisoned", &self.poisoned)
            .finish_non_exhaustive()
    }
}

/// How long an observed line may stay unsynced.
pub const GROUP_COMMIT: Duration = Duration::from_secs(1);

/// `<log>.lock`: the sidecar naming the process that holds the log's lock.
pub fn lock_note_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

impl Journal {
    /// Open or create `path` (creating parent dirs) for appending as `cutover_id`. Takes an
    /// exclusive advisory lock, then verifies the existing lines and continues their chain.
    /// Refuses a file that fails verification or belongs to another cutover.
    pub fn open(path: &Path, cutover_id: &str) -> Result<Journal, AuditError> {
        let io_err = |action: &'static str| {
            move |source| AuditError::Io {
                path: path.to_path_buf(),
                action,
                source,
            }
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io_err("create the folder of"))?;
        }
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // The log names tenants, people and addresses: owner-only.
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io_err("open"))?;
        // Checked on the open file, so a link to a device is caught too.
        if !file.metadata().map_err(io_err("open"))?.is_file() {
            return Err(AuditError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        lock(&file, path)?;
        let lock_note = lock_note_path(path);
        // Best effort: the note only improves the error a second process sees.
        let _ = std::fs::write(&lock_note, format!("{}\n", std::process::id()));

        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io_err("read"))?;
        // A last line without its newline is a write cut short (kill -9, power loss). If all
        // lines before it verify, move it aside and continue after the last complete line.
        let mut torn = None;
        if !bytes.is_empty() && !bytes.ends_with(b"\n") {
            let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
            if check(&bytes[..keep]).report.is_ok() {
                let tail = bytes.split_off(keep);
                let side = move_aside(path, &tail)?;
                file.set_len(keep as u64).map_err(io_err("truncate"))?;
                file.sync_all().map_err(io_err("sync"))?;
                torn = Some((side, tail.len()));
            }
        }
        let checked = check(&bytes);
        if let Some(bad) = checked.report.first_bad {
            return Err(AuditError::Corrupt {
                path: path.to_path_buf(),
                line: bad.line,
                reason: bad.reason,
            });
        }
        if let Some(found) = checked.cutover
            && found != cutover_id
        {
            return Err(AuditError::CutoverMismatch {
                path: path.to_path_buf(),
                found,
                expected: cutover_id.to_string(),
            });
        }
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
            cutover: cutover_id.to_string(),
            operator: operator(),
            upn: None,
            seq: checked.report.lines,
            head: checked.report.head,
            len: bytes.len() as u64,
            poisoned: false,
            unsynced: false,
            last_sync: Instant::now(),
            lock_note,
            observer: None,
        };
        if let Some((side, len)) = torn {
            let line = journal.seq + 1;
            journal.append(
                Event::new(Kind::Repair, "torn last line moved aside")
                    .target(side.display().to_string())
                    .details(serde_json::json!({"line": line, "bytes": len})),
            )?;
        }
        Ok(journal)
    }

    /// Append one event (secrets redacted) and return the stored record. Every kind but
    /// `observed` is fsynced (with any observed lines before it) before this returns; observed
    /// lines are synced when the last sync is [`GROUP_COMMIT`] old, else by a later append,
    /// [`Journal::sync_due`], [`Journal::sync`] or drop.
    pub fn append(&mut self, mut event: Event) -> Result<Record, AuditError> {
        if self.poisoned {
            return Err(AuditError::Poisoned {
                path: self.path.clone(),
            });
        }
        redact_event(&mut event);
        let observed = event.kind == Kind::Observed;
        let mut record = Record {
            v: FORMAT_VERSION,
            seq: self.seq + 1,
            ts: format_ts(time::OffsetDateTime::now_utc()),
            cutover: self.cutover.clone(),
            operator: self.operator.clone(),
            event,
            upn: self.upn.clone(),
            prev: self.head.clone(),
            hash: String::new(),
        };
        let mut line = record.seal().map_err(|e| AuditError::Encode {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        line.push('\n');

        if let Err(source) = self.file.write_all(line.as_bytes()) {
            // Cut a partial line back off so the chain stays intact; if even that fails the
            // tail is unknown and nothing more may be chained onto it.
            if self.file.set_len(self.len).is_err() {
                self.poisoned = true;
            }
            return Err(AuditError::Io {
                path: self.path.clone(),
                action: "write to",
                source,
            });
        }
        self.seq = record.seq;
        self.head.clone_from(&record.hash);
        self.len += line.len() as u64;
        self.unsynced = true;
        if !observed || self.last_sync.elapsed() >= GROUP_COMMIT {
            self.sync()?;
        }
        if let Some(observer) = &self.observer {
            observer(&record);
        }
        Ok(record)
    }

    /// Fsync lines written since the last sync, if any.
    pub fn sync(&mut self) -> Result<(), AuditError> {
        if !self.unsynced {
            return Ok(());
        }
        if let Err(source) = self.file.sync_data() {
            // After a failed fsync the kernel may have dropped the data; whether the lines are
            // on disk is unknown.
            self.poisoned = true;
            return Err(AuditError::Io {
                path: self.path.clone(),
                action: "sync",
                source,
            });
        }
        self.unsynced = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// When unsynced observed lines must be synced at the latest (`None` if there are none).
    pub fn sync_deadline(&self) -> Option<Instant> {
        self.unsynced.then(|| self.last_sync + GROUP_COMMIT)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Last sequence number and hash (0 and 64 zeros for an empty journal).
    pub fn head(&self) -> (u64, String) {
        (self.seq, self.head.clone())
    }

    pub fn cutover_id(&self) -> &str {
        &self.cutover
    }

    pub fn operator(&self) -> &str {
        &self.operator
    }

    /// Be told of every record appended from now on, whoever appends it (the dashboard's
    /// writer thread and its executor share one journal).
    pub fn observe(&mut self, observer: Observer) {
        self.observer = Some(observer);
    }

    /// Record the signed-in admin's UPN (or none) on the lines appended from now on.
    pub fn set_upn(&mut self, upn: Option<String>) {
        self.upn = upn;
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        // Errors here have nowhere to go; a failed final sync shows up as a torn or missing
        // tail on the next open.
        let _ = self.sync();
        // Remove the note before the lock is released (the file closes after this body).
        let _ = std::fs::remove_file(&self.lock_note);
    }
}

/// Write a torn tail to `<log>.torn-<UTC time>` (synced) and return that path.
fn move_aside(path: &Path, tail: &[u8]) -> Result<PathBuf, AuditError> {
    let stamp = time::OffsetDateTime::now_utc()
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_else(|_| "unknown-time".into());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".torn-{stamp}"));
    let side = PathBuf::from(name);
    let write = || -> std::io::Result<()> {
        let mut f = OpenOptions::new().create(true).append(true).open(&side)?;
        f.write_all(tail)?;
        f.sync_all()
    };
    write().map_err(|source| AuditError::Io {
        path: side.clone(),
        action: "write to",
        source,
    })?;
    Ok(side)
}

fn lock(file: &File, path: &Path) -> Result<(), AuditError> {
    match file.try_lock() {
        Ok(()) => Ok(()),
        Err(TryLockError::WouldBlock) => Err(AuditError::Locked {
            path: path.to_path_buf(),
            holder: std::fs::read_to_string(lock_note_path(path))
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
                .map_or_else(
                    || "an unknown process".to_string(),
                    |pid| format!("process {pid}"),
                ),
        }),
        Err(TryLockError::Error(source)) => Err(AuditError::Io {
            path: path.to_path_buf(),
            action: "lock",
            source,
        }),
    }
}

/// The OS user running cutover, from `USER`/`LOGNAME` (Unix) or `USERNAME` (Windows); where
/// none is set (services, `su`, containers) the account of the process's uid in /etc/passwd.
fn operator() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .into_iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .or_else(passwd_user)
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(unix)]
fn passwd_user() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // /proc/self is owned by the process's (real) uid.
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let _password = fields.next()?;
        let id: u32 = fields.next()?.parse().ok()?;
        (id == uid && !name.is_empty()).then(|| name.to_string())
    })
}

#[cfg(not(unix))]
fn passwd_user() -> Option<String> {
    None
}

/// Parse every line of the file into records, for display. Does not check hashes (see
/// [`super::verify_file`]); fails on the first line that is not a record, naming it.
pub fn read_records(path: &Path) -> Result<Vec<Record>, AuditError> {
    let bytes = std::fs::read(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })?;
    let body = bytes.strip_suffix(b"\n").unwrap_or(&bytes);
    if body.is_empty() {
        return Ok(Vec::new());
    }
    body.split(|b| *b == b'\n')
        .enumerate()
        .map(|(idx, line)| {
            serde_json::from_slice(line).map_err(|e| AuditError::Unreadable {
                path: path.to_path_buf(),
                line: idx as u64 + 1,
                reason: if line.is_empty() {
                    "the line is empty".to_string()
                } else {
                    format!("not a valid record ({e})")
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::ZERO_HASH;
    use crate::audit::{Kind, verify_file};
    use serde_json::json;

    #[cfg(unix)]
    #[test]
    fn the_process_account_is_found_without_environment() {
        // The uid's account exists on any Unix machine the tests run on (root in CI).
        let name = passwd_user().expect("an /etc/passwd entry for this uid");
        assert!(!name.is_empty() && !name.contains(':'));
    }

    #[test]
    fn first_record_chains_from_zero_and_second_from_first() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("nested").join("c1.jsonl");
        let mut j = Journal::open(&path, "c1").unwrap();
        assert_eq!(j.head(), (0, ZERO_HASH.to_string()));
        let a = j
            .append(Event::new(Kind::SessionStart, "session started"))
            .unwrap();
        let b = j
            .append(Event::new(Kind::Observed, "mx ttl changed").target("contoso.com MX"))
            .unwrap();
        assert_eq!((a.seq, a.prev.as_str()), (1, ZERO_HASH));
        assert_eq!((b.seq, &b.prev), (2, &a.hash));
        assert_eq!(j.head(), (2, b.hash.clone()));
        assert_eq!(a.v, FORMAT_VERSION);
        assert_eq!(a.cutover, "c1");
        assert_eq!(read_records(&path).unwrap(), vec![a, b]);
        assert!(verify_file(&path).unwrap().is_ok());
    }

    #[cfg(unix)]
    #[test]
    fn a_link_to_a_device_is_refused_not_read_forever() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        std::os::unix::fs::symlink("/dev/full", &path).unwrap();
        let err = Journal::open(&path, "c").unwrap_err();
        assert!(matches!(err, AuditError::NotAFile { .. }), "{err}");
        assert!(err.to_string().contains("is not a regular file"), "{err}");
    }

    #[test]
    fn ts_is_utc_with_milliseconds() {
        let tmp = tempfile::tempdir().unwrap();
        let mut j = Journal::open(&tmp.path().join("c.jsonl"), "c").unwrap();
        let r = j.append(Event::new(Kind::Note, "n")).unwrap();
        // 2026-11-21T21:05:03.123Z
        assert_eq!(r.ts.len(), 24, "{}", r.ts);
        assert!(r.ts.ends_with('Z') && r.ts.as_bytes()[19] == b'.');
        time::OffsetDateTime::parse(&r.ts, &time::format_description::well_known::Rfc3339).unwrap();
    }

    #[test]
    fn observed_lines_are_group_committed_and_intents_synced() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        let mut j = Journal::open(&path, "c").unwrap();
        j.append(Event::new(Kind::Intent, "i")).unwrap();
        assert_eq!(j.sync_deadline(), None);
        j.append(Event::new(Kind::Observed, "o")).unwrap();
        let deadline = j
            .sync_deadline()
            .expect("observed line waits for a group sync");
        assert!(deadline <= Instant::now() + GROUP_COMMIT);
        // Written already (readers see it), synced by the next intent.
        assert_eq!(read_records(&path).unwrap().len(), 2);
        j.append(Event::new(Kind::Outcome, "o").result("ok"))
            .unwrap();
        assert_eq!(j.sync_deadline(), None);
        j.append(Event::new(Kind::Observed, "o2")).unwrap();
        j.sync().unwrap();
        assert_eq!(j.sync_deadline(), None);
    }

    #[test]
    fn lock_note_names_this_process_and_goes_away() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        let j = Journal::open(&path, "c").unwrap();
        let note = lock_note_path(&path);
        assert_eq!(
            std::fs::read_to_string(&note).unwrap().trim(),
            std::process::id().to_string()
        );
        let err = Journal::open(&path, "c").unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        drop(j);
        assert!(!note.exists());
    }

    #[test]
    fn upn_is_written_once_set() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        let mut j = Journal::open(&path, "c").unwrap();
        let a = j.append(Event::new(Kind::Note, "before sign-in")).unwrap();
        j.set_upn(Some("admin@contoso.com".into()));
        let b = j.append(Event::new(Kind::Note, "after sign-in")).unwrap();
        assert_eq!((a.upn, b.upn.as_deref()), (None, Some("admin@contoso.com")));
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(
            raw.lines()
                .nth(1)
                .unwrap()
                .contains(r#""upn":"admin@contoso.com","prev""#)
        );
        assert!(verify_file(&path).unwrap().is_ok());
    }

    #[test]
    fn other_cutover_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        Journal::open(&path, "a")
            .unwrap()
            .append(Event::new(Kind::Note, "n"))
            .unwrap();
        let err = Journal::open(&path, "b").unwrap_err();
        assert!(matches!(err, AuditError::CutoverMismatch { .. }), "{err}");
    }

    #[test]
    fn corrupt_file_is_refused_naming_the_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        {
            let mut j = Journal::open(&path, "c").unwrap();
            for i in 0..3 {
                j.append(Event::new(Kind::Note, format!("n{i}"))).unwrap();
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"n1\"", "\"m1\"")).unwrap();
        let err = Journal::open(&path, "c").unwrap_err();
        match &err {
            AuditError::Corrupt { line, .. } => assert_eq!(*line, 2),
            other => panic!("unexpected {other}"),
        }
        let msg = err.to_string();
        assert!(msg.contains("line 2") && msg.contains("c.jsonl"), "{msg}");
    }

    #[test]
    fn read_records_names_bad_line() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        {
            let mut j = Journal::open(&path, "c").unwrap();
            j.append(Event::new(Kind::Note, "n")).unwrap();
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"v\":1,\"seq\"");
        std::fs::write(&path, text).unwrap();
        match read_records(&path).unwrap_err() {
            AuditError::Unreadable { line, .. } => assert_eq!(line, 2),
            other => panic!("unexpected {other}"),
        }
        assert!(read_records(&tmp.path().join("missing.jsonl")).is_err());
    }

    #[test]
    fn secrets_never_reach_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("c.jsonl");
        let mut j = Journal::open(&path, "c").unwrap();
        let r = j
            .append(
                Event::new(Kind::Intent, "token refreshed").details(
                    json!({"access_token": "s3cr3t-value", "scope": "Domain.ReadWrite.All"}),
                ),
            )
            .unwrap();
        assert_eq!(r.event.details["access_token"], "[redacted]");
        assert_eq!(r.event.details["scope"], "Domain.ReadWrite.All");
        let raw = std::fs::read_to_string(&path).unwrap();
        assert!(!raw.contains("s3cr3t-value"));
        assert!(verify_file(&path).unwrap().is_ok());
    }

    /// The worked example in docs/audit-format.md; if this changes, update the document.
    #[test]
    fn worked_example_for_docs() {
        let mut r = Record {
            v: 1,
            seq: 1,
            ts: "2026-11-21T21:05:03.123Z".into(),
            cutover: "contoso-2026-11".into(),
            operator: "alex".into(),
            event: Event::new(Kind::UserAction, "step marked done").target("lower-mx-ttl"),
            upn: None,
            prev: ZERO_HASH.into(),
            hash: String::new(),
        };
        let line = r.seal().unwrap();
        let hashed = concat!(
            r#"{"v":1,"seq":1,"ts":"2026-11-21T21:05:03.123Z","cutover":"contoso-2026-11","#,
            r#""operator":"alex","kind":"user_action","target":"lower-mx-ttl","#,
            r#""action":"step marked done","#,
            r#""prev":"0000000000000000000000000000000000000000000000000000000000000000"}"#
        );
        let hash = "b5de3c37d6231f7eddd066b0b8411436133aa4e3395d293817cfe144abe850dd";
        assert_eq!(crate::audit::sha256_hex(hashed.as_bytes()), hash);
        assert_eq!(r.hash, hash);
        let open = hashed.strip_suffix('}').unwrap();
        let stored = format!("{open},\"hash\":\"{hash}\"}}");
        assert_eq!(line, stored);
    }
}
