//! Who holds the domain, as the rehearsal answers it: the user-realm lookup
//! (`/getuserrealm.srf`), Graph's `findTenantInformationByDomainName`, the hooks that move the
//! domain between the tenants (the source lets go, the destination verifies it) and injected
//! faults on these anonymous routes. The OpenID configuration route lives in `auth`; all three
//! read which tenant has the domain verified, so they change together when a hook runs.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, Query, Request, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::directory::Domain;
use super::graph::{METADATA, ok};
use super::http::{Shared, graph_error, ids_of};
use super::{Sim, SimError};

/// The anonymous (and Graph) routes that tell who holds a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutsideRoute {
    OpenidConfiguration,
    UserRealm,
    FindTenantInformation,
}

/// A fault injected on one of those routes until cleared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutsideFault {
    /// Answer with this HTTP status (e.g. 503) and an error body.
    Status(u16),
    /// Answer only after this long (a client with a shorter timeout gives up).
    Delay(Duration),
}

/// Faults per route.
#[derive(Debug, Default)]
pub(crate) struct OutsideFaults(HashMap<OutsideRoute, OutsideFault>);

fn route_of(path: &str) -> Option<OutsideRoute> {
    if path.ends_with("/.well-known/openid-configuration") {
        Some(OutsideRoute::OpenidConfiguration)
    } else if path == "/getuserrealm.srf" {
        Some(OutsideRoute::UserRealm)
    } else if path.starts_with("/v1.0/tenantRelationships/") {
        Some(OutsideRoute::FindTenantInformation)
    } else {
        None
    }
}

/// Middleware: the injected fault of the request's route, if any.
pub(crate) async fn outside_faults(
    State(state): State<Shared>,
    req: Request,
    next: Next,
) -> Response {
    let fault = route_of(req.uri().path()).and_then(|route| {
        state
            .outside_faults
            .lock()
            .ok()
            .and_then(|f| f.0.get(&route).copied())
    });
    match fault {
        None => next.run(req).await,
        Some(OutsideFault::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Some(OutsideFault::Status(code)) => {
            let ids = ids_of(req.extensions());
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            graph_error(
                status,
                "serviceUnavailable",
                "The rehearsal environment injected this fault.",
                &ids,
            )
        }
    }
}

/// Index of the tenant in which `domain` is verified.
fn holder(tenants: &[super::directory::Tenant], domain: &str) -> Option<usize> {
    tenants.iter().position(|t| {
        t.domains
            .iter()
            .any(|d| d.is_verified && d.name.eq_ignore_ascii_case(domain))
    })
}

/// `GET /getuserrealm.srf?login=user@domain&json=1`, in the shape Microsoft's (undocumented)
/// endpoint answers: `NameSpaceType` Managed for a domain verified in a tenant, else Unknown.
pub(crate) async fn user_realm(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let login = query.get("login").cloned().unwrap_or_default();
    let domain = login.rsplit_once('@').map_or("", |(_, d)| d).to_string();
    let held = match state.tenants.read() {
        Ok(tenants) => holder(&tenants, &domain).map(|i| tenants[i].name.clone()),
        Err(_) => None,
    };
    let body = match held {
        Some(brand) => json!({
            "State": 4,
            "UserState": 1,
            "Login": login,
            "NameSpaceType": "Managed",
            "DomainName": domain,
            "FederationBrandName": brand,
            "CloudInstanceName": "microsoftonline.com",
        }),
        None => json!({
            "State": 4,
            "UserState": 1,
            "Login": login,
            "NameSpaceType": "Unknown",
        }),
    };
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// `GET /v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='…')`: any
/// tenant's token may ask; 404 when no tenant has the domain verified.
pub(crate) async fn tenant_relationships(
    State(state): State<Shared>,
    Path(call): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let ctx = begin_or_return!(
        state,
        headers,
        extensions,
        super::permissions::TENANT_INFORMATION
    );
    let domain = call
        .strip_prefix("findTenantInformationByDomainName(domainName='")
        .and_then(|rest| rest.strip_suffix("')"));
    let Some(domain) = domain else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{call}'."),
            &ctx.ids,
        );
    };
    let Some(i) = holder(&ctx.tenants, domain) else {
        return graph_error(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{domain}' does not exist or one of its queried reference-property objects are not present."
            ),
            &ctx.ids,
        );
    };
    let t = &ctx.tenants[i];
    let default = t
        .domains
        .iter()
        .find(|d| d.is_default)
        .map_or(t.initial_domain.as_str(), |d| d.name.as_str());
    ok(json!({
        "@odata.context": format!("{METADATA}#microsoft.graph.tenantInformation"),
        "tenantId": t.id,
        "federationBrandName": null,
        "displayName": t.name,
        "defaultDomainName": default,
    }))
}

/// The `label` tenant lets go of `domain` (removed there; the initial domain becomes default
/// if it was). False if the tenant did not have it.
fn release(state: &Shared, label: &str, domain: &str) -> bool {
    let Ok(mut tenants) = state.tenants.write() else {
        return false;
    };
    let Some(t) = tenants.iter_mut().find(|t| t.label == label) else {
        return false;
    };
    let Some(pos) = t
        .domains
        .iter()
        .position(|d| d.name.eq_ignore_ascii_case(domain))
    else {
        return false;
    };
    let removed = t.domains.remove(pos);
    t.dkim.retain(|k| !k.domain.eq_ignore_ascii_case(domain));
    if removed.is_default {
        for d in t.domains.iter_mut().filter(|d| d.is_initial) {
            d.is_default = true;
        }
    }
    true
}

/// The `label` tenant verifies `domain` (added first if absent); refused while another tenant
/// has it verified.
fn verify(state: &Shared, label: &str, domain: &str) -> Result<(), String> {
    let mut tenants = state
        .tenants
        .write()
        .map_err(|_| "the sim's state is poisoned".to_string())?;
    let i = tenants
        .iter()
        .position(|t| t.label == label)
        .ok_or_else(|| format!("no tenant labelled {label}"))?;
    if let Some(h) = holder(&tenants, domain).filter(|h| *h != i) {
        return Err(format!(
            "{domain} is verified in the {} tenant; release it there first",
            tenants[h].label
        ));
    }
    let t = &mut tenants[i];
    match t
        .domains
        .iter_mut()
        .find(|d| d.name.eq_ignore_ascii_case(domain))
    {
        Some(d) => d.is_verified = true,
        None => t.domains.push(Domain {
            name: domain.to_string(),
            is_default: false,
            is_initial: false,
            is_verified: true,
            federated: false,
            operation: None,
        }),
    }
    Ok(())
}

/// `POST /sim/domain` (`tenant` = source|destination, `action` = release|verify): the
/// rehearsal-only route behind [`Sim::release_domain`] and [`Sim::verify_domain`], so scripts
/// driving `cutover sim serve` can move the domain too.
pub(crate) async fn domain_route(
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
    let domain = state.domain.clone();
    let done = match params.get("action").map(String::as_str) {
        Some("release") if release(&state, tenant, &domain) => Ok(()),
        Some("release") => Err(format!("the {tenant} tenant does not have {domain}")),
        Some("verify") => verify(&state, tenant, &domain),
        _ => Err("action must be release or verify".to_string()),
    };
    match done {
        Ok(()) => Json(json!({ "domain": domain, "tenant": tenant, "done": true })).into_response(),
        Err(message) => graph_error(StatusCode::BAD_REQUEST, "BadRequest", &message, &ids),
    }
}

impl Sim {
    /// Scenario hook: the `label` tenant lets go of the custom domain (it is removed there,
    /// as after `DELETE /domains/{id}`; the initial domain becomes default if it was).
    /// False if the tenant did not have it.
    pub fn release_domain(&self, label: &str) -> bool {
        release(&self.state, label, &self.domain)
    }

    /// Scenario hook: the `label` tenant verifies the custom domain (added first if absent).
    /// Refused while another tenant has it verified: a domain is verified in one tenant at a
    /// time.
    pub fn verify_domain(&self, label: &str) -> Result<(), SimError> {
        verify(&self.state, label, &self.domain).map_err(SimError::InvalidOptions)
    }

    /// Scenario hook: the domain moves from one tenant to the other (release, then verify).
    pub fn move_domain(&self, from: &str, to: &str) -> Result<(), SimError> {
        self.release_domain(from);
        self.verify_domain(to)
    }

    /// Inject a fault on one of the routes that tell who holds a domain (`None` clears it).
    pub fn set_outside_fault(&self, route: OutsideRoute, fault: Option<OutsideFault>) {
        if let Ok(mut f) = self.state.outside_faults.lock() {
            match fault {
                Some(fault) => f.0.insert(route, fault),
                None => f.0.remove(&route),
            };
        }
    }
}
