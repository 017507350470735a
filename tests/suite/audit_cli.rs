//! `cutover audit …` as a user runs it: kill -9 while appending, two processes on one log,
//! export round trip, the change-board report, anchors, and bad input.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use cutover::audit::{Event, Journal, Kind, Record, read_records, verify_file};
use serde_json::json;

fn cutover() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cutover"))
}

fn run(args: &[&str]) -> Output {
    cutover().args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Start the hidden appending loop on `file`.
fn appender(file: &Path) -> Child {
    cutover()
        .args(["audit", "stress-append", "--cutover", "stress", "--file"])
        .arg(file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A small xorshift, seeded from the clock, for kill moments (no extra dependency).
fn rng() -> impl FnMut() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    let mut x = now.map_or(1, |d| d.as_nanos() as u64) ^ 0x9E37_79B9_7F4A_7C15;
    x |= 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[test]
fn kill_9_while_appending_loses_no_stored_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("stress.jsonl");
    let mut next = rng();
    let mut acknowledged = 0u64;
    let mut repairs = 0u64;
    for trial in 0..20 {
        let mut child = appender(&file);
        let mut out = BufReader::new(child.stdout.take().unwrap());
        // Let it append for a random 5..=80 ms after its first line.
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(!line.is_empty(), "trial {trial}: appender printed nothing");
        std::thread::sleep(Duration::from_millis(5 + next() % 76));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Every number printed was returned by `append`: that line must survive.
        let mut last = line.trim().parse::<u64>().unwrap();
        for l in out.lines() {
            let l = l.unwrap();
            // A line cut by the kill may be partial; only whole numbers count.
            if let Ok(n) = l.trim().parse::<u64>() {
                last = n;
            }
        }
        assert!(last > acknowledged, "trial {trial}");
        acknowledged = last;
        // SIGKILL does not cut a single write() short (the page cache keeps it), so in every
        // other trial also leave what a power loss mid-write leaves: part of a next line.
        if trial % 2 == 1 {
            let text = std::fs::read_to_string(&file).unwrap();
            let last_line = text.lines().last().unwrap();
            let cut = 1 + (next() as usize) % (last_line.len() - 1);
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&file)
                .unwrap();
            std::io::Write::write_all(&mut f, &last_line.as_bytes()[..cut]).unwrap();
        }

        // Reopening repairs a torn tail, if any; then the whole file verifies.
        let j = Journal::open(&file, "stress").unwrap();
        let (seq, _) = j.head();
        drop(j);
        let report = verify_file(&file).unwrap();
        assert!(report.is_ok(), "trial {trial}: {report:?}");
        let records = read_records(&file).unwrap();
        repairs = records
            .iter()
            .filter(|r| r.event.kind == Kind::Repair)
            .count() as u64;
        assert_eq!(records.len() as u64, seq);
        // The acknowledged line is present (repair lines are added on top).
        let stored = records
            .iter()
            .filter(|r| r.event.action.starts_with("stress line"))
            .map(|r| r.seq)
            .max()
            .unwrap();
        assert!(
            stored >= acknowledged,
            "trial {trial}: {stored} < {acknowledged}"
        );
        acknowledged = seq;
    }
    assert_eq!(repairs, 10, "one repair per torn trial");
}

#[test]
fn a_second_process_is_refused_naming_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("busy.jsonl");
    let mut first = appender(&file);
    let mut out = BufReader::new(first.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();

    let second = run(&[
        "audit",
        "stress-append",
        "--cutover",
        "stress",
        "--count",
        "1",
        "--file",
        file.to_str().unwrap(),
    ]);
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = stderr(&second);
    assert!(
        err.contains("already open in another cutover process")
            && err.contains(&format!("process {}", first.id())),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A log with a failure, a retry and a back-out, as an executor would write it.
fn cutover_log(dir: &Path) -> PathBuf {
    let file = dir.join("audit").join("contoso-2026-11.jsonl");
    let mut j = Journal::open(&file, "contoso-2026-11").unwrap();
    let alias = |k: Kind, action: &str| {
        Event::new(k, action)
            .tenant("source")
            .target("user7@contoso.com")
    };
    j.append(Event::new(Kind::SessionStart, "dashboard opened"))
        .unwrap();
    j.append(alias(Kind::Intent, "remove alias").change(
        json!({"proxyAddresses": ["smtp:u7@contoso.com"]}),
        json!({"proxyAddresses": []}),
    ))
    .unwrap();
    j.append(
        alias(Kind::Outcome, "remove alias")
            .result("failed: 429 too many requests")
            .request_id("req-aaa"),
    )
    .unwrap();
    j.append(alias(Kind::Intent, "remove alias")).unwrap();
    j.append(
        alias(Kind::Outcome, "remove alias")
            .result("ok")
            .request_id("req-bbb"),
    )
    .unwrap();
    j.append(
        Event::new(Kind::Observed, "mx ttl changed")
            .tenant("dns")
            .target("contoso.com MX")
            .change(json!(3600), json!(300)),
    )
    .unwrap();
    j.append(alias(Kind::Intent, "back out: restore alias"))
        .unwrap();
    j.append(
        alias(Kind::Outcome, "back out: restore alias")
            .result("ok")
            .request_id("req-ccc"),
    )
    .unwrap();
    j.append(Event::new(Kind::SessionEnd, "dashboard closed"))
        .unwrap();
    file
}

#[test]
fn export_round_trips_and_csv_has_every_record() {
    let tmp = tempfile::tempdir().unwrap();
    let file = cutover_log(tmp.path());
    let records = read_records(&file).unwrap();

    let json_out = tmp.path().join("out.json");
    let o = run(&[
        "audit",
        "export",
        "--json",
        "--file",
        file.to_str().unwrap(),
        "--out",
        json_out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let parsed: Vec<Record> =
        serde_json::from_str(&std::fs::read_to_string(&json_out).unwrap()).unwrap();
    assert_eq!(parsed, records);

    // Default file: the only log under <data dir>/audit.
    let o = run(&[
        "--data-dir",
        tmp.path().to_str().unwrap(),
        "audit",
        "export",
        "--csv",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let mut rd = csv::Reader::from_reader(text.as_bytes());
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), records.len());
    for (row, r) in rows.iter().zip(&records) {
        assert_eq!(&row[1], r.seq.to_string());
        assert_eq!(&row[6], r.event.kind.as_str());
        assert_eq!(&row[9], r.event.action);
        assert_eq!(&row[16], r.hash);
    }
    assert_eq!(&rows[2][13], "failed: 429 too many requests");
    assert_eq!(&rows[2][14], "req-aaa");

    // Neither format: clap's usage error, exit 2.
    let o = run(&["audit", "export", "--file", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn report_shows_failures_retries_back_outs_and_head() {
    let tmp = tempfile::tempdir().unwrap();
    let file = cutover_log(tmp.path());
    let head = verify_file(&file).unwrap().head;
    let md = tmp.path().join("board.md");
    let o = run(&[
        "audit",
        "report",
        "--file",
        file.to_str().unwrap(),
        "--out",
        md.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&md).unwrap();
    let section = |title: &str| {
        let start = text.find(&format!("## {title}")).unwrap();
        let rest = &text[start + 3..];
        rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
    };
    assert!(text.contains(&head));
    assert!(section("Failures").contains("failed: 429 too many requests"));
    assert!(section("Failures").contains("req-aaa"));
    assert!(
        section("Retries").contains("| source | user7@contoso.com | remove alias | 2 | 2, 4 |")
    );
    assert!(section("Backed out").contains("back out: restore alias"));
    assert!(section("Timeline of actions").contains("req-bbb"));
    assert!(!section("Timeline of actions").contains("mx ttl changed"));
    assert!(section("Observed changes").contains("3600 → 300"));

    let html = tmp.path().join("board.html");
    let o = run(&[
        "audit",
        "report",
        "--file",
        file.to_str().unwrap(),
        "--out",
        html.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!doctype html>"));
    assert!(page.contains("<td>failed: 429 too many requests</td>") && page.contains(&head));
}

#[test]
fn anchor_then_truncate_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let file = cutover_log(tmp.path());
    let f = file.to_str().unwrap();
    let o = run(&["audit", "anchor", "--file", f]);
    assert!(o.status.success(), "{}", stderr(&o));
    let head = verify_file(&file).unwrap().head;
    assert!(stdout(&o).contains(&format!("head:    {head}")));
    assert!(stdout(&o).contains("line:    9"));

    // More lines later: still extends the anchor.
    {
        let mut j = Journal::open(&file, "contoso-2026-11").unwrap();
        j.append(Event::new(Kind::Note, "later")).unwrap();
    }
    let o = run(&["audit", "verify", "--file", f, "--anchor", &head]);
    assert!(o.status.success(), "{}", stdout(&o));
    assert!(stdout(&o).contains("found at line 9; the log extends it by 1 lines"));

    // Cut back to 8 whole lines: the file alone verifies, the anchor does not.
    let text = std::fs::read_to_string(&file).unwrap();
    let keep: String = text.split_inclusive('\n').take(8).collect();
    std::fs::write(&file, keep).unwrap();
    let o = run(&["audit", "verify", "--file", f]);
    assert_eq!(o.status.code(), Some(0));
    let o = run(&["audit", "verify", "--file", f, "--anchor", &head]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("ANCHOR MISSING"), "{}", stdout(&o));

    // A flipped byte: verify names the line and prints the head before it.
    let mut bytes = std::fs::read(&file).unwrap();
    let at = text
        .split_inclusive('\n')
        .take(2)
        .map(str::len)
        .sum::<usize>()
        + 40;
    bytes[at] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let o = run(&["audit", "verify", "--file", f]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("line 3:"), "{}", stdout(&o));
    let o = run(&["audit", "anchor", "--file", f]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn show_filters_and_bad_input_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let file = cutover_log(tmp.path());
    let f = file.to_str().unwrap();
    let o = run(&[
        "audit", "show", "--file", f, "--kind", "outcome", "--tenant", "source",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(
        out.lines().filter(|l| l.starts_with('#')).count(),
        3,
        "{out}"
    );
    assert!(out.contains("request-id: req-aaa") && out.contains("(3 of 9 lines)"));

    let o = run(&["audit", "show", "--file", f, "--object", "CONTOSO.COM mx"]);
    assert!(stdout(&o).contains("(1 of 9 lines)"), "{}", stdout(&o));
    let o = run(&["audit", "show", "--file", f, "--since", "2999-01-01"]);
    assert!(stdout(&o).contains("(0 of 9 lines)"));

    for bad in [
        ["--kind", "outcomes"],
        ["--since", "yesterday"],
        ["--until", "2026-13-01"],
    ] {
        let o = run(&["audit", "show", "--file", f, bad[0], bad[1]]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(bad[0]) && err.contains(bad[1]), "{err}");
    }

    // Two logs and no --file: say so instead of guessing.
    Journal::open(&tmp.path().join("audit").join("other.jsonl"), "other").unwrap();
    let o = run(&["--data-dir", tmp.path().to_str().unwrap(), "audit", "show"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("pick one with --file"),
        "{}",
        stderr(&o)
    );
}
