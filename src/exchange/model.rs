//! Typed views of what Exchange cmdlets return (`Get-Recipient`, `Get-Mailbox`,
//! `Get-InboundConnector`, `Get-OutboundConnector`), and proxy-address helpers. Exchange names
//! properties in PascalCase; unknown properties are ignored.

use serde::{Deserialize, Serialize};

/// A mail recipient as `Get-Recipient` / `Get-Mailbox` describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct Recipient {
    pub identity: String,
    pub display_name: String,
    /// `UserMailbox`, `SharedMailbox`, `MailUniversalDistributionGroup`,
    /// `MailUniversalSecurityGroup`, `GroupMailbox` (Microsoft 365 group), `MailContact`, …
    pub recipient_type_details: String,
    pub primary_smtp_address: String,
    /// Proxy addresses with their prefix: `SMTP:` (primary), `smtp:`, `SIP:`, `X500:` …
    pub email_addresses: Vec<String>,
    /// The Entra ID object id, where Exchange reports it.
    pub external_directory_object_id: Option<String>,
}

/// Which cmdlet family changes a recipient's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientKind {
    /// User and shared mailboxes: `Set-Mailbox`.
    Mailbox,
    /// Distribution and mail-enabled security groups: `Set-DistributionGroup`.
    DistributionGroup,
    /// Microsoft 365 groups: `Set-UnifiedGroup`.
    UnifiedGroup,
    /// Mail contacts and users: `Set-MailContact` / `Set-MailUser`; cutover does not change them.
    Other,
}

impl RecipientKind {
    pub fn from_type_details(details: &str) -> RecipientKind {
        match details {
            "Mailbox" | "UserMailbox" | "SharedMailbox" | "RoomMailbox" | "EquipmentMailbox"
            | "SchedulingMailbox" => RecipientKind::Mailbox,
            "MailUniversalDistributionGroup"
            | "MailUniversalSecurityGroup"
            | "MailNonUniversalGroup"
            | "RoomList" => RecipientKind::DistributionGroup,
            "GroupMailbox" => RecipientKind::UnifiedGroup,
            _ => RecipientKind::Other,
        }
    }

    /// The `Set-…` cmdlet that takes `-EmailAddresses` for this kind.
    pub fn set_cmdlet(self) -> Option<&'static str> {
        match self {
            RecipientKind::Mailbox => Some("Set-Mailbox"),
            RecipientKind::DistributionGroup => Some("Set-DistributionGroup"),
            RecipientKind::UnifiedGroup => Some("Set-UnifiedGroup"),
            RecipientKind::Other => None,
        }
    }

    /// The parameter that makes an address primary. Set-Mailbox uses `WindowsEmailAddress`
    /// (which in Exchange Online also sets the primary SMTP address); the group cmdlets take
    /// `PrimarySmtpAddress`.
    pub fn primary_parameter(self) -> &'static str {
        match self {
            RecipientKind::Mailbox => "WindowsEmailAddress",
            _ => "PrimarySmtpAddress",
        }
    }
}

impl Recipient {
    pub fn kind(&self) -> RecipientKind {
        RecipientKind::from_type_details(&self.recipient_type_details)
    }

    /// Whether any address (primary or proxy) is in exactly `domain`.
    pub fn holds(&self, domain: &str) -> bool {
        in_domain(&self.primary_smtp_address, domain)
            || self.email_addresses.iter().any(|a| in_domain(a, domain))
    }
}

/// `SMTP:a@b` → (`SMTP`, `a@b`); a bare address has no prefix.
pub fn split_prefix(address: &str) -> (Option<&str>, &str) {
    match address.split_once(':') {
        Some((p, rest)) if !p.contains('@') && !p.is_empty() => (Some(p), rest),
        _ => (None, address),
    }
}

/// Is this proxy address the primary SMTP address (prefix `SMTP` in capitals)?
pub fn is_primary(address: &str) -> bool {
    split_prefix(address).0 == Some("SMTP")
}

/// Does an address (`SMTP:a@b`, `sip:a@b`, `a@b`) have exactly `domain` after its `@`?
pub fn in_domain(address: &str, domain: &str) -> bool {
    let (_, addr) = split_prefix(address);
    addr.rsplit_once('@').is_some_and(|(_, host)| {
        host.trim_end_matches('.')
            .eq_ignore_ascii_case(domain.trim_end_matches('.'))
    })
}

/// `Get-InboundConnector`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct InboundConnector {
    pub identity: String,
    pub name: String,
    /// `OnPremises` or `Partner`.
    pub connector_type: String,
    pub enabled: bool,
    /// Seen both as address spaces (`smtp:contoso.com;1`) and as plain domains; the output
    /// format is not documented, so both are matched.
    pub sender_domains: Vec<String>,
    #[serde(rename = "TlsSenderCertificateName")]
    pub tls_sender_certificate_name: Option<String>,
    #[serde(rename = "SenderIPAddresses")]
    pub sender_ip_addresses: Vec<String>,
}

/// `Get-OutboundConnector`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct OutboundConnector {
    pub identity: String,
    pub name: String,
    pub connector_type: String,
    pub enabled: bool,
    pub recipient_domains: Vec<String>,
    pub smart_hosts: Vec<String>,
    pub tls_domain: Option<String>,
    #[serde(rename = "UseMXRecord")]
    pub use_mx_record: bool,
}

/// A connector of either direction, for listings and plans.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "direction", rename_all = "snake_case")]
pub enum Connector {
    Inbound(InboundConnector),
    Outbound(OutboundConnector),
}

impl Connector {
    pub fn name(&self) -> &str {
        match self {
            Connector::Inbound(c) => &c.name,
            Connector::Outbound(c) => &c.name,
        }
    }

    pub fn identity(&self) -> &str {
        let (identity, name) = match self {
            Connector::Inbound(c) => (&c.identity, &c.name),
            Connector::Outbound(c) => (&c.identity, &c.name),
        };
        if identity.is_empty() { name } else { identity }
    }

    pub fn direction(&self) -> &'static str {
        match self {
            Connector::Inbound(_) => "inbound",
            Connector::Outbound(_) => "outbound",
        }
    }

    /// How the connector references `domain` (`SenderDomains contoso.com`, `SmartHosts
    /// mx.contoso.com`, `TlsDomain *.contoso.com`); empty when it does not.
    pub fn references(&self, domain: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |field: &str, value: &str| {
            if host_in_domain(value, domain) {
                out.push(format!("{field} {value}"));
            }
        };
        match self {
            Connector::Inbound(c) => {
                c.sender_domains
                    .iter()
                    .for_each(|d| check("SenderDomains", d));
                if let Some(t) = &c.tls_sender_certificate_name {
                    check("TlsSenderCertificateName", t);
                }
            }
            Connector::Outbound(c) => {
                c.recipient_domains
                    .iter()
                    .for_each(|d| check("RecipientDomains", d));
                c.smart_hosts.iter().for_each(|h| check("SmartHosts", h));
                if let Some(t) = &c.tls_domain {
                    check("TlsDomain", t);
                }
            }
        }
        out
    }

    /// The connector's domain scope (sender or recipient domains) without `domain`; empty
    /// means the connector exists only for `domain` and goes away with it.
    pub fn other_domains(&self, domain: &str) -> Vec<String> {
        let list = match self {
            Connector::Inbound(c) => &c.sender_domains,
            Connector::Outbound(c) => &c.recipient_domains,
        };
        list.iter()
            .filter(|d| !host_in_domain(d, domain))
            .cloned()
            .collect()
    }
}

/// Whether a domain-ish value (`contoso.com`, `*.contoso.com`, `smtp:contoso.com;1`,
/// `mail.contoso.com`) is `domain` or a name under it.
pub fn host_in_domain(value: &str, domain: &str) -> bool {
    let (_, rest) = split_prefix(value.trim());
    let host = rest.split(';').next().unwrap_or(rest);
    let host = host.trim_start_matches("*.").trim_end_matches('.');
    let domain = domain.trim_end_matches('.');
    // `get` never splits inside a character of an internationalised host.
    let split = host.len().checked_sub(domain.len());
    host.eq_ignore_ascii_case(domain)
        || split.is_some_and(|i| {
            host.get(i..)
                .is_some_and(|t| t.eq_ignore_ascii_case(domain))
                && host
                    .get(..i)
                    .is_some_and(|h| h.len() > 1 && h.ends_with('.'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_domains() {
        assert!(is_primary("SMTP:a@contoso.example"));
        assert!(!is_primary("smtp:a@contoso.example"));
        assert!(in_domain("sip:a@Contoso.Example", "contoso.example"));
        assert!(!in_domain("smtp:a@sub.contoso.example", "contoso.example"));
        assert!(host_in_domain("smtp:contoso.example;1", "contoso.example"));
        assert!(host_in_domain("*.contoso.example", "contoso.example"));
        assert!(host_in_domain("mx.contoso.example", "contoso.example"));
        assert!(!host_in_domain("notcontoso.example", "contoso.example"));
        // A multi-byte name never panics on slicing.
        assert!(!host_in_domain("é.example", "contoso.example"));
        assert!(host_in_domain("mx.bücher.example", "bücher.example"));
        assert!(!host_in_domain("xbücher.example", "bücher.example"));
        assert!(!host_in_domain(".bücher.example", "bücher.example"));
        assert!(host_in_domain("BÜCHER.example", "BÜCHER.example"));
    }
}

/// The Exchange view of Graph objects, for admins who grant no Exchange route: mailboxes from
/// users with `mail`, mail-enabled groups by kind, contacts. Graph cannot tell user from
/// shared mailboxes, so both are `Mailbox` here (`Set-Mailbox` serves both).
pub mod from_graph {
    use super::Recipient;
    use crate::graph::model::{Group, GroupKind, OrgContact, User};

    fn primary(mail: &Option<String>, proxies: &[String]) -> String {
        proxies
            .iter()
            .find_map(|p| p.strip_prefix("SMTP:"))
            .map(str::to_string)
            .or_else(|| mail.clone())
            .unwrap_or_default()
    }

    pub fn user(u: &User) -> Option<Recipient> {
        u.mail.as_ref()?;
        Some(Recipient {
            identity: u.user_principal_name.clone(),
            display_name: u.display_name.clone().unwrap_or_default(),
            recipient_type_details: "Mailbox".into(),
            primary_smtp_address: primary(&u.mail, &u.proxy_addresses),
            email_addresses: u.proxy_addresses.clone(),
            external_directory_object_id: Some(u.id.clone()),
        })
    }

    pub fn group(g: &Group) -> Option<Recipient> {
        let details = match g.kind() {
            GroupKind::Distribution => "MailUniversalDistributionGroup",
            GroupKind::MailEnabledSecurity => "MailUniversalSecurityGroup",
            GroupKind::Microsoft365 => "GroupMailbox",
            GroupKind::Security => return None,
        };
        g.mail.as_ref()?;
        Some(Recipient {
            identity: g.id.clone(),
            display_name: g.display_name.clone().unwrap_or_default(),
            recipient_type_details: details.into(),
            primary_smtp_address: primary(&g.mail, &g.proxy_addresses),
            email_addresses: g.proxy_addresses.clone(),
            external_directory_object_id: Some(g.id.clone()),
        })
    }

    pub fn contact(c: &OrgContact) -> Option<Recipient> {
        c.mail.as_ref()?;
        Some(Recipient {
            identity: c.id.clone(),
            display_name: c.display_name.clone().unwrap_or_default(),
            recipient_type_details: "MailContact".into(),
            primary_smtp_address: c.mail.clone().unwrap_or_default(),
            email_addresses: c.proxy_addresses.clone(),
            external_directory_object_id: Some(c.id.clone()),
        })
    }
}
