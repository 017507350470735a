//! What the rehearsal grants and enforces, as Microsoft does: each Graph and Exchange route
//! requires one of the permissions Microsoft documents for it (application permissions in an
//! app-only token's `roles`, delegated scopes in a signed-in person's `scp`), and a token
//! without any of them gets 403 in the service's own shape.
//!
//! This table is the sim's, written from Microsoft's API pages, and deliberately not the
//! product's (`graph::permissions`): if both read one table, a wrong entry could never show.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::auth::IssuedToken;
use super::http::{RequestIds, graph_error};

/// The permissions that satisfy one route: any one of `application` in an app-only token, any
/// one of `delegated` in a delegated one.
#[derive(Debug)]
pub(crate) struct Required {
    pub application: &'static [&'static str],
    pub delegated: &'static [&'static str],
}

/// `GET /organization` (Microsoft's "List organization").
pub(crate) const ORGANIZATION: Required = Required {
    application: &[
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "User.Read",
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

const DOMAIN_READ: &[&str] = &[
    "Domain.Read.All",
    "Domain.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// `GET /domains`, `/domains/{id}`, `/serviceConfigurationRecords`, `/verificationDnsRecords`.
pub(crate) const DOMAINS: Required = Required {
    application: DOMAIN_READ,
    delegated: DOMAIN_READ,
};

/// `GET /domains/{id}/domainNameReferences`: Microsoft lists no Directory.* permission here.
pub(crate) const DOMAIN_REFERENCES: Required = Required {
    application: &["Domain.Read.All", "Domain.ReadWrite.All"],
    delegated: &["Domain.Read.All", "Domain.ReadWrite.All"],
};

/// `GET /users`, `/users/{id}`, `/users/delta`. (Delegated `User.ReadBasic.All` would list
/// users without `proxyAddresses`; the sim does not model partial answers and refuses it.)
pub(crate) const USERS: Required = Required {
    application: &[
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "User.Read.All",
        "User.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

const GROUP_READ: &[&str] = &[
    "GroupMember.Read.All",
    "Group.Read.All",
    "Group.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// `GET /groups`, `/groups/{id}`, `/groups/delta`.
pub(crate) const GROUPS: Required = Required {
    application: GROUP_READ,
    delegated: GROUP_READ,
};

const CONTACT_READ: &[&str] = &[
    "OrgContact.Read.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];

/// `GET /contacts`.
pub(crate) const CONTACTS: Required = Required {
    application: CONTACT_READ,
    delegated: CONTACT_READ,
};

/// `GET /applications`.
pub(crate) const APPLICATIONS: Required = Required {
    application: &[
        "Application.Read.All",
        "Application.ReadWrite.OwnedBy",
        "Application.ReadWrite.All",
        "Directory.Read.All",
    ],
    delegated: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// `GET /tenantRelationships/findTenantInformationByDomainName(…)`: no higher permission.
pub(crate) const TENANT_INFORMATION: Required = Required {
    application: &["CrossTenantInformation.ReadBasic.All"],
    delegated: &["CrossTenantInformation.ReadBasic.All"],
};

/// `PATCH /users/{id}` (Microsoft's "Update user"; the UPN needs User.ReadWrite.All at least).
pub(crate) const USER_WRITE: Required = Required {
    application: &["User.ReadWrite.All", "Directory.ReadWrite.All"],
    delegated: &["User.ReadWrite.All", "Directory.ReadWrite.All"],
};

/// `POST /domains`, `POST /domains/{id}/verify`, `PATCH`/`DELETE /domains/{id}`,
/// `POST /domains/{id}/forceDelete`: Microsoft lists Domain.ReadWrite.All only (delegated,
/// also Directory.AccessAsUser.All, which app-only tokens never carry).
pub(crate) const DOMAIN_WRITE: Required = Required {
    application: &["Domain.ReadWrite.All"],
    delegated: &["Domain.ReadWrite.All", "Directory.AccessAsUser.All"],
};

/// `PATCH /applications/{id}` (Microsoft's "Update application"). Microsoft also accepts
/// Application.ReadWrite.OwnedBy for an app that owns the registration; the sim models no
/// owners, so it refuses that one (stricter).
pub(crate) const APPLICATION_WRITE: Required = Required {
    application: &["Application.ReadWrite.All"],
    delegated: &["Application.ReadWrite.All"],
};

/// `GET /servicePrincipals`, `/servicePrincipals/{id}`, `…/appRoleAssignments`,
/// `…/appRoleAssignedTo` (Microsoft's "List servicePrincipals" and "List appRoleAssignments").
/// Application.ReadWrite.OwnedBy is left out: the sim models no owners (stricter).
pub(crate) const SERVICE_PRINCIPALS: Required = Required {
    application: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    ],
};

/// `GET /oauth2PermissionGrants` and `/oauth2PermissionGrants/{id}`: Directory.Read.All is the
/// least privileged permission Microsoft lists (Application.Read.All does not do).
pub(crate) const GRANTS_READ: Required = Required {
    application: &[
        "Directory.Read.All",
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "Directory.Read.All",
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};

/// `POST /oauth2PermissionGrants`, `DELETE /oauth2PermissionGrants/{id}`.
pub(crate) const GRANTS_WRITE: Required = Required {
    application: &[
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
    delegated: &[
        "DelegatedPermissionGrant.ReadWrite.All",
        "Directory.ReadWrite.All",
    ],
};

/// `POST`/`DELETE /servicePrincipals/{id}/appRoleAssignedTo`: AppRoleAssignment.ReadWrite.All
/// only (Microsoft lists no higher permission for the removal).
pub(crate) const ASSIGNMENT_WRITE: Required = Required {
    application: &["AppRoleAssignment.ReadWrite.All"],
    delegated: &["AppRoleAssignment.ReadWrite.All"],
};

/// `DELETE /servicePrincipals/{id}` and `POST /directory/deletedItems/{id}/restore` of a
/// service principal. Microsoft also accepts Application.ReadWrite.OwnedBy for an owner; the
/// sim models no owners (stricter).
pub(crate) const SERVICE_PRINCIPAL_WRITE: Required = Required {
    application: &["Application.ReadWrite.All"],
    delegated: &["Application.ReadWrite.All"],
};

/// Exchange's `InvokeCommand` (the module's route).
pub(crate) const EXCHANGE_INVOKE: Required = Required {
    application: &["Exchange.ManageAsApp"],
    delegated: &["Exchange.Manage"],
};

/// Exchange's documented Admin API (`/adminapi/v2.0/…`).
pub(crate) const EXCHANGE_ADMIN_API: Required = Required {
    application: &["Exchange.ManageAsAppV2"],
    delegated: &["Exchange.ManageV2"],
};

/// What each tenant's app registration is granted by default: the least privileged
/// permission of every route the product calls, nothing broader (so denying one shows).
pub(crate) const GRAPH_GRANT: &[&str] = &[
    "Organization.Read.All",
    "Domain.Read.All",
    "User.Read.All",
    "GroupMember.Read.All",
    "OrgContact.Read.All",
    "Application.Read.All",
    "CrossTenantInformation.ReadBasic.All",
];
pub(crate) const GRAPH_DELEGATED_GRANT: &[&str] = &[
    "User.Read",
    "Organization.Read.All",
    "Domain.Read.All",
    "User.Read.All",
    "GroupMember.Read.All",
    "OrgContact.Read.All",
    "Application.Read.All",
    "CrossTenantInformation.ReadBasic.All",
];
/// What the change engine needs on top of the read grant, granted with `--grant-permission`
/// (not by default: a broader grant would hide a denied read permission).
pub const WRITE_PERMISSIONS: &[&str] = &[
    "User.ReadWrite.All",
    "Domain.ReadWrite.All",
    "Application.ReadWrite.All",
];

/// What the Connections pane and `cutover plan access` need on top of those: reading delegated
/// grants (only Directory.Read.All reads them) and revoking grants and app role assignments.
/// The demo grants them so its sixth pane shows what an admin's consented app would see.
pub const ACCESS_PERMISSIONS: &[&str] = &[
    "Directory.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
];

pub(crate) const EXCHANGE_GRANT: &[&str] = &["Exchange.ManageAsApp", "Exchange.ManageAsAppV2"];
pub(crate) const EXCHANGE_DELEGATED_GRANT: &[&str] = &["Exchange.Manage", "Exchange.ManageV2"];

/// A permission withheld from tokens issued from now on: for one tenant (by index) or all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Denial {
    pub tenant: Option<usize>,
    pub permission: String,
}

/// Whether the token carries one of the permissions the route accepts.
pub(crate) fn permits(token: &IssuedToken, required: &Required) -> bool {
    let accepted = if token.delegated {
        required.delegated
    } else {
        required.application
    };
    token
        .permissions
        .iter()
        .any(|p| accepted.iter().any(|a| a.eq_ignore_ascii_case(p)))
}

/// Graph's 403 for a directory read the token does not allow (Microsoft does not say which
/// permission is missing).
pub(crate) fn graph_forbidden(ids: &RequestIds) -> Response {
    graph_error(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
        ids,
    )
}

/// Exchange's refusal of a token without the Exchange permission. The status and wording are
/// the sim's own: Microsoft does not document this answer.
pub(crate) fn exchange_forbidden(cmdlet: &str, ids: &RequestIds) -> Response {
    let message = format!("User is not allowed to call {cmdlet}");
    let body = json!({"error": {
        "code": "Forbidden",
        "message": message,
        "innererror": {
            "message": message,
            "type": "Microsoft.Exchange.Admin.OData.Core.ODataServiceException",
            "request-id": ids.request_id,
        }
    }});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

/// Parse `--deny-permission` values: `Domain.Read.All` (every tenant) or
/// `source:Domain.Read.All`; `labels` are the tenants' labels in index order.
pub(crate) fn parse_denial(value: &str, labels: &[&str]) -> Result<Denial, String> {
    let (tenant, permission) = match value.split_once(':') {
        Some((label, perm)) => {
            let label = label.trim();
            let index = labels
                .iter()
                .position(|l| l.eq_ignore_ascii_case(label))
                .ok_or_else(|| {
                    format!(
                        "deny-permission {value:?}: no tenant labelled {label:?} (use {})",
                        labels.join(" or ")
                    )
                })?;
            (Some(index), perm.trim())
        }
        None => (None, value.trim()),
    };
    let plausible = !permission.is_empty()
        && permission
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !plausible {
        return Err(format!(
            "deny-permission {value:?}: a permission is a name like Domain.Read.All"
        ));
    }
    Ok(Denial {
        tenant,
        permission: permission.to_string(),
    })
}

/// The permissions a new token gets: the default grant for its audience and kind, less what
/// is denied for its tenant.
#[cfg(test)]
pub(crate) fn granted(grant: &[&str], tenant: usize, denials: &[Denial]) -> Vec<String> {
    granted_with(grant, &[], tenant, denials)
}

/// As [`granted`], with extra grants (same shape as denials: a tenant or all) added first;
/// a denial still wins.
pub(crate) fn granted_with(
    grant: &[&str],
    extra: &[Denial],
    tenant: usize,
    denials: &[Denial],
) -> Vec<String> {
    let mut all: Vec<String> = grant.iter().map(|p| (*p).to_string()).collect();
    for g in extra
        .iter()
        .filter(|g| g.tenant.is_none_or(|t| t == tenant))
    {
        if !all.iter().any(|p| p.eq_ignore_ascii_case(&g.permission)) {
            all.push(g.permission.clone());
        }
    }
    all.into_iter()
        .filter(|p| {
            !denials.iter().any(|d| {
                d.tenant.is_none_or(|t| t == tenant) && d.permission.eq_ignore_ascii_case(p)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn denials_parse_with_and_without_a_tenant() {
        let labels = ["source", "destination"];
        assert_eq!(
            parse_denial("Domain.Read.All", &labels),
            Ok(Denial {
                tenant: None,
                permission: "Domain.Read.All".into()
            })
        );
        assert_eq!(
            parse_denial("destination:User.Read.All", &labels).map(|d| d.tenant),
            Ok(Some(1))
        );
        assert!(parse_denial("elsewhere:User.Read.All", &labels).is_err());
        assert!(parse_denial("source:", &labels).is_err());
        assert!(parse_denial("Domain Read", &labels).is_err());
    }

    #[test]
    fn a_denied_permission_is_not_granted_to_that_tenant_only() {
        let d = vec![Denial {
            tenant: Some(0),
            permission: "domain.read.all".into(),
        }];
        assert!(!granted(GRAPH_GRANT, 0, &d).contains(&"Domain.Read.All".to_string()));
        assert!(granted(GRAPH_GRANT, 1, &d).contains(&"Domain.Read.All".to_string()));
    }

    #[test]
    fn the_default_grant_satisfies_every_route() {
        let routes = [
            &ORGANIZATION,
            &DOMAINS,
            &DOMAIN_REFERENCES,
            &USERS,
            &GROUPS,
            &CONTACTS,
            &APPLICATIONS,
            &TENANT_INFORMATION,
        ];
        for r in routes {
            assert!(
                r.application.iter().any(|p| GRAPH_GRANT.contains(p)),
                "{r:?}"
            );
            assert!(
                r.delegated
                    .iter()
                    .any(|p| GRAPH_DELEGATED_GRANT.contains(p)),
                "{r:?}"
            );
        }
        for r in [&EXCHANGE_INVOKE, &EXCHANGE_ADMIN_API] {
            assert!(r.application.iter().any(|p| EXCHANGE_GRANT.contains(p)));
            assert!(
                r.delegated
                    .iter()
                    .any(|p| EXCHANGE_DELEGATED_GRANT.contains(p))
            );
        }
    }
}
