//! Typed views of the Graph v1.0 resources cutover reads. Field names follow Graph's camelCase
//! JSON; unknown fields are ignored so that new Graph properties never break parsing.

use serde::{Deserialize, Serialize};

/// `GET /organization` → `value[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Organization {
    pub id: String,
    pub display_name: Option<String>,
    pub verified_domains: Vec<VerifiedDomain>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct VerifiedDomain {
    pub name: String,
    pub is_default: bool,
    pub is_initial: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub capabilities: Option<String>,
}

/// `GET /domains/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Domain {
    pub id: String,
    pub authentication_type: Option<String>,
    pub is_default: bool,
    pub is_initial: bool,
    pub is_root: bool,
    pub is_verified: bool,
    pub is_admin_managed: bool,
    pub supported_services: Vec<String>,
    /// Graph's `domainState` (`{operation: "ForceDelete", status: "InProgress", …}` while a
    /// forced removal runs; `null` otherwise).
    pub state: Option<serde_json::Value>,
}

impl Domain {
    /// Whether Graph says a removal of this domain is under way.
    pub fn removal_in_progress(&self) -> bool {
        self.state
            .as_ref()
            .and_then(|s| s.get("operation"))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|op| op.eq_ignore_ascii_case("ForceDelete") || op == "Delete")
    }
}

/// One `domainDnsRecord` subtype (`serviceConfigurationRecords`, `verificationDnsRecords`).
/// The subtype comes from `@odata.type`; the subtype-specific fields are optional here and the
/// [`DomainDnsRecord::value`] method renders whichever applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct DomainDnsRecord {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: Option<String>,
    pub is_optional: bool,
    pub label: String,
    pub record_type: String,
    pub supported_service: Option<String>,
    pub ttl: u32,
    // MX
    pub mail_exchange: Option<String>,
    pub preference: Option<u16>,
    // TXT
    pub text: Option<String>,
    // CNAME
    pub canonical_name: Option<String>,
    // SRV
    pub name_target: Option<String>,
    pub port: Option<u16>,
    pub priority: Option<u16>,
    pub protocol: Option<String>,
    pub service: Option<String>,
    pub weight: Option<u16>,
}

impl DomainDnsRecord {
    /// The record's data in zone-file order (`0 host.` for MX, `100 1 443 host` for SRV).
    pub fn value(&self) -> String {
        match self.record_type.to_ascii_lowercase().as_str() {
            "mx" => format!(
                "{} {}",
                self.preference.unwrap_or(0),
                self.mail_exchange.as_deref().unwrap_or("")
            ),
            "txt" => self.text.clone().unwrap_or_default(),
            "cname" => self.canonical_name.clone().unwrap_or_default(),
            "srv" => format!(
                "{} {} {} {}",
                self.priority.unwrap_or(0),
                self.weight.unwrap_or(0),
                self.port.unwrap_or(0),
                self.name_target.as_deref().unwrap_or("")
            ),
            _ => String::new(),
        }
    }
}

/// A user as selected by cutover (`$select` of the fields below; `proxyAddresses` only comes
/// back when selected).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub id: String,
    pub display_name: Option<String>,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub proxy_addresses: Vec<String>,
    pub account_enabled: Option<bool>,
    pub on_premises_sync_enabled: Option<bool>,
    pub assigned_licenses: Vec<AssignedLicense>,
}

/// One licence assigned to a user (`assignedLicenses`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct AssignedLicense {
    pub sku_id: String,
}

/// A group: distribution (`mailEnabled`, not security, no `Unified`), Microsoft 365
/// (`groupTypes` has `Unified`), mail-enabled security, or plain security.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Group {
    pub id: String,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub mail_enabled: Option<bool>,
    pub security_enabled: Option<bool>,
    pub group_types: Vec<String>,
    pub proxy_addresses: Vec<String>,
}

impl Group {
    pub fn kind(&self) -> GroupKind {
        let unified = self
            .group_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Unified"));
        match (unified, self.mail_enabled, self.security_enabled) {
            (true, _, _) => GroupKind::Microsoft365,
            (false, Some(true), Some(true)) => GroupKind::MailEnabledSecurity,
            (false, Some(true), _) => GroupKind::Distribution,
            _ => GroupKind::Security,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupKind {
    Distribution,
    Microsoft365,
    MailEnabledSecurity,
    Security,
}

/// An entry of `domainNameReferences`: a directoryObject with its `@odata.type`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct DirectoryObjectRef {
    #[serde(rename = "@odata.type")]
    pub odata_type: Option<String>,
    pub id: String,
    pub display_name: Option<String>,
}

/// Does an SMTP-ish address (`SMTP:a@b`, `smtp:a@b`, `a@b`) belong to `domain` (or a subdomain)?
pub fn address_in_domain(address: &str, domain: &str) -> bool {
    let addr = address
        .split_once(':')
        .filter(|(prefix, _)| prefix.eq_ignore_ascii_case("smtp"))
        .map(|(_, rest)| rest)
        .unwrap_or(address);
    match addr.rsplit_once('@') {
        Some((_, host)) => {
            let host = host.trim_end_matches('.');
            let domain = domain.trim_end_matches('.');
            // `get` never splits inside a character of an internationalised host.
            let split = host.len().checked_sub(domain.len());
            host.eq_ignore_ascii_case(domain)
                || split.is_some_and(|i| {
                    host.get(i..)
                        .is_some_and(|t| t.eq_ignore_ascii_case(domain))
                        && host.get(..i).is_some_and(|h| h.ends_with('.'))
                })
        }
        None => false,
    }
}

/// An organizational contact (`/contacts`): mail-enabled, outside the tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct OrgContact {
    pub id: String,
    pub display_name: Option<String>,
    pub mail: Option<String>,
    pub proxy_addresses: Vec<String>,
}

/// An application registration (`/applications`); its identifier URIs can name the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct Application {
    pub id: String,
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub identifier_uris: Vec<String>,
    /// `AzureADMyOrg` (this tenant only), or `AzureADMultipleOrgs` /
    /// `AzureADandPersonalMicrosoftAccount` / `PersonalMicrosoftAccount`: other organisations
    /// sign in to it, and Microsoft refuses to force-delete a domain it references.
    pub sign_in_audience: Option<String>,
    /// `web`: its `redirectUris` are where sign-ins come back (they can name the domain).
    pub web: Option<WebApplication>,
}

/// An application's `web` settings, as far as cutover reads them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct WebApplication {
    pub redirect_uris: Vec<String>,
}

impl Application {
    /// Other organisations (or personal accounts) use it: any audience but this tenant's.
    pub fn multitenant(&self) -> bool {
        self.sign_in_audience
            .as_deref()
            .is_some_and(|a| !a.eq_ignore_ascii_case("AzureADMyOrg"))
    }
}

#[cfg(test)]
mod tests {
    use super::address_in_domain;

    #[test]
    fn addresses_in_a_domain_or_under_it() {
        assert!(address_in_domain(
            "SMTP:a@Contoso.Example",
            "contoso.example"
        ));
        assert!(address_in_domain(
            "a@mail.contoso.example.",
            "contoso.example"
        ));
        assert!(!address_in_domain("a@xcontoso.example", "contoso.example"));
        assert!(!address_in_domain("contoso.example", "contoso.example"));
        // Internationalised hosts: compared without splitting a character.
        assert!(address_in_domain("jürgen@bücher.example", "bücher.example"));
        assert!(address_in_domain("a@é.bücher.example", "bücher.example"));
        assert!(!address_in_domain("a@xbücher.example", "bücher.example"));
        assert!(!address_in_domain("a@é", "contoso.example"));
    }
}
