//! Connectors in the rehearsal's Exchange: the ones seeded in a tenant with a custom domain
//! (inbound from on-premises, a mail-routing add-on's inbound, an outbound relay for the domain,
//! an unrelated partner) and `Get-`/`New-`/`Remove-InboundConnector` and `-OutboundConnector`
//! over them.

use serde_json::{Map, Value, json};

use super::directory::Tenant;
use super::exchange::{
    Output, Refused, check_params, missing_identity, not_found, poisoned, string_param,
};
use super::http::{RequestIds, Shared};

#[derive(Debug, Clone)]
pub(super) struct SimConnector {
    inbound: bool,
    id: String,
    name: String,
    connector_type: &'static str,
    /// Sender domains (inbound) or recipient domains (outbound).
    domains: Vec<String>,
    smart_hosts: Vec<String>,
    tls: Option<String>,
    /// Inbound: `SenderIPAddresses`.
    ips: Vec<String>,
}

impl SimConnector {
    fn render(&self) -> Value {
        let mut v = json!({
            "Identity": self.name,
            "Name": self.name,
            "Guid": self.id,
            "ConnectorType": self.connector_type,
            "Enabled": true,
        });
        if self.inbound {
            v["SenderDomains"] = json!(self.domains);
            v["TlsSenderCertificateName"] = json!(self.tls);
            v["SenderIPAddresses"] = json!(self.ips);
            v["RequireTls"] = json!(self.tls.is_some());
        } else {
            v["RecipientDomains"] = json!(self.domains);
            v["SmartHosts"] = json!(self.smart_hosts);
            v["UseMXRecord"] = json!(self.smart_hosts.is_empty());
            v["TlsDomain"] = json!(self.tls);
        }
        v
    }
}

/// A hybrid-looking source tenant: mail from on-premises for the custom domain, a relay for
/// it, and a partner connector that has nothing to do with it.
pub(super) fn seed_connectors(t: &Tenant) -> Vec<SimConnector> {
    let Some(domain) = t
        .domains
        .iter()
        .find(|d| d.is_verified && !d.is_initial)
        .map(|d| d.name.clone())
    else {
        return Vec::new();
    };
    let mut rng = super::rng::Rng::derive(t.id.len() as u64, &format!("{}/connectors", t.id));
    vec![
        SimConnector {
            inbound: true,
            id: rng.guid(),
            name: "Inbound from on-premises".into(),
            connector_type: "OnPremises",
            domains: vec![format!("smtp:{domain};1")],
            smart_hosts: Vec::new(),
            tls: Some(format!("mail.{domain}")),
            ips: Vec::new(),
        },
        // A mail-routing add-on (its enterprise application is `Relay365 Mail Routing` in
        // `access`): mail for the domain comes back from its cloud after signing or filtering.
        SimConnector {
            inbound: true,
            id: rng.guid(),
            name: "Relay365 inbound".into(),
            connector_type: "Partner",
            domains: vec![domain.clone()],
            smart_hosts: Vec::new(),
            tls: Some(format!("{domain}.relay365.example")),
            ips: vec!["198.51.100.25".into(), "198.51.100.26".into()],
        },
        SimConnector {
            inbound: false,
            id: rng.guid(),
            name: "Outbound to on-premises relay".into(),
            connector_type: "OnPremises",
            domains: vec![domain.clone()],
            smart_hosts: vec![format!("relay.{domain}")],
            tls: None,
            ips: Vec::new(),
        },
        SimConnector {
            inbound: false,
            id: rng.guid(),
            name: "Outbound to Litware partner".into(),
            connector_type: "Partner",
            domains: vec!["litware.example".into()],
            smart_hosts: vec!["mx.litware.example".into()],
            tls: Some("litware.example".into()),
            ips: Vec::new(),
        },
    ]
}

/// The Exchange state locked, with the tenant's connectors seeded on first use (the tenant's
/// generated ones; read before the lock, as every route takes the two locks in that order).
fn seeded(
    state: &Shared,
    tenant: usize,
) -> Result<std::sync::MutexGuard<'_, super::exchange::ExchangeState>, Refused> {
    let seed = {
        let tenants = state.tenants.read().map_err(|_| poisoned())?;
        seed_connectors(&tenants[tenant])
    };
    let mut x = state.exchange.lock().map_err(|_| poisoned())?;
    if x.connectors.len() <= tenant {
        x.connectors.resize(tenant + 1, None);
    }
    x.connectors[tenant].get_or_insert(seed);
    Ok(x)
}

pub(super) fn connectors(
    state: &Shared,
    tenant: usize,
    cmdlet: &str,
    params: &Map<String, Value>,
    ids: &RequestIds,
) -> Result<Output, Refused> {
    let remove = cmdlet.starts_with("Remove-");
    let inbound = cmdlet.ends_with("InboundConnector");
    if cmdlet.starts_with("New-") {
        return new_connector(state, tenant, inbound, params, ids);
    }
    check_params(
        params,
        if remove {
            &["Identity", "Confirm"]
        } else {
            &["Identity"]
        },
        ids,
    )?;
    let identity = string_param(params, "Identity");
    let mut x = seeded(state, tenant)?;
    let list = x.connectors[tenant].get_or_insert_with(Vec::new);
    let matches = |c: &SimConnector| {
        c.inbound == inbound
            && identity
                .as_deref()
                .is_none_or(|i| c.name.eq_ignore_ascii_case(i) || c.id.eq_ignore_ascii_case(i))
    };
    if remove {
        let Some(identity) = identity.as_deref() else {
            return Err(missing_identity(ids));
        };
        let removed: Vec<String> = list
            .iter()
            .filter(|c| matches(c))
            .map(|c| c.id.clone())
            .collect();
        if removed.is_empty() {
            return Err(not_found(identity, ids));
        }
        list.retain(|c| !matches(c));
        drop(x);
        super::writes::count(state, tenant, &removed);
        return Ok(Output::all(Vec::new()));
    }
    let values: Vec<Value> = list
        .iter()
        .filter(|c| matches(c))
        .map(SimConnector::render)
        .collect();
    if let (Some(i), true) = (&identity, values.is_empty()) {
        return Err(not_found(i, ids));
    }
    Ok(Output::all(values))
}

/// A list parameter: a JSON list of strings or one string.
fn list_param(params: &Map<String, Value>, name: &str) -> Vec<String> {
    let v = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v);
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// `New-InboundConnector` / `New-OutboundConnector` with the settings `Get-…` shows, refusing
/// what Exchange refuses: a name in use, an inbound partner connector without sender domains,
/// an on-premises one without sender IPs or certificate, an outbound one without smart hosts
/// that does not use MX.
fn new_connector(
    state: &Shared,
    tenant: usize,
    inbound: bool,
    params: &Map<String, Value>,
    ids: &RequestIds,
) -> Result<Output, Refused> {
    let allowed: &[&str] = if inbound {
        &[
            "Name",
            "ConnectorType",
            "SenderDomains",
            "SenderIPAddresses",
            "TlsSenderCertificateName",
            "RequireTls",
            "Enabled",
        ]
    } else {
        &[
            "Name",
            "ConnectorType",
            "RecipientDomains",
            "SmartHosts",
            "UseMXRecord",
            "TlsDomain",
            "Enabled",
        ]
    };
    check_params(params, allowed, ids)?;
    let cmdlet = if inbound {
        "New-InboundConnector"
    } else {
        "New-OutboundConnector"
    };
    let invalid = |message: &str| {
        super::exchange::cmdlet_error(
            axum::http::StatusCode::BAD_REQUEST,
            "Microsoft.Exchange.Management.Tasks.ConnectorValidationException",
            message,
            ids,
        )
    };
    let Some(name) = string_param(params, "Name").filter(|n| !n.trim().is_empty()) else {
        return Err(invalid(&format!(
            "{cmdlet}: the Name parameter is required."
        )));
    };
    let connector_type = match string_param(params, "ConnectorType").as_deref() {
        Some(t) if t.eq_ignore_ascii_case("OnPremises") => "OnPremises",
        Some(t) if t.eq_ignore_ascii_case("Partner") || t.is_empty() => "Partner",
        None => "Partner",
        Some(other) => {
            return Err(invalid(&format!(
                "Cannot process argument transformation on parameter 'ConnectorType'. Cannot convert value \"{other}\" to type \"TenantConnectorType\"."
            )));
        }
    };
    let domains = list_param(
        params,
        if inbound {
            "SenderDomains"
        } else {
            "RecipientDomains"
        },
    );
    let smart_hosts = list_param(params, "SmartHosts");
    let ips = list_param(params, "SenderIPAddresses");
    let tls = string_param(
        params,
        if inbound {
            "TlsSenderCertificateName"
        } else {
            "TlsDomain"
        },
    )
    .filter(|t| !t.is_empty());
    if inbound && connector_type == "Partner" && domains.is_empty() {
        return Err(invalid(
            "SenderDomains must be specified for a Partner inbound connector.",
        ));
    }
    if inbound && connector_type == "OnPremises" && ips.is_empty() && tls.is_none() {
        return Err(invalid(
            "An OnPremises inbound connector needs SenderIPAddresses or TlsSenderCertificateName.",
        ));
    }
    let use_mx = params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("UseMXRecord"))
        .and_then(|(_, v)| v.as_bool())
        .unwrap_or(smart_hosts.is_empty());
    if !inbound && !use_mx && smart_hosts.is_empty() {
        return Err(invalid(
            "SmartHosts must be specified when UseMXRecord is $false.",
        ));
    }
    let mut x = seeded(state, tenant)?;
    let list = x.connectors[tenant].get_or_insert_with(Vec::new);
    if list
        .iter()
        .any(|c| c.inbound == inbound && c.name.eq_ignore_ascii_case(&name))
    {
        return Err(invalid(&format!(
            "A connector with the name \"{name}\" already exists."
        )));
    }
    let id = super::rng::fresh_guid();
    let c = SimConnector {
        inbound,
        id: id.clone(),
        name,
        connector_type,
        domains,
        smart_hosts,
        tls,
        ips,
    };
    let shown = c.render();
    list.push(c);
    drop(x);
    super::writes::count(state, tenant, &[id]);
    Ok(Output::all(vec![shown]))
}
