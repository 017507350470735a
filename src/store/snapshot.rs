//! The snapshot before the first change: a tenant's addresses (users, groups, contacts,
//! forwarding) as CSV files with the columns of the runbook's PowerShell exports, the DNS
//! zone as the authoritative servers answer it, and a manifest with a SHA-256 per file.
//! `apply` refuses to run without one ([`latest`]); `cutover snapshot` writes one on demand.
//! The layout and the columns are described in `docs/snapshots.md`.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Digest;
use time::OffsetDateTime;

use crate::dns::RecordKind;
use crate::dns::resolver::DnsClient;
use crate::exchange::ExchangeClient;
use crate::exchange::client::Route;
use crate::graph::{GraphClient, GraphError};

use super::{create_private_dir, describe_io};

/// The manifest's file name inside a snapshot folder.
pub const MANIFEST: &str = "manifest.json";

/// Column headers, as the runbook's `Select … | Export-Csv` lines name them; columns that
/// are ours (not in the runbook) are said so in `docs/snapshots.md`.
pub const USER_COLUMNS: [&str; 6] = [
    "UserPrincipalName",
    "DisplayName",
    "Alias",
    "PrimarySmtpAddress",
    "EmailAddresses",
    "ExternalDirectoryObjectId",
];
pub const GROUP_COLUMNS: [&str; 6] = [
    "Alias",
    "DisplayName",
    "RecipientTypeDetails",
    "PrimarySmtpAddress",
    "EmailAddresses",
    "ExternalDirectoryObjectId",
];
pub const CONTACT_COLUMNS: [&str; 5] = [
    "DisplayName",
    "RecipientType",
    "ExternalEmailAddress",
    "EmailAddresses",
    "ExternalDirectoryObjectId",
];
pub const FORWARDING_COLUMNS: [&str; 4] = [
    "UserPrincipalName",
    "DeliverToMailboxAndForward",
    "ForwardingAddress",
    "ForwardingSmtpAddress",
];

/// How `EmailAddresses` is joined in one cell: Export-Csv would print the collection's type
/// name, so runbooks join it (`-join ';'`); proxy addresses cannot contain `;`.
pub const ADDRESS_SEPARATOR: char = ';';

/// What to snapshot and with which clients. `dns` is the zone's authoritative server (the
/// first authoritative target of `dns::targets::plan`); `None` is recorded as missing.
pub struct Request<'a> {
    /// `source` or `destination`.
    pub tenant: &'a str,
    /// The domain in A-label form.
    pub domain: &'a str,
    pub graph: &'a GraphClient,
    /// Exchange, where the profile may use it; refusals are recorded in the manifest.
    pub exchange: Option<&'a ExchangeClient>,
    pub dns: Option<&'a DnsClient>,
    /// The records to read from the authoritative server (`dns::monitor::record_set`).
    pub dns_names: &'a [(String, RecordKind)],
    /// Where the snapshot goes: `Folder::Under(<data dir>/snapshots)` for a new `<UTC time>`
    /// folder, or `Folder::Exactly(dir)` (which must not exist yet).
    pub folder: Folder,
    pub now: OffsetDateTime,
}

/// Where a snapshot is written.
#[derive(Debug, Clone)]
pub enum Folder {
    /// A new folder named after the time, inside this one.
    Under(PathBuf),
    /// This folder, which must not exist.
    Exactly(PathBuf),
}

/// A snapshot on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotDir {
    pub path: PathBuf,
    pub manifest: Manifest,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `source` or `destination`.
    pub tenant: String,
    /// The tenant's directory id (Graph `organization.id`).
    pub tenant_id: String,
    pub domain: String,
    #[serde(with = "time::serde::rfc3339")]
    pub taken_at: OffsetDateTime,
    /// Every file of the snapshot but the manifest, in the order written.
    pub files: Vec<FileEntry>,
    /// Whether forwarding.csv holds Exchange's answer; when not, why.
    pub forwarding: Part,
    /// Whether the DNS zone files hold the authoritative servers' answers; when not, why.
    pub dns: Part,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub name: String,
    /// Data rows (CSV) or records (DNS); the header is not counted.
    pub rows: usize,
    pub sha256: String,
}

/// A part of the snapshot that depends on access cutover may not have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missing: Option<String>,
}

impl Part {
    fn complete() -> Part {
        Part {
            complete: true,
            missing: None,
        }
    }
    fn missing(why: String) -> Part {
        Part {
            complete: false,
            missing: Some(why.replace(['\r', '\n'], " ")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The destination is unusable (exists already, under a file, …): bad input.
    #[error("cannot write the snapshot to {}: {reason}; {hint}", path.display())]
    Destination {
        path: PathBuf,
        reason: String,
        hint: &'static str,
    },
    #[error("cannot write the snapshot in {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("snapshot of the tenant: {0}")]
    Graph(#[from] GraphError),
    #[error("snapshot: {0}")]
    Data(String),
}

impl SnapshotError {
    /// Whether the caller gave a bad destination (exit 2) rather than a service or disk failure.
    pub fn is_input(&self) -> bool {
        matches!(self, SnapshotError::Destination { .. })
    }
}

fn write_error(path: &Path, e: &io::Error) -> SnapshotError {
    SnapshotError::Write {
        path: path.to_path_buf(),
        reason: describe_io(e),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GraphUser {
    id: String,
    display_name: Option<String>,
    user_principal_name: String,
    mail_nickname: Option<String>,
    mail: Option<String>,
    proxy_addresses: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct GraphGroup {
    id: String,
    display_name: Option<String>,
    mail_nickname: Option<String>,
    mail: Option<String>,
    mail_enabled: Option<bool>,
    security_enabled: Option<bool>,
    group_types: Vec<String>,
    proxy_addresses: Vec<String>,
}

const USER_SELECT: &str = "id,displayName,userPrincipalName,mailNickname,mail,proxyAddresses";
const GROUP_SELECT: &str =
    "id,displayName,mailNickname,mail,mailEnabled,securityEnabled,groupTypes,proxyAddresses";

/// The primary SMTP address: the `SMTP:` proxy address, else `mail`.
fn primary(proxies: &[String], mail: Option<&str>) -> String {
    proxies
        .iter()
        .find_map(|p| p.strip_prefix("SMTP:"))
        .or(mail)
        .unwrap_or_default()
        .to_string()
}

/// Proxy addresses joined as one cell; an address holding the separator would not read back.
fn join_addresses(owner: &str, proxies: &[String]) -> Result<String, SnapshotError> {
    if let Some(bad) = proxies.iter().find(|p| p.contains(ADDRESS_SEPARATOR)) {
        return Err(SnapshotError::Data(format!(
            "{owner} has the address {bad:?}, which holds '{ADDRESS_SEPARATOR}' and cannot be written in one cell; correct it in the tenant"
        )));
    }
    Ok(proxies.join(&ADDRESS_SEPARATOR.to_string()))
}

/// Exchange's `RecipientTypeDetails` for a mail-enabled group.
fn group_type(g: &GraphGroup) -> &'static str {
    if g.group_types.iter().any(|t| t == "Unified") {
        "GroupMailbox"
    } else if g.security_enabled == Some(true) {
        "MailUniversalSecurityGroup"
    } else {
        "MailUniversalDistributionGroup"
    }
}

/// CSV bytes: a header and rows, every field quoted as needed by the csv crate (commas,
/// quotes, line breaks, any Unicode).
fn csv_bytes(header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, SnapshotError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| SnapshotError::Data(format!("cannot format CSV: {e}"));
    w.write_record(header).map_err(fail)?;
    for r in rows {
        w.write_record(r).map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| SnapshotError::Data(format!("cannot format CSV: {e}")))
}

fn user_rows(users: &[GraphUser]) -> Result<Vec<Vec<String>>, SnapshotError> {
    users
        .iter()
        .map(|u| {
            Ok(vec![
                u.user_principal_name.clone(),
                u.display_name.clone().unwrap_or_default(),
                u.mail_nickname.clone().unwrap_or_default(),
                primary(&u.proxy_addresses, u.mail.as_deref()),
                join_addresses(&u.user_principal_name, &u.proxy_addresses)?,
                u.id.clone(),
            ])
        })
        .collect()
}

/// Mail-enabled groups only: a security group without mail holds no address to restore.
fn group_rows(groups: &[GraphGroup]) -> Result<Vec<Vec<String>>, SnapshotError> {
    groups
        .iter()
        .filter(|g| g.mail_enabled == Some(true))
        .map(|g| {
            Ok(vec![
                g.mail_nickname.clone().unwrap_or_default(),
                g.display_name.clone().unwrap_or_default(),
                group_type(g).to_string(),
                primary(&g.proxy_addresses, g.mail.as_deref()),
                join_addresses(&format!("group {}", g.id), &g.proxy_addresses)?,
                g.id.clone(),
            ])
        })
        .collect()
}

fn contact_rows(
    contacts: &[crate::graph::model::OrgContact],
) -> Result<Vec<Vec<String>>, SnapshotError> {
    contacts
        .iter()
        .map(|c| {
            Ok(vec![
                c.display_name.clone().unwrap_or_default(),
                "MailContact".to_string(),
                // Exchange shows the target address with its SMTP: prefix.
                c.mail
                    .as_deref()
                    .map(|m| format!("SMTP:{m}"))
                    .unwrap_or_default(),
                join_addresses(&format!("contact {}", c.id), &c.proxy_addresses)?,
                c.id.clone(),
            ])
        })
        .collect()
}

/// A cell as Export-Csv writes a property: strings as they are, booleans `True`/`False`,
/// null empty.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::Bool(true)) => "True".into(),
        Some(Value::Bool(false)) => "False".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// `Get-Mailbox -ResultSize Unlimited`, the forwarding columns; `Err` says why Exchange
/// could not be read (refused, unreachable), which the manifest records.
async fn forwarding_rows(exchange: &ExchangeClient) -> Result<Vec<Vec<String>>, String> {
    let got = exchange
        .invoke(
            Route::InvokeCommand,
            "Get-Mailbox",
            json!({"ResultSize": "Unlimited"}),
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(got
        .values
        .iter()
        .map(|m| FORWARDING_COLUMNS.iter().map(|c| cell(m.get(*c))).collect())
        .collect())
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Create a file that must not exist, owner-only, and make it durable.
fn write_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// `20261201T120000Z`: sorts by time, safe in every file system.
pub fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Read the tenant, write every file into a private temporary folder beside the destination,
/// then rename it into place: a snapshot folder is complete or absent, never half-written,
/// and never replaces an earlier one.
pub async fn take(req: Request<'_>) -> Result<SnapshotDir, SnapshotError> {
    // Where it goes is checked before anything is read, so a bad --out costs no requests.
    let parent = match &req.folder {
        Folder::Under(dir) => dir.clone(),
        Folder::Exactly(dir) => {
            if fs::symlink_metadata(dir).is_ok() {
                return Err(SnapshotError::Destination {
                    path: dir.clone(),
                    reason: "it exists already".into(),
                    hint: "give a folder that does not exist yet (snapshots are never overwritten)",
                });
            }
            match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            }
        }
    };
    create_private_dir(&parent).map_err(|e| SnapshotError::Destination {
        path: parent.clone(),
        reason: describe_io(&e),
        hint: "give a writable folder",
    })?;

    let org = req.graph.organization().await?;
    let users: Vec<GraphUser> = req
        .graph
        .get_all(&format!("/v1.0/users?$select={USER_SELECT}&$top=999"))
        .await?;
    let groups: Vec<GraphGroup> = req
        .graph
        .get_all(&format!("/v1.0/groups?$select={GROUP_SELECT}&$top=999"))
        .await?;
    let contacts = req.graph.contacts().await?;
    let (forwarding, forwarding_part) = match req.exchange {
        Some(x) => match forwarding_rows(x).await {
            Ok(rows) => (rows, Part::complete()),
            Err(why) => (
                Vec::new(),
                Part::missing(format!("Exchange Get-Mailbox failed: {why}")),
            ),
        },
        None => (
            Vec::new(),
            Part::missing("no Exchange access for this tenant".into()),
        ),
    };

    let csvs = [
        (
            "users.csv",
            csv_bytes(&USER_COLUMNS, &user_rows(&users)?)?,
            users.len(),
        ),
        (
            "groups.csv",
            csv_bytes(&GROUP_COLUMNS, &group_rows(&groups)?)?,
            groups
                .iter()
                .filter(|g| g.mail_enabled == Some(true))
                .count(),
        ),
        (
            "contacts.csv",
            csv_bytes(&CONTACT_COLUMNS, &contact_rows(&contacts)?)?,
            contacts.len(),
        ),
        (
            "forwarding.csv",
            csv_bytes(&FORWARDING_COLUMNS, &forwarding)?,
            forwarding.len(),
        ),
    ];

    let tmp = parent.join(format!(".snapshot-tmp-{}", uuid::Uuid::new_v4().simple()));
    create_private_dir(&tmp).map_err(|e| write_error(&tmp, &e))?;
    let result = fill_and_place(&req, &tmp, &parent, csvs, org.id, forwarding_part).await;
    if result.is_err() {
        // Best effort: the error in hand is the one to report.
        let _ = fs::remove_dir_all(&tmp);
    }
    result
}

async fn fill_and_place(
    req: &Request<'_>,
    tmp: &Path,
    parent: &Path,
    csvs: [(&str, Vec<u8>, usize); 4],
    tenant_id: String,
    forwarding: Part,
) -> Result<SnapshotDir, SnapshotError> {
    let mut files = Vec::new();
    for (name, bytes, rows) in csvs {
        let path = tmp.join(name);
        write_new(&path, &bytes).map_err(|e| write_error(&path, &e))?;
        files.push(FileEntry {
            name: name.into(),
            rows,
            sha256: sha256_hex(&bytes),
        });
    }

    let dns = match req.dns {
        None => Part::missing(format!(
            "no authoritative server of {} was found through NS",
            req.domain
        )),
        Some(client) => {
            let zone = crate::dns::snapshot::take(client, req.domain, req.dns_names, tmp, req.now)
                .await
                .map_err(|e| SnapshotError::Data(e.to_string()))?;
            let records = crate::dns::snapshot::Snapshot::read(&zone)
                .map_err(|e| SnapshotError::Data(e.to_string()))?
                .records
                .len();
            for path in [zone.clone(), crate::dns::snapshot::json_sibling(&zone)] {
                let bytes = fs::read(&path).map_err(|e| write_error(&path, &e))?;
                files.push(FileEntry {
                    name: path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    rows: records,
                    sha256: sha256_hex(&bytes),
                });
            }
            Part::complete()
        }
    };

    let manifest = Manifest {
        format: 1,
        tenant: req.tenant.to_string(),
        tenant_id,
        domain: req.domain.to_string(),
        taken_at: req.now,
        files,
        forwarding,
        dns,
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| SnapshotError::Data(format!("cannot write the manifest: {e}")))?;
    let path = tmp.join(MANIFEST);
    write_new(&path, &text).map_err(|e| write_error(&path, &e))?;
    sync_dir(tmp).map_err(|e| write_error(tmp, &e))?;

    let placed = place(tmp, parent, &req.folder, req.now)?;
    sync_dir(parent).map_err(|e| write_error(parent, &e))?;
    Ok(SnapshotDir {
        path: placed,
        manifest,
    })
}

/// Rename the finished folder into place. A complete snapshot is never empty, so renaming
/// onto it fails (a folder is only replaced when empty); a taken name moves on to `-2`, `-3`….
fn place(
    tmp: &Path,
    parent: &Path,
    folder: &Folder,
    now: OffsetDateTime,
) -> Result<PathBuf, SnapshotError> {
    if let Folder::Exactly(dir) = folder {
        if fs::symlink_metadata(dir).is_ok() {
            return Err(SnapshotError::Destination {
                path: dir.clone(),
                reason: "it exists already".into(),
                hint: "give a folder that does not exist yet (snapshots are never overwritten)",
            });
        }
        fs::rename(tmp, dir).map_err(|e| write_error(dir, &e))?;
        return Ok(dir.clone());
    }
    let base = stamp(now);
    for n in 1..1000u32 {
        let name = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let target = parent.join(&name);
        if fs::symlink_metadata(&target).is_ok() {
            continue;
        }
        match fs::rename(tmp, &target) {
            Ok(()) => return Ok(target),
            // Taken between the check and the rename: try the next name.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::AlreadyExists | io::ErrorKind::DirectoryNotEmpty
                ) => {}
            Err(e) => return Err(write_error(&target, &e)),
        }
    }
    Err(SnapshotError::Write {
        path: parent.to_path_buf(),
        reason: format!("a thousand snapshots are already named {base}"),
    })
}

/// Read a snapshot folder's manifest.
pub fn read(dir: &Path) -> Option<SnapshotDir> {
    let bytes = fs::read(dir.join(MANIFEST)).ok()?;
    let manifest: Manifest = serde_json::from_slice(&bytes).ok()?;
    Some(SnapshotDir {
        path: dir.to_path_buf(),
        manifest,
    })
}

/// The newest snapshot of `tenant` (`source`/`destination`) and `domain` (A-label) in
/// `<data_dir>/snapshots`, by the time in its manifest. Folders without a readable manifest
/// (a temporary folder, a stranger's) are not snapshots.
pub fn latest(data_dir: &Path, tenant: &str, domain: &str) -> Option<SnapshotDir> {
    let dir = super::Paths {
        data_dir: data_dir.to_path_buf(),
    }
    .snapshots_dir();
    latest_under(&dir, tenant, domain)
}

/// [`latest`] in a snapshots folder itself.
pub fn latest_under(dir: &Path, tenant: &str, domain: &str) -> Option<SnapshotDir> {
    fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter_map(|p| read(&p))
        .filter(|s| s.manifest.tenant == tenant && s.manifest.domain.eq_ignore_ascii_case(domain))
        .max_by(|a, b| {
            a.manifest
                .taken_at
                .cmp(&b.manifest.taken_at)
                .then_with(|| a.path.cmp(&b.path))
        })
}

/// Whether every file still has the hash the manifest recorded: `Err` names the first that
/// does not (changed, missing).
pub fn verify(snapshot: &SnapshotDir) -> Result<(), String> {
    for f in &snapshot.manifest.files {
        let path = snapshot.path.join(&f.name);
        let bytes = fs::read(&path).map_err(|e| format!("{}: {}", f.name, describe_io(&e)))?;
        if sha256_hex(&bytes) != f.sha256 {
            return Err(format!("{} changed since the snapshot was taken", f.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_prefers_the_smtp_proxy() {
        let p = vec!["smtp:b@x.example".to_string(), "SMTP:a@x.example".into()];
        assert_eq!(primary(&p, Some("m@x.example")), "a@x.example");
        assert_eq!(primary(&[], Some("m@x.example")), "m@x.example");
        assert_eq!(primary(&[], None), "");
    }

    #[test]
    fn an_address_with_the_separator_is_refused() {
        let err = join_addresses("u@x", &["smtp:a;b@x.example".to_string()]).unwrap_err();
        assert!(err.to_string().contains("u@x"), "{err}");
        assert_eq!(
            join_addresses("u@x", &["SMTP:a@x".into(), "smtp:b@x".into()]).unwrap(),
            "SMTP:a@x;smtp:b@x"
        );
    }

    #[test]
    fn csv_quotes_commas_quotes_and_unicode() {
        let rows = vec![vec!["Müller, \"Jürgen\"".to_string(), "田中太郎".into()]];
        let bytes = csv_bytes(&["A", "B"], &rows).unwrap();
        let mut r = csv::Reader::from_reader(bytes.as_slice());
        let back: Vec<Vec<String>> = r
            .records()
            .map(|x| x.unwrap().iter().map(String::from).collect())
            .collect();
        assert_eq!(back, rows);
    }

    #[test]
    fn exchange_cells_look_like_export_csv() {
        assert_eq!(cell(Some(&json!(true))), "True");
        assert_eq!(cell(Some(&json!(false))), "False");
        assert_eq!(cell(Some(&Value::Null)), "");
        assert_eq!(cell(None), "");
        assert_eq!(cell(Some(&json!("smtp:a@b"))), "smtp:a@b");
    }

    #[test]
    fn stamp_is_utc_and_sortable() {
        let t = time::macros::datetime!(2026-12-01 13:04:05 +01:00);
        assert_eq!(stamp(t), "20261201T120405Z");
    }
}
