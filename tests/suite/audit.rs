//! The audit journal through its public API: chain, tamper detection naming the right line,
//! reopening, locking and secret redaction.

use std::fs;
use std::path::{Path, PathBuf};

use cutover::audit::{
    AuditError, Event, IncrementalVerifier, Journal, Kind, Record, read_records, verify_file,
    verify_file_anchored,
};
use serde_json::json;

const CUTOVER: &str = "contoso-2026-11";

/// Write 20 varied events and return the file, the tempdir keeping it alive, and the head.
fn write_log() -> (tempfile::TempDir, PathBuf, (u64, String)) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("audit").join(format!("{CUTOVER}.jsonl"));
    let mut j = Journal::open(&path, CUTOVER).unwrap();
    j.append(Event::new(Kind::SessionStart, "session started"))
        .unwrap();
    for i in 2..=19 {
        let event = match i % 4 {
            0 => Event::new(Kind::Intent, format!("remove alias {i}"))
                .tenant("source")
                .target(format!("user{i}@contoso.com"))
                .change(
                    json!({"proxyAddresses": [format!("smtp:u{i}@contoso.com")]}),
                    json!({"proxyAddresses": []}),
                ),
            1 => Event::new(Kind::Outcome, format!("alias removed {i}"))
                .tenant("source")
                .details(json!({"request_id": format!("req-{i}"), "status": 204})),
            2 => Event::new(Kind::Observed, format!("mx ttl changed {i}"))
                .tenant("dns")
                .target("contoso.com MX")
                .change(json!(3600), json!(300)),
            _ => {
                Event::new(Kind::UserAction, format!("step marked done {i}")).target("lower-mx-ttl")
            }
        };
        j.append(event).unwrap();
    }
    j.append(Event::new(Kind::SessionEnd, "session ended"))
        .unwrap();
    let head = j.head();
    (tmp, path, head)
}

/// The file's lines, each with its `\n`.
fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .split_inclusive('\n')
        .map(str::to_string)
        .collect()
}

fn first_bad_after(path: &Path, content: &[u8]) -> Option<u64> {
    fs::write(path, content).unwrap();
    verify_file(path).unwrap().first_bad.map(|b| b.line)
}

#[test]
fn intact_log_verifies_with_journal_head() {
    let (_tmp, path, head) = write_log();
    assert_eq!(head.0, 20);
    let report = verify_file(&path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.lines, 20);
    assert_eq!(report.head, head.1);
    let records = read_records(&path).unwrap();
    assert_eq!(records.len(), 20);
    assert!(
        records
            .iter()
            .enumerate()
            .all(|(i, r)| r.seq == i as u64 + 1)
    );
    assert_eq!(records[19].hash, head.1);
}

#[test]
fn tampering_is_reported_at_the_right_line() {
    let (tmp, path, _) = write_log();
    let original = lines(&path);
    let copy = tmp.path().join("tampered.jsonl");

    // One byte inside line 7's action value.
    let mut flipped = original.clone();
    let at = flipped[6].find("\"action\":\"").unwrap() + "\"action\":\"".len();
    let mut bytes = flipped[6].clone().into_bytes();
    bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
    flipped[6] = String::from_utf8(bytes).unwrap();
    assert_ne!(flipped[6], original[6]);
    assert_eq!(first_bad_after(&copy, flipped.concat().as_bytes()), Some(7));

    let mut deleted = original.clone();
    deleted.remove(6);
    assert_eq!(first_bad_after(&copy, deleted.concat().as_bytes()), Some(7));

    let mut swapped = original.clone();
    swapped.swap(6, 7);
    assert_eq!(first_bad_after(&copy, swapped.concat().as_bytes()), Some(7));

    let mut inserted = original.clone();
    inserted.insert(6, original[2].clone());
    assert_eq!(
        first_bad_after(&copy, inserted.concat().as_bytes()),
        Some(7)
    );

    let before_20: usize = original[..19].iter().map(String::len).sum();
    let whole = original.concat();
    let torn = &whole.as_bytes()[..before_20 + original[19].len() / 2];
    assert_eq!(first_bad_after(&copy, torn), Some(20));
    let report = verify_file(&copy).unwrap();
    assert_eq!(report.lines, 19);

    // Truncated at a line boundary after an anchor: the file alone still verifies, the
    // anchor does not.
    let anchor = verify_file(&path).unwrap().head;
    let cut: usize = original[..15].iter().map(String::len).sum();
    fs::write(&copy, &whole.as_bytes()[..cut]).unwrap();
    let report = verify_file_anchored(&copy, Some(&anchor)).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.anchor_line, None);
    fs::write(&copy, whole.as_bytes()).unwrap();
    let report = verify_file_anchored(&copy, Some(&anchor)).unwrap();
    assert_eq!(report.anchor_line, Some(20));
    // An older anchor is still found after the log grew.
    let mid: Record = serde_json::from_str(original[9].trim_end()).unwrap();
    let report = verify_file_anchored(&copy, Some(&mid.hash)).unwrap();
    assert_eq!(report.anchor_line, Some(10));
}

#[test]
fn torn_last_line_is_moved_aside_and_recorded() {
    let (tmp, path, _) = write_log();
    let original = lines(&path);
    let copy = tmp.path().join("torn.jsonl");
    let before_20: usize = original[..19].iter().map(String::len).sum();
    let whole = original.concat();
    let tail = &whole.as_bytes()[before_20..before_20 + original[19].len() / 2];
    fs::write(&copy, &whole.as_bytes()[..before_20 + tail.len()]).unwrap();

    let mut j = Journal::open(&copy, CUTOVER).unwrap();
    assert_eq!(j.head().0, 20);
    j.append(Event::new(Kind::Note, "after repair")).unwrap();
    drop(j);

    let now = lines(&copy);
    assert_eq!(
        now[..19],
        original[..19],
        "nothing before the torn line changes"
    );
    let records = read_records(&copy).unwrap();
    assert_eq!(records.len(), 21);
    let repair = &records[19];
    assert_eq!(repair.event.kind, Kind::Repair);
    let side = PathBuf::from(repair.event.target.clone().unwrap());
    assert!(
        side.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("torn.jsonl.torn-")
    );
    assert_eq!(fs::read(&side).unwrap(), tail);
    assert_eq!(repair.event.details["line"], 20);
    assert!(verify_file(&copy).unwrap().is_ok());
}

#[test]
fn a_damaged_line_before_the_end_is_not_repaired() {
    let (tmp, path, _) = write_log();
    let mut original = lines(&path);
    original[4] = original[4]
        .replace("session", "sessiom")
        .replace("alias", "aliax");
    original[4] = original[4].replacen("\"seq\":5", "\"seq\":6", 1);
    let copy = tmp.path().join("bad.jsonl");
    let mut bytes = original.concat().into_bytes();
    bytes.truncate(bytes.len() - 10); // also torn at the end
    fs::write(&copy, &bytes).unwrap();
    match Journal::open(&copy, CUTOVER).unwrap_err() {
        AuditError::Corrupt { line, .. } => assert_eq!(line, 5),
        other => panic!("unexpected error: {other}"),
    }
    assert_eq!(
        fs::read(&copy).unwrap(),
        bytes,
        "a refused file is left as it was"
    );
}

#[test]
fn reopening_continues_the_chain() {
    let (_tmp, path, head) = write_log();
    let mut j = Journal::open(&path, CUTOVER).unwrap();
    assert_eq!(j.head(), head);
    let r = j
        .append(Event::new(Kind::SessionStart, "session started"))
        .unwrap();
    assert_eq!(r.seq, 21);
    assert_eq!(r.prev, head.1);
    let report = verify_file(&path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.lines, 21);
    assert_eq!(report.head, r.hash);
}

#[test]
fn second_open_is_locked_out_while_the_first_lives() {
    let (_tmp, path, _) = write_log();
    let first = Journal::open(&path, CUTOVER).unwrap();
    let err = Journal::open(&path, CUTOVER).unwrap_err();
    assert!(matches!(err, AuditError::Locked { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(!msg.contains('\n'));
    drop(first);
    Journal::open(&path, CUTOVER).unwrap();
}

#[test]
fn secrets_are_redacted_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("s.jsonl");
    let mut j = Journal::open(&path, CUTOVER).unwrap();
    let secrets = [
        "AT-0123456789",
        "RT-9876543210",
        "CS-abcdef",
        "P@ssw0rd!",
        "Bearer AT-0123456789",
        "-----BEGIN PRIVATE KEY-----",
    ];
    let r = j
        .append(
            Event::new(Kind::Intent, "sign in")
                .tenant("destination")
                .change(
                    json!({"password": secrets[3]}),
                    json!({"nested": [{"private_key": secrets[5]}]}),
                )
                .details(json!({
                    "access_token": secrets[0],
                    "refresh_token": secrets[1],
                    "client_secret": secrets[2],
                    "headers": {"authorization": secrets[4]},
                    "client_id": "00000000-0000-0000-0000-000000000001",
                })),
        )
        .unwrap();
    assert_eq!(r.event.details["access_token"], "[redacted]");
    assert_eq!(r.event.details["headers"]["authorization"], "[redacted]");
    assert_eq!(
        r.event.details["client_id"],
        "00000000-0000-0000-0000-000000000001"
    );
    assert_eq!(r.event.before, Some(json!({"password": "[redacted]"})));
    assert_eq!(
        r.event.after,
        Some(json!({"nested": [{"private_key": "[redacted]"}]}))
    );
    let raw = fs::read_to_string(&path).unwrap();
    for secret in secrets {
        assert!(!raw.contains(secret), "{secret} leaked");
    }
    assert!(verify_file(&path).unwrap().is_ok());
}

#[test]
fn missing_file_is_an_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let err = verify_file(&tmp.path().join("nope.jsonl")).unwrap_err();
    assert!(matches!(err, AuditError::Io { .. }), "{err}");
    assert!(err.to_string().contains("nope.jsonl"));
}

/// A version 1 line exactly as the previous build wrote it (the worked example in
/// docs/audit-format.md): still verifies, reads, and is extended by version 2 lines.
#[test]
fn version_1_log_is_read_verified_and_extended() {
    let v1 = r#"{"v":1,"seq":1,"ts":"2026-11-21T21:05:03.123Z","cutover":"contoso-2026-11","operator":"alex","kind":"user_action","target":"lower-mx-ttl","action":"step marked done","prev":"0000000000000000000000000000000000000000000000000000000000000000","hash":"b5de3c37d6231f7eddd066b0b8411436133aa4e3395d293817cfe144abe850dd"}"#;
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("old.jsonl");
    fs::write(&path, format!("{v1}\n")).unwrap();
    assert!(verify_file(&path).unwrap().is_ok());
    {
        let mut j = Journal::open(&path, CUTOVER).unwrap();
        j.append(
            Event::new(Kind::Outcome, "remove alias")
                .result("ok")
                .request_id("req-1"),
        )
        .unwrap();
    }
    let report = verify_file(&path).unwrap();
    assert!(report.is_ok(), "{report:?}");
    let records = read_records(&path).unwrap();
    assert_eq!((records[0].v, records[1].v), (1, 2));
    assert_eq!(records[0].event.target.as_deref(), Some("lower-mx-ttl"));
    assert_eq!(records[0].event.result, None);
    assert_eq!(records[1].event.request_id.as_deref(), Some("req-1"));
    assert_eq!(records[1].prev, records[0].hash);
    // The v1 line is untouched.
    assert!(fs::read_to_string(&path).unwrap().starts_with(v1));
}

#[test]
fn incremental_verification_follows_appends_and_notices_a_changed_tail() {
    let (_tmp, path, (_, head)) = write_log();
    let mut v = IncrementalVerifier::default();
    let first = v.advance(&path).unwrap();
    assert!(first.is_ok());
    assert_eq!((first.lines, first.head.clone()), (20, head));

    // New lines: only they are read, and the report covers the whole file.
    let mut j = Journal::open(&path, CUTOVER).unwrap();
    for i in 0..5 {
        j.append(Event::new(Kind::UserAction, format!("later {i}")))
            .unwrap();
    }
    let (seq, head) = j.head();
    drop(j);
    let grown = v.advance(&path).unwrap();
    assert!(grown.is_ok());
    assert_eq!((grown.lines, grown.head), (seq, head.clone()));
    assert_eq!(verify_file(&path).unwrap().lines, seq);

    // The last verified line rewritten: the verifier starts over and names the line.
    let mut all = lines(&path);
    let last = all.len() - 1;
    all[last] = all[last].replacen("later 4", "later X", 1);
    fs::write(&path, all.concat()).unwrap();
    let changed = v.advance(&path).unwrap();
    assert_eq!(changed.first_bad.map(|b| b.line), Some(seq));

    // A file cut short is checked whole again.
    all.truncate(10);
    fs::write(&path, all.concat()).unwrap();
    let mut v = IncrementalVerifier::default();
    assert_eq!(v.advance(&path).unwrap().lines, 10);
    all.truncate(5);
    fs::write(&path, all.concat()).unwrap();
    let cut = v.advance(&path).unwrap();
    assert!(cut.is_ok());
    assert_eq!(cut.lines, 5);

    // A change further back waits for the whole check that reset() asks for.
    let mut back = lines(&path);
    back[1] = back[1].replacen("mx ttl", "MX TTL", 1);
    assert!(back[1].contains("MX TTL"));
    fs::write(&path, back.concat()).unwrap();
    assert!(v.advance(&path).unwrap().is_ok(), "only the tail is read");
    v.reset();
    assert_eq!(v.advance(&path).unwrap().first_bad.map(|b| b.line), Some(2));
}
