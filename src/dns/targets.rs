//! Which resolvers to ask, decided in one place for `cutover dns` and the dashboard: the zone's
//! authoritative servers (found through NS, asked without recursion), then the system's
//! resolvers, then each named nameserver, every one its own client (cache off) so that no two
//! servers are ever compared as one resolver.

use std::net::SocketAddr;
use std::time::Duration;

use super::monitor::{Target, authoritative_targets, system_targets};
use super::resolver::DnsClientError;

/// What decides the resolvers: the config's `[dns]` section, with command-line flags laid over
/// it by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Recursive resolvers to compare (`dns.nameservers` or `--resolver`), one target each.
    pub nameservers: Vec<SocketAddr>,
    /// Whether the system's resolvers (/etc/resolv.conf) join.
    pub system: bool,
    /// Port the authoritative servers are asked on (53 unless rehearsing).
    pub authoritative_port: u16,
    /// Per-query timeout.
    pub timeout: Duration,
}

/// The resolvers to ask, authoritative first, and what could not be included.
pub struct Planned {
    pub targets: Vec<Target>,
    pub notes: Vec<String>,
}

impl Planned {
    /// The first recursive resolver: for lookups outside the zone (MX host addresses, CNAME
    /// targets elsewhere, DNSBL queries), which an authoritative server refuses.
    pub fn recursive(&self) -> Option<&Target> {
        recursive(&self.targets)
    }
}

/// The first target that is not one of the zone's authoritative servers.
pub fn recursive(targets: &[Target]) -> Option<&Target> {
    targets.iter().find(|t| !t.authoritative)
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(
        "no resolver to ask: name one (dns.nameservers in the config, or --resolver ADDR[:PORT]) or let the system's resolvers join"
    )]
    NoResolver,
    #[error(transparent)]
    Client(#[from] DnsClientError),
}

/// Build the targets for `domain` (A-label form). The first recursive resolver finds the NS
/// records and their addresses; a zone whose servers cannot be found has no authoritative
/// target, which the notes say (TTL decisions then have no source).
pub async fn plan(domain: &str, plan: &Plan) -> Result<Planned, PlanError> {
    let mut notes = Vec::new();
    let mut named = Vec::new();
    for addr in &plan.nameservers {
        if named.iter().any(|t: &Target| t.label == addr.to_string()) {
            continue;
        }
        named.push(Target::new(addr.to_string(), *addr, plan.timeout, false)?);
    }
    let mut system = Vec::new();
    if plan.system {
        match system_targets(plan.timeout) {
            Ok(found) => system = found,
            Err(e) => notes.push(format!("system resolvers left out: {e}")),
        }
    }
    // The resolvers the admin named find the NS; the system's when none is named.
    let bootstrap = named
        .first()
        .or(system.first())
        .ok_or(PlanError::NoResolver)?;
    let auth = authoritative_targets(
        &bootstrap.client,
        domain,
        plan.authoritative_port,
        plan.timeout,
    )
    .await;
    if auth.is_empty() {
        notes.push(format!(
            "no authoritative server of {domain} found through NS: TTLs are unknown (resolvers only show cached copies)"
        ));
    }
    let mut targets = auth;
    targets.extend(system);
    targets.extend(named);
    Ok(Planned { targets, notes })
}
