//! The Connections pane (6) on the real binary in a real terminal (tmux), against `cutover sim
//! serve` in its own process: the seeded CRM's delegated grants are listed with their planned
//! change; one is selected, previewed (the route and its undo) and applied — the row says
//! applied, the journal holds its intent and an ok outcome, and `cutover access` no longer
//! lists it; `u` puts it back through the journal's inverse; with read-only on, an apply sends
//! nothing (the sim's count of mutating requests stays put). Without Directory.Read.All the
//! pane shows Graph's refusal.

use std::path::Path;

use serde_json::Value;

use crate::common::cli::{ok, run};
use crate::common::{Terminal, sim_serve};

const DOMAIN: &str = "contoso.example";
const CRM: &str = "Northwind CRM";
/// At 120 columns with the pane focused, the Audit pane takes the first 30 (25 %).
const AUDIT_COLUMNS: usize = 30;

fn access(dir: &Path) -> Value {
    let text = ok(&run(dir, &["access", "--tenant", "source", "--json"]));
    serde_json::from_str(&text).expect("one JSON object")
}

/// The CRM's delegated grants: (grant id, the person who consented).
fn crm_grants(dir: &Path) -> Vec<(String, String)> {
    access(dir)["apps"]
        .as_array()
        .expect("apps")
        .iter()
        .filter(|a| a["display_name"] == CRM)
        .flat_map(|a| a["delegated"].as_array().cloned().unwrap_or_default())
        .map(|d| {
            (
                d["grant_id"].as_str().unwrap_or_default().to_string(),
                d["user"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Mutating requests the sim received (`GET /sim/mutations`).
fn received(graph_url: &str) -> u64 {
    use std::io::{Read, Write};
    let addr = graph_url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr).expect("connect to the sim");
    write!(
        s,
        "GET /sim/mutations HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut text = String::new();
    s.read_to_string(&mut text).expect("read");
    let (_, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let v: Value = serde_json::from_str(body).expect("mutations JSON");
    v["received"].as_u64().expect("received")
}

fn journal(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("data/audit/{DOMAIN}.jsonl")))
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line"))
        .collect()
}

/// The Connections pane's part of the line showing the CRM's row (the filter shows one).
fn crm_row(screen: &str) -> String {
    screen
        .lines()
        .map(|l| l.chars().skip(AUDIT_COLUMNS).collect::<String>())
        .find(|l| l.contains(CRM) && !l.contains("[/"))
        .unwrap_or_default()
}

/// The text of the dialog titled `title`, spaces collapsed (its rows joined). Only the
/// dialog's own columns are read: the panes' borders beside it are not its end.
fn dialog_text(screen: &str, title: &str) -> String {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let head = format!("┌ {title}");
    let Some((top, left)) = lines.iter().enumerate().find_map(|(i, l)| {
        let text: String = l.iter().collect();
        text.find(&head).map(|b| (i, text[..b].chars().count()))
    }) else {
        return String::new();
    };
    let right = (left + 1..lines[top].len())
        .find(|&x| lines[top][x] == '┐')
        .unwrap_or(lines[top].len());
    let mut out = Vec::new();
    for l in &lines[top + 1..] {
        if l.get(left) != Some(&'│') {
            break;
        }
        out.push(l[left + 1..right.min(l.len())].iter().collect::<String>());
    }
    out.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_grant_is_listed_previewed_revoked_restored_and_read_only_sends_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let config = dir.join("sim.toml");
    let data = dir.join("data");
    let served = sim_serve(
        &config,
        &dir.join("sim-data"),
        &[
            "--grant-permission",
            "Directory.Read.All",
            "--grant-permission",
            "DelegatedPermissionGrant.ReadWrite.All",
        ],
    );
    let graph_url = served.info["graph_url"]
        .as_str()
        .expect("graph_url")
        .to_string();
    let grants = crm_grants(dir);
    assert_eq!(grants.len(), 3, "{grants:?}");
    let (grant, person) = grants[0].clone();

    let tmux = Terminal::dashboard(&config, &data);
    tmux.wait_for("the dashboard", |s| s.contains("6 Connections"));
    tmux.keys(&["6"]);
    tmux.wait_for("the CRM's grants with their planned change", |s| {
        s.contains("▶ 6 Connections") && s.contains(CRM) && s.contains("revoke the delegated")
    });

    // One grant: the filter finds it by who consented (the details are filtered too).
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &person]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filtered row", |s| {
        s.contains(&format!("[/{person}]")) && crm_row(s).contains("planned")
    });
    tmux.keys(&["Space"]);
    tmux.wait_for("the selection", |s| {
        s.contains("1 selected") && crm_row(s).contains('●')
    });
    tmux.keys(&["p"]);
    tmux.wait_for("the preview", |s| {
        let d = dialog_text(s, "Preview:");
        d.contains("revoke the delegated grant via DELETE /v1.0/oauth2PermissionGrants/")
            && d.contains("undo: POST /v1.0/oauth2PermissionGrants")
            && d.contains("[planned]")
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the preview closed", |s| !s.contains("┌ Preview:"));

    // Apply: the row says applied, the journal has the intent and an ok outcome, and the
    // inventory no longer lists the grant.
    tmux.keys(&["a"]);
    tmux.wait_for("the confirmation", |s| {
        dialog_text(s, "Apply?").contains("Apply 1 change to 1 object in the source tenant")
    });
    tmux.keys(&["Enter"]);
    tmux.wait_for("applied", |s| crm_row(s).contains("applied"));
    let lines = journal(dir);
    let intent = lines
        .iter()
        .find(|l| l["kind"] == "intent" && l["target"] == grant.as_str())
        .unwrap_or_else(|| panic!("no intent for {grant}"));
    let outcome = lines
        .iter()
        .filter(|l| l["kind"] == "outcome")
        .find(|l| l["details"]["change"] == intent["details"]["change"])
        .unwrap_or_else(|| panic!("no outcome for {intent}"));
    assert_eq!(outcome["result"], "ok", "{outcome}");
    assert!(
        crm_grants(dir).iter().all(|(id, _)| *id != grant),
        "still listed"
    );

    // Undo: the grant is back for the same person.
    tmux.keys(&["u"]);
    tmux.wait_for("the undo's confirmation", |s| s.contains("┌ Undo?"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("undone", |s| crm_row(s).contains("undone"));
    assert!(
        crm_grants(dir).iter().any(|(_, who)| *who == person),
        "not restored"
    );

    // Applied again after the undo: sent again (the journal's earlier ok outcome no longer
    // counts once its inverse was applied), and undone again.
    tmux.keys(&["a"]);
    tmux.wait_for("the confirmation", |s| s.contains("┌ Apply?"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("applied again", |s| crm_row(s).contains("applied"));
    assert!(
        crm_grants(dir).iter().all(|(_, who)| *who != person),
        "the re-applied revoke was not sent"
    );
    tmux.keys(&["u"]);
    tmux.wait_for("the undo's confirmation", |s| s.contains("┌ Undo?"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("undone again", |s| crm_row(s).contains("undone"));
    assert!(
        crm_grants(dir).iter().any(|(_, who)| *who == person),
        "not restored the second time"
    );

    // Read-only, on the CRM's next grant: the apply is journaled as refused and nothing
    // reaches the sim.
    let (_, other) = grants[1].clone();
    tmux.keys(&["Space"]);
    tmux.wait_for("the selection dropped", |s| !s.contains("1 selected"));
    // Esc clears the filter; a key right after it would read as Alt+key.
    tmux.keys(&["Escape"]);
    tmux.wait_for("the filter cleared", |s| {
        !s.contains(&format!("[/{person}]"))
    });
    tmux.keys(&["/"]);
    tmux.keys(&["-l", &other]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the next grant's row", |s| {
        s.contains(&format!("[/{other}]")) && crm_row(s).contains("planned")
    });
    tmux.keys(&["R"]);
    tmux.wait_for("read-only", |s| s.contains("READ-ONLY"));
    let before = received(&graph_url);
    tmux.keys(&["a"]);
    tmux.wait_for("the confirmation", |s| s.contains("┌ Apply?"));
    tmux.keys(&["Enter"]);
    tmux.wait_for("not sent", |s| crm_row(s).contains("not sent"));
    assert_eq!(received(&graph_url), before, "a write reached the sim");
    assert!(
        crm_grants(dir).iter().any(|(_, who)| *who == other),
        "the grant went"
    );

    // `m`: the shown tenant's mail apps reviewed, journaled as `cutover access
    // --mark-reviewed` does (the mail_apps_reviewed gate reads it).
    tmux.keys(&["m"]);
    tmux.wait_for("the review noted", |s| {
        s.contains("mail apps marked reviewed")
    });
    let review = journal(dir)
        .into_iter()
        .find(|r| r["action"] == "mail apps reviewed")
        .expect("a review record");
    assert_eq!(review["tenant"], "source");
    assert!(
        review["details"]["apps"]
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "{review}"
    );
    tmux.keys(&["q"]);
}

#[test]
fn without_directory_read_all_the_pane_shows_graphs_refusal() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let config = dir.join("sim.toml");
    let _served = sim_serve(&config, &dir.join("sim-data"), &[]);
    let tmux = Terminal::dashboard(&config, &dir.join("data"));
    tmux.wait_for("the dashboard", |s| s.contains("6 Connections"));
    tmux.keys(&["6"]);
    tmux.wait_for("the refusal", |s| {
        s.contains("refused:") && s.contains("Directory.Read.All")
    });
    tmux.keys(&["q"]);
}
