//! `cutover timeline [--format md|json|csv] [--output FILE]`: the runbook with each step's
//! status (marks, every gate over one reading, the clock) for the change record.

use std::io::Write;
use std::process::ExitCode;

use time::OffsetDateTime;

use super::args::{TimelineArgs, TimelineFormat};
use super::check::Context;
use super::{Failure, Globals, Outcome};
use crate::timeline::export;
use crate::timeline::read::{Needs, first_held};

/// `cutover timeline`.
pub(crate) fn timeline(
    globals: &Globals,
    args: &TimelineArgs,
    cutover: Option<OffsetDateTime>,
) -> Outcome {
    let ctx = Context::load(globals, cutover)?;
    let now = OffsetDateTime::now_utc();
    // Marked steps show their mark: their gates need no reading.
    let needs = Needs::of(
        ctx.runbook
            .steps()
            .filter(|(_, s)| ctx.progress.mark(&s.id).is_none())
            .filter_map(|(_, s)| s.parsed_gate.as_ref()),
    );
    let facts = ctx.read(&needs, now)?;
    let held = first_held(&ctx.journal);
    let views = crate::timeline::compute(&ctx.runbook, &ctx.progress, &facts, &held, now);
    let text = match args.format {
        TimelineFormat::Md => export::markdown(
            &ctx.runbook,
            &views,
            &ctx.progress,
            &ctx.domain.display_both(),
            ctx.cutover_at,
            now,
        ),
        TimelineFormat::Json => format!(
            "{:#}\n",
            export::json(&ctx.runbook, &views, &ctx.progress, ctx.cutover_at, now)
        ),
        TimelineFormat::Csv => export::csv(&ctx.runbook, &views, &ctx.progress)
            .map_err(|e| Failure::Service(format!("cannot write the CSV: {e}")))?,
    };
    match &args.output {
        Some(path) => crate::store::write_atomic(path, text.as_bytes()).map_err(|e| {
            Failure::Input(format!(
                "cannot write {}: {}",
                path.display(),
                crate::store::describe_io(&e)
            ))
        })?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
