//! Command line of cutover: parses arguments and hands each command to `cutover::cli`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cutover::cli;

/// Cockpit for moving a custom email domain between Microsoft 365 tenants.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, propagate_version = true)]
struct Cli {
    /// Folder for the audit log, trace log, state and snapshots [default: platform data dir]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Trace log filter in RUST_LOG syntax, e.g. "info" or "cutover=debug"
    #[arg(long, global = true, value_name = "FILTER", env = "CUTOVER_LOG")]
    log_filter: Option<String>,
    /// Configuration file [default: config.toml in the platform config dir]
    #[arg(long, global = true, value_name = "FILE", env = "CUTOVER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Dashboard against the embedded rehearsal environment (no configuration needed)
    Demo {
        /// Users to generate in the source tenant (1 to 100000)
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        users: u32,
        /// Seed for the generated directory
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Sign in to the destination with a device code (the sim's user approves it after
        /// a few seconds) instead of a client secret
        #[arg(long)]
        device_code: bool,
    },
    /// The rehearsal environment
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// Check a domain's Microsoft 365 DNS records across resolvers (exit 0 all match, 1 not, 2 bad input, 3 no resolver answered)
    Dns(Box<DnsArgs>),
    /// The audit log
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Sign in to a configured tenant now and cache its tokens
    Login {
        /// Which profile: source or destination
        #[arg(long, value_name = "source|destination")]
        tenant: cutover::config::Side,
    },
    /// List every object in a tenant that still holds the domain, and how
    Inventory {
        /// Which profile: source or destination
        #[arg(long, value_name = "source|destination")]
        tenant: cutover::config::Side,
        /// The domain [default: the configured domain]
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
        /// One JSON object per line: id, kind, display_name, references [{how, value}]
        #[arg(long)]
        json: bool,
    },
    /// Which tenant holds a domain, seen from outside: OpenID configuration, user realm and
    /// (with a configured tenant) Graph (exit 0 held, 1 held by no tenant, 2 bad input, 3 a
    /// source failed and nothing was found)
    #[command(visible_alias = "whois-tenant")]
    Owner {
        /// The domain, e.g. contoso.com (Unicode IDN accepted)
        domain: String,
        /// Sign-in host to ask [default: the configured cloud's, else login.microsoftonline.com]
        #[arg(long, value_name = "URL")]
        login_url: Option<String>,
        /// Print one JSON object instead of text
        #[arg(long)]
        json: bool,
    },
    /// The configuration file (tenant profiles)
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Exchange Online: recipients and connectors holding the domain, and a PowerShell script
    /// of the changes for admins who grant cutover no Exchange access
    Exchange {
        #[command(subcommand)]
        command: ExchangeCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ExchangeCommand {
    /// Recipients holding the domain in any address, read with Get-Recipient (InvokeCommand)
    Recipients {
        /// Which profile: source or destination
        #[arg(long, value_name = "source|destination")]
        tenant: cutover::config::Side,
        /// The domain [default: the configured domain]
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
        /// One JSON object per line (Exchange's property names)
        #[arg(long)]
        json: bool,
    },
    /// Inbound and outbound connectors that reference the domain, and what the plan does
    Connectors {
        /// Which profile: source or destination
        #[arg(long, value_name = "source|destination")]
        tenant: cutover::config::Side,
        /// The domain [default: the configured domain]
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
    },
    /// Write a reviewed PowerShell script that removes the domain from Exchange (reads the
    /// objects through Graph; runs with -WhatIf unless started with -Apply; never overwrites)
    Script {
        /// Which profile: source or destination
        #[arg(long, value_name = "source|destination")]
        tenant: cutover::config::Side,
        /// The domain [default: the configured domain]
        #[arg(long, value_name = "DOMAIN")]
        domain: Option<String>,
        /// The .ps1 file to create
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Write a commented template (never overwrites)
    Init {
        /// Where to write it [default: --config FILE, else the platform config dir]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Validate a configuration and name every bad field with its line (exit 0 ok, 2 invalid)
    Check {
        /// File to check [default: --config FILE, else the platform config dir]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Run the rehearsal environment alone until Ctrl-C or SIGTERM and print where it is
    Serve {
        /// Users to generate in the source tenant (1 to 100000)
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        users: u32,
        /// Team groups to generate in the source tenant on top of the nine named ones (0 to 20000)
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=20_000))]
        groups: u32,
        /// Organizational contacts in the source tenant (0 to 5000) [default: one per 20 users, at least 5]
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=5_000))]
        contacts: Option<u32>,
        /// Seed for the generated directory
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object on the first line of stdout instead of text
        #[arg(long)]
        json: bool,
        /// Also write a config.toml whose profiles point at this environment (client secrets
        /// in the file, mode 0600; only a file this option wrote is replaced)
        #[arg(long, value_name = "FILE")]
        write_config: Option<PathBuf>,
        /// Fraction of Graph requests answered 500/502/503/504 (0 to 1)
        #[arg(long, default_value_t = 0.0, value_parser = fraction)]
        error_rate: f64,
        /// Fraction of Graph responses cut off mid-body (connection dropped)
        #[arg(long, default_value_t = 0.0, value_parser = fraction)]
        reset_rate: f64,
        /// Fraction of Graph responses delayed by --slow-ms
        #[arg(long, default_value_t = 0.0, value_parser = fraction)]
        slow_rate: f64,
        #[arg(long, default_value_t = 2000, value_name = "MS")]
        slow_ms: u64,
        /// Latency added to every Graph request
        #[arg(long, default_value_t = 0, value_name = "MS")]
        latency_ms: u64,
        /// Throttle each tenant with a token bucket of this many requests (429 + Retry-After)
        #[arg(long, value_name = "N", requires = "throttle_per_second")]
        throttle_capacity: Option<u32>,
        /// Refill rate of the throttling bucket, requests per second
        #[arg(long, value_name = "RATE", requires = "throttle_capacity")]
        throttle_per_second: Option<f64>,
    },
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct DnsArgs {
    #[command(subcommand)]
    command: Option<DnsCommand>,
    /// The custom domain, e.g. contoso.com (Unicode IDN accepted)
    domain: Option<String>,
    #[command(flatten)]
    resolvers: ResolverFlags,
    /// JSON list of Graph domainDnsRecords (serviceConfigurationRecords) to compare with
    #[arg(long, value_name = "FILE")]
    expect_file: Option<PathBuf>,
    /// Which configured tenant's records are expected [default: destination]
    #[arg(long, value_name = "TENANT", value_parser = ["destination", "source"])]
    expect_from: Option<String>,
    /// A DNS blocklist zone to check the MX hosts' addresses on (repeatable)
    #[arg(long, value_name = "ZONE")]
    dnsbl: Vec<String>,
    /// Print one JSON object instead of tables
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct ResolverFlags {
    /// A resolver to compare, ADDR[:PORT] (repeatable)
    #[arg(long = "resolver", value_name = "ADDR[:PORT]")]
    resolvers: Vec<String>,
    /// Leave out the system's resolvers from /etc/resolv.conf
    #[arg(long)]
    no_system: bool,
    /// Port the zone's authoritative servers (found through NS) are asked on [default: dns.authoritative_port, else 53]
    #[arg(long, value_name = "PORT")]
    auth_port: Option<u16>,
    /// Per-query timeout in milliseconds
    #[arg(long, default_value_t = 2000, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..=60_000))]
    timeout_ms: u64,
    /// An extra record to watch, NAME/TYPE (repeatable), e.g. mail.contoso.com/CNAME
    #[arg(long = "name", value_name = "NAME/TYPE")]
    names: Vec<String>,
}

impl ResolverFlags {
    fn into_args(self) -> cli::dns::ResolverArgs {
        cli::dns::ResolverArgs {
            resolvers: self.resolvers,
            no_system: self.no_system,
            auth_port: self.auth_port,
            timeout: std::time::Duration::from_millis(self.timeout_ms),
            names: self.names,
        }
    }
}

#[derive(Debug, Subcommand)]
enum DnsCommand {
    /// Write what the authoritative servers answer now: FILE in zone-file form and FILE.json
    Snapshot {
        domain: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        resolvers: ResolverFlags,
    },
    /// Show what changed since a snapshot (exit 0 nothing, 1 changes)
    Diff {
        domain: String,
        /// The snapshot (FILE or FILE.json as written by 'dns snapshot')
        #[arg(long, value_name = "FILE")]
        against: PathBuf,
        #[command(flatten)]
        resolvers: ResolverFlags,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain of an audit log (exit 0 intact, 1 tampered, 2 unreadable)
    Verify {
        /// Log file to check [default: every log in <data dir>/audit]
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Head hash from an earlier `cutover audit anchor`: also prove the log still extends it
        #[arg(long, value_name = "HASH")]
        anchor: Option<String>,
    },
    /// Print the head hash and line number, to paste into a change ticket
    Anchor {
        /// Log file [default: the only log in <data dir>/audit]
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Print the log for people, oldest first, optionally filtered
    Show {
        /// Log file [default: the only log in <data dir>/audit]
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Only lines at or after T (UTC: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS], RFC 3339, or HH:MM on the last line's day)
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Only lines up to T, including all of T's last minute or day (same forms as --since)
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Only these kinds (comma-separated): session_start, session_end, user_action, intent, outcome, observed, note, repair
        #[arg(long, value_name = "K")]
        kind: Option<String>,
        /// Only lines whose target contains X (ignoring case)
        #[arg(long, value_name = "X")]
        object: Option<String>,
        /// Only lines of this tenant: source, destination, dns or outside
        #[arg(long, value_name = "T")]
        tenant: Option<String>,
    },
    /// Export every line for tools, as CSV or a JSON array
    #[command(group = clap::ArgGroup::new("format").required(true))]
    Export {
        /// Log file [default: the only log in <data dir>/audit]
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Comma-separated values with a header row
        #[arg(long, group = "format")]
        csv: bool,
        /// A JSON array of records
        #[arg(long, group = "format")]
        json: bool,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Write a report for a change board: Markdown, or HTML when FILE ends in .html
    Report {
        /// Log file [default: the only log in <data dir>/audit]
        #[arg(long, value_name = "FILE")]
        file: Option<PathBuf>,
        /// Report file to write (.md or .html)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Append notes in a loop, printing each line number once it is stored (crash tests)
    #[command(hide = true)]
    StressAppend {
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        #[arg(long, default_value = "stress")]
        cutover: String,
        /// Stop after this many lines [default: never]
        #[arg(long)]
        count: Option<u64>,
    },
}

/// A rate between 0 and 1.
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a fraction between 0 and 1")),
    }
}

fn dns(globals: cli::Globals, args: DnsArgs) -> ExitCode {
    match args.command {
        Some(DnsCommand::Snapshot {
            domain,
            out,
            resolvers,
        }) => cli::dns::dns_snapshot(&domain, resolvers.into_args(), &out),
        Some(DnsCommand::Diff {
            domain,
            against,
            resolvers,
            json,
        }) => cli::dns::dns_diff(&domain, resolvers.into_args(), &against, json),
        None => cli::dns::dns_check(cli::dns::CheckArgs {
            domain: args.domain.unwrap_or_default(),
            globals,
            resolvers: args.resolvers.into_args(),
            expect_file: args.expect_file,
            expect_from: args.expect_from,
            dnsbl: args.dnsbl,
            json: args.json,
        }),
    }
}

fn main() -> ExitCode {
    let args = match Cli::try_parse() {
        Ok(args) => args,
        Err(err) => return cli::argument_error(err),
    };
    let globals = cli::Globals {
        data_dir: args.data_dir,
        log_filter: args.log_filter,
        config: args.config,
    };
    match args.command {
        None => cli::dashboard(&globals),
        Some(Command::Demo {
            users,
            seed,
            device_code,
        }) => cli::demo(&globals, users as usize, seed, device_code),
        Some(Command::Sim {
            command:
                SimCommand::Serve {
                    users,
                    groups,
                    contacts,
                    seed,
                    json,
                    write_config,
                    error_rate,
                    reset_rate,
                    slow_rate,
                    slow_ms,
                    latency_ms,
                    throttle_capacity,
                    throttle_per_second,
                },
        }) => cli::sim_serve(
            &globals,
            &cli::SimServe {
                users: users as usize,
                groups: groups as usize,
                contacts: contacts.map(|n| n as usize),
                seed,
                json,
                write_config,
                faults: cutover::sim::Faults {
                    error_rate,
                    reset_rate,
                    slow_rate,
                    slow: std::time::Duration::from_millis(slow_ms),
                    latency: std::time::Duration::from_millis(latency_ms),
                },
                throttle: throttle_capacity.zip(throttle_per_second).map(
                    |(capacity, per_second)| cutover::sim::Throttle {
                        capacity,
                        per_second,
                    },
                ),
            },
        ),
        Some(Command::Dns(args)) => dns(globals.clone(), *args),
        Some(Command::Login { tenant }) => cli::login(&globals, tenant),
        Some(Command::Inventory {
            tenant,
            domain,
            json,
        }) => cli::inventory(&globals, tenant, domain.as_deref(), json),
        Some(Command::Owner {
            domain,
            login_url,
            json,
        }) => cli::owner(&globals, &domain, login_url.as_deref(), json),
        Some(Command::Config {
            command: ConfigCommand::Init { out },
        }) => cli::config_init(&globals, out.as_deref()),
        Some(Command::Exchange { command }) => match command {
            ExchangeCommand::Recipients {
                tenant,
                domain,
                json,
            } => cli::exchange_recipients(&globals, tenant, domain.as_deref(), json),
            ExchangeCommand::Connectors {
                tenant,
                domain,
                json,
            } => cli::exchange_connectors(&globals, tenant, domain.as_deref(), json),
            ExchangeCommand::Script {
                tenant,
                domain,
                out,
            } => cli::exchange_script(&globals, tenant, domain.as_deref(), &out),
        },
        Some(Command::Config {
            command: ConfigCommand::Check { file },
        }) => cli::config_check(&globals, file.as_deref()),
        Some(Command::Audit { command }) => match command {
            AuditCommand::Verify { file, anchor } => {
                cli::audit_verify(&globals, file.as_deref(), anchor.as_deref())
            }
            AuditCommand::Anchor { file } => cli::audit_anchor(&globals, file.as_deref()),
            AuditCommand::Show {
                file,
                since,
                until,
                kind,
                object,
                tenant,
            } => cli::audit_show(
                &globals,
                file.as_deref(),
                &cli::AuditQuery {
                    since,
                    until,
                    kind,
                    object,
                    tenant,
                },
            ),
            AuditCommand::Export {
                file,
                csv,
                json: _,
                out,
            } => cli::audit_export(&globals, file.as_deref(), csv, out.as_deref()),
            AuditCommand::Report { file, out } => {
                cli::audit_report(&globals, file.as_deref(), &out)
            }
            AuditCommand::StressAppend {
                file,
                cutover,
                count,
            } => cli::audit_stress_append(&file, &cutover, count),
        },
    }
}
