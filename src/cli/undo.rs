//! `cutover undo CHANGE_ID… [--yes] [--read-only]`: the inverses of applied changes, built
//! from the journal's recorded before-values ([`crate::plan::backout::undo_plan`]), written as
//! a plan file (`<data dir>/state/<domain>.undo.json`) and applied by `cutover apply` itself,
//! so the same snapshot rule, confirmation, journal and `--resume` hold.

use super::args::{ApplyArgs, UndoArgs};
use super::{Failure, Globals, Outcome, apply, config, plan, prepare};

pub(crate) fn undo(globals: &Globals, args: &UndoArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let records = plan::journal_records(&paths, &domain.ascii)?;
    let plan = crate::plan::backout::undo_plan(&domain.ascii, &records, &args.changes)
        .map_err(Failure::Input)?;
    let file = paths.state_file(&format!("{}.undo", domain.ascii));
    let json = serde_json::to_vec_pretty(&plan)
        .map_err(|e| Failure::Service(format!("cannot write the undo plan: {e}")))?;
    crate::store::write_atomic(&file, &json)
        .map_err(|e| Failure::Service(format!("cannot write {}: {e}", file.display())))?;
    apply::apply(
        globals,
        &ApplyArgs {
            plan: Some(file),
            resume: false,
            run: args.run.clone(),
        },
    )
}
