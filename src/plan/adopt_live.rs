//! The adopt plan's facts read from the live destination tenant and the zone's authoritative
//! server: the destination's domains, directory and Microsoft's records for the domain, its
//! DKIM config (once verified), and the record sets the plan changes as served now. `cutover
//! plan adopt` and the demo's player (`cutover demo --play`) both come here, then to
//! [`crate::plan::adopt::adopt_plan`], so the plan the demo runs is the plan the CLI writes.

use std::collections::HashMap;

use crate::dns::resolver::DnsClient;
use crate::dns::{AnswerStatus, RecordKind};
use crate::exchange::ExchangeClient;
use crate::graph::model::DomainDnsRecord;
use crate::graph::{GraphClient, GraphError};
use crate::plan::adopt::{AdoptFacts, dkim_selector_names, read_dkim_config};
use crate::plan::change::RrSet;
use crate::plan::mapping::DestObject;

/// What was read: the plan's facts and the destination's objects the mapping pairs with.
#[derive(Debug, Clone)]
pub struct AdoptRead {
    pub facts: AdoptFacts,
    pub dest: Vec<DestObject>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdoptReadError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    #[error("Graph listed no initial (onmicrosoft) domain for the destination tenant")]
    NoInitialDomain,
    #[error("cannot read the destination's DKIM config for {domain}: {error}")]
    Dkim { domain: String, error: String },
    /// The zone's authoritative server did not answer.
    #[error("{0}")]
    Dns(String),
}

/// Read the destination tenant (`graph`, and `exchange` for the DKIM config of a verified
/// domain) and the zone through its authoritative server `auth`, for the adopt plan of
/// `domain` (A-label).
pub async fn read(
    graph: &GraphClient,
    exchange: &ExchangeClient,
    auth: &DnsClient,
    domain: &str,
) -> Result<AdoptRead, AdoptReadError> {
    let d = domain.to_string();
    let (domains, users, groups) =
        tokio::try_join!(graph.domains(), graph.users(), graph.groups())?;
    let this = domains.iter().find(|x| x.id.eq_ignore_ascii_case(&d));
    let initial = domains
        .iter()
        .find(|x| x.is_initial)
        .map(|x| x.id.clone())
        .ok_or(AdoptReadError::NoInitialDomain)?;
    let (verification, service) = match this {
        Some(_) => tokio::try_join!(
            graph.verification_dns_records(&d),
            graph.service_configuration_records(&d)
        )?,
        None => (Vec::new(), Vec::new()),
    };
    // Exchange has a DKIM config only for a verified domain: read it only then.
    let dkim = match this.filter(|x| x.is_verified) {
        Some(_) => read_dkim_config(exchange, &d)
            .await
            .map_err(|e| AdoptReadError::Dkim {
                domain: d.clone(),
                error: e.to_string(),
            })?,
        None => None,
    };
    let selectors = dkim_selector_names(&d);
    let zone_now = zone_now(auth, &d, &service, &selectors)
        .await
        .map_err(AdoptReadError::Dns)?;
    let directory = crate::inventory::Directory {
        users,
        groups,
        ..Default::default()
    };
    let facts = AdoptFacts {
        domain: d.clone(),
        initial_domain: initial,
        present: this.is_some(),
        verified: this.is_some_and(|x| x.is_verified),
        verification,
        service,
        zone_now,
        dkim,
    };
    Ok(AdoptRead {
        facts,
        dest: crate::plan::mapping::destination_objects(&directory),
    })
}

/// The record sets the adopt plan changes, as the zone's authoritative server `auth` answers
/// now (the changes' `before`): the apex TXT and MX, every name of Microsoft's records and the
/// CNAMEs named in `cnames` (the DKIM selectors).
pub async fn zone_now(
    auth: &DnsClient,
    domain: &str,
    service: &[DomainDnsRecord],
    cnames: &[String],
) -> Result<HashMap<(String, String), RrSet>, String> {
    let d = domain.to_ascii_lowercase();
    let mut names = vec![(d.clone(), RecordKind::Txt), (d.clone(), RecordKind::Mx)];
    for r in service {
        let kind = match r.record_type.to_ascii_lowercase().as_str() {
            "mx" => RecordKind::Mx,
            "txt" => RecordKind::Txt,
            "cname" => RecordKind::Cname,
            _ => continue,
        };
        let label = r.label.trim().trim_end_matches('.').to_ascii_lowercase();
        let name = if label.is_empty() || label == "@" {
            d.clone()
        } else {
            label
        };
        if !names.contains(&(name.clone(), kind)) {
            names.push((name, kind));
        }
    }
    for name in cnames {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if !names.contains(&(name.clone(), RecordKind::Cname)) {
            names.push((name, RecordKind::Cname));
        }
    }
    let mut out = HashMap::new();
    for (name, kind) in names {
        let a = auth.lookup(&name, kind).await;
        if let AnswerStatus::Error(e) = &a.status {
            return Err(format!(
                "the authoritative server did not answer {name} {kind}: {e}"
            ));
        }
        let Some(ttl) = a.values.first().map(|v| v.ttl) else {
            continue;
        };
        let values = a
            .values
            .iter()
            .map(|v| match kind {
                // Host names fully qualified, as the plan's record sets hold them.
                RecordKind::Mx | RecordKind::Cname => format!("{}.", v.value.trim_end_matches('.')),
                _ => v.value.clone(),
            })
            .collect();
        out.insert((name, kind.as_str().to_string()), RrSet { ttl, values });
    }
    Ok(out)
}
