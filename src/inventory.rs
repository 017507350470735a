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
    out
}

/// Whether a URI's host is the domain or under it.
fn uri_in_domain(uri: &str, domain: &str) -> bool {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or_default();
    let (h, d) = (host.to_ascii_lowercase(), domain.to_ascii_lowercase());
    h == d || h.ends_with(&format!(".{d}"))
}

/// Collect the inventory: users, groups, contacts and applications are fetched concurrently,
/// then `domainNameReferences` adds what those did not show.
pub async fn collect(client: &GraphClient, domain: &str) -> Result<Vec<Entry>, GraphError> {
    let (users, groups, contacts, applications, references) = tokio::try_join!(
        client.users(),
        client.groups(),
        client.contacts(),
        client.applications(),
        client.domain_name_references(domain),
    )?;
    let mut out = Vec::new();
    for u in users {
        let refs = address_refs(
            Some(&u.user_principal_name),
            u.mail.as_deref(),
            &u.proxy_addresses,
            domain,
        );
        if !refs.is_empty() {
            out.push(Entry {
                id: u.id,
                kind: Kind::User,
                display_name: u.display_name.unwrap_or_default(),
                enabled: u.account_enabled,
                synced: Some(u.on_premises_sync_enabled == Some(true)),
                licences: Some(u.assigned_licenses.len()),
                references: refs,
            });
        }
    }
    for g in groups {
        let refs = address_refs(None, g.mail.as_deref(), &g.proxy_addresses, domain);
        if !refs.is_empty() {
            let kind = match g.kind() {
                GroupKind::Distribution => Kind::DistributionGroup,
                GroupKind::Microsoft365 => Kind::Microsoft365Group,
                GroupKind::MailEnabledSecurity => Kind::MailEnabledSecurityGroup,
                GroupKind::Security => Kind::SecurityGroup,
            };
            out.push(Entry {
                id: g.id,
                kind,
                display_name: g.display_name.unwrap_or_default(),
                enabled: None,
                synced: None,
                licences: None,
                references: refs,
            });
        }
    }
    for c in contacts {
        let refs = address_refs(None, c.mail.as_deref(), &c.proxy_addresses, domain);
        if !refs.is_empty() {
            out.push(Entry {
                id: c.id,
                kind: Kind::Contact,
                display_name: c.display_name.unwrap_or_default(),
                enabled: None,
                synced: None,
                licences: None,
                references: refs,
            });
        }
    }
    for a in applications {
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
                id: a.id,
                kind: Kind::Application,
                display_name: a.display_name.unwrap_or_default(),
                enabled: None,
                synced: None,
                licences: None,
                references: refs,
            });
        }
    }
    let known: HashSet<String> = out.iter().map(|e| e.id.to_ascii_lowercase()).collect();
    for r in references {
        if known.contains(&r.id.to_ascii_lowercase()) {
            continue;
        }
        out.push(Entry {
            kind: Kind::Other,
            display_name: r.display_name.unwrap_or_default(),
            enabled: None,
            synced: None,
            licences: None,
            references: vec![Reference {
                how: "domainNameReferences",
                value: r.odata_type.unwrap_or_default(),
            }],
            id: r.id,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
