//! Reading the journal afterwards: CSV and JSON export for tools, and the change-board report
//! (Markdown or HTML) with the timeline of actions, failures and retries, what was backed out,
//! and the head hash.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::record::{Kind, Record};
use super::verify::VerifyReport;

/// CSV columns, in order.
pub const CSV_COLUMNS: [&str; 17] = [
    "v",
    "seq",
    "ts",
    "cutover",
    "operator",
    "upn",
    "kind",
    "tenant",
    "target",
    "action",
    "before",
    "after",
    "details",
    "result",
    "request_id",
    "prev",
    "hash",
];

/// One CSV file: a header row, then one row per record; JSON values (before, after, details)
/// as compact JSON text.
pub fn to_csv(records: &[Record]) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(|e| e.to_string())?;
    let json =
        |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
    for r in records {
        let e = &r.event;
        let row = [
            r.v.to_string(),
            r.seq.to_string(),
            r.ts.clone(),
            r.cutover.clone(),
            r.operator.clone(),
            r.upn.clone().unwrap_or_default(),
            e.kind.as_str().to_string(),
            e.tenant.clone().unwrap_or_default(),
            e.target.clone().unwrap_or_default(),
            e.action.clone(),
            json(&e.before),
            json(&e.after),
            if e.details.is_null() {
                String::new()
            } else {
                e.details.to_string()
            },
            e.result.clone().unwrap_or_default(),
            e.request_id.clone().unwrap_or_default(),
            r.prev.clone(),
            r.hash.clone(),
        ];
        w.write_record(&row).map_err(|e| e.to_string())?;
    }
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// A JSON array of the records, each with the fields of its stored line.
pub fn to_json(records: &[Record]) -> Result<String, String> {
    serde_json::to_string_pretty(records)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// Whether an action undoes an earlier one (there is no dedicated kind: back-outs are
/// intents/outcomes whose action says so).
pub fn is_back_out(action: &str) -> bool {
    let a = action.to_lowercase();
    [
        "back out",
        "back-out",
        "backout",
        "backed out",
        "undo",
        "revert",
        "roll back",
        "rollback",
    ]
    .iter()
    .any(|w| a.contains(w))
}

/// The report's content, independent of Markdown or HTML.
struct Section {
    title: String,
    lines: Vec<String>,
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

const ACTION_HEADER: [&str; 8] = [
    "#",
    "Time (UTC)",
    "Kind",
    "Tenant",
    "Target",
    "Action",
    "Result",
    "Request id",
];

fn action_row(r: &Record) -> Vec<String> {
    let e = &r.event;
    vec![
        r.seq.to_string(),
        r.ts.clone(),
        e.kind.as_str().to_string(),
        e.tenant.clone().unwrap_or_default(),
        e.target.clone().unwrap_or_default(),
        e.action.clone(),
        e.result.clone().unwrap_or_default(),
        e.request_id.clone().unwrap_or_default(),
    ]
}

fn sections(source: &str, records: &[Record], integrity: &VerifyReport) -> Vec<Section> {
    let mut out = Vec::new();
    let cutover = records
        .first()
        .map_or("(empty log)", |r| r.cutover.as_str());
    let count = |k: Kind| records.iter().filter(|r| r.event.kind == k).count();
    let failures: Vec<&Record> = records.iter().filter(|r| r.event.failed()).collect();
    let backed_out: Vec<&Record> = records
        .iter()
        .filter(|r| {
            matches!(
                r.event.kind,
                Kind::Intent | Kind::Outcome | Kind::UserAction
            ) && is_back_out(&r.event.action)
        })
        .collect();
    // A retry: the same change (tenant, target, action) intended more than once.
    let mut intents: BTreeMap<(String, String, String), Vec<u64>> = BTreeMap::new();
    for r in records.iter().filter(|r| r.event.kind == Kind::Intent) {
        let e = &r.event;
        intents
            .entry((
                e.tenant.clone().unwrap_or_default(),
                e.target.clone().unwrap_or_default(),
                e.action.clone(),
            ))
            .or_default()
            .push(r.seq);
    }
    let retries: Vec<_> = intents.into_iter().filter(|(_, s)| s.len() > 1).collect();
    let mut operators: Vec<String> = records
        .iter()
        .map(|r| match &r.upn {
            Some(upn) => format!("{} ({upn})", r.operator),
            None => r.operator.clone(),
        })
        .collect();
    operators.sort();
    operators.dedup();

    let integrity_line = match &integrity.first_bad {
        None => format!(
            "Integrity: the hash chain verifies ({} lines); head hash `{}`",
            integrity.lines, integrity.head
        ),
        Some(bad) => format!(
            "Integrity: BROKEN at line {}: {} (the {} lines before it verify; their head is `{}`)",
            bad.line, bad.reason, integrity.lines, integrity.head
        ),
    };
    out.push(Section {
        title: format!("Cutover audit report: {cutover}"),
        lines: vec![
            format!("Log: {source}"),
            format!(
                "Records: {} ({} to {})",
                records.len(),
                records.first().map_or("-", |r| r.ts.as_str()),
                records.last().map_or("-", |r| r.ts.as_str())
            ),
            format!("Operators: {}", operators.join(", ")),
            integrity_line,
            format!(
                "Changes intended: {}; outcomes: {}; failed: {}; retried changes: {}; backed out: {}; \
                 operator actions: {}; observed changes: {}; repairs: {}",
                count(Kind::Intent),
                count(Kind::Outcome),
                failures.len(),
                retries.len(),
                backed_out.len(),
                count(Kind::UserAction),
                count(Kind::Observed),
                count(Kind::Repair)
            ),
        ],
        header: Vec::new(),
        rows: Vec::new(),
    });
    out.push(Section {
        title: "Timeline of actions".into(),
        lines: vec!["Every line except observed changes (listed below), oldest first.".into()],
        header: ACTION_HEADER.to_vec(),
        rows: records
            .iter()
            .filter(|r| r.event.kind != Kind::Observed)
            .map(action_row)
            .collect(),
    });
    out.push(Section {
        title: "Failures".into(),
        lines: vec![if failures.is_empty() {
            "No change failed.".into()
        } else {
            "Outcomes whose result is not `ok`.".into()
        }],
        header: if failures.is_empty() {
            Vec::new()
        } else {
            ACTION_HEADER.to_vec()
        },
        rows: failures.iter().map(|r| action_row(r)).collect(),
    });
    out.push(Section {
        title: "Retries".into(),
        lines: vec![if retries.is_empty() {
            "No change was intended more than once.".into()
        } else {
            "Changes intended more than once, with the lines of each attempt.".into()
        }],
        header: if retries.is_empty() {
            Vec::new()
        } else {
            vec!["Tenant", "Target", "Action", "Attempts", "Lines"]
        },
        rows: retries
            .iter()
            .map(|((tenant, target, action), seqs)| {
                let lines: Vec<String> = seqs.iter().map(u64::to_string).collect();
                vec![
                    tenant.clone(),
                    target.clone(),
                    action.clone(),
                    seqs.len().to_string(),
                    lines.join(", "),
                ]
            })
            .collect(),
    });
    out.push(Section {
        title: "Backed out".into(),
        lines: vec![if backed_out.is_empty() {
            "Nothing was backed out.".into()
        } else {
            "Lines whose action backs out, undoes or reverts a change.".into()
        }],
        header: if backed_out.is_empty() {
            Vec::new()
        } else {
            ACTION_HEADER.to_vec()
        },
        rows: backed_out.iter().map(|r| action_row(r)).collect(),
    });
    let observed: Vec<&Record> = records
        .iter()
        .filter(|r| r.event.kind == Kind::Observed)
        .collect();
    out.push(Section {
        title: "Observed changes".into(),
        lines: vec![format!(
            "{} changes seen by the pollers (DNS answers, domain state).",
            observed.len()
        )],
        header: if observed.is_empty() {
            Vec::new()
        } else {
            vec![
                "#",
                "Time (UTC)",
                "Tenant",
                "Target",
                "Action",
                "Before → after",
            ]
        },
        rows: observed
            .iter()
            .map(|r| {
                let e = &r.event;
                let show = |v: &Option<serde_json::Value>| {
                    v.as_ref().map_or("-".to_string(), |v| v.to_string())
                };
                vec![
                    r.seq.to_string(),
                    r.ts.clone(),
                    e.tenant.clone().unwrap_or_default(),
                    e.target.clone().unwrap_or_default(),
                    e.action.clone(),
                    format!("{} → {}", show(&e.before), show(&e.after)),
                ]
            })
            .collect(),
    });
    out.push(Section {
        title: "Head hash".into(),
        lines: vec![format!(
            "Line {}, hash `{}`. Keep this with the change ticket; \
                 `cutover audit verify --anchor HASH` later proves the log still extends it.",
            integrity.lines, integrity.head
        )],
        header: Vec::new(),
        rows: Vec::new(),
    });
    out
}

/// The change-board report in Markdown.
pub fn report_markdown(source: &str, records: &[Record], integrity: &VerifyReport) -> String {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let mut md = String::new();
    for (i, s) in sections(source, records, integrity).iter().enumerate() {
        let _ = writeln!(md, "{} {}\n", if i == 0 { "#" } else { "##" }, s.title);
        for line in &s.lines {
            let _ = writeln!(md, "{}{line}", if i == 0 { "- " } else { "" });
        }
        md.push('\n');
        if !s.header.is_empty() {
            let _ = writeln!(md, "| {} |", s.header.join(" | "));
            let _ = writeln!(md, "|{}", "---|".repeat(s.header.len()));
            for row in &s.rows {
                let cells: Vec<String> = row.iter().map(|c| cell(c)).collect();
                let _ = writeln!(md, "| {} |", cells.join(" | "));
            }
            md.push('\n');
        }
    }
    md
}

/// The change-board report as one self-contained HTML page.
pub fn report_html(source: &str, records: &[Record], integrity: &VerifyReport) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    // Inline code in the lines, as in the Markdown.
    let inline = |s: &str| {
        let mut out = String::new();
        for (i, part) in esc(s).split('`').enumerate() {
            if i % 2 == 1 {
                let _ = write!(out, "<code>{part}</code>");
            } else {
                out.push_str(part);
            }
        }
        out
    };
    let all = sections(source, records, integrity);
    let mut h = String::from("<!doctype html>\n<html><head><meta charset=\"utf-8\">\n");
    let _ = writeln!(
        h,
        "<title>{}</title>\n<style>body{{font-family:sans-serif;margin:2em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:2px 6px;text-align:left}}\
         code{{font-size:90%}}</style></head><body>",
        esc(&all[0].title)
    );
    for (i, s) in all.iter().enumerate() {
        let tag = if i == 0 { "h1" } else { "h2" };
        let _ = writeln!(h, "<{tag}>{}</{tag}>", esc(&s.title));
        for line in &s.lines {
            let _ = writeln!(h, "<p>{}</p>", inline(line));
        }
        if !s.header.is_empty() {
            h.push_str("<table>\n<tr>");
            for c in &s.header {
                let _ = write!(h, "<th>{}</th>", esc(c));
            }
            h.push_str("</tr>\n");
            for row in &s.rows {
                h.push_str("<tr>");
                for c in row {
                    let _ = write!(h, "<td>{}</td>", esc(c));
                }
                h.push_str("</tr>\n");
            }
            h.push_str("</table>\n");
        }
    }
    h.push_str("</body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Event;

    #[test]
    fn back_outs_are_recognised() {
        assert!(is_back_out("Back out MX change"));
        assert!(is_back_out("undo alias removal"));
        assert!(is_back_out("rollback domain move"));
        assert!(!is_back_out("remove alias"));
    }

    #[test]
    fn csv_quotes_commas_and_json() {
        let r = Record {
            v: 2,
            seq: 1,
            ts: "2026-11-21T12:00:00.000Z".into(),
            cutover: "c".into(),
            operator: "alex".into(),
            event: Event::new(Kind::Intent, "remove alias, then wait")
                .change(serde_json::json!({"a": [1, 2]}), serde_json::json!(null)),
            upn: None,
            prev: "0".repeat(64),
            hash: "1".repeat(64),
        };
        let text = to_csv(&[r]).unwrap();
        let mut rd = csv::Reader::from_reader(text.as_bytes());
        let row = rd.records().next().unwrap().unwrap();
        assert_eq!(&row[9], "remove alias, then wait");
        assert_eq!(&row[10], r#"{"a":[1,2]}"#);
        assert_eq!(&row[11], "null");
    }
}
