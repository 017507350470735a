//! The cleanup workbench on the real binary in a real terminal (tmux), against `cutover sim
//! serve` in its own process: one user selected, previewed and applied (the journal holds the
//! intent and the outcome, and verifies); a user made directory-synced through the sim's
//! `POST /sim/object` fails with Microsoft's message, and `r` applies it once it is cloud-only
//! again; `u` undoes the first through the journal's inverse (the sim shows the old UPN back);
//! read-only sends nothing (the sim's counter of mutating requests stays put); a bulk apply with
//! `*` is sent only once the domain is typed. Each step is checked on screen and in the sim or
//! the journal.

use std::path::Path;

use serde_json::{Value, json};

use crate::common::cli::{ok, run};
use crate::common::{BIN, Terminal, sim_serve};

const DOMAIN: &str = "contoso.example";

/// One user the workbench can release: cloud-only, licensed, with its UPN and an alias in the
/// domain, an ASCII name (so the screen's columns are its characters).
#[derive(Debug, Clone)]
struct Person {
    id: String,
    upn: String,
    aliases: Vec<String>,
}

fn inventory(dir: &Path) -> Vec<Value> {
    ok(&run(dir, &["inventory", "--tenant", "source", "--json"]))
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn refs<'a>(e: &'a Value, how: &'a str) -> impl Iterator<Item = String> + 'a {
    e["references"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |r| r["how"] == how)
        .filter_map(|r| r["value"].as_str().map(str::to_string))
}

/// Users whose UPN no other entry's text contains (a filter on it shows one row).
fn people(entries: &[Value]) -> Vec<Person> {
    let text: Vec<String> = entries
        .iter()
        .map(|e| e.to_string().to_lowercase())
        .collect();
    let mut found = entries
        .iter()
        .filter(|e| {
            e["kind"] == "user"
                && e["synced"] != json!(true)
                && e["enabled"] == json!(true)
                && e["licences"].as_u64().is_some_and(|n| n > 0)
                && e["display_name"].as_str().is_some_and(|n| n.is_ascii())
        })
        .filter_map(|e| {
            let upn = refs(e, "userPrincipalName").next()?;
            let aliases: Vec<String> = refs(e, "smtpAddress").collect();
            let unique = text
                .iter()
                .filter(|t| t.contains(&upn.to_lowercase()))
                .count()
                == 1;
            // Short enough that each preview line wraps onto two rows at most.
            let short = upn.len() <= 32 && aliases.len() <= 2;
            (upn.is_ascii() && !aliases.is_empty() && unique && short).then(|| Person {
                id: e["id"].as_str().unwrap_or_default().to_string(),
                upn,
                aliases,
            })
        })
        .collect::<Vec<Person>>();
    // The same users whatever order the listing came in.
    found.sort_by(|a, b| a.upn.cmp(&b.upn));
    found
}

/// The inventory entry of `id`, if it still holds the domain.
fn entry(dir: &Path, id: &str) -> Option<Value> {
    inventory(dir).into_iter().find(|e| e["id"] == id)
}

/// A form POST or a GET to the sim over HTTP (its own routes, not Microsoft's).
fn sim_http(url: &str, form: Option<&[(&str, &str)]>) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let req = match form {
            Some(f) => client.post(url).form(f),
            None => client.get(url),
        };
        let resp = req.send().await.expect("sim answers");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("json"))
    })
}

fn set_synced(base: &str, upn: &str, synced: bool) {
    let synced = synced.to_string();
    let got = sim_http(
        &format!("{base}/sim/object"),
        Some(&[("tenant", "source"), ("user", upn), ("synced", &synced)]),
    );
    assert_eq!(got.0, 200, "{}", got.1);
}

/// Mutating requests the sim received (authorized), whatever became of them.
fn received(base: &str) -> u64 {
    let got = sim_http(&format!("{base}/sim/mutations"), None);
    got.1["received"].as_u64().expect("received")
}

fn journal(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join(format!("data/audit/{DOMAIN}.jsonl")))
        .expect("journal")
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line"))
        .collect()
}

/// The journal's intent and outcome lines about object `id`: (intent, outcome) per change.
fn changes_of(lines: &[Value], id: &str) -> Vec<(Value, Option<Value>)> {
    lines
        .iter()
        .filter(|l| l["kind"] == "intent" && l["target"] == id)
        .map(|intent| {
            let change = &intent["details"]["change"];
            let outcome = lines
                .iter()
                .filter(|l| l["kind"] == "outcome" && &l["details"]["change"] == change)
                .find(|l| l["seq"].as_u64() > intent["seq"].as_u64())
                .cloned();
            (intent.clone(), outcome)
        })
        .collect()
}

/// The text inside the dialog whose top border carries `title`, its lines joined and spaces
/// collapsed (a wrapped line reads as one).
fn dialog_text(screen: &str, title: &str) -> String {
    let lines: Vec<Vec<char>> = screen.lines().map(|l| l.chars().collect()).collect();
    let Some((top, left)) = lines.iter().enumerate().find_map(|(y, l)| {
        let s: String = l.iter().collect();
        let at = s.find(&format!("┌ {title}"))?;
        Some((y, s[..at].chars().count()))
    }) else {
        return String::new();
    };
    let right = lines[top]
        .iter()
        .skip(left + 1)
        .position(|c| *c == '┐')
        .map_or(lines[top].len(), |p| left + 1 + p);
    let mut out = Vec::new();
    for l in lines.iter().skip(top + 1) {
        if l.get(left) == Some(&'└') {
            break;
        }
        let inner: String = l
            .iter()
            .skip(left + 1)
            .take(right.saturating_sub(left + 1))
            .collect();
        out.push(inner);
    }
    out.join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The Users row of `upn` (the filter shows it alone).
fn row_of<'a>(screen: &'a str, upn: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(upn) && !l.contains("[/"))
        .unwrap_or_default()
}

/// Show only `upn`'s row: clear the filter, type the UPN as the filter.
fn filter_to(tmux: &Terminal, upn: &str) {
    clear_filter(tmux);
    tmux.keys(&["/"]);
    tmux.keys(&["-l", upn]);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filtered row", |s| {
        s.contains(&format!("[/{upn}]")) && s.contains("1 of ") && s.contains(upn)
    });
}

/// Esc clears the filter; sent only when one is shown, and waited for: an Esc followed at
/// once by another key reads as Alt and that key.
fn clear_filter(tmux: &Terminal) {
    if tmux.screen().contains("[/") {
        tmux.keys(&["Escape"]);
        tmux.wait_for("the filter cleared", |s| !s.contains("[/"));
    }
}

/// Wait until the dialog titled `title` shows what `check` wants (its text as [`dialog_text`]
/// gives it).
fn dialog(tmux: &Terminal, title: &str, check: impl Fn(&str) -> bool) {
    tmux.wait_for(&format!("the dialog {title}"), |s| {
        check(&dialog_text(s, title))
    });
}

fn confirm_and_wait(tmux: &Terminal, title: &str, upn: &str, state: &str) -> String {
    tmux.wait_for(title, |s| s.contains(&format!("┌ {title}")));
    tmux.keys(&["Enter"]);
    tmux.wait_for(state, |s| row_of(s, upn).contains(state))
}

#[test]
fn select_preview_apply_fail_retry_undo_read_only_and_bulk() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let config = dir.join("sim.toml");
    let data = dir.join("data");
    // UPN changes are Graph writes: the app must hold User.ReadWrite.All.
    let served = sim_serve(
        &config,
        &dir.join("sim-data"),
        &["--users", "40", "--grant-permission", "User.ReadWrite.All"],
    );
    let base = served.info["graph_url"]
        .as_str()
        .expect("graph_url")
        .trim_end_matches('/')
        .to_string();
    let found = people(&inventory(dir));
    assert!(found.len() >= 3, "three releasable users: {found:?}");
    let (one, synced, quiet) = (found[0].clone(), found[1].clone(), found[2].clone());

    let tmux = Terminal::dashboard(&config, &data);
    tmux.wait_for("the workbench's columns", |s| {
        s.contains("objects hold") && s.contains("State") && s.contains("planned")
    });
    tmux.keys(&["3"]);

    // Select one user; the preview says exactly what changes.
    filter_to(&tmux, &one.upn);
    tmux.keys(&["Space"]);
    tmux.wait_for("the selection", |s| {
        s.contains("1 selected") && row_of(s, &one.upn).contains('●')
    });
    tmux.keys(&["p"]);
    let local = one.upn.split('@').next().expect("local part");
    let new_upn = format!("{local}@");
    // Waited for as a whole: a capture may catch a frame half drawn.
    dialog(&tmux, "Preview:", |d| {
        d.contains(&format!("UPN {} to {new_upn}", one.upn))
            && d.contains("via PATCH /users")
            && d.contains(&format!("undo: set {} back", one.upn))
            && one.aliases.iter().all(|a| d.contains(a.as_str()))
            && d.contains("via Set-Mailbox; undo: add them back")
            && d.matches("[planned]").count() == 2
    });
    tmux.keys(&["Escape"]);
    tmux.wait_for("the preview closed", |s| !s.contains("┌ Preview:"));

    // Apply it: the row says applied, the sim no longer lists it as holding the domain, the
    // journal has an intent then an ok outcome for each change, and verifies.
    tmux.keys(&["a"]);
    dialog(&tmux, "Apply?", |d| {
        d.contains("Apply 2 changes to 1 object in the source tenant")
            && d.contains("Enter sends it")
    });
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("applied", |s| row_of(s, &one.upn).contains("applied"));
    assert!(
        screen.contains("apply: 2 of 2 done") || screen.contains("of 2 done"),
        "{screen}"
    );
    assert!(entry(dir, &one.id).is_none(), "still holds the domain");
    let lines = journal(dir);
    let done = changes_of(&lines, &one.id);
    assert_eq!(
        done.len(),
        2,
        "a UPN change and an alias removal: {done:#?}"
    );
    for (intent, outcome) in &done {
        let outcome = outcome
            .as_ref()
            .unwrap_or_else(|| panic!("no outcome for {intent}"));
        assert_eq!(outcome["result"], "ok", "{outcome}");
    }
    let verify = std::process::Command::new(BIN)
        .args(["audit", "verify", "--data-dir"])
        .arg(&data)
        .output()
        .expect("audit verify");
    assert!(
        verify.status.success(),
        "{}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    tmux.keys(&["Space"]);
    tmux.wait_for("nothing selected", |s| !s.contains(" selected"));

    // A synced user: the confirmation is up when the sim makes it synced; Graph refuses the
    // UPN change with Microsoft's words, shown on the row and in full in the preview.
    filter_to(&tmux, &synced.upn);
    tmux.keys(&["a"]);
    tmux.wait_for("the confirmation", |s| s.contains("┌ Apply?"));
    set_synced(&base, &synced.upn, true);
    let microsoft = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";
    // The state column shows the start of the reason; the preview shows it whole.
    let screen = confirm_and_wait(&tmux, "Apply?", &synced.upn, "failed");
    assert!(screen.contains("failed (r retries)"), "{screen}");
    tmux.keys(&["p"]);
    dialog(&tmux, "Preview:", |d| d.contains(microsoft));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the preview closed", |s| !s.contains("┌ Preview:"));
    let failed = changes_of(&journal(dir), &synced.id);
    let refusal = failed
        .iter()
        .filter_map(|(_, o)| o.as_ref())
        .find_map(|o| o["result"].as_str().filter(|r| r.contains(microsoft)));
    assert!(refusal.is_some(), "{failed:#?}");
    assert!(entry(dir, &synced.id).is_some(), "nothing changed");

    // Cloud-only again, `r` retries every failed change and it lands.
    set_synced(&base, &synced.upn, false);
    tmux.keys(&["r"]);
    confirm_and_wait(&tmux, "Retry?", &synced.upn, "applied");
    assert!(entry(dir, &synced.id).is_none(), "still holds the domain");

    // Undo the first one through the journal's inverses: its old UPN and aliases are back.
    filter_to(&tmux, &one.upn);
    tmux.keys(&["u"]);
    confirm_and_wait(&tmux, "Undo?", &one.upn, "undone");
    let back = entry(dir, &one.id).expect("holds the domain again");
    assert_eq!(
        refs(&back, "userPrincipalName").next(),
        Some(one.upn.clone())
    );
    for alias in &one.aliases {
        assert!(
            refs(&back, "smtpAddress").any(|a| &a == alias),
            "{alias}: {back}"
        );
    }

    // Read-only: said in the status bar; an apply journals a refusal and sends nothing.
    tmux.keys(&["R"]);
    tmux.wait_for("READ-ONLY", |s| {
        s.lines().last().is_some_and(|l| l.contains("READ-ONLY"))
    });
    let before = received(&base);
    filter_to(&tmux, &quiet.upn);
    tmux.keys(&["a"]);
    dialog(&tmux, "Apply?", |d| {
        d.contains("(read-only: nothing is sent)")
    });
    confirm_and_wait(&tmux, "Apply?", &quiet.upn, "not sent");
    tmux.keys(&["p"]);
    dialog(&tmux, "Preview:", |d| d.contains("[not sent: read-only]"));
    tmux.keys(&["Escape"]);
    tmux.wait_for("the preview closed", |s| !s.contains("┌ Preview:"));
    assert_eq!(received(&base), before, "read-only sent a write");
    let refused = changes_of(&journal(dir), &quiet.id);
    assert!(refused.is_empty(), "no intent in read-only: {refused:#?}");
    let outcomes: Vec<Value> = journal(dir)
        .into_iter()
        .filter(|l| l["kind"] == "outcome" && l["target"] == quiet.id.as_str())
        .collect();
    assert!(
        outcomes.len() == 2
            && outcomes
                .iter()
                .all(|o| o["result"] == "refused: read-only mode"),
        "{outcomes:#?}"
    );
    tmux.keys(&["R"]);
    tmux.wait_for("read-only off", |s| {
        s.lines().last().is_some_and(|l| !l.contains("READ-ONLY"))
    });

    // Bulk: `*` selects every row of the list; Enter without the domain typed sends nothing.
    clear_filter(&tmux);
    tmux.keys(&["*"]);
    let screen = tmux.wait_for("everything selected", |s| s.contains(" selected"));
    assert!(screen.contains('●'), "{screen}");
    tmux.keys(&["a"]);
    dialog(&tmux, "Apply?", |d| {
        d.contains(&format!("Type {DOMAIN} and Enter to go on"))
    });
    let before = received(&base);
    tmux.keys(&["Enter"]);
    tmux.wait_for("the refusal", |s| {
        s.contains(&format!("type {DOMAIN} to confirm a change to"))
    });
    assert!(tmux.screen().contains("┌ Apply?"), "the dialog stays");
    assert_eq!(received(&base), before, "sent without the domain typed");
    tmux.keys(&["-l", DOMAIN]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the bulk run's end", |s| {
        s.contains("apply: ") && s.contains(" done") && !s.contains("┌ Apply?")
    });
    assert!(received(&base) > before, "{screen}");
    assert!(entry(dir, &quiet.id).is_none(), "the bulk run released it");
    let confirmed = journal(dir)
        .into_iter()
        .rfind(|l| l["action"] == "workbench run confirmed")
        .expect("the bulk run confirmed");
    assert!(
        confirmed["details"]["objects"].as_u64() > Some(3),
        "{confirmed}"
    );

    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(20), 0, "{}", tmux.screen());
}
