//! The loopback HTTP server shared by the token endpoint and Graph: state, routing, the
//! `request-id` / `client-request-id` headers every response carries, and Graph's error body.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, RwLock};

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::auth::{self, IssuedToken};
use super::directory::Tenant;
use super::graph;
use super::rng::fresh_guid;

/// Everything the handlers share.
pub(crate) struct AppState {
    /// `http://127.0.0.1:PORT`, for absolute `@odata.nextLink`s.
    pub base_url: String,
    pub tenants: RwLock<Vec<Tenant>>,
    pub tokens: Mutex<HashMap<String, IssuedToken>>,
    /// Lifetime of newly issued tokens, in seconds (tests shorten it to see expiry).
    pub token_lifetime_secs: AtomicU64,
    /// Scrambles skip tokens so that clients treat them as opaque.
    pub page_key: u64,
    /// Certificates, device codes and refresh tokens.
    pub sign_in: Mutex<super::signin::SignInState>,
    /// Throttling and injected faults.
    pub trouble: Mutex<super::faults::Trouble>,
    /// Directory changes in order, for delta queries.
    pub changes: Mutex<Vec<super::delta::Change>>,
    /// Exchange admin API state (connectors, throttling switch).
    pub exchange: Mutex<super::exchange::ExchangeState>,
    /// Faults injected on the routes that tell who holds a domain.
    pub outside_faults: Mutex<super::discovery::OutsideFaults>,
    /// The custom domain being moved (for the sim-only route that moves it).
    pub domain: String,
    /// Permissions withheld from tokens issued from now on (`--deny-permission`).
    pub denials: Mutex<Vec<super::permissions::Denial>>,
    /// Signs the sim's JWT-shaped access tokens.
    pub token_key: u64,
    /// Permissions granted on top of the default (`--grant-permission`), per tenant or all.
    pub grants: Mutex<Vec<super::permissions::Denial>>,
    /// Write faults, the removal delay and the mutation counters.
    pub writes: Mutex<super::writes::WriteState>,
    /// The domain's zone as its authoritative server serves it (domain verification reads it).
    pub zone: std::sync::Arc<super::dns::Zone>,
}

pub(crate) type Shared = std::sync::Arc<AppState>;

/// The ids of one request, put in the request's extensions by [`request_ids`].
#[derive(Debug, Clone)]
pub(crate) struct RequestIds {
    pub request_id: String,
    /// The caller's `client-request-id`, or the request id when none was sent (as Graph does).
    pub client_request_id: String,
}

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(auth::token))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(super::signin::devicecode),
        )
        .route("/sim/device", post(super::signin::approve_route))
        .route("/sim/domain", post(super::discovery::domain_route))
        .route("/sim/mutations", get(super::writes::mutations_route))
        .route("/sim/object", post(super::writes::object_route))
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(auth::openid_configuration),
        )
        .route(
            "/{tenant}/.well-known/openid-configuration",
            get(auth::openid_configuration),
        )
        .route("/getuserrealm.srf", get(super::discovery::user_realm))
        .route(
            "/v1.0/tenantRelationships/{call}",
            get(super::discovery::tenant_relationships),
        )
        .route("/v1.0/organization", get(graph::organization))
        .route(
            "/v1.0/domains",
            get(graph::domains).post(super::writes::add_domain),
        )
        .route(
            "/v1.0/domains/{id}",
            get(graph::domain)
                .patch(super::writes::patch_domain)
                .delete(super::writes::delete_domain),
        )
        .route(
            "/v1.0/domains/{id}/verify",
            post(super::writes::verify_domain),
        )
        .route(
            "/v1.0/domains/{id}/forceDelete",
            post(super::writes::force_delete_domain),
        )
        .route(
            "/v1.0/domains/{id}/serviceConfigurationRecords",
            get(graph::service_configuration_records),
        )
        .route(
            "/v1.0/domains/{id}/verificationDnsRecords",
            get(graph::verification_dns_records),
        )
        .route(
            "/v1.0/domains/{id}/domainNameReferences",
            get(graph::domain_name_references),
        )
        .route("/v1.0/$batch", post(super::batch::batch))
        .route("/v1.0/users/delta", get(super::delta::users_delta))
        .route("/v1.0/groups/delta", get(super::delta::groups_delta))
        .route("/v1.0/contacts", get(super::extras::contacts_route))
        .route("/v1.0/applications", get(super::extras::applications_route))
        .route(
            "/v1.0/applications/{id}",
            get(super::extras::application_route).patch(super::writes::patch_application),
        )
        .route(
            "/v1.0/servicePrincipals",
            get(super::access::service_principals),
        )
        .route(
            "/v1.0/servicePrincipals/{id}",
            get(super::access::service_principal).delete(super::access::delete_service_principal),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignments",
            get(super::access::app_role_assignments),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo",
            get(super::access::app_role_assigned_to).post(super::access::add_assignment),
        )
        .route(
            "/v1.0/servicePrincipals/{id}/appRoleAssignedTo/{assignment}",
            axum::routing::delete(super::access::delete_assignment),
        )
        .route(
            "/v1.0/oauth2PermissionGrants",
            get(super::access::grants).post(super::access::add_grant),
        )
        .route(
            "/v1.0/oauth2PermissionGrants/{id}",
            get(super::access::grant).delete(super::access::delete_grant),
        )
        .route(
            "/v1.0/directory/deletedItems/{id}/restore",
            post(super::access::restore_deleted_item),
        )
        .route("/v1.0/users", get(graph::users))
        .route(
            "/v1.0/users/{id}",
            get(graph::user).patch(super::writes::patch_user),
        )
        .route("/v1.0/groups", get(graph::groups))
        .route("/v1.0/groups/{id}", get(graph::group))
        .route(
            "/adminapi/beta/{tenant}/InvokeCommand",
            post(super::exchange::invoke_command),
        )
        .route(
            "/adminapi/v2.0/{tenant}/{endpoint}",
            post(super::exchange::admin_api),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::faults::trouble,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::discovery::outside_faults,
        ))
        .layer(axum::middleware::from_fn(request_ids))
        .with_state(state)
}

/// Gives every request its ids and every response the matching headers.
async fn request_ids(mut req: Request, next: Next) -> Response {
    let request_id = fresh_guid();
    let client_request_id = req
        .headers()
        .get("client-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| request_id.clone());
    req.extensions_mut().insert(RequestIds {
        request_id: request_id.clone(),
        client_request_id: client_request_id.clone(),
    });
    let mut resp = next.run(req).await;
    let headers = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        headers.insert("request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(&client_request_id) {
        headers.insert("client-request-id", v);
    }
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// The ids of the current request. The middleware always inserts them; the fallback only
/// guards against the router being used without it.
pub(crate) fn ids_of(extensions: &axum::http::Extensions) -> RequestIds {
    extensions.get::<RequestIds>().cloned().unwrap_or_else(|| {
        let id = fresh_guid();
        RequestIds {
            request_id: id.clone(),
            client_request_id: id,
        }
    })
}

/// Graph's timestamp form in `innerError.date`.
pub(crate) fn graph_date() -> String {
    let now = time::OffsetDateTime::now_utc();
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    now.format(&fmt).unwrap_or_default()
}

/// `{"error":{"code","message","innerError":{"date","request-id","client-request-id"}}}`.
pub(crate) fn graph_error(
    status: StatusCode,
    code: &str,
    message: &str,
    ids: &RequestIds,
) -> Response {
    let body = json!({
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": graph_date(),
                "request-id": ids.request_id,
                "client-request-id": ids.client_request_id,
            }
        }
    });
    (status, axum::Json(body)).into_response()
}

async fn not_found(uri: Uri, req: Request) -> Response {
    let ids = ids_of(req.extensions());
    let path = uri.path();
    if let Some(rest) = path.strip_prefix("/v1.0/") {
        // Graph names the first path segment it could not resolve.
        let segment = rest.split('/').find(|s| !s.is_empty()).unwrap_or(rest);
        let segment = segment.split('(').next().unwrap_or(segment);
        graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("Resource not found for the segment '{segment}'."),
            &ids,
        )
    } else {
        graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("The rehearsal environment does not serve '{path}'."),
            &ids,
        )
    }
}

async fn method_not_allowed(req: Request) -> Response {
    let ids = ids_of(req.extensions());
    graph_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "Specified HTTP method is not allowed for the request target.",
        &ids,
    )
}

/// A header's value as text, if present and printable.
pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
