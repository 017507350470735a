//! The Microsoft identity platform's v2 token endpoint (client credentials) and the bearer-token
//! check in front of Graph. Errors follow AAD's shapes so that the product's sign-in code sees
//! exactly what it would see from `login.microsoftonline.com`.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::directory::Tenant;
use super::http::{RequestIds, Shared, graph_error, header_str, ids_of};
use super::permissions;
use super::rng::{Rng, fresh_guid};
use super::signin;
use crate::graph::pem::b64url;

pub(crate) const DEFAULT_TOKEN_LIFETIME: u64 = 3599;

/// Expired tokens are remembered this long so that they are reported as expired, not unknown.
const EXPIRED_GRACE: Duration = Duration::from_secs(3600);

/// The resource a token was issued for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    Graph,
    Exchange,
}

#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    /// Index into the tenant list.
    pub tenant: usize,
    pub audience: Audience,
    pub expires: Instant,
    /// Signed in by a person (scopes in `scp`) rather than app-only (`roles`).
    pub delegated: bool,
    /// The `roles` or `scp` the token carries, as granted when it was issued.
    pub permissions: Vec<String>,
}

/// Find a tenant by id, initial domain or a domain verified in it.
pub(super) fn resolve_tenant(tenants: &[Tenant], key: &str) -> Option<usize> {
    tenants.iter().position(|t| {
        t.id.eq_ignore_ascii_case(key)
            || t.initial_domain.eq_ignore_ascii_case(key)
            || t.domains
                .iter()
                .any(|d| d.is_verified && d.name.eq_ignore_ascii_case(key))
    })
}

fn aad_timestamp() -> String {
    let fmt = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]Z");
    time::OffsetDateTime::now_utc()
        .format(&fmt)
        .unwrap_or_default()
}

/// AAD's error body: `error`, `error_description` (with trace and correlation ids appended),
/// `error_codes`, `timestamp`, `trace_id`, `correlation_id`, `error_uri`.
pub(super) fn aad_error(
    status: StatusCode,
    error: &str,
    code: u32,
    description: &str,
    ids: &RequestIds,
) -> Response {
    let trace_id = fresh_guid();
    // AAD reports the caller's client-request-id as the correlation id when it is a GUID.
    let correlation_id = if uuid::Uuid::try_parse(&ids.client_request_id).is_ok() {
        ids.client_request_id.clone()
    } else {
        fresh_guid()
    };
    let timestamp = aad_timestamp();
    let body = json!({
        "error": error,
        "error_description": format!(
            "AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\nCorrelation ID: {correlation_id}\r\nTimestamp: {timestamp}"
        ),
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace_id,
        "correlation_id": correlation_id,
        "error_uri": format!("https://login.microsoftonline.com/error?code={code}"),
    });
    (status, Json(body)).into_response()
}

pub(super) fn missing_parameter(name: &str, ids: &RequestIds) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        900144,
        &format!("The request body must contain the following parameter: '{name}'."),
        ids,
    )
}

/// The resource of a delegated scope (`https://graph.microsoft.com/User.Read` or `/.default`).
pub(super) fn audience_of_resource(
    scope: &str,
    tenant_name: &str,
    ids: &RequestIds,
) -> Result<Audience, Box<Response>> {
    let resource = match scope.rsplit_once('/') {
        Some((r, _)) if r.contains("://") => r,
        _ => scope,
    };
    audience_of(&format!("{resource}/.default"), tenant_name, ids)
}

pub(super) fn unknown_tenant(tenant_key: &str, ids: &RequestIds) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
        ids,
    )
}

pub(super) fn unknown_client(client: &str, tenant_name: &str, ids: &RequestIds) -> Response {
    aad_error(
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
        700016,
        &format!(
            "Application with identifier '{client}' was not found in the directory '{tenant_name}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
        ids,
    )
}

/// The audience a client-credentials scope asks for, or the AAD error for it.
fn audience_of(
    scope: &str,
    tenant_name: &str,
    ids: &RequestIds,
) -> Result<Audience, Box<Response>> {
    let scope = scope.trim();
    let Some(resource) = scope.strip_suffix("/.default") else {
        return Err(Box::new(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            &format!(
                "The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI)."
            ),
            ids,
        )));
    };
    let resource = resource.trim_end_matches('/').to_ascii_lowercase();
    match resource.as_str() {
        "https://graph.microsoft.com" | "00000003-0000-0000-c000-000000000000" => {
            Ok(Audience::Graph)
        }
        "https://outlook.office365.com" | "00000002-0000-0ff1-ce00-000000000000" => {
            Ok(Audience::Exchange)
        }
        _ => Err(Box::new(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!(
                "The resource principal named {resource} was not found in the tenant named {tenant_name}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
            ids,
        ))),
    }
}

/// `GET /{tenant}/v2.0/.well-known/openid-configuration` (and the v1 form without `/v2.0`):
/// how anyone can tell which tenant a domain signs in to. The endpoints point back at the
/// rehearsal server; the issuer keeps Microsoft's layout with the tenant id in its path.
pub(crate) async fn openid_configuration(
    State(state): State<Shared>,
    Path(tenant_key): Path<String>,
    uri: axum::http::Uri,
    extensions: Extensions,
) -> Response {
    let ids = ids_of(&extensions);
    let tenant_id = {
        let Ok(tenants) = state.tenants.read() else {
            return poisoned(&ids);
        };
        match resolve_tenant(&tenants, &tenant_key) {
            Some(i) => tenants[i].id.clone(),
            None => {
                return aad_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_tenant",
                    90002,
                    &format!(
                        "Tenant '{tenant_key}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
                    ),
                    &ids,
                );
            }
        }
    };
    let base = &state.base_url;
    let v2 = uri.path().contains("/v2.0/");
    let (issuer, version) = if v2 {
        (format!("{base}/{tenant_id}/v2.0"), "/v2.0")
    } else {
        (format!("https://sts.windows.net/{tenant_id}/"), "")
    };
    Json(json!({
        "token_endpoint": format!("{base}/{tenant_id}/oauth2{version}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{tenant_id}/discovery{version}/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": issuer,
        "authorization_endpoint": format!("{base}/{tenant_id}/oauth2{version}/authorize"),
        "device_authorization_endpoint": format!("{base}/{tenant_id}/oauth2{version}/devicecode"),
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
    }))
    .into_response()
}

/// `POST /{tenant}/oauth2/v2.0/token`.
pub(crate) async fn token(
    State(state): State<Shared>,
    Path(tenant_key): Path<String>,
    extensions: Extensions,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let ids = ids_of(&extensions);
    let (tenant_idx, tenant_id, tenant_name, client_id, secret) = {
        let Ok(tenants) = state.tenants.read() else {
            return poisoned(&ids);
        };
        let Some(idx) = resolve_tenant(&tenants, &tenant_key) else {
            return unknown_tenant(&tenant_key, &ids);
        };
        let t = &tenants[idx];
        (
            idx,
            t.id.clone(),
            t.name.clone(),
            t.client_id.clone(),
            t.client_secret.clone(),
        )
    };
    // A body that is not a form is treated like one without parameters, as AAD does.
    let params = form.map(|Form(p)| p).unwrap_or_default();
    let param = |name: &str| {
        params
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };

    let Some(grant_type) = param("grant_type") else {
        return missing_parameter("grant_type", &ids);
    };
    let known = [
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "refresh_token",
    ];
    if !known.contains(&grant_type) {
        return aad_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            &format!("The app requested an unsupported grant type '{grant_type}'."),
            &ids,
        );
    }
    let Some(request_client) = param("client_id") else {
        return missing_parameter("client_id", &ids);
    };
    if !request_client.eq_ignore_ascii_case(&client_id) {
        return unknown_client(request_client, &tenant_name, &ids);
    }
    if grant_type != "client_credentials" {
        // Delegated grants: the person's consent came with the device code.
        let redeemed = if grant_type == "refresh_token" {
            let Some(rt) = param("refresh_token") else {
                return missing_parameter("refresh_token", &ids);
            };
            signin::redeem_refresh_token(&state, request_client, rt, &ids)
        } else {
            let Some(code) = param("device_code") else {
                return missing_parameter("device_code", &ids);
            };
            signin::redeem_device_code(&state, request_client, code, &ids)
        };
        // A refresh token serves any resource the client may call: the scope says which.
        let redeemed = match (redeemed, grant_type == "refresh_token", param("scope")) {
            (Ok((tenant, _, home)), true, Some(scope)) => {
                match audience_of_resource(scope, &tenant_name, &ids) {
                    Ok(audience) => Ok((tenant, audience, home)),
                    Err(resp) => Err(resp),
                }
            }
            (other, ..) => other,
        };
        return match redeemed {
            Ok((tenant, audience, home)) => {
                let refresh = signin::issue_refresh_token(
                    &state,
                    signin::RefreshGrant {
                        tenant,
                        client_id: client_id.clone(),
                        audience,
                        home: home.clone(),
                    },
                );
                issue(&state, tenant, audience, refresh, Some(home), &ids)
            }
            Err(resp) => *resp,
        };
    }
    let Some(scope) = param("scope") else {
        return missing_parameter("scope", &ids);
    };
    let audience = match audience_of(scope, &tenant_name, &ids) {
        Ok(a) => a,
        Err(resp) => return *resp,
    };
    if let Some(assertion) = param("client_assertion") {
        if param("client_assertion_type")
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return missing_parameter("client_assertion_type", &ids);
        }
        // Entra ID accepts the token URL with the tenant as the caller named it or by id.
        let token_urls = [
            format!("{}/{tenant_key}/oauth2/v2.0/token", state.base_url),
            format!("{}/{tenant_id}/oauth2/v2.0/token", state.base_url),
        ];
        if let Err(resp) =
            signin::check_assertion(&state, tenant_idx, &client_id, &token_urls, assertion, &ids)
        {
            return *resp;
        }
        return issue(&state, tenant_idx, audience, None, None, &ids);
    }
    let Some(request_secret) = param("client_secret") else {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            &ids,
        );
    };
    if request_secret != secret {
        return aad_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
            &ids,
        );
    }
    issue(&state, tenant_idx, audience, None, None, &ids)
}

/// An access token (and a refresh token for delegated grants) in AAD's answer shape. The
/// access token is JWT-shaped as Entra's are, carrying the granted permissions in `roles`
/// (app-only) or `scp` (delegated); the sim still decides from its own record of the token,
/// so an edited payload is an unknown token. `person`: delegated, signed in by a user whose
/// home tenant is `Some(id)` when not this one (Entra then writes it in `idp`).
fn issue(
    state: &Shared,
    tenant_idx: usize,
    audience: Audience,
    refresh_token: Option<String>,
    person: Option<Option<String>>,
    ids: &RequestIds,
) -> Response {
    let delegated = person.is_some();
    let lifetime = state.token_lifetime_secs.load(Ordering::Relaxed);
    let (tenant_id, client_id, initial_domain) = {
        let Ok(tenants) = state.tenants.read() else {
            return poisoned(ids);
        };
        let Some(t) = tenants.get(tenant_idx) else {
            return poisoned(ids);
        };
        (t.id.clone(), t.client_id.clone(), t.initial_domain.clone())
    };
    let grant = match (audience, delegated) {
        (Audience::Graph, false) => permissions::GRAPH_GRANT,
        (Audience::Graph, true) => permissions::GRAPH_DELEGATED_GRANT,
        (Audience::Exchange, false) => permissions::EXCHANGE_GRANT,
        (Audience::Exchange, true) => permissions::EXCHANGE_DELEGATED_GRANT,
    };
    // Extra grants (`--grant-permission`) are Graph's: Exchange's grant already writes.
    let extra = match (audience, state.grants.lock()) {
        (Audience::Graph, Ok(g)) => g.clone(),
        (Audience::Exchange, Ok(_)) => Vec::new(),
        (_, Err(_)) => return poisoned(ids),
    };
    let granted = match state.denials.lock() {
        Ok(d) => permissions::granted_with(grant, &extra, tenant_idx, &d),
        Err(_) => return poisoned(ids),
    };
    let now_unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let principal = Rng::derive(0, &format!("{tenant_id}/{client_id}/principal")).guid();
    let mut claims = json!({
        "aud": match audience {
            Audience::Graph => "https://graph.microsoft.com",
            Audience::Exchange => "https://outlook.office365.com",
        },
        "iss": format!("https://sts.windows.net/{tenant_id}/"),
        "iat": now_unix,
        "nbf": now_unix,
        "exp": now_unix + lifetime,
        "appid": client_id,
        "app_displayname": "cutover rehearsal",
        "idtyp": if delegated { "user" } else { "app" },
        "oid": principal,
        "sub": principal,
        "tid": tenant_id,
        "uti": fresh_guid(),
        "ver": "1.0",
    });
    if let Some(Some(home)) = &person {
        claims["idp"] = json!(format!("https://sts.windows.net/{home}/"));
        claims["scp"] = json!(granted.join(" "));
        claims["upn"] = json!("technician@rehearsal-partner.onmicrosoft.com");
        claims["name"] = json!("Partner Technician");
    } else if delegated {
        claims["scp"] = json!(granted.join(" "));
        claims["upn"] = json!(format!("admin@{initial_domain}"));
        claims["name"] = json!("Rehearsal Admin");
    } else {
        claims["roles"] = json!(granted);
    }
    let access_token = jwt(state.token_key, &claims);
    let now = Instant::now();
    let Ok(mut tokens) = state.tokens.lock() else {
        return poisoned(ids);
    };
    tokens.retain(|_, t| t.expires + EXPIRED_GRACE > now);
    tokens.insert(
        access_token.clone(),
        IssuedToken {
            tenant: tenant_idx,
            audience,
            expires: now + Duration::from_secs(lifetime),
            delegated,
            permissions: granted,
        },
    );
    drop(tokens);
    let mut body = json!({
        "token_type": "Bearer",
        "expires_in": lifetime,
        "ext_expires_in": lifetime,
        "access_token": access_token,
    });
    if let Some(rt) = refresh_token {
        body["refresh_token"] = json!(rt);
        body["scope"] = json!("https://graph.microsoft.com/.default offline_access");
    }
    let mut resp = Json(body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    resp
}

/// `header.payload.signature`, base64url. Entra signs RS256 with keys a client cannot check
/// for Graph tokens anyway; the sim signs HS256 with its own key and says so in the header.
fn jwt(key: u64, claims: &serde_json::Value) -> String {
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "rehearsal"});
    let signing_input = format!(
        "{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(claims.to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key.to_le_bytes());
    let tag = ring::hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", b64url(tag.as_ref()))
}

fn poisoned(ids: &RequestIds) -> Response {
    graph_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "generalException",
        "The rehearsal environment's state is unusable after an earlier panic.",
        ids,
    )
}

fn unauthorized(message: &str, ids: &RequestIds) -> Response {
    let mut resp = graph_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
        ids,
    );
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(
            "Bearer realm=\"\", authorization_uri=\"https://login.microsoftonline.com/common/oauth2/authorize\", client_id=\"00000003-0000-0000-c000-000000000000\"",
        ),
    );
    resp
}

/// The tenant index a Graph request's bearer token belongs to, or the 401 to send.
pub(crate) fn authorize(
    state: &Shared,
    headers: &HeaderMap,
    ids: &RequestIds,
) -> Result<usize, Box<Response>> {
    authorize_token(state, headers, ids).map(|t| t.tenant)
}

/// The issued token a Graph request carries (known, for Graph, not expired), or the 401.
pub(crate) fn authorize_token(
    state: &Shared,
    headers: &HeaderMap,
    ids: &RequestIds,
) -> Result<IssuedToken, Box<Response>> {
    let token = header_str(headers, "authorization")
        .map(str::trim)
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        })
        .filter(|t| !t.is_empty());
    let Some(token) = token else {
        return Err(Box::new(unauthorized("Access token is empty.", ids)));
    };
    let issued = match state.tokens.lock() {
        Ok(tokens) => tokens.get(token).cloned(),
        Err(_) => return Err(Box::new(poisoned(ids))),
    };
    let Some(issued) = issued else {
        return Err(Box::new(unauthorized(
            "Access token validation failure. The token was not issued by this environment.",
            ids,
        )));
    };
    if issued.audience != Audience::Graph {
        return Err(Box::new(unauthorized(
            "Access token validation failure. Invalid audience.",
            ids,
        )));
    }
    if Instant::now() >= issued.expires {
        return Err(Box::new(unauthorized(
            "Lifetime validation failed, the token is expired.",
            ids,
        )));
    }
    Ok(issued)
}
