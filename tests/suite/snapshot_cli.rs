//! `cutover snapshot` against `sim serve` in its own process over loopback: the CSV files read
//! back with the csv crate, their columns, one row per object, a Unicode name intact, the
//! manifest's hashes, a second snapshot in a new folder, refused Exchange said in the manifest,
//! and bad input as one line with exit 2.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use sha2::Digest;

use crate::common;
use crate::common::cli::{ok, one_line_exit_2, run};
use common::{Served, sim_serve};

use cutover::store::snapshot::{
    CONTACT_COLUMNS, FORWARDING_COLUMNS, GROUP_COLUMNS, USER_COLUMNS, latest, read, verify,
};

const DOMAIN: &str = "contoso.example";

fn serve(dir: &Path, extra: &[&str]) -> Served {
    let mut args = vec!["--users", "60"];
    args.extend_from_slice(extra);
    sim_serve(&dir.join("sim.toml"), dir, &args)
}

/// The header and the rows of a CSV file, each row as column → value.
fn read_csv(path: &Path) -> (Vec<String>, Vec<HashMap<String, String>>) {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let rows = r
        .records()
        .map(|rec| {
            let rec = rec.expect("record");
            header
                .iter()
                .cloned()
                .zip(rec.iter().map(String::from))
                .collect()
        })
        .collect();
    (header, rows)
}

fn snapshot_folders(data: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(data.join("snapshots"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What `cutover inventory` lists (the objects holding the domain), by id: kind and name.
fn inventory(dir: &Path) -> HashMap<String, (String, String)> {
    let out = run(dir, &["inventory", "--tenant", "source", "--json"]);
    ok(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json line"))
        .map(|v| {
            (
                v["id"].as_str().unwrap_or_default().to_string(),
                (
                    v["kind"].as_str().unwrap_or_default().to_string(),
                    v["display_name"].as_str().unwrap_or_default().to_string(),
                ),
            )
        })
        .collect()
}

#[test]
fn snapshot_writes_the_runbook_csvs_dns_and_a_manifest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let _sim = serve(d, &[]);
    let data = d.join("data");

    let said = ok(&run(d, &["snapshot", "--tenant", "source"]));
    let folders = snapshot_folders(&data);
    assert_eq!(folders.len(), 1, "{folders:?}");
    let first = folders[0].clone();
    assert!(said.contains(&first.display().to_string()), "{said}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{mode:o}");
    }

    // The manifest: who, what, and a hash per file that matches the file.
    let snap = read(&first).expect("manifest");
    let m = &snap.manifest;
    assert_eq!(m.tenant, "source");
    assert_eq!(m.domain, DOMAIN);
    assert!(!m.tenant_id.is_empty());
    assert!(m.forwarding.complete, "{:?}", m.forwarding);
    assert!(m.dns.complete, "{:?}", m.dns);
    let names: HashSet<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
    for f in ["users.csv", "groups.csv", "contacts.csv", "forwarding.csv"] {
        assert!(names.contains(f), "{names:?}");
    }
    assert!(names.iter().any(|n| n.ends_with(".zone")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".zone.json")), "{names:?}");
    for f in &m.files {
        let bytes = std::fs::read(first.join(&f.name)).expect("file in manifest");
        assert_eq!(sha256_hex(&bytes), f.sha256, "{}", f.name);
    }
    verify(&snap).expect("verifies");

    // users.csv: the runbook's columns, one row per user, every holder of the domain there.
    let held = inventory(d);
    let (header, users) = read_csv(&first.join("users.csv"));
    assert_eq!(header, USER_COLUMNS);
    let rows_of = |name: &str| m.files.iter().find(|f| f.name == name).map(|f| f.rows);
    assert_eq!(rows_of("users.csv"), Some(users.len()));
    assert!(users.len() >= 60, "{}", users.len());
    let ids: HashSet<&str> = users
        .iter()
        .map(|u| u["ExternalDirectoryObjectId"].as_str())
        .collect();
    assert_eq!(ids.len(), users.len(), "one row per user");
    let mut unicode = 0;
    for (id, (kind, name)) in held.iter().filter(|(_, (k, _))| k == "user") {
        let row = users
            .iter()
            .find(|u| &u["ExternalDirectoryObjectId"] == id)
            .unwrap_or_else(|| panic!("user {id} ({name}, {kind}) missing"));
        // Display names (Jürgen Müller, 田中太郎, O'Brien, …) come back as the tenant has them.
        assert_eq!(&row["DisplayName"], name);
        if !name.is_ascii() {
            unicode += 1;
        }
    }
    assert!(unicode > 0, "no Unicode display name among the holders");
    let mut with_addresses = 0;
    for u in &users {
        if u["EmailAddresses"].is_empty() {
            continue;
        }
        with_addresses += 1;
        let addrs: Vec<&str> = u["EmailAddresses"].split(';').collect();
        assert!(addrs.iter().all(|a| a.contains(':')), "{addrs:?}");
        let primaries: Vec<&str> = addrs
            .iter()
            .filter_map(|a| a.strip_prefix("SMTP:"))
            .collect();
        assert_eq!(primaries, vec![u["PrimarySmtpAddress"].as_str()], "{u:?}");
        assert!(!u["Alias"].is_empty(), "{u:?}");
    }
    assert!(with_addresses > 0);

    // groups.csv: mail-enabled groups, every group holding the domain there.
    let (header, groups) = read_csv(&first.join("groups.csv"));
    assert_eq!(header, GROUP_COLUMNS);
    assert_eq!(rows_of("groups.csv"), Some(groups.len()));
    for (id, _) in held
        .iter()
        .filter(|(_, (k, _))| k.ends_with("group") && k != "security_group")
    {
        assert!(
            groups.iter().any(|g| &g["ExternalDirectoryObjectId"] == id),
            "group {id} missing"
        );
    }
    assert!(
        groups
            .iter()
            .any(|g| g["RecipientTypeDetails"] == "GroupMailbox")
    );

    // contacts.csv.
    let (header, contacts) = read_csv(&first.join("contacts.csv"));
    assert_eq!(header, CONTACT_COLUMNS);
    assert_eq!(rows_of("contacts.csv"), Some(contacts.len()));
    for (id, _) in held.iter().filter(|(_, (k, _))| k == "contact") {
        assert!(
            contacts
                .iter()
                .any(|c| &c["ExternalDirectoryObjectId"] == id),
            "contact {id} missing"
        );
    }
    assert!(contacts.iter().all(|c| c["RecipientType"] == "MailContact"));

    // forwarding.csv: one row per mailbox, Exchange's forwarding as Export-Csv writes it.
    let (header, forwarding) = read_csv(&first.join("forwarding.csv"));
    assert_eq!(header, FORWARDING_COLUMNS);
    assert_eq!(rows_of("forwarding.csv"), Some(forwarding.len()));
    assert!(!forwarding.is_empty());
    assert!(forwarding.iter().all(|f| {
        matches!(f["DeliverToMailboxAndForward"].as_str(), "True" | "False")
            && users
                .iter()
                .any(|u| u["UserPrincipalName"] == f["UserPrincipalName"])
    }));
    assert!(
        forwarding
            .iter()
            .any(|f| f["ForwardingSmtpAddress"].starts_with("smtp:")),
        "no forwarding mailbox in the snapshot"
    );

    // A second snapshot goes into a new folder; the first is untouched; latest() finds it.
    ok(&run(d, &["snapshot", "--tenant", "source"]));
    let folders = snapshot_folders(&data);
    assert_eq!(folders.len(), 2, "{folders:?}");
    verify(&snap).expect("the first is unchanged");
    let newest = latest(&data, "source", DOMAIN).expect("latest");
    assert_ne!(newest.path, first);
    assert!(latest(&data, "destination", DOMAIN).is_none());
    assert!(latest(&data, "source", "other.example").is_none());

    // --out: a new folder exactly there; an existing one is refused and left alone.
    let out = d.join("kept");
    ok(&run(
        d,
        &[
            "snapshot",
            "--tenant",
            "source",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    ));
    assert!(read(&out).is_some());
    let before = std::fs::read(out.join("manifest.json")).expect("manifest");
    let again = run(
        d,
        &[
            "snapshot",
            "--tenant",
            "source",
            "--out",
            out.to_str().expect("utf-8"),
        ],
    );
    one_line_exit_2(&again, "exists already");
    assert_eq!(
        std::fs::read(out.join("manifest.json")).expect("manifest"),
        before
    );
    // Under a file.
    std::fs::write(d.join("a-file"), b"x").expect("write");
    let under = d.join("a-file").join("snap");
    let bad = run(
        d,
        &[
            "snapshot",
            "--tenant",
            "source",
            "--out",
            under.to_str().expect("utf-8"),
        ],
    );
    one_line_exit_2(&bad, "cannot write the snapshot");

    // Bad --tenant.
    one_line_exit_2(&run(d, &["snapshot", "--tenant", "elsewhere"]), "elsewhere");
    one_line_exit_2(&run(d, &["snapshot"]), "--tenant");
    // No temporary folder left behind by any of it.
    let leftovers: Vec<_> = std::fs::read_dir(data.join("snapshots"))
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".snapshot-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn refused_exchange_is_said_in_the_manifest_not_an_empty_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let _sim = serve(d, &["--deny-permission", "source:Exchange.ManageAsApp"]);
    let out = run(d, &["snapshot", "--tenant", "source"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no forwarding"), "{err}");
    let snap = latest(&d.join("data"), "source", DOMAIN).expect("snapshot");
    assert!(!snap.manifest.forwarding.complete);
    let why = snap.manifest.forwarding.missing.clone().unwrap_or_default();
    assert!(why.contains("Exchange.ManageAsApp"), "{why}");
    // The users are there all the same.
    let (_, users) = read_csv(&snap.path.join("users.csv"));
    assert!(users.len() >= 60);
}
