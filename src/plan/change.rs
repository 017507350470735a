//! One planned change: what object, which field, from what to what, how it is applied, how it
//! is undone (or that it cannot be, said before it is made), what must come first and which
//! Microsoft rule it satisfies. Plans are JSON files of these (`docs/executor.md`).
//!
//! `before` and `after` describe only what the change touches, so the executor can tell from a
//! fresh read of the object whether the change is already in effect:
//! - field [`FIELD_ADDRESSES`] (Exchange `EmailAddresses`): `before` and `after` are lists of
//!   proxy addresses (with prefix); the change holds when every address of `after` is present
//!   and every address of `before` that is not in `after` is absent (a removal is
//!   `["smtp:a@contoso.com"] → []`).
//! - field [`FIELD_PRIMARY`] (primary SMTP address): strings; holds when the primary is `after`.
//! - field [`FIELD_UPN`] (Graph `userPrincipalName`, target = the user's object id): strings;
//!   holds when the user's UPN is `after` (compared without case).
//! - field [`FIELD_DOMAIN`] (target = the domain name): `before` the name, `after` `null`
//!   (removed); holds when `GET /domains/{id}` answers 404 or shows a removal under way.
//! - field [`FIELD_DEFAULT_DOMAIN`] (target = the domain to make default): `before` the old
//!   default, `after` this domain; holds when this domain is the default.
//! - field [`FIELD_RRSET`] (target = the owner name, tenant [`DNS_TENANT`]): `before` and
//!   `after` are [`RrSet`]s (`{"ttl": …, "values": […]}`, values in presentation format, TXT
//!   values unquoted); holds when the zone's authoritative servers answer exactly `after`'s
//!   values (in any order) with `after`'s TTL; `after.values == []` means the set is deleted.
//! - field [`FIELD_GRANT`] (Graph, target = the grant's id): one side the grant
//!   (`{id, clientId, consentType, principalId, resourceId, scope}`), the other `null`
//!   (revoked); holds when `GET /oauth2PermissionGrants?$filter=clientId eq '…'` shows a grant
//!   of the same client, consent type, principal and resource (with every scope of `after`),
//!   or none when `after` is `null`.
//! - field [`FIELD_APP_ROLE`] (Graph, target = the assignment's id): one side the assignment
//!   (`{id, principalId, resourceId, appRoleId}`), the other `null` (removed); holds when
//!   `GET /servicePrincipals/{principalId}/appRoleAssignments` shows an assignment of that
//!   role on that resource, or none when `after` is `null` (a principal gone counts as none).
//! - field [`FIELD_SERVICE_PRINCIPAL`] (Graph, target = its object id): one side
//!   `{id, appId, displayName}`, the other `null` (deleted); holds when
//!   `GET /servicePrincipals/{id}` answers (restored) or 404 (deleted).
//! - field [`FIELD_CONNECTOR`] (Exchange, target = the connector's name): one side
//!   `{direction, params}` (`inbound`/`outbound` and the `New-…Connector` parameters that
//!   recreate it), the other `null` (removed); holds when `Get-InboundConnector` /
//!   `Get-OutboundConnector -Identity <name>` finds it, or answers not found.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Exchange proxy addresses (`-EmailAddresses`).
pub const FIELD_ADDRESSES: &str = "EmailAddresses";
/// Exchange primary SMTP address.
pub const FIELD_PRIMARY: &str = "PrimarySmtpAddress";
/// Graph `userPrincipalName` of a user.
pub const FIELD_UPN: &str = "userPrincipalName";
/// A domain's presence in the tenant (removal).
pub const FIELD_DOMAIN: &str = "domain";
/// Which domain is the tenant's default.
pub const FIELD_DEFAULT_DOMAIN: &str = "defaultDomain";

/// A domain's presence in the tenant (adding): `before` `null`, `after` the name; holds when
/// `GET /domains/{id}` answers.
pub const FIELD_DOMAIN_ADDED: &str = "domainAdded";
/// A domain's verification: `before` `false`, `after` `true`; holds when `isVerified`.
pub const FIELD_DOMAIN_VERIFIED: &str = "domainVerified";
/// Another tenant's release of the domain, waited for: `before` the name, `after` `null`;
/// holds only when `GET /domains/{id}` answers 404 there (a removal under way is not enough:
/// Microsoft refuses the add until it is done). Not a write: the executor polls it.
pub const FIELD_DOMAIN_RELEASED: &str = "domainReleased";

/// An application's identifier URIs (Graph, target = the application's object id): `before`
/// and `after` are the whole lists; holds when the live list has the same URIs as `after`
/// (in any order, without case).
pub const FIELD_IDENTIFIER_URIS: &str = "identifierUris";

/// Exchange's DKIM signing for a domain (target = the domain): `before`/`after` booleans;
/// holds when `Get-DkimSigningConfig -Identity <domain>` shows `Enabled` = `after`.
pub const FIELD_DKIM: &str = "dkimSigningEnabled";
/// Exchange's DKIM signing config for a domain (target = the domain): `before` `null`,
/// `after` the domain (created) or the other way (removed); holds when
/// `Get-DkimSigningConfig -Identity <domain>` finds it (created) or answers not found (removed).
pub const FIELD_DKIM_CONFIG: &str = "dkimSigningConfig";

/// A delegated permission grant (`oauth2PermissionGrant`) revoked or put back.
pub const FIELD_GRANT: &str = "oauth2PermissionGrant";
/// An application permission (`appRoleAssignment`) removed or put back.
pub const FIELD_APP_ROLE: &str = "appRoleAssignment";
/// A service principal deleted (soft: restorable for 30 days) or restored.
pub const FIELD_SERVICE_PRINCIPAL: &str = "servicePrincipal";
/// An Exchange inbound or outbound connector removed or created.
pub const FIELD_CONNECTOR: &str = "connector";

/// A DNS record set, replaced whole (RFC 2136 update or instructions for the DNS host).
pub const FIELD_RRSET: &str = "rrset";
/// The `tenant` label of DNS changes: the zone belongs to neither tenant.
pub const DNS_TENANT: &str = "dns";

/// Why a domain removal has no inverse.
pub const NO_INVERSE_DOMAIN_REMOVAL: &str = "a removed domain must be added and verified again (a new TXT record in its DNS), which is an adopt, not an undo";

/// The object a change is made to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// What the route names it by (Entra object id, Exchange identity, DNS name).
    pub id: String,
    /// What a person reads (display name, address).
    pub display: String,
}

/// How a change reaches the service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Route {
    /// A Microsoft Graph request (`PATCH /v1.0/users/{id}`, `DELETE /v1.0/domains/{id}`).
    Graph {
        method: String,
        path: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<Value>,
    },
    /// An Exchange Online cmdlet over the admin endpoint (`Set-Mailbox -EmailAddresses @{…}`).
    Exchange { cmdlet: String, params: Value },
    /// A DNS record set replaced (RFC 2136 update or instructions for the DNS host): the set
    /// `name`/`rtype` in `zone` becomes exactly `values` with `ttl` (no values: deleted).
    Dns {
        zone: String,
        name: String,
        rtype: String,
        values: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl: Option<u32>,
    },
    /// Only a person can do it; the exact steps.
    Manual { instructions: String },
}

impl Route {
    /// Short name for journals and errors.
    pub fn kind(&self) -> &'static str {
        match self {
            Route::Graph { .. } => "graph",
            Route::Exchange { .. } => "exchange",
            Route::Dns { .. } => "dns",
            Route::Manual { .. } => "manual",
        }
    }
}

/// How a change is backed out, said up front.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "inverse", rename_all = "snake_case")]
pub enum Inverse {
    /// Apply `route` to bring the field back from `after` to `before`.
    Apply { route: Route },
    /// Cannot be undone, and why (e.g. a deleted domain's verification is lost).
    None { why: String },
}

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Stable id: [`change_id`] of tenant, target, field, before and after.
    pub id: String,
    /// "source" or "destination".
    pub tenant: String,
    pub target: Target,
    pub field: String,
    pub before: Value,
    pub after: Value,
    pub route: Route,
    pub inverse: Inverse,
    /// Ids of changes that must be applied first.
    #[serde(default)]
    pub prerequisites: Vec<String>,
    /// The Microsoft rule this change satisfies, in words.
    pub rule: String,
}

/// The first 16 hex digits of SHA-256 over tenant, target id, field, before and after (each
/// followed by a NUL, values as compact JSON): the same change planned twice gets the same id,
/// so a resumed run finds its journal lines. `before` is included because a removal's `after`
/// alone (`[]`) does not say which address goes.
pub fn change_id(
    tenant: &str,
    target_id: &str,
    field: &str,
    before: &Value,
    after: &Value,
) -> String {
    let mut bytes = Vec::new();
    for part in [
        tenant.to_string(),
        target_id.to_string(),
        field.to_string(),
        before.to_string(),
        after.to_string(),
    ] {
        bytes.extend_from_slice(part.as_bytes());
        bytes.push(0);
    }
    let hex = crate::audit::sha256_hex(&bytes);
    hex.chars().take(16).collect()
}

impl Change {
    /// A change with no prerequisites; its id is [`change_id`] of what it is.
    pub fn new(
        tenant: &str,
        target: Target,
        field: &str,
        (before, after): (Value, Value),
        (route, inverse): (Route, Inverse),
        rule: &str,
    ) -> Change {
        Change {
            id: change_id(tenant, &target.id, field, &before, &after),
            tenant: tenant.to_string(),
            target,
            field: field.to_string(),
            before,
            after,
            route,
            inverse,
            prerequisites: Vec::new(),
            rule: rule.to_string(),
        }
    }

    /// Removing proxy addresses from one Exchange recipient with its `Set-…` cmdlet
    /// (`Set-Mailbox`, `Set-DistributionGroup`, `Set-UnifiedGroup`); the inverse adds them back.
    pub fn remove_addresses(
        tenant: &str,
        cmdlet: &str,
        target: Target,
        addresses: &[String],
    ) -> Change {
        let table = |add: &[String], remove: &[String]| serde_json::json!({"Identity": target.id, "EmailAddresses": crate::exchange::ops::hashtable(add, remove)});
        let before = serde_json::json!(addresses);
        let after = serde_json::json!([]);
        Change {
            id: change_id(tenant, &target.id, FIELD_ADDRESSES, &before, &after),
            tenant: tenant.to_string(),
            field: FIELD_ADDRESSES.to_string(),
            route: Route::Exchange {
                cmdlet: cmdlet.to_string(),
                params: table(&[], addresses),
            },
            inverse: Inverse::Apply {
                route: Route::Exchange {
                    cmdlet: cmdlet.to_string(),
                    params: table(addresses, &[]),
                },
            },
            target,
            before,
            after,
            prerequisites: Vec::new(),
            rule: "A domain cannot be removed from a tenant while any proxy address uses it"
                .to_string(),
        }
    }
}

impl Change {
    /// Move an Exchange recipient's primary SMTP address from `old` to `new` with its `Set-…`
    /// cmdlet: `Set-Mailbox -WindowsEmailAddress` (Exchange Online's way for a mailbox),
    /// `Set-DistributionGroup` / `Set-UnifiedGroup -PrimarySmtpAddress`. Exchange keeps `old`
    /// as an `smtp:` alias. The inverse makes `old` primary again.
    pub fn set_primary(tenant: &str, cmdlet: &str, target: Target, old: &str, new: &str) -> Change {
        let param = if cmdlet.eq_ignore_ascii_case("Set-Mailbox") {
            "WindowsEmailAddress"
        } else {
            "PrimarySmtpAddress"
        };
        let route = |address: &str| Route::Exchange {
            cmdlet: cmdlet.to_string(),
            params: serde_json::json!({"Identity": target.id, param: address}),
        };
        let (before, after) = (Value::from(old), Value::from(new));
        Change {
            id: change_id(tenant, &target.id, FIELD_PRIMARY, &before, &after),
            tenant: tenant.to_string(),
            field: FIELD_PRIMARY.to_string(),
            route: route(new),
            inverse: Inverse::Apply { route: route(old) },
            target,
            before,
            after,
            prerequisites: Vec::new(),
            rule: "A domain cannot be removed from a tenant while any primary SMTP address uses it"
                .to_string(),
        }
    }
}

impl Change {
    /// Turn Exchange's DKIM signing for `domain` on or off (`Set-DkimSigningConfig -Enabled`);
    /// the inverse sets it back. Exchange refuses turning it on before both selector CNAMEs
    /// are published, so a plan orders it after them.
    pub fn set_dkim(tenant: &str, domain: &str, enabled: bool) -> Change {
        let route = |on: bool| Route::Exchange {
            cmdlet: "Set-DkimSigningConfig".to_string(),
            params: serde_json::json!({"Identity": domain, "Enabled": on}),
        };
        let (before, after) = (Value::from(!enabled), Value::from(enabled));
        Change {
            id: change_id(tenant, domain, FIELD_DKIM, &before, &after),
            tenant: tenant.to_string(),
            field: FIELD_DKIM.to_string(),
            route: route(enabled),
            inverse: Inverse::Apply {
                route: route(!enabled),
            },
            target: Target {
                id: domain.to_string(),
                display: domain.to_string(),
            },
            before,
            after,
            prerequisites: Vec::new(),
            rule: "Exchange signs a domain's mail with DKIM only once both selectorN._domainkey CNAMEs it names are published".to_string(),
        }
    }

    /// Create Exchange's DKIM signing config for `domain`, signing off
    /// (`New-DkimSigningConfig -DomainName D -Enabled $false`): Exchange then names the two
    /// selector CNAME targets, which cannot be derived. The inverse removes it
    /// (`Remove-DkimSigningConfig`).
    pub fn new_dkim_config(tenant: &str, domain: &str) -> Change {
        Change::dkim_config(tenant, domain, true)
    }

    /// Remove Exchange's DKIM signing config for `domain` (`Remove-DkimSigningConfig`); the
    /// inverse creates it again, signing off.
    pub fn remove_dkim_config(tenant: &str, domain: &str) -> Change {
        Change::dkim_config(tenant, domain, false)
    }

    fn dkim_config(tenant: &str, domain: &str, create: bool) -> Change {
        let new = Route::Exchange {
            cmdlet: "New-DkimSigningConfig".to_string(),
            params: serde_json::json!({"DomainName": domain, "Enabled": false}),
        };
        let remove = Route::Exchange {
            cmdlet: "Remove-DkimSigningConfig".to_string(),
            params: serde_json::json!({"Identity": domain, "Confirm": false}),
        };
        let (route, inverse, before, after) = if create {
            (new, remove, Value::Null, Value::from(domain))
        } else {
            (remove, new, Value::from(domain), Value::Null)
        };
        Change {
            id: change_id(tenant, domain, FIELD_DKIM_CONFIG, &before, &after),
            tenant: tenant.to_string(),
            field: FIELD_DKIM_CONFIG.to_string(),
            route,
            inverse: Inverse::Apply { route: inverse },
            target: Target {
                id: domain.to_string(),
                display: domain.to_string(),
            },
            before,
            after,
            prerequisites: Vec::new(),
            rule: "Exchange names a domain's DKIM selector CNAME targets only in its signing config, which it creates only for a verified (accepted) domain".to_string(),
        }
    }

    fn graph(
        tenant: &str,
        target: Target,
        field: &str,
        (before, after): (Value, Value),
        route: Route,
        inverse: Inverse,
        rule: &str,
    ) -> Change {
        Change::new(
            tenant,
            target,
            field,
            (before, after),
            (route, inverse),
            rule,
        )
    }

    /// A user's UPN from `old` to `new` (`PATCH /v1.0/users/{id}`); the inverse sets `old`
    /// back. `user` is the Entra object id, `display` what a person reads.
    pub fn set_upn(tenant: &str, user: &str, display: &str, old: &str, new: &str) -> Change {
        let patch = |upn: &str| Route::Graph {
            method: "PATCH".into(),
            path: format!("/v1.0/users/{}", crate::graph::client::encode(user)),
            body: Some(serde_json::json!({ "userPrincipalName": upn })),
        };
        Change::graph(
            tenant,
            Target {
                id: user.to_string(),
                display: display.to_string(),
            },
            FIELD_UPN,
            (Value::from(old), Value::from(new)),
            patch(new),
            Inverse::Apply { route: patch(old) },
            "A domain cannot be removed while a user's sign-in name (UPN) is in it",
        )
    }

    /// Remove an unreferenced domain (`DELETE /v1.0/domains/{id}`). No inverse.
    pub fn remove_domain(tenant: &str, domain: &str) -> Change {
        Change::graph(
            tenant,
            Target {
                id: domain.to_string(),
                display: domain.to_string(),
            },
            FIELD_DOMAIN,
            (Value::from(domain), Value::Null),
            Route::Graph {
                method: "DELETE".into(),
                path: format!("/v1.0/domains/{}", crate::graph::client::encode(domain)),
                body: None,
            },
            Inverse::None {
                why: NO_INVERSE_DOMAIN_REMOVAL.into(),
            },
            "A domain can be verified in one tenant only: the source must release it before the destination can add it",
        )
    }

    /// Force-remove a domain (`POST /v1.0/domains/{id}/forceDelete`), renaming what references
    /// it to the initial domain. `disableUserAccounts` is always said explicitly: Graph's
    /// default (`true`) would disable every renamed user. No inverse.
    pub fn force_delete_domain(tenant: &str, domain: &str, disable_user_accounts: bool) -> Change {
        let mut c = Change::remove_domain(tenant, domain);
        c.route = Route::Graph {
            method: "POST".into(),
            path: format!(
                "/v1.0/domains/{}/forceDelete",
                crate::graph::client::encode(domain)
            ),
            body: Some(serde_json::json!({ "disableUserAccounts": disable_user_accounts })),
        };
        // Another route, another change: the id must not match a plain removal's.
        c.id = change_id(
            tenant,
            &format!("{domain}/forceDelete"),
            FIELD_DOMAIN,
            &c.before,
            &c.after,
        );
        c
    }

    /// Make `domain` the tenant's default instead of `previous`
    /// (`PATCH /v1.0/domains/{id}` `{"isDefault": true}`); the inverse makes `previous` default
    /// again.
    pub fn set_default_domain(tenant: &str, domain: &str, previous: &str) -> Change {
        let make = |d: &str| Route::Graph {
            method: "PATCH".into(),
            path: format!("/v1.0/domains/{}", crate::graph::client::encode(d)),
            body: Some(serde_json::json!({ "isDefault": true })),
        };
        Change::graph(
            tenant,
            Target {
                id: domain.to_string(),
                display: domain.to_string(),
            },
            FIELD_DEFAULT_DOMAIN,
            (Value::from(previous), Value::from(domain)),
            make(domain),
            Inverse::Apply {
                route: make(previous),
            },
            "The default domain cannot be removed: another domain must be the default first",
        )
    }
}

impl Change {
    /// Add `domain` to the tenant, unverified (`POST /v1.0/domains` `{"id": domain}`);
    /// Microsoft refuses while another tenant has it verified. The inverse deletes it again.
    pub fn add_domain(tenant: &str, domain: &str) -> Change {
        Change::graph(
            tenant,
            Target {
                id: domain.to_string(),
                display: domain.to_string(),
            },
            FIELD_DOMAIN_ADDED,
            (Value::Null, Value::from(domain)),
            Route::Graph {
                method: "POST".into(),
                path: "/v1.0/domains".into(),
                body: Some(serde_json::json!({ "id": domain })),
            },
            Inverse::Apply {
                route: Route::Graph {
                    method: "DELETE".into(),
                    path: format!("/v1.0/domains/{}", crate::graph::client::encode(domain)),
                    body: None,
                },
            },
            "A domain is added to a tenant before it can be verified, and only once no other tenant has it verified",
        )
    }

    /// Verify `domain` (`POST /v1.0/domains/{id}/verify`); Microsoft checks its `MS=ms…` TXT
    /// at the domain's DNS. No inverse of its own: the add's inverse removes the domain.
    pub fn verify_domain(tenant: &str, domain: &str) -> Change {
        Change::graph(
            tenant,
            Target {
                id: domain.to_string(),
                display: domain.to_string(),
            },
            FIELD_DOMAIN_VERIFIED,
            (Value::Bool(false), Value::Bool(true)),
            Route::Graph {
                method: "POST".into(),
                path: format!(
                    "/v1.0/domains/{}/verify",
                    crate::graph::client::encode(domain)
                ),
                body: None,
            },
            Inverse::None {
                why: "verification is undone by removing the domain (the inverse of adding it)"
                    .into(),
            },
            "A domain is verified by the TXT record Microsoft names, served by the domain's own DNS; UPNs and addresses can only use a verified domain",
        )
    }

    /// Wait until `tenant` (the one releasing it) no longer has `domain`: a read
    /// (`GET /v1.0/domains/{id}` answering 404) the executor polls, not a write. No inverse.
    pub fn await_release(tenant: &str, domain: &str) -> Change {
        Change::graph(
            tenant,
            Target {
                id: domain.to_string(),
                display: domain.to_string(),
            },
            FIELD_DOMAIN_RELEASED,
            (Value::from(domain), Value::Null),
            Route::Graph {
                method: "GET".into(),
                path: format!("/v1.0/domains/{}", crate::graph::client::encode(domain)),
                body: None,
            },
            Inverse::None {
                why: "waiting changes nothing".into(),
            },
            "Domain removal is asynchronous (minutes to a day): the destination can add the domain only once the source answers 404 for it",
        )
    }

    /// Add proxy addresses (with prefix) to one Exchange recipient with its `Set-…` cmdlet;
    /// the inverse removes them ([`Change::remove_addresses`] the other way round).
    pub fn add_addresses(
        tenant: &str,
        cmdlet: &str,
        target: Target,
        addresses: &[String],
        rule: &str,
    ) -> Change {
        let table = |add: &[String], remove: &[String]| serde_json::json!({"Identity": target.id, "EmailAddresses": crate::exchange::ops::hashtable(add, remove)});
        let route = |params| Route::Exchange {
            cmdlet: cmdlet.to_string(),
            params,
        };
        let before = serde_json::json!([]);
        let after = serde_json::json!(addresses);
        Change {
            id: change_id(tenant, &target.id, FIELD_ADDRESSES, &before, &after),
            tenant: tenant.to_string(),
            field: FIELD_ADDRESSES.to_string(),
            route: route(table(addresses, &[])),
            inverse: Inverse::Apply {
                route: route(table(&[], addresses)),
            },
            target,
            before,
            after,
            prerequisites: Vec::new(),
            rule: rule.to_string(),
        }
    }
}

impl Change {
    /// Replace an application's identifier URIs `old` by `new`
    /// (`PATCH /v1.0/applications/{id}` `{"identifierUris": new}`, Application.ReadWrite.All);
    /// the inverse puts `old` back (which needs its domains verified in the tenant again).
    /// `app` is the application's object id, not its appId.
    pub fn set_identifier_uris(
        tenant: &str,
        app: &str,
        display: &str,
        old: &[String],
        new: &[String],
    ) -> Change {
        let patch = |uris: &[String]| Route::Graph {
            method: "PATCH".into(),
            path: format!("/v1.0/applications/{}", crate::graph::client::encode(app)),
            body: Some(serde_json::json!({ "identifierUris": uris })),
        };
        Change::graph(
            tenant,
            Target {
                id: app.to_string(),
                display: display.to_string(),
            },
            FIELD_IDENTIFIER_URIS,
            (serde_json::json!(old), serde_json::json!(new)),
            patch(new),
            Inverse::Apply { route: patch(old) },
            "A domain cannot be removed while an application's identifier URI uses it",
        )
    }
}

/// Whether the live identifier URIs are `after`'s (same URIs, any order, without case).
pub fn identifier_uris_hold(change: &Change, live: &[String]) -> bool {
    let set = |v: &mut dyn Iterator<Item = &str>| {
        v.map(str::to_ascii_lowercase)
            .collect::<std::collections::BTreeSet<String>>()
    };
    let want = change
        .after
        .as_array()
        .map(|a| set(&mut a.iter().filter_map(Value::as_str)));
    want.is_some_and(|w| w == set(&mut live.iter().map(String::as_str)))
}

/// One DNS record set: what a [`FIELD_RRSET`] change's `before` and `after` hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RrSet {
    pub ttl: u32,
    /// Presentation format (`0 contoso-example.mail.protection.outlook.com.`); TXT unquoted.
    pub values: Vec<String>,
}

impl Change {
    /// Replace the record set `name`/`rtype` in `zone` (`before` as read from the authoritative
    /// servers when planned) by `after`; the inverse puts `before` back. `rule` says why.
    pub fn set_rrset(
        zone: &str,
        name: &str,
        rtype: &str,
        before: &RrSet,
        after: &RrSet,
        rule: &str,
    ) -> Change {
        let route = |set: &RrSet| Route::Dns {
            zone: zone.to_string(),
            name: name.to_string(),
            rtype: rtype.to_string(),
            values: set.values.clone(),
            ttl: Some(set.ttl),
        };
        let (b, a) = (
            serde_json::to_value(before).unwrap_or(Value::Null),
            serde_json::to_value(after).unwrap_or(Value::Null),
        );
        Change {
            id: change_id(DNS_TENANT, &format!("{name} {rtype}"), FIELD_RRSET, &b, &a),
            tenant: DNS_TENANT.to_string(),
            target: Target {
                id: format!("{name} {rtype}"),
                display: format!("{name} {rtype}"),
            },
            field: FIELD_RRSET.to_string(),
            before: b,
            after: a,
            route: route(after),
            inverse: Inverse::Apply {
                route: route(before),
            },
            prerequisites: Vec::new(),
            rule: rule.to_string(),
        }
    }
}

/// The strings of a JSON list (a change's `before`/`after` addresses); anything else: none.
pub fn string_list(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// An address change's two sides: the addresses `before` has and `after` lacks (removed), and
/// those `after` has and `before` lacks (added), each in its listed order.
pub fn address_moves(before: &Value, after: &Value) -> (Vec<String>, Vec<String>) {
    let (was, will) = (string_list(before), string_list(after));
    let removed = was.iter().filter(|a| !will.contains(a)).cloned().collect();
    let added = will.into_iter().filter(|a| !was.contains(a)).collect();
    (removed, added)
}

/// Whether `live` proxy addresses show `change` in effect (see the module notes). `None` when
/// the field is not one the addresses decide.
pub fn addresses_hold(
    change: &Change,
    live_addresses: &[String],
    live_primary: &str,
) -> Option<bool> {
    // Same address type (`SMTP` and `smtp` are one type, primary or not) and same address.
    let key = |a: &str| {
        let (prefix, addr) = crate::exchange::model::split_prefix(a);
        (
            prefix.unwrap_or("smtp").to_ascii_lowercase(),
            addr.to_ascii_lowercase(),
        )
    };
    let has = |a: &str| live_addresses.iter().any(|l| key(l) == key(a));
    match change.field.as_str() {
        FIELD_ADDRESSES => {
            let before = string_list(&change.before);
            let after = string_list(&change.after);
            let gone = before
                .iter()
                .filter(|b| !after.contains(b))
                .all(|b| !has(b));
            Some(gone && after.iter().all(|a| has(a)))
        }
        FIELD_PRIMARY => Some(
            change
                .after
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(live_primary)),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Change {
        Change::remove_addresses(
            "source",
            "Set-Mailbox",
            Target {
                id: "anna@contoso.example".into(),
                display: "Anna".into(),
            },
            &["smtp:ab@contoso.example".to_string()],
        )
    }

    #[test]
    fn json_round_trip_and_stable_id() {
        let c = sample();
        let text = serde_json::to_string_pretty(&vec![c.clone()]).unwrap();
        let back: Vec<Change> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, vec![c.clone()]);
        assert_eq!(c.id.len(), 16);
        assert_eq!(sample().id, c.id, "same change, same id");
        let other = Change::remove_addresses(
            "source",
            "Set-Mailbox",
            c.target.clone(),
            &["smtp:cd@contoso.example".to_string()],
        );
        assert_ne!(other.id, c.id, "another address on the same object");
        assert!(text.contains(r#""via": "exchange""#), "{text}");
        let manual: Route =
            serde_json::from_str(r#"{"via":"manual","instructions":"call the partner"}"#).unwrap();
        assert_eq!(manual.kind(), "manual");
        let none: Inverse = serde_json::from_str(r#"{"inverse":"none","why":"gone"}"#).unwrap();
        assert_eq!(none, Inverse::None { why: "gone".into() });
    }

    #[test]
    fn addresses_decide_whether_a_removal_holds() {
        let c = sample();
        let live = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            addresses_hold(
                &c,
                &live(&["SMTP:anna@contoso.example", "smtp:AB@contoso.example"]),
                ""
            ),
            Some(false)
        );
        assert_eq!(
            addresses_hold(&c, &live(&["SMTP:anna@contoso.example"]), ""),
            Some(true)
        );
    }

    #[test]
    fn graph_changes_say_their_route_inverse_and_read_back_field() {
        let upn = Change::set_upn(
            "source",
            "u1",
            "Anna",
            "anna@contoso.example",
            "anna@contoso.onmicrosoft.com",
        );
        assert_eq!(upn.field, FIELD_UPN);
        let Route::Graph { method, path, body } = &upn.route else {
            panic!("graph");
        };
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("PATCH", "/v1.0/users/u1")
        );
        assert_eq!(
            body.as_ref().unwrap()["userPrincipalName"],
            "anna@contoso.onmicrosoft.com"
        );
        let Inverse::Apply {
            route: Route::Graph { body, .. },
        } = &upn.inverse
        else {
            panic!("inverse");
        };
        assert_eq!(
            body.as_ref().unwrap()["userPrincipalName"],
            "anna@contoso.example"
        );

        let remove = Change::remove_domain("source", "contoso.example");
        let force = Change::force_delete_domain("source", "contoso.example", false);
        assert!(matches!(remove.inverse, Inverse::None { .. }));
        assert!(matches!(force.inverse, Inverse::None { .. }));
        assert_ne!(remove.id, force.id, "two routes, two changes");
        let Route::Graph { path, body, .. } = &force.route else {
            panic!("graph");
        };
        assert!(path.ends_with("/forceDelete"));
        assert_eq!(body.as_ref().unwrap()["disableUserAccounts"], false);
        let text = serde_json::to_string(&vec![upn.clone(), remove, force]).unwrap();
        let back: Vec<Change> = serde_json::from_str(&text).unwrap();
        assert_eq!(back[0], upn);
    }
}
