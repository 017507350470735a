//! Connectors in the rehearsal's Exchange: the ones seeded in a tenant with a custom domain
//! (inbound from on-premises, an outbound relay for the domain, an unrelated partner) and
//! `Get-`/`Remove-InboundConnector` and `-OutboundConnector` over them.

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
            v["SenderIPAddresses"] = json!([]);
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
        },
        SimConnector {
            inbound: false,
            id: rng.guid(),
            name: "Outbound to on-premises relay".into(),
            connector_type: "OnPremises",
            domains: vec![domain.clone()],
            smart_hosts: vec![format!("relay.{domain}")],
            tls: None,
        },
        SimConnector {
            inbound: false,
            id: rng.guid(),
            name: "Outbound to Litware partner".into(),
            connector_type: "Partner",
            domains: vec!["litware.example".into()],
            smart_hosts: vec!["mx.litware.example".into()],
            tls: Some("litware.example".into()),
        },
    ]
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
    let seed = {
        let tenants = state.tenants.read().map_err(|_| poisoned())?;
        seed_connectors(&tenants[tenant])
    };
    let mut x = state.exchange.lock().map_err(|_| poisoned())?;
    if x.connectors.len() <= tenant {
        x.connectors.resize(tenant + 1, None);
    }
    let list = x.connectors[tenant].get_or_insert(seed);
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
