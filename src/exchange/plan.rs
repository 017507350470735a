//! What has to change in Exchange before a domain can leave a tenant: per recipient, the new
//! primary address (in the tenant's initial `onmicrosoft.com` domain) and the proxy addresses
//! in the domain to remove; per connector, removal or narrowing. Pure functions: the script
//! generator writes these out, an executor would apply them with [`apply_address_change`].

use serde::Serialize;

use super::client::{ExchangeClient, Invoked};
use super::error::ExchangeError;
use super::model::{Connector, Recipient, RecipientKind, in_domain, is_primary, split_prefix};

/// One recipient's planned change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddressChange {
    /// What the cmdlets name it by: its primary SMTP address before the change (an
    /// address stays resolvable until the last command of the change removes it).
    pub identity: String,
    pub display_name: String,
    pub kind: RecipientKind,
    pub recipient_type_details: String,
    /// The new primary address, when the current one is in the domain.
    pub new_primary: Option<String>,
    /// Proxy addresses (with prefix) in the domain, the old primary's included.
    pub remove: Vec<String>,
}

/// The change for one recipient, or `None` when it holds nothing in `domain`.
pub fn plan_recipient(r: &Recipient, domain: &str, initial_domain: &str) -> Option<AddressChange> {
    let mut remove: Vec<String> = r
        .email_addresses
        .iter()
        .filter(|a| in_domain(a, domain))
        .map(|a| {
            // The old primary becomes `smtp:` once another address is primary.
            if is_primary(a) {
                format!("smtp:{}", split_prefix(a).1)
            } else {
                a.clone()
            }
        })
        .collect();
    let primary = if r.primary_smtp_address.is_empty() {
        r.email_addresses
            .iter()
            .find(|a| is_primary(a))
            .map(|a| split_prefix(a).1.to_string())
            .unwrap_or_default()
    } else {
        r.primary_smtp_address.clone()
    };
    let new_primary = in_domain(&primary, domain).then(|| {
        let local = primary.rsplit_once('@').map(|(l, _)| l).unwrap_or(&primary);
        let wanted = format!("{local}@{initial_domain}");
        let existing: Vec<&str> = r
            .email_addresses
            .iter()
            .filter(|a| in_domain(a, initial_domain))
            .map(|a| split_prefix(a).1)
            .collect();
        // Prefer the address with the same local part, then any existing one in the initial
        // domain, then the same local part new.
        existing
            .iter()
            .find(|a| a.eq_ignore_ascii_case(&wanted))
            .or(existing.first())
            .map(|a| a.to_string())
            .unwrap_or(wanted)
    });
    if in_domain(&primary, domain)
        && !remove
            .iter()
            .any(|a| split_prefix(a).1.eq_ignore_ascii_case(&primary))
    {
        remove.push(format!("smtp:{primary}"));
    }
    if remove.is_empty() && new_primary.is_none() {
        return None;
    }
    Some(AddressChange {
        identity: if primary.is_empty() {
            r.identity.clone()
        } else {
            primary
        },
        display_name: r.display_name.clone(),
        kind: r.kind(),
        recipient_type_details: r.recipient_type_details.clone(),
        new_primary,
        remove,
    })
}

/// Every recipient's change, in the order given.
pub fn plan_recipients(
    recipients: &[Recipient],
    domain: &str,
    initial_domain: &str,
) -> Vec<AddressChange> {
    recipients
        .iter()
        .filter_map(|r| plan_recipient(r, domain, initial_domain))
        .collect()
}

/// What to do with a connector that references the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", content = "keep", rename_all = "snake_case")]
pub enum ConnectorAction {
    /// It exists only for the domain.
    Remove,
    /// It also serves other domains: keep those (sender or recipient domains), and review
    /// smart hosts and TLS names by hand.
    Narrow(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorChange {
    pub connector: Connector,
    /// How it references the domain (`SenderDomains contoso.com`, …).
    pub references: Vec<String>,
    pub action: ConnectorAction,
}

pub fn plan_connectors(connectors: &[Connector], domain: &str) -> Vec<ConnectorChange> {
    connectors
        .iter()
        .filter_map(|c| {
            let references = c.references(domain);
            if references.is_empty() {
                return None;
            }
            let others = c.other_domains(domain);
            let action = if others.is_empty() {
                ConnectorAction::Remove
            } else {
                ConnectorAction::Narrow(others)
            };
            Some(ConnectorChange {
                connector: c.clone(),
                references,
                action,
            })
        })
        .collect()
}

/// Apply one recipient's change: the new primary first (Exchange refuses to drop the primary
/// without a replacement), then one removal of every address in the domain. Returns each call's
/// result for the journal. Not idempotent by itself: the executor checks the live state first.
pub async fn apply_address_change(
    client: &ExchangeClient,
    change: &AddressChange,
) -> Result<Vec<Invoked>, ExchangeError> {
    let mut done = Vec::new();
    if let Some(primary) = &change.new_primary {
        done.push(
            client
                .set_primary(change.kind, &change.identity, primary)
                .await?,
        );
    }
    if !change.remove.is_empty() {
        done.push(
            client
                .change_addresses(change.kind, &change.identity, &[], &change.remove)
                .await?,
        );
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(addresses: &[&str]) -> Recipient {
        Recipient {
            identity: "Anna".into(),
            display_name: "Anna".into(),
            recipient_type_details: "UserMailbox".into(),
            primary_smtp_address: String::new(),
            email_addresses: addresses.iter().map(|s| s.to_string()).collect(),
            external_directory_object_id: None,
        }
    }

    #[test]
    fn primary_moves_to_the_initial_domain() {
        let r = mailbox(&[
            "SMTP:anna@contoso.example",
            "smtp:ab@contoso.example",
            "smtp:anna@fab.onmicrosoft.com",
            "SIP:anna@contoso.example",
        ]);
        let c = plan_recipient(&r, "contoso.example", "fab.onmicrosoft.com").expect("change");
        assert_eq!(c.identity, "anna@contoso.example");
        assert_eq!(c.new_primary.as_deref(), Some("anna@fab.onmicrosoft.com"));
        assert_eq!(
            c.remove,
            [
                "smtp:anna@contoso.example",
                "smtp:ab@contoso.example",
                "SIP:anna@contoso.example"
            ]
        );
    }

    #[test]
    fn secondary_only_and_untouched() {
        let r = mailbox(&["SMTP:anna@other.example", "smtp:anna@contoso.example"]);
        let c = plan_recipient(&r, "contoso.example", "fab.onmicrosoft.com").expect("change");
        assert_eq!(c.new_primary, None);
        assert_eq!(c.remove, ["smtp:anna@contoso.example"]);
        let r = mailbox(&["SMTP:anna@other.example"]);
        assert!(plan_recipient(&r, "contoso.example", "fab.onmicrosoft.com").is_none());
    }
}
