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
}

#[derive(Debug, Subcommand)]
enum SimCommand {
    /// Run the rehearsal environment alone until Ctrl-C or SIGTERM and print where it is
    Serve {
        /// Users to generate in the source tenant (1 to 100000)
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        users: u32,
        /// Seed for the generated directory
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Print one JSON object on the first line of stdout instead of text
        #[arg(long)]
        json: bool,
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
    /// Which tenant the expected records describe
    #[arg(long, value_name = "TENANT", default_value = "destination", value_parser = ["destination", "source"])]
    expect_from: String,
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
    /// Port the zone's authoritative servers (found through NS) are asked on
    #[arg(long, default_value_t = 53, value_name = "PORT")]
    auth_port: u16,
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
    },
}

fn dns(args: DnsArgs) -> ExitCode {
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
    };
    match args.command {
        None => cli::dashboard(&globals),
        Some(Command::Demo { users, seed }) => cli::demo(&globals, users as usize, seed),
        Some(Command::Sim {
            command: SimCommand::Serve { users, seed, json },
        }) => cli::sim_serve(&globals, users as usize, seed, json),
        Some(Command::Dns(args)) => dns(*args),
        Some(Command::Audit {
            command: AuditCommand::Verify { file },
        }) => cli::audit_verify(&globals, file.as_deref()),
    }
}
