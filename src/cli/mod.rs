//! What each command does, behind the argument parsing in [`args`]: [`run`] matches the
//! command once and every handler returns an [`Outcome`]. Every failure ends as one line on
//! stderr and an exit code: 0 ok, 1 check failed, 2 bad input or configuration, 3 service error.

mod access;
mod apply;
pub mod args;
mod audit;
mod check;
mod config;
pub mod dns;
mod exchange;
mod inventory;
mod keys;
mod owner;
mod plan;
mod snapshot;
mod start;
mod timeline;
mod undo;

pub use args::Globals;

use std::io::Write;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

use crate::app::state::{SignInService, TenantId};
use crate::dns::monitor::Target;
use crate::graph::GraphClient;
use crate::logging::{self, LogGuard};
use crate::sim::cache::CachingResolver;
use crate::sim::{Sim, SimOptions, SimTenant};
use crate::store::Paths;

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

fn finish(outcome: Outcome) -> ExitCode {
    outcome.unwrap_or_else(Failure::exit)
}

/// Run the parsed command line: the one place a command meets its handler.
pub fn run(cli: args::Cli) -> ExitCode {
    use args::{AuditCommand, Command, ConfigCommand, DnsCommand, ExchangeCommand, SimCommand};
    let args::Cli {
        globals,
        cutover,
        theme,
        command,
    } = cli;
    let g = &globals;
    if theme.is_some() && !matches!(command, None | Some(Command::Demo(_))) {
        return finish(Err(Failure::Input(
            "--theme sets the colours of the dashboard (cutover with no command) or demo; leave it out here".into(),
        )));
    }
    finish(match command {
        None => dashboard(g, cutover, theme),
        Some(command) => {
            if let Err(e) = domain_applies(g, &command) {
                return finish(Err(e));
            }
            if cutover.is_some()
                && !matches!(
                    command,
                    Command::Demo(_) | Command::Check(_) | Command::Timeline(_)
                )
            {
                return finish(Err(Failure::Input(
                    "--cutover sets T for the dashboard (cutover with no command) or demo; leave it out here".into(),
                )));
            }
            match command {
                Command::Demo(a) => demo(g, &a, cutover, theme),
                Command::Keys => keys::keys_command(g),
                Command::Sim {
                    command: SimCommand::Serve(a),
                } => sim_serve(g, &a),
                Command::Dns(a) => match &a.command {
                    Some(DnsCommand::Snapshot {
                        domain,
                        out,
                        resolvers,
                    }) => dns::dns_snapshot(domain, resolvers, out),
                    Some(DnsCommand::Diff {
                        domain,
                        against,
                        resolvers,
                        json,
                    }) => dns::dns_diff(domain, resolvers, against, *json),
                    None => dns::dns_check(g, &a),
                },
                Command::Login(a) => login(g, a.tenant),
                Command::Inventory(a) => inventory::inventory(g, &a),
                Command::Access(a) => access::access(g, &a),
                Command::Plan {
                    command: args::PlanCommand::Access(a),
                } => access::plan_access(g, &a),
                Command::Owner(a) => owner::owner(g, &a),
                Command::Config {
                    command: ConfigCommand::Init { out },
                } => config::config_init(g, out.as_deref()),
                Command::Config {
                    command: ConfigCommand::Check { file },
                } => config::config_check(g, file.as_deref()),
                Command::Exchange { command } => match command {
                    ExchangeCommand::Recipients(a) => exchange::exchange_recipients(g, &a),
                    ExchangeCommand::Connectors(a) => exchange::exchange_connectors(g, &a),
                    ExchangeCommand::Script(a) => exchange::exchange_script(g, &a),
                },
                Command::Snapshot(a) => snapshot::snapshot(g, &a),
                Command::Plan {
                    command: args::PlanCommand::Release(a),
                } => plan::plan_release(g, &a),
                Command::Plan {
                    command: args::PlanCommand::Adopt(a),
                } => plan::plan_adopt(g, &a),
                Command::Apply(a) => apply::apply(g, &a),
                Command::Plan {
                    command: args::PlanCommand::Backout(a),
                } => plan::plan_backout(g, &a),
                Command::Undo(a) => undo::undo(g, &a),
                Command::Check(a) => check::check(g, &a, a.cutover.or(cutover)),
                Command::Timeline(a) => timeline::timeline(g, &a, a.cutover.or(cutover)),
                Command::Audit { command } => match command {
                    AuditCommand::Verify { file, anchor } => {
                        audit::audit_verify(g, file.as_deref(), anchor.as_deref())
                    }
                    AuditCommand::Anchor { file } => audit::audit_anchor(g, file.as_deref()),
                    AuditCommand::Show(a) => audit::audit_show(g, &a),
                    AuditCommand::Export {
                        file,
                        csv,
                        json: _,
                        out,
                    } => audit::audit_export(g, file.as_deref(), csv, out.as_deref()),
                    AuditCommand::Report { file, out } => {
                        audit::audit_report(g, file.as_deref(), &out)
                    }
                    AuditCommand::StressAppend {
                        file,
                        cutover,
                        count,
                    } => audit::audit_stress_append(&file, &cutover, count),
                },
            }
        }
    })
}

/// `--domain` is global so every command spells it the same way; a command that has no use
/// for it says so rather than ignoring it.
fn domain_applies(globals: &Globals, command: &args::Command) -> Result<(), Failure> {
    use args::{Command, ConfigCommand};
    let used = match command {
        Command::Dns(_)
        | Command::Inventory(_)
        | Command::Access(_)
        | Command::Owner(_)
        | Command::Exchange { .. }
        | Command::Snapshot(_)
        | Command::Plan { .. }
        | Command::Apply(_)
        | Command::Undo(_)
        | Command::Check(_)
        | Command::Timeline(_) => true,
        Command::Config {
            command: ConfigCommand::Check { .. },
        } => true,
        Command::Demo(_)
        | Command::Sim { .. }
        | Command::Audit { .. }
        | Command::Login(_)
        | Command::Keys
        | Command::Config { .. } => false,
    };
    match &globals.domain {
        Some(d) if !used => Err(Failure::Input(format!(
            "--domain {} does not apply to this command; leave it out",
            d.display_both()
        ))),
        _ => Ok(()),
    }
}

/// The domain of a command with a DOMAIN positional: the positional, else `--domain`; both
/// given must name the same domain.
fn one_domain(
    positional: Option<&crate::dns::name::DomainName>,
    flag: Option<&crate::dns::name::DomainName>,
) -> Result<Option<crate::dns::name::DomainName>, Failure> {
    match (positional, flag) {
        (Some(p), Some(f)) if p != f => Err(Failure::Input(format!(
            "two domains given ({} and --domain {}); give one",
            p.display_both(),
            f.display_both()
        ))),
        (p, f) => Ok(p.or(f).cloned()),
    }
}

/// Clap's error as one line (help and version print as usual, exit 0): every line of the
/// rendered message that says what is wrong, folded with "; ", then where to read more.
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
            let argv: Vec<String> = std::env::args().skip(1).collect();
            let line = fold_clap_error(&err.render().to_string());
            let help = help_command(&argv);
            Failure::Input(format!("{line}; see '{help} --help'")).exit()
        }
    }
}

/// The substance of clap's rendered error on one line: the message and its indented details
/// (the missing argument, the possible values, a similar name), without the usage block and
/// the "For more information" line.
fn fold_clap_error(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut in_usage = false;
    for line in rendered.lines() {
        let t = line.trim();
        if t.is_empty() {
            in_usage = false;
            continue;
        }
        if t.starts_with("Usage:") {
            in_usage = true;
            continue;
        }
        // The usage of a command with several forms goes on over indented lines.
        if in_usage || t.starts_with("For more information") {
            continue;
        }
        // "to pass '--x' as a value, use '-- --x'" is about shells, not about the mistake.
        if t.starts_with("tip: to pass") {
            continue;
        }
        let t = t.strip_prefix("error: ").unwrap_or(t);
        let t = t.strip_prefix("tip: ").unwrap_or(t);
        parts.push(t.trim_end_matches(':').to_string());
    }
    if parts.is_empty() {
        return "invalid arguments".into();
    }
    // "…were not provided" + "--tenant <T>" reads as one sentence with a colon.
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            let prev = parts.get(i - 1).map(String::as_str).unwrap_or_default();
            out.push_str(if prev.ends_with("provided") || prev.ends_with("with") {
                ": "
            } else {
                "; "
            });
        }
        out.push_str(p);
    }
    out
}

/// `cutover inventory` for `cutover inventory --tenant x`: the deepest subcommand the
/// arguments name, for the help hint.
fn help_command(argv: &[String]) -> String {
    use clap::CommandFactory;
    let mut cmd = args::Cli::command();
    let mut path = vec!["cutover".to_string()];
    for arg in argv {
        if arg.starts_with('-') {
            continue;
        }
        let Some(sub) = cmd
            .get_subcommands()
            .find(|s| s.get_name() == arg || s.get_all_aliases().any(|a| a == arg))
            .cloned()
        else {
            continue;
        };
        path.push(sub.get_name().to_string());
        cmd = sub;
    }
    path.join(" ")
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    // Two workers whatever the machine: the work waits on the network, and each worker thread
    // can give glibc's allocator an arena of its own (memory the benchmarks on a two-core VM
    // would not show on a sixteen-core laptop).
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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

/// `cutover` with no subcommand: the dashboard against the configured tenants. Without a
/// destination tenant (freeing a domain after cancelling a hoster) it watches the source alone.
fn dashboard(
    globals: &Globals,
    cutover: Option<OffsetDateTime>,
    theme: Option<crate::ui::theme::Palette>,
) -> Outcome {
    let loaded = config::load_config(globals)?;
    let domain = loaded.domain(globals)?;
    let cfg = &loaded.cfg;
    keys::prepare_look(globals, theme, cfg.theme)?;
    // A user's runbook beside the config replaces the built-in one; a bad one stops here.
    let (runbook, _) = crate::plan::Runbook::load_for(loaded.path.parent(), cfg)
        .map_err(|e| Failure::Input(e.to_string()))?;
    let (paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    rt.block_on(async {
        // Device-code profiles sign in inside the dashboard: their prompt sends the code to the
        // loop, which shows it in a dialog (cached or refreshed tokens make this silent).
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let source = start::dashboard_client(
            &cfg.source,
            &paths,
            Some(start::dialog_prompt(
                TenantId::Source,
                SignInService::Graph,
                tx.clone(),
            )),
        )?;
        let source_exchange = exchange::dashboard_exchange_client(
            &cfg.source,
            &paths,
            start::dialog_prompt(TenantId::Source, SignInService::Exchange, tx.clone()),
        )?;
        let destination = match &cfg.destination {
            Some(profile) => Some(start::dashboard_client(
                profile,
                &paths,
                Some(start::dialog_prompt(
                    TenantId::Destination,
                    SignInService::Graph,
                    tx.clone(),
                )),
            )?),
            None => None,
        };
        // The destination's connectors and app access on the Connections pane (and the
        // access gates) are read through Exchange too; nothing signs in until asked.
        let destination_exchange = match &cfg.destination {
            Some(profile) => Some(exchange::dashboard_exchange_client(
                profile,
                &paths,
                start::dialog_prompt(TenantId::Destination, SignInService::Exchange, tx.clone()),
            )?),
            None => None,
        };
        let resolvers = dns::dashboard_resolvers(&domain, cfg).await?;
        // The records the destination tenant asks for are the target state; with no
        // destination, the source's (where the domain still lives) are what should be live.
        let expect_from = if destination.is_some() {
            TenantId::Destination
        } else {
            TenantId::Source
        };
        let login_url = cfg
            .destination
            .as_ref()
            .unwrap_or(&cfg.source)
            .cloud
            .endpoints()
            .login_url;
        start::open_dashboard(
            &paths,
            start::Session {
                cutover_id: domain.ascii.clone(),
                domain,
                source,
                source_exchange: Some(source_exchange),
                destination,
                watch: start::DnsWatch {
                    resolvers,
                    expect_from: Some(expect_from),
                    dnsbl: cfg.blocklists.clone(),
                    extra_names: cfg.names.clone(),
                },
                login_url: Some(login_url),
                channel: Some((tx, rx)),
                cutover_cli: cutover,
                cutover_config: cfg.cutover_at,
                cutover_demo: None,
                destination_exchange,
                dns_writer: None,
                play: None,
                runbook,
                source_provider: cfg.source.provider,
            },
        )
        .await
    })
}

/// `cutover login --tenant source|destination`: sign in now and cache the tokens.
fn login(globals: &Globals, side: crate::config::Side) -> Outcome {
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(side)?;
    let (paths, _log) = prepare(globals)?;
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

const DEMO_CUTOVER_ID: &str = "demo";

/// `cutover demo`: start the rehearsal environment and the dashboard against it.
fn demo(
    globals: &Globals,
    args: &args::DemoArgs,
    cutover: Option<OffsetDateTime>,
    theme: Option<crate::ui::theme::Palette>,
) -> Outcome {
    // The demo reads no configuration, but the keys beside it are the admin's own.
    keys::prepare_look(globals, theme, None)?;
    let (paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    rt.block_on(async {
        let mut options = SimOptions {
            users: args.users as usize,
            seed: args.seed,
            // The workbench changes the rehearsal's source tenant, as an admin's consented app
            // would a real one, and the Connections pane reads and revokes app access.
            grant_permissions: crate::sim::WRITE_PERMISSIONS
                .iter()
                .chain(crate::sim::ACCESS_PERMISSIONS)
                .map(|p| p.to_string())
                .collect(),
            ..SimOptions::default()
        };
        if args.play {
            // A tenant cutover can free on its own: no synced objects and no contacts in the
            // domain (those are a person's), and the destination holds the migrated copies the
            // adopt plan moves the names to.
            options.cloud_only = true;
            options.contacts = Some(0);
            options.migrated_mailboxes = true;
        }
        let sim = Sim::start(options).await.map_err(|e| {
            Failure::Service(format!("cannot start the rehearsal environment: {e}"))
        })?;
        tracing::info!(graph = %sim.graph_url(), dns = %sim.dns_addr(), "rehearsal environment up");
        // The sim's domain goes through the same check as an admin's.
        let domain = crate::dns::name::parse_domain(sim.domain())
            .map_err(|e| Failure::Service(format!("the rehearsal's domain: {e}")))?;
        let source = graph_client(&sim, "source")?;
        // With --device-code the destination signs in inside the dashboard: the code shows in
        // its dialog and the sim's user approves a few seconds later.
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let destination = if args.device_code {
            device_code_client(
                &sim,
                "destination",
                start::dialog_prompt(TenantId::Destination, SignInService::Graph, tx.clone()),
            )?
        } else {
            graph_client(&sim, "destination")?
        };
        demo_relay(&sim, &domain.ascii);
        let (caches, resolvers) = demo_resolvers(&sim).await?;

        let sim_login_url = sim.login_url();
        let destination_exchange = sim
            .exchange_client("destination")
            .map_err(|e| Failure::Service(e.to_string()))?;
        let dns_writer = demo_dns_writer(&sim, &domain.ascii)?;
        let sim = Arc::new(sim);
        let result = start::open_dashboard(
            &paths,
            start::Session {
                cutover_id: DEMO_CUTOVER_ID.into(),
                domain,
                source,
                source_exchange: Some(
                    sim.exchange_client("source")
                        .map_err(|e| Failure::Service(e.to_string()))?,
                ),
                destination: Some(destination),
                watch: start::DnsWatch {
                    resolvers,
                    // Before the move the domain and its records live in the source tenant;
                    // a played cutover moves them, so it expects the destination's (the
                    // target state, as the configured dashboard does).
                    expect_from: Some(if args.play {
                        crate::app::state::TenantId::Destination
                    } else {
                        crate::app::state::TenantId::Source
                    }),
                    dnsbl: vec![crate::sim::DNSBL_ZONE.to_string()],
                    extra_names: Vec::new(),
                },
                // The sim answers the outside lookups for its tenants.
                login_url: Some(sim_login_url),
                channel: Some((tx, rx)),
                cutover_cli: cutover,
                cutover_config: None,
                // The rehearsal plays a cutover a day from now, and says so beside T.
                cutover_demo: Some(OffsetDateTime::now_utc() + time::Duration::hours(24)),
                destination_exchange: Some(destination_exchange),
                dns_writer: Some(dns_writer),
                // Without --play the demo waits for the admin.
                play: args.play.then_some(args.speed),
                source_provider: None,
                runbook: crate::plan::Runbook::embedded()
                    .map_err(|e| Failure::Input(e.to_string()))?,
            },
        )
        .await;
        for cache in caches {
            cache.shutdown();
        }
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

/// DNS changes of the demo's runs (the adopt plan's TXT, MX, SPF, CNAMEs): signed RFC 2136
/// updates to the rehearsal's authoritative server with its TSIG key, read back from the
/// servers its NS names, as `[dns.update]` does for a real zone.
fn demo_dns_writer(sim: &Sim, domain: &str) -> Result<crate::executor::dns::DnsWriter, Failure> {
    use crate::dns::update::{KeySource, UpdateConfig, Updater};
    let resolvers = crate::dns::targets::Plan {
        nameservers: vec![sim.resolver_addr()],
        system: false,
        authoritative_port: sim.dns_addr().port(),
        timeout: Duration::from_secs(2),
    };
    // The screen belongs to the dashboard: instructions (a zone without an updater) go to the
    // trace log; the demo's zone has one.
    let say: crate::executor::dns::Say =
        Arc::new(|text: &str| tracing::info!(instructions = text, "DNS change for the DNS host"));
    let key = sim.dns_update_key();
    let config = UpdateConfig {
        server: sim.dns_addr(),
        zone: None,
        key_name: key.name.clone(),
        algorithm: key.algorithm.clone(),
        // The secret is handed over below; the key source is only read by `read_secret`.
        key: KeySource::Env(String::new()),
    };
    let updater = Updater::new(&config, domain, key.secret.clone())
        .map_err(|e| Failure::Service(format!("the rehearsal's DNS update key: {e}")))?;
    Ok(crate::executor::dns::DnsWriter::new(resolvers, say)
        .with_updater(updater)
        .watch(Duration::from_millis(500), Duration::from_secs(120)))
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
    use crate::graph::auth::DeviceEvent;
    let approve_url = format!("{}/sim/device", sim.login_url());
    let prompt = Arc::new(move |event: DeviceEvent<'_>| {
        show(event);
        let DeviceEvent::Code(code) = event else {
            return;
        };
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
    let sign_in = sim
        .device_code_sign_in(label, prompt)
        .map_err(|e| Failure::Service(e.to_string()))?;
    GraphClient::with_sign_in(&sim.graph_url(), sign_in)
        .map_err(|e| Failure::Service(e.to_string()))
}

/// `cutover sim serve`: the rehearsal environment alone.
fn sim_serve(globals: &Globals, args: &args::SimServeArgs) -> Outcome {
    let (_paths, _log) = prepare(globals)?;
    let rt = runtime()?;
    rt.block_on(async {
        let sim = Sim::start(SimOptions {
            users: args.users as usize,
            groups: args.groups as usize,
            contacts: args.contacts.map(|n| n as usize),
            seed: args.seed,
            faults: args.faults(),
            throttle: args.throttle(),
            deny_permissions: args.deny_permission.clone(),
            grant_permissions: args.grant_permission.clone(),
            domain_removal_delay: std::time::Duration::from_millis(args.domain_removal_delay_ms),
            write_error_rate: args.write_error_rate,
            apply_then_drop_rate: args.apply_then_drop_rate,
            migrated_mailboxes: args.migrated_mailboxes,
            cloud_only: args.cloud_only,
            write_rate: args.write_rate,
            ..SimOptions::default()
        })
        .await
        .map_err(|e| match e {
            crate::sim::SimError::InvalidOptions(_) => Failure::Input(e.to_string()),
            e => Failure::Service(format!("cannot start the rehearsal environment: {e}")),
        })?;
        if let Some(path) = &args.write_config {
            // The TSIG secret goes in a file of its own (0600), never in the config's text.
            let key_file = crate::dns::update::key_file_beside(path);
            let key = sim.dns_update_key();
            config::write_sim_key(
                &key_file,
                &crate::dns::update::key_file_text(&key.name, &key.algorithm, &key.secret),
            )?;
            let key_file = std::path::absolute(&key_file).unwrap_or(key_file);
            config::write_sim_config(
                path,
                &format!("{}{}", config::sim_config(&sim), sim.dns_update_toml(&key_file)),
            )?;
            tracing::info!(path = %path.display(), "wrote a configuration for the rehearsal environment");
        }
        let mut out = std::io::stdout().lock();
        let written = if args.json {
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
