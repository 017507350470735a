//! `cutover dns`, `cutover dns snapshot` and `cutover dns diff`: the DNS check from the command
//! line, with the resolvers to compare and the expected records given as flags.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Failure, Outcome, finish, runtime};
use crate::dns::RecordKind;
use crate::dns::blocklist::Listing;
use crate::dns::model::AnswerStatus;
use crate::dns::monitor::{
    Report, Target, authoritative_targets, check_blocklists, follow_chains, record_set, sweep_all,
    system_targets,
};
use crate::dns::name::{DomainName, parse_domain};
use crate::dns::propagation::Cell;
use crate::dns::snapshot::{Snapshot, diff};
use crate::graph::model::DomainDnsRecord;

/// Which resolvers to ask, as given on the command line.
#[derive(Debug, Clone)]
pub struct ResolverArgs {
    /// `--resolver ADDR[:PORT]`, repeatable.
    pub resolvers: Vec<String>,
    /// Leave out the system's resolvers (/etc/resolv.conf).
    pub no_system: bool,
    /// Port the authoritative servers are asked on (53 unless rehearsing).
    pub auth_port: u16,
    /// Per-query timeout.
    pub timeout: Duration,
    /// `--name NAME/TYPE`, extra records to watch.
    pub names: Vec<String>,
}

/// `cutover dns D`.
pub struct CheckArgs {
    pub domain: String,
    /// For `--config` and the data dir (token cache) when the expected records come from a tenant.
    pub globals: super::Globals,
    pub resolvers: ResolverArgs,
    pub expect_file: Option<PathBuf>,
    /// `destination` (default) or `source`.
    pub expect_from: Option<String>,
    /// `--dnsbl ZONE`, repeatable: blocklists to check the MX hosts' addresses on.
    pub dnsbl: Vec<String>,
    pub json: bool,
}

pub fn dns_check(args: CheckArgs) -> ExitCode {
    finish(check_inner(args))
}

pub fn dns_snapshot(domain: &str, resolvers: ResolverArgs, out: &Path) -> ExitCode {
    finish(snapshot_inner(domain, resolvers, out))
}

pub fn dns_diff(domain: &str, resolvers: ResolverArgs, against: &Path, json: bool) -> ExitCode {
    finish(diff_inner(domain, resolvers, against, json))
}

/// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address; port 53 when none is given.
pub fn parse_resolver(s: &str) -> Result<SocketAddr, Failure> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(Failure::Input(format!(
        "--resolver '{s}' is not an address: give an IP address with an optional port, e.g. 192.0.2.53 or 192.0.2.53:5353 or [2001:db8::53]:53"
    )))
}

/// `NAME/TYPE` for `--name`: a host name (underscores allowed) and one of the watched types.
pub fn parse_name(s: &str) -> Result<(String, RecordKind), Failure> {
    crate::dns::name::parse_record_name(s).map_err(|why| {
        Failure::Input(format!(
            "--name '{s}': {why}; give NAME/TYPE, e.g. mail.contoso.com/CNAME (types: MX TXT CNAME SRV NS SOA)"
        ))
    })
}

fn domain_arg(domain: &str) -> Result<DomainName, Failure> {
    parse_domain(domain).map_err(|e| Failure::Input(e.to_string()))
}

/// Build the targets: authoritative servers (found through NS), the system's, the named ones.
async fn targets(
    domain: &DomainName,
    args: &ResolverArgs,
) -> Result<(Vec<Target>, Vec<String>), Failure> {
    let mut notes = Vec::new();
    let mut named = Vec::new();
    for r in &args.resolvers {
        let addr = parse_resolver(r)?;
        let t = Target::new(addr.to_string(), addr, args.timeout, false)
            .map_err(|e| Failure::Input(e.to_string()))?;
        named.push(t);
    }
    let mut system = Vec::new();
    if !args.no_system {
        match system_targets(args.timeout) {
            Ok(t) => system = t,
            Err(e) => notes.push(format!("system resolver left out: {e}")),
        }
    }
    let bootstrap = named.first().or(system.first()).ok_or_else(|| {
        Failure::Input(
            "no resolver to ask: name one with --resolver ADDR[:PORT] or drop --no-system".into(),
        )
    })?;
    let auth = authoritative_targets(
        &bootstrap.client,
        &domain.ascii,
        args.auth_port,
        args.timeout,
    )
    .await;
    if auth.is_empty() {
        notes.push(format!(
            "no authoritative server found through NS of {}; the first resolver is the reference",
            domain.ascii
        ));
    }
    let mut all = auth;
    all.extend(system);
    all.extend(named);
    Ok((all, notes))
}

/// The propagation view's resolvers for the configured dashboard: the zone's authoritative
/// servers (found through NS, asked without recursion on `authoritative_port`) first, as the
/// reference, then the system's (unless turned off), then each configured nameserver. Found
/// once at start.
pub(crate) async fn dashboard_resolvers(
    domain: &str,
    nameservers: &[SocketAddr],
    authoritative_port: u16,
    system: bool,
    timeout: Duration,
) -> Vec<(String, std::sync::Arc<crate::dns::DnsClient>)> {
    let mut configured = Vec::new();
    for addr in nameservers {
        match Target::new(addr.to_string(), *addr, timeout, false) {
            Ok(t) => configured.push(t),
            Err(e) => tracing::warn!(resolver = %addr, error = %e, "resolver left out"),
        }
    }
    let mut from_system = Vec::new();
    if system {
        match system_targets(timeout) {
            Ok(found) => from_system = found,
            Err(e) => tracing::warn!(error = %e, "system resolvers left out"),
        }
    }
    // The nameservers the admin chose find the NS; the system's when none is configured.
    let auth = match configured.first().or(from_system.first()) {
        Some(bootstrap) => {
            authoritative_targets(&bootstrap.client, domain, authoritative_port, timeout).await
        }
        None => Vec::new(),
    };
    if auth.is_empty() {
        tracing::warn!(
            domain,
            "no authoritative server found through NS; the first resolver is the reference"
        );
    }
    auth.into_iter()
        .chain(from_system)
        .chain(configured)
        .map(|t| (t.label, std::sync::Arc::new(t.client)))
        .collect()
}

/// The configuration, when there is one to read: always when `--config`/`CUTOVER_CONFIG` names
/// it or `--expect-from` was given (then a missing file is an error), else only when the
/// platform's `config.toml` exists.
fn configured(
    globals: &super::Globals,
    asked: bool,
) -> Result<Option<crate::config::Config>, Failure> {
    let path = super::config::config_path(globals)?;
    if globals.config.is_none() && !asked && !path.exists() {
        return Ok(None);
    }
    super::config::load_config(globals).map(Some)
}

/// The records the tenant asks for: `serviceConfigurationRecords`, plus the verification TXT
/// while the domain is not verified there yet. A tenant without the domain gives none, with a
/// note saying so.
async fn tenant_expected(
    globals: &super::Globals,
    cfg: &crate::config::Config,
    side: crate::config::Side,
    domain: &str,
) -> Result<(Vec<DomainDnsRecord>, Vec<String>), Failure> {
    let (paths, _log) = super::prepare(globals)?;
    let client = super::start::client_for(
        cfg.profile(side),
        &paths,
        Some(super::start::print_device_code()),
    )?;
    let service = |e: crate::graph::GraphError| match e {
        crate::graph::GraphError::Auth { .. } | crate::graph::GraphError::Config(_) => {
            super::start::sign_in_failure(e)
        }
        other => Failure::Service(format!(
            "expected records from the {}: {other}",
            side.name()
        )),
    };
    let Some(found) = client.domain(domain).await.map_err(service)? else {
        return Ok((
            Vec::new(),
            vec![format!(
                "the {} tenant does not have {domain}: no expected records",
                side.name()
            )],
        ));
    };
    let mut records = client
        .service_configuration_records(domain)
        .await
        .map_err(service)?;
    if !found.is_verified {
        records.extend(
            client
                .verification_dns_records(domain)
                .await
                .map_err(service)?
                .into_iter()
                .filter(|r| r.record_type.eq_ignore_ascii_case("txt")),
        );
    }
    Ok((records, Vec::new()))
}

fn read_expected(path: &Path) -> Result<Vec<DomainDnsRecord>, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::Input(format!("cannot read --expect-file {}: {e}", path.display()))
    })?;
    // Either the bare array or Graph's `{"value": [...]}` page.
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Doc {
        List(Vec<DomainDnsRecord>),
        Page { value: Vec<DomainDnsRecord> },
    }
    match serde_json::from_slice::<Doc>(&bytes) {
        Ok(Doc::List(v)) | Ok(Doc::Page { value: v }) => Ok(v),
        Err(e) => Err(Failure::Input(format!(
            "--expect-file {} is not a JSON list of Graph domainDnsRecords: {e}",
            path.display()
        ))),
    }
}

fn check_inner(args: CheckArgs) -> Outcome {
    let domain = domain_arg(&args.domain)?;
    let extra = args
        .resolvers
        .names
        .iter()
        .map(|n| parse_name(n))
        .collect::<Result<Vec<_>, _>>()?;
    let expect_from = args
        .expect_from
        .clone()
        .unwrap_or_else(|| "destination".into());
    if !matches!(expect_from.as_str(), "destination" | "source") {
        return Err(Failure::Input(format!(
            "--expect-from '{expect_from}': give destination or source"
        )));
    }
    let mut dnsbl = args.dnsbl.clone();
    for zone in &dnsbl {
        parse_domain(zone).map_err(|e| Failure::Input(format!("--dnsbl: {e}")))?;
    }
    // Expected records: the file when given, else the tenant's own lists when a config names
    // the tenants, else none (the table then shows what resolvers answer, nothing to compare).
    let config = if args.expect_file.is_some() {
        None
    } else {
        configured(&args.globals, args.expect_from.is_some())?
    };
    let mut extra = extra;
    if let Some(cfg) = &config {
        for pair in &cfg.names {
            if !extra.contains(pair) {
                extra.push(pair.clone());
            }
        }
        for zone in &cfg.blocklists {
            if !dnsbl.contains(zone) {
                dnsbl.push(zone.clone());
            }
        }
    }
    let rt = runtime()?;
    let (expected, mut expect_notes) = match (&args.expect_file, &config) {
        (Some(p), _) => (read_expected(p)?, Vec::new()),
        (None, Some(cfg)) => {
            let side = if expect_from == "source" {
                crate::config::Side::Source
            } else {
                crate::config::Side::Destination
            };
            rt.block_on(tenant_expected(&args.globals, cfg, side, &domain.ascii))?
        }
        (None, None) => (Vec::new(), Vec::new()),
    };
    let (report, targets_meta, notes) = rt.block_on(async {
        let (targets, mut notes) = targets(&domain, &args.resolvers).await?;
        notes.append(&mut expect_notes);
        let names = record_set(&domain.ascii, &extra);
        let sweeps = sweep_all(&targets, &names).await;
        let meta: Vec<(String, bool)> = targets
            .iter()
            .map(|t| (t.label.clone(), t.authoritative))
            .collect();
        let mut report = Report::build(&domain.ascii, &names, &targets, sweeps, &expected);
        if let Some(first) = targets.first() {
            report.chains = follow_chains(&first.client, &report.reference).await;
            report.blocklists = check_blocklists(&first.client, &report.reference, &dnsbl).await;
        }
        Ok::<_, Failure>((report, meta, notes))
    })?;
    if report
        .reference
        .iter()
        .all(|a| matches!(a.status, AnswerStatus::Error(_)))
    {
        let why = report
            .reference
            .first()
            .map(|a| status_text(&a.status))
            .unwrap_or_default();
        return Err(Failure::Service(format!(
            "no resolver answered any query for {} ({why}); check the resolver addresses and the network",
            domain.ascii
        )));
    }
    let ok = report.all_match();
    if args.json {
        println!(
            "{}",
            report_json(&domain, &report, &targets_meta, &expect_from, ok)
        );
    } else {
        print!(
            "{}",
            report_text(&domain, &report, &targets_meta, &notes, &expect_from)
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn status_text(s: &AnswerStatus) -> String {
    match s {
        AnswerStatus::Answer => "answer".into(),
        AnswerStatus::NxDomain => "NXDOMAIN".into(),
        AnswerStatus::NoData => "NODATA".into(),
        AnswerStatus::Error(e) => e.clone(),
    }
}

/// One row of the records table: what the CLI and JSON print.
struct TableRow {
    name: String,
    kind: RecordKind,
    expected: String,
    actual: String,
    ttl: String,
    status: String,
}

fn table(report: &Report) -> Vec<TableRow> {
    let mut rows = Vec::new();
    for a in &report.reference {
        let mut actual = match a.status {
            AnswerStatus::Answer => a
                .values
                .iter()
                .map(|v| v.value.clone())
                .collect::<Vec<_>>()
                .join(" | "),
            _ => status_text(&a.status),
        };
        let chain = report
            .chains
            .iter()
            .find(|(name, _)| a.kind == RecordKind::Cname && name == &a.name)
            .map(|(_, c)| c.clone())
            .unwrap_or_default();
        for hop in &chain {
            actual.push_str(" → ");
            actual.push_str(hop);
        }
        let ttl = a
            .values
            .iter()
            .map(|v| v.ttl)
            .min()
            .map(|t| t.to_string())
            .unwrap_or_default();
        let matching: Vec<_> = report
            .comparisons
            .iter()
            .filter(|c| c.name == a.name && c.kind == a.kind)
            .collect();
        if matching.is_empty() {
            rows.push(TableRow {
                name: a.name.clone(),
                kind: a.kind,
                expected: String::new(),
                actual: actual.clone(),
                ttl: ttl.clone(),
                status: status_text(&a.status).to_lowercase(),
            });
        }
        for c in matching {
            rows.push(TableRow {
                name: a.name.clone(),
                kind: a.kind,
                expected: c.expected.clone().unwrap_or_default(),
                actual: if c.expected.is_none() {
                    c.actual.join(" | ")
                } else {
                    actual.clone()
                },
                ttl: ttl.clone(),
                status: report.status_of(c).to_string(),
            });
        }
    }
    rows
}

fn cell_text(cell: &Cell, now: OffsetDateTime) -> String {
    match cell {
        Cell::Current => "current".into(),
        Cell::Stale { expires_at } => {
            let left = (*expires_at - now).whole_seconds().max(0);
            format!("stale {left}s")
        }
        Cell::Failed(e) => e.clone(),
        Cell::Unknown => "?".into(),
    }
}

fn report_text(
    domain: &DomainName,
    report: &Report,
    targets: &[(String, bool)],
    notes: &[String],
    expect_from: &str,
) -> String {
    use std::fmt::Write;
    let now = OffsetDateTime::now_utc();
    let mut out = String::new();
    let _ = writeln!(out, "domain: {}", domain.display_both());
    for (i, (label, auth)) in targets.iter().enumerate() {
        let kind = if *auth { "authoritative" } else { "resolver" };
        let _ = writeln!(out, "r{}: {label} ({kind})", i + 1);
    }
    for n in notes {
        let _ = writeln!(out, "note: {n}");
    }
    let _ = writeln!(out);
    let rows = table(report);
    let w =
        |f: &dyn Fn(&TableRow) -> usize, min: usize| rows.iter().map(f).max().unwrap_or(0).max(min);
    let wn = w(&|r| r.name.len(), 4);
    let we = w(&|r| r.expected.len().min(48), 8);
    let wa = w(&|r| r.actual.len().min(48), 6);
    let _ = writeln!(
        out,
        "{:wn$}  {:5}  {:we$}  {:wa$}  {:>6}  STATUS",
        "NAME", "TYPE", "EXPECTED", "ACTUAL", "TTL"
    );
    for r in &rows {
        let _ = writeln!(
            out,
            "{:wn$}  {:5}  {:we$}  {:wa$}  {:>6}  {}",
            r.name,
            r.kind.as_str(),
            clip(&r.expected, 48),
            clip(&r.actual, 48),
            r.ttl,
            r.status
        );
    }
    if report.comparisons.is_empty() {
        let _ = writeln!(
            out,
            "(no expected records: configure the tenants (cutover config init) or pass --expect-file with the {expect_from} tenant's serviceConfigurationRecords)"
        );
    }
    let _ = writeln!(out, "\npropagation:");
    let _ = write!(out, "{:wn$}  {:5}", "NAME", "TYPE");
    for i in 0..targets.len() {
        let _ = write!(out, "  {:12}", format!("r{}", i + 1));
    }
    let _ = writeln!(out);
    for row in &report.propagation {
        let _ = write!(out, "{:wn$}  {:5}", row.name, row.kind.as_str());
        for c in &row.cells {
            let _ = write!(out, "  {:12}", clip(&cell_text(c, now), 12));
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);
    for b in &report.blocklists {
        let _ = writeln!(
            out,
            "blocklist {}: {} ({}) {}",
            b.zone,
            b.host,
            b.address,
            listing_text(&b.listing)
        );
    }
    if report.spf.is_ok() {
        let _ = writeln!(out, "SPF: ok ({} DNS-querying terms)", report.spf.dns_terms);
    } else {
        for p in &report.spf.problems {
            let _ = writeln!(out, "SPF: {p}");
        }
    }
    out
}

fn listing_text(l: &Listing) -> String {
    match l {
        Listing::Clean => "clean".into(),
        Listing::Listed(reasons) => format!("LISTED: {}", reasons.join("; ")),
        Listing::CouldNotCheck(why) => format!("could not check: {why}"),
    }
}

/// At most `max` terminal cells: the dashboard's truncation, so wide characters count twice.
fn clip(s: &str, max: usize) -> String {
    crate::ui::truncate(s, max)
}

fn report_json(
    domain: &DomainName,
    report: &Report,
    targets: &[(String, bool)],
    expect_from: &str,
    ok: bool,
) -> serde_json::Value {
    use serde_json::json;
    let now = OffsetDateTime::now_utc();
    let records: Vec<_> = table(report)
        .into_iter()
        .map(|r| {
            json!({
                "name": r.name, "type": r.kind, "expected": r.expected,
                "actual": r.actual, "ttl": r.ttl, "status": r.status,
            })
        })
        .collect();
    let propagation: Vec<_> = report
        .propagation
        .iter()
        .map(|row| {
            let cells: Vec<_> = row
                .cells
                .iter()
                .zip(targets)
                .map(|(c, (label, _))| {
                    let (state, left) = match c {
                        Cell::Current => ("current".to_string(), None),
                        Cell::Stale { expires_at } => (
                            "stale".to_string(),
                            Some((*expires_at - now).whole_seconds().max(0)),
                        ),
                        Cell::Failed(e) => (format!("failed: {e}"), None),
                        Cell::Unknown => ("unknown".to_string(), None),
                    };
                    json!({"resolver": label, "state": state, "expires_in_s": left})
                })
                .collect();
            json!({"name": row.name, "type": row.kind, "cells": cells})
        })
        .collect();
    let resolvers: Vec<_> = targets
        .iter()
        .zip(&report.sweeps)
        .map(|((label, auth), sweep)| {
            json!({"resolver": label, "authoritative": auth, "answers": sweep.answers})
        })
        .collect();
    json!({
        "domain": domain.ascii,
        "domain_unicode": domain.unicode,
        "expect_from": expect_from,
        "all_match": ok,
        "records": records,
        "propagation": propagation,
        "resolvers": resolvers,
        "blocklists": report.blocklists.iter().map(|b| json!({
            "zone": b.zone, "host": b.host, "address": b.address.to_string(),
            "verdict": match b.listing {
                Listing::Clean => "clean",
                Listing::Listed(_) => "listed",
                Listing::CouldNotCheck(_) => "could_not_check",
            },
            "detail": listing_text(&b.listing),
        })).collect::<Vec<_>>(),
        "spf": {
            "record": report.spf.record,
            "dns_terms": report.spf.dns_terms,
            "problems": report.spf.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        },
    })
}

/// The reference answers (authoritative first) for `domain`.
async fn reference_now(
    domain: &DomainName,
    args: &ResolverArgs,
) -> Result<Vec<crate::dns::RecordAnswer>, Failure> {
    let extra = args
        .names
        .iter()
        .map(|n| parse_name(n))
        .collect::<Result<Vec<_>, _>>()?;
    let (targets, _) = targets(domain, args).await?;
    let names = record_set(&domain.ascii, &extra);
    let sweeps = sweep_all(&targets, &names).await;
    let reference = crate::dns::monitor::reference(&names, &targets, &sweeps);
    if reference
        .iter()
        .all(|a| matches!(a.status, AnswerStatus::Error(_)))
    {
        return Err(Failure::Service(format!(
            "no resolver answered any query for {}; check the resolver addresses and the network",
            domain.ascii
        )));
    }
    Ok(reference)
}

fn snapshot_inner(domain: &str, args: ResolverArgs, out: &Path) -> Outcome {
    let domain = domain_arg(domain)?;
    let rt = runtime()?;
    let reference = rt.block_on(reference_now(&domain, &args))?;
    let snap = Snapshot::new(&domain.ascii, OffsetDateTime::now_utc(), reference);
    let (zone, json) = snap.write(out).map_err(|e| Failure::Input(e.to_string()))?;
    println!(
        "snapshot of {} written: {} and {}",
        domain.display_both(),
        zone.display(),
        json.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn diff_inner(domain: &str, args: ResolverArgs, against: &Path, json: bool) -> Outcome {
    let domain = domain_arg(domain)?;
    let before = Snapshot::read(against).map_err(|e| Failure::Input(e.to_string()))?;
    if before.domain != domain.ascii {
        return Err(Failure::Input(format!(
            "{} is a snapshot of {}, not {}",
            against.display(),
            before.domain,
            domain.ascii
        )));
    }
    let rt = runtime()?;
    let now = rt.block_on(reference_now(&domain, &args))?;
    let changes = diff(&before, &now);
    if json {
        println!(
            "{}",
            serde_json::json!({"domain": domain.ascii, "changes": changes})
        );
    } else if changes.is_empty() {
        println!("no changes since the snapshot of {}", before.domain);
    } else {
        for c in &changes {
            println!(
                "{} {}: {} -> {}",
                c.name,
                c.kind,
                if c.before.is_empty() {
                    "(not in snapshot)".to_string()
                } else {
                    c.before.join(" | ")
                },
                c.after.join(" | ")
            );
        }
    }
    Ok(if changes.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolver_forms() {
        assert_eq!(parse_resolver("192.0.2.1").unwrap().port(), 53);
        assert_eq!(parse_resolver("192.0.2.1:5353").unwrap().port(), 5353);
        assert_eq!(parse_resolver("[::1]:54").unwrap().port(), 54);
        assert_eq!(parse_resolver("::1").unwrap().port(), 53);
        assert!(parse_resolver("dns.google").is_err());
    }

    #[test]
    fn name_forms() {
        assert_eq!(
            parse_name("_DMARC.Contoso.com./TXT").unwrap(),
            ("_dmarc.contoso.com".to_string(), RecordKind::Txt)
        );
        assert_eq!(
            parse_name("mail.münchen.example/cname").unwrap().0,
            "mail.xn--mnchen-3ya.example"
        );
        assert!(parse_name("contoso.com").is_err());
        assert!(parse_name("a..b/MX").is_err());
        assert!(parse_name("contoso.com/A").is_err());
    }
}
