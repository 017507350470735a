//! `cutover access --tenant T [--domain D] [--json]`: the tenant's connections and access
//! ([`crate::access::read`]), and `cutover plan access`: the changes that cut them, as a plan
//! file for `cutover apply` (`kind` `access`).

use std::process::ExitCode;

use super::args::{AccessArgs, PlanAccessArgs};
use super::plan::write_stdout;
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::access::{Consent, Inventory, PlanOptions, ReadError};
use crate::config::{Profile, Side};
use crate::graph::auth::OtherTenant;
use crate::plan::release::{Flag, PLAN_VERSION, Plan, render_text};
use crate::store::Paths;

/// The inventory, the tenant's initial domain (for the plan file), and the signed-in user's
/// home tenant when it is another (warned on stderr).
async fn read(
    profile: &Profile,
    paths: &Paths,
    side: Side,
    domain: &str,
) -> Result<(Inventory, String, Option<OtherTenant>), Failure> {
    let graph = start::client_for(profile, paths, None)?;
    let exchange = super::exchange::exchange_client(profile, paths)?;
    let mut inv = crate::access::read(&graph, &exchange, side.name(), domain)
        .await
        .map_err(|e| match e {
            ReadError::Graph(g) => start::sign_in_failure(g),
            ReadError::Exchange(x) => super::exchange::exchange_failure(x),
        })?;
    let org = graph.organization().await.map_err(start::sign_in_failure)?;
    inv.mark_own(&org.id, &profile.client_id);
    let initial = org
        .verified_domains
        .iter()
        .find(|d| d.is_initial)
        .map(|d| d.name.clone())
        .unwrap_or_default();
    let other = start::warn_other_tenant(&graph, side.name()).await;
    Ok((inv, initial, other))
}

/// Names from the network on one line of text.
fn clean(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub(crate) fn access(globals: &Globals, args: &AccessArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(args.tenant)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    if args.wait_connectors_gone {
        return rt.block_on(wait_connectors_gone(
            profile,
            &paths,
            args.tenant,
            &domain.ascii,
            std::time::Duration::from_secs(args.timeout),
        ));
    }
    let (inv, _, _) = rt.block_on(read(profile, &paths, args.tenant, &domain.ascii))?;
    if args.mark_reviewed {
        return mark_reviewed(&inv, &paths, &domain.ascii);
    }
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&inv)
            .map_err(|e| Failure::Service(format!("cannot write the inventory as JSON: {e}")))?;
        t.push('\n');
        t
    } else {
        render(&inv, &domain.display_both())
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// How often `--wait-connectors-gone` reads the connectors: two reads a few seconds apart cost
/// Exchange little, and a removal shows within seconds.
const CONNECTOR_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// `--wait-connectors-gone`: the script route's read-back. Cutover did not send the removals
/// (the admin ran the script), so there is no change to reconcile: it reads the connectors
/// naming the domain (the same rule as `cutover access`, `access::connectors_only`) until none
/// is left, and journals an `observed` line for each connector it saw that no longer names
/// the domain (removed, or narrowed by the script). Exit 0 when none is left, 1 (naming them)
/// at the timeout, 3 when Exchange cannot be read.
async fn wait_connectors_gone(
    profile: &Profile,
    paths: &Paths,
    side: Side,
    domain: &str,
    bound: std::time::Duration,
) -> Outcome {
    let exchange = super::exchange::exchange_client(profile, paths)?;
    let journal_path = paths.audit_log(domain);
    let mut journal = crate::audit::Journal::open(&journal_path, domain)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let started = std::time::Instant::now();
    // Connectors seen naming the domain and not yet seen gone: (direction, name).
    let mut seen: Vec<(&'static str, String)> = Vec::new();
    let mut first = true;
    loop {
        let connectors = exchange
            .connectors()
            .await
            .map_err(super::exchange::exchange_failure)?;
        let inv = crate::access::connectors_only(side.name(), domain, &connectors);
        let naming: Vec<(&'static str, String)> = inv
            .connectors
            .iter()
            .filter(|c| c.names_domain)
            .map(|c| (c.direction, c.name.clone()))
            .collect();
        for (direction, name) in seen.iter().filter(|s| !naming.contains(s)) {
            let listed = inv
                .connectors
                .iter()
                .any(|c| c.direction == *direction && &c.name == name);
            let cmdlet = if *direction == "outbound" {
                "Get-OutboundConnector"
            } else {
                "Get-InboundConnector"
            };
            let action = if listed {
                format!("connector no longer names the domain: {cmdlet} lists it without it")
            } else {
                format!("connector gone: {cmdlet} no longer lists it")
            };
            journal
                .append(
                    crate::audit::Event::new(crate::audit::Kind::Observed, action.as_str())
                        .tenant(side.name())
                        .target(name.as_str())
                        .details(serde_json::json!({"direction": direction, "domain": domain, "route": "script"})),
                )
                .map_err(|e| {
                    Failure::Service(format!("the journal {}: {e}", journal_path.display()))
                })?;
            write_stdout(&format!("{}: {action}\n", clean(name)))?;
        }
        if first && !naming.is_empty() {
            let names: Vec<String> = naming
                .iter()
                .map(|(d, n)| format!("{d} connector {}", clean(n)))
                .collect();
            write_stdout(&format!(
                "Waiting for {} connector(s) naming {domain} in the {} tenant to be gone: {}\n",
                names.len(),
                side.name(),
                names.join(", ")
            ))?;
        }
        first = false;
        seen = naming;
        if seen.is_empty() {
            write_stdout(&format!(
                "No connector in the {} tenant names {domain} (Get-InboundConnector, Get-OutboundConnector)\n",
                side.name()
            ))?;
            return Ok(ExitCode::SUCCESS);
        }
        let waited = started.elapsed();
        if waited >= bound {
            let left: Vec<String> = seen
                .iter()
                .map(|(d, n)| format!("{d} connector {}", clean(n)))
                .collect();
            return Err(Failure::Check(format!(
                "after {}s {} connector{} still name{} {domain}: {}; run the script with -Apply, or remove them by hand",
                waited.as_secs(),
                left.len(),
                if left.len() == 1 { "" } else { "s" },
                if left.len() == 1 { "s" } else { "" },
                left.join(", ")
            )));
        }
        tokio::time::sleep(CONNECTOR_POLL.min(bound - waited)).await;
    }
}

/// `--mark-reviewed`: journal that every application now holding mail permissions was
/// reviewed (a `mail apps reviewed` user action listing their appIds), for the gate
/// `*.mail_apps_reviewed`.
fn mark_reviewed(inv: &Inventory, paths: &Paths, cutover_id: &str) -> Outcome {
    let journal_path = paths.audit_log(cutover_id);
    let mut journal = crate::audit::Journal::open(&journal_path, cutover_id)
        .map_err(|e| Failure::Input(e.to_string()))?;
    journal.append(inv.review_event()).map_err(|e| {
        Failure::Service(format!(
            "the journal {}: {e}; the review was not recorded",
            journal_path.display()
        ))
    })?;
    let apps = inv.mail_apps();
    let names: Vec<String> = apps.iter().map(|a| clean(&a.display_name)).collect();
    write_stdout(&format!(
        "Recorded in {}: {} application{} with mail permissions in the {} tenant reviewed{}{}\n",
        journal_path.display(),
        apps.len(),
        if apps.len() == 1 { "" } else { "s" },
        inv.tenant,
        if names.is_empty() { "" } else { ": " },
        names.join(", ")
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The inventory as text: connectors, applications with access, registrations using the
/// domain.
pub fn render(inv: &Inventory, domain: &str) -> String {
    let mut out = Vec::new();
    let naming = inv.connectors.iter().filter(|c| c.names_domain).count();
    out.push(format!(
        "Connections and access in the {} tenant for {domain}",
        inv.tenant
    ));
    out.push(String::new());
    out.push(format!(
        "Exchange connectors: {} ({naming} name the domain)",
        inv.connectors.len()
    ));
    for c in &inv.connectors {
        let hosts = if c.smart_hosts.is_empty() {
            String::new()
        } else {
            format!("  smart hosts {}", c.smart_hosts.join(", "))
        };
        let ips = if c.sender_ip_addresses.is_empty() {
            String::new()
        } else {
            format!("  sender IPs {}", c.sender_ip_addresses.join(", "))
        };
        let names = if c.names_domain {
            format!(
                "  names the domain ({}): {}",
                c.references.join("; "),
                c.action
            )
        } else {
            String::new()
        };
        out.push(clean(&format!(
            "  {:<8} {}  {}  domains {}{hosts}{ips}  TLS {}{names}",
            c.direction,
            c.name,
            c.connector_type,
            if c.domains.is_empty() {
                "-".to_string()
            } else {
                c.domains.join(", ")
            },
            c.tls.as_deref().unwrap_or("-"),
        )));
    }
    out.push(String::new());
    out.push(format!(
        "Applications with access to mail, calendars, contacts or the directory: {}",
        inv.apps.len()
    ));
    for a in &inv.apps {
        let publisher = match (&a.publisher, &a.verified_publisher) {
            (_, Some(v)) => format!("publisher {v} (verified)"),
            (Some(p), None) => format!("publisher {p} (not verified)"),
            (None, None) => "publisher unknown (not verified)".into(),
        };
        out.push(clean(&format!(
            "  {}  appId {}  {publisher}  {}",
            a.display_name,
            a.app_id,
            a.origin.replace('_', "-")
        )));
        for r in &a.application {
            out.push(clean(&format!(
                "    application permission {} on {}, granted {}",
                r.permission,
                r.resource,
                r.created.as_deref().unwrap_or("(time not given)")
            )));
        }
        for d in &a.delegated {
            let who = match &d.consent {
                Consent::AllUsers => "all users (admin consent)".to_string(),
                Consent::User { user, .. } => user.clone(),
            };
            out.push(clean(&format!(
                "    delegated {} on {} for {who}",
                d.scopes.join(" "),
                d.resource
            )));
        }
    }
    if !inv.apps.is_empty() {
        out.push(format!(
            "  consent times: {}; last sign-in: {}",
            crate::access::NO_CONSENT_TIME,
            crate::access::NO_LAST_SIGN_IN
        ));
    }
    out.push(String::new());
    out.push(format!(
        "Application registrations whose URIs use the domain: {}",
        inv.applications.len()
    ));
    for a in &inv.applications {
        let mut parts = Vec::new();
        if !a.identifier_uris.is_empty() {
            parts.push(format!("identifier URIs {}", a.identifier_uris.join(", ")));
        }
        if !a.redirect_uris.is_empty() {
            parts.push(format!("redirect URIs {}", a.redirect_uris.join(", ")));
        }
        out.push(clean(&format!(
            "  {}  {}",
            a.display_name,
            parts.join("  ")
        )));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

/// `cutover plan access [--tenant T] [--json] [--only connectors|apps] [--app APP]… [--delete]`.
pub(crate) fn plan_access(globals: &Globals, args: &PlanAccessArgs) -> Outcome {
    let only = args.only.as_deref();
    if args.delete && only == Some("connectors") {
        return Err(Failure::Input(
            "--delete deletes applications; drop --only connectors or --delete".into(),
        ));
    }
    if !args.apps.is_empty() && only == Some("connectors") {
        return Err(Failure::Input(
            "--app chooses applications; drop --only connectors or --app".into(),
        ));
    }
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(args.tenant)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    let (inv, initial, other) = rt.block_on(read(profile, &paths, args.tenant, &domain.ascii))?;
    let opts = PlanOptions {
        connectors: only != Some("apps"),
        apps: only != Some("connectors"),
        only: args.apps.clone(),
        delete: args.delete,
    };
    let (changes, left) = crate::access::plan(&inv, &opts);
    if let Some(unknown) = left
        .iter()
        .find(|l| args.apps.iter().any(|a| a == &l.target.id))
    {
        return Err(Failure::Input(format!(
            "no listed application is '{}' (object id, appId or display name); see 'cutover access --tenant {}'",
            clean(&unknown.target.id),
            args.tenant.name()
        )));
    }
    let mut plan = Plan {
        version: PLAN_VERSION,
        kind: "access".into(),
        tenant: args.tenant.name().into(),
        domain: domain.ascii.clone(),
        initial_domain: initial,
        changes,
        renames: Vec::new(),
        flags: left
            .into_iter()
            .map(|l| Flag {
                target: l.target,
                kind: "connector".into(),
                rule: "A connector that also serves other domains is edited, not removed".into(),
                action: l.why,
            })
            .collect(),
        notices: Vec::new(),
    };
    if let Some(other) = &other {
        crate::plan::release::signed_in_from_other_tenant(&mut plan, other);
    }
    super::plan::print_plan(&plan, args.json, render_text)
}
