//! One DNS check of a domain: which resolvers to ask (system, the zone's authoritative servers,
//! named ones), one sweep per resolver run concurrently, and the report built from the answers
//! (expected vs actual, propagation, SPF).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use time::OffsetDateTime;

use crate::graph::model::DomainDnsRecord;

use super::blocklist::{Listing, decode, query_name};
use super::expected::{Comparison, Verdict, compare};
use super::model::{AnswerStatus, RecordAnswer, RecordKind};
use super::propagation::{Cell, ResolverSweep, Row, matrix};
use super::resolver::{DnsClient, DnsClientError, m365_names, normalize_name};
use super::spf::{SpfReport, check_spf};

/// One resolver to compare: its own client (cache off) for one server, so answers are its own.
#[derive(Clone)]
pub struct Target {
    pub label: String,
    pub client: Arc<DnsClient>,
    /// Asked without recursion as one of the zone's authoritative servers.
    pub authoritative: bool,
}

impl Target {
    pub fn new(
        label: impl Into<String>,
        addr: SocketAddr,
        timeout: Duration,
        authoritative: bool,
    ) -> Result<Self, DnsClientError> {
        Ok(Target {
            label: label.into(),
            client: Arc::new(DnsClient::with_recursion(&[addr], timeout, !authoritative)?),
            authoritative,
        })
    }
}

/// The nameservers of /etc/resolv.conf (via hickory's system config), as one target each.
pub fn system_targets(timeout: Duration) -> Result<Vec<Target>, DnsClientError> {
    let (config, _) = hickory_resolver::system_conf::read_system_conf()
        .map_err(|e| DnsClientError::Setup(format!("cannot read /etc/resolv.conf: {e}")))?;
    let mut seen: Vec<SocketAddr> = Vec::new();
    for ns in config.name_servers() {
        let port = ns.connections.first().map(|c| c.port).unwrap_or(53);
        let addr = SocketAddr::new(ns.ip, port);
        if !seen.contains(&addr) {
            seen.push(addr);
        }
    }
    seen.into_iter()
        .map(|addr| Target::new(format!("system {addr}"), addr, timeout, false))
        .collect()
}

/// The zone's authoritative servers: the NS records of `domain` as `bootstrap` answers them,
/// then each host's addresses; every address becomes a target asked without recursion on
/// `port` (53 on the Internet; the rehearsal environment's port in a rehearsal).
pub async fn authoritative_targets(
    bootstrap: &DnsClient,
    domain: &str,
    port: u16,
    timeout: Duration,
) -> Vec<Target> {
    let ns = bootstrap.lookup(domain, RecordKind::Ns).await;
    let hosts: Vec<String> = ns.values.iter().map(|v| v.value.clone()).collect();
    let addrs = join_all(hosts.iter().map(|h| bootstrap.addresses(h))).await;
    let mut out: Vec<Target> = Vec::new();
    let mut seen: Vec<IpAddr> = Vec::new();
    for (host, ips) in hosts.iter().zip(addrs) {
        // A NS host whose address cannot be found is simply not asked.
        for ip in ips.unwrap_or_default() {
            if seen.contains(&ip) {
                continue;
            }
            seen.push(ip);
            if let Ok(t) = Target::new(host.clone(), SocketAddr::new(ip, port), timeout, true) {
                out.push(t);
            }
        }
    }
    out
}

/// The record set: the Microsoft 365 names plus extra (name, type) pairs.
pub fn record_set(domain: &str, extra: &[(String, RecordKind)]) -> Vec<(String, RecordKind)> {
    let mut names = m365_names(domain);
    for (name, kind) in extra {
        let pair = (normalize_name(name), *kind);
        if !names.contains(&pair) {
            names.push(pair);
        }
    }
    names
}

/// Sweep every target at once; a dead resolver costs its timeout, in parallel with the rest.
pub async fn sweep_all(targets: &[Target], names: &[(String, RecordKind)]) -> Vec<ResolverSweep> {
    join_all(targets.iter().map(|t| async move {
        let at = OffsetDateTime::now_utc();
        ResolverSweep {
            resolver: t.label.clone(),
            authoritative: t.authoritative,
            at,
            answers: t.client.sweep_names(names).await,
        }
    }))
    .await
}

/// The reference answer per record: the first authoritative server that answered it (value,
/// NXDOMAIN or NODATA), else the first resolver that did. For display and comparison; TTL
/// decisions use [`authoritative_answers`] only.
pub fn reference(names: &[(String, RecordKind)], sweeps: &[ResolverSweep]) -> Vec<RecordAnswer> {
    let order: Vec<&ResolverSweep> = sweeps
        .iter()
        .filter(|s| s.authoritative)
        .chain(sweeps.iter().filter(|s| !s.authoritative))
        .collect();
    pick(names, &order)
}

/// What the zone's authoritative servers answer, per record the first of them that answered
/// (else its failure); `None` when no authoritative server was asked. A recursive resolver's
/// TTL is what is left of its cached copy, never the configured TTL, so it is never used here.
pub fn authoritative_answers(
    names: &[(String, RecordKind)],
    sweeps: &[ResolverSweep],
) -> Option<Vec<RecordAnswer>> {
    let auth: Vec<&ResolverSweep> = sweeps.iter().filter(|s| s.authoritative).collect();
    if auth.is_empty() {
        return None;
    }
    Some(pick(names, &auth))
}

fn pick(names: &[(String, RecordKind)], order: &[&ResolverSweep]) -> Vec<RecordAnswer> {
    names
        .iter()
        .map(|(name, kind)| {
            let mut first_error = None;
            for sweep in order {
                let Some(a) = sweep
                    .answers
                    .iter()
                    .find(|a| &a.name == name && a.kind == *kind)
                else {
                    continue;
                };
                if !matches!(a.status, AnswerStatus::Error(_)) {
                    return a.clone();
                }
                first_error.get_or_insert_with(|| a.clone());
            }
            first_error.unwrap_or(RecordAnswer {
                name: name.clone(),
                kind: *kind,
                status: AnswerStatus::Error("no resolver asked".into()),
                values: vec![],
            })
        })
        .collect()
}

/// Follow each CNAME answer's chain (up to 8 hops) through `client`, a recursive resolver
/// (targets usually lie outside the zone, where an authoritative server refuses): the names
/// after the first target, e.g. `[b.example, c.example]` for a → b → c. Answers without a CNAME, or
/// whose target is not an alias, get no entry.
pub async fn follow_chains(
    client: &DnsClient,
    reference: &[RecordAnswer],
) -> Vec<(String, Vec<String>)> {
    let starts: Vec<(String, String)> = reference
        .iter()
        .filter(|a| a.kind == RecordKind::Cname)
        .filter_map(|a| a.values.first().map(|v| (a.name.clone(), v.value.clone())))
        .collect();
    let chains = join_all(starts.iter().map(|(_, target)| async move {
        let mut chain: Vec<String> = Vec::new();
        let mut next = target.clone();
        for _ in 0..8 {
            let a = client.lookup(&next, RecordKind::Cname).await;
            match a.values.first() {
                Some(v) if a.status == AnswerStatus::Answer && !chain.contains(&v.value) => {
                    chain.push(v.value.clone());
                    next = v.value.clone();
                }
                _ => break,
            }
        }
        chain
    }))
    .await;
    starts
        .into_iter()
        .zip(chains)
        .filter(|(_, c)| !c.is_empty())
        .map(|((name, _), c)| (name, c))
        .collect()
}

/// One DNSBL verdict for one address of one MX host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistResult {
    pub host: String,
    /// `None` when the host's addresses could not be found: then the verdict is "not checked"
    /// with the reason, never silence.
    pub address: Option<IpAddr>,
    pub zone: String,
    pub listing: Listing,
}

/// Look up every address of every MX host in `reference` on each DNSBL `zones`, through
/// `client`, a recursive resolver: the hosts and the lists lie outside the zone. A host without
/// an address, and a list that refuses or fails, give "not checked" with the reason.
pub async fn check_blocklists(
    client: &DnsClient,
    reference: &[RecordAnswer],
    zones: &[String],
) -> Vec<BlocklistResult> {
    if zones.is_empty() {
        return Vec::new();
    }
    let mut hosts: Vec<String> = Vec::new();
    for h in reference
        .iter()
        .filter(|a| a.kind == RecordKind::Mx)
        .flat_map(|a| a.values.iter())
        .filter_map(|v| v.value.split_once(' ').map(|(_, h)| h.to_string()))
    {
        if !hosts.contains(&h) {
            hosts.push(h);
        }
    }
    let addrs = join_all(hosts.iter().map(|h| client.addresses(h))).await;
    let mut queries = Vec::new();
    let mut out = Vec::new();
    for (host, found) in hosts.iter().zip(addrs) {
        match found {
            Ok(ips) => {
                for ip in ips {
                    for zone in zones {
                        queries.push((host.clone(), ip, normalize_name(zone)));
                    }
                }
            }
            Err(why) => {
                for zone in zones {
                    out.push(BlocklistResult {
                        host: host.clone(),
                        address: None,
                        zone: normalize_name(zone),
                        listing: Listing::CouldNotCheck(format!("no address for {host}: {why}")),
                    });
                }
            }
        }
    }
    let checked = join_all(queries.into_iter().map(|(host, address, zone)| async move {
        let listing = match client.lookup_v4(&query_name(address, &zone)).await {
            Ok(answers) => decode(&zone, &answers),
            Err(e) => Listing::CouldNotCheck(format!("the list did not answer: {e}")),
        };
        BlocklistResult {
            host,
            address: Some(address),
            zone,
            listing,
        }
    }))
    .await;
    out.extend(checked);
    out
}

/// Everything one check found.
pub struct Report {
    pub domain: String,
    pub reference: Vec<RecordAnswer>,
    pub sweeps: Vec<ResolverSweep>,
    pub comparisons: Vec<Comparison>,
    pub propagation: Vec<Row>,
    pub spf: SpfReport,
    /// CNAME chains beyond the first target, per name (see [`follow_chains`]).
    pub chains: Vec<(String, Vec<String>)>,
    /// DNSBL verdicts for the MX hosts' addresses (see [`check_blocklists`]).
    pub blocklists: Vec<BlocklistResult>,
}

impl Report {
    pub fn build(
        domain: &str,
        names: &[(String, RecordKind)],
        sweeps: Vec<ResolverSweep>,
        expected: &[DomainDnsRecord],
    ) -> Report {
        let reference = reference(names, &sweeps);
        let comparisons = compare(expected, &reference);
        let propagation = matrix(&reference, &sweeps);
        let domain = normalize_name(domain);
        let txt: Vec<String> = reference
            .iter()
            .filter(|a| a.name == domain && a.kind == RecordKind::Txt)
            .flat_map(|a| a.values.iter().map(|v| v.value.clone()))
            .collect();
        let spf = check_spf(&txt);
        Report {
            domain,
            reference,
            sweeps,
            comparisons,
            propagation,
            spf,
            chains: Vec::new(),
            blocklists: Vec::new(),
        }
    }

    /// Status per expected record, "stale" when the reference is right but a resolver still
    /// serves another value.
    pub fn status_of(&self, c: &Comparison) -> &'static str {
        let stale = self.propagation.iter().any(|r| {
            r.name == c.name
                && r.kind == c.kind
                && r.cells
                    .iter()
                    .any(|cell| matches!(cell, Cell::Stale { .. }))
        });
        match &c.verdict {
            Verdict::Ok if stale => "stale",
            Verdict::Ok => "ok",
            Verdict::Missing => "missing",
            Verdict::Mismatch => "mismatch",
            Verdict::Extra => "extra",
            Verdict::Unknown(_) => "unknown",
        }
    }

    /// True when every required expected record is ok (not stale), SPF has no finding when
    /// records were expected, no resolver answers differently from the reference, and every
    /// blocklist checked says clean ("not checked" is not a match either).
    pub fn all_match(&self) -> bool {
        let records_ok = self
            .comparisons
            .iter()
            .all(|c| c.optional || self.status_of(c) == "ok");
        let spf_ok = self.comparisons.is_empty() || self.spf.is_ok();
        let propagated = self
            .propagation
            .iter()
            .all(|r| r.cells.iter().all(|c| matches!(c, Cell::Current)));
        let clean = self
            .blocklists
            .iter()
            .all(|b| matches!(b.listing, Listing::Clean));
        records_ok && spf_ok && propagated && clean
    }
}
