//! The access changes as [`Change`]s: revoke (or put back) a delegated grant, remove (or put
//! back) an application permission, delete (or restore) a service principal, remove (or
//! recreate) an Exchange connector. Each is built from the same JSON values the journal
//! records as `before`/`after`, so a backout rebuilds the inverse from the journal alone.

use serde_json::{Value, json};

use crate::graph::client::encode;
use crate::plan::change::{
    Change, FIELD_APP_ROLE, FIELD_CONNECTOR, FIELD_GRANT, FIELD_SERVICE_PRINCIPAL, Inverse, Route,
    Target, change_id,
};

/// How long Microsoft keeps a deleted service principal restorable.
pub const DELETED_ITEMS_DAYS: u32 = 30;

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn graph(method: &str, path: String, body: Option<Value>) -> Route {
    Route::Graph {
        method: method.into(),
        path,
        body,
    }
}

/// The grant as the journal keeps it: what `POST /oauth2PermissionGrants` needs, and its id.
pub fn grant_value(
    id: &str,
    client: &str,
    consent: &str,
    principal: Option<&str>,
    resource: &str,
    scope: &str,
) -> Value {
    json!({
        "id": id,
        "clientId": client,
        "consentType": consent,
        "principalId": principal,
        "resourceId": resource,
        "scope": scope,
    })
}

fn grant_body(grant: &Value) -> Value {
    json!({
        "clientId": text(grant, "clientId"),
        "consentType": text(grant, "consentType"),
        "principalId": grant.get("principalId").cloned().unwrap_or(Value::Null),
        "resourceId": text(grant, "resourceId"),
        "scope": text(grant, "scope"),
    })
}

const GRANT_RULE: &str = "A delegated grant lets an application act as the people who consented (or everyone, when an admin consented) on the named API until it is revoked";

impl Change {
    /// Revoke a delegated grant (`DELETE /v1.0/oauth2PermissionGrants/{id}`); the inverse
    /// posts the same grant back (`POST /v1.0/oauth2PermissionGrants`: Microsoft gives it the
    /// same id). `grant` is [`grant_value`].
    pub fn revoke_grant(tenant: &str, display: &str, grant: &Value) -> Change {
        let id = text(grant, "id");
        let target = Target {
            id: id.to_string(),
            display: display.to_string(),
        };
        Change::new(
            tenant,
            target,
            FIELD_GRANT,
            (grant.clone(), Value::Null),
            (
                graph(
                    "DELETE",
                    format!("/v1.0/oauth2PermissionGrants/{}", encode(id)),
                    None,
                ),
                Inverse::Apply {
                    route: graph(
                        "POST",
                        "/v1.0/oauth2PermissionGrants".into(),
                        Some(grant_body(grant)),
                    ),
                },
            ),
            GRANT_RULE,
        )
    }

    /// Put a revoked grant back (`POST /v1.0/oauth2PermissionGrants`); the inverse revokes it.
    pub fn restore_grant(tenant: &str, display: &str, grant: &Value) -> Change {
        let id = text(grant, "id");
        let target = Target {
            id: id.to_string(),
            display: display.to_string(),
        };
        Change::new(
            tenant,
            target,
            FIELD_GRANT,
            (Value::Null, grant.clone()),
            (
                graph(
                    "POST",
                    "/v1.0/oauth2PermissionGrants".into(),
                    Some(grant_body(grant)),
                ),
                Inverse::Apply {
                    route: graph(
                        "DELETE",
                        format!("/v1.0/oauth2PermissionGrants/{}", encode(id)),
                        None,
                    ),
                },
            ),
            GRANT_RULE,
        )
    }
}

/// The assignment as the journal keeps it.
pub fn app_role_value(id: &str, principal: &str, resource: &str, app_role: &str) -> Value {
    json!({"id": id, "principalId": principal, "resourceId": resource, "appRoleId": app_role})
}

const APP_ROLE_RULE: &str = "An application permission lets an application use the API on its own, for every mailbox or object the permission covers, until the assignment is removed";

impl Change {
    /// Remove an application permission
    /// (`DELETE /v1.0/servicePrincipals/{resourceId}/appRoleAssignedTo/{id}`); the inverse
    /// assigns the same role again (`POST …/appRoleAssignedTo`), which gets a new id.
    pub fn remove_app_role(tenant: &str, display: &str, assignment: &Value) -> Change {
        let (id, resource) = (text(assignment, "id"), text(assignment, "resourceId"));
        let target = Target {
            id: id.to_string(),
            display: display.to_string(),
        };
        let post = graph(
            "POST",
            format!(
                "/v1.0/servicePrincipals/{}/appRoleAssignedTo",
                encode(resource)
            ),
            Some(json!({
                "principalId": text(assignment, "principalId"),
                "resourceId": resource,
                "appRoleId": text(assignment, "appRoleId"),
            })),
        );
        Change::new(
            tenant,
            target,
            FIELD_APP_ROLE,
            (assignment.clone(), Value::Null),
            (
                graph(
                    "DELETE",
                    format!(
                        "/v1.0/servicePrincipals/{}/appRoleAssignedTo/{}",
                        encode(resource),
                        encode(id)
                    ),
                    None,
                ),
                Inverse::Apply { route: post },
            ),
            APP_ROLE_RULE,
        )
    }

    /// Assign a removed application permission again (`POST …/appRoleAssignedTo`). No inverse
    /// of its own: Microsoft names the new assignment only in its answer.
    pub fn restore_app_role(tenant: &str, display: &str, assignment: &Value) -> Change {
        let resource = text(assignment, "resourceId");
        let target = Target {
            id: text(assignment, "id").to_string(),
            display: display.to_string(),
        };
        Change::new(
            tenant,
            target,
            FIELD_APP_ROLE,
            (Value::Null, assignment.clone()),
            (
                graph(
                    "POST",
                    format!("/v1.0/servicePrincipals/{}/appRoleAssignedTo", encode(resource)),
                    Some(json!({
                        "principalId": text(assignment, "principalId"),
                        "resourceId": resource,
                        "appRoleId": text(assignment, "appRoleId"),
                    })),
                ),
                Inverse::None {
                    why: "the assignment put back has a new id, which Microsoft names only in its answer; remove it again with 'cutover plan access'".into(),
                },
            ),
            APP_ROLE_RULE,
        )
    }
}

/// The service principal as the journal keeps it.
pub fn service_principal_value(id: &str, app_id: &str, display: &str) -> Value {
    json!({"id": id, "appId": app_id, "displayName": display})
}

impl Change {
    /// Delete a service principal (`DELETE /v1.0/servicePrincipals/{id}`): its grants and
    /// assignments go with it. Microsoft keeps it in deleted items for 30 days; the inverse
    /// restores it from there (`POST /v1.0/directory/deletedItems/{id}/restore`), with them.
    pub fn delete_service_principal(tenant: &str, sp: &Value) -> Change {
        let id = text(sp, "id");
        Change::new(
            tenant,
            Target {
                id: id.to_string(),
                display: text(sp, "displayName").to_string(),
            },
            FIELD_SERVICE_PRINCIPAL,
            (sp.clone(), Value::Null),
            (
                graph(
                    "DELETE",
                    format!("/v1.0/servicePrincipals/{}", encode(id)),
                    None,
                ),
                Inverse::Apply {
                    route: graph(
                        "POST",
                        format!("/v1.0/directory/deletedItems/{}/restore", encode(id)),
                        None,
                    ),
                },
            ),
            &format!(
                "A service principal is the application's presence in this tenant: deleting it ends every grant and assignment it holds. Microsoft keeps it in deleted items for {DELETED_ITEMS_DAYS} days; undo restores it from there, not after"
            ),
        )
    }

    /// Restore a deleted service principal from deleted items; the inverse deletes it again.
    pub fn restore_service_principal(tenant: &str, sp: &Value) -> Change {
        let id = text(sp, "id");
        Change::new(
            tenant,
            Target {
                id: id.to_string(),
                display: text(sp, "displayName").to_string(),
            },
            FIELD_SERVICE_PRINCIPAL,
            (Value::Null, sp.clone()),
            (
                graph(
                    "POST",
                    format!("/v1.0/directory/deletedItems/{}/restore", encode(id)),
                    None,
                ),
                Inverse::Apply {
                    route: graph(
                        "DELETE",
                        format!("/v1.0/servicePrincipals/{}", encode(id)),
                        None,
                    ),
                },
            ),
            &format!(
                "A deleted service principal can be restored from deleted items for {DELETED_ITEMS_DAYS} days after its deletion"
            ),
        )
    }
}

/// A connector as the journal keeps it: its direction and the `New-…Connector` parameters
/// that recreate it with the settings cutover read.
pub fn connector_value(c: &crate::exchange::Connector) -> Value {
    use crate::exchange::Connector;
    let params = match c {
        Connector::Inbound(i) => {
            let mut p = json!({
                "Name": i.name,
                "ConnectorType": i.connector_type,
                "SenderDomains": i.sender_domains,
                "Enabled": i.enabled,
            });
            if !i.sender_ip_addresses.is_empty() {
                p["SenderIPAddresses"] = json!(i.sender_ip_addresses);
            }
            if let Some(t) = &i.tls_sender_certificate_name {
                p["TlsSenderCertificateName"] = json!(t);
                p["RequireTls"] = json!(true);
            }
            p
        }
        Connector::Outbound(o) => {
            let mut p = json!({
                "Name": o.name,
                "ConnectorType": o.connector_type,
                "RecipientDomains": o.recipient_domains,
                "UseMXRecord": o.use_mx_record,
                "Enabled": o.enabled,
            });
            if !o.smart_hosts.is_empty() {
                p["SmartHosts"] = json!(o.smart_hosts);
            }
            if let Some(t) = &o.tls_domain {
                p["TlsDomain"] = json!(t);
            }
            p
        }
    };
    json!({"direction": c.direction(), "params": params})
}

const CONNECTOR_RULE: &str = "A connector that names the domain routes or accepts its mail by rules Microsoft keeps applying after the domain moves; the undo recreates it with the settings cutover read (name, type, domains, smart hosts or sender IPs, TLS name), not rules or comments set elsewhere";

fn connector_cmdlet(verb: &str, value: &Value) -> String {
    let direction = if text(value, "direction") == "outbound" {
        "Outbound"
    } else {
        "Inbound"
    };
    format!("{verb}-{direction}Connector")
}

impl Change {
    /// Remove a connector (`Remove-InboundConnector` / `Remove-OutboundConnector -Identity N
    /// -Confirm:$false`); the executor then reads `Get-…Connector -Identity N` until it is
    /// gone. The inverse creates it again with `New-…Connector` and the saved settings.
    pub fn remove_connector(tenant: &str, value: &Value) -> Change {
        let name = value
            .get("params")
            .map(|p| text(p, "Name"))
            .unwrap_or_default();
        Change::new(
            tenant,
            Target {
                id: name.to_string(),
                display: format!("{} connector {name}", text(value, "direction")),
            },
            FIELD_CONNECTOR,
            (value.clone(), Value::Null),
            (
                Route::Exchange {
                    cmdlet: connector_cmdlet("Remove", value),
                    params: json!({"Identity": name, "Confirm": false}),
                },
                Inverse::Apply {
                    route: Route::Exchange {
                        cmdlet: connector_cmdlet("New", value),
                        params: value.get("params").cloned().unwrap_or(Value::Null),
                    },
                },
            ),
            CONNECTOR_RULE,
        )
    }

    /// Create a removed connector again with its saved settings; the inverse removes it.
    pub fn new_connector(tenant: &str, value: &Value) -> Change {
        let mut c = Change::remove_connector(tenant, value);
        let Inverse::Apply { route: new } = c.inverse.clone() else {
            return c;
        };
        c.inverse = Inverse::Apply { route: c.route };
        c.route = new;
        std::mem::swap(&mut c.before, &mut c.after);
        c.id = change_id(tenant, &c.target.id, FIELD_CONNECTOR, &c.before, &c.after);
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_revocation_and_its_restore_are_each_others_inverse() {
        let g = grant_value(
            "gid",
            "c1",
            "Principal",
            Some("u1"),
            "r1",
            "Mail.ReadWrite User.Read",
        );
        let revoke = Change::revoke_grant("source", "CRM", &g);
        let restore = Change::restore_grant("source", "CRM", &g);
        assert_ne!(revoke.id, restore.id);
        assert_eq!(revoke.after, Value::Null);
        let Inverse::Apply {
            route: Route::Graph { method, body, .. },
        } = &revoke.inverse
        else {
            panic!("inverse");
        };
        assert_eq!(method, "POST");
        assert_eq!(body.as_ref().unwrap()["principalId"], "u1");
        assert_eq!(
            revoke.inverse,
            Inverse::Apply {
                route: restore.route
            }
        );
    }

    #[test]
    fn a_connector_removal_recreates_it_with_new() {
        let v = json!({"direction": "inbound", "params": {"Name": "Relay", "ConnectorType": "Partner", "SenderDomains": ["contoso.example"]}});
        let r = Change::remove_connector("source", &v);
        let Route::Exchange { cmdlet, params } = &r.route else {
            panic!("exchange");
        };
        assert_eq!(cmdlet, "Remove-InboundConnector");
        assert_eq!(params["Identity"], "Relay");
        let n = Change::new_connector("source", &v);
        let Route::Exchange { cmdlet, params } = &n.route else {
            panic!("exchange");
        };
        assert_eq!(cmdlet, "New-InboundConnector");
        assert_eq!(params["SenderDomains"][0], "contoso.example");
        assert_eq!(n.before, Value::Null);
        assert_ne!(n.id, r.id);
    }

    #[test]
    fn a_deletion_says_how_long_it_can_be_undone() {
        let c = Change::delete_service_principal(
            "source",
            &service_principal_value("sp1", "app1", "Backup"),
        );
        assert!(c.rule.contains("30 days"), "{}", c.rule);
        let Inverse::Apply {
            route: Route::Graph { path, .. },
        } = &c.inverse
        else {
            panic!("inverse");
        };
        assert_eq!(path, "/v1.0/directory/deletedItems/sp1/restore");
    }
}
