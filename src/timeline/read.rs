//! The facts for `cutover check` and `cutover timeline`: one reading of exactly what the gates
//! in question name (a check of Graph gates asks no DNS server, and the other way round), taken
//! the way the dashboard's pollers take theirs, reduced to [`Facts`] by the same functions.
//!
//! A service that cannot be asked leaves its `*_error` set and its reading unknown, never a
//! default value: a gate over it is then "unknown" rather than a wrong "holds" or "fails".

use std::path::Path;

use time::OffsetDateTime;

use super::facts::{self, Facts};
use super::gate::{Expr, Fact, Side};
use crate::app::place::{Observed, presence_of, readings_of};
use crate::dns::RecordKind;
use crate::dns::monitor::{Target, authoritative_answers, record_set, sweep_all};
use crate::graph::GraphClient;
use crate::plan::machine::{JournalReading, Presence};

/// What a set of gates reads, so only those services are asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Needs {
    /// `GET /domains/{id}` in the source / destination.
    pub presence: [bool; 2],
    /// The source's objects holding the domain (the inventory).
    pub holding: bool,
    /// The destination's expected records (its MX).
    pub expected: bool,
    /// The zone's authoritative servers.
    pub zone: bool,
    /// Every resolver (propagation).
    pub resolvers: bool,
    /// The journal's MX TTL observations.
    pub journal: bool,
    pub snapshots: [bool; 2],
    pub audit: bool,
    /// The tenant's connections and access (`cutover access`: Graph and Exchange).
    pub access: [bool; 2],
}

fn index(side: Side) -> usize {
    usize::from(side == Side::Destination)
}

impl Needs {
    /// Everything `gates` read.
    pub fn of<'a>(gates: impl IntoIterator<Item = &'a Expr>) -> Needs {
        let mut n = Needs::default();
        for fact in gates.into_iter().flat_map(Expr::facts) {
            match fact {
                Fact::DomainPresent(s) | Fact::DomainVerified(s) | Fact::DomainDefault(s) => {
                    n.presence[index(*s)] = true;
                }
                // Only the source's objects are counted (facts.rs says so for the other).
                Fact::References(Side::Source) => n.holding = true,
                Fact::References(Side::Destination) => {}
                Fact::MxTtl | Fact::SpfIncludesExchangeOnline => n.zone = true,
                Fact::MxTtlLoweredBefore(_) => {
                    n.zone = true;
                    n.journal = true;
                }
                Fact::MxPointsTo => {
                    n.zone = true;
                    n.expected = true;
                }
                Fact::Propagated(_) => {
                    n.zone = true;
                    n.resolvers = true;
                }
                Fact::SnapshotTaken(s) => n.snapshots[index(*s)] = true,
                Fact::AuditVerified => n.audit = true,
                Fact::ConnectorsForDomain(s) | Fact::MailAppsReviewed(s) => {
                    n.access[index(*s)] = true;
                }
            }
        }
        n
    }

    /// Whether any DNS server must be asked.
    pub fn dns(&self) -> bool {
        self.zone || self.resolvers
    }
}

/// Where the facts come from. A `Err` is why that service cannot be asked at all (not
/// configured, no resolver found): it becomes the matching `*_error`.
pub struct Sources<'a> {
    /// A-label form.
    pub domain: &'a str,
    pub source: Result<&'a GraphClient, String>,
    pub destination: Result<&'a GraphClient, String>,
    /// The resolvers as the dashboard plans them (authoritative ones flagged).
    pub resolvers: Result<&'a [Target], String>,
    /// Extra (name, type) pairs of the configuration, swept as the dashboard sweeps them.
    pub extra_names: &'a [(String, RecordKind)],
    pub journal: &'a Path,
    pub snapshots_dir: &'a Path,
    /// The source's and the destination's Exchange clients (for the connectors).
    pub exchange: [Result<&'a crate::exchange::ExchangeClient, String>; 2],
}

/// One reading of what `needs` names, as [`Facts`] for `now` and T.
pub async fn read_facts(
    needs: &Needs,
    sources: &Sources<'_>,
    now: OffsetDateTime,
    cutover_at: Option<OffsetDateTime>,
) -> Facts {
    let domain = sources.domain;
    let (source, destination, holding, expected, dns, source_access, destination_access) = tokio::join!(
        presence(needs.presence[0], &sources.source, domain),
        presence(needs.presence[1], &sources.destination, domain),
        holding(needs.holding, &sources.source, domain),
        expected(needs.expected, &sources.destination, domain),
        sweep(needs, sources),
        access(
            needs.access[0],
            &sources.source,
            &sources.exchange[0],
            "source",
            sources
        ),
        access(
            needs.access[1],
            &sources.destination,
            &sources.exchange[1],
            "destination",
            sources
        ),
    );
    let mut facts = Facts {
        now: Some(now),
        cutover_at,
        ..Facts::default()
    };
    let first_error = |a: &Option<String>, b: &Option<String>| a.clone().or_else(|| b.clone());
    facts.source_error = first_error(&source.1, &holding.1);
    facts.destination_error = first_error(&destination.1, &expected.1);
    let (answers, sweeps) = match dns {
        Ok((answers, sweeps)) => (answers, sweeps),
        Err(e) => {
            facts.dns_error = Some(e);
            (Vec::new(), Vec::new())
        }
    };
    facts.readings = readings_of(
        &Observed {
            domain,
            source: source.0,
            destination: destination.0,
            destination_configured: sources.destination.is_ok(),
            holding: holding.0,
            answers: &answers,
            expected: expected.0.as_deref(),
        },
        JournalReading::default(),
    );
    facts.mx = answers
        .iter()
        .find(|a| a.kind == RecordKind::Mx && a.name.eq_ignore_ascii_case(domain))
        .cloned();
    let swept_at = sweeps.iter().map(|s| s.at).max().unwrap_or(now);
    facts.sweeps = sweeps;
    if needs.journal {
        // A journal that cannot be read leaves the history empty: the gate then says no MX
        // TTL was observed before the deadline, from the current reading alone.
        let records = crate::audit::read_records(sources.journal).unwrap_or_default();
        facts.mx_ttl_history = facts::with_current(
            facts::mx_ttl_history(&records, domain),
            facts.mx.as_ref(),
            swept_at,
        );
    }
    for (i, tenant) in ["source", "destination"].into_iter().enumerate() {
        if needs.snapshots[i]
            && let Some(slot) = facts.snapshots.get_mut(i)
        {
            *slot = facts::snapshot_fact(sources.snapshots_dir, tenant, domain);
        }
    }
    if needs.audit {
        facts.audit = Some(audit_verified(sources.journal));
    }
    facts.access = [source_access, destination_access];
    facts
}

/// The tenant's connectors naming the domain and its mail apps against the journal's latest
/// review, from one `cutover access` reading.
async fn access(
    needed: bool,
    graph: &Result<&GraphClient, String>,
    exchange: &Result<&crate::exchange::ExchangeClient, String>,
    tenant: &str,
    sources: &Sources<'_>,
) -> facts::AccessFacts {
    if !needed {
        return facts::AccessFacts::default();
    }
    let failed = |e: String| facts::AccessFacts {
        error: Some(e),
        ..facts::AccessFacts::default()
    };
    let (graph, exchange) = match (graph, exchange) {
        (Ok(g), Ok(x)) => (*g, *x),
        (Err(e), _) | (_, Err(e)) => return failed(e.clone()),
    };
    let inv = match crate::access::read(graph, exchange, tenant, sources.domain).await {
        Ok(inv) => inv,
        Err(e) => return failed(e.to_string()),
    };
    // No journal yet means no review yet; one that cannot be read leaves the review unknown.
    let records = if sources.journal.exists() {
        match crate::audit::read_records(sources.journal) {
            Ok(r) => Some(r),
            Err(e) => {
                return facts::AccessFacts {
                    connectors_for_domain: Some(inv.connectors_for_domain()),
                    mail_apps: None,
                    error: Some(format!("the journal could not be read: {e}")),
                };
            }
        }
    } else {
        None
    };
    facts::AccessFacts {
        connectors_for_domain: Some(inv.connectors_for_domain()),
        mail_apps: Some(inv.mail_apps_review(records.as_deref().unwrap_or_default())),
        error: None,
    }
}

/// When each gate first held, from the journal (none when it cannot be read).
pub fn first_held(journal: &Path) -> std::collections::HashMap<String, OffsetDateTime> {
    crate::audit::read_records(journal)
        .map(|records| super::status::first_held(&records))
        .unwrap_or_default()
}

fn audit_verified(journal: &Path) -> Result<(), String> {
    if !journal.exists() {
        return Err(format!("no journal at {} yet", journal.display()));
    }
    match crate::audit::verify_file(journal) {
        Ok(report) => match report.first_bad {
            None => Ok(()),
            Some(bad) => Err(format!("line {}: {}", bad.line, bad.reason)),
        },
        Err(e) => Err(e.to_string()),
    }
}

async fn presence(
    needed: bool,
    client: &Result<&GraphClient, String>,
    domain: &str,
) -> (Presence, Option<String>) {
    if !needed {
        return (Presence::Unknown, None);
    }
    match client {
        Err(why) => (Presence::Unknown, Some(why.clone())),
        Ok(client) => match client.domain(domain).await {
            Ok(found) => (presence_of(found.as_ref()), None),
            Err(e) => (Presence::Unknown, Some(e.to_string())),
        },
    }
}

/// The source's objects holding the domain: what `cutover inventory` lists, counted as the
/// dashboard counts them ([`crate::inventory::Holding`]).
async fn holding(
    needed: bool,
    client: &Result<&GraphClient, String>,
    domain: &str,
) -> (Option<usize>, Option<String>) {
    if !needed {
        return (None, None);
    }
    match client {
        Err(why) => (None, Some(why.clone())),
        Ok(client) => match crate::inventory::collect(client, domain).await {
            Ok(entries) => (Some(crate::inventory::Holding::of(&entries).total), None),
            Err(e) => (None, Some(e.to_string())),
        },
    }
}

/// The destination's expected records as the expected poller and `cutover dns` read them; a
/// destination without the domain expects nothing (no MX to compare with).
async fn expected(
    needed: bool,
    client: &Result<&GraphClient, String>,
    domain: &str,
) -> (
    Option<Vec<crate::graph::model::DomainDnsRecord>>,
    Option<String>,
) {
    if !needed {
        return (None, None);
    }
    match client {
        Err(why) => (None, Some(why.clone())),
        Ok(client) => match crate::dns::expected::tenant_records(client, domain).await {
            Ok(records) => (Some(records.unwrap_or_default()), None),
            Err(e) => (None, Some(e.to_string())),
        },
    }
}

type Swept = (
    Vec<crate::dns::RecordAnswer>,
    Vec<crate::dns::propagation::ResolverSweep>,
);

/// The zone's authoritative answers and, when propagation is asked about, every resolver's.
async fn sweep(needs: &Needs, sources: &Sources<'_>) -> Result<Swept, String> {
    if !needs.dns() {
        return Ok((Vec::new(), Vec::new()));
    }
    let all = sources.resolvers.clone()?;
    let targets: Vec<Target> = all
        .iter()
        .filter(|t| needs.resolvers || t.authoritative)
        .cloned()
        .collect();
    if !targets.iter().any(|t| t.authoritative) {
        return Err(format!(
            "no authoritative server of {} was found (its NS records did not resolve)",
            sources.domain
        ));
    }
    let names = record_set(sources.domain, sources.extra_names);
    let sweeps = sweep_all(&targets, &names).await;
    let answers = authoritative_answers(&names, &sweeps).unwrap_or_default();
    let answered = answers
        .iter()
        .any(|a| !matches!(a.status, crate::dns::AnswerStatus::Error(_)));
    if !answered {
        let why = answers
            .iter()
            .find_map(|a| match &a.status {
                crate::dns::AnswerStatus::Error(e) => Some(e.clone()),
                _ => None,
            })
            .unwrap_or_else(|| "no answer".into());
        return Err(format!(
            "no authoritative server of {} answered ({why})",
            sources.domain
        ));
    }
    Ok((answers, sweeps))
}
