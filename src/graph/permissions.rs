//! Which Microsoft permission each route cutover calls needs, and what to say when Microsoft
//! answers 403. Microsoft's refusal never names the missing permission, so this table does:
//! one row per route, application and delegated permissions least privileged first, and the
//! pane or command that needs the route. `docs/permissions.md` is the same list for people
//! (a test checks that it names every permission here).
//!
//! The granted permissions are read from the access token's own payload (`roles` for
//! app-only tokens, `scp` for delegated ones); the token is decoded, never printed.

use std::fmt;

/// Which service a route belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// Microsoft Graph v1.0; routes are relative to `/v1.0`.
    Graph,
    /// Exchange Online's admin endpoints; routes start at `/adminapi`.
    Exchange,
}

/// One route and the permissions that satisfy it.
#[derive(Debug, PartialEq, Eq)]
pub struct RoutePermission {
    pub api: Api,
    pub method: &'static str,
    /// The path with `{placeholders}` (`/domains/{id}`); a segment `pre{x}post` matches any
    /// segment starting with `pre` and ending with `post`.
    pub route: &'static str,
    /// Application permissions (app-only profiles), least privileged first.
    pub application: &'static [&'static str],
    /// Delegated permissions (device-code profiles), least privileged first.
    pub delegated: &'static [&'static str],
    /// Who needs the route: panes and commands, for the error line.
    pub needed_by: &'static str,
}

const DOMAIN_READ: &[&str] = &[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const USER_READ: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const GROUP_READ: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const CONTACT_READ: &[&str] = &[
    "OrgContact.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

const fn graph(
    route: &'static str,
    application: &'static [&'static str],
    delegated: &'static [&'static str],
    needed_by: &'static str,
) -> RoutePermission {
    RoutePermission {
        api: Api::Graph,
        method: "GET",
        route,
        application,
        delegated,
        needed_by,
    }
}

/// A Graph write (`PATCH`, `POST`, `DELETE`).
const fn graph_write(
    method: &'static str,
    route: &'static str,
    application: &'static [&'static str],
    delegated: &'static [&'static str],
    needed_by: &'static str,
) -> RoutePermission {
    RoutePermission {
        api: Api::Graph,
        method,
        route,
        application,
        delegated,
        needed_by,
    }
}

/// Microsoft's "Update user" for `userPrincipalName`: User.ReadWrite.All at least (the
/// narrower User-PasswordProfile/User-Mail permissions do not cover the UPN).
const USER_WRITE: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
/// Create, verify, update, delete and forceDelete domain: Domain.ReadWrite.All is the only
/// application permission; delegated also Directory.AccessAsUser.All.
const DOMAIN_WRITE_APP: &[&str] = &["Domain.ReadWrite.All"];
const DOMAIN_WRITE_DELEGATED: &[&str] = &["Domain.ReadWrite.All", "Directory.AccessAsUser.All"];

/// List servicePrincipals, appRoleAssignments, appRoleAssignedTo.
const SP_READ_APP: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.OwnedBy",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const SP_READ_DELEGATED: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// List oauth2PermissionGrants: Directory.Read.All is the least Microsoft lists.
const GRANT_READ: &[&str] = &[
    "Directory.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.ReadWrite.All",
];
/// Create and delete oAuth2PermissionGrant.
const GRANT_WRITE: &[&str] = &[
    "DelegatedPermissionGrant.ReadWrite.All",
    "Directory.ReadWrite.All",
];
/// Grant (appRoleAssignedTo) and delete an app role assignment: nothing else is listed.
const ASSIGNMENT_WRITE: &[&str] = &["AppRoleAssignment.ReadWrite.All"];
/// Delete a service principal and restore it from deleted items. Application.ReadWrite.All
/// first: OwnedBy works only for a principal the app owns, which a third party's never is.
const SP_WRITE_APP: &[&str] = &["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"];
const SP_WRITE_DELEGATED: &[&str] = &["Application.ReadWrite.All"];

/// Every Microsoft route cutover calls with a token, and what it needs. Checked against
/// Microsoft's API pages; see `docs/permissions.md`.
pub const ROUTES: &[RoutePermission] = &[
    graph(
        "/organization",
        &[
            "Organization.Read.All",
            "Organization.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        &[
            "User.Read",
            "Organization.Read.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        "the dashboard's tenant poll (tenant name), `cutover exchange script` and `cutover snapshot`",
    ),
    graph(
        "/domains",
        DOMAIN_READ,
        DOMAIN_READ,
        "the Domain status pane",
    ),
    graph(
        "/domains/{id}",
        DOMAIN_READ,
        DOMAIN_READ,
        "the Domain status pane and `cutover dns --expect-from`",
    ),
    graph(
        "/domains/{id}/serviceConfigurationRecords",
        DOMAIN_READ,
        DOMAIN_READ,
        "the DNS records pane and `cutover dns --expect-from`",
    ),
    graph(
        "/domains/{id}/verificationDnsRecords",
        DOMAIN_READ,
        DOMAIN_READ,
        "the DNS records pane and `cutover dns --expect-from`",
    ),
    graph(
        "/domains/{id}/domainNameReferences",
        &["Domain.Read.All", "Domain.ReadWrite.All"],
        &["Domain.Read.All", "Domain.ReadWrite.All"],
        "the Domain status pane and `cutover inventory`",
    ),
    graph(
        "/users",
        USER_READ,
        USER_READ,
        "the Users and aliases pane, `cutover inventory`, `cutover exchange script` and `cutover snapshot`",
    ),
    graph(
        "/users/delta",
        USER_READ,
        USER_READ,
        "the Users and aliases pane",
    ),
    graph(
        "/users/{id}",
        USER_READ,
        USER_READ,
        "the Users and aliases pane",
    ),
    graph(
        "/groups",
        GROUP_READ,
        GROUP_READ,
        "the Users and aliases pane, `cutover inventory`, `cutover exchange script` and `cutover snapshot`",
    ),
    graph(
        "/groups/delta",
        GROUP_READ,
        GROUP_READ,
        "the Users and aliases pane",
    ),
    graph(
        "/groups/{id}",
        GROUP_READ,
        GROUP_READ,
        "the Users and aliases pane",
    ),
    graph(
        "/contacts",
        CONTACT_READ,
        CONTACT_READ,
        "the Users and aliases pane (contacts), `cutover inventory`, `cutover exchange script` and `cutover snapshot`",
    ),
    graph(
        "/applications",
        &[
            "Application.Read.All",
            "Application.ReadWrite.OwnedBy",
            "Application.ReadWrite.All",
            "Directory.Read.All",
        ],
        &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        "the Users and aliases pane (applications) and `cutover inventory`",
    ),
    graph(
        "/applications/{id}",
        &[
            "Application.Read.All",
            "Application.ReadWrite.OwnedBy",
            "Application.ReadWrite.All",
            "Directory.Read.All",
        ],
        &[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Directory.Read.All",
            "Directory.ReadWrite.All",
        ],
        "`apply` (reading an application's identifier URIs back)",
    ),
    graph(
        "/tenantRelationships/findTenantInformationByDomainName(domainName='{domain}')",
        &["CrossTenantInformation.ReadBasic.All"],
        &["CrossTenantInformation.ReadBasic.All"],
        "`cutover owner` and the dashboard's owner line",
    ),
    graph_write(
        "PATCH",
        "/users/{id}",
        USER_WRITE,
        USER_WRITE,
        "`apply` (a release plan's UPN changes)",
    ),
    graph_write(
        "POST",
        "/domains",
        DOMAIN_WRITE_APP,
        DOMAIN_WRITE_DELEGATED,
        "`apply` (adding the domain to the destination)",
    ),
    graph_write(
        "POST",
        "/domains/{id}/verify",
        DOMAIN_WRITE_APP,
        DOMAIN_WRITE_DELEGATED,
        "`apply` (verifying the domain in the destination)",
    ),
    graph_write(
        "POST",
        "/domains/{id}/forceDelete",
        DOMAIN_WRITE_APP,
        DOMAIN_WRITE_DELEGATED,
        "`apply` (a release plan made with --force-delete)",
    ),
    graph_write(
        "PATCH",
        "/domains/{id}",
        DOMAIN_WRITE_APP,
        DOMAIN_WRITE_DELEGATED,
        "`apply` (making the initial domain the default before the removal)",
    ),
    graph_write(
        "DELETE",
        "/domains/{id}",
        DOMAIN_WRITE_APP,
        DOMAIN_WRITE_DELEGATED,
        "`apply` (a release plan's domain removal)",
    ),
    graph_write(
        "PATCH",
        "/applications/{id}",
        &["Application.ReadWrite.OwnedBy", "Application.ReadWrite.All"],
        &["Application.ReadWrite.All"],
        "`apply` (a release plan's identifier URI changes, and their backout)",
    ),
    graph(
        "/servicePrincipals",
        SP_READ_APP,
        SP_READ_DELEGATED,
        "`cutover access` and `cutover plan access`",
    ),
    graph(
        "/servicePrincipals/{id}",
        SP_READ_APP,
        SP_READ_DELEGATED,
        "`apply` (reading a deleted or restored service principal back)",
    ),
    graph(
        "/servicePrincipals/{id}/appRoleAssignments",
        SP_READ_APP,
        SP_READ_DELEGATED,
        "`cutover access` and `apply` (reading an application permission back)",
    ),
    graph(
        "/servicePrincipals/{id}/appRoleAssignedTo",
        SP_READ_APP,
        SP_READ_DELEGATED,
        "`cutover access`",
    ),
    graph(
        "/oauth2PermissionGrants",
        GRANT_READ,
        GRANT_READ,
        "`cutover access` and `apply` (reading a delegated grant back)",
    ),
    graph_write(
        "DELETE",
        "/oauth2PermissionGrants/{id}",
        GRANT_WRITE,
        GRANT_WRITE,
        "`apply` (an access plan's grant revocations)",
    ),
    graph_write(
        "POST",
        "/oauth2PermissionGrants",
        GRANT_WRITE,
        GRANT_WRITE,
        "`apply` (undoing a grant revocation)",
    ),
    graph_write(
        "DELETE",
        "/servicePrincipals/{id}/appRoleAssignedTo/{assignment}",
        ASSIGNMENT_WRITE,
        ASSIGNMENT_WRITE,
        "`apply` (an access plan's application permission removals)",
    ),
    graph_write(
        "POST",
        "/servicePrincipals/{id}/appRoleAssignedTo",
        ASSIGNMENT_WRITE,
        ASSIGNMENT_WRITE,
        "`apply` (undoing an application permission removal)",
    ),
    graph_write(
        "DELETE",
        "/servicePrincipals/{id}",
        SP_WRITE_APP,
        SP_WRITE_DELEGATED,
        "`apply` (an access plan's service principal deletions)",
    ),
    graph_write(
        "POST",
        "/directory/deletedItems/{id}/restore",
        SP_WRITE_APP,
        SP_WRITE_DELEGATED,
        "`apply` (undoing a service principal deletion)",
    ),
    RoutePermission {
        api: Api::Exchange,
        method: "POST",
        route: "/adminapi/beta/{tenant}/InvokeCommand",
        application: &["Exchange.ManageAsApp"],
        delegated: &["Exchange.Manage"],
        needed_by: "`cutover exchange …` (InvokeCommand) and `cutover snapshot` (forwarding)",
    },
    RoutePermission {
        api: Api::Exchange,
        method: "POST",
        route: "/adminapi/v2.0/{tenant}/{endpoint}",
        application: &["Exchange.ManageAsAppV2"],
        delegated: &["Exchange.ManageV2"],
        needed_by: "`cutover exchange …` (Admin API)",
    },
];

/// The row for a request, from its method and URL (absolute or a path; the query is ignored).
pub fn route_of(method: &str, url: &str) -> Option<&'static RoutePermission> {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let (api, rest) = if let Some((_, rest)) = path.split_once("/v1.0") {
        (Api::Graph, rest)
    } else if let Some(pos) = path.find("/adminapi/") {
        (Api::Exchange, path.get(pos..).unwrap_or_default())
    } else {
        return None;
    };
    ROUTES.iter().find(|r| {
        r.api == api && r.method.eq_ignore_ascii_case(method) && path_matches(r.route, rest)
    })
}

fn path_matches(pattern: &str, path: &str) -> bool {
    let want: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
    let have: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    want.len() == have.len() && want.iter().zip(&have).all(|(w, h)| segment_matches(w, h))
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    match pattern.split_once('{') {
        None => pattern.eq_ignore_ascii_case(segment),
        Some((pre, after)) => {
            let post = after.split_once('}').map_or("", |(_, post)| post);
            segment.len() > pre.len() + post.len()
                && segment.starts_with(pre)
                && segment.ends_with(post)
        }
    }
}

/// The payload of a JWT access token, unverified: it names, it does not authorise.
pub(crate) fn claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.split('.');
    let (_header, payload) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = super::pem::b64url_decode(payload)?;
    serde_json::from_slice(&bytes).ok()
}

/// Who a delegated token was issued to (`upn`, else `preferred_username`), for the journal's
/// `upn`; `None` for an app-only token (client secret or certificate: no person signed in).
pub fn signed_in_user(token: &str) -> Option<String> {
    let claims = claims(token)?;
    claims.get("scp")?;
    ["upn", "preferred_username"]
        .iter()
        .find_map(|k| claims.get(*k).and_then(|v| v.as_str()))
        .map(str::to_string)
}

/// What an access token says it was granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// Signed in by a person (`scp`) rather than app-only (`roles`).
    pub delegated: bool,
    pub permissions: Vec<String>,
}

/// Decode the payload of a JWT access token (no signature check: it only explains a refusal
/// the service already made). `None` when the token is not a readable JWT.
pub fn granted(token: &str) -> Option<Granted> {
    let claims = claims(token)?;
    if let Some(scp) = claims.get("scp").and_then(|v| v.as_str()) {
        return Some(Granted {
            delegated: true,
            permissions: scp.split_whitespace().map(str::to_string).collect(),
        });
    }
    let roles = match claims.get("roles") {
        Some(serde_json::Value::Array(roles)) => roles
            .iter()
            .filter_map(|r| r.as_str())
            .map(str::to_string)
            .collect(),
        // An app-only token with no permission at all has no `roles` claim.
        None if claims.get("idtyp").and_then(|v| v.as_str()) == Some("app")
            || claims.get("appid").is_some() =>
        {
            Vec::new()
        }
        _ => return None,
    };
    Some(Granted {
        delegated: false,
        permissions: roles,
    })
}

/// Why the token was refused, as far as cutover can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The token lacks every accepted permission; this is the least privileged one.
    Permission(String),
    /// The token could not be read: one of these is needed.
    AnyOf(Vec<String>),
    /// The token holds this accepted permission and was refused anyway: the signed-in
    /// person's directory role (or the app's Exchange role) does not allow it.
    Role(String),
    /// A route not in the table.
    Unknown,
}

/// A 403 explained: what is missing, for which route, and who needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub missing: Missing,
    /// `GET /domains/{id}` (the table's form, without ids).
    pub route: String,
    pub needed_by: Option<String>,
}

impl Refusal {
    /// Explain a 403 on `method url` for the token that was sent.
    pub fn explain(method: &str, url: &str, token: &str) -> Refusal {
        let Some(row) = route_of(method, url) else {
            let path = url.split('?').next().unwrap_or(url);
            return Refusal {
                missing: Missing::Unknown,
                route: format!("{method} {path}"),
                needed_by: None,
            };
        };
        let route = format!("{} {}", row.method, row.route);
        let missing = match granted(token) {
            None => {
                // Unknown token kind: name both lists' permissions once each.
                let mut all: Vec<String> = Vec::new();
                for p in row.application.iter().chain(row.delegated) {
                    if !all.iter().any(|a| a == p) {
                        all.push((*p).to_string());
                    }
                }
                Missing::AnyOf(all)
            }
            Some(g) => {
                let accepted = if g.delegated {
                    row.delegated
                } else {
                    row.application
                };
                match accepted
                    .iter()
                    .find(|a| g.permissions.iter().any(|p| p.eq_ignore_ascii_case(a)))
                {
                    Some(held) => Missing::Role((*held).to_string()),
                    None => Missing::Permission(accepted.first().copied().unwrap_or("").into()),
                }
            }
        };
        Refusal {
            missing,
            route,
            needed_by: Some(row.needed_by.to_string()),
        }
    }

    /// The short form for the status bar: `missing Domain.Read.All`.
    pub fn short(&self) -> String {
        match &self.missing {
            Missing::Permission(p) => format!("missing {p}"),
            Missing::AnyOf(list) => format!("needs one of {}", list.join(", ")),
            Missing::Role(p) => format!("{p} granted, role missing"),
            Missing::Unknown => format!("refused {}", self.route),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.missing {
            Missing::Permission(p) => write!(f, "forbidden: missing {p} ({})", self.route)?,
            Missing::AnyOf(list) => write!(
                f,
                "forbidden: needs one of {} ({})",
                list.join(", "),
                self.route
            )?,
            Missing::Role(p) => write!(
                f,
                "forbidden: the token holds {p} but {} was refused; the signed-in account's role (or the app's Exchange role) does not allow it",
                self.route
            )?,
            Missing::Unknown => write!(f, "forbidden: {} was refused", self.route)?,
        }
        if let Some(who) = &self.needed_by {
            write!(f, "; needed by {who}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::pem::b64url;

    fn token(claims: serde_json::Value) -> String {
        format!(
            "{}.{}.{}",
            b64url(br#"{"typ":"JWT","alg":"RS256"}"#),
            b64url(claims.to_string().as_bytes()),
            b64url(b"signature")
        )
    }

    #[test]
    fn routes_are_found_from_urls() {
        let r = route_of(
            "GET",
            "https://graph.microsoft.com/v1.0/domains/contoso.com",
        )
        .unwrap();
        assert_eq!(r.route, "/domains/{id}");
        let r = route_of(
            "GET",
            "http://127.0.0.1:1/v1.0/domains/contoso.com/domainNameReferences?$top=999",
        )
        .unwrap();
        assert_eq!(r.route, "/domains/{id}/domainNameReferences");
        let r = route_of("GET", "/v1.0/users/delta?$deltatoken=x").unwrap();
        assert_eq!(r.route, "/users/delta");
        let r = route_of(
            "GET",
            "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='a.example')",
        )
        .unwrap();
        assert_eq!(r.application, &["CrossTenantInformation.ReadBasic.All"]);
        let r = route_of(
            "POST",
            "https://outlook.office365.com/adminapi/beta/t/InvokeCommand",
        )
        .unwrap();
        assert_eq!(r.application, &["Exchange.ManageAsApp"]);
        assert!(route_of("GET", "/v1.0/sites").is_none());
        assert!(route_of("DELETE", "/v1.0/users/x").is_none());
    }

    #[test]
    fn a_write_refused_names_its_write_permission() {
        let t = token(serde_json::json!({"appid": "a", "roles": ["Domain.Read.All"]}));
        for (method, url, missing) in [
            (
                "DELETE",
                "/v1.0/domains/contoso.com",
                "Domain.ReadWrite.All",
            ),
            ("PATCH", "/v1.0/domains/contoso.com", "Domain.ReadWrite.All"),
            ("POST", "/v1.0/domains", "Domain.ReadWrite.All"),
            (
                "POST",
                "/v1.0/domains/contoso.com/verify",
                "Domain.ReadWrite.All",
            ),
            (
                "POST",
                "/v1.0/domains/contoso.com/forceDelete",
                "Domain.ReadWrite.All",
            ),
            ("PATCH", "/v1.0/users/u1", "User.ReadWrite.All"),
            (
                "PATCH",
                "/v1.0/applications/a1",
                "Application.ReadWrite.OwnedBy",
            ),
        ] {
            let r = Refusal::explain(method, url, &t);
            assert_eq!(
                r.missing,
                Missing::Permission(missing.into()),
                "{method} {url}"
            );
        }
        // The forceDelete action is not mistaken for verify, nor a read for a write.
        let r = Refusal::explain("POST", "/v1.0/domains/x/forceDelete", &t);
        assert_eq!(r.route, "POST /domains/{id}/forceDelete");
        let r = Refusal::explain("GET", "/v1.0/domains/x", &t);
        assert_eq!(r.missing, Missing::Role("Domain.Read.All".into()));
    }

    #[test]
    fn an_app_token_without_the_permission_names_the_least_privileged_one() {
        let t = token(serde_json::json!({"appid": "a", "roles": ["User.Read.All"]}));
        let r = Refusal::explain("GET", "/v1.0/domains/contoso.com", &t);
        assert_eq!(r.missing, Missing::Permission("Domain.Read.All".into()));
        assert_eq!(
            r.to_string(),
            "forbidden: missing Domain.Read.All (GET /domains/{id}); needed by the Domain status pane and `cutover dns --expect-from`"
        );
        assert_eq!(r.short(), "missing Domain.Read.All");
    }

    #[test]
    fn delegated_scopes_and_roles_the_account_lacks() {
        assert_eq!(
            signed_in_user(&token(
                serde_json::json!({"scp": "User.Read", "upn": "ada@contoso.example"})
            )),
            Some("ada@contoso.example".to_string())
        );
        assert_eq!(
            signed_in_user(&token(
                serde_json::json!({"scp": "User.Read", "preferred_username": "bo@contoso.example"})
            )),
            Some("bo@contoso.example".to_string())
        );
        // App-only: no person signed in, whatever the token carries.
        assert_eq!(
            signed_in_user(&token(
                serde_json::json!({"roles": [], "upn": "x@contoso.example"})
            )),
            None
        );
        let t = token(serde_json::json!({"scp": "User.Read Domain.Read.All"}));
        let r = Refusal::explain("GET", "/v1.0/users?$top=999", &t);
        assert_eq!(r.missing, Missing::Permission("User.Read.All".into()));
        let r = Refusal::explain("GET", "/v1.0/domains", &t);
        assert_eq!(r.missing, Missing::Role("Domain.Read.All".into()));
        // An app token with nothing granted carries no roles claim at all.
        let t = token(serde_json::json!({"appid": "a", "idtyp": "app"}));
        let r = Refusal::explain("GET", "/v1.0/organization", &t);
        assert_eq!(
            r.missing,
            Missing::Permission("Organization.Read.All".into())
        );
    }

    #[test]
    fn an_unreadable_token_lists_every_accepted_permission() {
        let r = Refusal::explain("GET", "/v1.0/domains/x/domainNameReferences", "opaque");
        assert_eq!(
            r.to_string(),
            "forbidden: needs one of Domain.Read.All, Domain.ReadWrite.All (GET /domains/{id}/domainNameReferences); needed by the Domain status pane and `cutover inventory`"
        );
        assert!(granted("a.%%%.c").is_none());
        assert!(granted("a.b").is_none());
    }

    #[test]
    fn the_doc_lists_every_route_with_its_permissions() {
        // docs/permissions.md has one table line per route, starting with the route in
        // backticks and naming every permission of this table's row, in the same order.
        let doc = include_str!("../../docs/permissions.md");
        for row in ROUTES {
            let marker = format!("| `{} {}` |", row.method, row.route);
            let line = doc
                .lines()
                .find(|l| l.starts_with(&marker))
                .unwrap_or_else(|| panic!("docs/permissions.md has no line starting {marker}"));
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let listed = |cell: &str| -> Vec<String> {
                cell.split(',').map(|p| p.trim().to_string()).collect()
            };
            assert_eq!(
                cells.get(2).map(|c| listed(c)),
                Some(row.application.iter().map(|p| p.to_string()).collect()),
                "application permissions of {marker}"
            );
            assert_eq!(
                cells.get(3).map(|c| listed(c)),
                Some(row.delegated.iter().map(|p| p.to_string()).collect()),
                "delegated permissions of {marker}"
            );
        }
    }
}
