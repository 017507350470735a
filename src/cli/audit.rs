//! `cutover audit …`: checking and reading the audit journal from the command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::audit::verify_file;
use crate::store::Paths;

use super::{Failure, Globals, Outcome, finish};

/// `cutover audit verify`: exit 0 when every checked log is intact, 1 when one is not.
pub fn audit_verify(globals: &Globals, file: Option<&Path>) -> ExitCode {
    finish(audit_verify_inner(globals, file))
}

fn audit_verify_inner(globals: &Globals, file: Option<&Path>) -> Outcome {
    let files = match file {
        Some(f) => vec![f.to_path_buf()],
        None => {
            let paths = Paths::resolve(globals.data_dir.as_deref())
                .map_err(|e| Failure::Input(e.to_string()))?;
            let dir = paths.audit_dir();
            let mut logs: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| {
                    Failure::Input(format!(
                        "no audit logs in {}: {e}; pass --file FILE or --data-dir DIR",
                        dir.display()
                    ))
                })?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect();
            logs.sort();
            if logs.is_empty() {
                return Err(Failure::Input(format!(
                    "no audit logs in {}; pass --file FILE or --data-dir DIR",
                    dir.display()
                )));
            }
            logs
        }
    };
    let mut intact = true;
    for path in &files {
        let report = verify_file(path).map_err(|e| Failure::Input(e.to_string()))?;
        match &report.first_bad {
            None => println!(
                "intact: {}: {} lines, head {}",
                path.display(),
                report.lines,
                report.head
            ),
            Some(bad) => {
                intact = false;
                println!(
                    "TAMPERED: {}: line {}: {}",
                    path.display(),
                    bad.line,
                    bad.reason
                );
            }
        }
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
