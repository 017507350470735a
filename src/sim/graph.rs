//! Microsoft Graph v1.0 read routes over the generated directory: organization, domains and
//! their DNS records and references, users and groups with `$select`, `$top` and paging.

use std::sync::RwLockReadGuard;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::auth::authorize_token;
use super::directory::{Group, Tenant, User, created_date_time};
use super::http::{RequestIds, Shared, graph_error, header_str, ids_of};
use super::m365::{self, RecordData, ServiceRecord};
use super::permissions::{self, Required};
use super::rng::Rng;

pub(super) const METADATA: &str = "https://graph.microsoft.com/v1.0/$metadata";
pub(super) const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 999;

/// Properties `GET /users` returns without `$select`.
const USER_DEFAULT: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
];

/// User properties the generated data carries.
pub(super) const USER_MODELED: &[&str] = &[
    "id",
    "accountEnabled",
    "assignedLicenses",
    "businessPhones",
    "createdDateTime",
    "department",
    "displayName",
    "givenName",
    "imAddresses",
    "jobTitle",
    "mail",
    "mailNickname",
    "mobilePhone",
    "officeLocation",
    "onPremisesSyncEnabled",
    "otherMails",
    "preferredLanguage",
    "proxyAddresses",
    "surname",
    "usageLocation",
    "userPrincipalName",
    "userType",
];

/// Real user properties the simulator does not model: selectable, always null.
pub(super) const USER_UNMODELED: &[&str] = &[
    "ageGroup",
    "city",
    "companyName",
    "consentProvidedForMinor",
    "country",
    "creationType",
    "deletedDateTime",
    "employeeId",
    "employeeType",
    "externalUserState",
    "faxNumber",
    "lastPasswordChangeDateTime",
    "legalAgeGroupClassification",
    "onPremisesDistinguishedName",
    "onPremisesDomainName",
    "onPremisesImmutableId",
    "onPremisesLastSyncDateTime",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesUserPrincipalName",
    "passwordPolicies",
    "postalCode",
    "preferredDataLocation",
    "securityIdentifier",
    "showInAddressList",
    "state",
    "streetAddress",
];

/// Properties `GET /groups` returns without `$select` (Graph includes `proxyAddresses` here,
/// unlike for users).
pub(super) const GROUP_DEFAULT: &[&str] = &[
    "id",
    "deletedDateTime",
    "classification",
    "createdDateTime",
    "creationOptions",
    "description",
    "displayName",
    "expirationDateTime",
    "groupTypes",
    "isAssignableToRole",
    "mail",
    "mailEnabled",
    "mailNickname",
    "membershipRule",
    "membershipRuleProcessingState",
    "onPremisesDomainName",
    "onPremisesLastSyncDateTime",
    "onPremisesNetBiosName",
    "onPremisesSamAccountName",
    "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled",
    "preferredDataLocation",
    "preferredLanguage",
    "proxyAddresses",
    "renewedDateTime",
    "resourceBehaviorOptions",
    "resourceProvisioningOptions",
    "securityEnabled",
    "securityIdentifier",
    "theme",
    "visibility",
    "onPremisesProvisioningErrors",
    "serviceProvisioningErrors",
];

// ---------------------------------------------------------------------------------------------
// Request plumbing

/// The tenant a request is for, read-locked for the duration of the handler.
pub(super) struct Ctx<'a> {
    pub ids: RequestIds,
    pub tenants: RwLockReadGuard<'a, Vec<Tenant>>,
    pub tenant: usize,
}

impl Ctx<'_> {
    pub(super) fn tenant(&self) -> &Tenant {
        &self.tenants[self.tenant]
    }
}

pub(super) fn begin<'a>(
    state: &'a Shared,
    headers: &HeaderMap,
    extensions: &Extensions,
    required: &Required,
) -> Result<Ctx<'a>, Box<Response>> {
    let ids = ids_of(extensions);
    let token = authorize_token(state, headers, &ids)?;
    if !permissions::permits(&token, required) {
        return Err(Box::new(permissions::graph_forbidden(&ids)));
    }
    let tenant = token.tenant;
    let tenants = state.tenants.read().map_err(|_| {
        Box::new(graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "The rehearsal environment's state is unusable after an earlier panic.",
            &ids,
        ))
    })?;
    if tenant >= tenants.len() {
        return Err(Box::new(graph_error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
            &ids,
        )));
    }
    Ok(Ctx {
        ids,
        tenants,
        tenant,
    })
}

pub(super) fn ok(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

fn bad_request(code: &str, message: &str, ids: &RequestIds) -> Response {
    graph_error(StatusCode::BAD_REQUEST, code, message, ids)
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

pub(super) type RawQuery = Result<Query<Vec<(String, String)>>, QueryRejection>;

/// The OData options of a collection or entity request.
pub(super) struct Options {
    pub top: Option<usize>,
    /// Canonical property names, in request order.
    pub select: Option<Vec<&'static str>>,
    pub skip_token: Option<String>,
    pub count: bool,
}

/// Parse the query string. `known` are the selectable properties; `entity` names the type in
/// errors (`microsoft.graph.user`).
pub(super) fn parse_options(
    query: RawQuery,
    known: &[&[&'static str]],
    entity: &str,
    ids: &RequestIds,
) -> Result<Options, Box<Response>> {
    let Query(pairs) = query.map_err(|e| {
        Box::new(bad_request(
            "BadRequest",
            &format!("The query string could not be parsed: {e}"),
            ids,
        ))
    })?;
    let mut opts = Options {
        top: None,
        select: None,
        skip_token: None,
        count: false,
    };
    let mut seen: Vec<String> = Vec::new();
    for (key, value) in pairs {
        let key_l = key.to_ascii_lowercase();
        if !key_l.starts_with('$') {
            continue; // Graph ignores parameters that are not OData options.
        }
        if seen.contains(&key_l) {
            return Err(Box::new(bad_request(
                "BadRequest",
                &format!(
                    "Query option '{key}' was specified more than once, but it must be specified at most once."
                ),
                ids,
            )));
        }
        seen.push(key_l.clone());
        match key_l.as_str() {
            "$top" => {
                let n = value.trim().parse::<i64>().map_err(|_| {
                    Box::new(bad_request(
                        "BadRequest",
                        &format!("Invalid value '{value}' for query option '$top'."),
                        ids,
                    ))
                })?;
                if !(1..=MAX_PAGE as i64).contains(&n) {
                    return Err(Box::new(bad_request(
                        "Request_UnsupportedQuery",
                        &format!(
                            "Invalid page size specified: '{n}'. Must be between 1 and {MAX_PAGE} inclusive."
                        ),
                        ids,
                    )));
                }
                opts.top = Some(n as usize);
            }
            "$select" => {
                let mut props = Vec::new();
                for raw in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let found = known
                        .iter()
                        .flat_map(|list| list.iter())
                        .find(|p| p.eq_ignore_ascii_case(raw));
                    match found {
                        Some(p) if !props.contains(p) => props.push(*p),
                        Some(_) => {}
                        None => {
                            return Err(Box::new(bad_request(
                                "BadRequest",
                                &format!(
                                    "Parsing OData Select and Expand failed: Could not find a property named '{raw}' on type '{entity}'."
                                ),
                                ids,
                            )));
                        }
                    }
                }
                opts.select = (!props.is_empty()).then_some(props);
            }
            "$skiptoken" => opts.skip_token = Some(value),
            "$count" => opts.count = value.eq_ignore_ascii_case("true"),
            _ => {
                return Err(Box::new(bad_request(
                    "Request_UnsupportedQuery",
                    &format!(
                        "The query option '{key}' is not supported by the rehearsal environment."
                    ),
                    ids,
                )));
            }
        }
    }
    Ok(opts)
}

/// `$count` only counts with `ConsistencyLevel: eventual`, as in Graph.
pub(super) fn wants_count(opts: &Options, headers: &HeaderMap) -> bool {
    opts.count
        && header_str(headers, "consistencylevel")
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
}

// ---------------------------------------------------------------------------------------------
// Paging

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Collection {
    Users = 1,
    Groups = 2,
    References = 3,
    Contacts = 4,
    Applications = 5,
    ServicePrincipals = 6,
    Grants = 7,
    Assignments = 8,
}

/// Skip tokens carry (collection, tenant, position), scrambled and checked, so that a token from
/// another collection or a hand-made one is refused instead of silently misread.
pub(super) fn encode_skip_token(
    key: u64,
    collection: Collection,
    tenant: usize,
    pos: usize,
) -> String {
    let packed = ((collection as u64) << 40) | ((tenant as u64 & 0xff) << 32) | pos as u64;
    let check = Rng::new(packed ^ key).next_u64() as u32;
    format!("{:016x}{:08x}", packed ^ key, check)
}

pub(super) fn decode_skip_token(
    key: u64,
    token: &str,
    collection: Collection,
    tenant: usize,
) -> Option<usize> {
    // The token comes back from the network: split_at_checked never splits a character.
    let (scrambled, check) = token.split_at_checked(16).filter(|_| token.len() == 24)?;
    let scrambled = u64::from_str_radix(scrambled, 16).ok()?;
    let check = u32::from_str_radix(check, 16).ok()?;
    if Rng::new(scrambled).next_u64() as u32 != check {
        return None;
    }
    let packed = scrambled ^ key;
    let ok = (packed >> 40) == collection as u64 && ((packed >> 32) & 0xff) == tenant as u64 & 0xff;
    ok.then_some((packed & 0xffff_ffff) as usize)
}

pub(super) fn expired_token(ids: &RequestIds) -> Response {
    bad_request(
        "Directory_ExpiredPageToken",
        "The specified page token value has expired and can no longer be included in your request.",
        ids,
    )
}

/// The nextLink for a page that ended at `pos`.
fn next_link(
    state: &Shared,
    path: &str,
    opts: &Options,
    collection: Collection,
    tenant: usize,
    pos: usize,
) -> String {
    let mut link = format!("{}/v1.0/{path}?", state.base_url);
    if let Some(top) = opts.top {
        link.push_str(&format!("$top={top}&"));
    }
    if let Some(select) = &opts.select {
        link.push_str(&format!("$select={}&", select.join(",")));
    }
    link.push_str("$skiptoken=");
    link.push_str(&encode_skip_token(state.page_key, collection, tenant, pos));
    link
}

pub(super) fn context(collection: &str, select: Option<&Vec<&'static str>>) -> String {
    match select {
        Some(props) => format!("{METADATA}#{collection}({})", props.join(",")),
        None => format!("{METADATA}#{collection}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn user_property(u: &User, prop: &str) -> Value {
    match prop {
        "id" => json!(u.id),
        "accountEnabled" => json!(u.account_enabled),
        "assignedLicenses" => Value::Array(
            u.sku_ids
                .iter()
                .map(|s| json!({"disabledPlans": [], "skuId": s}))
                .collect(),
        ),
        "businessPhones" => json!(u.business_phones),
        "createdDateTime" => json!(created_date_time()),
        "department" => opt_str(&u.department),
        "displayName" => json!(u.display_name),
        "givenName" => opt_str(&u.given_name),
        "imAddresses" => Value::Array(
            u.proxy_addresses
                .iter()
                .filter_map(|p| p.strip_prefix("SIP:").or_else(|| p.strip_prefix("sip:")))
                .map(|a| json!(a))
                .collect(),
        ),
        "jobTitle" => opt_str(&u.job_title),
        "mail" => opt_str(&u.mail),
        "mailNickname" => json!(u.mail_nickname),
        "mobilePhone" => opt_str(&u.mobile_phone),
        "officeLocation" => opt_str(&u.office_location),
        "onPremisesSyncEnabled" => json!(u.on_premises_sync_enabled),
        "otherMails" => json!([]),
        "preferredLanguage" => opt_str(&u.preferred_language),
        "proxyAddresses" => json!(u.proxy_addresses),
        "surname" => opt_str(&u.surname),
        "usageLocation" => opt_str(&u.usage_location),
        "userPrincipalName" => json!(u.user_principal_name),
        "userType" => json!("Member"),
        _ => Value::Null,
    }
}

/// Entra's group SID: the GUID's bytes in Windows order read as four little-endian u32s.
fn group_sid(id: &str) -> Value {
    let Ok(guid) = uuid::Uuid::try_parse(id) else {
        return Value::Null;
    };
    let b = guid.to_bytes_le();
    let word = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    json!(format!(
        "S-1-12-1-{}-{}-{}-{}",
        word(0),
        word(4),
        word(8),
        word(12)
    ))
}

fn group_property(g: &Group, prop: &str) -> Value {
    match prop {
        "id" => json!(g.id),
        "createdDateTime" | "renewedDateTime" => json!(created_date_time()),
        "creationOptions"
        | "resourceBehaviorOptions"
        | "resourceProvisioningOptions"
        | "onPremisesProvisioningErrors"
        | "serviceProvisioningErrors" => json!([]),
        "description" => json!(g.description),
        "displayName" => json!(g.display_name),
        "groupTypes" => json!(g.group_types()),
        "mail" => opt_str(&g.mail),
        "mailEnabled" => json!(g.mail_enabled()),
        "mailNickname" => json!(g.mail_nickname),
        "onPremisesSyncEnabled" => json!(g.on_premises_sync_enabled),
        "proxyAddresses" => json!(g.proxy_addresses),
        "securityEnabled" => json!(g.security_enabled()),
        "securityIdentifier" => group_sid(&g.id),
        "visibility" => json!(g.visibility),
        _ => Value::Null,
    }
}

/// One object with exactly the selected properties (plus `id`), or the default set.
pub(super) fn render<T>(
    item: &T,
    select: Option<&Vec<&'static str>>,
    default: &[&str],
    property: fn(&T, &str) -> Value,
    odata_type: Option<&str>,
) -> Value {
    let mut obj = Map::new();
    if let Some(t) = odata_type {
        obj.insert("@odata.type".into(), json!(t));
    }
    obj.insert("id".into(), property(item, "id"));
    let props: &[&str] = match select {
        Some(s) => s,
        None => default,
    };
    for p in props {
        obj.insert((*p).to_string(), property(item, p));
    }
    Value::Object(obj)
}

pub(super) fn render_user(u: &User, select: Option<&Vec<&'static str>>, typed: bool) -> Value {
    let t = typed.then_some("#microsoft.graph.user");
    render(u, select, USER_DEFAULT, user_property, t)
}

pub(super) fn render_group(g: &Group, select: Option<&Vec<&'static str>>, typed: bool) -> Value {
    let t = typed.then_some("#microsoft.graph.group");
    render(g, select, GROUP_DEFAULT, group_property, t)
}

pub(super) fn domain_json(t: &Tenant, name: &str) -> Option<Value> {
    let d = t.domain(name)?;
    let services: Vec<&str> = if d.is_verified {
        vec!["Email", "OfficeCommunicationsOnline"]
    } else {
        Vec::new()
    };
    // Graph's domainState knows ForceDelete (and Verification); a plain DELETE shows none.
    let state = match &d.operation {
        Some(op) if op.operation == "ForceDelete" => json!({
            "lastActionDateTime": op.since,
            "operation": op.operation,
            "status": "InProgress",
        }),
        _ => Value::Null,
    };
    Some(json!({
        "authenticationType": if d.federated { "Federated" } else { "Managed" },
        "availabilityStatus": null,
        "id": d.name,
        "isAdminManaged": true,
        "isDefault": d.is_default,
        "isInitial": d.is_initial,
        "isRoot": true,
        "isVerified": d.is_verified,
        "supportedServices": services,
        "passwordValidityPeriodInDays": if d.is_verified { json!(2147483647) } else { Value::Null },
        "passwordNotificationWindowInDays": if d.is_verified { json!(14) } else { Value::Null },
        "state": state,
    }))
}

fn record_json(r: &ServiceRecord, id: String) -> Value {
    let mut obj = Map::new();
    let (odata, record_type) = match &r.data {
        RecordData::Mx { .. } => ("#microsoft.graph.domainDnsMxRecord", "Mx"),
        RecordData::Txt(_) => ("#microsoft.graph.domainDnsTxtRecord", "Txt"),
        RecordData::Cname(_) => ("#microsoft.graph.domainDnsCnameRecord", "CName"),
        RecordData::Srv { .. } => ("#microsoft.graph.domainDnsSrvRecord", "Srv"),
    };
    obj.insert("@odata.type".into(), json!(odata));
    obj.insert("id".into(), json!(id));
    obj.insert("isOptional".into(), json!(false));
    obj.insert("label".into(), json!(r.label));
    obj.insert("recordType".into(), json!(record_type));
    obj.insert("supportedService".into(), json!(r.supported_service));
    obj.insert("ttl".into(), json!(r.ttl));
    match &r.data {
        RecordData::Mx {
            preference,
            exchange,
        } => {
            obj.insert("mailExchange".into(), json!(exchange));
            obj.insert("preference".into(), json!(preference));
        }
        RecordData::Txt(text) => {
            obj.insert("text".into(), json!(text));
        }
        RecordData::Cname(target) => {
            obj.insert("canonicalName".into(), json!(target));
        }
        RecordData::Srv {
            service,
            protocol,
            priority,
            weight,
            port,
            target,
        } => {
            obj.insert("nameTarget".into(), json!(target));
            obj.insert("port".into(), json!(port));
            obj.insert("priority".into(), json!(priority));
            obj.insert("protocol".into(), json!(protocol));
            obj.insert("service".into(), json!(service));
            obj.insert("weight".into(), json!(weight));
        }
    }
    Value::Object(obj)
}

/// A record list as Graph returns it; ids are stable per tenant, domain and position.
fn records_response(t: &Tenant, domain: &str, kind: &str, records: &[ServiceRecord]) -> Value {
    let value: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = Rng::derive(0, &format!("{}/{domain}/{kind}/{i}", t.id)).guid();
            record_json(r, id)
        })
        .collect();
    json!({
        "@odata.context": format!("{METADATA}#domains('{domain}')/{kind}"),
        "value": value,
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers

pub(crate) async fn organization(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::ORGANIZATION);
    let t = ctx.tenant();
    let verified: Vec<Value> = t
        .domains
        .iter()
        .filter(|d| d.is_verified)
        .map(|d| {
            json!({
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": d.is_default,
                "isInitial": d.is_initial,
                "name": d.name,
                "type": "Managed",
            })
        })
        .collect();
    let admin = format!("admin@{}", t.initial_domain);
    ok(json!({
        "@odata.context": format!("{METADATA}#organization"),
        "value": [{
            "id": t.id,
            "deletedDateTime": null,
            "businessPhones": [],
            "city": null,
            "country": null,
            "countryLetterCode": "DE",
            "createdDateTime": created_date_time(),
            "defaultUsageLocation": "DE",
            "displayName": t.name,
            "marketingNotificationEmails": [],
            "onPremisesLastSyncDateTime": null,
            "onPremisesSyncEnabled": null,
            "postalCode": null,
            "preferredLanguage": "en",
            "securityComplianceNotificationMails": [],
            "securityComplianceNotificationPhones": [],
            "state": null,
            "street": null,
            "technicalNotificationMails": [admin],
            "tenantType": "AAD",
            "assignedPlans": [],
            "provisionedPlans": [],
            "verifiedDomains": verified,
        }],
    }))
}

pub(crate) async fn domains(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::DOMAINS);
    let t = ctx.tenant();
    let value: Vec<Value> = t
        .domains
        .iter()
        .filter_map(|d| domain_json(t, &d.name))
        .collect();
    ok(json!({
        "@odata.context": format!("{METADATA}#domains"),
        "value": value,
    }))
}

pub(crate) async fn domain(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::DOMAINS);
    match domain_json(ctx.tenant(), &id) {
        Some(mut v) => {
            if let Value::Object(obj) = &mut v {
                obj.insert(
                    "@odata.context".into(),
                    json!(format!("{METADATA}#domains/$entity")),
                );
            }
            ok(v)
        }
        None => not_found(&id, &ctx.ids),
    }
}

pub(crate) async fn service_configuration_records(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::DOMAINS);
    domain_records(&ctx, &id, "serviceConfigurationRecords", |_, name| {
        m365::service_records(name)
    })
}

pub(crate) async fn verification_dns_records(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::DOMAINS);
    domain_records(&ctx, &id, "verificationDnsRecords", |t, name| {
        m365::verification_records(name, &t.verification_digits)
    })
}

/// One of a domain's DNS record lists. Microsoft runs the initial domain's DNS itself, so that
/// domain has none to configure or verify.
fn domain_records(
    ctx: &Ctx<'_>,
    id: &str,
    list: &str,
    records_of: impl Fn(&Tenant, &str) -> Vec<ServiceRecord>,
) -> Response {
    let t = ctx.tenant();
    let Some(d) = t.domain(id) else {
        return not_found(id, &ctx.ids);
    };
    let records = if d.is_initial {
        Vec::new()
    } else {
        records_of(t, &d.name)
    };
    ok(records_response(t, &d.name, list, &records))
}

pub(crate) async fn domain_name_references(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::DOMAIN_REFERENCES);
    // directoryObject properties every referencing object has.
    const REFERENCE_PROPS: &[&str] = &["id", "displayName"];
    let opts = match parse_options(
        query,
        &[REFERENCE_PROPS],
        "microsoft.graph.directoryObject",
        &ctx.ids,
    ) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let t = ctx.tenant();
    let Some(d) = t.domain(&id) else {
        return not_found(&id, &ctx.ids);
    };
    let domain = d.name.as_str();
    let start = match &opts.skip_token {
        Some(tok) => {
            match decode_skip_token(state.page_key, tok, Collection::References, ctx.tenant) {
                Some(p) => p,
                None => return expired_token(&ctx.ids),
            }
        }
        None => 0,
    };
    // Positions run over users, then groups; a page scans until it has `top` matches.
    let top = opts.top.unwrap_or(DEFAULT_PAGE);
    let total = t.users.len() + t.groups.len();
    let mut value = Vec::new();
    let mut pos = start.min(total);
    while pos < total && value.len() < top {
        if let Some(u) = t.users.get(pos) {
            if u.references(domain) {
                value.push(render_user(u, opts.select.as_ref(), true));
            }
        } else if let Some(g) = t.groups.get(pos - t.users.len())
            && g.references(domain)
        {
            value.push(render_group(g, opts.select.as_ref(), true));
        }
        pos += 1;
    }
    // Only promise a next page when one really has something on it.
    let more = t.users.iter().skip(pos).any(|u| u.references(domain))
        || t.groups
            .iter()
            .skip(pos.saturating_sub(t.users.len()))
            .any(|g| g.references(domain));
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{METADATA}#directoryObjects")),
    );
    if wants_count(&opts, &headers) && opts.skip_token.is_none() {
        let count = t.users.iter().filter(|u| u.references(domain)).count()
            + t.groups.iter().filter(|g| g.references(domain)).count();
        body.insert("@odata.count".into(), json!(count));
    }
    if more {
        let path = format!("domains/{domain}/domainNameReferences");
        body.insert(
            "@odata.nextLink".into(),
            json!(next_link(
                &state,
                &path,
                &opts,
                Collection::References,
                ctx.tenant,
                pos
            )),
        );
    }
    body.insert("value".into(), Value::Array(value));
    ok(Value::Object(body))
}

/// A page of a plain collection (users or groups).
/// What a collection route lists: the properties `$select` may name, the entity type for
/// errors, where the items are, and how one is rendered.
pub(super) struct Listing<T: 'static> {
    pub known: &'static [&'static [&'static str]],
    pub entity: &'static str,
    pub items: fn(&Tenant) -> &[T],
    pub collection: Collection,
    pub name: &'static str,
    pub render: fn(&T, Option<&Vec<&'static str>>, bool) -> Value,
    /// The permissions that let a token read this collection.
    pub required: &'static Required,
}

/// A collection route: sign-in, query options, `$count` with `ConsistencyLevel`, one page.
pub(super) fn list_route<T>(
    state: &Shared,
    headers: &HeaderMap,
    extensions: &Extensions,
    query: RawQuery,
    listing: &Listing<T>,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, *listing.required);
    let mut opts = match parse_options(query, listing.known, listing.entity, &ctx.ids) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    opts.count = wants_count(&opts, headers);
    list(
        state,
        &ctx,
        &opts,
        (listing.items)(ctx.tenant()),
        listing.collection,
        listing.name,
        listing.render,
    )
}

pub(super) fn list<T>(
    state: &Shared,
    ctx: &Ctx<'_>,
    opts: &Options,
    items: &[T],
    collection: Collection,
    name: &str,
    render_item: fn(&T, Option<&Vec<&'static str>>, bool) -> Value,
) -> Response {
    let start = match &opts.skip_token {
        Some(tok) => match decode_skip_token(state.page_key, tok, collection, ctx.tenant) {
            Some(p) => p,
            None => return expired_token(&ctx.ids),
        },
        None => 0,
    };
    let top = opts.top.unwrap_or(DEFAULT_PAGE);
    let start = start.min(items.len());
    let end = start.saturating_add(top).min(items.len());
    let value: Vec<Value> = items[start..end]
        .iter()
        .map(|i| render_item(i, opts.select.as_ref(), false))
        .collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(context(name, opts.select.as_ref())),
    );
    if opts.count && opts.skip_token.is_none() {
        body.insert("@odata.count".into(), json!(items.len()));
    }
    if end < items.len() {
        body.insert(
            "@odata.nextLink".into(),
            json!(next_link(state, name, opts, collection, ctx.tenant, end)),
        );
    }
    body.insert("value".into(), Value::Array(value));
    ok(Value::Object(body))
}

pub(crate) async fn users(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let listing = Listing {
        known: &[USER_MODELED, USER_UNMODELED],
        entity: "microsoft.graph.user",
        items: |t| t.users.as_slice(),
        collection: Collection::Users,
        name: "users",
        render: render_user,
        required: &permissions::USERS,
    };
    list_route(&state, &headers, &extensions, query, &listing)
}

pub(crate) async fn groups(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let listing = Listing {
        known: &[GROUP_DEFAULT],
        entity: "microsoft.graph.group",
        items: |t| t.groups.as_slice(),
        collection: Collection::Groups,
        name: "groups",
        render: render_group,
        required: &permissions::GROUPS,
    };
    list_route(&state, &headers, &extensions, query, &listing)
}

fn entity_context(collection: &str, select: Option<&Vec<&'static str>>) -> String {
    format!("{}/$entity", context(collection, select))
}

pub(crate) async fn user(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::USERS);
    let known = [USER_MODELED, USER_UNMODELED];
    let opts = match parse_options(query, &known, "microsoft.graph.user", &ctx.ids) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let Some(u) = ctx.tenant().user(&id) else {
        return not_found(&id, &ctx.ids);
    };
    let mut v = render_user(u, opts.select.as_ref(), false);
    if let Value::Object(obj) = &mut v {
        obj.insert(
            "@odata.context".into(),
            json!(entity_context("users", opts.select.as_ref())),
        );
    }
    ok(v)
}

pub(crate) async fn group(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, permissions::GROUPS);
    let opts = match parse_options(query, &[GROUP_DEFAULT], "microsoft.graph.group", &ctx.ids) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let Some(g) = ctx.tenant().group(&id) else {
        return not_found(&id, &ctx.ids);
    };
    let mut v = render_group(g, opts.select.as_ref(), false);
    if let Value::Object(obj) = &mut v {
        obj.insert(
            "@odata.context".into(),
            json!(entity_context("groups", opts.select.as_ref())),
        );
    }
    ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_tokens_round_trip_and_reject_tampering() {
        let tok = encode_skip_token(42, Collection::Users, 0, 700);
        assert_eq!(decode_skip_token(42, &tok, Collection::Users, 0), Some(700));
        assert_eq!(decode_skip_token(42, &tok, Collection::Groups, 0), None);
        assert_eq!(decode_skip_token(42, &tok, Collection::Users, 1), None);
        let mut bad = tok.clone().into_bytes();
        bad[3] = if bad[3] == b'0' { b'1' } else { b'0' };
        let bad = String::from_utf8(bad).unwrap();
        assert_eq!(decode_skip_token(42, &bad, Collection::Users, 0), None);
    }

    #[test]
    fn group_sid_matches_entra_layout() {
        // Expected value computed independently (Python: struct.unpack('<4I', uuid.bytes_le)),
        // the conversion Entra documents for object id → SID.
        let sid = group_sid("a3c4b8f7-3f5e-4b7b-9c7f-6f7e4b1d2c3a");
        assert_eq!(
            sid,
            json!("S-1-12-1-2747578615-1266368350-2121236380-975969611")
        );
    }
}
