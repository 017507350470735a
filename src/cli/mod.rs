//! What each command does, behind the argument parsing in `main.rs`. Every failure ends as one
//! line on stderr and an exit code: 0 ok, 1 check failed, 2 bad input or configuration,
//! 3 service error.

mod audit;
mod config;
pub mod dns;
mod exchange;
mod inventory;
mod owner;
mod start;

pub use audit::{
    AuditQuery, audit_anchor, audit_export, audit_report, audit_show, audit_stress_append,
    audit_verify,
};
pub use config::{config_check, config_init};
pub use exchange::{exchange_connectors, exchange_recipients, exchange_script};
pub use inventory::inventory;
pub use owner::owner;

use std::io::Write;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::app::state::TenantId;
use crate::dns::monitor::Target;
use crate::graph::GraphClient;
use crate::graph::client::GLOBAL_GRAPH_SCOPE;
use crate::logging::{self, LogGuard};
use crate::sim::cache::CachingResolver;
use crate::sim::{Sim, SimOptions, SimTenant};
use crate::store::Paths;

/// Flags accepted before or after any subcommand.
#[derive(Debug, Clone, Default)]
pub struct Globals {
    pub data_dir: Option<PathBuf>,
    pub log_filter: Option<String>,
    /// `--config FILE` instead of the platform config dir's `config.toml`.
    pub config: Option<PathBuf>,
}

/// Why a command stopped.
#[derive(Debug)]
pub enum Failure {
    /// The answer to a check was "no" (exit 1).
    Check(String),
    /// Bad input or configuration (exit 2).
    Input(String),
    /// A service (Graph, DNS, the terminal) failed (exit 3).
    Service(String),
}

impl Failure {
    fn exit(self) -> ExitCode {
        let (code, message) = match self {
            Failure::Check(m) => (1, m),
            Failure::Input(m) => (2, m),
            Failure::Service(m) => (3, m),
        };
        // One line: multi-line sources are folded so scripts and people see one message.
        let line = message.replace(['\r', '\n'], " ");
        eprintln!("cutover: {line}");
        ExitCode::from(code)
    }
}

pub(crate) type Outcome = Result<ExitCode, Failure>;

pub(crate) fn finish(outcome: Outcome) -> ExitCode {
    outcome.unwrap_or_else(Failure::exit)
}

/// Clap's error as one line (help and version print as usual, exit 0).
pub fn argument_error(err: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match err.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = err.print();
            if err.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = err.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim()
                .trim_start_matches("error: ");
            Failure::Input(format!("{first}; see 'cutover --help'")).exit()
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Service(format!("cannot start the async runtime: {e}")))
}

/// Resolve and prepare the data dir, then start the trace log in it.
fn prepare(globals: &Globals) -> Result<(Paths, LogGuard), Failure> {
    let paths =
        Paths::resolve(globals.data_dir.as_deref()).map_err(|e| Failure::Input(e.to_string()))?;
    paths.ensure().map_err(|e| Failure::Input(e.to_string()))?;
    let filter = globals
        .log_filter
        .clone()
        .unwrap_or_else(|| logging::DEFAULT_FILTER.to_string());
    let guard = logging::init(&paths.logs_dir(), &filter).map_err(Failure::Input)?;
    Ok((paths, guard))
}

/// `cutover` with no subcommand: the dashboard against the configured tenants.
pub fn dashboard(globals: &Globals) -> ExitCode {
    finish(dashboard_inner(globals))
}

fn dashboard_inner(globals: &Globals) -> Outcome {
    let cfg = config::load_config(globals)?;
    let (paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    rt.block_on(async {
        // Device-code profiles sign in inside the dashboard: their prompt sends the code to the
        // loop, which shows it in a dialog (cached or refreshed tokens make this silent).
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let source = start::dashboard_client(
            &cfg.source,
            &paths,
            Some(start::dialog_prompt(TenantId::Source, tx.clone())),
        )?;
        let destination = start::dashboard_client(
            &cfg.destination,
            &paths,
            Some(start::dialog_prompt(TenantId::Destination, tx.clone())),
        )?;
        let resolvers = dns::dashboard_resolvers(&cfg).await?;
        start::open_dashboard(
            &paths,
            start::Session {
                cutover_id: cfg.domain.clone(),
                domain: cfg.domain.clone(),
                source,
                destination,
                watch: start::DnsWatch {
                    resolvers,
                    // The records the destination tenant asks for are the target state.
                    expect_from: Some(crate::app::state::TenantId::Destination),
                    dnsbl: cfg.blocklists.clone(),
                    extra_names: cfg.names.clone(),
                },
                login_url: Some(cfg.destination.cloud.endpoints().login_url),
                channel: Some((tx, rx)),
            },
        )
        .await
    })
}

/// `cutover login --tenant source|destination`: sign in now and cache the tokens.
pub fn login(globals: &Globals, side: crate::config::Side) -> ExitCode {
    finish(login_inner(globals, side))
}

fn login_inner(globals: &Globals, side: crate::config::Side) -> Outcome {
    let cfg = config::load_config(globals)?;
    let (paths, _log) = prepare(globals)?;
    let profile = cfg.profile(side);
    let rt = runtime()?;
    rt.block_on(async {
        let client = start::client_for(profile, &paths, Some(start::print_device_code()))?;
        let (expires_at, refresh) = client
            .tokens()
            .sign_in_now()
            .await
            .map_err(start::sign_in_failure)?;
        let until = OffsetDateTime::from_unix_timestamp(expires_at as i64)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        println!(
            "signed in to {} ({}) with {}; access token valid until {until}{}; cached in {}",
            profile.tenant,
            side.name(),
            profile.auth.name(),
            if refresh { ", refresh token kept" } else { "" },
            paths.token_cache(side.name()).display()
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// `cutover demo`: start the rehearsal environment and the dashboard against it.
pub fn demo(globals: &Globals, users: usize, seed: u64, device_code: bool) -> ExitCode {
    finish(demo_inner(globals, users, seed, device_code))
}

const DEMO_CUTOVER_ID: &str = "demo";

fn demo_inner(globals: &Globals, users: usize, seed: u64, device_code: bool) -> Outcome {
    let (paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    rt.block_on(async {
        let options = SimOptions {
            users,
            seed,
            ..SimOptions::default()
        };
        let sim = Sim::start(options).await.map_err(|e| {
            Failure::Service(format!("cannot start the rehearsal environment: {e}"))
        })?;
        tracing::info!(graph = %sim.graph_url(), dns = %sim.dns_addr(), "rehearsal environment up");
        let domain = sim.domain().to_string();
        let source = graph_client(&sim, "source")?;
        // With --device-code the destination signs in inside the dashboard: the code shows in
        // its dialog and the sim's user approves a few seconds later.
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let destination = if device_code {
            device_code_client(
                &sim,
                "destination",
                start::dialog_prompt(TenantId::Destination, tx.clone()),
            )?
        } else {
            graph_client(&sim, "destination")?
        };
        demo_relay(&sim, &domain);
        let (caches, resolvers) = demo_resolvers(&sim).await?;

        let sim_login_url = sim.login_url();
        let sim = Arc::new(sim);
        let scenario = tokio::spawn(play_scenario(sim.clone(), domain.clone()));
        let result = start::open_dashboard(
            &paths,
            start::Session {
                cutover_id: DEMO_CUTOVER_ID.into(),
                domain,
                source,
                destination,
                watch: start::DnsWatch {
                    resolvers,
                    // Before the move the domain and its records live in the source tenant.
                    expect_from: Some(crate::app::state::TenantId::Source),
                    dnsbl: vec![crate::sim::DNSBL_ZONE.to_string()],
                    extra_names: Vec::new(),
                },
                // The sim answers the outside lookups for its tenants.
                login_url: Some(sim_login_url),
                channel: Some((tx, rx)),
            },
        )
        .await;
        for cache in caches {
            cache.shutdown();
        }
        scenario.abort();
        let _ = scenario.await;
        if let Ok(sim) = Arc::try_unwrap(sim) {
            sim.shutdown().await;
        }
        result
    })
}

/// A second MX host inside the zone whose address the sim's blocklist lists, so the demo shows
/// an extra MX and a real DNSBL hit from the start.
fn demo_relay(sim: &Sim, domain: &str) {
    let primary = format!(
        "0 {}.mail.protection.outlook.com.",
        domain.replace('.', "-")
    );
    let relay = format!("10 relay.{domain}.");
    let steps = [
        sim.set_dns_records(&format!("relay.{domain}"), "A", 3600, &["192.0.2.25"]),
        sim.set_dns_records(domain, "MX", 3600, &[primary.as_str(), relay.as_str()]),
    ];
    for step in steps {
        if let Err(e) = step {
            tracing::warn!(error = %e, "demo relay setup failed");
        }
    }
}

/// Two caching resolvers in front of the sim's zone, so the propagation view shows real
/// staleness; the authoritative server comes first, is asked without recursion and is the
/// only source of the records and TTLs. The caches are the recursive resolvers (propagation,
/// blocklists).
async fn demo_resolvers(sim: &Sim) -> Result<(Vec<CachingResolver>, Vec<Target>), Failure> {
    let timeout = Duration::from_secs(2);
    let target = |label: &str, addr, authoritative| {
        Target::new(label, addr, timeout, authoritative)
            .map_err(|e| Failure::Service(e.to_string()))
    };
    let mut resolvers = vec![target("authoritative", sim.dns_addr(), true)?];
    let mut caches = Vec::new();
    for label in ["cache-a", "cache-b"] {
        let cache = CachingResolver::start(sim.resolver_upstream())
            .await
            .map_err(|e| Failure::Service(format!("cannot start a caching resolver: {e}")))?;
        resolvers.push(target(label, cache.addr(), false)?);
        caches.push(cache);
    }
    Ok((caches, resolvers))
}

/// The rehearsal's first live event: the DNS owner lowers the MX TTL to 300 s, as the runbook
/// asks a day before; the DNS pane and the audit log show it when the pollers see it.
async fn play_scenario(sim: Arc<Sim>, domain: String) {
    tokio::time::sleep(Duration::from_secs(20)).await;
    let mx = format!(
        "0 {}.mail.protection.outlook.com.",
        domain.replace('.', "-")
    );
    let relay = format!("10 relay.{domain}.");
    if let Err(e) = sim.set_dns_records(&domain, "MX", 300, &[mx.as_str(), relay.as_str()]) {
        tracing::warn!(error = %e, "scenario step failed");
    }
    // Then the MX moves: the caching resolvers keep the old host until their copy (cached
    // before the TTL was lowered) expires, which the propagation view counts down.
    tokio::time::sleep(Duration::from_secs(25)).await;
    let moved = format!("0 {}.mail.protection.outlook.com.", "fabrikam-moved");
    if let Err(e) = sim.set_dns_records(&domain, "MX", 300, &[moved.as_str(), relay.as_str()]) {
        tracing::warn!(error = %e, "scenario step failed");
    }
}

fn graph_client(sim: &Sim, label: &str) -> Result<GraphClient, Failure> {
    sim.graph_client(label)
        .map_err(|e| Failure::Service(e.to_string()))
}

/// A client that signs in to the sim with a device code. The code is printed as for a real
/// tenant; a few seconds later the sim's user approves it through the sim-only route, as a
/// person would at the device login page.
fn device_code_client(
    sim: &Sim,
    label: &str,
    show: crate::graph::auth::DevicePrompt,
) -> Result<GraphClient, Failure> {
    use crate::graph::auth::{Auth, DeviceCode, SignIn};
    let tenant = sim.tenant(label).ok_or_else(|| {
        Failure::Service(format!("the rehearsal environment has no {label} tenant"))
    })?;
    let approve_url = format!("{}/sim/device", sim.login_url());
    let prompt = Arc::new(move |code: &DeviceCode| {
        show(code);
        let url = approve_url.clone();
        let user_code = code.user_code.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(3)).await;
            let form = [("user_code", user_code.as_str())];
            let _ = rustls::crypto::ring::default_provider().install_default();
            match reqwest::Client::new().post(&url).form(&form).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => tracing::warn!(status = r.status().as_u16(), "sim approval refused"),
                Err(e) => tracing::warn!(error = %e, "sim approval failed"),
            }
        });
    });
    GraphClient::with_sign_in(
        &sim.graph_url(),
        SignIn {
            login_url: sim.login_url(),
            tenant: tenant.id.clone(),
            client_id: tenant.client_id.clone(),
            scope: GLOBAL_GRAPH_SCOPE.into(),
            auth: Auth::DeviceCode {
                prompt: Some(prompt),
            },
            cache: None,
            warn: None,
        },
    )
    .map_err(|e| Failure::Service(e.to_string()))
}

/// `cutover sim serve`: the rehearsal environment alone.
pub fn sim_serve(globals: &Globals, opts: &SimServe) -> ExitCode {
    finish(sim_serve_inner(globals, opts))
}

/// What `cutover sim serve` was asked for.
#[derive(Debug, Clone, Default)]
pub struct SimServe {
    pub users: usize,
    /// Team groups on top of the named ones.
    pub groups: usize,
    /// Contacts; `None` is the default share of the users.
    pub contacts: Option<usize>,
    pub seed: u64,
    pub json: bool,
    /// Write a config.toml pointing at the running environment.
    pub write_config: Option<PathBuf>,
    pub faults: crate::sim::Faults,
    pub throttle: Option<crate::sim::Throttle>,
}

fn sim_serve_inner(globals: &Globals, opts: &SimServe) -> Outcome {
    let SimServe {
        users,
        groups,
        contacts,
        seed,
        json,
        ref write_config,
        ref faults,
        throttle,
    } = *opts;
    let (_paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    rt.block_on(async {
        let sim = Sim::start(SimOptions {
            users,
            groups,
            contacts,
            seed,
            faults: faults.clone(),
            throttle,
            ..SimOptions::default()
        })
        .await
        .map_err(|e| Failure::Service(format!("cannot start the rehearsal environment: {e}")))?;
        if let Some(path) = write_config {
            config::write_sim_config(path, &config::sim_config(&sim))?;
            tracing::info!(path = %path.display(), "wrote a configuration for the rehearsal environment");
        }
        let mut out = std::io::stdout().lock();
        let written = if json {
            writeln!(out, "{}", sim_description(&sim))
        } else {
            write_sim_text(&mut out, &sim)
        };
        written
            .and_then(|_| out.flush())
            .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))?;
        drop(out);
        wait_for_shutdown().await;
        sim.shutdown().await;
        Ok(ExitCode::SUCCESS)
    })
}

/// The one-line JSON `sim serve --json` prints (keys `graph_url`, `login_url`, `dns`, `tenants`).
pub fn sim_description(sim: &Sim) -> serde_json::Value {
    serde_json::json!({
        "graph_url": sim.graph_url(),
        "login_url": sim.login_url(),
        "exchange_url": sim.exchange_url(),
        "dns": sim.dns_addr().to_string(),
        "domain": sim.domain(),
        "tenants": sim.tenants(),
    })
}

fn write_sim_text(out: &mut impl Write, sim: &Sim) -> std::io::Result<()> {
    writeln!(out, "cutover rehearsal environment (Ctrl-C to stop)")?;
    writeln!(out, "graph url:  {}", sim.graph_url())?;
    writeln!(out, "login url:  {}", sim.login_url())?;
    writeln!(out, "exchange:   {}/adminapi/", sim.exchange_url())?;
    writeln!(out, "dns server: {} (udp and tcp)", sim.dns_addr())?;
    writeln!(out, "domain:     {}", sim.domain())?;
    for SimTenant {
        label,
        name,
        id,
        initial_domain,
        client_id,
        client_secret,
    } in sim.tenants()
    {
        writeln!(out, "tenant {label}: {name}")?;
        writeln!(out, "  id:             {id}")?;
        writeln!(out, "  initial domain: {initial_domain}")?;
        writeln!(out, "  client id:      {client_id}")?;
        writeln!(out, "  client secret:  {client_secret}")?;
    }
    Ok(())
}

async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
