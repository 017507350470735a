//! `cutover audit …`: checking, anchoring, reading, exporting and reporting the audit journal
//! from the command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::audit::review::{report_html, report_markdown, to_csv, to_json};
use crate::audit::{
    Event, Filter, Journal, Kind, Record, parse_kind, parse_time, read_records, verify_file,
    verify_file_anchored,
};
use crate::store::Paths;

use super::args::AuditShowArgs;
use super::{Failure, Globals, Outcome};

/// The `.jsonl` logs in `<data dir>/audit`, sorted by name.
fn logs_in_data_dir(globals: &Globals) -> Result<Vec<PathBuf>, Failure> {
    let paths =
        Paths::resolve(globals.data_dir.as_deref()).map_err(|e| Failure::Input(e.to_string()))?;
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
    Ok(logs)
}

/// `--file`, or the only log in the data dir; several logs need `--file` (guessing could
/// report on the wrong cutover).
fn one_log(globals: &Globals, file: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(f) = file {
        return Ok(f.to_path_buf());
    }
    let mut logs = logs_in_data_dir(globals)?;
    if logs.len() > 1 {
        let names: Vec<String> = logs.iter().map(|p| p.display().to_string()).collect();
        return Err(Failure::Input(format!(
            "there are {} audit logs ({}); pick one with --file FILE",
            logs.len(),
            names.join(", ")
        )));
    }
    Ok(logs.remove(0))
}

fn records_of(path: &Path) -> Result<Vec<Record>, Failure> {
    read_records(path).map_err(|e| Failure::Input(e.to_string()))
}

/// `cutover audit verify`: exit 0 when every checked log is intact (and extends the anchor),
/// 1 when one is not.
pub(crate) fn audit_verify(
    globals: &Globals,
    file: Option<&Path>,
    anchor: Option<&str>,
) -> Outcome {
    let files = match (file, anchor) {
        (Some(f), _) => vec![f.to_path_buf()],
        // An anchor belongs to one log.
        (None, Some(_)) => vec![one_log(globals, None)?],
        (None, None) => logs_in_data_dir(globals)?,
    };
    if let Some(a) = anchor
        && !(a.len() == 64 && a.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(Failure::Input(format!(
            "--anchor must be the 64 hex digits of a head hash (from `cutover audit anchor`), not \"{a}\""
        )));
    }
    let mut intact = true;
    for path in &files {
        let report =
            verify_file_anchored(path, anchor).map_err(|e| Failure::Input(e.to_string()))?;
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
                    "TAMPERED: {}: line {}: {} (head of the {} lines before it: {})",
                    path.display(),
                    bad.line,
                    bad.reason,
                    report.lines,
                    report.head
                );
            }
        }
        if let Some(a) = anchor {
            match report.anchor_line {
                Some(line) => println!(
                    "anchor: found at line {line}; the log extends it by {} lines",
                    report.lines - line
                ),
                None => {
                    intact = false;
                    println!(
                        "ANCHOR MISSING: no verified line of {} has hash {a}: the log was truncated \
                         or rewritten at or before the anchored line",
                        path.display()
                    );
                }
            }
        }
    }
    Ok(if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `cutover audit anchor`: the head to keep elsewhere; exit 1 if the log does not verify.
pub(crate) fn audit_anchor(globals: &Globals, file: Option<&Path>) -> Outcome {
    let path = one_log(globals, file)?;
    let report = verify_file(&path).map_err(|e| Failure::Input(e.to_string()))?;
    if let Some(bad) = &report.first_bad {
        return Err(Failure::Check(format!(
            "{} fails verification at line {}: {}; not anchoring a broken log",
            path.display(),
            bad.line,
            bad.reason
        )));
    }
    let records = records_of(&path)?;
    let (cutover, ts) = records
        .last()
        .map_or(("(empty)", "-"), |r| (r.cutover.as_str(), r.ts.as_str()));
    println!("cutover audit anchor");
    println!("  cutover: {cutover}");
    println!("  log:     {}", path.display());
    println!("  line:    {} (written {ts})", report.lines);
    println!("  head:    {}", report.head);
    println!(
        "  check:   cutover audit verify --file {} --anchor {}",
        path.display(),
        report.head
    );
    Ok(ExitCode::SUCCESS)
}

/// The filter `cutover audit show`'s flags describe.
impl AuditShowArgs {
    /// `day` is the date bare times (`12:00`) refer to: that of the log's last line.
    fn filter(&self, day: Option<&str>) -> Result<Filter, Failure> {
        let time = |t: &Option<String>, flag: &str| {
            t.as_deref()
                .map(|t| parse_time(t, day).map_err(|e| Failure::Input(format!("--{flag}: {e}"))))
                .transpose()
        };
        let mut kinds = Vec::new();
        for k in self.kind.iter().flat_map(|k| k.split(',')) {
            kinds.push(parse_kind(k).map_err(|e| Failure::Input(format!("--kind: {e}")))?);
        }
        Ok(Filter {
            since: time(&self.since, "since")?,
            until: time(&self.until, "until")?,
            kinds,
            tenant: self.tenant.clone(),
            object: self.object.clone(),
            words: Vec::new(),
        })
    }
}

/// `cutover audit show`: one line per record, oldest first.
pub(crate) fn audit_show(globals: &Globals, query: &AuditShowArgs) -> Outcome {
    // Check the flags before touching files, so a typo is reported as such.
    query.filter(Some("2000-01-01"))?;
    let path = one_log(globals, query.file.as_deref())?;
    let records = records_of(&path)?;
    let day = records.last().and_then(|r| r.ts.get(..10));
    let filter = query.filter(day)?;
    let mut out = std::io::stdout().lock();
    let mut shown = 0;
    for r in records.iter().filter(|r| filter.matches(r)) {
        shown += 1;
        let _ = writeln!(out, "{}", show_line(r));
    }
    let _ = writeln!(out, "({shown} of {} lines)", records.len());
    Ok(ExitCode::SUCCESS)
}

/// `#12  2026-11-21 12:00:03  observed     dns  contoso.com MX  mx ttl changed: 3600 → 300`
fn show_line(r: &Record) -> String {
    let e = &r.event;
    let ts = r.ts.get(..19).unwrap_or(&r.ts).replacen('T', " ", 1);
    let mut line = format!(
        "#{:<5} {ts}  {:<13} {:<11} {}",
        r.seq,
        e.kind.as_str(),
        e.tenant.as_deref().unwrap_or("-"),
        e.action
    );
    if let Some(t) = &e.target {
        line.push_str(&format!("  [{t}]"));
    }
    if e.before.is_some() || e.after.is_some() {
        let v = |v: &Option<serde_json::Value>| v.as_ref().map_or("-".into(), |v| v.to_string());
        line.push_str(&format!(": {} → {}", v(&e.before), v(&e.after)));
    }
    if let Some(res) = &e.result {
        line.push_str(&format!("  result: {res}"));
    }
    if let Some(id) = &e.request_id {
        line.push_str(&format!("  request-id: {id}"));
    }
    line.push_str(&format!("  by {}", r.operator));
    if let Some(upn) = &r.upn {
        line.push_str(&format!(" ({upn})"));
    }
    line
}

/// `cutover audit export --csv|--json`.
pub(crate) fn audit_export(
    globals: &Globals,
    file: Option<&Path>,
    csv: bool,
    out: Option<&Path>,
) -> Outcome {
    let path = one_log(globals, file)?;
    let records = records_of(&path)?;
    let text = if csv {
        to_csv(&records)
    } else {
        to_json(&records)
    }
    .map_err(|e| Failure::Input(format!("cannot export {}: {e}", path.display())))?;
    write_out(out, &text)?;
    Ok(ExitCode::SUCCESS)
}

fn write_out(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out {
        Some(o) => std::fs::write(o, text).map_err(|e| {
            Failure::Input(format!(
                "cannot write {}: {e}; check that its folder exists and is writable",
                o.display()
            ))
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = stdout.write_all(text.as_bytes());
            Ok(())
        }
    }
}

/// `cutover audit report --out FILE.md|FILE.html`.
pub(crate) fn audit_report(globals: &Globals, file: Option<&Path>, out: &Path) -> Outcome {
    let ext = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let html = match ext.as_deref() {
        Some("md" | "markdown") => false,
        Some("html" | "htm") => true,
        _ => {
            return Err(Failure::Input(format!(
                "--out {}: the report is written as Markdown (.md) or HTML (.html); name the file so",
                out.display()
            )));
        }
    };
    let path = one_log(globals, file)?;
    let integrity = verify_file(&path).map_err(|e| Failure::Input(e.to_string()))?;
    let records = records_of(&path)?;
    let source = path.display().to_string();
    let text = if html {
        report_html(&source, &records, &integrity)
    } else {
        report_markdown(&source, &records, &integrity)
    };
    write_out(Some(out), &text)?;
    println!(
        "report: {} ({} lines, head {})",
        out.display(),
        records.len(),
        integrity.head
    );
    Ok(ExitCode::SUCCESS)
}

/// Hidden `cutover audit stress-append`: append notes through the real journal and print each
/// line number after `append` returned, so a crash test knows which lines were stored.
pub(crate) fn audit_stress_append(file: &Path, cutover: &str, count: Option<u64>) -> Outcome {
    let mut journal = Journal::open(file, cutover).map_err(|e| Failure::Input(e.to_string()))?;
    let mut stdout = std::io::stdout().lock();
    let mut n = 0u64;
    while count.is_none_or(|c| n < c) {
        n += 1;
        // Alternate kinds so both the fsynced and the group-committed paths are exercised.
        let kind = if n.is_multiple_of(2) {
            Kind::Observed
        } else {
            Kind::Intent
        };
        let record = journal
            .append(
                Event::new(kind, format!("stress line {n}"))
                    .target("stress")
                    .details(serde_json::json!({"pad": "x".repeat((n % 200) as usize)})),
            )
            .map_err(|e| Failure::Service(e.to_string()))?;
        let _ = writeln!(stdout, "{}", record.seq);
        let _ = stdout.flush();
    }
    Ok(ExitCode::SUCCESS)
}
