//! `cutover exchange …`: read-only Exchange listings (recipients holding the domain,
//! connectors) and the PowerShell script generator. Exchange writes exist as library functions
//! only (`exchange::ops`, `exchange::plan::apply_address_change`): every change must go through
//! an executor that journals intent and outcome, and there is none on the command line yet.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use super::args::{ExchangeListArgs, ExchangeScriptArgs};
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::config::Profile;
use crate::exchange::model::from_graph;
use crate::exchange::plan::{ConnectorAction, plan_connectors, plan_recipients};
use crate::exchange::script::{ScriptInput, generate};
use crate::exchange::{ExchangeClient, ExchangeError, Recipient};
use crate::graph::auth::SignIn;
use crate::store::Paths;

/// The Exchange client a profile describes; tokens cached in `tokens/<side>-exchange.json`
/// (apart from Graph's: a cache file holds one scope).
pub(super) fn exchange_client(profile: &Profile, paths: &Paths) -> Result<ExchangeClient, Failure> {
    exchange_client_with(
        profile,
        paths,
        start::print_device_code(),
        Arc::new(|m: &str| eprintln!("cutover: warning: {m}")),
    )
}

/// The dashboard's Exchange client (the workbench's changes): its device code goes to the
/// sign-in dialog and its warnings to the log, as for the dashboard's Graph clients.
pub(super) fn dashboard_exchange_client(
    profile: &Profile,
    paths: &Paths,
    prompt: crate::graph::auth::DevicePrompt,
) -> Result<ExchangeClient, Failure> {
    exchange_client_with(
        profile,
        paths,
        prompt,
        Arc::new(|m: &str| tracing::warn!("{m}")),
    )
}

fn exchange_client_with(
    profile: &Profile,
    paths: &Paths,
    prompt: crate::graph::auth::DevicePrompt,
    warn: crate::graph::auth::Warn,
) -> Result<ExchangeClient, Failure> {
    let side = profile.side.name();
    let auth = start::profile_auth(profile, Some(prompt))?;
    let endpoints = profile.cloud.endpoints();
    ExchangeClient::new(
        &endpoints.exchange_url,
        SignIn {
            login_url: endpoints.login_url,
            tenant: profile.tenant.clone(),
            client_id: profile.client_id.clone(),
            scope: profile.cloud.exchange_scope(),
            auth,
            cache: Some(start::exchange_token_cache(paths, side)),
            warn: Some(warn),
        },
    )
    .inspect(|client| {
        // One device code for the profile: Graph's sign-in (`cutover login`) serves Exchange.
        client.tokens().share_sign_in_with(paths.token_cache(side));
    })
    .map_err(exchange_failure)
}

pub(super) fn exchange_failure(e: ExchangeError) -> Failure {
    match e {
        ExchangeError::SignIn(g) => start::sign_in_failure(g),
        ExchangeError::Config(m) => Failure::Input(m),
        other => Failure::Service(other.to_string()),
    }
}

fn print(lines: impl IntoIterator<Item = String>) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    lines
        .into_iter()
        .try_for_each(|l| writeln!(out, "{l}"))
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))
}

/// `cutover exchange recipients --tenant T [--domain D] [--json]`.
pub(crate) fn exchange_recipients(globals: &Globals, args: &ExchangeListArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let (side, json) = (args.tenant, args.json);
    let profile = loaded.profile(side)?;
    let name = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let domain = name.ascii.as_str();
    let rt = runtime()?;
    let listed = rt.block_on(async {
        let client = exchange_client(profile, &paths)?;
        client.recipients_in(domain).await.map_err(exchange_failure)
    })?;
    for w in &listed.warnings {
        eprintln!(
            "cutover: Exchange warning: {}",
            w.replace(['\r', '\n'], " ")
        );
    }
    let lines: Vec<String> = if json {
        listed
            .items
            .iter()
            .map(|r| serde_json::to_string(r).unwrap_or_default())
            .collect()
    } else {
        let mut lines = vec![format!(
            "{} recipients in the {} tenant hold {} (Exchange Get-Recipient):",
            listed.items.len(),
            side.name(),
            name.display_both()
        )];
        lines.extend(listed.items.iter().map(|r| {
            let held: Vec<&str> = r
                .email_addresses
                .iter()
                .filter(|a| crate::exchange::model::in_domain(a, domain))
                .map(String::as_str)
                .collect();
            format!(
                "{}\t{}\t{}\t{}",
                r.recipient_type_details,
                r.primary_smtp_address,
                r.display_name.replace(['\t', '\r', '\n'], " "),
                held.join(" ")
            )
        }));
        lines
    };
    print(lines)?;
    Ok(ExitCode::SUCCESS)
}

/// `cutover exchange connectors --tenant T [--domain D] [--json]`.
pub(crate) fn exchange_connectors(globals: &Globals, args: &ExchangeListArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let (side, json) = (args.tenant, args.json);
    let profile = loaded.profile(side)?;
    let name = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    let connectors = rt.block_on(async {
        let client = exchange_client(profile, &paths)?;
        client.connectors().await.map_err(exchange_failure)
    })?;
    let plan = plan_connectors(&connectors, &name.ascii);
    let lines: Vec<String> = if json {
        plan.iter()
            .map(|c| serde_json::to_string(c).unwrap_or_default())
            .collect()
    } else {
        let mut lines = vec![format!(
            "{} of {} connectors in the {} tenant reference {}:",
            plan.len(),
            connectors.len(),
            side.name(),
            name.display_both()
        )];
        lines.extend(plan.iter().map(|c| {
            let action = match &c.action {
                ConnectorAction::Remove => "remove".to_string(),
                ConnectorAction::Narrow(keep) => format!("narrow to {}", keep.join(",")),
            };
            format!(
                "{}\t{}\t{}\t{action}",
                c.connector.direction(),
                c.connector.name(),
                c.references.join("; ")
            )
        }));
        lines
    };
    print(lines)?;
    Ok(ExitCode::SUCCESS)
}

/// `cutover exchange script --tenant T [--domain D] --out FILE.ps1 [--connectors]`: the
/// objects come from Graph (read-only), so it works for admins who grant no Exchange route;
/// connectors are found by the script itself when it runs, or with `--connectors` read now
/// (Exchange read route) and removed by name. Never overwrites.
pub(crate) fn exchange_script(globals: &Globals, args: &ExchangeScriptArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let (side, out) = (args.tenant, args.out.as_path());
    let profile = loaded.profile(side)?;
    let name = loaded.domain(globals)?;
    let domain = name.ascii.as_str();
    let (paths, _log) = prepare(globals)?;
    if out.exists() {
        return Err(Failure::Input(format!(
            "{} already exists; cutover does not overwrite it (choose another --out)",
            out.display()
        )));
    }
    let rt = runtime()?;
    let (recipients, initial) = rt.block_on(async {
        let graph = start::client_for(profile, &paths, Some(start::print_device_code()))?;
        let org = graph.organization().await.map_err(start::sign_in_failure)?;
        let initial = org
            .verified_domains
            .iter()
            .find(|d| d.is_initial)
            .map(|d| d.name.clone())
            .ok_or_else(|| {
                Failure::Service(
                    "Graph named no initial (onmicrosoft.com) domain for the tenant".into(),
                )
            })?;
        let (users, groups, contacts) =
            tokio::try_join!(graph.users(), graph.groups(), graph.contacts())
                .map_err(start::sign_in_failure)?;
        let recipients: Vec<Recipient> = users
            .iter()
            .filter_map(from_graph::user)
            .chain(groups.iter().filter_map(from_graph::group))
            .chain(contacts.iter().filter_map(from_graph::contact))
            .collect();
        Ok::<_, Failure>((recipients, initial))
    })?;
    let changes = plan_recipients(&recipients, domain, &initial);
    // The connectors to remove by name: Exchange's reading, planned as `cutover plan access`
    // plans them (one source: `access::plan`'s remove_connector changes, their `before`).
    let connectors: Vec<serde_json::Value> = if args.connectors {
        let read = rt.block_on(async {
            let client = exchange_client(profile, &paths)?;
            client.connectors().await.map_err(exchange_failure)
        })?;
        let inv = crate::access::connectors_only(side.name(), domain, &read);
        let opts = crate::access::PlanOptions {
            connectors: true,
            ..Default::default()
        };
        crate::access::plan(&inv, &opts)
            .0
            .into_iter()
            .filter(|c| c.field == crate::plan::change::FIELD_CONNECTOR)
            .map(|c| c.before)
            .collect()
    } else {
        Vec::new()
    };
    let when = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let source = format!("Graph (users, groups, contacts) at {when}");
    let text = generate(&ScriptInput {
        tenant: &profile.tenant,
        domain,
        initial_domain: &initial,
        source: &source,
        changes: &changes,
        connectors: &connectors,
    });
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(out)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Failure::Input(format!(
                    "{} already exists; cutover does not overwrite it (choose another --out)",
                    out.display()
                ))
            } else {
                Failure::Input(format!("cannot create {}: {e}", out.display()))
            }
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Input(format!("cannot write {}: {e}", out.display())))?;
    let named = if args.connectors {
        format!(
            "{} connector(s) to remove by name, others found when it runs",
            connectors.len()
        )
    } else {
        "connectors are found when it runs".to_string()
    };
    println!(
        "wrote {}: {} recipient(s) to change in the {} tenant; {named}. Run it without -Apply first (-WhatIf).",
        out.display(),
        changes.len(),
        side.name()
    );
    Ok(ExitCode::SUCCESS)
}
