//! Connections and access: what is connected to a tenant and reaches the domain's mail or
//! directory. One reading ([`read`]) serves `cutover access`, `cutover plan access` and the
//! future Connections pane:
//! - Exchange inbound and outbound connectors (`Get-InboundConnector`,
//!   `Get-OutboundConnector`), with whether they name the domain;
//! - service principals holding delegated grants (`GET /oauth2PermissionGrants`) or
//!   application permissions (`GET /servicePrincipals/{id}/appRoleAssignedTo` on Microsoft Graph
//!   and Office 365 Exchange Online) to mail, calendars, contacts or the directory;
//! - application registrations whose identifier URIs or `web.redirectUris` use the domain
//!   (the inventory's own applications read).
//!
//! Graph v1.0 does not say when a delegated grant was consented, nor when a service principal
//! last signed in (beta only); the inventory says so instead of showing a time.
//! [`plan`] turns the inventory into changes for `cutover apply` (`changes`).

pub mod changes;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::exchange::plan::{ConnectorAction, plan_connectors};
use crate::exchange::{Connector, ExchangeClient, ExchangeError};
use crate::graph::access::{AppRoleAssignment, EXCHANGE_APP_ID, GRAPH_APP_ID, ServicePrincipal};
use crate::graph::{GraphClient, GraphError};
use crate::plan::change::{Change, Target};

/// What Graph v1.0 does not offer, said in the inventory.
pub const NO_CONSENT_TIME: &str =
    "not offered by Graph v1.0 (an oauth2PermissionGrant has no consent time)";
pub const NO_LAST_SIGN_IN: &str = "not offered by Graph v1.0 (servicePrincipalSignInActivities is beta only, with AuditLog.Read.All)";

/// Permission name prefixes that reach mailbox content or mail sending.
const MAIL_PREFIXES: &[&str] = &[
    "Mail.",
    "MailboxSettings.",
    "MailboxItem.",
    "MailboxFolder.",
    "full_access_as_app",
    "full_access_as_user",
    "EWS.",
    "IMAP.",
    "POP.",
    "SMTP.",
    "Exchange.",
];

/// Permissions that reach mail, calendars, contacts or the directory.
pub fn sensitive(permission: &str) -> bool {
    const OTHER_PREFIXES: &[&str] = &[
        "Calendars.",
        "Contacts.",
        "Directory.",
        "User.Read.All",
        "User.ReadWrite.All",
        "User.ReadBasic.All",
        "Group.",
        "People.",
    ];
    mail_permission(permission) || starts_with_any(permission, OTHER_PREFIXES)
}

/// One connector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorEntry {
    pub name: String,
    /// `inbound` or `outbound`.
    pub direction: &'static str,
    pub connector_type: String,
    pub enabled: bool,
    /// Sender domains (inbound) or recipient domains (outbound).
    pub domains: Vec<String>,
    pub smart_hosts: Vec<String>,
    pub sender_ip_addresses: Vec<String>,
    /// `TlsSenderCertificateName` (inbound) or `TlsDomain` (outbound).
    pub tls: Option<String>,
    pub names_domain: bool,
    /// How it names the domain (`SenderDomains contoso.com`, …).
    pub references: Vec<String>,
    /// `remove` (it exists only for the domain), `narrow` (it serves other domains too: a
    /// person edits it) or `none`.
    pub action: &'static str,
    #[serde(skip)]
    pub connector: Connector,
}

/// Who a delegated grant is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "consent", rename_all = "snake_case")]
pub enum Consent {
    /// An admin consented for every user (`AllPrincipals`).
    AllUsers,
    /// One person consented (`Principal`): their UPN when it could be read, else the id.
    User { principal_id: String, user: String },
}

/// A delegated grant on one API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DelegatedEntry {
    pub grant_id: String,
    /// The API (resource service principal) it is granted on.
    pub resource: String,
    pub resource_id: String,
    pub scopes: Vec<String>,
    #[serde(flatten)]
    pub consent: Consent,
    pub consent_type: String,
    /// Always [`NO_CONSENT_TIME`]: said, not invented.
    pub consented: &'static str,
}

/// An application permission on one API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleEntry {
    pub assignment_id: String,
    pub resource: String,
    pub resource_id: String,
    /// The app role's `value` (`Mail.Read`, `full_access_as_app`), or its id when unknown.
    pub permission: String,
    pub app_role_id: String,
    /// When it was granted, as Graph's `createdDateTime` says.
    pub created: Option<String>,
}

/// A service principal that reaches mail, calendars, contacts or the directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppEntry {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub publisher: Option<String>,
    /// The verified publisher's name; `None`: not verified.
    pub verified_publisher: Option<String>,
    pub owner_organization: Option<String>,
    /// `third_party`, `microsoft` (a first-party application) or `own` (registered in this
    /// tenant; `cutover` when it is the registration cutover signs in with).
    pub origin: &'static str,
    pub delegated: Vec<DelegatedEntry>,
    pub application: Vec<RoleEntry>,
    /// Always [`NO_LAST_SIGN_IN`].
    pub last_sign_in: &'static str,
}

/// An application registration whose URIs use the domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationEntry {
    pub id: String,
    pub app_id: Option<String>,
    pub display_name: String,
    pub identifier_uris: Vec<String>,
    pub redirect_uris: Vec<String>,
}

/// A tenant's connections and access, as read now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    pub tenant: String,
    pub domain: String,
    pub connectors: Vec<ConnectorEntry>,
    pub apps: Vec<AppEntry>,
    pub applications: Vec<ApplicationEntry>,
}

/// Why the inventory could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    Graph(#[from] GraphError),
    #[error("{0}")]
    Exchange(#[from] ExchangeError),
}

/// At most this many people's UPNs are read for one-person grants; the rest show their ids.
const MAX_NAMED_USERS: usize = 50;

/// Read the tenant's connections and access (Graph and Exchange, concurrently).
pub async fn read(
    graph: &GraphClient,
    exchange: &ExchangeClient,
    tenant: &str,
    domain: &str,
) -> Result<Inventory, ReadError> {
    let (connectors, sps, grants, applications) = tokio::join!(
        exchange.connectors(),
        graph.service_principals(),
        graph.permission_grants(),
        graph.applications(),
    );
    let (connectors, sps, grants, applications) = (connectors?, sps?, grants?, applications?);
    // Application permissions to mail and the directory are app roles of these two APIs.
    let mut assignments: Vec<AppRoleAssignment> = Vec::new();
    for sp in sps
        .iter()
        .filter(|s| s.app_id == GRAPH_APP_ID || s.app_id == EXCHANGE_APP_ID)
    {
        assignments.extend(graph.app_role_assigned_to(&sp.id).await?);
    }
    let mut users: BTreeMap<String, String> = BTreeMap::new();
    for id in grants
        .iter()
        .filter_map(|g| g.principal_id.as_deref())
        .filter(|p| !p.is_empty())
    {
        if users.len() >= MAX_NAMED_USERS || users.contains_key(id) {
            continue;
        }
        // A person gone (404) or unreadable shows as their id: the grant is what matters.
        let name = graph
            .user_principal_name(id)
            .await
            .map(|(upn, _)| upn)
            .unwrap_or_else(|_| id.to_string());
        users.insert(id.to_string(), name);
    }
    Ok(build(
        tenant,
        domain,
        &connectors,
        &sps,
        &grants,
        &assignments,
        &applications,
        &users,
    ))
}

/// The inventory of connectors alone (Exchange's reading, no Graph): what the script route
/// and `cutover access --wait-connectors-gone` read, with the same rules as [`read`].
pub fn connectors_only(tenant: &str, domain: &str, connectors: &[Connector]) -> Inventory {
    build(
        tenant,
        domain,
        connectors,
        &[],
        &[],
        &[],
        &[],
        &BTreeMap::new(),
    )
}

/// The inventory from what was read (pure: tests and the pane give it data).
#[allow(clippy::too_many_arguments)]
pub fn build(
    tenant: &str,
    domain: &str,
    connectors: &[Connector],
    sps: &[ServicePrincipal],
    grants: &[crate::graph::access::PermissionGrant],
    assignments: &[AppRoleAssignment],
    applications: &[crate::graph::model::Application],
    users: &BTreeMap<String, String>,
) -> Inventory {
    let planned = plan_connectors(connectors, domain);
    let connectors = connectors
        .iter()
        .map(|c| {
            let change = planned.iter().find(|p| &p.connector == c);
            let (domains, smart_hosts, ips, tls, connector_type, enabled) = match c {
                Connector::Inbound(i) => (
                    i.sender_domains.clone(),
                    Vec::new(),
                    i.sender_ip_addresses.clone(),
                    i.tls_sender_certificate_name.clone(),
                    i.connector_type.clone(),
                    i.enabled,
                ),
                Connector::Outbound(o) => (
                    o.recipient_domains.clone(),
                    o.smart_hosts.clone(),
                    Vec::new(),
                    o.tls_domain.clone(),
                    o.connector_type.clone(),
                    o.enabled,
                ),
            };
            ConnectorEntry {
                name: c.name().to_string(),
                direction: c.direction(),
                connector_type,
                enabled,
                domains,
                smart_hosts,
                sender_ip_addresses: ips,
                tls,
                names_domain: change.is_some(),
                references: change.map(|p| p.references.clone()).unwrap_or_default(),
                action: match change.map(|p| &p.action) {
                    Some(ConnectorAction::Remove) => "remove",
                    Some(ConnectorAction::Narrow(_)) => "narrow",
                    None => "none",
                },
                connector: c.clone(),
            }
        })
        .collect();

    let by_id: BTreeMap<String, &ServicePrincipal> =
        sps.iter().map(|s| (s.id.to_ascii_lowercase(), s)).collect();
    let name_of = |id: &str| {
        by_id
            .get(&id.to_ascii_lowercase())
            .and_then(|s| s.display_name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut apps: BTreeMap<String, AppEntry> = BTreeMap::new();
    for g in grants {
        let scopes: Vec<String> = g.scope.split_whitespace().map(str::to_string).collect();
        if !scopes.iter().any(|s| sensitive(s)) {
            continue;
        }
        let consent = match g.principal_id.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Consent::User {
                principal_id: p.to_string(),
                user: users.get(p).cloned().unwrap_or_else(|| p.to_string()),
            },
            None => Consent::AllUsers,
        };
        let resource = name_of(&g.resource_id);
        if let Some(e) = app_entry(&mut apps, &by_id, &g.client_id) {
            e.delegated.push(DelegatedEntry {
                grant_id: g.id.clone(),
                resource,
                resource_id: g.resource_id.clone(),
                scopes,
                consent,
                consent_type: g.consent_type.clone(),
                consented: NO_CONSENT_TIME,
            });
        }
    }
    for a in assignments {
        if a.principal_type
            .as_deref()
            .is_some_and(|t| t != "ServicePrincipal")
        {
            continue;
        }
        let resource_sp = by_id.get(&a.resource_id.to_ascii_lowercase());
        let permission = resource_sp
            .and_then(|r| {
                r.app_roles
                    .iter()
                    .find(|role| role.id.eq_ignore_ascii_case(&a.app_role_id))
            })
            .and_then(|role| role.value.clone())
            .unwrap_or_else(|| a.app_role_id.clone());
        if !sensitive(&permission) {
            continue;
        }
        let resource = a
            .resource_display_name
            .clone()
            .unwrap_or_else(|| name_of(&a.resource_id));
        if let Some(e) = app_entry(&mut apps, &by_id, &a.principal_id) {
            e.application.push(RoleEntry {
                assignment_id: a.id.clone(),
                resource,
                resource_id: a.resource_id.clone(),
                permission,
                app_role_id: a.app_role_id.clone(),
                created: a.created_date_time.clone(),
            });
        }
    }
    let mut apps: Vec<AppEntry> = apps.into_values().collect();
    apps.sort_by(|a, b| {
        a.display_name
            .to_lowercase()
            .cmp(&b.display_name.to_lowercase())
            .then(a.id.cmp(&b.id))
    });

    let applications = applications
        .iter()
        .filter_map(|a| {
            let identifier_uris: Vec<String> = a
                .identifier_uris
                .iter()
                .filter(|u| crate::inventory::uri_in_domain(u, domain))
                .cloned()
                .collect();
            let redirect_uris: Vec<String> = a
                .web
                .iter()
                .flat_map(|w| w.redirect_uris.iter())
                .filter(|u| crate::inventory::uri_in_domain(u, domain))
                .cloned()
                .collect();
            (!identifier_uris.is_empty() || !redirect_uris.is_empty()).then(|| ApplicationEntry {
                id: a.id.clone(),
                app_id: a.app_id.clone(),
                display_name: a.display_name.clone().unwrap_or_else(|| a.id.clone()),
                identifier_uris,
                redirect_uris,
            })
        })
        .collect();

    Inventory {
        tenant: tenant.to_string(),
        domain: domain.to_string(),
        connectors,
        apps,
        applications,
    }
}

/// The tenants that own Microsoft's first-party applications.
const MICROSOFT_TENANTS: &[&str] = &[
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
];

/// The app entry of service principal `id`, made on first use; `None` for an id the service
/// principals read did not show.
fn app_entry<'a>(
    apps: &'a mut BTreeMap<String, AppEntry>,
    by_id: &BTreeMap<String, &ServicePrincipal>,
    id: &str,
) -> Option<&'a mut AppEntry> {
    let key = id.to_ascii_lowercase();
    if !apps.contains_key(&key) {
        let s = by_id.get(&key)?;
        let microsoft = s
            .app_owner_organization_id
            .as_deref()
            .is_some_and(|o| MICROSOFT_TENANTS.iter().any(|m| m.eq_ignore_ascii_case(o)));
        apps.insert(
            key.clone(),
            AppEntry {
                id: s.id.clone(),
                app_id: s.app_id.clone(),
                display_name: s.display_name.clone().unwrap_or_else(|| s.app_id.clone()),
                publisher: s.publisher_name.clone(),
                verified_publisher: s
                    .verified_publisher
                    .as_ref()
                    .and_then(|v| v.display_name.clone()),
                owner_organization: s.app_owner_organization_id.clone(),
                origin: if microsoft {
                    "microsoft"
                } else {
                    "third_party"
                },
                delegated: Vec::new(),
                application: Vec::new(),
                last_sign_in: NO_LAST_SIGN_IN,
            },
        );
    }
    apps.get_mut(&key)
}

impl Inventory {
    /// Mark the apps registered in `tenant_id` as the tenant's own, and the one whose appId
    /// is `client_id` (the registration cutover signs in with) as `cutover`.
    pub fn mark_own(&mut self, tenant_id: &str, client_id: &str) {
        for a in &mut self.apps {
            if a.app_id.eq_ignore_ascii_case(client_id) {
                a.origin = "cutover";
            } else if a
                .owner_organization
                .as_deref()
                .is_some_and(|o| o.eq_ignore_ascii_case(tenant_id))
            {
                a.origin = "own";
            }
        }
    }
}

/// Which changes [`plan`] makes.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Plan connector removals.
    pub connectors: bool,
    /// Plan app changes.
    pub apps: bool,
    /// Only these apps (object id, appId or display name, without case); empty: every listed
    /// third-party app (not Microsoft's, not registered in this tenant).
    pub only: Vec<String>,
    /// Delete the apps' service principals instead of revoking their grants and permissions.
    pub delete: bool,
}

/// A connector or app the plan leaves to a person, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Left {
    pub target: Target,
    pub why: String,
}

/// The access changes: every connector that exists only for the domain removed (one that
/// serves other domains too is left to a person: narrowing it is an edit of its domain list);
/// for each chosen app, every delegated grant revoked and every application permission
/// removed, or (`delete`) its service principal deleted, which takes them with it.
pub fn plan(inv: &Inventory, opts: &PlanOptions) -> (Vec<Change>, Vec<Left>) {
    let mut changes = Vec::new();
    let mut left = Vec::new();
    let tenant = inv.tenant.as_str();
    if opts.connectors {
        for c in inv.connectors.iter().filter(|c| c.names_domain) {
            match c.action {
                "remove" => changes.push(Change::remove_connector(
                    tenant,
                    &changes::connector_value(&c.connector),
                )),
                _ => left.push(Left {
                    target: Target {
                        id: c.name.clone(),
                        display: format!("{} connector {}", c.direction, c.name),
                    },
                    why: format!(
                        "it serves other domains too ({}): remove {} from it by hand",
                        c.domains.join(", "),
                        inv.domain
                    ),
                }),
            }
        }
    }
    if opts.apps {
        let chosen = |a: &AppEntry| {
            if a.origin == "cutover" {
                // Revoking its own permissions would stop cutover half-way.
                return false;
            }
            if opts.only.is_empty() {
                return a.origin == "third_party";
            }
            opts.only.iter().any(|o| {
                o.eq_ignore_ascii_case(&a.id)
                    || o.eq_ignore_ascii_case(&a.app_id)
                    || o.eq_ignore_ascii_case(&a.display_name)
            })
        };
        for a in inv.apps.iter().filter(|a| chosen(a)) {
            if opts.delete {
                changes.push(Change::delete_service_principal(
                    tenant,
                    &changes::service_principal_value(&a.id, &a.app_id, &a.display_name),
                ));
                continue;
            }
            for d in &a.delegated {
                let who = match &d.consent {
                    Consent::AllUsers => "all users".to_string(),
                    Consent::User { user, .. } => user.clone(),
                };
                let principal = match &d.consent {
                    Consent::User { principal_id, .. } => Some(principal_id.as_str()),
                    Consent::AllUsers => None,
                };
                changes.push(Change::revoke_grant(
                    tenant,
                    &format!(
                        "{}: {} on {} for {who}",
                        a.display_name,
                        d.scopes.join(" "),
                        d.resource
                    ),
                    &changes::grant_value(
                        &d.grant_id,
                        &a.id,
                        &d.consent_type,
                        principal,
                        &d.resource_id,
                        &d.scopes.join(" "),
                    ),
                ));
            }
            for r in &a.application {
                changes.push(Change::remove_app_role(
                    tenant,
                    &format!("{}: {} on {}", a.display_name, r.permission, r.resource),
                    &changes::app_role_value(
                        &r.assignment_id,
                        &a.id,
                        &r.resource_id,
                        &r.app_role_id,
                    ),
                ));
            }
        }
        for o in &opts.only {
            let known = inv.apps.iter().any(|a| {
                o.eq_ignore_ascii_case(&a.id)
                    || o.eq_ignore_ascii_case(&a.app_id)
                    || o.eq_ignore_ascii_case(&a.display_name)
            });
            if !known {
                left.push(Left {
                    target: Target {
                        id: o.clone(),
                        display: o.clone(),
                    },
                    why: "no listed application has this id, appId or name".into(),
                });
            }
        }
    }
    (changes, left)
}

/// What an access change does, in words (the start of [`describe`]; the Connections pane's
/// rows say it); `None` for other fields.
pub fn action(c: &Change) -> Option<&'static str> {
    use crate::plan::change::{
        FIELD_APP_ROLE, FIELD_CONNECTOR, FIELD_GRANT, FIELD_SERVICE_PRINCIPAL,
    };
    let gone = c.after.is_null();
    Some(match c.field.as_str() {
        FIELD_GRANT if gone => "revoke the delegated grant",
        FIELD_GRANT => "put the delegated grant back",
        FIELD_APP_ROLE if gone => "remove the application permission",
        FIELD_APP_ROLE => "assign the application permission again",
        FIELD_SERVICE_PRINCIPAL if gone => {
            "delete the service principal (its grants and permissions go with it; Microsoft keeps it restorable for 30 days)"
        }
        FIELD_SERVICE_PRINCIPAL => "restore the service principal from deleted items",
        FIELD_CONNECTOR if gone => {
            "remove the connector (confirmed by reading Get-…Connector until it is gone)"
        }
        FIELD_CONNECTOR => "create the connector again",
        _ => return None,
    })
}

/// An access change in words (route and undo), for plans and previews; `None` for other
/// fields.
pub fn describe(c: &Change) -> Option<String> {
    use crate::plan::change::{Inverse, Route};
    let what = action(c)?;
    let route = match &c.route {
        Route::Graph { method, path, .. } => format!("{method} {path}"),
        Route::Exchange { cmdlet, .. } => cmdlet.clone(),
        other => other.kind().to_string(),
    };
    let undo = match &c.inverse {
        Inverse::Apply {
            route: Route::Graph { method, path, .. },
        } => format!("undo: {method} {path}"),
        Inverse::Apply {
            route: Route::Exchange { cmdlet, .. },
        } => format!("undo: {cmdlet} with the saved settings"),
        Inverse::Apply { route } => format!("undo: {}", route.kind()),
        Inverse::None { why } => format!("no undo: {why}"),
    };
    Some(format!("{what} via {route}; {undo}"))
}

/// The journal action of a review of the applications with mail permissions.
pub const REVIEW_ACTION: &str = "mail apps reviewed";

/// Permissions that reach mailbox content or mail sending (the subset of [`sensitive`] a
/// mail review is about).
pub fn mail_permission(permission: &str) -> bool {
    starts_with_any(permission, MAIL_PREFIXES)
}

impl Inventory {
    /// Connectors that name the domain (`*.connectors_for_domain`).
    pub fn connectors_for_domain(&self) -> usize {
        self.connectors.iter().filter(|c| c.names_domain).count()
    }

    /// Applications holding a mail permission, delegated or application.
    pub fn mail_apps(&self) -> Vec<&AppEntry> {
        self.apps
            .iter()
            .filter(|a| {
                a.application.iter().any(|r| mail_permission(&r.permission))
                    || a.delegated
                        .iter()
                        .any(|d| d.scopes.iter().any(|s| mail_permission(s)))
            })
            .collect()
    }

    /// The journal entry of a review of the current mail apps (`--mark-reviewed`): their
    /// appIds and names in `details.apps`.
    pub fn review_event(&self) -> crate::audit::Event {
        let apps: Vec<serde_json::Value> = self
            .mail_apps()
            .iter()
            .map(|a| serde_json::json!({"app_id": a.app_id, "name": a.display_name}))
            .collect();
        crate::audit::Event::new(crate::audit::Kind::UserAction, REVIEW_ACTION)
            .tenant(self.tenant.clone())
            .target(self.domain.clone())
            .details(serde_json::json!({ "apps": apps }))
    }

    /// The mail apps against the journal's latest review of this tenant: an app whose appId
    /// that review does not list is unreviewed (appIds are the same across tenants and survive
    /// a service principal deleted and restored).
    pub fn mail_apps_review(
        &self,
        records: &[crate::audit::Record],
    ) -> crate::timeline::facts::MailApps {
        let latest = records.iter().rev().find(|r| {
            r.event.kind == crate::audit::Kind::UserAction
                && r.event.action == REVIEW_ACTION
                && r.event.tenant.as_deref() == Some(self.tenant.as_str())
        });
        let reviewed: Vec<String> = latest
            .and_then(|r| r.event.details.get("apps"))
            .and_then(|a| a.as_array())
            .map(|apps| {
                apps.iter()
                    .filter_map(|a| a.get("app_id")?.as_str())
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        let apps = self.mail_apps();
        crate::timeline::facts::MailApps {
            total: apps.len(),
            unreviewed: apps
                .iter()
                .filter(|a| !reviewed.contains(&a.app_id.to_ascii_lowercase()))
                .map(|a| a.display_name.clone())
                .collect(),
            reviewed_at: latest.map(|r| r.ts.clone()),
        }
    }
}

/// Whether `permission` starts with one of `prefixes`, without case (`get` keeps a cut inside a
/// multi-byte character from panicking on a name Graph sent).
fn starts_with_any(permission: &str, prefixes: &[&str]) -> bool {
    prefixes.iter().any(|p| {
        permission
            .get(..p.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mail_calendar_contact_and_directory_permissions_are_sensitive() {
        for p in [
            "Mail.Read",
            "mail.readwrite",
            "Calendars.Read",
            "Contacts.Read",
            "Directory.Read.All",
            "full_access_as_app",
            "User.Read.All",
        ] {
            assert!(sensitive(p), "{p}");
        }
        for p in ["User.Read", "offline_access", "openid", "Files.Read", "M"] {
            assert!(!sensitive(p), "{p}");
        }
    }
}
