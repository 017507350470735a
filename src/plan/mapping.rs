//! The mapping file: which destination object takes up each source object's names. The
//! source side comes from the release snapshot (`users.csv`, `groups.csv`, `contacts.csv`,
//! `docs/snapshots.md`), the destination side from the destination's live directory. The
//! default matches by UPN local part (users) or primary address local part (users without a
//! UPN match, groups); unmatched and ambiguous objects are written with an empty
//! `DestinationId`, never guessed. The admin edits `DestinationId` and the adopt plan follows
//! it. Format in `docs/plans.md`.

use std::collections::HashMap;
use std::path::Path;

use crate::graph::model::GroupKind;
use crate::inventory::Directory;

/// The mapping file's columns, in order.
pub const COLUMNS: [&str; 7] = [
    "Kind",
    "SourceId",
    "Source",
    "SourceAddress",
    "DestinationId",
    "Destination",
    "Match",
];

/// What kind of object (the snapshot file it came from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectKind {
    User,
    Group,
    Contact,
}

impl ObjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::User => "user",
            ObjectKind::Group => "group",
            ObjectKind::Contact => "contact",
        }
    }

    fn parse(s: &str) -> Option<ObjectKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "user" => Some(ObjectKind::User),
            "group" => Some(ObjectKind::Group),
            "contact" => Some(ObjectKind::Contact),
            _ => None,
        }
    }
}

/// One source object as the release snapshot recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceObject {
    pub kind: ObjectKind,
    /// The Entra object id in the source (`ExternalDirectoryObjectId`).
    pub id: String,
    pub display: String,
    /// Users only.
    pub upn: Option<String>,
    pub primary: String,
    /// Every proxy address with its prefix (`SMTP:`, `smtp:`, `SIP:` …).
    pub addresses: Vec<String>,
    /// Groups only: `RecipientTypeDetails`.
    pub group_type: Option<String>,
}

impl SourceObject {
    /// Whether the object held anything in `domain` (UPN, primary or an address).
    pub fn holds(&self, domain: &str) -> bool {
        self.upn.iter().any(|u| in_domain(u, domain))
            || in_domain(&self.primary, domain)
            || self.addresses.iter().any(|a| in_domain(a, domain))
    }
}

/// `address` (with or without prefix) is in `domain`, without regard to case.
pub fn in_domain(address: &str, domain: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(_, host)| host.eq_ignore_ascii_case(domain))
}

/// The local part of an address or UPN (prefix dropped), lower case.
pub fn local_part(address: &str) -> Option<String> {
    let bare = crate::exchange::model::split_prefix(address).1;
    bare.rsplit_once('@')
        .map(|(local, _)| local.to_lowercase())
        .filter(|l| !l.is_empty())
}

/// The source objects of a snapshot folder that hold `domain`, users then groups then
/// contacts, in file order.
pub fn read_snapshot(dir: &Path, domain: &str) -> Result<Vec<SourceObject>, String> {
    let mut out = Vec::new();
    for (file, kind) in [
        ("users.csv", ObjectKind::User),
        ("groups.csv", ObjectKind::Group),
        ("contacts.csv", ObjectKind::Contact),
    ] {
        let path = dir.join(file);
        let mut reader = csv::Reader::from_path(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let header = reader
            .headers()
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?
            .clone();
        let col = |name: &str| header.iter().position(|h| h == name);
        let need = |name: &str| {
            col(name).ok_or_else(|| format!("{} has no column {name}", path.display()))
        };
        let (id_col, addr_col) = (need("ExternalDirectoryObjectId")?, need("EmailAddresses")?);
        let display_col = need("DisplayName")?;
        let primary_col = col("PrimarySmtpAddress").or(col("ExternalEmailAddress"));
        let upn_col = col("UserPrincipalName");
        let type_col = col("RecipientTypeDetails");
        for row in reader.records() {
            let row = row.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let get = |i: Option<usize>| i.and_then(|i| row.get(i)).unwrap_or("").to_string();
            let addresses: Vec<String> = get(Some(addr_col))
                .split(';')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect();
            let primary = match get(primary_col) {
                p if !p.is_empty() => crate::exchange::model::split_prefix(&p).1.to_string(),
                _ => String::new(),
            };
            let object = SourceObject {
                kind,
                id: get(Some(id_col)),
                display: get(Some(display_col)),
                upn: upn_col.map(|_| get(upn_col)).filter(|u| !u.is_empty()),
                primary,
                addresses,
                group_type: type_col.map(|_| get(type_col)).filter(|t| !t.is_empty()),
            };
            if object.holds(domain) {
                out.push(object);
            }
        }
    }
    Ok(out)
}

/// One line of the mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntry {
    pub kind: ObjectKind,
    pub source_id: String,
    pub source: String,
    /// The source's UPN (users) or primary address: what a person recognises.
    pub source_address: String,
    /// Empty: not mapped (nothing is restored for it; the plan flags it).
    pub destination_id: String,
    pub destination: String,
    /// How the default was found (`upn`, `primary`), or why not (`unmatched`,
    /// `ambiguous: id, id`); a person's edit may say anything.
    pub how: String,
}

/// A destination object a source object can map to.
#[derive(Debug, Clone)]
pub struct DestObject {
    pub kind: ObjectKind,
    pub id: String,
    pub display: String,
    pub upn: Option<String>,
    pub primary: String,
    pub addresses: Vec<String>,
    pub synced: bool,
    /// The Exchange cmdlet that edits its addresses.
    pub cmdlet: &'static str,
}

/// The destination's mail-enabled users and groups (contacts are not mapped: a person
/// creates them).
pub fn destination_objects(dest: &Directory) -> Vec<DestObject> {
    let mut out = Vec::new();
    for u in &dest.users {
        out.push(DestObject {
            kind: ObjectKind::User,
            id: u.id.clone(),
            display: u.display_name.clone().unwrap_or_else(|| u.id.clone()),
            upn: Some(u.user_principal_name.clone()),
            primary: u.mail.clone().unwrap_or_default(),
            addresses: u.proxy_addresses.clone(),
            synced: u.on_premises_sync_enabled == Some(true),
            cmdlet: "Set-Mailbox",
        });
    }
    for g in &dest.groups {
        let cmdlet = match g.kind() {
            GroupKind::Microsoft365 => "Set-UnifiedGroup",
            GroupKind::Distribution | GroupKind::MailEnabledSecurity => "Set-DistributionGroup",
            GroupKind::Security => continue,
        };
        out.push(DestObject {
            kind: ObjectKind::Group,
            id: g.id.clone(),
            display: g.display_name.clone().unwrap_or_else(|| g.id.clone()),
            upn: None,
            primary: g.mail.clone().unwrap_or_default(),
            addresses: g.proxy_addresses.clone(),
            synced: false,
            cmdlet,
        });
    }
    out
}

/// The default mapping: users by UPN local part, then by primary local part; groups by
/// primary local part; contacts never. More than one candidate is ambiguous: left empty.
pub fn default_mapping(sources: &[SourceObject], dest: &[DestObject]) -> Vec<MapEntry> {
    let index = |kind: ObjectKind, key: &dyn Fn(&DestObject) -> Option<String>| {
        let mut m: HashMap<String, Vec<&DestObject>> = HashMap::new();
        for d in dest.iter().filter(|d| d.kind == kind) {
            if let Some(k) = key(d) {
                m.entry(k).or_default().push(d);
            }
        }
        m
    };
    let by_upn = index(ObjectKind::User, &|d| d.upn.as_deref().and_then(local_part));
    let user_by_primary = index(ObjectKind::User, &|d| local_part(&d.primary));
    let group_by_primary = index(ObjectKind::Group, &|d| local_part(&d.primary));
    sources
        .iter()
        .map(|s| {
            let mut e = MapEntry {
                kind: s.kind,
                source_id: s.id.clone(),
                source: s.display.clone(),
                source_address: s.upn.clone().unwrap_or_else(|| s.primary.clone()),
                destination_id: String::new(),
                destination: String::new(),
                how: "unmatched".into(),
            };
            let tries: Vec<(&str, Option<&Vec<&DestObject>>)> = match s.kind {
                ObjectKind::User => vec![
                    (
                        "upn",
                        s.upn
                            .as_deref()
                            .and_then(local_part)
                            .and_then(|l| by_upn.get(&l)),
                    ),
                    (
                        "primary",
                        local_part(&s.primary).and_then(|l| user_by_primary.get(&l)),
                    ),
                ],
                ObjectKind::Group => vec![(
                    "primary",
                    local_part(&s.primary).and_then(|l| group_by_primary.get(&l)),
                )],
                ObjectKind::Contact => {
                    e.how = "unmatched: contacts are created in the destination by a person".into();
                    Vec::new()
                }
            };
            for (how, found) in tries {
                match found.map(Vec::as_slice) {
                    Some([one]) => {
                        e.destination_id = one.id.clone();
                        e.destination = one.display.clone();
                        e.how = how.into();
                        break;
                    }
                    Some(many) if many.len() > 1 => {
                        let ids: Vec<&str> = many.iter().map(|d| d.id.as_str()).collect();
                        e.how = format!("ambiguous: {}", ids.join(", "));
                        break;
                    }
                    _ => {}
                }
            }
            e
        })
        .collect()
}

/// The mapping as the CSV file an admin edits.
pub fn to_csv(entries: &[MapEntry]) -> Result<Vec<u8>, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| format!("cannot format the mapping: {e}");
    w.write_record(COLUMNS).map_err(fail)?;
    for e in entries {
        w.write_record([
            e.kind.as_str(),
            &e.source_id,
            &e.source,
            &e.source_address,
            &e.destination_id,
            &e.destination,
            &e.how,
        ])
        .map_err(fail)?;
    }
    w.into_inner()
        .map_err(|e| format!("cannot format the mapping: {e}"))
}

/// A mapping file read back; errors name the line and what to fix.
pub fn from_csv(text: &str, origin: &str) -> Result<Vec<MapEntry>, String> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| format!("{origin}: {e}"))?
        .clone();
    let mut cols = Vec::new();
    for name in COLUMNS {
        cols.push(header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            format!(
                "{origin} has no column {name}; write a fresh one with 'cutover plan adopt --write-mapping FILE'"
            )
        })?);
    }
    let mut out = Vec::new();
    for (n, row) in reader.records().enumerate() {
        let line = n + 2;
        let row = row.map_err(|e| format!("{origin} line {line}: {e}"))?;
        let get = |i: usize| {
            cols.get(i)
                .and_then(|&c| row.get(c))
                .unwrap_or("")
                .trim()
                .to_string()
        };
        let kind = ObjectKind::parse(&get(0)).ok_or_else(|| {
            format!(
                "{origin} line {line}: Kind '{}' is not user, group or contact",
                get(0)
            )
        })?;
        out.push(MapEntry {
            kind,
            source_id: get(1),
            source: get(2),
            source_address: get(3),
            destination_id: get(4),
            destination: get(5),
            how: get(6),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(kind: ObjectKind, id: &str, upn: Option<&str>, primary: &str) -> SourceObject {
        SourceObject {
            kind,
            id: id.into(),
            display: id.into(),
            upn: upn.map(str::to_string),
            primary: primary.into(),
            addresses: vec![format!("SMTP:{primary}")],
            group_type: None,
        }
    }

    fn dst(kind: ObjectKind, id: &str, upn: Option<&str>, primary: &str) -> DestObject {
        DestObject {
            kind,
            id: id.into(),
            display: id.into(),
            upn: upn.map(str::to_string),
            primary: primary.into(),
            addresses: vec![format!("SMTP:{primary}")],
            synced: false,
            cmdlet: "Set-Mailbox",
        }
    }

    #[test]
    fn default_matches_by_local_part_and_never_guesses() {
        use ObjectKind::*;
        let sources = vec![
            src(User, "s1", Some("anna@c.example"), "anna@c.example"),
            src(User, "s2", Some("bob@c.example"), "robert@c.example"),
            src(User, "s3", Some("carl@c.example"), "carl@c.example"),
            src(Group, "g1", None, "sales@c.example"),
            src(Contact, "c1", None, "x@elsewhere.example"),
        ];
        let dest = vec![
            dst(
                User,
                "d1",
                Some("ANNA@n.onmicrosoft.com"),
                "anna@n.onmicrosoft.com",
            ),
            dst(
                User,
                "d2",
                Some("rob@n.onmicrosoft.com"),
                "robert@n.onmicrosoft.com",
            ),
            dst(
                User,
                "d3",
                Some("carl@n.onmicrosoft.com"),
                "c1@n.onmicrosoft.com",
            ),
            dst(
                User,
                "d4",
                Some("carl2@n.onmicrosoft.com"),
                "carl@n.onmicrosoft.com",
            ),
            dst(Group, "dg", None, "sales@n.onmicrosoft.com"),
        ];
        let m = default_mapping(&sources, &dest);
        let pick: Vec<(&str, &str)> = m
            .iter()
            .map(|e| (e.destination_id.as_str(), e.how.as_str()))
            .collect();
        assert_eq!(pick[0], ("d1", "upn"));
        assert_eq!(pick[1], ("d2", "primary"));
        // UPN local part wins before the primary: one candidate each, the UPN first.
        assert_eq!(pick[2], ("d3", "upn"));
        assert_eq!(pick[3], ("dg", "primary"));
        assert_eq!(pick[4].0, "");
        assert!(pick[4].1.starts_with("unmatched"));

        let two = vec![
            dst(
                User,
                "d1",
                Some("anna@n.onmicrosoft.com"),
                "a@n.onmicrosoft.com",
            ),
            dst(
                User,
                "d2",
                Some("Anna@n2.onmicrosoft.com"),
                "b@n.onmicrosoft.com",
            ),
        ];
        let m = default_mapping(sources.get(..1).unwrap(), &two);
        assert_eq!(m[0].destination_id, "");
        assert_eq!(m[0].how, "ambiguous: d1, d2");
    }

    #[test]
    fn csv_round_trips_and_names_bad_lines() {
        let m = default_mapping(
            &[src(
                ObjectKind::User,
                "s1",
                Some("a,b@c.example"),
                "a@c.example",
            )],
            &[],
        );
        let text = String::from_utf8(to_csv(&m).unwrap()).unwrap();
        assert_eq!(from_csv(&text, "m.csv").unwrap(), m);
        let bad = text.replace("\nuser,", "\nperson,");
        let err = from_csv(&bad, "m.csv").unwrap_err();
        assert!(
            err.contains("m.csv line 2") && err.contains("person"),
            "{err}"
        );
        let err = from_csv("Kind,SourceId\n", "m.csv").unwrap_err();
        assert!(err.contains("no column Source"), "{err}");
    }
}
