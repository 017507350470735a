//! `cutover plan adopt` against `sim serve --migrated-mailboxes` in its own process: refused
//! without the source's snapshot; the plan waits for the source's release, publishes the TXT
//! before verifying, and puts nothing of the domain on an object before the verification (per
//! object: addresses, then the primary, then the UPN); planned twice it is the same file; the
//! mapping file round-trips, an edited mapping moves the changes to the object it names, and
//! every unmatched object is flagged, not guessed. DKIM: a signing config created after the
//! verification and a "plan again" flag (the selector CNAMEs come from that config).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use crate::common;
use crate::common::cli::{ok, one_line_exit_2, run};
use common::sim_serve;

use cutover::plan::change::{
    FIELD_ADDRESSES, FIELD_DKIM, FIELD_DKIM_CONFIG, FIELD_DOMAIN_RELEASED, FIELD_DOMAIN_VERIFIED,
    FIELD_PRIMARY, FIELD_RRSET, FIELD_UPN, Route,
};
use cutover::plan::release::Plan;

fn plan(dir: &Path, extra: &[&str]) -> Plan {
    let mut args = vec!["plan", "adopt", "--json"];
    args.extend_from_slice(extra);
    serde_json::from_str(&ok(&run(dir, &args))).expect("plan json")
}

/// Whether `id` waits, directly or through others, for a change of `field`.
fn waits_for(plan: &Plan, id: &str, field: &str) -> bool {
    let by: HashMap<&str, _> = plan.changes.iter().map(|c| (c.id.as_str(), c)).collect();
    let mut stack: Vec<&str> = by[id].prerequisites.iter().map(String::as_str).collect();
    let mut seen = HashSet::new();
    while let Some(p) = stack.pop() {
        if !seen.insert(p) {
            continue;
        }
        if by[p].field == field {
            return true;
        }
        stack.extend(by[p].prerequisites.iter().map(String::as_str));
    }
    false
}

#[test]
fn adopt_plan_steps_mapping_and_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let _sim = sim_serve(
        &dir.join("sim.toml"),
        &dir.join("data"),
        &["--users", "40", "--migrated-mailboxes"],
    );
    // The names to restore come from the source's snapshot: none, no plan.
    one_line_exit_2(
        &run(dir, &["plan", "adopt"]),
        "cutover snapshot --tenant source",
    );
    ok(&run(dir, &["snapshot", "--tenant", "source"]));

    let p = plan(dir, &[]);
    assert_eq!(
        (p.kind.as_str(), p.tenant.as_str()),
        ("adopt", "destination")
    );
    let index: HashMap<&str, usize> = p
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (c.id.as_str(), i))
        .collect();
    // Every prerequisite comes earlier in the list: the list is the order.
    for (i, c) in p.changes.iter().enumerate() {
        for pre in &c.prerequisites {
            assert!(index[pre.as_str()] < i, "{} before its prerequisite", c.id);
        }
    }
    // 1. the wait for the source's 404, read through the source tenant.
    let wait = &p.changes[0];
    assert_eq!(wait.field, FIELD_DOMAIN_RELEASED);
    assert_eq!(wait.tenant, "source");
    // 2. the verification TXT added to the apex TXT set as the zone serves it now.
    let txt = &p.changes[1];
    assert_eq!(txt.field, FIELD_RRSET);
    assert_eq!(txt.target.id, "contoso.example TXT");
    let values = |v: &serde_json::Value| -> Vec<String> {
        serde_json::from_value(v["values"].clone()).unwrap()
    };
    let added: Vec<String> = values(&txt.after)
        .into_iter()
        .filter(|v| !values(&txt.before).contains(v))
        .collect();
    assert_eq!(added.len(), 1, "{added:?}");
    assert!(added[0].starts_with("MS=ms"), "{added:?}");
    assert!(
        values(&txt.before).iter().any(|v| v.starts_with("MS=ms")),
        "before is the live set, with the source's own TXT"
    );
    assert!(!values(&txt.before).contains(&added[0]));
    // 3. verify after both.
    let verify = &p.changes[2];
    assert_eq!(verify.field, FIELD_DOMAIN_VERIFIED);
    assert!(verify.prerequisites.contains(&wait.id));
    assert!(verify.prerequisites.contains(&txt.id));
    // 4. nothing of the domain on an object before the verification; per object the
    // addresses, then the primary, then the UPN.
    let objects: Vec<_> = p
        .changes
        .iter()
        .filter(|c| [FIELD_ADDRESSES, FIELD_PRIMARY, FIELD_UPN].contains(&c.field.as_str()))
        .collect();
    assert!(objects.len() > 60, "{}", objects.len());
    for c in &objects {
        assert_eq!(c.tenant, "destination");
        assert!(waits_for(&p, &c.id, FIELD_DOMAIN_VERIFIED), "{}", c.id);
        if c.field == FIELD_UPN {
            assert!(waits_for(&p, &c.id, FIELD_PRIMARY), "{}", c.id);
        }
        if c.field == FIELD_PRIMARY {
            assert!(c.after.as_str().unwrap().ends_with("@contoso.example"));
        }
    }
    // DKIM: the destination has no signing config, so after the verification the plan creates
    // one (signing off) and says to plan again; no selector CNAME is guessed.
    let dkim: Vec<_> = p
        .changes
        .iter()
        .filter(|c| c.field == FIELD_DKIM_CONFIG || c.field == FIELD_DKIM)
        .collect();
    assert_eq!(dkim.len(), 1, "{dkim:?}");
    assert_eq!(dkim[0].field, FIELD_DKIM_CONFIG);
    assert!(index[dkim[0].id.as_str()] > index[verify.id.as_str()]);
    assert!(dkim[0].prerequisites.contains(&verify.id));
    match &dkim[0].route {
        Route::Exchange { cmdlet, params } => {
            assert_eq!(cmdlet, "New-DkimSigningConfig");
            assert_eq!(params["Enabled"], false);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !p.changes.iter().any(|c| c.target.id.contains("_domainkey")),
        "selector CNAMEs before Exchange named them"
    );
    assert!(
        p.flags.iter().any(|f| f.kind == "plan again"
            && f.action
                .contains("the selector CNAMEs come from the new config")),
        "{:?}",
        p.flags
    );
    // The same state planned again is the same file.
    assert_eq!(plan(dir, &[]), p);
    let text = ok(&run(dir, &["plan", "adopt"]));
    assert!(text.starts_with("adopt plan for contoso.example"), "{text}");
    assert!(
        text.contains(&format!("after {}, {}", wait.id, txt.id)),
        "{text}"
    );

    // The default mapping, written for editing, plans the same.
    let map = dir.join("map.csv");
    ok(&run(
        dir,
        &["plan", "adopt", "--write-mapping", map.to_str().unwrap()],
    ));
    one_line_exit_2(
        &run(
            dir,
            &["plan", "adopt", "--write-mapping", map.to_str().unwrap()],
        ),
        "exists already",
    );
    let m = map.to_str().unwrap();
    assert_eq!(plan(dir, &["--mapping", m]), p);
    let text = std::fs::read_to_string(&map).unwrap();
    let mut rows: Vec<csv::StringRecord> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    // Every unmatched object is flagged, with nothing planned for it.
    let unmatched: Vec<&csv::StringRecord> = rows.iter().filter(|r| r[4].is_empty()).collect();
    assert!(!unmatched.is_empty(), "the sim has objects without a match");
    for r in &unmatched {
        assert!(
            p.flags
                .iter()
                .any(|f| f.target.id == r[1] && f.kind == "not restored"),
            "{r:?} not flagged"
        );
    }
    assert!(unmatched.iter().any(|r| &r[0] == "contact"));

    // An edited mapping: two users' destination objects swapped.
    let matched: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| &r[0] == "user" && &r[6] == "upn")
        .map(|(i, _)| i)
        .take(2)
        .collect();
    let (from, to) = (matched[0], matched[1]);
    let dest_id = rows[from][4].to_string();
    let other_dest = rows[to][4].to_string();
    let (moved_from, moved_to) = (rows[from][1].to_string(), rows[to][1].to_string());
    let edit = |r: &csv::StringRecord, dest: &str| {
        let mut f: Vec<String> = r.iter().map(str::to_string).collect();
        f[4] = dest.to_string();
        f[6] = "edited".into();
        csv::StringRecord::from(f)
    };
    rows[to] = edit(&rows[to], &dest_id);
    rows[from] = edit(&rows[from], &other_dest);
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(cutover::plan::mapping::COLUMNS).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    let edited = dir.join("edited.csv");
    std::fs::write(&edited, w.into_inner().unwrap()).unwrap();
    let q = plan(dir, &["--mapping", edited.to_str().unwrap()]);
    assert_ne!(q, p);
    assert_eq!(q.changes.len(), p.changes.len());
    // The destination object now takes the other user's names.
    let snapshot_addresses = |source_id: &str| -> Vec<String> {
        let snap = std::fs::read_dir(dir.join("data/snapshots"))
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut r = csv::Reader::from_path(snap.join("users.csv")).unwrap();
        let row = r
            .records()
            .map(Result::unwrap)
            .find(|row| &row[5] == source_id)
            .unwrap();
        row[4]
            .split(';')
            .filter(|a| a.to_ascii_lowercase().ends_with("@contoso.example"))
            .map(|a| {
                a.to_ascii_lowercase()
                    .split_once(':')
                    .unwrap()
                    .1
                    .to_string()
            })
            .collect()
    };
    let planned_for = |plan: &Plan| -> Vec<String> {
        plan.changes
            .iter()
            .filter(|c| c.target.id == dest_id && c.field == FIELD_ADDRESSES)
            .flat_map(|c| serde_json::from_value::<Vec<String>>(c.after.clone()).unwrap())
            .map(|a| {
                a.to_ascii_lowercase()
                    .split_once(':')
                    .unwrap()
                    .1
                    .to_string()
            })
            .collect()
    };
    let mut want = snapshot_addresses(&moved_to);
    let mut got = planned_for(&q);
    want.sort();
    got.sort();
    assert!(!want.is_empty());
    assert_eq!(got, want);
    assert_eq!(
        {
            let mut v = planned_for(&p);
            v.sort();
            v
        },
        {
            let mut v = snapshot_addresses(&moved_from);
            v.sort();
            v
        }
    );

    // A mapping naming an object the destination does not have: one line, exit 2.
    let bad = text.replacen(&dest_id, "00000000-0000-0000-0000-000000000000", 1);
    let bad_path = dir.join("bad.csv");
    std::fs::write(&bad_path, bad).unwrap();
    one_line_exit_2(
        &run(
            dir,
            &["plan", "adopt", "--mapping", bad_path.to_str().unwrap()],
        ),
        "which the destination tenant does not have",
    );
}
