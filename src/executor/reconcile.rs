//! What the journal says about each change, and whether the live state already shows it.
//! Run before anything is sent: an intent without an `ok` outcome may have been applied (a
//! crash, a dropped connection), so the object is read again instead of the change re-sent.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};

use crate::audit::{AuditError, Kind, read_records};
use crate::exchange::{ExchangeClient, ExchangeError, Recipient, Route as ExchangeRoute};
use crate::graph::GraphClient;
use crate::plan::change::{
    Change, FIELD_APP_ROLE, FIELD_CONNECTOR, FIELD_DEFAULT_DOMAIN, FIELD_DKIM, FIELD_DKIM_CONFIG,
    FIELD_DOMAIN, FIELD_DOMAIN_ADDED, FIELD_DOMAIN_RELEASED, FIELD_DOMAIN_VERIFIED, FIELD_GRANT,
    FIELD_IDENTIFIER_URIS, FIELD_SERVICE_PRINCIPAL, FIELD_UPN, addresses_hold, change_id,
    identifier_uris_hold,
};

/// Fields [`check_graph`] can read back.
pub const GRAPH_FIELDS: [&str; 10] = [
    FIELD_GRANT,
    FIELD_APP_ROLE,
    FIELD_SERVICE_PRINCIPAL,
    FIELD_UPN,
    FIELD_IDENTIFIER_URIS,
    FIELD_DOMAIN,
    FIELD_DEFAULT_DOMAIN,
    FIELD_DOMAIN_ADDED,
    FIELD_DOMAIN_VERIFIED,
    FIELD_DOMAIN_RELEASED,
];

/// A change's history in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Past {
    /// Never intended.
    New,
    /// An `ok` outcome is on record: applied (or found applied) already.
    Done,
    /// An intent whose last outcome is missing or not `ok`: the live state decides.
    Pending,
}

/// The history of every change id the journal mentions (in `details.change`). A change whose
/// exact inverse (same tenant, object and field, before and after swapped: what `u`, `cutover
/// undo` and a backout send) was applied after it is no longer done: applying it again sends
/// it, instead of reporting the undone change as applied.
pub fn journal_state(path: &Path) -> Result<HashMap<String, Past>, AuditError> {
    Ok(state_of(&read_records(path)?))
}

fn state_of(records: &[crate::audit::Record]) -> HashMap<String, Past> {
    let mut state = HashMap::new();
    // Change id → the id of its inverse, from its intent.
    let mut inverse: HashMap<String, String> = HashMap::new();
    for record in records {
        let e = &record.event;
        let Some(id) = e.details.get("change").and_then(Value::as_str) else {
            continue;
        };
        let past = state.entry(id.to_string()).or_insert(Past::New);
        match e.kind {
            Kind::Intent => {
                if *past != Past::Done {
                    *past = Past::Pending;
                }
                // The intent's action is "<field> via <route>".
                if let (Some(tenant), Some(target), Some(field), Some(before), Some(after)) = (
                    e.tenant.as_deref(),
                    e.target.as_deref(),
                    e.action.split(" via ").next(),
                    e.before.as_ref(),
                    e.after.as_ref(),
                ) {
                    inverse.insert(
                        id.to_string(),
                        change_id(tenant, target, field, after, before),
                    );
                }
            }
            Kind::Outcome if e.result.as_deref() == Some("ok") => {
                *past = Past::Done;
                if let Some(undone) = inverse.get(id)
                    && state.get(undone) == Some(&Past::Done)
                {
                    state.insert(undone.clone(), Past::New);
                }
            }
            _ => {}
        }
    }
    state
}

/// The live answer to "is this change in effect?", with the request id of the read.
#[derive(Debug, Clone)]
pub struct Live {
    pub holds: bool,
    pub request_id: Option<String>,
}

/// Read the change's object (`Get-Recipient -Identity`) and tell whether `after` is true.
pub async fn check_exchange(client: &ExchangeClient, change: &Change) -> Result<Live, String> {
    if change.field == FIELD_DKIM {
        return check_dkim(client, change).await;
    }
    if change.field == FIELD_DKIM_CONFIG {
        return check_dkim_config(client, change).await;
    }
    if change.field == FIELD_CONNECTOR {
        return check_connector(client, change).await;
    }
    let read = client
        .invoke(
            ExchangeRoute::InvokeCommand,
            "Get-Recipient",
            json!({"Identity": change.target.id}),
        )
        .await
        .map_err(|e: ExchangeError| format!("cannot read {}: {e}", change.target.display))?;
    let request_id = read.request_ids.last().cloned();
    let recipient: Recipient = read
        .values
        .into_iter()
        .next()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| format!("cannot read {}: {e}", change.target.display))?
        .ok_or_else(|| {
            format!(
                "Get-Recipient returned nothing for {}",
                change.target.display
            )
        })?;
    let holds = addresses_hold(
        change,
        &recipient.email_addresses,
        &recipient.primary_smtp_address,
    )
    .ok_or_else(|| {
        format!(
            "cutover cannot read field '{}' back through Exchange",
            change.field
        )
    })?;
    Ok(Live { holds, request_id })
}

/// DKIM signing: `Get-DkimSigningConfig -Identity <domain>`, holds when `Enabled` is `after`.
async fn check_dkim(client: &ExchangeClient, change: &Change) -> Result<Live, String> {
    let read = client
        .invoke(
            ExchangeRoute::InvokeCommand,
            "Get-DkimSigningConfig",
            json!({"Identity": change.target.id}),
        )
        .await
        .map_err(|e: ExchangeError| {
            format!("cannot read DKIM of {}: {e}", change.target.display)
        })?;
    let request_id = read.request_ids.last().cloned();
    let enabled = read
        .values
        .first()
        .and_then(|v| v.get("Enabled"))
        .and_then(Value::as_bool)
        .ok_or_else(|| {
            format!(
                "Get-DkimSigningConfig returned no Enabled for {}",
                change.target.display
            )
        })?;
    Ok(Live {
        holds: change.after.as_bool() == Some(enabled),
        request_id,
    })
}

/// A DKIM signing config created (`after` the domain) or removed (`after` null): holds when
/// `Get-DkimSigningConfig -Identity <domain>` finds it, or answers not found.
async fn check_dkim_config(client: &ExchangeClient, change: &Change) -> Result<Live, String> {
    let what = format!("the DKIM config of {}", change.target.display);
    check_exists(client, "Get-DkimSigningConfig", change, &what).await
}

/// A connector removed (`after` null) or created: holds when `Get-…Connector -Identity <name>`
/// answers not found, or finds it.
async fn check_connector(client: &ExchangeClient, change: &Change) -> Result<Live, String> {
    let side = if change.after.is_null() {
        &change.before
    } else {
        &change.after
    };
    let cmdlet = if side.get("direction").and_then(Value::as_str) == Some("outbound") {
        "Get-OutboundConnector"
    } else {
        "Get-InboundConnector"
    };
    check_exists(client, cmdlet, change, &change.target.display).await
}

/// Whether `cmdlet -Identity <target id>` finds the object as `change` wants it: present when
/// `after` is set, gone (an empty answer or not found) when it is null. `what` names it in
/// the error when Exchange cannot be asked.
async fn check_exists(
    client: &ExchangeClient,
    cmdlet: &str,
    change: &Change,
    what: &str,
) -> Result<Live, String> {
    let wanted = !change.after.is_null();
    match client
        .invoke(
            ExchangeRoute::InvokeCommand,
            cmdlet,
            json!({"Identity": change.target.id}),
        )
        .await
    {
        Ok(read) => Ok(Live {
            holds: wanted != read.values.is_empty(),
            request_id: read.request_ids.last().cloned(),
        }),
        Err(e) if e.is_not_found() => Ok(Live {
            holds: !wanted,
            request_id: match &e {
                ExchangeError::Api { request_id, .. } => request_id.clone(),
                _ => None,
            },
        }),
        Err(e) => Err(format!("cannot read {what}: {e}")),
    }
}

/// Whether the delegated grant of `change` (its client, consent type, principal and
/// resource) is listed, by `GET /oauth2PermissionGrants?$filter=clientId eq '…'`; when `after`
/// is the grant, also with every scope of it.
async fn check_grant(
    client: &GraphClient,
    change: &Change,
) -> Result<Live, crate::graph::GraphError> {
    let field = |k: &str| described_field(change, k).to_ascii_lowercase();
    let grants = client.permission_grants_of(&field("clientId")).await?;
    let scopes: Vec<String> = field("scope")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let present = grants.iter().any(|g| {
        g.consent_type.eq_ignore_ascii_case(&field("consentType"))
            && g.resource_id.eq_ignore_ascii_case(&field("resourceId"))
            && g.principal_id
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase()
                == field("principalId")
            && (change.after.is_null()
                || scopes.iter().all(|s| {
                    g.scope
                        .split_whitespace()
                        .any(|have| have.eq_ignore_ascii_case(s))
                }))
    });
    Ok(Live {
        holds: present != change.after.is_null(),
        request_id: None,
    })
}

/// Whether the principal holds the app role on the resource
/// (`GET /servicePrincipals/{principalId}/appRoleAssignments`; a principal gone holds none).
async fn check_app_role(
    client: &GraphClient,
    change: &Change,
) -> Result<Live, crate::graph::GraphError> {
    let field = |k: &str| described_field(change, k).to_string();
    let present = match client.app_role_assignments(&field("principalId")).await {
        Ok(list) => list.iter().any(|a| {
            a.resource_id.eq_ignore_ascii_case(&field("resourceId"))
                && a.app_role_id.eq_ignore_ascii_case(&field("appRoleId"))
        }),
        Err(e) if e.status() == Some(404) => false,
        Err(e) => return Err(e),
    };
    Ok(Live {
        holds: present != change.after.is_null(),
        request_id: None,
    })
}

/// Read the change's object through Graph and tell whether `after` is true: the user's UPN
/// (`GET /users/{id}`), or the domain (`GET /domains/{id}`: 404 or a removal under way means
/// removed; `isDefault` for a default-domain change).
pub async fn check_graph(client: &GraphClient, change: &Change) -> Result<Live, String> {
    let cannot =
        |e: crate::graph::GraphError| format!("cannot read {}: {e}", change.target.display);
    match change.field.as_str() {
        FIELD_GRANT => check_grant(client, change).await.map_err(cannot),
        FIELD_APP_ROLE => check_app_role(client, change).await.map_err(cannot),
        FIELD_SERVICE_PRINCIPAL => {
            let (sp, request_id) = client
                .service_principal(&change.target.id)
                .await
                .map_err(cannot)?;
            Ok(Live {
                holds: sp.is_some() != change.after.is_null(),
                request_id,
            })
        }
        FIELD_UPN => {
            let (upn, request_id) = client
                .user_principal_name(&change.target.id)
                .await
                .map_err(cannot)?;
            let holds = change
                .after
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case(&upn));
            Ok(Live { holds, request_id })
        }
        FIELD_IDENTIFIER_URIS => {
            let (uris, request_id) = identifier_uris(client, &change.target.id)
                .await
                .map_err(cannot)?;
            Ok(Live {
                holds: identifier_uris_hold(change, &uris),
                request_id,
            })
        }
        FIELD_DOMAIN => {
            let (domain, request_id) = client
                .domain_state(&change.target.id)
                .await
                .map_err(cannot)?;
            let holds = domain.is_none_or(|d| d.removal_in_progress());
            Ok(Live { holds, request_id })
        }
        FIELD_DEFAULT_DOMAIN => {
            let (domain, request_id) = client
                .domain_state(&change.target.id)
                .await
                .map_err(cannot)?;
            Ok(Live {
                holds: domain.is_some_and(|d| d.is_default),
                request_id,
            })
        }
        FIELD_DOMAIN_ADDED | FIELD_DOMAIN_VERIFIED | FIELD_DOMAIN_RELEASED => {
            let (domain, request_id) = client
                .domain_state(&change.target.id)
                .await
                .map_err(cannot)?;
            let holds = match change.field.as_str() {
                FIELD_DOMAIN_ADDED => domain.is_some(),
                FIELD_DOMAIN_VERIFIED => domain.is_some_and(|d| d.is_verified),
                // Released means gone: a removal still under way keeps the name taken.
                _ => domain.is_none(),
            };
            Ok(Live { holds, request_id })
        }
        other => Err(format!(
            "cutover cannot read field '{other}' back through Graph"
        )),
    }
}

/// An application's identifier URIs (by object id) and the read's `request-id`:
/// `GET /v1.0/applications/{id}?$select=id,identifierUris`.
pub async fn identifier_uris(
    client: &GraphClient,
    app: &str,
) -> Result<(Vec<String>, Option<String>), crate::graph::GraphError> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Uris {
        #[serde(default)]
        identifier_uris: Vec<String>,
    }
    let path = format!(
        "/v1.0/applications/{}?$select=id,identifierUris",
        crate::graph::client::encode(app)
    );
    let r = client.get::<Uris>(&path).await?;
    Ok((r.body.identifier_uris, r.request_id))
}

/// Whether a domain is released: only `GET /domains/{id}` answering 404 says so (a removal
/// under way still holds the name; a plain `DELETE` in progress shows no `state` at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// 404: the domain is free for another tenant.
    Gone,
    /// Still listed (removal accepted and under way, or not removed).
    Listed,
}

/// Read the domain until Graph answers 404 or `bound` has passed, calling `progress` with the
/// time waited after each read that still finds it. Reads only; the interval grows from a
/// quarter second to five seconds (Microsoft takes minutes to a day).
pub async fn wait_released(
    client: &GraphClient,
    domain: &str,
    bound: std::time::Duration,
    mut progress: impl FnMut(std::time::Duration),
) -> Result<Released, String> {
    let start = std::time::Instant::now();
    loop {
        let (state, _) = client
            .domain_state(domain)
            .await
            .map_err(|e| format!("cannot read {domain}: {e}"))?;
        if state.is_none() {
            return Ok(Released::Gone);
        }
        let waited = start.elapsed();
        if waited >= bound {
            return Ok(Released::Listed);
        }
        progress(waited);
        let step = (waited / 10).clamp(
            std::time::Duration::from_millis(250),
            std::time::Duration::from_secs(5),
        );
        tokio::time::sleep(step.min(bound.saturating_sub(waited))).await;
    }
}

/// A field of the object an access change is about: `after` when it adds one, else `before`
/// (the one it removes).
fn described_field<'c>(change: &'c Change, key: &str) -> &'c str {
    let want = if change.after.is_null() {
        &change.before
    } else {
        &change.after
    };
    want.get(key).and_then(Value::as_str).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Event, Record};

    fn record(kind: Kind, id: &str, before: Value, after: Value, result: Option<&str>) -> Record {
        let mut e = Event::new(
            kind,
            if kind == Kind::Intent {
                "userPrincipalName via graph"
            } else {
                "applied"
            },
        )
        .tenant("source")
        .target("u1")
        .details(json!({ "change": id }));
        if kind == Kind::Intent {
            e = e.change(before, after);
        }
        if let Some(r) = result {
            e = e.result(r);
        }
        Record {
            v: crate::audit::FORMAT_VERSION,
            seq: 0,
            ts: String::new(),
            cutover: "c".into(),
            operator: "o".into(),
            upn: None,
            event: e,
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn an_undone_change_is_new_again_and_its_undo_once_it_is_reapplied() {
        let (a, b) = (json!("a@contoso.example"), json!("a@initial.example"));
        let x = change_id("source", "u1", "userPrincipalName", &a, &b);
        let y = change_id("source", "u1", "userPrincipalName", &b, &a);
        // A change sent: its intent, then its outcome (`ok` or Microsoft's refusal).
        let sent = |log: &mut Vec<Record>, id: &str, (before, after): (&Value, &Value), result| {
            log.push(record(
                Kind::Intent,
                id,
                before.clone(),
                after.clone(),
                None,
            ));
            log.push(record(
                Kind::Outcome,
                id,
                Value::Null,
                Value::Null,
                Some(result),
            ));
        };
        let mut log = Vec::new();
        sent(&mut log, &x, (&a, &b), "ok");
        assert_eq!(state_of(&log).get(&x), Some(&Past::Done));
        // Undone: the original may be sent again.
        sent(&mut log, &y, (&b, &a), "ok");
        let s = state_of(&log);
        assert_eq!(
            (s.get(&x), s.get(&y)),
            (Some(&Past::New), Some(&Past::Done))
        );
        // Applied again: now the undo may be sent again.
        sent(&mut log, &x, (&a, &b), "ok");
        let s = state_of(&log);
        assert_eq!(
            (s.get(&x), s.get(&y)),
            (Some(&Past::Done), Some(&Past::New))
        );
        // A failed undo leaves the original done.
        sent(&mut log, &y, (&b, &a), "refused");
        assert_eq!(state_of(&log).get(&x), Some(&Past::Done));
    }
}
