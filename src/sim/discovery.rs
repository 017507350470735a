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
use super::graph::{METADATA, begin, ok};
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
    let ctx = match begin(&state, &headers, &extensions) {
        Ok(c) => c,
        Err(r) => return *r,
    };
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

impl Sim {
    /// Scenario hook: the `label` tenant lets go of the custom domain (it is removed there,
    /// as after `DELETE /domains/{id}`; the initial domain becomes default if it was).
    /// False if the tenant did not have it.
    pub fn release_domain(&self, label: &str) -> bool {
        let Some(i) = self.tenants.iter().position(|t| t.label == label) else {
            return false;
        };
        let Ok(mut tenants) = self.state.tenants.write() else {
            return false;
        };
        let Some(t) = tenants.get_mut(i) else {
            return false;
        };
        let Some(pos) = t
            .domains
            .iter()
            .position(|d| d.name.eq_ignore_ascii_case(&self.domain))
        else {
            return false;
        };
        let removed = t.domains.remove(pos);
        if removed.is_default {
            for d in t.domains.iter_mut().filter(|d| d.is_initial) {
                d.is_default = true;
            }
        }
        true
    }

    /// Scenario hook: the `label` tenant verifies the custom domain (added first if absent).
    /// Refused while another tenant has it verified: a domain is verified in one tenant at a
    /// time.
    pub fn verify_domain(&self, label: &str) -> Result<(), SimError> {
        let i = self
            .tenants
            .iter()
            .position(|t| t.label == label)
            .ok_or_else(|| SimError::InvalidOptions(format!("no tenant labelled {label}")))?;
        let mut tenants = self
            .state
            .tenants
            .write()
            .map_err(|_| SimError::InvalidOptions("the sim's state is poisoned".into()))?;
        if let Some(h) = holder(&tenants, &self.domain).filter(|h| *h != i) {
            return Err(SimError::InvalidOptions(format!(
                "{} is verified in the {} tenant; release it there first",
                self.domain, tenants[h].label
            )));
        }
        let t = &mut tenants[i];
        match t
            .domains
            .iter_mut()
            .find(|d| d.name.eq_ignore_ascii_case(&self.domain))
        {
            Some(d) => d.is_verified = true,
            None => t.domains.push(Domain {
                name: self.domain.clone(),
                is_default: false,
                is_initial: false,
                is_verified: true,
            }),
        }
        Ok(())
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
