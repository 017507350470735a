//! The reference inventory: every directory object in a tenant that still holds a domain, and
//! how (UPN, mail, proxy address, identifier URI, or only Graph's `domainNameReferences`).

use std::collections::HashSet;

use serde::Serialize;

use crate::graph::model::{GroupKind, address_in_domain};
use crate::graph::{GraphClient, GraphError};

/// What kind of object holds the domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    User,
    DistributionGroup,
    Microsoft365Group,
    MailEnabledSecurityGroup,
    SecurityGroup,
    Contact,
    Application,
    /// Reported by `domainNameReferences` only, of a type not listed above.
    Other,
}

/// One way an object holds the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reference {
    /// `userPrincipalName`, `mail`, `primarySmtpAddress`, `smtpAddress`, `otherAddress`,
    /// `identifierUri` or `domainNameReferences`.
    pub how: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub id: String,
    pub kind: Kind,
    pub display_name: String,
    /// Users only: the sign-in name (shown as the row's name; it may be in another domain).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
    /// Users only: sign-in allowed, synced from on-premises.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced: Option<bool>,
    /// Users only: how many licences are assigned (a licensed user usually has a mailbox).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub licences: Option<usize>,
    pub references: Vec<Reference>,
}

impl Entry {
    /// The short label the Users pane and the counts use. A user whose sign-in is blocked but
    /// which has mail is likely a shared mailbox; Graph has no flag for it, hence the `?`.
    pub fn label(&self) -> &'static str {
        match self.kind {
            Kind::User
                if self.enabled == Some(false)
                    && self
                        .references
                        .iter()
                        .any(|r| r.how == "mail" || r.how == "primarySmtpAddress") =>
            {
                "shared?"
            }
            Kind::User => "user",
            Kind::DistributionGroup => "dist grp",
            Kind::Microsoft365Group => "m365 grp",
            Kind::MailEnabledSecurityGroup => "mail sec",
            Kind::SecurityGroup => "security",
            Kind::Contact => "contact",
            Kind::Application => "app",
            Kind::Other => "other",
        }
    }
}

/// How many objects still hold the domain: the one number the Domain pane, the Users pane and
/// `cutover inventory` show, under one name ("hold"), with its split by label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holding {
    pub total: usize,
    /// Count per [`Entry::label`], in the order of [`Kind`] (`shared?` after `user`).
    pub by_label: Vec<(&'static str, usize)>,
}

impl Holding {
    pub fn of(entries: &[Entry]) -> Holding {
        let mut sorted: Vec<&Entry> = entries.iter().collect();
        sorted.sort_by_key(|e| (e.kind, e.label() != "user"));
        let mut by_label: Vec<(&'static str, usize)> = Vec::new();
        for e in sorted {
            let label = e.label();
            match by_label.iter_mut().find(|(l, _)| *l == label) {
                Some((_, n)) => *n += 1,
                None => by_label.push((label, 1)),
            }
        }
        Holding {
            total: entries.len(),
            by_label,
        }
    }

    /// `4 user, 1 shared?, 2 dist grp`, or `none` when nothing holds the domain.
    pub fn split(&self) -> String {
        if self.by_label.is_empty() {
            return "none".to_string();
        }
        self.by_label
            .iter()
            .map(|(label, n)| format!("{n} {label}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Addresses of a user, group or contact that are in the domain.
fn address_refs(
    upn: Option<&str>,
    mail: Option<&str>,
    proxies: &[String],
    domain: &str,
) -> Vec<Reference> {
    let mut out = Vec::new();
    if let Some(u) = upn.filter(|u| address_in_domain(u, domain)) {
        out.push(Reference {
            how: "userPrincipalName",
            value: u.to_string(),
        });
    }
    if let Some(m) = mail.filter(|m| address_in_domain(m, domain)) {
        out.push(Reference {
            how: "mail",
            value: m.to_string(),
        });
    }
    for p in proxies {
        let (prefix, rest) = p.split_once(':').unwrap_or(("", p.as_str()));
        let in_domain = match rest.rsplit_once('@') {
            Some(_) => address_in_domain(rest, domain),
            None => false,
        };
        if !in_domain {
            continue;
        }
        let how = match prefix {
            "SMTP" => "primarySmtpAddress",
            "smtp" => "smtpAddress",
            _ => "otherAddress",
        };
        out.push(Reference {
            how,
            value: p.clone(),
        });
    }
    // Kept per object holding the domain (100,000 of them): no room to grow.
    out.shrink_to_fit();
    out
}

/// Whether a URI's host is the domain or under it.
/// An identifier URI whose host is the domain or under it (`https://app.contoso.com/x`,
/// `api://contoso.com/app`).
pub fn uri_in_domain(uri: &str, domain: &str) -> bool {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or_default();
    let (h, d) = (host.to_ascii_lowercase(), domain.to_ascii_lowercase());
    h == d || h.ends_with(&format!(".{d}"))
}

/// Collect the inventory: users, groups, contacts and applications are fetched concurrently,
/// then `domainNameReferences` adds what those did not show.
pub async fn collect(client: &GraphClient, domain: &str) -> Result<Vec<Entry>, GraphError> {
    Ok(classify(domain, &read(client, domain).await?))
}

/// The directory as Graph lists it, fetched concurrently (plans need more than the entries:
/// every address in use, to resolve name collisions).
pub async fn read(client: &GraphClient, domain: &str) -> Result<Directory, GraphError> {
    let (users, groups, contacts, applications, references) = tokio::try_join!(
        client.users(),
        client.groups(),
        client.contacts(),
        client.applications(),
        client.domain_name_references(domain),
    )?;
    Ok(Directory {
        users,
        groups,
        contacts,
        applications,
        references,
    })
}

/// What a tenant's directory holds, as Graph listed it.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    pub users: Vec<crate::graph::model::User>,
    pub groups: Vec<crate::graph::model::Group>,
    pub contacts: Vec<crate::graph::model::OrgContact>,
    pub applications: Vec<crate::graph::model::Application>,
    pub references: Vec<crate::graph::model::DirectoryObjectRef>,
}

/// Does this user hold `domain` by one of its addresses (what [`classify`] lists it for)?
pub fn user_holds(u: &crate::graph::model::User, domain: &str) -> bool {
    !address_refs(
        Some(&u.user_principal_name),
        u.mail.as_deref(),
        &u.proxy_addresses,
        domain,
    )
    .is_empty()
}

/// Does this group hold `domain` by one of its addresses?
pub fn group_holds(g: &crate::graph::model::Group, domain: &str) -> bool {
    !address_refs(None, g.mail.as_deref(), &g.proxy_addresses, domain).is_empty()
}

/// Where a kind is listed: users, groups, contacts, applications, other references.
fn section(kind: Kind) -> u8 {
    match kind {
        Kind::User => 0,
        Kind::DistributionGroup
        | Kind::Microsoft365Group
        | Kind::MailEnabledSecurityGroup
        | Kind::SecurityGroup => 1,
        Kind::Contact => 2,
        Kind::Application => 3,
        Kind::Other => 4,
    }
}

/// The order a person reads the inventory in: by kind (users, groups, contacts, applications,
/// others), then by sign-in name or display name without regard to case, then by id — stable
/// whatever order Graph listed the objects in.
pub fn row_order(a: &Entry, b: &Entry) -> std::cmp::Ordering {
    fn name(e: &Entry) -> &str {
        e.user_principal_name.as_deref().unwrap_or(&e.display_name)
    }
    let (x, y) = (name(a), name(b));
    section(a.kind)
        .cmp(&section(b.kind))
        .then_with(|| {
            // Without allocating for ASCII names (nearly all); others are folded whole.
            if x.is_ascii() && y.is_ascii() {
                x.bytes()
                    .map(|c| c.to_ascii_lowercase())
                    .cmp(y.bytes().map(|c| c.to_ascii_lowercase()))
            } else {
                x.chars()
                    .flat_map(char::to_lowercase)
                    .cmp(y.chars().flat_map(char::to_lowercase))
            }
        })
        .then_with(|| a.id.cmp(&b.id))
}

/// What the inventory and the plans read of a directory, however it is kept: listed whole
/// ([`Directory`]) or kept live through delta queries by the dashboard's poller. Borrowed, so
/// reading it never copies 100,000 users.
pub trait DirectoryView {
    fn users(&self) -> impl Iterator<Item = &crate::graph::model::User>;
    fn groups(&self) -> impl Iterator<Item = &crate::graph::model::Group>;
    fn contacts(&self) -> &[crate::graph::model::OrgContact];
    fn applications(&self) -> &[crate::graph::model::Application];
    fn references(&self) -> &[crate::graph::model::DirectoryObjectRef];
}

impl DirectoryView for Directory {
    fn users(&self) -> impl Iterator<Item = &crate::graph::model::User> {
        self.users.iter()
    }
    fn groups(&self) -> impl Iterator<Item = &crate::graph::model::Group> {
        self.groups.iter()
    }
    fn contacts(&self) -> &[crate::graph::model::OrgContact] {
        &self.contacts
    }
    fn applications(&self) -> &[crate::graph::model::Application] {
        &self.applications
    }
    fn references(&self) -> &[crate::graph::model::DirectoryObjectRef] {
        &self.references
    }
}

/// Every object of `directory` that holds `domain`, and how; `domainNameReferences` adds the
/// objects the other lists did not show. Only the holders' fields are copied.
pub fn classify(domain: &str, directory: &impl DirectoryView) -> Vec<Entry> {
    let mut out = Vec::new();
    for u in directory.users() {
        let refs = address_refs(
            Some(&u.user_principal_name),
            u.mail.as_deref(),
            &u.proxy_addresses,
            domain,
        );
        if !refs.is_empty() {
            out.push(Entry {
                id: u.id.clone(),
                kind: Kind::User,
                display_name: u.display_name.clone().unwrap_or_default(),
                user_principal_name: Some(u.user_principal_name.clone()),
                enabled: u.account_enabled,
                synced: Some(u.on_premises_sync_enabled == Some(true)),
                licences: Some(u.assigned_licenses.len()),
                references: refs,
            });
        }
    }
    for g in directory.groups() {
        let refs = address_refs(None, g.mail.as_deref(), &g.proxy_addresses, domain);
        if !refs.is_empty() {
            let kind = match g.kind() {
                GroupKind::Distribution => Kind::DistributionGroup,
                GroupKind::Microsoft365 => Kind::Microsoft365Group,
                GroupKind::MailEnabledSecurity => Kind::MailEnabledSecurityGroup,
                GroupKind::Security => Kind::SecurityGroup,
            };
            out.push(Entry {
                id: g.id.clone(),
                kind,
                display_name: g.display_name.clone().unwrap_or_default(),
                user_principal_name: None,
                enabled: None,
                synced: None,
                licences: None,
                references: refs,
            });
        }
    }
    for c in directory.contacts() {
        let refs = address_refs(None, c.mail.as_deref(), &c.proxy_addresses, domain);
        if !refs.is_empty() {
            out.push(Entry {
                id: c.id.clone(),
                kind: Kind::Contact,
                display_name: c.display_name.clone().unwrap_or_default(),
                user_principal_name: None,
                enabled: None,
                synced: None,
                licences: None,
                references: refs,
            });
        }
    }
    for a in directory.applications() {
        let refs: Vec<Reference> = a
            .identifier_uris
            .iter()
            .filter(|u| uri_in_domain(u, domain))
            .map(|u| Reference {
                how: "identifierUri",
                value: u.clone(),
            })
            .collect();
        if !refs.is_empty() {
            out.push(Entry {
                id: a.id.clone(),
                kind: Kind::Application,
                display_name: a.display_name.clone().unwrap_or_default(),
                user_principal_name: None,
                enabled: None,
                synced: None,
                licences: None,
                references: refs,
            });
        }
    }
    let known: HashSet<String> = out.iter().map(|e| e.id.to_ascii_lowercase()).collect();
    for r in directory.references() {
        if known.contains(&r.id.to_ascii_lowercase()) {
            continue;
        }
        out.push(Entry {
            kind: Kind::Other,
            display_name: r.display_name.clone().unwrap_or_default(),
            user_principal_name: None,
            enabled: None,
            synced: None,
            licences: None,
            references: vec![Reference {
                how: "domainNameReferences",
                value: r.odata_type.clone().unwrap_or_default(),
            }],
            id: r.id.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holding_counts_every_entry_once_under_its_label() {
        let entry = |kind, enabled, how: &'static str| Entry {
            id: format!("{kind:?}{how}"),
            kind,
            display_name: "Zoë Ødegård".into(),
            user_principal_name: None,
            enabled,
            synced: None,
            licences: None,
            references: vec![Reference {
                how,
                value: "x@contoso.com".into(),
            }],
        };
        let entries = [
            entry(Kind::Contact, None, "mail"),
            entry(Kind::User, Some(true), "userPrincipalName"),
            entry(Kind::User, Some(false), "mail"),
            entry(Kind::User, Some(false), "smtpAddress"),
            entry(Kind::Other, None, "domainNameReferences"),
        ];
        let h = Holding::of(&entries);
        assert_eq!(h.total, 5);
        assert_eq!(h.split(), "2 user, 1 shared?, 1 contact, 1 other");
        assert_eq!(Holding::of(&[]).split(), "none");
    }

    #[test]
    fn addresses_are_classified() {
        let refs = address_refs(
            Some("a@contoso.com"),
            Some("a@contoso.com"),
            &[
                "SMTP:a@contoso.com".into(),
                "smtp:b@sub.contoso.com".into(),
                "SIP:a@contoso.com".into(),
                "smtp:a@other.com".into(),
                "smtp:a@notcontoso.com".into(),
            ],
            "contoso.com",
        );
        let hows: Vec<&str> = refs.iter().map(|r| r.how).collect();
        assert_eq!(
            hows,
            [
                "userPrincipalName",
                "mail",
                "primarySmtpAddress",
                "smtpAddress",
                "otherAddress"
            ]
        );
    }

    #[test]
    fn uris_match_the_domain_and_its_subdomains_only() {
        assert!(uri_in_domain(
            "https://intranet.contoso.com/x",
            "contoso.com"
        ));
        assert!(uri_in_domain("api://contoso.com/app", "contoso.com"));
        assert!(!uri_in_domain(
            "https://contoso.com.evil.example",
            "contoso.com"
        ));
        assert!(!uri_in_domain("api://1234-guid", "contoso.com"));
    }
}
