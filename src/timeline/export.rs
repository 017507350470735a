//! `cutover timeline --format md|json|csv`: the plan with each step's status, for the change
//! record.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::status::{StepState, StepView};
use crate::plan::Runbook;
use crate::plan::cutover_time::rfc3339;
use crate::plan::progress::Progress;

/// The columns of the CSV export, in order.
pub const CSV_COLUMNS: [&str; 12] = [
    "phase", "step", "title", "owner", "optional", "due", "due_at", "status", "detail", "gate",
    "observed", "note",
];

/// One row per step, in runbook order.
fn rows(runbook: &Runbook, views: &[StepView], progress: &Progress) -> Vec<[String; 12]> {
    runbook
        .steps()
        .zip(views)
        .map(|((phase, step), view)| {
            [
                phase.id.clone(),
                step.id.clone(),
                step.title.clone(),
                step.owner.clone(),
                if step.optional { "yes" } else { "" }.to_string(),
                step.due_label(),
                view.due_at.map(rfc3339).unwrap_or_default(),
                view.state.label().to_string(),
                state_detail(&view.state),
                step.gate_text().unwrap_or_default().to_string(),
                view.gate
                    .as_ref()
                    .map(|g| g.observed.clone())
                    .unwrap_or_default(),
                progress.notes.get(&step.id).cloned().unwrap_or_default(),
            ]
        })
        .collect()
}

/// Who, when, why: the part of a status beyond its label.
pub fn state_detail(state: &StepState) -> String {
    match state {
        StepState::Overdue(by) => format!("by {}", super::status::span(*by)),
        StepState::DoneByGate(Some(at)) => format!("since {}", rfc3339(*at)),
        StepState::DoneByHand { by, at } => match at {
            Some(at) => format!("{by} at {}", rfc3339(*at)),
            None => by.clone(),
        },
        StepState::Skipped { by, reason } => format!("{by}: {reason}"),
        StepState::Failed {
            by: Some(by),
            reason,
        } => format!("{by}: {reason}"),
        StepState::Failed { by: None, reason } => reason.clone(),
        _ => String::new(),
    }
}

pub fn csv(runbook: &Runbook, views: &[StepView], progress: &Progress) -> Result<String, String> {
    let mut w = ::csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(|e| e.to_string())?;
    for row in rows(runbook, views, progress) {
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

pub fn json(
    runbook: &Runbook,
    views: &[StepView],
    progress: &Progress,
    cutover_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Value {
    let steps: Vec<Value> = rows(runbook, views, progress)
        .into_iter()
        .map(|row| {
            let mut obj = serde_json::Map::new();
            for (key, value) in CSV_COLUMNS.iter().zip(row) {
                let value = match *key {
                    "optional" => json!(value == "yes"),
                    _ if value.is_empty() => Value::Null,
                    _ => json!(value),
                };
                obj.insert((*key).to_string(), value);
            }
            Value::Object(obj)
        })
        .collect();
    json!({
        "cutover_at": cutover_at.map(rfc3339),
        "generated_at": rfc3339(now),
        "steps": steps,
    })
}

/// Markdown: one table per phase.
pub fn markdown(
    runbook: &Runbook,
    views: &[StepView],
    progress: &Progress,
    domain: &str,
    cutover_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut out = format!("# Cutover timeline: {domain}\n\n");
    out.push_str(&match cutover_at {
        Some(t) => format!("T = {}. ", rfc3339(t)),
        None => "T is not set. ".to_string(),
    });
    out.push_str(&format!("Status as of {}.\n", rfc3339(now)));
    let all = rows(runbook, views, progress);
    let mut rows = all.iter().peekable();
    for phase in &runbook.phases {
        out.push_str(&format!("\n## {}\n\n", cell(&phase.title)));
        out.push_str("| Step | Owner | Due | Status | Gate | Note |\n| --- | --- | --- | --- | --- | --- |\n");
        while let Some(row) = rows.next_if(|r| r[0] == phase.id) {
            let due = if row[6].is_empty() {
                row[5].clone()
            } else {
                format!("{} ({})", row[5], row[6])
            };
            let status = if row[8].is_empty() {
                row[7].clone()
            } else {
                format!("{}: {}", row[7], row[8])
            };
            let gate = if row[9].is_empty() {
                String::new()
            } else {
                format!("`{}` — {}", row[9], row[10])
            };
            out.push_str(&format!(
                "| {}{} | {} | {} | {} | {} | {} |\n",
                cell(&row[2]),
                if row[4] == "yes" { " (optional)" } else { "" },
                cell(&row[3]),
                cell(&due),
                cell(&status),
                cell(&gate),
                cell(&row[11]),
            ));
        }
    }
    out
}
