//! The sim's sign-in beyond client secrets: certificate client assertions checked against a
//! registered certificate, the device-code flow (approved by the sim's user through a
//! sim-only route), and refresh tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::Extensions;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sha2::Digest;

use super::auth::{Audience, aad_error, audience_of_resource, missing_parameter, resolve_tenant};
use super::http::{RequestIds, Shared, ids_of};

/// A certificate registered on a tenant's app.
#[derive(Debug, Clone)]
pub(crate) struct RegisteredCert {
    pub tenant: usize,
    /// base64url SHA-256 of the DER.
    pub x5t_s256: String,
    /// `RSAPublicKey` DER.
    pub public_key: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Pending,
    Approved,
    Declined,
}

#[derive(Debug, Clone)]
pub(crate) struct DeviceGrant {
    pub tenant: usize,
    pub client_id: String,
    pub user_code: String,
    pub audience: Audience,
    pub expires: Instant,
    pub interval: Duration,
    pub last_poll: Option<Instant>,
    pub decision: Decision,
    /// Approved by a user of another tenant (a partner's technician): its tenant id, which
    /// the tokens carry in `idp`.
    pub home: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshGrant {
    pub tenant: usize,
    pub client_id: String,
    pub audience: Audience,
    /// As [`DeviceGrant::home`]: a refreshed token is still the same person's.
    pub home: Option<String>,
}

/// Device-code timing (tests shorten both).
#[derive(Debug, Clone, Copy)]
pub(crate) struct DeviceTiming {
    pub interval: Duration,
    pub lifetime: Duration,
}

impl Default for DeviceTiming {
    fn default() -> Self {
        DeviceTiming {
            interval: Duration::from_secs(5),
            lifetime: Duration::from_secs(900),
        }
    }
}

/// All of the above, in the shared state.
#[derive(Debug, Default)]
pub(crate) struct SignInState {
    pub certificates: Vec<RegisteredCert>,
    /// device_code → grant.
    pub devices: HashMap<String, DeviceGrant>,
    /// refresh token → grant.
    pub refresh: HashMap<String, RefreshGrant>,
    pub timing: DeviceTiming,
}

fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    crate::graph::pem::b64url_decode(s)
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

fn invalid_client(code: u32, description: &str, ids: &RequestIds) -> Response {
    aad_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        code,
        description,
        ids,
    )
}

/// Check a client assertion as Entra ID does: a JWT signed by a certificate registered on
/// the app, naming the app as issuer and subject and the token endpoint as audience.
pub(crate) fn check_assertion(
    state: &Shared,
    tenant: usize,
    client_id: &str,
    token_urls: &[String],
    assertion: &str,
    ids: &RequestIds,
) -> Result<(), Box<Response>> {
    let malformed = |why: &str| {
        Box::new(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            &format!("JWT token is invalid or malformed: {why}."),
            ids,
        ))
    };
    let parts: Vec<&str> = assertion.split('.').collect();
    let [h, c, s] = parts[..] else {
        return Err(malformed("not three dot-separated parts"));
    };
    let header: serde_json::Value = b64url_decode(h)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("header"))?;
    let claims: serde_json::Value = b64url_decode(c)
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| malformed("claims"))?;
    let signature = b64url_decode(s).ok_or_else(|| malformed("signature encoding"))?;
    let alg: &'static dyn ring::signature::VerificationAlgorithm = match header["alg"].as_str() {
        Some("RS256") => &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        Some("PS256") => &ring::signature::RSA_PSS_2048_8192_SHA256,
        other => return Err(malformed(&format!("unsupported alg {other:?}"))),
    };
    let thumbprint = header["x5t#S256"].as_str().unwrap_or_default().to_string();
    let cert = {
        let Ok(guard) = state.sign_in.lock() else {
            return Err(malformed("state"));
        };
        guard
            .certificates
            .iter()
            .find(|k| k.tenant == tenant && k.x5t_s256 == thumbprint)
            .cloned()
    };
    let Some(cert) = cert else {
        return Err(Box::new(invalid_client(
            700027,
            &format!(
                "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{thumbprint}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{client_id}'.]"
            ),
            ids,
        )));
    };
    let signed = format!("{h}.{c}");
    if ring::signature::UnparsedPublicKey::new(alg, &cert.public_key)
        .verify(signed.as_bytes(), &signature)
        .is_err()
    {
        return Err(Box::new(invalid_client(
            700027,
            "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]",
            ids,
        )));
    }
    let iss = claims["iss"].as_str().unwrap_or_default();
    let sub = claims["sub"].as_str().unwrap_or_default();
    if !iss.eq_ignore_ascii_case(client_id) || !sub.eq_ignore_ascii_case(client_id) {
        return Err(Box::new(invalid_client(
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
            ids,
        )));
    }
    let aud = claims["aud"].as_str().unwrap_or_default();
    if !token_urls.iter().any(|u| u == aud) {
        return Err(malformed(&format!(
            "audience '{aud}' is not this token endpoint"
        )));
    }
    let now = unix_now();
    let (nbf, exp) = (
        claims["nbf"].as_i64().unwrap_or(i64::MAX),
        claims["exp"].as_i64().unwrap_or(0),
    );
    // Five minutes of clock skew either way, as Entra ID allows; at most ten minutes valid.
    if now + 300 < nbf || now - 300 > exp || exp - nbf > 600 {
        return Err(Box::new(invalid_client(
            700024,
            "Client assertion is not within its valid time range.",
            ids,
        )));
    }
    if claims["jti"].as_str().is_none_or(str::is_empty) {
        return Err(malformed("no jti"));
    }
    Ok(())
}

/// `POST /{tenant}/oauth2/v2.0/devicecode`.
pub(crate) async fn devicecode(
    State(state): State<Shared>,
    Path(tenant_key): Path<String>,
    extensions: Extensions,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let ids = ids_of(&extensions);
    let params = form.map(|Form(p)| p).unwrap_or_default();
    let Some(client_id) = params.get("client_id").filter(|v| !v.is_empty()) else {
        return missing_parameter("client_id", &ids);
    };
    let Some(scope) = params.get("scope").filter(|v| !v.is_empty()) else {
        return missing_parameter("scope", &ids);
    };
    let (tenant, tenant_name) = {
        let Ok(tenants) = state.tenants.read() else {
            return missing_parameter("tenant", &ids);
        };
        let Some(i) = resolve_tenant(&tenants, &tenant_key) else {
            return super::auth::unknown_tenant(&tenant_key, &ids);
        };
        if !tenants[i].client_id.eq_ignore_ascii_case(client_id) {
            return super::auth::unknown_client(client_id, &tenants[i].name, &ids);
        }
        (i, tenants[i].name.clone())
    };
    // Delegated scopes: the resource is named by the first scope with a URL in it.
    let resource = scope
        .split_whitespace()
        .find(|s| s.contains("://") || s.len() == 36)
        .unwrap_or("https://graph.microsoft.com/.default");
    let audience = match audience_of_resource(resource, &tenant_name, &ids) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let device_code = format!(
        "DAQABAAEAAAD{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let letters = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let raw = uuid::Uuid::new_v4().as_u128();
    let user_code: String = (0..9)
        .map(|i| letters[((raw >> (i * 5)) & 31) as usize] as char)
        .collect();
    let Ok(mut guard) = state.sign_in.lock() else {
        return missing_parameter("state", &ids);
    };
    let timing = guard.timing;
    let now = Instant::now();
    guard
        .devices
        .retain(|_, g| g.expires + Duration::from_secs(600) > now);
    guard.devices.insert(
        device_code.clone(),
        DeviceGrant {
            tenant,
            client_id: client_id.clone(),
            user_code: user_code.clone(),
            audience,
            expires: now + timing.lifetime,
            interval: timing.interval,
            last_poll: None,
            decision: Decision::Pending,
            home: None,
        },
    );
    drop(guard);
    let uri = format!("{}/sim/device", state.base_url);
    Json(json!({
        "user_code": user_code,
        "device_code": device_code,
        "verification_uri": uri,
        "expires_in": timing.lifetime.as_secs(),
        "interval": timing.interval.as_secs().max(1),
        "message": format!("To sign in, use a web browser to open the page {uri} and enter the code {user_code} to authenticate."),
    }))
    .into_response()
}

/// The device-code grant: pending, slow down, expired, declined, or tokens.
pub(crate) fn redeem_device_code(
    state: &Shared,
    client_id: &str,
    device_code: &str,
    ids: &RequestIds,
) -> Result<(usize, Audience, Option<String>), Box<Response>> {
    let err = |error: &str, code: u32, text: &str| {
        Box::new(aad_error(StatusCode::BAD_REQUEST, error, code, text, ids))
    };
    let Ok(mut guard) = state.sign_in.lock() else {
        return Err(err("invalid_grant", 70000, "state"));
    };
    let now = Instant::now();
    let Some(grant) = guard.devices.get_mut(device_code) else {
        return Err(err(
            "invalid_grant",
            70000,
            "The provided value for the input parameter 'device_code' is not valid.",
        ));
    };
    if !grant.client_id.eq_ignore_ascii_case(client_id) {
        return Err(err(
            "invalid_grant",
            70000,
            "The device code was issued to another application.",
        ));
    }
    if now >= grant.expires {
        return Err(err("expired_token", 70019, "Verification code expired."));
    }
    let too_soon = grant
        .last_poll
        .is_some_and(|t| now.duration_since(t) + Duration::from_millis(200) < grant.interval);
    grant.last_poll = Some(now);
    match grant.decision {
        Decision::Declined => Err(err(
            "authorization_declined",
            70020,
            "The user declined the sign-in request.",
        )),
        Decision::Pending if too_soon => Err(err(
            "slow_down",
            70016,
            "Polling faster than the interval allows; wait longer between requests.",
        )),
        Decision::Pending => Err(err(
            "authorization_pending",
            70016,
            "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
        )),
        Decision::Approved => {
            let out = (grant.tenant, grant.audience, grant.home.clone());
            // A device code is redeemed once.
            guard.devices.remove(device_code);
            Ok(out)
        }
    }
}

/// The refresh-token grant. As Entra ID: a refresh token is bound to the user and the client,
/// not to a resource, so it is redeemed for whichever resource the request's scope names (the
/// caller's choice, [`Audience`] from the scope); a new one is issued each time, and the old one
/// is not revoked by being used ("Refresh tokens", Microsoft identity platform).
pub(crate) fn redeem_refresh_token(
    state: &Shared,
    client_id: &str,
    token: &str,
    ids: &RequestIds,
) -> Result<(usize, Audience, Option<String>), Box<Response>> {
    let Ok(guard) = state.sign_in.lock() else {
        return Err(Box::new(missing_parameter("state", ids)));
    };
    match guard.refresh.get(token) {
        Some(g) if g.client_id.eq_ignore_ascii_case(client_id) => {
            Ok((g.tenant, g.audience, g.home.clone()))
        }
        _ => Err(Box::new(aad_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid: the refresh token is unknown or revoked.",
            ids,
        ))),
    }
}

/// A new refresh token for a delegated sign-in.
pub(crate) fn issue_refresh_token(state: &Shared, grant: RefreshGrant) -> Option<String> {
    let token = format!(
        "1.AR{}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    state
        .sign_in
        .lock()
        .ok()?
        .refresh
        .insert(token.clone(), grant);
    Some(token)
}

/// Sim-only: the sim's user approves or declines a pending code
/// (`POST /sim/device` with `user_code`, optional `decision=decline`, and optional
/// `as=partner`: the approver is a partner's technician from another tenant).
pub(crate) async fn approve_route(
    State(state): State<Shared>,
    extensions: Extensions,
    form: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let ids = ids_of(&extensions);
    let params = form.map(|Form(p)| p).unwrap_or_default();
    let Some(code) = params.get("user_code") else {
        return missing_parameter("user_code", &ids);
    };
    let approve = params.get("decision").map(String::as_str) != Some("decline");
    let partner = match params.get("as").map(String::as_str) {
        None | Some("admin") => false,
        Some("partner") => true,
        Some(other) => {
            return super::http::graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("'as' is 'admin' or 'partner', not '{other}'."),
                &ids,
            );
        }
    };
    if decide_as(&state, code, approve, partner) {
        Json(json!({ "user_code": code, "approved": approve })).into_response()
    } else {
        super::http::graph_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "No pending sign-in has that code.",
            &ids,
        )
    }
}

/// Set the decision on the pending grant with this user code; false if there is none.
pub(crate) fn decide(state: &Shared, user_code: &str, approve: bool) -> bool {
    decide_as(state, user_code, approve, false)
}

/// As [`decide`]; `partner`: the approver's account lives in a partner tenant (one per
/// customer tenant, derived from its index so it stays the same across sign-ins).
pub(crate) fn decide_as(state: &Shared, user_code: &str, approve: bool, partner: bool) -> bool {
    let Ok(mut guard) = state.sign_in.lock() else {
        return false;
    };
    let now = Instant::now();
    match guard
        .devices
        .values_mut()
        .find(|g| g.user_code.eq_ignore_ascii_case(user_code.trim()) && g.expires > now)
    {
        Some(g) if g.decision == Decision::Pending => {
            if partner {
                g.home =
                    Some(super::rng::Rng::derive(0, &format!("partner-of/{}", g.tenant)).guid());
            }
            g.decision = if approve {
                Decision::Approved
            } else {
                Decision::Declined
            };
            true
        }
        _ => false,
    }
}

/// Register a certificate (DER) on a tenant's app.
pub(crate) fn register(state: &Shared, tenant: usize, der: &[u8]) -> Option<String> {
    let public_key = super::x509::rsa_public_key(der)?;
    let x5t_s256 = crate::graph::pem::b64url(&sha2::Sha256::digest(der));
    state
        .sign_in
        .lock()
        .ok()?
        .certificates
        .push(RegisteredCert {
            tenant,
            x5t_s256: x5t_s256.clone(),
            public_key,
        });
    Some(x5t_s256)
}
