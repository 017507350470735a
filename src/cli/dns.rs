//! `cutover dns`, `cutover dns snapshot` and `cutover dns diff`: the DNS check from the command
//! line, with the resolvers to compare and the expected records given as flags.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use time::OffsetDateTime;

use super::args::DnsArgs;
use super::config::Loaded;
use super::{Failure, Globals, Outcome, runtime};
use crate::dns::RecordKind;
use crate::dns::blocklist::Listing;
use crate::dns::model::AnswerStatus;
use crate::dns::monitor::{Report, Target, check_blocklists, follow_chains, record_set, sweep_all};
use crate::dns::name::{DomainName, parse_domain};
use crate::dns::propagation::Cell;
use crate::dns::snapshot::{Snapshot, diff};
use crate::dns::targets::{self, Plan, recursive};
use crate::graph::model::DomainDnsRecord;

pub use super::args::ResolverArgs;

/// `cutover dns [D]`.
pub(crate) fn dns_check(globals: &Globals, args: &DnsArgs) -> Outcome {
    check_inner(globals, args)
}

pub(crate) fn dns_snapshot(domain: &DomainName, resolvers: &ResolverArgs, out: &Path) -> Outcome {
    snapshot_inner(domain, resolvers, out)
}

pub(crate) fn dns_diff(
    domain: &DomainName,
    resolvers: &ResolverArgs,
    against: &Path,
    json: bool,
) -> Outcome {
    diff_inner(domain, resolvers, against, json)
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

/// What decides the resolvers, for `cutover dns` and the dashboard alike: the config's `[dns]`
/// (`nameservers`, `system_resolvers`, `authoritative_port`) with the command-line flags laid
/// over it when given (`--resolver` replaces the nameservers, `--no-system` leaves the
/// system's out, `--auth-port` replaces the port).
pub(crate) fn resolver_plan(
    args: Option<&ResolverArgs>,
    cfg: Option<&crate::config::Config>,
) -> Result<Plan, Failure> {
    let mut named = Vec::new();
    for r in args.map(|a| a.resolvers.as_slice()).unwrap_or_default() {
        named.push(parse_resolver(r)?);
    }
    if named.is_empty()
        && let Some(cfg) = cfg
    {
        named = cfg.nameservers.clone();
    }
    let no_system = args.is_some_and(|a| a.no_system);
    Ok(Plan {
        nameservers: named,
        system: !no_system && cfg.is_none_or(|c| c.system_resolvers),
        authoritative_port: args
            .and_then(|a| a.auth_port)
            .or(cfg.map(|c| c.authoritative_port))
            .unwrap_or(53),
        timeout: args.map_or(Duration::from_secs(2), |a| a.timeout),
    })
}

/// Build the targets: authoritative servers (found through NS), the system's, the named ones.
async fn targets(plan: &Plan, domain: &DomainName) -> Result<targets::Planned, Failure> {
    targets::plan(&domain.ascii, plan)
        .await
        .map_err(|e| Failure::Input(e.to_string()))
}

/// The propagation view's resolvers for the configured dashboard, from the same plan as
/// `cutover dns`: the zone's authoritative servers (the reference for values and TTLs), then
/// the system's (unless turned off), then each configured nameserver. Found once at start.
pub(crate) async fn dashboard_resolvers(
    domain: &DomainName,
    cfg: &crate::config::Config,
) -> Result<Vec<Target>, Failure> {
    let plan = resolver_plan(None, Some(cfg))?;
    let planned = targets::plan(&domain.ascii, &plan)
        .await
        .map_err(|e| Failure::Input(format!("dns: {e}")))?;
    for note in &planned.notes {
        tracing::warn!(domain = %domain.ascii, "{note}");
    }
    Ok(planned.targets)
}

/// The configuration, when there is one to read: always when `--config`/`CUTOVER_CONFIG` names
/// it or `--expect-from` was given (then a missing file is an error), else only when the
/// platform's `config.toml` exists.
fn configured(
    globals: &super::Globals,
    asked: bool,
) -> Result<Option<super::config::Loaded>, Failure> {
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
    cfg: &super::config::Loaded,
    side: crate::config::Side,
    domain: &str,
) -> Result<(Vec<DomainDnsRecord>, Vec<String>), Failure> {
    let profile = cfg.profile(side)?;
    let (paths, _log) = super::prepare(globals)?;
    let client =
        super::start::client_for(profile, &paths, Some(super::start::print_device_code()))?;
    let service = |e: crate::graph::GraphError| match e {
        crate::graph::GraphError::Auth { .. } | crate::graph::GraphError::Config(_) => {
            super::start::sign_in_failure(e)
        }
        other => Failure::Service(format!(
            "expected records from the {}: {other}",
            side.name()
        )),
    };
    let Some(records) = crate::dns::expected::tenant_records(&client, domain)
        .await
        .map_err(service)?
    else {
        return Ok((
            Vec::new(),
            vec![format!(
                "the {} tenant does not have {domain}: no expected records",
                side.name()
            )],
        ));
    };
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

fn check_inner(globals: &Globals, args: &DnsArgs) -> Outcome {
    let domain = match super::one_domain(args.domain.as_ref(), globals.domain.as_ref())? {
        Some(d) => d,
        None => configured(globals, false)?
            .and_then(|c| c.cfg.domain)
            .ok_or_else(|| {
                Failure::Input("no domain to check: give it, e.g. 'cutover dns contoso.com'".into())
            })?,
    };
    let extra = args
        .resolvers
        .names
        .iter()
        .map(|n| parse_name(n))
        .collect::<Result<Vec<_>, _>>()?;
    let mut dnsbl = args.dnsbl.clone();
    for zone in &dnsbl {
        parse_domain(zone).map_err(|e| Failure::Input(format!("--dnsbl: {e}")))?;
    }
    // Expected records: the file when given, else the tenant's own lists when a config names
    // the tenants, else none (the table then shows what resolvers answer, nothing to compare).
    // The config's [dns] decides the resolvers as it does for the dashboard, so it is read
    // whenever there is one; --expect-from without --expect-file needs it.
    let config = configured(
        globals,
        args.expect_from.is_some() && args.expect_file.is_none(),
    )?;
    // The destination's records by default; the source's when no destination is configured
    // (a domain being freed), as the dashboard does.
    let expect_from = match (&args.expect_from, &config) {
        (Some(asked), _) => asked.clone(),
        (None, Some(c)) if c.cfg.destination.is_none() => "source".into(),
        (None, _) => "destination".into(),
    };
    let plan = resolver_plan(Some(&args.resolvers), config.as_ref().map(|l| &l.cfg))?;
    let mut extra = extra;
    if let Some(Loaded { cfg, .. }) = &config {
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
            rt.block_on(tenant_expected(globals, cfg, side, &domain.ascii))?
        }
        (None, None) => (Vec::new(), Vec::new()),
    };
    let (report, targets_meta, notes) = rt.block_on(async {
        let planned = targets(&plan, &domain).await?;
        let mut notes = planned.notes.clone();
        notes.append(&mut expect_notes);
        let targets = &planned.targets;
        let names = record_set(&domain.ascii, &extra);
        let sweeps = sweep_all(targets, &names).await;
        let meta: Vec<(String, bool)> = targets
            .iter()
            .map(|t| (t.label.clone(), t.authoritative))
            .collect();
        let mut report = Report::build(&domain.ascii, &names, sweeps, &expected);
        // Chains and blocklists leave the zone: only a recursive resolver answers those.
        if let Some(r) = recursive(targets) {
            report.chains = follow_chains(&r.client, &report.reference).await;
            report.blocklists = check_blocklists(&r.client, &report.reference, &dnsbl).await;
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
        let address = b
            .address
            .map(|a| a.to_string())
            .unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "blocklist {}: {} ({address}) {}",
            b.zone,
            b.host,
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
        Listing::CouldNotCheck(why) => format!("not checked: {why}"),
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
            "zone": b.zone, "host": b.host, "address": b.address.map(|a| a.to_string()),
            "verdict": match b.listing {
                Listing::Clean => "clean",
                Listing::Listed(_) => "listed",
                Listing::CouldNotCheck(_) => "not_checked",
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
    let planned = targets(&resolver_plan(Some(args), None)?, domain).await?;
    let names = record_set(&domain.ascii, &extra);
    let sweeps = sweep_all(&planned.targets, &names).await;
    let reference = crate::dns::monitor::reference(&names, &sweeps);
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

fn snapshot_inner(domain: &DomainName, args: &ResolverArgs, out: &Path) -> Outcome {
    let rt = runtime()?;
    let reference = rt.block_on(reference_now(domain, args))?;
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

fn diff_inner(domain: &DomainName, args: &ResolverArgs, against: &Path, json: bool) -> Outcome {
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
    let now = rt.block_on(reference_now(domain, args))?;
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
