//! Snapshots of what the authoritative servers answer for a domain (zone-file text plus a JSON
//! sibling), and the difference between a snapshot and a later sweep.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::model::{AnswerStatus, RecordAnswer, RecordKind};
use super::resolver::{DnsClient, normalize_name};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub domain: String,
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    pub records: Vec<RecordAnswer>,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot write snapshot {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot read snapshot {path}: {detail}; give the .json file 'cutover dns snapshot' wrote"
    )]
    Read { path: PathBuf, detail: String },
}

impl Snapshot {
    pub fn new(domain: &str, taken_at: OffsetDateTime, records: Vec<RecordAnswer>) -> Self {
        Snapshot {
            domain: normalize_name(domain),
            taken_at,
            records,
        }
    }

    /// Zone-file text: one line per record value, `name. TTL IN TYPE data`; negative answers
    /// and failures are comments, so the file loads in a DNS server as is.
    pub fn zone_text(&self) -> String {
        let mut out = format!(
            "; cutover snapshot of {} taken {}\n",
            self.domain,
            self.taken_at
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        );
        for r in &self.records {
            match &r.status {
                AnswerStatus::Answer => {
                    for v in &r.values {
                        out.push_str(&format!(
                            "{}. {} IN {} {}\n",
                            r.name,
                            v.ttl,
                            r.kind,
                            zone_data(r.kind, &v.value)
                        ));
                    }
                }
                AnswerStatus::NxDomain => {
                    out.push_str(&format!("; {} {} NXDOMAIN\n", r.name, r.kind))
                }
                AnswerStatus::NoData => out.push_str(&format!("; {} {} NODATA\n", r.name, r.kind)),
                AnswerStatus::Error(e) => {
                    out.push_str(&format!("; {} {} not answered: {e}\n", r.name, r.kind))
                }
            }
        }
        out
    }

    /// Write `path` (zone text) and `path.json` (this snapshot as JSON), each atomically.
    pub fn write(&self, path: &Path) -> Result<(PathBuf, PathBuf), SnapshotError> {
        let json_path = json_sibling(path);
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| SnapshotError::Write { path, source }
        };
        crate::store::write_atomic(path, self.zone_text().as_bytes()).map_err(err(path))?;
        let json = serde_json::to_vec_pretty(self).map_err(|e| SnapshotError::Write {
            path: json_path.clone(),
            source: std::io::Error::other(e),
        })?;
        crate::store::write_atomic(&json_path, &json).map_err(err(&json_path))?;
        Ok((path.to_path_buf(), json_path))
    }

    /// Read a snapshot: the JSON file, or the zone file whose JSON sibling sits beside it.
    pub fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
        let json_path = if path.extension().is_some_and(|e| e == "json") {
            path.to_path_buf()
        } else {
            json_sibling(path)
        };
        let bytes = std::fs::read(&json_path).map_err(|e| SnapshotError::Read {
            path: json_path.clone(),
            detail: e.to_string(),
        })?;
        serde_json::from_slice(&bytes).map_err(|e| SnapshotError::Read {
            path: json_path,
            detail: e.to_string(),
        })
    }
}

/// `FILE.json` beside `FILE`.
pub fn json_sibling(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".json");
    PathBuf::from(name)
}

fn zone_data(kind: RecordKind, value: &str) -> String {
    match kind {
        RecordKind::Txt => {
            // Character-strings are at most 255 bytes: split long values back into chunks.
            let escaped: Vec<String> = value
                .as_bytes()
                .chunks(255)
                .map(|c| {
                    let s = String::from_utf8_lossy(c);
                    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
                })
                .collect();
            if escaped.is_empty() {
                "\"\"".into()
            } else {
                escaped.join(" ")
            }
        }
        RecordKind::Cname | RecordKind::Ns => format!("{value}."),
        RecordKind::Mx => match value.split_once(' ') {
            Some((pref, host)) => format!("{pref} {host}."),
            None => value.to_string(),
        },
        RecordKind::Srv => match value.rsplit_once(' ') {
            Some((nums, host)) => format!("{nums} {host}."),
            None => value.to_string(),
        },
        RecordKind::Soa => {
            let mut parts: Vec<String> = value.split(' ').map(str::to_string).collect();
            for p in parts.iter_mut().take(2) {
                p.push('.');
            }
            parts.join(" ")
        }
    }
}

/// How one (name, type) differs between a snapshot and now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub name: String,
    pub kind: RecordKind,
    /// Values (or NXDOMAIN / NODATA) then, and now.
    pub before: Vec<String>,
    pub after: Vec<String>,
}

fn shown(a: &RecordAnswer) -> Vec<String> {
    match &a.status {
        AnswerStatus::Answer => a
            .values
            .iter()
            .map(|v| format!("{} (ttl {})", v.value, v.ttl))
            .collect(),
        AnswerStatus::NxDomain => vec!["NXDOMAIN".into()],
        AnswerStatus::NoData => vec!["NODATA".into()],
        AnswerStatus::Error(e) => vec![format!("error: {e}")],
    }
}

/// Records whose values or TTLs differ. Records that failed now are skipped: a timeout is not
/// a change to the zone.
pub fn diff(before: &Snapshot, now: &[RecordAnswer]) -> Vec<Change> {
    let mut out = Vec::new();
    for a in now {
        if matches!(a.status, AnswerStatus::Error(_)) {
            continue;
        }
        let old = before
            .records
            .iter()
            .find(|b| b.name == a.name && b.kind == a.kind);
        let before_shown = old.map(shown).unwrap_or_default();
        let after_shown = shown(a);
        if before_shown != after_shown {
            out.push(Change {
                name: a.name.clone(),
                kind: a.kind,
                before: before_shown,
                after: after_shown,
            });
        }
    }
    out
}

/// Take a snapshot of `domain` from `client` (the authoritative servers) and write it as
/// `<dir>/<domain>-<UTC time>.zone` plus `.zone.json`. Each dashboard session calls it at
/// start, in the background, through [`ensure`] (`app::pollers::spawn_snapshot`).
pub async fn take(
    client: &DnsClient,
    domain: &str,
    names: &[(String, RecordKind)],
    dir: &Path,
    now: OffsetDateTime,
) -> Result<PathBuf, SnapshotError> {
    let records = client.sweep_names(names).await;
    let snapshot = Snapshot::new(domain, now, records);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let path = dir.join(format!("{}-{stamp}.zone", snapshot.domain));
    std::fs::create_dir_all(dir).map_err(|source| SnapshotError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    snapshot.write(&path)?;
    Ok(path)
}

/// The newest snapshot of `domain` in `dir` (by the time in its name), if any.
/// The snapshot before the first change: the newest one of `domain` in `dir` if there is one,
/// else one taken now from `client` (the reference resolver) over the Microsoft 365 names.
pub async fn ensure(
    client: &DnsClient,
    domain: &str,
    dir: &Path,
) -> Result<PathBuf, SnapshotError> {
    if let Some(existing) = latest(dir, domain) {
        return Ok(existing);
    }
    let names = crate::dns::m365_names(domain);
    take(client, domain, &names, dir, OffsetDateTime::now_utc()).await
}

pub fn latest(dir: &Path, domain: &str) -> Option<PathBuf> {
    let prefix = format!("{}-", normalize_name(domain));
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && n.ends_with(".zone"))
        })
        .collect();
    found.sort();
    found.pop()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordValue;
    use time::macros::datetime;

    fn answer(name: &str, kind: RecordKind, value: &str, ttl: u32) -> RecordAnswer {
        RecordAnswer {
            name: name.into(),
            kind,
            status: AnswerStatus::Answer,
            values: vec![RecordValue {
                value: value.into(),
                ttl,
            }],
        }
    }

    #[test]
    fn zone_text_and_diff() {
        let long = "x".repeat(300);
        let snap = Snapshot::new(
            "Contoso.Example.",
            datetime!(2026-12-01 12:00 UTC),
            vec![
                answer("contoso.example", RecordKind::Mx, "0 old.example", 3600),
                answer("contoso.example", RecordKind::Txt, &long, 3600),
            ],
        );
        let text = snap.zone_text();
        assert!(text.contains("contoso.example. 3600 IN MX 0 old.example.\n"));
        assert!(text.contains(&format!("\"{}\" \"{}\"", "x".repeat(255), "x".repeat(45))));
        let now = vec![
            answer("contoso.example", RecordKind::Mx, "0 new.example", 300),
            answer("contoso.example", RecordKind::Txt, &long, 3600),
        ];
        let changes = diff(&snap, &now);
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].before, vec!["0 old.example (ttl 3600)"]);
        assert_eq!(changes[0].after, vec!["0 new.example (ttl 300)"]);
    }

    #[test]
    fn write_read_and_latest() {
        let dir = tempfile::tempdir().unwrap();
        let snap = Snapshot::new(
            "contoso.example",
            datetime!(2026-12-01 12:00 UTC),
            vec![answer("contoso.example", RecordKind::Mx, "0 a.example", 60)],
        );
        let path = dir.path().join("contoso.example-20261201T120000Z.zone");
        snap.write(&path).unwrap();
        assert_eq!(Snapshot::read(&path).unwrap(), snap);
        assert_eq!(latest(dir.path(), "contoso.example"), Some(path));
        assert_eq!(latest(dir.path(), "other.example"), None);
    }
}
