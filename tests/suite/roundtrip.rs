//! The full round trip against `sim serve --users 1000 --migrated-mailboxes` in its own
//! process, with the write permissions granted: read both tenants and the zone (through
//! `cutover snapshot --out`, every user and group with every address, and the zone as its
//! authoritative server answers), apply the release, apply the adopt plan, compare with the
//! intended state (the source holds nothing of the domain; each mapped destination object holds
//! its source object's addresses, primary and UPN; the zone serves the destination's TXT),
//! apply the backout and compare with the start. The adopt is two passes: the first creates
//! the destination's DKIM config, the second publishes the selector CNAMEs it names and turns
//! signing on (the backout turns it off, puts the source's CNAMEs back, removes the config).
//!
//! Needs the DNS route (the adopt plan's TXT change) and `cutover plan backout`, which land
//! with the other parts of the change engine.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common;
use common::{BIN, sim_serve};

use cutover::plan::release::Plan;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(dir.join("sim.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("CUTOVER_LOG")
        .stdin(Stdio::null())
        .output()
        .expect("run cutover")
}

fn ok(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "exit {:?} stdout {} stderr {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// One object as the snapshot shows it: UPN (users), primary, every address (type lower
/// case, address lower case; the primary is `primary`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Obj {
    upn: String,
    primary: String,
    addresses: BTreeSet<String>,
}

fn key(a: &str) -> String {
    match a.split_once(':') {
        Some((p, rest)) => format!("{}:{}", p.to_ascii_lowercase(), rest.to_ascii_lowercase()),
        None => format!("smtp:{}", a.to_ascii_lowercase()),
    }
}

/// Both files' objects by Entra id, and the zone's records.
#[derive(Debug, PartialEq)]
struct State {
    objects: BTreeMap<String, Obj>,
    zone: BTreeSet<String>,
    soa_serial: u64,
}

fn state(dir: &Path, tenant: &str, name: &str) -> State {
    let out = dir.join(name);
    ok(&run(
        dir,
        &[
            "snapshot",
            "--tenant",
            tenant,
            "--out",
            out.to_str().unwrap(),
        ],
    ));
    let mut objects = BTreeMap::new();
    for (file, upn_col) in [
        ("users.csv", Some("UserPrincipalName")),
        ("groups.csv", None),
    ] {
        let mut r = csv::Reader::from_path(out.join(file)).unwrap();
        let h = r.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|x| x == n).unwrap();
        for row in r.records().map(Result::unwrap) {
            objects.insert(
                row[col("ExternalDirectoryObjectId")].to_string(),
                Obj {
                    upn: upn_col
                        .map(|c| row[col(c)].to_ascii_lowercase())
                        .unwrap_or_default(),
                    primary: row[col("PrimarySmtpAddress")].to_ascii_lowercase(),
                    addresses: row[col("EmailAddresses")]
                        .split(';')
                        .filter(|a| !a.is_empty())
                        .map(key)
                        .collect(),
                },
            );
        }
    }
    let zone_json = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".zone.json"))
        .expect("the zone in the snapshot");
    let z: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(zone_json).unwrap()).unwrap();
    // The SOA serial must grow with every change to the zone (RFC 1982, RFC 2136), so it cannot
    // come back to its start value: it is compared apart (it must have grown), the rest of the
    // SOA with the other records.
    let mut soa_serial = 0u64;
    let zone = z["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let mut values = r["values"].clone();
            if r["kind"] == "SOA" {
                for v in values.as_array_mut().unwrap() {
                    let text = v["value"].as_str().unwrap().to_string();
                    let mut parts: Vec<&str> = text.split(' ').collect();
                    soa_serial = parts[2].parse().unwrap();
                    parts[2] = "<serial>";
                    v["value"] = serde_json::json!(parts.join(" "));
                }
            }
            format!("{} {} {}", r["name"], r["kind"], values)
        })
        .collect();
    State {
        objects,
        zone,
        soa_serial,
    }
}

fn in_domain(a: &str) -> bool {
    a.ends_with("@contoso.example")
}

fn apply(dir: &Path, plan_text: &str, name: &str) -> Plan {
    let path = dir.join(name);
    std::fs::write(&path, plan_text).unwrap();
    ok(&run(dir, &["apply", path.to_str().unwrap(), "--yes"]));
    serde_json::from_str(plan_text).unwrap()
}

#[test]
fn release_adopt_backout_round_trip_at_1000_users() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let _sim = sim_serve(
        &dir.join("sim.toml"),
        &dir.join("data"),
        &[
            "--users",
            "1000",
            "--cloud-only",
            "--contacts",
            "0",
            "--migrated-mailboxes",
            "--grant-permission",
            "Domain.ReadWrite.All",
            "--grant-permission",
            "User.ReadWrite.All",
            "--grant-permission",
            "Application.ReadWrite.All",
            "--domain-removal-delay-ms",
            "500",
        ],
    );
    let s0 = state(dir, "source", "s0");
    let d0 = state(dir, "destination", "d0");
    assert_eq!(
        (&s0.zone, s0.soa_serial),
        (&d0.zone, d0.soa_serial),
        "one zone, read twice"
    );
    assert!(s0.objects.len() > 1000);

    // Release.
    ok(&run(dir, &["snapshot", "--tenant", "source"]));
    let release = ok(&run(dir, &["plan", "release", "--json"]));
    apply(dir, &release, "release.json");

    // Adopt, through the default mapping (written out to know the pairs).
    let map = dir.join("map.csv");
    ok(&run(
        dir,
        &["plan", "adopt", "--write-mapping", map.to_str().unwrap()],
    ));
    let pairs: Vec<(String, String)> = csv::Reader::from_path(&map)
        .unwrap()
        .records()
        .map(Result::unwrap)
        .filter(|r| !r[4].is_empty())
        .map(|r| (r[1].to_string(), r[4].to_string()))
        .collect();
    assert!(pairs.len() > 900, "{}", pairs.len());
    ok(&run(dir, &["snapshot", "--tenant", "destination"]));
    let adopt_text = ok(&run(
        dir,
        &[
            "plan",
            "adopt",
            "--json",
            "--mapping",
            map.to_str().unwrap(),
        ],
    ));
    let adopt = apply(dir, &adopt_text, "adopt.json");
    // The first pass created the destination's DKIM config (signing off) and said to plan
    // again: the second publishes the selector CNAMEs Exchange names, then turns signing on.
    assert!(adopt.flags.iter().any(|f| f.kind == "plan again"));
    let again_text = ok(&run(
        dir,
        &[
            "plan",
            "adopt",
            "--json",
            "--mapping",
            map.to_str().unwrap(),
        ],
    ));
    let again = apply(dir, &again_text, "adopt-again.json");
    let fields: Vec<(&str, &str)> = again
        .changes
        .iter()
        .map(|c| (c.field.as_str(), c.target.id.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("rrset", "selector1._domainkey.contoso.example CNAME"),
            ("rrset", "selector2._domainkey.contoso.example CNAME"),
            ("dkimSigningEnabled", "contoso.example"),
        ],
        "{again_text}"
    );
    assert!(!again.flags.iter().any(|f| f.kind == "plan again"));
    // Planned a third time (read live: Get-DkimSigningConfig and the zone), nothing is left.
    let third: Plan = serde_json::from_str(&ok(&run(
        dir,
        &[
            "plan",
            "adopt",
            "--json",
            "--mapping",
            map.to_str().unwrap(),
        ],
    )))
    .unwrap();
    assert!(third.changes.is_empty(), "{:?}", third.changes);

    // The intended state: the source holds nothing of the domain …
    let s1 = state(dir, "source", "s1");
    for (id, o) in &s1.objects {
        assert!(
            !in_domain(&o.upn) && !in_domain(&o.primary),
            "{id} still holds the domain: {o:?}"
        );
        assert!(!o.addresses.iter().any(|a| in_domain(a)), "{id}: {o:?}");
    }
    // … each mapped destination object holds its source object's names, the rest is as it was …
    let mut want = d0.objects.clone();
    for (src, dst) in &pairs {
        let s = &s0.objects[src];
        let d = want.get_mut(dst).unwrap();
        d.addresses
            .extend(s.addresses.iter().filter(|a| in_domain(a)).cloned());
        if in_domain(&s.primary) {
            d.primary = s.primary.clone();
        }
        if in_domain(&s.upn) {
            d.upn = s.upn.clone();
        }
    }
    let d1 = state(dir, "destination", "d1");
    for (id, w) in &want {
        assert_eq!(d1.objects.get(id), Some(w), "destination object {id}");
    }
    assert_eq!(d1.objects.len(), want.len());
    // … and the zone serves every record set the plan published.
    for c in adopt
        .changes
        .iter()
        .chain(&again.changes)
        .filter(|c| c.field == cutover::plan::change::FIELD_RRSET)
    {
        for v in c.after["values"].as_array().unwrap() {
            let v = v
                .as_str()
                .unwrap()
                .trim_end_matches('.')
                .to_ascii_lowercase();
            assert!(
                d1.zone.iter().any(|r| r.to_ascii_lowercase().contains(&v)),
                "{v} not served"
            );
        }
    }

    // Back out everything the journal says was applied, newest first: the start again.
    let backout = ok(&run(dir, &["plan", "backout", "--json"]));
    apply(dir, &backout, "backout.json");
    same(&state(dir, "source", "s2"), &s0, "source");
    same(&state(dir, "destination", "d2"), &d0, "destination");
}

/// Strict equality, failing with the objects and records that differ (not the whole state).
fn same(now: &State, start: &State, tenant: &str) {
    let mut diff: Vec<String> = Vec::new();
    for id in now.objects.keys().chain(start.objects.keys()) {
        let (a, b) = (now.objects.get(id), start.objects.get(id));
        if a != b && !diff.iter().any(|d| d.starts_with(id.as_str())) {
            diff.push(format!("{id}: now {a:?}, at the start {b:?}"));
        }
    }
    for r in now.zone.symmetric_difference(&start.zone) {
        diff.push(format!(
            "zone {} {r}",
            if now.zone.contains(r) {
                "now has"
            } else {
                "had"
            }
        ));
    }
    assert!(
        diff.is_empty(),
        "{tenant}: {} differences after the backout, first: {:#?}",
        diff.len(),
        diff.iter().take(12).collect::<Vec<_>>()
    );
    assert_eq!((&now.objects, &now.zone), (&start.objects, &start.zone));
    assert!(
        now.soa_serial > start.soa_serial,
        "the SOA serial grew: {} -> {}",
        start.soa_serial,
        now.soa_serial
    );
}
