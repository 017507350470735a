//! The command line's shape: clap parses into these types and the handlers in `cli` take them
//! as they are. Values that have one right form (domains, ports, rates) are checked here by
//! value parsers, so bad input stops at the parser with one line and exit 2.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::config::Side;
use crate::dns::name::{DomainName, NameError};

/// Cockpit for moving a custom email domain between Microsoft 365 tenants.
#[derive(Debug, Parser)]
#[command(name = "cutover", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub globals: Globals,
    /// The cutover time T for this session, e.g. 2026-12-05T18:00Z (zone required); wins over
    /// the timeline's and the config's `cutover_at`. For the dashboard, `demo`, `check` and
    /// `timeline`
    #[arg(long, value_name = "TIME", value_parser = cutover_time)]
    pub cutover: Option<time::OffsetDateTime>,
    /// Colours of the dashboard and demo: standard, high-contrast or no-color; wins over
    /// NO_COLOR and the config's `theme` [default: no-color when NO_COLOR is set, else the
    /// config's theme, else standard]
    #[arg(long, global = true, value_name = "NAME", value_parser = super::keys::theme_name)]
    pub theme: Option<crate::ui::theme::Palette>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Flags accepted before or after any subcommand.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Globals {
    /// Folder for the audit log, trace log, state and snapshots [default: platform data dir]
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Trace log filter in RUST_LOG syntax, e.g. "info" or "cutover=debug"
    #[arg(long, global = true, value_name = "FILTER", env = "CUTOVER_LOG")]
    pub log_filter: Option<String>,
    /// Configuration file [default: config.toml in the platform config dir]
    #[arg(long, global = true, value_name = "FILE", env = "CUTOVER_CONFIG")]
    pub config: Option<PathBuf>,
    /// The custom domain being moved, e.g. contoso.com (Unicode IDN accepted); wins over the
    /// configuration's `domain` [default: the configured domain]
    #[arg(long, global = true, value_name = "DOMAIN", value_parser = domain, allow_hyphen_values = true)]
    pub domain: Option<DomainName>,
}

/// A cutover time as `--cutover` takes it: [`crate::plan::parse_cutover`].
pub fn cutover_time(s: &str) -> Result<time::OffsetDateTime, String> {
    crate::plan::parse_cutover(s)
}

/// A domain as every command takes it: [`crate::dns::name::parse_domain`] as a value parser.
/// DOMAIN positionals get the id `the_domain`: a subcommand argument with the id `domain`
/// would hide the global `--domain` there.
pub fn domain(s: &str) -> Result<DomainName, NameError> {
    crate::dns::name::parse_domain(s)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dashboard against the embedded rehearsal environment (no configuration needed)
    Demo(DemoArgs),
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
    Login(LoginArgs),
    /// List every object in a tenant that still holds the domain, and how
    Inventory(InventoryArgs),
    /// Connections and access: Exchange connectors, enterprise applications with access to
    /// mail, calendars, contacts or the directory, and applications whose URIs use the domain
    Access(AccessArgs),
    /// Which tenant holds a domain, seen from outside: OpenID configuration, user realm and
    /// (with a configured tenant) Graph (exit 0 held, 1 held by no tenant, 2 bad input, 3 a
    /// source failed and nothing was found)
    #[command(visible_alias = "whois-tenant")]
    Owner(OwnerArgs),
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
    /// Write the snapshot taken before the first change: users, groups, contacts and
    /// forwarding as CSV (the runbook's columns), the DNS zone, and a manifest with hashes
    Snapshot(SnapshotArgs),
    /// Plan the changes that free (release) the domain, from the live inventory: text for a
    /// change board, or JSON for `cutover apply`
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    /// Apply a plan file through the journaling executor (exit 0 all applied, 1 some failed or
    /// refused, 2 bad input or no snapshot, 3 service error)
    Apply(ApplyArgs),
    /// Print the dashboard's key table in effect (defaults, with keys.toml beside config.toml
    /// over them) as Markdown
    Keys,
    /// Undo applied changes by id, from the before-values the journal recorded, through the
    /// same executor, snapshot rule and confirmation as `apply`
    Undo(UndoArgs),
    /// Evaluate the runbook's gates of the steps due by now (or of every phase up to
    /// --phase): exit 0 all hold, 1 any fails, 2 bad input, 3 a needed service could not be
    /// asked
    Check(CheckArgs),
    /// The runbook with each step's status, for the change record (Markdown, JSON or CSV)
    Timeline(TimelineArgs),
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Check every gated step of the phases up to and including this one (a contingency
    /// phase only when named) instead of the steps due by now
    #[arg(long, value_name = "PHASE")]
    pub phase: Option<String>,
    /// The cutover time T, e.g. 2026-12-05T18:00Z; wins over the timeline's and the config's
    #[arg(long, value_name = "TIME", value_parser = cutover_time)]
    pub cutover: Option<time::OffsetDateTime>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

/// `cutover timeline --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimelineFormat {
    Md,
    Json,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct TimelineArgs {
    /// Output format
    #[arg(long, value_name = "md|json|csv", default_value = "md")]
    pub format: TimelineFormat,
    /// Write to FILE instead of stdout
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The cutover time T, e.g. 2026-12-05T18:00Z; wins over the timeline's and the config's
    #[arg(long, value_name = "TIME", value_parser = cutover_time)]
    pub cutover: Option<time::OffsetDateTime>,
}

#[derive(Debug, clap::Args)]
pub struct UndoArgs {
    /// Ids of applied changes (from `cutover plan backout` or `cutover audit show`)
    #[arg(value_name = "CHANGE_ID", required = true)]
    pub changes: Vec<String>,
    #[command(flatten)]
    pub run: RunArgs,
}

/// `apply --removal-wait` default.
pub const DEFAULT_REMOVAL_WAIT: u64 = 300;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Free the domain in a tenant: alias removals cutover applies, renames and flags for the rest
    Release(PlanReleaseArgs),
    /// Take up the domain in the destination: wait for the source's release, add, TXT, verify,
    /// service records, the source's addresses through the mapping file, the MX TTL last
    Adopt(PlanAdoptArgs),
    /// Back out what the journal says was applied: the inverses, newest first, and flags for
    /// what has no inverse (a removed domain)
    Backout(PlanBackoutArgs),
    /// Cut connections: remove the connectors that exist only for the domain, revoke the
    /// listed third-party applications' grants and application permissions (or delete them)
    Access(PlanAccessArgs),
}

#[derive(Debug, clap::Args)]
pub struct PlanAccessArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination", default_value = "source")]
    pub tenant: Side,
    /// Print the plan as JSON (for `cutover apply`) instead of text
    #[arg(long)]
    pub json: bool,
    /// Plan only the connectors or only the applications [default: both]
    #[arg(long, value_name = "connectors|apps", value_parser = ["connectors", "apps"])]
    pub only: Option<String>,
    /// Only this application (object id, appId or display name; repeat for more) [default:
    /// every listed third-party application]
    #[arg(long = "app", value_name = "APP")]
    pub apps: Vec<String>,
    /// Delete the applications' service principals (restorable for 30 days) instead of
    /// revoking their grants and application permissions
    #[arg(long)]
    pub delete: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanBackoutArgs {
    /// Print the plan as JSON (for `cutover apply`) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanAdoptArgs {
    /// The mapping file (source object -> destination object) to plan from; default: match by
    /// UPN / primary address local part
    #[arg(long, value_name = "FILE", conflicts_with = "write_mapping")]
    pub mapping: Option<PathBuf>,
    /// Write the default mapping to FILE (which must not exist) for editing, instead of the plan
    #[arg(long, value_name = "FILE")]
    pub write_mapping: Option<PathBuf>,
    /// Print the plan as JSON (for `cutover apply`) instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct PlanReleaseArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination", default_value = "source")]
    pub tenant: Side,
    /// Print the plan as JSON (for `cutover apply`) instead of text
    #[arg(long)]
    pub json: bool,
    /// Remove the domain with Graph's forceDelete (Microsoft renames what still references it
    /// to the initial domain) instead of DELETE; refused for a federated domain or more than
    /// 1,000 referencing objects
    #[arg(long)]
    pub force_delete: bool,
    /// With --force-delete: let Microsoft disable every user it renames (default: keep them
    /// enabled, disableUserAccounts false)
    #[arg(long, requires = "force_delete")]
    pub disable_user_accounts: bool,
}

#[derive(Debug, clap::Args)]
pub struct ApplyArgs {
    /// The plan file (`cutover plan release --json > plan.json`)
    #[arg(
        value_name = "PLAN.json",
        required_unless_present = "resume",
        conflicts_with = "resume"
    )]
    pub plan: Option<PathBuf>,
    /// Apply the plan file last applied for this domain again: finishes an interrupted run
    /// (the journal says what is done)
    #[arg(long)]
    pub resume: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// How a plan is run: shared by `apply` and `undo`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Do not ask for the domain to be typed
    #[arg(long)]
    pub yes: bool,
    /// Send no mutating request; every change is journaled as refused
    #[arg(long)]
    pub read_only: bool,
    /// Changes in flight at once (1 to 64)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// After a domain removal is accepted, how long to wait for GET /domains/{id} to answer
    /// 404 (seconds; 0: do not wait, `apply --resume` waits again)
    #[arg(long, default_value_t = DEFAULT_REMOVAL_WAIT, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub removal_wait: u64,
    /// How long a DNS change made by hand (no [dns.update] for its zone) is watched for on
    /// the zone's authoritative servers: 90s, 30m, 2h
    #[arg(long, value_name = "DURATION", default_value = "30m", value_parser = wait)]
    pub dns_wait: Duration,
    /// Pause between two reads of the authoritative servers while watching
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = wait)]
    pub dns_poll: Duration,
}

/// `500ms`, `90s`, `30m`, `2h`, or plain seconds; at most a day.
fn wait(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (number, unit) = match t.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{s}' is not a duration; give e.g. 90s, 30m or 2h"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("'{s}' is not a duration; give e.g. 90s, 30m or 2h")),
    };
    if d > Duration::from_secs(86_400) {
        return Err(format!("'{s}' is longer than a day"));
    }
    Ok(d)
}

#[derive(Debug, clap::Args)]
pub struct SnapshotArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination")]
    pub tenant: Side,
    /// The folder to create (must not exist) [default: <data dir>/snapshots/<UTC time>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Users to generate in the source tenant (1 to 100000)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub users: u32,
    /// Seed for the generated directory
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Sign in to the destination with a device code (the sim's user approves it after
    /// a few seconds) instead of a client secret
    #[arg(long)]
    pub device_code: bool,
    /// Play a whole cutover on its own (release from the source, adopt in the destination)
    /// through the workbench; any key takes over
    #[arg(long)]
    pub play: bool,
    /// How fast --play goes: its pauses divided by N (a positive number; 1 is a person's pace)
    #[arg(long, value_name = "N", default_value_t = 1.0, value_parser = speed, requires = "play")]
    pub speed: f64,
}

/// The player's speed: a positive number (pauses are divided by it).
fn speed(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(n) if n.is_finite() && n > 0.0 && n <= 1000.0 => Ok(n),
        _ => Err(format!(
            "'{s}' is not a speed; give a positive number up to 1000, e.g. 1 (a person's pace) or 20"
        )),
    }
}

#[derive(Debug, clap::Args)]
pub struct LoginArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination")]
    pub tenant: Side,
}

#[derive(Debug, clap::Args)]
pub struct InventoryArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination")]
    pub tenant: Side,
    /// One JSON object per line: id, kind, display_name, references [{how, value}]
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct AccessArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination")]
    pub tenant: Side,
    /// The inventory as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Record in the audit journal that every application now holding mail permissions has
    /// been reviewed (the gate *.mail_apps_reviewed)
    #[arg(long)]
    pub mark_reviewed: bool,
    /// After the admin ran `cutover exchange script --connectors`: read Get-InboundConnector and
    /// Get-OutboundConnector until no connector names the domain (exit 0), journaling each
    /// one seen gone; exit 1 naming those left after --timeout
    #[arg(long, conflicts_with_all = ["json", "mark_reviewed"])]
    pub wait_connectors_gone: bool,
    /// How long --wait-connectors-gone waits, in seconds
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 600,
        requires = "wait_connectors_gone"
    )]
    pub timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct OwnerArgs {
    /// The domain, e.g. contoso.com (Unicode IDN accepted) [default: --domain, else the
    /// configured domain]
    #[arg(id = "the_domain", value_name = "DOMAIN", value_parser = domain)]
    pub domain: Option<DomainName>,
    /// Sign-in host to ask [default: the configured cloud's, else login.microsoftonline.com]
    #[arg(long, value_name = "URL")]
    pub login_url: Option<String>,
    /// Print one JSON object instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExchangeCommand {
    /// Recipients holding the domain in any address, read with Get-Recipient (InvokeCommand)
    Recipients(ExchangeListArgs),
    /// Inbound and outbound connectors that reference the domain, and what the plan does
    Connectors(ExchangeListArgs),
    /// Write a reviewed PowerShell script that removes the domain from Exchange (reads the
    /// objects through Graph; runs with -WhatIf unless started with -Apply; never overwrites)
    Script(ExchangeScriptArgs),
}

#[derive(Debug, clap::Args)]
pub struct ExchangeListArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination")]
    pub tenant: Side,
    /// One JSON object per line
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExchangeScriptArgs {
    /// Which profile: source or destination
    #[arg(long, value_name = "source|destination")]
    pub tenant: Side,
    /// The .ps1 file to create
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also remove, by name, the connectors that exist only for the domain (read now with
    /// Get-InboundConnector / Get-OutboundConnector, as `cutover plan access` plans them);
    /// `cutover access --wait-connectors-gone` then sees them gone
    #[arg(long)]
    pub connectors: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented template (never overwrites)
    Init {
        /// Where to write it [default: --config FILE, else the platform config dir]
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Validate a configuration and name every bad field with its line (exit 0 ok, 2 invalid);
    /// with --domain, a file without `domain` passes, as it does for the commands given --domain
    Check {
        /// File to check [default: --config FILE, else the platform config dir]
        file: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Run the rehearsal environment alone until Ctrl-C or SIGTERM and print where it is
    Serve(SimServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct SimServeArgs {
    /// Users to generate in the source tenant (1 to 100000)
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub users: u32,
    /// Team groups to generate in the source tenant on top of the nine named ones (0 to 20000)
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=20_000))]
    pub groups: u32,
    /// Organizational contacts in the source tenant (0 to 5000) [default: one per 20 users, at least 5]
    #[arg(long, value_parser = clap::value_parser!(u32).range(0..=5_000))]
    pub contacts: Option<u32>,
    /// Seed for the generated directory
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Print one JSON object on the first line of stdout instead of text
    #[arg(long)]
    pub json: bool,
    /// Also write a config.toml whose profiles point at this environment (client secrets
    /// in the file, mode 0600; only a file this option wrote is replaced)
    #[arg(long, value_name = "FILE")]
    pub write_config: Option<PathBuf>,
    /// Fraction of Graph requests answered 500/502/503/504 (0 to 1)
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub error_rate: f64,
    /// Fraction of Graph responses cut off mid-body (connection dropped)
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub reset_rate: f64,
    /// Fraction of Graph responses delayed by --slow-ms
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub slow_rate: f64,
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub slow_ms: u64,
    /// Latency added to every Graph request
    #[arg(long, default_value_t = 0, value_name = "MS")]
    pub latency_ms: u64,
    /// Throttle each tenant with a token bucket of this many requests (429 + Retry-After)
    #[arg(long, value_name = "N", requires = "throttle_per_second")]
    pub throttle_capacity: Option<u32>,
    /// Refill rate of the throttling bucket, requests per second
    #[arg(long, value_name = "RATE", requires = "throttle_capacity")]
    pub throttle_per_second: Option<f64>,
    /// Issue tokens without this permission (repeatable): Domain.Read.All for both tenants,
    /// source:Domain.Read.All for one
    #[arg(long, value_name = "[TENANT:]PERMISSION")]
    pub deny_permission: Vec<String>,
    /// Issue tokens with this permission too (repeatable), e.g. Domain.ReadWrite.All and
    /// User.ReadWrite.All for the change engine; a denial wins
    #[arg(long, value_name = "[TENANT:]PERMISSION")]
    pub grant_permission: Vec<String>,
    /// How long an accepted domain removal (DELETE or forceDelete) takes before the domain is gone
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub domain_removal_delay_ms: u64,
    /// Fraction of mutating requests (Graph and Exchange) answered 503 before being applied
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub write_error_rate: f64,
    /// Fraction of mutating requests applied and then left unanswered (connection cut)
    #[arg(long, default_value_t = 0.0, value_parser = fraction)]
    pub apply_then_drop_rate: f64,
    /// Give the destination a migrated copy of every source mailbox and mail-enabled group
    /// (addresses in its initial domain): what `cutover plan adopt` maps to
    #[arg(long)]
    pub migrated_mailboxes: bool,
    /// No directory-synced users or groups in either tenant (a tenant without Entra Connect)
    #[arg(long)]
    pub cloud_only: bool,
    /// Writes per second per tenant (Graph writes and Exchange Set-/Add-/Remove-/New- cmdlets
    /// together); beyond it 429 with Retry-After, as Microsoft throttles
    #[arg(long, value_name = "R", value_parser = write_rate)]
    pub write_rate: Option<f64>,
}

/// A write rate: a positive number of writes per second.
fn write_rate(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 && r <= 1_000_000.0 => Ok(r),
        _ => Err(format!(
            "'{s}' is not a write rate; give writes per second, e.g. 100"
        )),
    }
}

impl SimServeArgs {
    /// The faults the sim injects, as asked.
    pub fn faults(&self) -> crate::sim::Faults {
        crate::sim::Faults {
            error_rate: self.error_rate,
            reset_rate: self.reset_rate,
            slow_rate: self.slow_rate,
            slow: Duration::from_millis(self.slow_ms),
            latency: Duration::from_millis(self.latency_ms),
        }
    }

    /// The token bucket, when both of its flags were given (clap requires them together).
    pub fn throttle(&self) -> Option<crate::sim::Throttle> {
        self.throttle_capacity
            .zip(self.throttle_per_second)
            .map(|(capacity, per_second)| crate::sim::Throttle {
                capacity,
                per_second,
            })
    }
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DnsArgs {
    #[command(subcommand)]
    pub command: Option<DnsCommand>,
    /// The custom domain, e.g. contoso.com (Unicode IDN accepted) [default: --domain, else the
    /// configured domain]
    #[arg(id = "the_domain", value_name = "DOMAIN", value_parser = domain)]
    pub domain: Option<DomainName>,
    #[command(flatten)]
    pub resolvers: ResolverArgs,
    /// JSON list of Graph domainDnsRecords (serviceConfigurationRecords) to compare with
    #[arg(long, value_name = "FILE")]
    pub expect_file: Option<PathBuf>,
    /// Which configured tenant's records are expected [default: destination, else source when
    /// no destination is configured]
    #[arg(long, value_name = "TENANT", value_parser = ["destination", "source"])]
    pub expect_from: Option<String>,
    /// A DNS blocklist zone to check the MX hosts' addresses on (repeatable)
    #[arg(long, value_name = "ZONE")]
    pub dnsbl: Vec<String>,
    /// Print one JSON object instead of tables
    #[arg(long)]
    pub json: bool,
}

/// Which resolvers to ask, as given on the command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ResolverArgs {
    /// A resolver to compare, ADDR[:PORT] (repeatable)
    #[arg(long = "resolver", value_name = "ADDR[:PORT]")]
    pub resolvers: Vec<String>,
    /// Leave out the system's resolvers from /etc/resolv.conf
    #[arg(long)]
    pub no_system: bool,
    /// Port the zone's authoritative servers (found through NS) are asked on [default: dns.authoritative_port, else 53]
    #[arg(long, value_name = "PORT")]
    pub auth_port: Option<u16>,
    /// Per-query timeout in milliseconds
    #[arg(long = "timeout-ms", default_value = "2000", value_name = "MS", value_parser = millis)]
    pub timeout: Duration,
    /// An extra record to watch, NAME/TYPE (repeatable), e.g. mail.contoso.com/CNAME
    #[arg(long = "name", value_name = "NAME/TYPE")]
    pub names: Vec<String>,
}

/// A per-query timeout in milliseconds, 1 to 60000.
fn millis(s: &str) -> Result<Duration, String> {
    match s.parse::<u64>() {
        Ok(ms) if (1..=60_000).contains(&ms) => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "'{s}' is not a number of milliseconds from 1 to 60000"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum DnsCommand {
    /// Write what the authoritative servers answer now: FILE in zone-file form and FILE.json
    Snapshot {
        #[arg(id = "the_domain", value_name = "DOMAIN", value_parser = domain)]
        domain: DomainName,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        resolvers: ResolverArgs,
    },
    /// Show what changed since a snapshot (exit 0 nothing, 1 changes)
    Diff {
        #[arg(id = "the_domain", value_name = "DOMAIN", value_parser = domain)]
        domain: DomainName,
        /// The snapshot (FILE or FILE.json as written by 'dns snapshot')
        #[arg(long, value_name = "FILE")]
        against: PathBuf,
        #[command(flatten)]
        resolvers: ResolverArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
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
    Show(AuditShowArgs),
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

/// `cutover audit show`: the log and the filters, as typed.
#[derive(Debug, Default, clap::Args)]
pub struct AuditShowArgs {
    /// Log file [default: the only log in <data dir>/audit]
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Only lines at or after T (UTC: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS], RFC 3339, or HH:MM on the last line's day)
    #[arg(long, value_name = "T")]
    pub since: Option<String>,
    /// Only lines up to T, including all of T's last minute or day (same forms as --since)
    #[arg(long, value_name = "T")]
    pub until: Option<String>,
    /// Only these kinds (comma-separated): session_start, session_end, user_action, intent, outcome, observed, note, repair
    #[arg(long, value_name = "K")]
    pub kind: Option<String>,
    /// Only lines whose target contains X (ignoring case)
    #[arg(long, value_name = "X")]
    pub object: Option<String>,
    /// Only lines of this tenant: source, destination, dns or outside
    #[arg(long, value_name = "T")]
    pub tenant: Option<String>,
}

/// A rate between 0 and 1.
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a fraction between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_write_rate_is_a_positive_number() {
        assert_eq!(write_rate("100"), Ok(100.0));
        assert_eq!(write_rate(" 2.5 "), Ok(2.5));
        for bad in ["0", "-1", "NaN", "inf", "fast", ""] {
            let e = write_rate(bad).expect_err(bad);
            assert!(e.contains("writes per second"), "{e}");
        }
    }
}
