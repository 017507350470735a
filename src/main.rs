//! Command line of cutover: parses the arguments (`cutover::cli::args`) and hands them to
//! `cutover::cli::run`.

use std::process::ExitCode;

use clap::Parser;
use cutover::cli;

fn main() -> ExitCode {
    match cli::args::Cli::try_parse() {
        Ok(args) => cli::run(args),
        Err(err) => cli::argument_error(err),
    }
}
