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
        /// Only lines of this tenant: source, destination or dns
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
