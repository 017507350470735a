//! Graph's write routes the change engine uses, refusing what Microsoft refuses:
//! `PATCH /users/{id}`, `POST /domains`, `POST /domains/{id}/verify`, `PATCH /domains/{id}`,
//! `DELETE /domains/{id}` and `POST /domains/{id}/forceDelete`. Every mutating request (Graph
//! and Exchange) goes through [`begin`]/[`finish`] here: it may be failed with 503 before it is
//! applied (`write_error_rate`) or have its connection cut after it was applied
//! (`apply_then_drop_rate`), and each change is counted per object for exactly-once tests.

use std::collections::HashMap;
use std::sync::RwLockWriteGuard;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::authorize_token;
use super::conn::Peer;
use super::directory::{Domain, DomainOperation, Tenant, address_in_domain};
use super::graph::{METADATA, domain_json};
use super::http::{RequestIds, Shared, graph_date, graph_error, ids_of};
use super::permissions::{self, Required};

/// Forced deletion renames at most this many objects (Microsoft's limit).
pub(crate) const FORCE_DELETE_LIMIT: usize = 1000;

/// Write faults and the mutation counters.
#[derive(Debug, Default)]
pub(crate) struct WriteState {
    pub removal_delay: Duration,
    pub error_rate: f64,
    pub drop_rate: f64,
    pub rng: u64,
    /// (tenant index, object id) → requests that changed it.
    pub mutations: HashMap<(usize, String), u64>,
    /// Mutating requests that changed state.
    pub total: u64,
    /// Writes failed before applying, and writes applied whose answer was dropped.
    pub failed: u64,
    pub dropped: u64,
    /// Mutating requests received (authorized), whatever became of them: read-only mode
    /// must leave this at 0.
    pub received: u64,
}

impl WriteState {
    fn roll(&mut self) -> f64 {
        super::rng::fraction(&mut self.rng)
    }
}

/// What becomes of one mutating request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    Apply,
    /// Answer 503 without applying.
    Fail,
    /// Apply, then cut the connection before answering.
    ApplyThenDrop,
}

/// Roll the fate of a mutating request (after it was authorized).
pub(crate) fn fate(state: &Shared) -> Fate {
    let Ok(mut w) = state.writes.lock() else {
        return Fate::Apply;
    };
    w.received += 1;
    let roll = w.roll();
    if roll < w.error_rate {
        w.failed += 1;
        Fate::Fail
    } else if roll < w.error_rate + w.drop_rate {
        w.dropped += 1;
        Fate::ApplyThenDrop
    } else {
        Fate::Apply
    }
}

/// Count one request that changed these objects (each once).
pub(crate) fn count(state: &Shared, tenant: usize, objects: &[String]) {
    if objects.is_empty() {
        return;
    }
    if let Ok(mut w) = state.writes.lock() {
        w.total += 1;
        let mut seen: Vec<String> = Vec::new();
        for id in objects {
            let key = id.to_ascii_lowercase();
            if seen.contains(&key) {
                continue;
            }
            *w.mutations.entry((tenant, key.clone())).or_insert(0) += 1;
            seen.push(key);
        }
    }
}

/// Hand back the answer, or cut the connection so that it never arrives.
pub(crate) fn finish(fate: Fate, extensions: &Extensions, resp: Response) -> Response {
    if fate == Fate::ApplyThenDrop
        && let Some(ConnectInfo(peer)) = extensions.get::<ConnectInfo<Peer>>()
    {
        peer.cut.pull();
    }
    resp
}

fn unavailable(ids: &RequestIds) -> Response {
    graph_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "serviceNotAvailable",
        "The service is temporarily unavailable; the write was not applied (injected by the rehearsal environment).",
        ids,
    )
}

fn bad(message: &str, ids: &RequestIds) -> Response {
    graph_error(StatusCode::BAD_REQUEST, "Request_BadRequest", message, ids)
}

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

pub(super) fn poisoned(ids: &RequestIds) -> Response {
    graph_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "generalException",
        "The rehearsal environment's state is unusable after an earlier panic.",
        ids,
    )
}

/// A signed-in, permitted write: its ids, tenant and fate. `Err` is the answer already.
pub(super) struct Begun {
    pub(super) ids: RequestIds,
    pub(super) tenant: usize,
    pub(super) fate: Fate,
}

pub(super) fn begin(
    state: &Shared,
    headers: &HeaderMap,
    extensions: &Extensions,
    required: &Required,
) -> Result<Begun, Box<Response>> {
    let ids = ids_of(extensions);
    let token = authorize_token(state, headers, &ids)?;
    if !permissions::permits(&token, required) {
        return Err(Box::new(permissions::graph_forbidden(&ids)));
    }
    let fate = fate(state);
    if fate == Fate::Fail {
        return Err(Box::new(unavailable(&ids)));
    }
    Ok(Begun {
        ids,
        tenant: token.tenant,
        fate,
    })
}

/// The JSON object in a request body; an empty body is an empty object.
pub(super) fn body_object(
    body: &Bytes,
    ids: &RequestIds,
) -> Result<Map<String, Value>, Box<Response>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Box::new(graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.",
            ids,
        ))),
    }
}

fn lock_tenants<'a>(
    state: &'a Shared,
    ids: &RequestIds,
) -> Result<RwLockWriteGuard<'a, Vec<Tenant>>, Box<Response>> {
    state.tenants.write().map_err(|_| Box::new(poisoned(ids)))
}

/// Record a directory change for delta queries (under the tenants' write lock).
fn record_change(state: &Shared, tenant: usize, users: bool, id: &str) {
    if let Ok(mut c) = state.changes.lock() {
        c.push(super::delta::Change {
            tenant,
            users,
            id: id.to_string(),
        });
    }
}

const SYNCED: &str = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";
const UNVERIFIED_UPN: &str = "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.";

/// `PATCH /v1.0/users/{id}`: `userPrincipalName`, `accountEnabled`, `displayName`.
/// `proxyAddresses` is read-only in Graph and `mail` belongs to Exchange for a user with a
/// mailbox; synced users are refused whole; a UPN must be on a verified domain and unique.
pub(crate) async fn patch_user(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let b = try_resp!(begin(
        &state,
        &headers,
        &extensions,
        &permissions::USER_WRITE
    ));
    let ids = &b.ids;
    let fields = try_resp!(body_object(&body, ids));
    let mut tenants = try_resp!(lock_tenants(&state, ids));
    let Some(t) = tenants.get_mut(b.tenant) else {
        return poisoned(ids);
    };
    let Some(i) = t.user_position(&id) else {
        return not_found(&id, ids);
    };
    if t.users[i].on_premises_sync_enabled == Some(true) {
        return finish(b.fate, &extensions, bad(SYNCED, ids));
    }
    let mut upn = None;
    let mut enabled = None;
    let mut display = None;
    for (key, value) in &fields {
        match key.as_str() {
            "userPrincipalName" => match value.as_str() {
                Some(v) => upn = Some(v.trim().to_string()),
                None => {
                    return bad(
                        "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
                        ids,
                    );
                }
            },
            "accountEnabled" => match value.as_bool() {
                Some(v) => enabled = Some(v),
                None => {
                    return bad(
                        "Invalid value specified for property 'accountEnabled' of resource 'User'.",
                        ids,
                    );
                }
            },
            "displayName" => match value.as_str() {
                Some(v) if !v.trim().is_empty() => display = Some(v.to_string()),
                _ => {
                    return bad(
                        "Invalid value specified for property 'displayName' of resource 'User'.",
                        ids,
                    );
                }
            },
            "proxyAddresses" => {
                return bad(
                    "Property 'proxyAddresses' is read-only and cannot be set.",
                    ids,
                );
            }
            "mail" if !t.users[i].proxy_addresses.is_empty() => {
                return bad(
                    "Unable to update the specified properties for objects that have originated within an external service.",
                    ids,
                );
            }
            other => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!(
                        "Property '{other}' does not exist on type 'microsoft.graph.user' or cannot be written by the rehearsal environment."
                    ),
                    ids,
                );
            }
        }
    }
    if let Some(new) = &upn {
        let Some((local, host)) = new
            .rsplit_once('@')
            .filter(|(l, h)| !l.is_empty() && !h.is_empty())
        else {
            return bad(
                "Invalid value specified for property 'userPrincipalName' of resource 'User'.",
                ids,
            );
        };
        let _ = local;
        let verified = t
            .domains
            .iter()
            .any(|d| d.is_verified && d.operation.is_none() && d.name.eq_ignore_ascii_case(host));
        if !verified {
            return finish(b.fate, &extensions, bad(UNVERIFIED_UPN, ids));
        }
        if t.user_position(new).is_some_and(|j| j != i) {
            return finish(
                b.fate,
                &extensions,
                bad(
                    "Another object with the same value for property userPrincipalName already exists.",
                    ids,
                ),
            );
        }
    }
    let u = &mut t.users[i];
    let mut changed = false;
    if let Some(new) = upn
        && new != u.user_principal_name
    {
        rename_upn(u, &new);
        changed = true;
    }
    if let Some(e) = enabled
        && e != u.account_enabled
    {
        u.account_enabled = e;
        changed = true;
    }
    if let Some(d) = display
        && d != u.display_name
    {
        u.display_name = d;
        changed = true;
    }
    let user_id = u.id.clone();
    if changed {
        t.reindex();
        record_change(&state, b.tenant, true, &user_id);
        count(&state, b.tenant, &[user_id]);
    }
    finish(b.fate, &extensions, StatusCode::NO_CONTENT.into_response())
}

/// A new UPN, and Exchange's recalculation of a mailbox user's addresses: when the primary
/// SMTP address followed the old UPN, the new UPN becomes primary and the old primary stays as
/// a secondary (so the old domain is still referenced until that alias is removed).
fn rename_upn(u: &mut super::directory::User, new: &str) {
    let old = std::mem::replace(&mut u.user_principal_name, new.to_string());
    let followed = u
        .mail
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case(&old));
    if u.proxy_addresses.is_empty() || !followed {
        return;
    }
    for a in u.proxy_addresses.iter_mut() {
        if let Some(rest) = a.strip_prefix("SMTP:") {
            *a = format!("smtp:{rest}");
        }
    }
    let existing = u.proxy_addresses.iter_mut().find(|a| {
        a.split_once(':')
            .is_some_and(|(p, r)| p.eq_ignore_ascii_case("smtp") && r.eq_ignore_ascii_case(new))
    });
    match existing {
        Some(a) => *a = format!("SMTP:{new}"),
        None => u.proxy_addresses.push(format!("SMTP:{new}")),
    }
    u.mail = Some(new.to_string());
}

/// Where a domain is verified, other than in `except`.
fn verified_elsewhere(tenants: &[Tenant], except: usize, domain: &str) -> bool {
    tenants.iter().enumerate().any(|(i, t)| {
        i != except
            && t.domains
                .iter()
                .any(|d| d.is_verified && d.name.eq_ignore_ascii_case(domain))
    })
}

fn domain_answer(status: StatusCode, t: &Tenant, name: &str) -> Response {
    let mut body = domain_json(t, name).unwrap_or(Value::Null);
    if let Some(obj) = body.as_object_mut() {
        obj.insert(
            "@odata.context".into(),
            json!(format!("{METADATA}#domains/$entity")),
        );
    }
    (status, axum::Json(body)).into_response()
}

/// `POST /v1.0/domains` `{"id": "contoso.com"}` → 201, unverified.
pub(crate) async fn add_domain(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let b = try_resp!(begin(
        &state,
        &headers,
        &extensions,
        &permissions::DOMAIN_WRITE
    ));
    let ids = &b.ids;
    let fields = try_resp!(body_object(&body, ids));
    let Some(name) = fields.get("id").and_then(Value::as_str) else {
        return bad("Property 'id' is required to create a domain.", ids);
    };
    let Ok(name) = super::normalise_domain(name) else {
        return bad(&format!("The domain name '{name}' is invalid."), ids);
    };
    let mut tenants = try_resp!(lock_tenants(&state, ids));
    if verified_elsewhere(&tenants, b.tenant, &name) {
        let resp = bad(
            &format!(
                "The domain '{name}' is already verified in another organization. It must be removed there before it can be added here."
            ),
            ids,
        );
        return finish(b.fate, &extensions, resp);
    }
    let Some(t) = tenants.get_mut(b.tenant) else {
        return poisoned(ids);
    };
    if t.domain(&name).is_some() {
        let resp = bad(
            "Another object with the same value for property id already exists.",
            ids,
        );
        return finish(b.fate, &extensions, resp);
    }
    t.domains.push(Domain {
        name: name.clone(),
        is_default: false,
        is_initial: false,
        is_verified: false,
        federated: false,
        operation: None,
    });
    count(&state, b.tenant, std::slice::from_ref(&name));
    let resp = domain_answer(StatusCode::CREATED, t, &name);
    finish(b.fate, &extensions, resp)
}

/// `POST /v1.0/domains/{id}/verify`: only while unverified, only when this tenant's
/// `MS=ms…` TXT is served by the domain's authoritative server, only if no other tenant has
/// the domain verified.
pub(crate) async fn verify_domain(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let b = try_resp!(begin(
        &state,
        &headers,
        &extensions,
        &permissions::DOMAIN_WRITE
    ));
    let ids = &b.ids;
    // Read the zone before locking the directory: DNS and directory locks never nest.
    let served = state.zone.apex_txt(&id).unwrap_or_default();
    let mut tenants = try_resp!(lock_tenants(&state, ids));
    let elsewhere = verified_elsewhere(&tenants, b.tenant, &id);
    let Some(t) = tenants.get_mut(b.tenant) else {
        return poisoned(ids);
    };
    let Some(d) = t.domain(&id) else {
        return not_found(&id, ids);
    };
    let name = d.name.clone();
    let refusal = if d.is_verified {
        Some("The domain is already verified.".to_string())
    } else if elsewhere {
        Some(format!(
            "Domain verification failed: '{name}' is already verified in another organization."
        ))
    } else {
        let wanted = format!("MS=ms{}", t.verification_digits);
        (!served.iter().any(|s| s == &wanted)).then(|| {
            format!("Domain verification failed: the DNS TXT record '{wanted}' was not found at '{name}'. Publish it at your DNS host and try again once it is visible.")
        })
    };
    if let Some(message) = refusal {
        return finish(b.fate, &extensions, bad(&message, ids));
    }
    if let Some(d) = t.domains.iter_mut().find(|d| d.name == name) {
        d.is_verified = true;
    }
    count(&state, b.tenant, std::slice::from_ref(&name));
    let resp = domain_answer(StatusCode::OK, t, &name);
    finish(b.fate, &extensions, resp)
}

/// `PATCH /v1.0/domains/{id}` `{"isDefault": true}`: verified, managed domains only; the
/// default cannot be unset (another one is made default instead).
pub(crate) async fn patch_domain(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let b = try_resp!(begin(
        &state,
        &headers,
        &extensions,
        &permissions::DOMAIN_WRITE
    ));
    let ids = &b.ids;
    let fields = try_resp!(body_object(&body, ids));
    let mut make_default = None;
    for (key, value) in &fields {
        match (key.as_str(), value.as_bool()) {
            ("isDefault", Some(v)) => make_default = Some(v),
            _ => {
                return bad(
                    &format!(
                        "Property '{key}' cannot be updated by the rehearsal environment (isDefault can)."
                    ),
                    ids,
                );
            }
        }
    }
    let mut tenants = try_resp!(lock_tenants(&state, ids));
    let Some(t) = tenants.get_mut(b.tenant) else {
        return poisoned(ids);
    };
    let Some(d) = t.domain(&id) else {
        return not_found(&id, ids);
    };
    let name = d.name.clone();
    let refusal = match make_default {
        Some(true) if !d.is_verified => {
            Some("Unverified domains cannot be set as the default domain.")
        }
        Some(true) if d.federated => Some("Federated domains cannot be set as the default domain."),
        Some(true) if d.operation.is_some() => Some("The domain is being deleted."),
        Some(false) if d.is_default => {
            Some("The default domain cannot be unset; set another domain as the default instead.")
        }
        _ => None,
    };
    if let Some(message) = refusal {
        return finish(b.fate, &extensions, bad(message, ids));
    }
    let mut changed = Vec::new();
    if make_default == Some(true) && !d.is_default {
        for d in t.domains.iter_mut() {
            let now = d.name == name;
            if d.is_default != now {
                d.is_default = now;
                changed.push(d.name.clone());
            }
        }
    }
    count(&state, b.tenant, &changed);
    finish(b.fate, &extensions, StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /v1.0/applications/{id}` `{"identifierUris": [...]}` → 204. Microsoft's rules: each
/// URI absolute; its host a verified domain of this tenant (or under one), unless it is an
/// `api://` URI named by the app's own appId or the tenant id (`api://<appId>`, the default);
/// no URI used by another application of the tenant. Other properties are refused.
pub(crate) async fn patch_application(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let b = try_resp!(begin(
        &state,
        &headers,
        &extensions,
        &permissions::APPLICATION_WRITE
    ));
    let ids = &b.ids;
    let fields = try_resp!(body_object(&body, ids));
    let mut uris: Option<Vec<String>> = None;
    for (key, value) in &fields {
        match key.as_str() {
            "identifierUris" => {
                let list = value.as_array().and_then(|a| {
                    a.iter()
                        .map(|v| v.as_str().map(|s| s.trim().to_string()))
                        .collect::<Option<Vec<String>>>()
                });
                match list {
                    Some(l) => uris = Some(l),
                    None => {
                        return bad(
                            "Invalid value specified for property 'identifierUris' of resource 'Application'.",
                            ids,
                        );
                    }
                }
            }
            other => {
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!(
                        "Property '{other}' does not exist on type 'microsoft.graph.application' or cannot be written by the rehearsal environment."
                    ),
                    ids,
                );
            }
        }
    }
    let mut tenants = try_resp!(lock_tenants(&state, ids));
    let Some(t) = tenants.get_mut(b.tenant) else {
        return poisoned(ids);
    };
    let Some(i) = t
        .applications
        .iter()
        .position(|a| a.id.eq_ignore_ascii_case(&id))
    else {
        return not_found(&id, ids);
    };
    let Some(new) = uris else {
        return finish(b.fate, &extensions, StatusCode::NO_CONTENT.into_response());
    };
    if let Some(message) = identifier_uris_refusal(t, i, &new) {
        let resp = if message.starts_with("Values of identifierUris") {
            graph_error(
                StatusCode::BAD_REQUEST,
                "HostNameNotOnVerifiedDomain",
                &message,
                ids,
            )
        } else {
            bad(&message, ids)
        };
        return finish(b.fate, &extensions, resp);
    }
    let app = &mut t.applications[i];
    if app.identifier_uris != new {
        app.identifier_uris = new;
        let app_id = app.id.clone();
        count(&state, b.tenant, &[app_id]);
    }
    finish(b.fate, &extensions, StatusCode::NO_CONTENT.into_response())
}

/// Why Microsoft would refuse `uris` as application `i`'s identifier URIs, if it would.
fn identifier_uris_refusal(t: &Tenant, i: usize, uris: &[String]) -> Option<String> {
    let app = &t.applications[i];
    let verified = |host: &str| {
        t.domains.iter().any(|d| {
            d.is_verified
                && d.operation.is_none()
                && (host.eq_ignore_ascii_case(&d.name)
                    || host
                        .to_ascii_lowercase()
                        .ends_with(&format!(".{}", d.name.to_ascii_lowercase())))
        })
    };
    for (n, uri) in uris.iter().enumerate() {
        let Some((scheme, rest)) = uri.split_once("://") else {
            return Some(format!(
                "Invalid value specified for property 'identifierUris' of resource 'Application': '{uri}' is not an absolute URI."
            ));
        };
        let host = rest.split(['/', ':', '?', '#']).next().unwrap_or_default();
        if scheme.is_empty() || host.is_empty() {
            return Some(format!(
                "Invalid value specified for property 'identifierUris' of resource 'Application': '{uri}' is not an absolute URI."
            ));
        }
        let own_id = scheme.eq_ignore_ascii_case("api")
            && (host.eq_ignore_ascii_case(&app.app_id) || host.eq_ignore_ascii_case(&t.id));
        if !own_id && !verified(host) {
            return Some(format!(
                "Values of identifierUris property must use a verified domain of the organization or its subdomain: '{uri}'"
            ));
        }
        let taken = uris.iter().take(n).any(|u| u.eq_ignore_ascii_case(uri))
            || t.applications.iter().enumerate().any(|(j, other)| {
                j != i
                    && other
                        .identifier_uris
                        .iter()
                        .any(|u| u.eq_ignore_ascii_case(uri))
            });
        if taken {
            return Some(
                "Another object with the same value for property identifierUris already exists."
                    .to_string(),
            );
        }
    }
    None
}

/// What references a domain: users, groups and contacts by address, applications by
/// identifier URI.
struct References {
    users: Vec<usize>,
    groups: Vec<usize>,
    contacts: Vec<usize>,
    applications: Vec<usize>,
}

impl References {
    fn of(t: &Tenant, domain: &str) -> References {
        References {
            users: positions(&t.users, |u| u.references(domain)),
            groups: positions(&t.groups, |g| g.references(domain)),
            contacts: positions(&t.contacts, |c| {
                c.mail
                    .as_deref()
                    .is_some_and(|m| address_in_domain(m, domain))
                    || c.proxy_addresses
                        .iter()
                        .any(|p| address_in_domain(p, domain))
            }),
            applications: positions(&t.applications, |a| {
                a.identifier_uris.iter().any(|u| uri_in_domain(u, domain))
            }),
        }
    }
    fn total(&self) -> usize {
        self.users.len() + self.groups.len() + self.contacts.len() + self.applications.len()
    }
}

fn positions<T>(items: &[T], f: impl Fn(&T) -> bool) -> Vec<usize> {
    items
        .iter()
        .enumerate()
        .filter(|(_, x)| f(x))
        .map(|(i, _)| i)
        .collect()
}

/// `api://contoso.com/app`, `https://contoso.com/x`, `https://app.contoso.com`: the URI's host
/// is the domain or under it.
fn uri_in_domain(uri: &str, domain: &str) -> bool {
    let rest = uri.split_once("://").map_or(uri, |(_, r)| r);
    let host = rest.split(['/', ':', '?', '#']).next().unwrap_or(rest);
    let host = host.to_ascii_lowercase();
    let domain = domain.to_ascii_lowercase();
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// Refusals common to both kinds of removal.
fn removal_refusal(d: &Domain) -> Option<&'static str> {
    if d.is_initial {
        Some("The initial domain cannot be deleted.")
    } else if d.is_default {
        Some("The default domain cannot be deleted. Set another domain as the default first.")
    } else if d.operation.is_some() {
        Some("An operation on this domain is already in progress.")
    } else {
        None
    }
}

/// `DELETE /v1.0/domains/{id}` → 204, completed asynchronously; refused while anything
/// references the domain.
pub(crate) async fn delete_domain(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let b = try_resp!(begin(
        &state,
        &headers,
        &extensions,
        &permissions::DOMAIN_WRITE
    ));
    let ids = &b.ids;
    let mut tenants = try_resp!(lock_tenants(&state, ids));
    let Some(t) = tenants.get_mut(b.tenant) else {
        return poisoned(ids);
    };
    let Some(d) = t.domain(&id) else {
        return not_found(&id, ids);
    };
    let name = d.name.clone();
    if let Some(message) = removal_refusal(d) {
        return finish(b.fate, &extensions, bad(message, ids));
    }
    let refs = References::of(t, &name);
    if refs.total() > 0 {
        let message = format!(
            "Unable to delete the domain '{name}': {} object(s) still reference it ({} users, {} groups, {} contacts, {} applications). Use GET /domains/{name}/domainNameReferences to find them, or forceDelete.",
            refs.total(),
            refs.users.len(),
            refs.groups.len(),
            refs.contacts.len(),
            refs.applications.len()
        );
        return finish(b.fate, &extensions, bad(&message, ids));
    }
    schedule_removal(&state, t, b.tenant, &name, "Delete");
    count(&state, b.tenant, &[name]);
    finish(b.fate, &extensions, StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1.0/domains/{id}/forceDelete` `{"disableUserAccounts": bool}` (default true):
/// renames the references to the initial domain, then removes the domain asynchronously.
pub(crate) async fn force_delete_domain(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let b = try_resp!(begin(
        &state,
        &headers,
        &extensions,
        &permissions::DOMAIN_WRITE
    ));
    let ids = &b.ids;
    let fields = try_resp!(body_object(&body, ids));
    let mut disable = true;
    for (key, value) in &fields {
        match (key.as_str(), value.as_bool()) {
            ("disableUserAccounts", Some(v)) => disable = v,
            _ => {
                return bad(
                    &format!(
                        "Invalid parameter '{key}' for action 'forceDelete' (disableUserAccounts is a boolean)."
                    ),
                    ids,
                );
            }
        }
    }
    let mut tenants = try_resp!(lock_tenants(&state, ids));
    let Some(t) = tenants.get_mut(b.tenant) else {
        return poisoned(ids);
    };
    let Some(d) = t.domain(&id) else {
        return not_found(&id, ids);
    };
    let name = d.name.clone();
    let refusal = removal_refusal(d).map(str::to_string).or_else(|| {
        d.federated.then(|| {
            "Federated domains cannot be force deleted. Convert the domain to managed first."
                .to_string()
        })
    });
    if let Some(message) = refusal {
        return finish(b.fate, &extensions, bad(&message, ids));
    }
    let refs = References::of(t, &name);
    // Contacts are Exchange's to change: forceDelete does not rename them.
    let renamed = refs.users.len() + refs.groups.len() + refs.applications.len();
    if renamed > FORCE_DELETE_LIMIT {
        let message = format!(
            "Unable to force delete the domain '{name}': {renamed} objects would be renamed, more than the limit of {FORCE_DELETE_LIMIT}."
        );
        return finish(b.fate, &extensions, bad(&message, ids));
    }
    if let Some(&a) = refs
        .applications
        .iter()
        .find(|&&a| t.applications[a].multitenant)
    {
        let message = format!(
            "Unable to force delete the domain '{name}': the multi-tenant application '{}' uses it.",
            t.applications[a].display_name
        );
        return finish(b.fate, &extensions, bad(&message, ids));
    }
    let initial = t.initial_domain.clone();
    let mut changed = vec![name.clone()];
    for &i in &refs.users {
        let u = &mut t.users[i];
        u.user_principal_name = moved(&u.user_principal_name, &name, &initial);
        u.mail = u.mail.as_deref().map(|m| moved(m, &name, &initial));
        for p in u.proxy_addresses.iter_mut() {
            *p = moved(p, &name, &initial);
        }
        if disable {
            u.account_enabled = false;
        }
        changed.push(u.id.clone());
    }
    for &g in &refs.groups {
        let grp = &mut t.groups[g];
        grp.mail = grp.mail.as_deref().map(|m| moved(m, &name, &initial));
        for p in grp.proxy_addresses.iter_mut() {
            *p = moved(p, &name, &initial);
        }
        changed.push(grp.id.clone());
    }
    for &a in &refs.applications {
        let app = &mut t.applications[a];
        for u in app.identifier_uris.iter_mut() {
            *u = u.replacen(&name, &initial, 1);
        }
        changed.push(app.id.clone());
    }
    t.reindex();
    for &i in &refs.users {
        record_change(&state, b.tenant, true, &t.users[i].id);
    }
    for &g in &refs.groups {
        record_change(&state, b.tenant, false, &t.groups[g].id);
    }
    schedule_removal(&state, t, b.tenant, &name, "ForceDelete");
    count(&state, b.tenant, &changed);
    finish(b.fate, &extensions, StatusCode::NO_CONTENT.into_response())
}

/// `local@domain` (with any `SMTP:` prefix kept) → `local@initial`; other values unchanged.
fn moved(address: &str, domain: &str, initial: &str) -> String {
    match address.rsplit_once('@') {
        Some((head, host)) if host.eq_ignore_ascii_case(domain) => format!("{head}@{initial}"),
        _ => address.to_string(),
    }
}

/// Mark the domain as being removed and remove it after the configured delay (Microsoft
/// takes minutes to a day); until then `GET /domains/{id}` still finds it.
fn schedule_removal(
    state: &Shared,
    t: &mut Tenant,
    tenant: usize,
    name: &str,
    operation: &'static str,
) {
    if let Some(d) = t.domains.iter_mut().find(|d| d.name == name) {
        d.operation = Some(DomainOperation {
            operation,
            since: graph_date(),
        });
    }
    let delay = state
        .writes
        .lock()
        .map(|w| w.removal_delay)
        .unwrap_or_default();
    let weak = std::sync::Arc::downgrade(state);
    let name = name.to_string();
    tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let Some(state) = weak.upgrade() else {
            return;
        };
        let Ok(mut tenants) = state.tenants.write() else {
            return;
        };
        if let Some(t) = tenants.get_mut(tenant) {
            let before = t.domains.len();
            t.domains
                .retain(|d| !(d.name == name && d.operation.is_some()));
            if t.domains.len() < before {
                // The accepted domain goes, and its DKIM signing config with it.
                t.dkim.retain(|k| !k.domain.eq_ignore_ascii_case(&name));
            }
        }
    });
}

/// Mutating requests that changed state, per object and in total.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mutations {
    /// (tenant label, object id lower-cased — a domain's id is its name) → requests.
    pub per_object: std::collections::BTreeMap<(String, String), u64>,
    pub total: u64,
    /// Writes answered 503 before being applied, and writes applied whose answer was cut.
    pub failed: u64,
    pub dropped: u64,
    /// Mutating requests received, including those that changed nothing or failed.
    pub received: u64,
}

impl Mutations {
    /// Requests that changed one object (0 if none did).
    pub fn of(&self, label: &str, id: &str) -> u64 {
        self.per_object
            .get(&(label.to_string(), id.to_ascii_lowercase()))
            .copied()
            .unwrap_or(0)
    }
}

impl super::Sim {
    /// The mutation counters so far (Graph and Exchange writes).
    pub fn mutations(&self) -> Mutations {
        mutations_of(&self.state)
    }

    /// Change the write faults from now on (fractions 0..=1).
    pub fn set_write_faults(&self, error_rate: f64, apply_then_drop_rate: f64) {
        if let Ok(mut w) = self.state.writes.lock() {
            w.error_rate = error_rate.clamp(0.0, 1.0);
            w.drop_rate = apply_then_drop_rate.clamp(0.0, 1.0 - w.error_rate);
        }
    }

    /// Grant a permission to tokens issued from now on (`Domain.ReadWrite.All` or
    /// `source:Domain.ReadWrite.All`), as an admin consenting to it.
    pub fn grant_permission(&self, value: &str) -> Result<(), super::SimError> {
        let grant = permissions::parse_denial(value, &super::TENANT_LABELS)
            .map_err(super::SimError::InvalidOptions)?;
        self.state
            .grants
            .lock()
            .map(|mut g| g.push(grant))
            .map_err(|_| super::SimError::InvalidOptions("the rehearsal state is unusable".into()))
    }

    /// Scenario hook: make a domain of the `label` tenant federated (or managed again).
    pub fn set_domain_federated(&self, label: &str, domain: &str, federated: bool) -> bool {
        self.edit_tenant(label, |t| {
            t.domains
                .iter_mut()
                .find(|d| d.name.eq_ignore_ascii_case(domain))
                .map(|d| d.federated = federated)
                .is_some()
        })
    }

    /// Scenario hook: an application registration (by object id) becomes multi-tenant.
    pub fn set_application_multitenant(&self, label: &str, id: &str, multitenant: bool) -> bool {
        self.edit_tenant(label, |t| {
            t.applications
                .iter_mut()
                .find(|a| a.id.eq_ignore_ascii_case(id))
                .map(|a| a.multitenant = multitenant)
                .is_some()
        })
    }

    /// Scenario hook: a user (by id or UPN) becomes directory-synced.
    pub fn set_user_synced(&self, label: &str, key: &str, synced: bool) -> bool {
        set_synced(&self.state, label, key, synced).is_some()
    }

    fn edit_tenant(&self, label: &str, f: impl FnOnce(&mut Tenant) -> bool) -> bool {
        let Some(i) = self.tenants.iter().position(|t| t.label == label) else {
            return false;
        };
        match self.state.tenants.write() {
            Ok(mut tenants) => tenants.get_mut(i).is_some_and(f),
            Err(_) => false,
        }
    }
}

/// Mark a user (by id or UPN) of the `label` tenant directory-synced or cloud-only again; its
/// id, or `None` when there is no such tenant or user. Graph's delta sees the change, as it
/// would see a real sync flip.
fn set_synced(state: &Shared, label: &str, key: &str, synced: bool) -> Option<String> {
    let mut tenants = state.tenants.write().ok()?;
    let tenant = tenants.iter().position(|t| t.label == label)?;
    let t = tenants.get_mut(tenant)?;
    let i = t.user_position(key)?;
    t.users[i].on_premises_sync_enabled = synced.then_some(true);
    let id = t.users[i].id.clone();
    record_change(state, tenant, true, &id);
    Some(id)
}

/// `POST /sim/object` (form `tenant`, `user` = id or UPN, `synced` = `true`|`false`), a route
/// Microsoft does not have: makes one user directory-synced (or cloud-only again), so that its
/// next UPN or address change is refused with Microsoft's own message — a failure a test or a
/// rehearsal can cause on purpose, in a `cutover sim serve` of another process.
pub(crate) async fn object_route(
    State(state): State<Shared>,
    extensions: Extensions,
    form: Result<
        axum::extract::Form<HashMap<String, String>>,
        axum::extract::rejection::FormRejection,
    >,
) -> Response {
    let ids = ids_of(&extensions);
    let params = form.map(|axum::extract::Form(p)| p).unwrap_or_default();
    let tenant = params.get("tenant").map(String::as_str).unwrap_or_default();
    let Some(user) = params
        .get("user")
        .map(|u| u.trim())
        .filter(|u| !u.is_empty())
    else {
        return bad(
            "user is required: the user's object id or userPrincipalName",
            &ids,
        );
    };
    let synced = match params.get("synced").map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        _ => return bad("synced must be true or false", &ids),
    };
    if !super::TENANT_LABELS.contains(&tenant) {
        return bad(
            &format!("tenant must be one of {}", super::TENANT_LABELS.join(", ")),
            &ids,
        );
    }
    match set_synced(&state, tenant, user, synced) {
        Some(id) => axum::Json(json!({
            "tenant": tenant,
            "id": id,
            "onPremisesSyncEnabled": synced,
        }))
        .into_response(),
        None => not_found(user, &ids),
    }
}

/// The counters, with tenants by label.
fn mutations_of(state: &Shared) -> Mutations {
    let labels: Vec<&'static str> = state
        .tenants
        .read()
        .map(|t| t.iter().map(|t| t.label).collect())
        .unwrap_or_default();
    let Ok(w) = state.writes.lock() else {
        return Mutations::default();
    };
    let label = |i: usize| {
        labels
            .get(i)
            .map_or_else(|| i.to_string(), |l| l.to_string())
    };
    Mutations {
        per_object: w
            .mutations
            .iter()
            .map(|((t, id), n)| ((label(*t), id.clone()), *n))
            .collect(),
        total: w.total,
        failed: w.failed,
        dropped: w.dropped,
        received: w.received,
    }
}

/// `GET /sim/mutations` (rehearsal only, reads nothing secret, changes nothing): the mutation
/// counters as JSON, so tests driving `cutover sim serve` in another process can check that
/// every change was applied exactly once. `per_object` is a list of `{tenant, id, count}`.
pub(crate) async fn mutations_route(State(state): State<Shared>) -> Response {
    let m = mutations_of(&state);
    let per_object: Vec<Value> = m
        .per_object
        .iter()
        .map(|((tenant, id), n)| json!({"tenant": tenant, "id": id, "count": n}))
        .collect();
    axum::Json(json!({
        "total": m.total,
        "failed": m.failed,
        "dropped": m.dropped,
        "received": m.received,
        "per_object": per_object,
    }))
    .into_response()
}
