//! Enterprise applications in the rehearsal: service principals, their delegated permission
//! grants (`oauth2PermissionGrant`) and application permissions (`appRoleAssignment`), with
//! Graph's routes and rules:
//! - `GET /servicePrincipals` (`$filter` on appId, displayName, servicePrincipalType and
//!   `tags/any(t:t eq '…')`, `$select`, `$top`, paging), `GET /servicePrincipals/{id}`,
//!   `DELETE /servicePrincipals/{id}` (soft delete: restorable for 30 days through
//!   `POST /directory/deletedItems/{id}/restore`, with its grants and assignments, which are
//!   hidden while it is deleted);
//! - `GET /servicePrincipals/{id}/appRoleAssignments` (what it was granted) and
//!   `/appRoleAssignedTo` (what was granted on it as a resource), `POST …/appRoleAssignedTo`,
//!   `DELETE …/appRoleAssignedTo/{assignmentId}`;
//! - `GET /oauth2PermissionGrants` (`$filter` on clientId, resourceId, principalId,
//!   consentType), `GET`/`DELETE /oauth2PermissionGrants/{id}`, `POST /oauth2PermissionGrants`.
//!
//! Ids follow Microsoft's layout where it is known: a grant's id is its client, resource (and,
//! for one person's consent, principal) object ids as bytes, base64url, so a revoked grant
//! posted back gets the same id; an assignment's id starts with its principal's bytes and ends
//! with new ones, so an assignment posted back gets a new id.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::directory::Tenant;
use super::graph::{METADATA, RawQuery, ok, parse_options};
use super::http::{RequestIds, Shared, graph_error};
use super::permissions;
use super::rng::Rng;

/// Microsoft Graph's appId, the same in every tenant.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's appId.
pub(crate) const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";
/// The tenant that owns Microsoft's first-party applications (their appOwnerOrganizationId).
const MICROSOFT_SERVICES: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
/// The tag Entra gives applications shown under Enterprise applications.
const INTEGRATED_APP: &str = "WindowsAzureActiveDirectoryIntegratedApp";

/// Microsoft Graph's application permissions (app roles) the rehearsal knows, with their real
/// ids.
pub(crate) const GRAPH_ROLES: &[(&str, &str)] = &[
    ("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    ("Mail.ReadWrite", "e2a3a72e-5f79-4c64-b1b1-878b674786c9"),
    ("Mail.Send", "b633e1c5-b582-4048-a93e-9f11b44c7e96"),
    ("Calendars.Read", "798ee544-9d2d-430c-a058-570e29e34338"),
    ("Contacts.Read", "089fe4d0-434a-44c5-8827-41ba8a0b17f5"),
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
];
/// Exchange Online's `full_access_as_app` (EWS, every mailbox).
pub(crate) const EXCHANGE_ROLES: &[(&str, &str)] =
    &[("full_access_as_app", "dc890d15-9560-4a4c-9b7f-a736ec74ec40")];

#[derive(Debug, Clone)]
pub(crate) struct AppRole {
    pub id: String,
    pub value: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub publisher_name: Option<String>,
    /// (displayName, verifiedPublisherId, addedDateTime) when the publisher is verified.
    pub verified_publisher: Option<(String, String, String)>,
    pub app_owner_organization_id: Option<String>,
    pub tags: Vec<String>,
    pub app_roles: Vec<AppRole>,
    pub reply_urls: Vec<String>,
    /// When it was soft-deleted (`DELETE`), if it was: hidden, restorable.
    pub deleted: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub id: String,
    pub client_id: String,
    pub consent_type: &'static str,
    pub principal_id: Option<String>,
    pub resource_id: String,
    pub scope: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Assignment {
    pub id: String,
    pub app_role_id: String,
    pub principal_id: String,
    pub principal_type: &'static str,
    pub principal_display_name: String,
    pub resource_id: String,
    pub resource_display_name: String,
    pub created: String,
}

/// A tenant's enterprise applications.
#[derive(Debug, Clone, Default)]
pub(crate) struct Access {
    pub service_principals: Vec<ServicePrincipal>,
    pub grants: Vec<Grant>,
    pub assignments: Vec<Assignment>,
}

impl Access {
    fn live(&self, id: &str) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|s| s.deleted.is_none() && s.id.eq_ignore_ascii_case(id))
    }

    /// The service principal `id`, live or (`deleted`) in deleted items.
    fn principal_mut(&mut self, id: &str, deleted: bool) -> Option<&mut ServicePrincipal> {
        self.service_principals
            .iter_mut()
            .find(|s| s.deleted.is_some() == deleted && s.id.eq_ignore_ascii_case(id))
    }

    /// Grants whose client and resource are both live (a deleted principal's are hidden).
    fn visible_grants(&self) -> impl Iterator<Item = &Grant> {
        self.grants
            .iter()
            .filter(|g| self.live(&g.client_id).is_some() && self.live(&g.resource_id).is_some())
    }

    fn visible_assignments(&self) -> impl Iterator<Item = &Assignment> {
        self.assignments.iter().filter(|a| {
            self.live(&a.resource_id).is_some()
                && (a.principal_type != "ServicePrincipal" || self.live(&a.principal_id).is_some())
        })
    }
}

fn guid_bytes(id: &str) -> Vec<u8> {
    uuid::Uuid::try_parse(id)
        .map(|u| u.to_bytes_le().to_vec())
        .unwrap_or_default()
}

/// Microsoft's grant id: client, resource (and principal) object ids' bytes, base64url.
pub(crate) fn grant_id(client: &str, resource: &str, principal: Option<&str>) -> String {
    let mut bytes = guid_bytes(client);
    bytes.extend(guid_bytes(resource));
    if let Some(p) = principal {
        bytes.extend(guid_bytes(p));
    }
    crate::graph::pem::b64url(&bytes)
}

fn assignment_id(principal: &str, rng: &mut Rng) -> String {
    let mut bytes = guid_bytes(principal);
    bytes.extend(rng.next_u64().to_le_bytes());
    bytes.extend(rng.next_u64().to_le_bytes());
    crate::graph::pem::b64url(&bytes)
}

fn role_id(roles: &[(&str, &'static str)], value: &str) -> &'static str {
    roles
        .iter()
        .find(|(v, _)| *v == value)
        .map(|(_, id)| *id)
        .unwrap_or_default()
}

/// Every tenant has Microsoft Graph's and Exchange Online's service principals. The one with
/// the custom domain (the source) also has third-party applications: an archiver and a backup
/// with application permissions to every mailbox, a CRM with delegated Mail.ReadWrite consented
/// by three people, a calendar sync an admin consented for everyone, a mail-routing add-on
/// (its inbound connector is in Exchange, `exchange_connectors`) and the tenant's own build
/// agent, which holds nothing to do with mail.
pub(crate) fn seed(seed: u64, t: &Tenant, with_apps: bool) -> Access {
    let mut rng = Rng::derive(seed, &format!("{}/access", t.label));
    let first_party =
        |rng: &mut Rng, app_id: &str, name: &str, roles: &[(&str, &str)]| ServicePrincipal {
            id: rng.guid(),
            app_id: app_id.to_string(),
            display_name: name.to_string(),
            publisher_name: Some("Microsoft Services".into()),
            verified_publisher: None,
            app_owner_organization_id: Some(MICROSOFT_SERVICES.into()),
            tags: Vec::new(),
            app_roles: roles
                .iter()
                .map(|(value, id)| AppRole {
                    id: (*id).to_string(),
                    value: (*value).to_string(),
                })
                .collect(),
            reply_urls: Vec::new(),
            deleted: None,
        };
    let graph = first_party(&mut rng, GRAPH_APP_ID, "Microsoft Graph", GRAPH_ROLES);
    let exchange = first_party(
        &mut rng,
        EXCHANGE_APP_ID,
        "Office 365 Exchange Online",
        EXCHANGE_ROLES,
    );
    let mut access = Access::default();
    let (graph_id, exchange_id) = (graph.id.clone(), exchange.id.clone());
    access.service_principals.push(graph);
    access.service_principals.push(exchange);
    if !with_apps {
        return access;
    }
    let domain = t
        .domains
        .iter()
        .find(|d| d.is_verified && !d.is_initial)
        .map(|d| d.name.clone())
        .unwrap_or_else(|| t.initial_domain.clone());
    let third = |rng: &mut Rng, name: &str, publisher: &str, verified: bool, reply: &str| {
        let owner = rng.guid();
        ServicePrincipal {
            id: rng.guid(),
            app_id: rng.guid(),
            display_name: name.to_string(),
            publisher_name: Some(publisher.to_string()),
            verified_publisher: verified.then(|| {
                (
                    publisher.to_string(),
                    rng.digits(7),
                    "2023-05-17T08:30:00Z".to_string(),
                )
            }),
            app_owner_organization_id: Some(owner),
            tags: vec![INTEGRATED_APP.to_string()],
            app_roles: Vec::new(),
            reply_urls: vec![reply.to_string()],
            deleted: None,
        }
    };
    let archiver = third(
        &mut rng,
        "Mailvault Archiver",
        "Mailvault Ltd",
        true,
        "https://app.mailvault.example/signin",
    );
    let backup = third(
        &mut rng,
        "Fabrikam Cloud Backup",
        "Fabrikam Backup GmbH",
        false,
        "https://backup.fabrikam.example/auth",
    );
    let crm = third(
        &mut rng,
        "Northwind CRM",
        "Northwind Traders",
        true,
        "https://crm.northwind.example/oauth",
    );
    let calendar = third(
        &mut rng,
        "Adatum Calendar Sync",
        "Adatum Corporation",
        false,
        "https://sync.adatum.example/callback",
    );
    let relay = third(
        &mut rng,
        "Relay365 Mail Routing",
        "Relay365 Inc.",
        true,
        &format!("https://relay365.example/connect/{domain}"),
    );
    // The tenant's own registration: its own tenant owns it, and it holds nothing of mail.
    let mut build = third(
        &mut rng,
        "Build agent",
        &t.name,
        false,
        "https://build.example/callback",
    );
    build.app_owner_organization_id = Some(t.id.clone());
    build.publisher_name = Some(t.name.clone());

    let mut assign =
        |rng: &mut Rng, sp: &ServicePrincipal, resource: (&str, &str), role: &str, day: u32| {
            access.assignments.push(Assignment {
                id: assignment_id(&sp.id, rng),
                app_role_id: role.to_string(),
                principal_id: sp.id.clone(),
                principal_type: "ServicePrincipal",
                principal_display_name: sp.display_name.clone(),
                resource_id: resource.0.to_string(),
                resource_display_name: resource.1.to_string(),
                created: format!("2024-03-{day:02}T09:{:02}:00Z", day + 10),
            });
        };
    let g = (graph_id.as_str(), "Microsoft Graph");
    let x = (exchange_id.as_str(), "Office 365 Exchange Online");
    assign(&mut rng, &archiver, g, role_id(GRAPH_ROLES, "Mail.Read"), 4);
    assign(
        &mut rng,
        &archiver,
        g,
        role_id(GRAPH_ROLES, "User.Read.All"),
        4,
    );
    assign(
        &mut rng,
        &backup,
        x,
        role_id(EXCHANGE_ROLES, "full_access_as_app"),
        11,
    );
    assign(
        &mut rng,
        &backup,
        g,
        role_id(GRAPH_ROLES, "Mail.ReadWrite"),
        11,
    );
    assign(&mut rng, &relay, g, role_id(GRAPH_ROLES, "Mail.Send"), 19);
    // Three people consented to the CRM reading and writing their own mail.
    for u in t
        .users
        .iter()
        .filter(|u| u.mail.is_some() && u.on_premises_sync_enabled.is_none())
        .take(3)
    {
        access.grants.push(Grant {
            id: grant_id(&crm.id, &graph_id, Some(&u.id)),
            client_id: crm.id.clone(),
            consent_type: "Principal",
            principal_id: Some(u.id.clone()),
            resource_id: graph_id.clone(),
            scope: "Mail.ReadWrite User.Read offline_access".into(),
        });
    }
    access.grants.push(Grant {
        id: grant_id(&calendar.id, &graph_id, None),
        client_id: calendar.id.clone(),
        consent_type: "AllPrincipals",
        principal_id: None,
        resource_id: graph_id.clone(),
        scope: "Calendars.Read Contacts.Read User.Read".into(),
    });
    access.grants.push(Grant {
        id: grant_id(&build.id, &graph_id, None),
        client_id: build.id.clone(),
        consent_type: "AllPrincipals",
        principal_id: None,
        resource_id: graph_id.clone(),
        scope: "User.Read".into(),
    });
    access
        .service_principals
        .extend([archiver, backup, crm, calendar, relay, build]);
    access
}

// ---------------------------------------------------------------------------------------------
// Rendering

const SP_PROPS: &[&str] = &[
    "id",
    "accountEnabled",
    "appDisplayName",
    "appId",
    "appOwnerOrganizationId",
    "appRoles",
    "deletedDateTime",
    "displayName",
    "publisherName",
    "replyUrls",
    "servicePrincipalNames",
    "servicePrincipalType",
    "signInAudience",
    "tags",
    "verifiedPublisher",
];
const GRANT_PROPS: &[&str] = &[
    "id",
    "clientId",
    "consentType",
    "principalId",
    "resourceId",
    "scope",
];
const ASSIGNMENT_PROPS: &[&str] = &[
    "id",
    "appRoleId",
    "createdDateTime",
    "deletedDateTime",
    "principalDisplayName",
    "principalId",
    "principalType",
    "resourceDisplayName",
    "resourceId",
];

fn sp_property(s: &ServicePrincipal, prop: &str) -> Value {
    match prop {
        "id" => json!(s.id),
        "accountEnabled" => json!(true),
        "appDisplayName" | "displayName" => json!(s.display_name),
        "appId" => json!(s.app_id),
        "appOwnerOrganizationId" => json!(s.app_owner_organization_id),
        "appRoles" => Value::Array(
            s.app_roles
                .iter()
                .map(|r| {
                    json!({
                        "allowedMemberTypes": ["Application"],
                        "description": format!("{} (application permission)", r.value),
                        "displayName": r.value,
                        "id": r.id,
                        "isEnabled": true,
                        "origin": "Application",
                        "value": r.value,
                    })
                })
                .collect(),
        ),
        "deletedDateTime" => json!(s.deleted),
        "publisherName" => json!(s.publisher_name),
        "replyUrls" => json!(s.reply_urls),
        "servicePrincipalNames" => json!([s.app_id]),
        "servicePrincipalType" => json!("Application"),
        "signInAudience" => json!("AzureADMultipleOrgs"),
        "tags" => json!(s.tags),
        "verifiedPublisher" => match &s.verified_publisher {
            Some((name, id, added)) => json!({
                "displayName": name,
                "verifiedPublisherId": id,
                "addedDateTime": added,
            }),
            None => {
                json!({"displayName": null, "verifiedPublisherId": null, "addedDateTime": null})
            }
        },
        _ => Value::Null,
    }
}

fn grant_property(g: &Grant, prop: &str) -> Value {
    match prop {
        "id" => json!(g.id),
        "clientId" => json!(g.client_id),
        "consentType" => json!(g.consent_type),
        "principalId" => json!(g.principal_id),
        "resourceId" => json!(g.resource_id),
        "scope" => json!(g.scope),
        _ => Value::Null,
    }
}

fn assignment_property(a: &Assignment, prop: &str) -> Value {
    match prop {
        "id" => json!(a.id),
        "appRoleId" => json!(a.app_role_id),
        "createdDateTime" => json!(a.created),
        "deletedDateTime" => Value::Null,
        "principalDisplayName" => json!(a.principal_display_name),
        "principalId" => json!(a.principal_id),
        "principalType" => json!(a.principal_type),
        "resourceDisplayName" => json!(a.resource_display_name),
        "resourceId" => json!(a.resource_id),
        _ => Value::Null,
    }
}

fn render_with<T>(
    item: &T,
    select: Option<&Vec<&'static str>>,
    all: &[&str],
    property: fn(&T, &str) -> Value,
) -> Value {
    super::graph::render(item, select, all, property, None)
}

// ---------------------------------------------------------------------------------------------
// Query options

/// `$filter` split off the query: `parse_options` refuses what it does not know.
fn split_filter(query: RawQuery) -> (Option<String>, RawQuery) {
    match query {
        Ok(axum::extract::Query(pairs)) => {
            let mut filter = None;
            let rest = pairs
                .into_iter()
                .filter(|(k, v)| {
                    if k.eq_ignore_ascii_case("$filter") {
                        filter = Some(v.clone());
                        false
                    } else {
                        true
                    }
                })
                .collect();
            (filter, Ok(axum::extract::Query(rest)))
        }
        Err(e) => (None, Err(e)),
    }
}

/// One `$filter` clause Graph supports here: `prop eq 'value'` (OData string literal, `''` is
/// a quote) or `tags/any(t:t eq 'value')`.
#[derive(Debug, PartialEq, Eq)]
struct Clause {
    property: String,
    value: String,
}

fn parse_clause(filter: &str) -> Option<Clause> {
    let f = filter.trim();
    let literal = |s: &str| -> Option<String> {
        let inner = s.trim().strip_prefix('\'')?.strip_suffix('\'')?;
        Some(inner.replace("''", "'"))
    };
    if let Some(rest) = f.strip_prefix("tags/any(") {
        let body = rest.strip_suffix(')')?;
        let (var, cond) = body.split_once(':')?;
        let (lhs, rhs) = cond.split_once(" eq ")?;
        if lhs.trim() != var.trim() {
            return None;
        }
        return Some(Clause {
            property: "tags".into(),
            value: literal(rhs)?,
        });
    }
    let (property, rhs) = f.split_once(" eq ")?;
    Some(Clause {
        property: property.trim().to_string(),
        value: literal(rhs)?,
    })
}

fn unsupported_filter(entity: &str, ids: &RequestIds) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        "Request_UnsupportedQuery",
        &format!("Unsupported or invalid query filter clause specified for resource '{entity}'."),
        ids,
    )
}

/// One page of `items` from `start`, with a nextLink that keeps `$filter`, `$select`, `$top`.
#[allow(clippy::too_many_arguments)]
fn page(
    state: &Shared,
    tenant: usize,
    path: &str,
    collection: super::graph::Collection,
    opts: &super::graph::Options,
    filter: Option<&str>,
    items: Vec<Value>,
    ids: &RequestIds,
) -> Response {
    let start = match &opts.skip_token {
        Some(tok) => {
            match super::graph::decode_skip_token(state.page_key, tok, collection, tenant) {
                Some(p) => p,
                None => return super::graph::expired_token(ids),
            }
        }
        None => 0,
    };
    let total = items.len();
    let top = opts.top.unwrap_or(super::graph::DEFAULT_PAGE);
    let start = start.min(total);
    let end = start.saturating_add(top).min(total);
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(super::graph::context(path, opts.select.as_ref())),
    );
    if opts.count && opts.skip_token.is_none() {
        body.insert("@odata.count".into(), json!(total));
    }
    if end < total {
        let enc = |s: &str| crate::graph::client::encode(s);
        let mut link = format!("{}/v1.0/{path}?", state.base_url);
        if let Some(f) = filter {
            link.push_str(&format!("$filter={}&", enc(f)));
        }
        if let Some(top) = opts.top {
            link.push_str(&format!("$top={top}&"));
        }
        if let Some(select) = &opts.select {
            link.push_str(&format!("$select={}&", select.join(",")));
        }
        link.push_str("$skiptoken=");
        link.push_str(&super::graph::encode_skip_token(
            state.page_key,
            collection,
            tenant,
            end,
        ));
        body.insert("@odata.nextLink".into(), json!(link));
    }
    body.insert(
        "value".into(),
        Value::Array(items.into_iter().skip(start).take(end - start).collect()),
    );
    ok(Value::Object(body))
}

// ---------------------------------------------------------------------------------------------
// Read routes

fn not_found(id: &str, ids: &RequestIds) -> Response {
    graph_error(
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
        ids,
    )
}

/// `GET /v1.0/servicePrincipals`.
pub(crate) async fn service_principals(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::SERVICE_PRINCIPALS);
    let (filter, rest) = split_filter(query);
    let mut opts = try_resp!(parse_options(
        rest,
        &[SP_PROPS],
        "microsoft.graph.servicePrincipal",
        &ctx.ids
    ));
    opts.count = super::graph::wants_count(&opts, &headers);
    let clause = match filter.as_deref().map(parse_clause) {
        None => None,
        Some(Some(c))
            if ["appId", "displayName", "servicePrincipalType", "tags"]
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&c.property)) =>
        {
            Some(c)
        }
        Some(_) => return unsupported_filter("ServicePrincipal", &ctx.ids),
    };
    let keep = |s: &ServicePrincipal| match &clause {
        None => true,
        Some(c) => match c.property.to_ascii_lowercase().as_str() {
            "appid" => s.app_id.eq_ignore_ascii_case(&c.value),
            "displayname" => s.display_name.eq_ignore_ascii_case(&c.value),
            "serviceprincipaltype" => c.value.eq_ignore_ascii_case("Application"),
            _ => s.tags.iter().any(|t| t.eq_ignore_ascii_case(&c.value)),
        },
    };
    let items: Vec<Value> = ctx
        .tenant()
        .access
        .service_principals
        .iter()
        .filter(|s| s.deleted.is_none() && keep(s))
        .map(|s| render_with(s, opts.select.as_ref(), SP_PROPS, sp_property))
        .collect();
    page(
        &state,
        ctx.tenant,
        "servicePrincipals",
        super::graph::Collection::ServicePrincipals,
        &opts,
        filter.as_deref(),
        items,
        &ctx.ids,
    )
}

/// `GET /v1.0/servicePrincipals/{id}`.
pub(crate) async fn service_principal(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::SERVICE_PRINCIPALS);
    let opts = try_resp!(parse_options(
        query,
        &[SP_PROPS],
        "microsoft.graph.servicePrincipal",
        &ctx.ids
    ));
    let Some(s) = ctx.tenant().access.live(&id) else {
        return not_found(&id, &ctx.ids);
    };
    let mut v = render_with(s, opts.select.as_ref(), SP_PROPS, sp_property);
    if let Value::Object(o) = &mut v {
        o.insert(
            "@odata.context".into(),
            json!(format!("{METADATA}#servicePrincipals/$entity")),
        );
    }
    ok(v)
}

/// `GET /v1.0/servicePrincipals/{id}/appRoleAssignments` (granted to it) and
/// `/appRoleAssignedTo` (granted on it).
async fn assignments_of(
    state: Shared,
    id: String,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
    assigned_to: bool,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::SERVICE_PRINCIPALS);
    let opts = try_resp!(parse_options(
        query,
        &[ASSIGNMENT_PROPS],
        "microsoft.graph.appRoleAssignment",
        &ctx.ids
    ));
    let access = &ctx.tenant().access;
    if access.live(&id).is_none() {
        return not_found(&id, &ctx.ids);
    }
    let items: Vec<Value> = access
        .visible_assignments()
        .filter(|a| {
            let on = if assigned_to {
                &a.resource_id
            } else {
                &a.principal_id
            };
            on.eq_ignore_ascii_case(&id)
        })
        .map(|a| {
            render_with(
                a,
                opts.select.as_ref(),
                ASSIGNMENT_PROPS,
                assignment_property,
            )
        })
        .collect();
    let rel = if assigned_to {
        "appRoleAssignedTo"
    } else {
        "appRoleAssignments"
    };
    page(
        &state,
        ctx.tenant,
        &format!("servicePrincipals/{id}/{rel}"),
        super::graph::Collection::Assignments,
        &opts,
        None,
        items,
        &ctx.ids,
    )
}

pub(crate) async fn app_role_assignments(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    assignments_of(state, id, headers, extensions, query, false).await
}

pub(crate) async fn app_role_assigned_to(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    assignments_of(state, id, headers, extensions, query, true).await
}

/// `GET /v1.0/oauth2PermissionGrants`.
pub(crate) async fn grants(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::GRANTS_READ);
    let (filter, rest) = split_filter(query);
    let opts = try_resp!(parse_options(
        rest,
        &[GRANT_PROPS],
        "microsoft.graph.oAuth2PermissionGrant",
        &ctx.ids
    ));
    let clause = match filter.as_deref().map(parse_clause) {
        None => None,
        Some(Some(c))
            if ["clientId", "resourceId", "principalId", "consentType"]
                .iter()
                .any(|p| p.eq_ignore_ascii_case(&c.property)) =>
        {
            Some(c)
        }
        Some(_) => return unsupported_filter("OAuth2PermissionGrant", &ctx.ids),
    };
    let keep = |g: &Grant| match &clause {
        None => true,
        Some(c) => {
            let v = grant_property(g, &canonical(&c.property, GRANT_PROPS));
            v.as_str().is_some_and(|s| s.eq_ignore_ascii_case(&c.value))
        }
    };
    let items: Vec<Value> = ctx
        .tenant()
        .access
        .visible_grants()
        .filter(|g| keep(g))
        .map(|g| render_with(g, opts.select.as_ref(), GRANT_PROPS, grant_property))
        .collect();
    page(
        &state,
        ctx.tenant,
        "oauth2PermissionGrants",
        super::graph::Collection::Grants,
        &opts,
        filter.as_deref(),
        items,
        &ctx.ids,
    )
}

fn canonical(name: &str, props: &[&str]) -> String {
    props
        .iter()
        .find(|p| p.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |p| (*p).to_string())
}

/// `GET /v1.0/oauth2PermissionGrants/{id}`.
pub(crate) async fn grant(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::GRANTS_READ);
    match ctx.tenant().access.visible_grants().find(|g| g.id == id) {
        Some(g) => {
            let mut v = render_with(g, None, GRANT_PROPS, grant_property);
            if let Value::Object(o) = &mut v {
                o.insert(
                    "@odata.context".into(),
                    json!(format!("{METADATA}#oauth2PermissionGrants/$entity")),
                );
            }
            ok(v)
        }
        None => not_found(&id, &ctx.ids),
    }
}

// ---------------------------------------------------------------------------------------------
// Write routes

/// Lock the tenants for writing and hand `f` this tenant's access, then count the objects it
/// changed and answer (or cut the answer, per the write's fate).
fn write(
    state: &Shared,
    extensions: &Extensions,
    begun: super::writes::Begun,
    f: impl FnOnce(&mut Access, &RequestIds) -> Result<(Response, Vec<String>), Box<Response>>,
) -> Response {
    let ids = begun.ids.clone();
    let outcome = match state.tenants.write() {
        Ok(mut tenants) => match tenants.get_mut(begun.tenant) {
            Some(t) => f(&mut t.access, &ids),
            None => Err(Box::new(super::writes::poisoned(&ids))),
        },
        Err(_) => Err(Box::new(super::writes::poisoned(&ids))),
    };
    let resp = match outcome {
        Ok((resp, changed)) => {
            super::writes::count(state, begun.tenant, &changed);
            resp
        }
        Err(resp) => *resp,
    };
    super::writes::finish(begun.fate, extensions, resp)
}

fn bad(message: &str, ids: &RequestIds) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message, ids)
}

fn string_field(body: &Map<String, Value>, name: &str) -> Option<String> {
    body.get(name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// `DELETE /v1.0/servicePrincipals/{id}`: soft delete (30 days in deleted items).
pub(crate) async fn delete_service_principal(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let begun = try_resp!(super::writes::begin(
        &state,
        &headers,
        &extensions,
        &permissions::SERVICE_PRINCIPAL_WRITE
    ));
    write(&state, &extensions, begun, |access, ids| {
        let Some(s) = access.principal_mut(&id, false) else {
            return Err(Box::new(not_found(&id, ids)));
        };
        if s.app_owner_organization_id.as_deref() == Some(MICROSOFT_SERVICES) {
            // Microsoft's own service principals are not the tenant's to delete.
            return Err(Box::new(graph_error(
                StatusCode::FORBIDDEN,
                "Authorization_RequestDenied",
                "Insufficient privileges to complete the operation.",
                ids,
            )));
        }
        s.deleted = Some(super::http::graph_date());
        Ok((StatusCode::NO_CONTENT.into_response(), vec![s.id.clone()]))
    })
}

/// `POST /v1.0/directory/deletedItems/{id}/restore`: a soft-deleted service principal comes
/// back with its grants and assignments.
pub(crate) async fn restore_deleted_item(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let begun = try_resp!(super::writes::begin(
        &state,
        &headers,
        &extensions,
        &permissions::SERVICE_PRINCIPAL_WRITE
    ));
    write(&state, &extensions, begun, |access, ids| {
        let Some(s) = access.principal_mut(&id, true) else {
            return Err(Box::new(not_found(&id, ids)));
        };
        s.deleted = None;
        let mut v = sp_value(s);
        if let Value::Object(o) = &mut v {
            o.insert(
                "@odata.context".into(),
                json!(format!("{METADATA}#directoryObjects/$entity")),
            );
            o.insert(
                "@odata.type".into(),
                json!("#microsoft.graph.servicePrincipal"),
            );
        }
        Ok((ok(v), vec![s.id.clone()]))
    })
}

fn sp_value(s: &ServicePrincipal) -> Value {
    render_with(s, None, SP_PROPS, sp_property)
}

/// `DELETE /v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignmentId}`.
pub(crate) async fn delete_assignment(
    State(state): State<Shared>,
    Path((id, assignment)): Path<(String, String)>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let begun = try_resp!(super::writes::begin(
        &state,
        &headers,
        &extensions,
        &permissions::ASSIGNMENT_WRITE
    ));
    write(&state, &extensions, begun, |access, ids| {
        if access.live(&id).is_none() {
            return Err(Box::new(not_found(&id, ids)));
        }
        let Some(i) = access
            .assignments
            .iter()
            .position(|a| a.id == assignment && a.resource_id.eq_ignore_ascii_case(&id))
        else {
            return Err(Box::new(not_found(&assignment, ids)));
        };
        let gone = access.assignments.remove(i);
        Ok((StatusCode::NO_CONTENT.into_response(), vec![gone.id]))
    })
}

/// `POST /v1.0/servicePrincipals/{id}/appRoleAssignedTo` `{principalId, resourceId, appRoleId}`
/// → 201 with the new assignment (a new id).
pub(crate) async fn add_assignment(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let begun = try_resp!(super::writes::begin(
        &state,
        &headers,
        &extensions,
        &permissions::ASSIGNMENT_WRITE
    ));
    let fields = match super::writes::body_object(&body, &begun.ids) {
        Ok(f) => f,
        Err(r) => return super::writes::finish(begun.fate, &extensions, *r),
    };
    write(&state, &extensions, begun, |access, ids| {
        let (Some(principal), Some(resource), Some(role)) = (
            string_field(&fields, "principalId"),
            string_field(&fields, "resourceId"),
            string_field(&fields, "appRoleId"),
        ) else {
            return Err(Box::new(bad(
                "principalId, resourceId and appRoleId are required.",
                ids,
            )));
        };
        let Some(res) = access.live(&id) else {
            return Err(Box::new(not_found(&id, ids)));
        };
        if !resource.eq_ignore_ascii_case(&id) {
            return Err(Box::new(bad(
                "The resourceId in the request body must match the service principal in the URL.",
                ids,
            )));
        }
        if !res
            .app_roles
            .iter()
            .any(|r| r.id.eq_ignore_ascii_case(&role))
        {
            return Err(Box::new(bad(
                "Permission being assigned was not found on application",
                ids,
            )));
        }
        let Some(p) = access.live(&principal) else {
            return Err(Box::new(not_found(&principal, ids)));
        };
        if access.assignments.iter().any(|a| {
            a.principal_id.eq_ignore_ascii_case(&principal)
                && a.resource_id.eq_ignore_ascii_case(&resource)
                && a.app_role_id.eq_ignore_ascii_case(&role)
        }) {
            return Err(Box::new(bad(
                "Permission being assigned already exists on the object",
                ids,
            )));
        }
        let mut rng = Rng::new(
            super::rng::fresh_guid()
                .bytes()
                .fold(0u64, |h, b| h.rotate_left(5) ^ u64::from(b)),
        );
        let a = Assignment {
            id: assignment_id(&p.id, &mut rng),
            app_role_id: role.to_ascii_lowercase(),
            principal_id: p.id.clone(),
            principal_type: "ServicePrincipal",
            principal_display_name: p.display_name.clone(),
            resource_id: res.id.clone(),
            resource_display_name: res.display_name.clone(),
            created: super::http::graph_date(),
        };
        let mut v = render_with(&a, None, ASSIGNMENT_PROPS, assignment_property);
        if let Value::Object(o) = &mut v {
            o.insert(
                "@odata.context".into(),
                json!(format!(
                    "{METADATA}#servicePrincipals('{id}')/appRoleAssignedTo/$entity"
                )),
            );
        }
        let changed = vec![a.id.clone()];
        access.assignments.push(a);
        Ok((
            (StatusCode::CREATED, axum::Json(v)).into_response(),
            changed,
        ))
    })
}

/// `DELETE /v1.0/oauth2PermissionGrants/{id}`.
pub(crate) async fn delete_grant(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let begun =
        match super::writes::begin(&state, &headers, &extensions, &permissions::GRANTS_WRITE) {
            Ok(b) => b,
            Err(r) => return *r,
        };
    write(&state, &extensions, begun, |access, ids| {
        let visible = access.visible_grants().any(|g| g.id == id);
        let Some(i) = access
            .grants
            .iter()
            .position(|g| g.id == id)
            .filter(|_| visible)
        else {
            return Err(Box::new(not_found(&id, ids)));
        };
        let gone = access.grants.remove(i);
        Ok((StatusCode::NO_CONTENT.into_response(), vec![gone.id]))
    })
}

/// `POST /v1.0/oauth2PermissionGrants` `{clientId, consentType, principalId, resourceId,
/// scope}` → 201 with the grant.
pub(crate) async fn add_grant(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let begun =
        match super::writes::begin(&state, &headers, &extensions, &permissions::GRANTS_WRITE) {
            Ok(b) => b,
            Err(r) => return *r,
        };
    let fields = match super::writes::body_object(&body, &begun.ids) {
        Ok(f) => f,
        Err(r) => return super::writes::finish(begun.fate, &extensions, *r),
    };
    write(&state, &extensions, begun, |access, ids| {
        let (Some(client), Some(resource), Some(scope)) = (
            string_field(&fields, "clientId"),
            string_field(&fields, "resourceId"),
            string_field(&fields, "scope"),
        ) else {
            return Err(Box::new(bad(
                "clientId, resourceId and scope are required.",
                ids,
            )));
        };
        let consent = match string_field(&fields, "consentType").as_deref() {
            Some(c) if c.eq_ignore_ascii_case("AllPrincipals") => "AllPrincipals",
            Some(c) if c.eq_ignore_ascii_case("Principal") => "Principal",
            _ => {
                return Err(Box::new(bad(
                    "Invalid value specified for property 'consentType' of resource 'OAuth2PermissionGrant'.",
                    ids,
                )));
            }
        };
        let principal = string_field(&fields, "principalId");
        if (consent == "Principal") != principal.is_some() {
            return Err(Box::new(bad(
                "principalId must be set when consentType is Principal, and only then.",
                ids,
            )));
        }
        for sp in [&client, &resource] {
            if access.live(sp).is_none() {
                return Err(Box::new(not_found(sp, ids)));
            }
        }
        let id = grant_id(&client, &resource, principal.as_deref());
        if access.grants.iter().any(|g| g.id == id) {
            return Err(Box::new(graph_error(
                StatusCode::CONFLICT,
                "Request_MultipleObjectsWithSameKeyValue",
                "Permission entry already exists.",
                ids,
            )));
        }
        let g = Grant {
            id: id.clone(),
            client_id: client.to_ascii_lowercase(),
            consent_type: consent,
            principal_id: principal.map(|p| p.to_ascii_lowercase()),
            resource_id: resource.to_ascii_lowercase(),
            scope: scope.split_whitespace().collect::<Vec<_>>().join(" "),
        };
        let mut v = render_with(&g, None, GRANT_PROPS, grant_property);
        if let Value::Object(o) = &mut v {
            o.insert(
                "@odata.context".into(),
                json!(format!("{METADATA}#oauth2PermissionGrants/$entity")),
            );
        }
        access.grants.push(g);
        Ok((
            (StatusCode::CREATED, axum::Json(v)).into_response(),
            vec![id],
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_as_graph_writes_them() {
        assert_eq!(
            parse_clause("appId eq '00000003-0000-0000-c000-000000000000'"),
            Some(Clause {
                property: "appId".into(),
                value: GRAPH_APP_ID.into()
            })
        );
        assert_eq!(
            parse_clause("tags/any(t:t eq 'WindowsAzureActiveDirectoryIntegratedApp')")
                .map(|c| c.property),
            Some("tags".into())
        );
        assert_eq!(
            parse_clause("displayName eq 'O''Brien app'").map(|c| c.value),
            Some("O'Brien app".into())
        );
        assert_eq!(parse_clause("startswith(displayName,'a')"), None);
        assert_eq!(parse_clause("appId eq unquoted"), None);
    }

    #[test]
    fn grant_ids_are_the_ids_bytes_and_stable() {
        let c = "11111111-2222-3333-4444-555555555555";
        let r = "66666666-7777-8888-9999-aaaaaaaaaaaa";
        let all = grant_id(c, r, None);
        assert_eq!(all.len(), 43, "two GUIDs: 32 bytes");
        assert_eq!(grant_id(c, r, None), all);
        let one = grant_id(c, r, Some(c));
        assert_eq!(one.len(), 64, "three GUIDs: 48 bytes");
        assert!(all.get(..42).is_some_and(|head| one.starts_with(head)));
    }

    #[test]
    fn the_source_has_mail_apps_and_the_destination_only_microsofts() {
        let [source, destination] = super::super::directory::generate(
            7,
            super::super::directory::Scale::users(20),
            "contoso.example",
        );
        let s = seed(7, &source, true);
        let d = seed(7, &destination, false);
        assert_eq!(d.service_principals.len(), 2);
        assert!(s.service_principals.len() > 5);
        assert_eq!(
            s.grants
                .iter()
                .filter(|g| g.consent_type == "Principal")
                .count(),
            3
        );
        let graph = &s.service_principals[0];
        assert_eq!(graph.app_id, GRAPH_APP_ID);
        for a in &s.assignments {
            let resource = s
                .service_principals
                .iter()
                .find(|sp| sp.id == a.resource_id)
                .unwrap();
            assert!(
                resource.app_roles.iter().any(|r| r.id == a.app_role_id),
                "{a:?}"
            );
        }
    }

    // The routes through HTTP, as the product's client calls them.

    async fn started(grants: &[&str]) -> super::super::Sim {
        let _ = rustls::crypto::ring::default_provider().install_default();
        super::super::Sim::start(super::super::SimOptions {
            users: 20,
            grant_permissions: grants.iter().map(|g| g.to_string()).collect(),
            ..Default::default()
        })
        .await
        .expect("sim starts")
    }

    async fn token(sim: &super::super::Sim) -> String {
        let t = sim.tenant("source").expect("source").clone();
        let body: Value = reqwest::Client::new()
            .post(format!("{}/{}/oauth2/v2.0/token", sim.login_url(), t.id))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", t.client_id.as_str()),
                ("client_secret", t.client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        body["access_token"].as_str().expect("token").to_string()
    }

    async fn call(
        sim: &super::super::Sim,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", sim.graph_url())
        };
        let mut req = reqwest::Client::new()
            .request(method, url)
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    #[tokio::test]
    async fn reads_page_filter_and_refuse_as_graph_does() {
        let sim = started(&[]).await;
        let t = token(&sim).await;
        use reqwest::Method;
        // Application.Read.All (the default grant) lists service principals, two a page.
        let (status, page) = call(
            &sim,
            &t,
            Method::GET,
            "/v1.0/servicePrincipals?$top=2&$select=id,displayName",
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["value"].as_array().unwrap().len(), 2);
        assert!(page["value"][0].get("appRoles").is_none(), "selected only");
        let mut seen = 2;
        let mut next = page["@odata.nextLink"].as_str().map(str::to_string);
        while let Some(link) = next {
            let (status, p) = call(&sim, &t, Method::GET, &link, None).await;
            assert_eq!(status, 200, "{p}");
            seen += p["value"].as_array().unwrap().len();
            next = p["@odata.nextLink"].as_str().map(str::to_string);
        }
        assert_eq!(seen, 8);
        // $filter on appId, and on tags (kept across pages).
        let (_, graph) = call(
            &sim,
            &t,
            Method::GET,
            &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{GRAPH_APP_ID}'"),
            None,
        )
        .await;
        let graph = &graph["value"][0];
        assert_eq!(graph["displayName"], "Microsoft Graph");
        assert!(
            graph["appRoles"]
                .as_array()
                .unwrap()
                .iter()
                .any(|r| r["value"] == "Mail.ReadWrite"
                    && r["id"] == "e2a3a72e-5f79-4c64-b1b1-878b674786c9")
        );
        let (_, tagged) = call(&sim, &t, Method::GET, "/v1.0/servicePrincipals?$top=1&$filter=tags/any(t:t%20eq%20'WindowsAzureActiveDirectoryIntegratedApp')", None).await;
        let link = tagged["@odata.nextLink"].as_str().expect("more than one");
        assert!(
            link.contains("%24filter=") || link.contains("$filter="),
            "{link}"
        );
        let (status, err) = call(
            &sim,
            &t,
            Method::GET,
            "/v1.0/servicePrincipals?$filter=startswith(displayName,'M')",
            None,
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (400, Some("Request_UnsupportedQuery"))
        );
        // Grants need Directory.Read.All: Graph's 403.
        let (status, err) = call(&sim, &t, Method::GET, "/v1.0/oauth2PermissionGrants", None).await;
        assert_eq!(status, 403);
        assert_eq!(err["error"]["code"], "Authorization_RequestDenied");
        assert!(err["error"]["innerError"]["request-id"].is_string());
        // An unknown service principal: 404 Request_ResourceNotFound.
        let (status, err) = call(
            &sim,
            &t,
            Method::GET,
            "/v1.0/servicePrincipals/00000000-0000-0000-0000-000000000000",
            None,
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (404, Some("Request_ResourceNotFound"))
        );
        // Who holds Graph's app roles.
        let id = graph["id"].as_str().unwrap();
        let (status, held) = call(
            &sim,
            &t,
            Method::GET,
            &format!("/v1.0/servicePrincipals/{id}/appRoleAssignedTo"),
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(held["value"].as_array().unwrap().len(), 4);
        // Writes without their permission: refused, nothing received as a write.
        let (status, _) = call(
            &sim,
            &t,
            Method::DELETE,
            &format!("/v1.0/servicePrincipals/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 403);
        assert_eq!(sim.mutations().total, 0);
    }

    #[tokio::test]
    async fn writes_follow_graphs_rules_and_are_counted() {
        let sim = started(&[
            "Directory.Read.All",
            "DelegatedPermissionGrant.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
            "Application.ReadWrite.All",
        ])
        .await;
        let t = token(&sim).await;
        use reqwest::Method;
        let (_, grants) = call(&sim, &t, Method::GET, "/v1.0/oauth2PermissionGrants", None).await;
        let grants = grants["value"].as_array().unwrap().clone();
        let one = grants
            .iter()
            .find(|g| g["consentType"] == "Principal")
            .unwrap()
            .clone();
        let client = one["clientId"].as_str().unwrap();
        // Filter by client.
        let (_, mine) = call(
            &sim,
            &t,
            Method::GET,
            &format!("/v1.0/oauth2PermissionGrants?$filter=clientId%20eq%20'{client}'"),
            None,
        )
        .await;
        assert_eq!(mine["value"].as_array().unwrap().len(), 3);
        // Revoke, then post it back: the same id; posting twice is a conflict.
        let id = one["id"].as_str().unwrap();
        let (status, _) = call(
            &sim,
            &t,
            Method::DELETE,
            &format!("/v1.0/oauth2PermissionGrants/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 204);
        let (status, _) = call(
            &sim,
            &t,
            Method::DELETE,
            &format!("/v1.0/oauth2PermissionGrants/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        let body = serde_json::json!({"clientId": client, "consentType": "Principal", "principalId": one["principalId"], "resourceId": one["resourceId"], "scope": one["scope"]});
        let (status, made) = call(
            &sim,
            &t,
            Method::POST,
            "/v1.0/oauth2PermissionGrants",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 201, "{made}");
        assert_eq!(made["id"], one["id"]);
        let (status, err) = call(
            &sim,
            &t,
            Method::POST,
            "/v1.0/oauth2PermissionGrants",
            Some(body),
        )
        .await;
        assert_eq!(
            (status, err["error"]["code"].as_str()),
            (409, Some("Request_MultipleObjectsWithSameKeyValue"))
        );

        // An app role that the resource does not offer is refused; a removed one comes back
        // under a new id.
        let (_, sps) = call(
            &sim,
            &t,
            Method::GET,
            &format!("/v1.0/servicePrincipals?$filter=appId%20eq%20'{GRAPH_APP_ID}'"),
            None,
        )
        .await;
        let graph = sps["value"][0]["id"].as_str().unwrap().to_string();
        let (_, held) = call(
            &sim,
            &t,
            Method::GET,
            &format!("/v1.0/servicePrincipals/{graph}/appRoleAssignedTo"),
            None,
        )
        .await;
        let a = held["value"][0].clone();
        let path = format!("/v1.0/servicePrincipals/{graph}/appRoleAssignedTo");
        let wrong = serde_json::json!({"principalId": a["principalId"], "resourceId": graph, "appRoleId": "00000000-0000-0000-0000-000000000001"});
        let (status, err) = call(&sim, &t, Method::POST, &path, Some(wrong)).await;
        assert_eq!(status, 400, "{err}");
        let (status, _) = call(
            &sim,
            &t,
            Method::DELETE,
            &format!("{path}/{}", a["id"].as_str().unwrap()),
            None,
        )
        .await;
        assert_eq!(status, 204);
        let again = serde_json::json!({"principalId": a["principalId"], "resourceId": graph, "appRoleId": a["appRoleId"]});
        let (status, made) = call(&sim, &t, Method::POST, &path, Some(again)).await;
        assert_eq!(status, 201, "{made}");
        assert_ne!(made["id"], a["id"]);

        // Deleting a service principal hides it and its assignments; restoring brings both.
        let principal = a["principalId"].as_str().unwrap();
        let count = |v: &Value| v["value"].as_array().map_or(0, Vec::len);
        let (_, before) = call(&sim, &t, Method::GET, &path, None).await;
        let (status, _) = call(
            &sim,
            &t,
            Method::DELETE,
            &format!("/v1.0/servicePrincipals/{principal}"),
            None,
        )
        .await;
        assert_eq!(status, 204);
        let (status, _) = call(
            &sim,
            &t,
            Method::GET,
            &format!("/v1.0/servicePrincipals/{principal}"),
            None,
        )
        .await;
        assert_eq!(status, 404);
        let (_, during) = call(&sim, &t, Method::GET, &path, None).await;
        assert!(count(&during) < count(&before));
        let (status, back) = call(
            &sim,
            &t,
            Method::POST,
            &format!("/v1.0/directory/deletedItems/{principal}/restore"),
            None,
        )
        .await;
        assert_eq!(status, 200, "{back}");
        assert_eq!(back["@odata.type"], "#microsoft.graph.servicePrincipal");
        let (_, after) = call(&sim, &t, Method::GET, &path, None).await;
        assert_eq!(count(&after), count(&before));
        // Microsoft's own service principal is not the tenant's to delete.
        let (status, _) = call(
            &sim,
            &t,
            Method::DELETE,
            &format!("/v1.0/servicePrincipals/{graph}"),
            None,
        )
        .await;
        assert_eq!(status, 403);
        // Each change counted once per object: 2 grant writes, 2 assignment writes, delete and
        // restore.
        assert_eq!(sim.mutations().total, 6);
    }
}
