//! Exchange Online's admin endpoints in the rehearsal environment: the documented (preview)
//! Admin API (`POST /adminapi/v2.0/{tenant}/{Endpoint}`: `Mailbox` with Get-Mailbox,
//! `AcceptedDomain` with Get-AcceptedDomain) and the module's `InvokeCommand` route
//! (`POST /adminapi/beta/{tenant}/InvokeCommand`) for the cmdlets cutover uses. Backed by the
//! same directory Graph serves, so an address removed here is gone from `/v1.0/users` too.
//! Checks: a bearer token for the Exchange resource of this tenant, `X-AnchorMailbox`,
//! known cmdlets and parameters. Paging by `Prefer: odata.maxpagesize` and `@odata.nextLink`.
//! Where Exchange's exact status or wording is not documented (the rule violations, a missing
//! anchor), the texts are the sim's own; `docs/permissions.md` says which.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::Sim;
use super::auth::{Audience, IssuedToken, resolve_tenant};
use super::exchange_addresses::{self as addr, AddressEdit, Family};
use super::exchange_connectors::{SimConnector, connectors};
use super::http::{RequestIds, Shared, header_str, ids_of};
use super::permissions::{self, Required};

/// The sim's Exchange-only state: connectors per tenant (seeded on first use) and the
/// throttling switch tests use.
#[derive(Debug, Default)]
pub(crate) struct ExchangeState {
    pub(super) connectors: Vec<Option<Vec<SimConnector>>>,
    /// The next this-many Exchange requests are answered 429 with `Retry-After: 1`.
    throttle_next: u32,
}

impl Sim {
    /// Answer the next `n` Exchange admin requests with 429 and `Retry-After: 1`.
    pub fn throttle_exchange(&self, n: u32) {
        if let Ok(mut x) = self.state.exchange.lock() {
            x.throttle_next = n;
        }
    }

    /// `http://127.0.0.1:PORT`; the admin API lives under `/adminapi/` (same server as Graph).
    pub fn exchange_url(&self) -> String {
        self.graph_url.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An error answer (boxed: a `Response` is large and travels in `Result`s).
pub(super) type Refused = Box<Response>;

/// The InvokeCommand error body as seen from Exchange Online: the OData code, "Error executing
/// cmdlet", and `details[0].message` = `{ExCode}|{exception}|{text}`.
pub(super) fn cmdlet_error(
    status: StatusCode,
    exception: &str,
    message: &str,
    ids: &RequestIds,
) -> Refused {
    // Ex6F9304 is the id Exchange gives "couldn't be found"; the others are the sim's own.
    let code = match exception {
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException" => "Ex6F9304",
        _ => "ExS1M000",
    };
    let odata = if status == StatusCode::NOT_FOUND {
        "NotFound"
    } else {
        "BadRequest"
    };
    let body = json!({"error": {
        "code": odata,
        "message": "Error executing cmdlet",
        "details": [{"code": "Context", "target": "", "message": format!("{code}|{exception}|{message}")}],
        "innererror": {
            "message": "Error executing cmdlet",
            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "request-id": ids.request_id,
        }
    }});
    Box::new((status, Json(body)).into_response())
}

fn plain_error(status: StatusCode, code: &str, message: &str) -> Refused {
    Box::new(
        (
            status,
            Json(json!({"error": {"code": code, "message": message}})),
        )
            .into_response(),
    )
}

pub(super) fn not_found(identity: &str, ids: &RequestIds) -> Refused {
    cmdlet_error(
        StatusCode::NOT_FOUND,
        "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
        &format!(
            "The operation couldn't be performed because object '{identity}' couldn't be found on 'SIM01DC001.SIM.PROD.OUTLOOK.COM'."
        ),
        ids,
    )
}

/// `-Identity` is mandatory for the `Set-`/`Remove-` cmdlets.
pub(super) fn missing_identity(ids: &RequestIds) -> Refused {
    cmdlet_error(
        StatusCode::BAD_REQUEST,
        "System.Management.Automation.ParameterBindingException",
        "Cannot process command because of one or more missing mandatory parameters: Identity.",
        ids,
    )
}

fn bad_parameter(name: &str, ids: &RequestIds) -> Refused {
    cmdlet_error(
        StatusCode::BAD_REQUEST,
        "System.Management.Automation.ParameterBindingException",
        &format!("A parameter cannot be found that matches parameter name '{name}'."),
        ids,
    )
}

fn unauthorized(message: &str) -> Refused {
    let mut resp = plain_error(
        StatusCode::UNAUTHORIZED,
        "InvalidAuthenticationToken",
        message,
    );
    resp.headers_mut().insert(
        "www-authenticate",
        HeaderValue::from_static(
            "Bearer client_id=\"00000002-0000-0ff1-ce00-000000000000\", error=\"invalid_token\"",
        ),
    );
    resp
}

// ---------------------------------------------------------------------------------------------
// Request plumbing

/// Token, tenant, anchor and throttling checks; the caller's token on success.
fn admit(state: &Shared, tenant_key: &str, headers: &HeaderMap) -> Result<IssuedToken, Refused> {
    let token = header_str(headers, "authorization")
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unauthorized("The access token is missing."))?;
    let issued = state
        .tokens
        .lock()
        .map_err(|_| {
            plain_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerError",
                "state poisoned",
            )
        })?
        .get(&token)
        .cloned()
        .ok_or_else(|| unauthorized("The access token was not issued by this environment."))?;
    if issued.audience != Audience::Exchange {
        return Err(unauthorized(
            "The access token's audience is not https://outlook.office365.com.",
        ));
    }
    if Instant::now() >= issued.expires {
        return Err(unauthorized("The access token has expired."));
    }
    let tenants = state.tenants.read().map_err(|_| {
        plain_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "state poisoned",
        )
    })?;
    if resolve_tenant(&tenants, tenant_key) != Some(issued.tenant) {
        return Err(unauthorized(
            "The access token was issued for another tenant.",
        ));
    }
    let Some(anchor) = header_str(headers, "x-anchormailbox")
        .map(str::trim)
        .filter(|a| !a.is_empty())
    else {
        return Err(plain_error(
            StatusCode::BAD_REQUEST,
            "ErrorMissingRoutingHint",
            "The request has no X-AnchorMailbox header (the rehearsal environment requires one, as the Admin API documentation asks).",
        ));
    };
    let anchor_tenant = anchor.rsplit_once('@').map(|(_, t)| t).unwrap_or_default();
    if resolve_tenant(&tenants, anchor_tenant) != Some(issued.tenant) {
        return Err(plain_error(
            StatusCode::BAD_REQUEST,
            "ErrorIncorrectRoutingHint",
            &format!("The x-anchor mailbox '{anchor}' does not match the target of the request."),
        ));
    }
    drop(tenants);
    if let Ok(mut x) = state.exchange.lock()
        && x.throttle_next > 0
    {
        x.throttle_next -= 1;
        let mut resp = plain_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "The request was throttled; retry after the time in the Retry-After header.",
        );
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
        return Err(resp);
    }
    Ok(issued)
}

/// Exchange's 429 (the write bucket adds `Retry-After` and the rate-limit headers).
fn throttled() -> Response {
    *plain_error(
        StatusCode::TOO_MANY_REQUESTS,
        "TooManyRequests",
        "The request was throttled; retry after the time in the Retry-After header.",
    )
}

/// `{"CmdletInput":{"CmdletName":…,"Parameters":{…}}}`.
/// The start of both routes: the caller is admitted to the tenant, the body is read, and the
/// token must carry the route's Exchange permission (`required`).
fn admit_input(
    state: &Shared,
    tenant_key: &str,
    headers: &HeaderMap,
    body: &[u8],
    required: &Required,
    ids: &RequestIds,
) -> Result<(usize, String, Map<String, Value>), Refused> {
    let token = admit(state, tenant_key, headers)?;
    let (cmdlet, params) = parse_input(body)?;
    if !permissions::permits(&token, required) {
        return Err(Box::new(permissions::exchange_forbidden(&cmdlet, ids)));
    }
    Ok((token.tenant, cmdlet, params))
}

fn parse_input(body: &[u8]) -> Result<(String, Map<String, Value>), Refused> {
    let bad = |m: &str| plain_error(StatusCode::BAD_REQUEST, "BadRequest", m);
    let v: Value =
        serde_json::from_slice(body).map_err(|_| bad("The request body is not JSON."))?;
    let input = &v["CmdletInput"];
    let name = input["CmdletName"]
        .as_str()
        .ok_or_else(|| bad("The request body has no CmdletInput.CmdletName."))?;
    let params = match &input["Parameters"] {
        Value::Object(m) => m.clone(),
        Value::Null => Map::new(),
        _ => return Err(bad("CmdletInput.Parameters is not an object.")),
    };
    Ok((name.to_string(), params))
}

fn page_size(headers: &HeaderMap) -> usize {
    header_str(headers, "prefer")
        .into_iter()
        .flat_map(|p| p.split(','))
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize"))
        .filter_map(|rest| {
            rest.trim()
                .strip_prefix('=')
                .and_then(|n| n.trim().parse().ok())
        })
        .next()
        .unwrap_or(1000usize)
        .clamp(1, 1000)
}

fn skip_of(uri: &Uri) -> usize {
    uri.query()
        .into_iter()
        .flat_map(|q| q.split('&'))
        .find_map(|kv| {
            kv.strip_prefix("$skiptoken=")
                .or_else(|| kv.strip_prefix("%24skiptoken="))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// What a cmdlet produced before paging.
pub(super) struct Output {
    values: Vec<Value>,
    warnings: Vec<String>,
    /// Set when `values` is already the requested page of this many objects (listings
    /// render only the page, so a 100,000-mailbox tenant is not rendered once per page).
    paged_total: Option<usize>,
}

impl Output {
    /// Nothing, with one warning (Exchange's "no settings have been modified").
    pub(super) fn warning(text: String) -> Output {
        Output {
            values: Vec::new(),
            warnings: vec![text],
            paged_total: None,
        }
    }

    pub(super) fn all(values: Vec<Value>) -> Output {
        Output {
            values,
            warnings: Vec::new(),
            paged_total: None,
        }
    }
}

/// The page asked for: `$skiptoken` of the nextLink and `Prefer: odata.maxpagesize`.
#[derive(Debug, Clone, Copy)]
struct Window {
    skip: usize,
    size: usize,
}

fn respond(state: &Shared, uri: &Uri, window: Window, out: Output) -> Response {
    let Window { skip, size } = window;
    let (total, page) = match out.paged_total {
        Some(total) => (total, out.values),
        None => (
            out.values.len(),
            out.values.into_iter().skip(skip).take(size).collect(),
        ),
    };
    let end = (skip + size).min(total);
    let mut body = json!({
        "@odata.context": format!("{}/adminapi/beta/$metadata#Collection(Exchange.GenericHashTable)", state.base_url),
        "@adminapi.warnings": out.warnings,
        "value": page,
    });
    if end < total {
        body["@odata.nextLink"] =
            json!(format!("{}{}?$skiptoken={end}", state.base_url, uri.path()));
    }
    (StatusCode::OK, Json(body)).into_response()
}

/// `POST /adminapi/beta/{tenant}/InvokeCommand`.
pub(crate) async fn invoke_command(
    State(state): State<Shared>,
    Path(tenant_key): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let ids = ids_of(&extensions);
    let required = &permissions::EXCHANGE_INVOKE;
    let (tenant, cmdlet, params) =
        match admit_input(&state, &tenant_key, &headers, &body, required, &ids) {
            Ok(x) => x,
            Err(resp) => return *resp,
        };
    // Writes draw from the tenant's write bucket; every answer says where it stands.
    let limit = match super::throttle::exchange_cmdlet(&state, tenant, &cmdlet, throttled) {
        Ok(limit) => limit,
        Err(resp) => return *resp,
    };
    let window = Window {
        skip: skip_of(&uri),
        size: page_size(&headers),
    };
    let mut resp = run_counted(
        &state,
        tenant,
        &cmdlet,
        &params,
        &ids,
        window,
        &uri,
        &extensions,
    );
    super::throttle::stamp_exchange(&mut resp, limit);
    resp
}

/// `POST /adminapi/v2.0/{tenant}/{endpoint}`: only the cmdlets Microsoft documents for the
/// endpoint (the ones cutover uses: Get-Mailbox on Mailbox, Get-AcceptedDomain on
/// AcceptedDomain).
pub(crate) async fn admin_api(
    State(state): State<Shared>,
    Path((tenant_key, endpoint)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    extensions: Extensions,
    body: Bytes,
) -> Response {
    let ids = ids_of(&extensions);
    let required = &permissions::EXCHANGE_ADMIN_API;
    let (tenant, cmdlet, params) =
        match admit_input(&state, &tenant_key, &headers, &body, required, &ids) {
            Ok(x) => x,
            Err(resp) => return *resp,
        };
    let allowed = match endpoint.as_str() {
        "Mailbox" => {
            cmdlet == "Get-Mailbox"
                && params.keys().all(|k| {
                    matches!(
                        k.as_str(),
                        "Identity" | "ResultSize" | "IncludeGrantSendOnBehalfTowithDisplayNames"
                    )
                })
        }
        "AcceptedDomain" => {
            cmdlet == "Get-AcceptedDomain" && params.keys().all(|k| k == "Identity")
        }
        _ => {
            return *plain_error(
                StatusCode::NOT_FOUND,
                "NotFound",
                &format!("The endpoint '{endpoint}' is not served by the rehearsal environment."),
            );
        }
    };
    if !allowed {
        return *plain_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!(
                "The cmdlet '{cmdlet}' with these parameters is not available on the '{endpoint}' endpoint (the rehearsal serves the read cmdlets cutover uses)."
            ),
        );
    }
    // Writes draw from the tenant's write bucket; every answer says where it stands.
    let limit = match super::throttle::exchange_cmdlet(&state, tenant, &cmdlet, throttled) {
        Ok(limit) => limit,
        Err(resp) => return *resp,
    };
    let window = Window {
        skip: skip_of(&uri),
        size: page_size(&headers),
    };
    let mut resp = run_counted(
        &state,
        tenant,
        &cmdlet,
        &params,
        &ids,
        window,
        &uri,
        &extensions,
    );
    super::throttle::stamp_exchange(&mut resp, limit);
    resp
}

// ---------------------------------------------------------------------------------------------
// Cmdlets

pub(super) fn check_params(
    params: &Map<String, Value>,
    allowed: &[&str],
    ids: &RequestIds,
) -> Result<(), Refused> {
    match params
        .keys()
        .find(|k| !allowed.iter().any(|a| a.eq_ignore_ascii_case(k)))
    {
        Some(k) => Err(bad_parameter(k, ids)),
        None => Ok(()),
    }
}

fn param<'p>(params: &'p Map<String, Value>, name: &str) -> Option<&'p Value> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

pub(super) fn string_param(params: &Map<String, Value>, name: &str) -> Option<String> {
    match param(params, name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn poisoned() -> Refused {
    plain_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "InternalServerError",
        "The rehearsal environment's state is unusable after an earlier panic.",
    )
}

const FIRST_1000: &str = "By default, only the first 1000 items are returned. Use the ResultSize parameter to specify the number of items returned. To return all items, specify \"-ResultSize Unlimited\".";

/// Cmdlets that change state: subject to write faults and counted.
fn mutating(cmdlet: &str) -> bool {
    cmdlet.starts_with("Set-") || cmdlet.starts_with("Remove-") || cmdlet.starts_with("New-")
}

/// Run a cmdlet; a mutating one may be failed before it is applied or have its answer cut.
/// (`run`'s arguments plus the two the answer needs; bundling them would only rename them.)
#[allow(clippy::too_many_arguments)]
fn run_counted(
    state: &Shared,
    tenant: usize,
    cmdlet: &str,
    params: &Map<String, Value>,
    ids: &RequestIds,
    window: Window,
    uri: &Uri,
    extensions: &Extensions,
) -> Response {
    if !mutating(cmdlet) {
        return match run(state, tenant, cmdlet, params, ids, window) {
            Ok(out) => respond(state, uri, window, out),
            Err(resp) => *resp,
        };
    }
    let fate = super::writes::fate(state);
    if fate == super::writes::Fate::Fail {
        return *cmdlet_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Microsoft.Exchange.Admin.OData.Core.ServiceUnavailableException",
            "The service is temporarily unavailable; the command was not run (injected by the rehearsal environment).",
            ids,
        );
    }
    let resp = match run(state, tenant, cmdlet, params, ids, window) {
        Ok(out) => respond(state, uri, window, out),
        Err(resp) => *resp,
    };
    super::writes::finish(fate, extensions, resp)
}

fn run(
    state: &Shared,
    tenant: usize,
    cmdlet: &str,
    params: &Map<String, Value>,
    ids: &RequestIds,
    window: Window,
) -> Result<Output, Refused> {
    let get = |family: Family| -> Result<Output, Refused> {
        check_params(
            params,
            &[
                "Identity",
                "ResultSize",
                "RecipientTypeDetails",
                "IncludeGrantSendOnBehalfTowithDisplayNames",
            ],
            ids,
        )?;
        let tenants = state.tenants.read().map_err(|_| poisoned())?;
        let t = &tenants[tenant];
        if let Some(identity) = string_param(params, "Identity") {
            let target =
                addr::find(t, &identity, family).ok_or_else(|| not_found(&identity, ids))?;
            return Ok(Output::all(vec![addr::render(t, target)]));
        }
        let kinds = param(params, "RecipientTypeDetails")
            .map(strings)
            .unwrap_or_default();
        let mut values: Vec<addr::Target> = addr::all(t, family)
            .into_iter()
            .filter(|&x| kinds.is_empty() || kinds.iter().any(|k| addr::details(t, x) == k))
            .collect();
        let mut warnings = Vec::new();
        match string_param(params, "ResultSize") {
            Some(s) if s.eq_ignore_ascii_case("unlimited") => {}
            Some(s) => values.truncate(s.parse().unwrap_or(usize::MAX)),
            None => {
                if values.len() > 1000 {
                    values.truncate(1000);
                    warnings.push(FIRST_1000.to_string());
                }
            }
        }
        let page = values
            .iter()
            .skip(window.skip)
            .take(window.size)
            .map(|&x| addr::render(t, x))
            .collect();
        Ok(Output {
            values: page,
            warnings,
            paged_total: Some(values.len()),
        })
    };
    match cmdlet {
        "Get-Recipient" => get(Family::Recipient),
        "Get-Mailbox" => get(Family::Mailbox),
        "Get-MailContact" => get(Family::MailContact),
        "Get-AcceptedDomain" => {
            check_params(params, &["Identity"], ids)?;
            let tenants = state.tenants.read().map_err(|_| poisoned())?;
            let wanted = string_param(params, "Identity");
            let values: Vec<Value> = tenants[tenant]
                .domains
                .iter()
                .filter(|d| d.is_verified)
                .filter(|d| wanted.as_deref().is_none_or(|w| w.eq_ignore_ascii_case(&d.name)))
                .map(|d| json!({"Identity": d.name, "Name": d.name, "DomainName": d.name, "DomainType": "Authoritative", "Default": d.is_default, "InitialDomain": d.is_initial}))
                .collect();
            if let (Some(w), true) = (&wanted, values.is_empty()) {
                return Err(not_found(w, ids));
            }
            Ok(Output::all(values))
        }
        "Set-Mailbox" => set_addresses(
            state,
            tenant,
            params,
            ids,
            Family::Mailbox,
            "WindowsEmailAddress",
        ),
        "Set-DistributionGroup" => set_addresses(
            state,
            tenant,
            params,
            ids,
            Family::DistributionGroup,
            "PrimarySmtpAddress",
        ),
        "Set-UnifiedGroup" => set_addresses(
            state,
            tenant,
            params,
            ids,
            Family::UnifiedGroup,
            "PrimarySmtpAddress",
        ),
        "Set-MailContact" => set_addresses(
            state,
            tenant,
            params,
            ids,
            Family::MailContact,
            "PrimarySmtpAddress",
        ),
        "Get-InboundConnector"
        | "Get-OutboundConnector"
        | "Remove-InboundConnector"
        | "Remove-OutboundConnector"
        | "New-InboundConnector"
        | "New-OutboundConnector" => connectors(state, tenant, cmdlet, params, ids),
        "Get-DkimSigningConfig"
        | "New-DkimSigningConfig"
        | "Set-DkimSigningConfig"
        | "Remove-DkimSigningConfig" => {
            super::exchange_dkim::dkim(state, tenant, cmdlet, params, ids)
        }
        other => Err(cmdlet_error(
            StatusCode::BAD_REQUEST,
            "System.Management.Automation.CommandNotFoundException",
            &format!(
                "The term '{other}' is not recognized as a name of a cmdlet (the rehearsal environment serves the cmdlets cutover uses)."
            ),
            ids,
        )),
    }
}

/// The `Set-` cmdlet of a family, as Exchange names it in its messages.
fn cmdlet_of(family: Family) -> &'static str {
    match family {
        Family::Mailbox | Family::Recipient => "Set-Mailbox",
        Family::DistributionGroup => "Set-DistributionGroup",
        Family::UnifiedGroup => "Set-UnifiedGroup",
        Family::MailContact => "Set-MailContact",
    }
}

fn set_addresses(
    state: &Shared,
    tenant: usize,
    params: &Map<String, Value>,
    ids: &RequestIds,
    family: Family,
    primary_param: &str,
) -> Result<Output, Refused> {
    check_params(
        params,
        &[
            "Identity",
            "EmailAddresses",
            primary_param,
            "Confirm",
            "BypassSecurityGroupManagerCheck",
        ],
        ids,
    )?;
    let identity = string_param(params, "Identity").ok_or_else(|| missing_identity(ids))?;
    let mut edit = AddressEdit {
        primary: string_param(params, primary_param),
        ..AddressEdit::default()
    };
    match param(params, "EmailAddresses") {
        None | Some(Value::Null) => {}
        Some(Value::Object(table)) => {
            // PowerShell's @{Add=…; Remove=…} arrives typed as a generic hashtable.
            if table.get("@odata.type").and_then(Value::as_str)
                != Some("#Exchange.GenericHashTable")
            {
                return Err(cmdlet_error(
                    StatusCode::BAD_REQUEST,
                    "System.Management.Automation.ParameterBindingException",
                    "Cannot bind parameter 'EmailAddresses': the hashtable has no \"@odata.type\": \"#Exchange.GenericHashTable\".",
                    ids,
                ));
            }
            for (k, v) in table {
                match k.to_ascii_lowercase().as_str() {
                    "add" => edit.add.extend(strings(v)),
                    "remove" => edit.remove.extend(strings(v)),
                    "@odata.type" => {}
                    _ => {
                        return Err(cmdlet_error(
                            StatusCode::BAD_REQUEST,
                            "System.Management.Automation.ParameterBindingException",
                            &format!(
                                "Cannot bind parameter 'EmailAddresses': unknown hashtable key '{k}' (Add or Remove)."
                            ),
                            ids,
                        ));
                    }
                }
            }
        }
        Some(v) => edit.replace = Some(strings(v)),
    }
    let mut tenants = state.tenants.write().map_err(|_| poisoned())?;
    let t = &mut tenants[tenant];
    let target = addr::find(t, &identity, family).ok_or_else(|| not_found(&identity, ids))?;
    if let Some(r) = addr::synced_refusal(t, target, cmdlet_of(family), &edit, primary_param) {
        return Err(cmdlet_error(
            StatusCode::BAD_REQUEST,
            r.exception,
            &r.message,
            ids,
        ));
    }
    let (list, changed) = addr::edit(t, target, &edit)
        .map_err(|r| cmdlet_error(StatusCode::BAD_REQUEST, r.exception, &r.message, ids))?;
    if !changed {
        return Ok(Output {
            values: Vec::new(),
            warnings: vec![format!(
                "The command completed successfully but no settings of '{identity}' have been modified."
            )],
            paged_total: None,
        });
    }
    let object = addr::object_id(t, target);
    if let Some((users, id)) = addr::store(t, target, list) {
        // Recorded under the same write lock, so Graph's delta sees the change with the data.
        if let Ok(mut c) = state.changes.lock() {
            c.push(super::delta::Change { tenant, users, id });
        }
    }
    super::writes::count(state, tenant, &[object]);
    Ok(Output::all(Vec::new()))
}
