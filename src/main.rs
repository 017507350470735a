//! Command line of cutover: parses the arguments (`cutover::cli::args`) and hands them to
//! `cutover::cli::run`.

use std::process::ExitCode;

use clap::Parser;
use cutover::cli;

fn main() -> ExitCode {
    // The local time zone can only be read while the process has one thread: read it now,
    // before any runtime starts, for the timeline's local times.
    let _ = cutover::app::view::local_offset();
    match cli::args::Cli::try_parse() {
        Ok(args) => cli::run(args),
        Err(err) => cli::argument_error(err),
    }
}
