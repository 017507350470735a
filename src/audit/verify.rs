//! Verify a journal from its bytes: every line's hash, the chain of `prev` hashes, the
//! sequence numbers, and the format version. Reports the first line that breaks a rule. Lines
//! are checked one at a time from a buffered reader, so a large log is never held in memory.

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::Path;

use serde::Deserialize;

use super::error::AuditError;
use super::record::{FORMAT_VERSION, Kind, ZERO_HASH, prefix_hash_is, split_hash};

/// Result of checking a whole file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Number of lines that verified, i.e. the lines before `first_bad` (all lines if none).
    pub lines: u64,
    /// Hash of the last line that verified; 64 zeros if none did (or the file is empty).
    pub head: String,
    /// The first line that breaks a rule; `None` if the whole file verifies.
    pub first_bad: Option<BadLine>,
    /// Line number of the anchor asked for, if a verified line carries that hash.
    pub anchor_line: Option<u64>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.first_bad.is_none()
    }
}

/// A line that failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line number in the file.
    pub line: u64,
    /// Which rule the line breaks, in words.
    pub reason: String,
}

/// Check every line of the file at `path`. `Err` only when the file cannot be read; a file that
/// fails verification is an `Ok` report with `first_bad` set.
pub fn verify_file(path: &Path) -> Result<VerifyReport, AuditError> {
    verify_file_anchored(path, None)
}

/// [`verify_file`], also looking for the line whose hash is `anchor` (see
/// [`VerifyReport::anchor_line`]).
pub fn verify_file_anchored(path: &Path, anchor: Option<&str>) -> Result<VerifyReport, AuditError> {
    let io_err = |source| AuditError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut checker = Checker::new(anchor);
    let mut line = Vec::with_capacity(1024);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(io_err)? == 0 {
            break;
        }
        if !checker.feed(&line) {
            break;
        }
    }
    Ok(checker.finish().report)
}

/// Verifies a growing journal without reading it all each time: the first call checks the whole
/// file, later calls only the lines appended since, after checking that the last verified line
/// is still where it was with the same hash. A file that shrank is checked whole again.
/// Changes further back in the file are found by the next whole check ([`Self::reset`]).
pub struct IncrementalVerifier {
    checker: Checker,
    /// Bytes of complete lines verified so far.
    offset: u64,
    /// Where the last verified line starts, and the hash of the line before it.
    last_start: u64,
    prev_head: String,
}

impl Default for IncrementalVerifier {
    fn default() -> Self {
        IncrementalVerifier {
            checker: Checker::new(None),
            offset: 0,
            last_start: 0,
            prev_head: ZERO_HASH.to_string(),
        }
    }
}

impl IncrementalVerifier {
    /// Forget what was verified: the next [`Self::advance`] checks the whole file.
    pub fn reset(&mut self) {
        *self = IncrementalVerifier::default();
    }

    /// Check what was appended since the last call; the report covers the whole file. A last
    /// line without its newline (a write in progress) is left for the next call.
    pub fn advance(&mut self, path: &Path) -> Result<VerifyReport, AuditError> {
        use std::io::{Seek, SeekFrom};
        let io_err = |source| AuditError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        };
        let len = std::fs::metadata(path).map_err(io_err)?.len();
        if len < self.offset || (self.offset > 0 && !self.last_line_unchanged(path)?) {
            self.reset();
        }
        let mut file = std::fs::File::open(path).map_err(io_err)?;
        file.seek(SeekFrom::Start(self.offset)).map_err(io_err)?;
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::with_capacity(1024);
        while self.checker.first_bad.is_none() {
            line.clear();
            let n = reader.read_until(b'\n', &mut line).map_err(io_err)?;
            if n == 0 || !line.ends_with(b"\n") {
                break;
            }
            let start = self.offset;
            let prev = self.checker.head.clone();
            if self.checker.feed(&line) {
                self.last_start = start;
                self.prev_head = prev;
                self.offset += n as u64;
            }
        }
        Ok(self.checker.report())
    }

    /// The last verified line is still there, whole, ending at `offset`, and still verifies
    /// against the line before it.
    fn last_line_unchanged(&self, path: &Path) -> Result<bool, AuditError> {
        use std::io::{Read, Seek, SeekFrom};
        let io_err = |source| AuditError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        };
        let mut file = std::fs::File::open(path).map_err(io_err)?;
        file.seek(SeekFrom::Start(self.last_start))
            .map_err(io_err)?;
        let mut bytes = vec![0; (self.offset - self.last_start) as usize];
        if file.read_exact(&mut bytes).is_err() {
            return Ok(false);
        }
        let Some(line) = bytes.strip_suffix(b"\n") else {
            return Ok(false);
        };
        let checked = check_line(
            line,
            self.checker.lines,
            &self.prev_head,
            self.checker.cutover.as_deref(),
        );
        Ok(checked.is_ok_and(|f| f.hash == self.checker.head))
    }
}

/// Check journal content already in memory (see [`verify_file`]).
pub fn verify_bytes(bytes: &[u8]) -> VerifyReport {
    check(bytes).report
}

/// What [`check`] learns beyond the report: the cutover id the lines carry.
pub(crate) struct Checked {
    pub report: VerifyReport,
    pub cutover: Option<String>,
}

pub(crate) fn check(bytes: &[u8]) -> Checked {
    let mut checker = Checker::new(None);
    for chunk in bytes.split_inclusive(|b| *b == b'\n') {
        if !checker.feed(chunk) {
            break;
        }
    }
    checker.finish()
}

/// Checks lines one after another, keeping only what the next line is checked against.
pub(crate) struct Checker {
    head: String,
    cutover: Option<String>,
    lines: u64,
    first_bad: Option<BadLine>,
    anchor: Option<String>,
    anchor_line: Option<u64>,
}

impl Checker {
    pub(crate) fn new(anchor: Option<&str>) -> Self {
        Checker {
            head: ZERO_HASH.to_string(),
            cutover: None,
            lines: 0,
            first_bad: None,
            anchor: anchor.map(str::to_ascii_lowercase),
            anchor_line: None,
        }
    }

    /// Check the next line (with its `\n`, if it has one); false once a line was bad.
    pub(crate) fn feed(&mut self, chunk: &[u8]) -> bool {
        if self.first_bad.is_some() {
            return false;
        }
        let number = self.lines + 1;
        let result = match chunk.strip_suffix(b"\n") {
            Some(line) => check_line(line, number, &self.head, self.cutover.as_deref()),
            None => Err(
                "the line is incomplete (no newline at its end): the last write was cut short"
                    .to_string(),
            ),
        };
        match result {
            Ok(fields) => {
                self.head.clear();
                self.head.push_str(fields.hash);
                if self.cutover.is_none() {
                    self.cutover = Some(fields.cutover.into_owned());
                }
                if self.anchor.as_deref() == Some(fields.hash) {
                    self.anchor_line = Some(number);
                }
                self.lines = number;
                true
            }
            Err(reason) => {
                self.first_bad = Some(BadLine {
                    line: number,
                    reason,
                });
                false
            }
        }
    }

    /// The report so far, for a checker that goes on.
    pub(crate) fn report(&self) -> VerifyReport {
        VerifyReport {
            lines: self.lines,
            head: self.head.clone(),
            first_bad: self.first_bad.clone(),
            anchor_line: self.anchor_line,
        }
    }

    pub(crate) fn finish(self) -> Checked {
        Checked {
            report: VerifyReport {
                lines: self.lines,
                head: self.head,
                first_bad: self.first_bad,
                anchor_line: self.anchor_line,
            },
            cutover: self.cutover,
        }
    }
}

/// The fields verification needs; the rest (before/after/details) is checked for JSON syntax
/// only, which keeps verifying a large log fast.
#[derive(Deserialize)]
#[allow(dead_code)] // ts, operator, kind and action are read to check that they are there
struct Fields<'a> {
    v: u32,
    seq: u64,
    #[serde(borrow)]
    ts: Cow<'a, str>,
    #[serde(borrow)]
    cutover: Cow<'a, str>,
    #[serde(borrow)]
    operator: Cow<'a, str>,
    kind: Kind,
    #[serde(borrow)]
    action: Cow<'a, str>,
    prev: &'a str,
    hash: &'a str,
}

/// Check one line (without its `\n`) against the line before it. The order of the checks
/// decides which reason is reported when several rules break at once.
fn check_line<'a>(
    line: &'a [u8],
    number: u64,
    prev_hash: &str,
    cutover: Option<&str>,
) -> Result<Fields<'a>, String> {
    if line.is_empty() {
        return Err("the line is empty".into());
    }
    let record: Fields = serde_json::from_slice(line)
        .map_err(|e| format!("the line is not a valid record ({e})"))?;
    if record.v == 0 || record.v > FORMAT_VERSION {
        return Err(format!(
            "unknown format version {} (this build reads versions 1 to {FORMAT_VERSION})",
            record.v
        ));
    }
    let Some((prefix, stored)) = split_hash(line) else {
        return Err("the hash field is missing or is not the last field of the line".into());
    };
    if stored != record.hash {
        return Err("the line has more than one hash field".into());
    }
    if !prefix_hash_is(prefix, stored) {
        return Err("the hash does not match the line's content: the line was changed".into());
    }
    if record.seq != number {
        return Err(format!(
            "sequence number is {}, expected {number}: a line is missing, repeated or out of order",
            record.seq
        ));
    }
    if record.prev != prev_hash {
        return Err(if number == 1 {
            "the first line's prev is not 64 zeros: lines before it are missing".into()
        } else {
            format!(
                "prev does not match the hash of line {}: a line was removed, inserted or reordered",
                number - 1
            )
        });
    }
    if let Some(expected) = cutover
        && record.cutover != expected
    {
        return Err(format!(
            "cutover id \"{}\" differs from line 1 (\"{expected}\")",
            record.cutover
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Event, Record};

    fn sealed_lines(n: u64) -> Vec<String> {
        let mut prev = ZERO_HASH.to_string();
        (1..=n)
            .map(|seq| {
                let mut r = Record {
                    v: FORMAT_VERSION,
                    seq,
                    ts: "2026-11-21T21:05:03.123Z".into(),
                    cutover: "c1".into(),
                    operator: "alex".into(),
                    event: Event::new(Kind::Note, format!("note {seq}")),
                    upn: None,
                    prev: prev.clone(),
                    hash: String::new(),
                };
                let line = r.seal().unwrap();
                prev = r.hash;
                line + "\n"
            })
            .collect()
    }

    fn bad_line(lines: &[String]) -> Option<u64> {
        verify_bytes(lines.concat().as_bytes())
            .first_bad
            .map(|b| b.line)
    }

    #[test]
    fn empty_file_verifies() {
        let r = verify_bytes(b"");
        assert!(r.is_ok());
        assert_eq!(r.lines, 0);
        assert_eq!(r.head, ZERO_HASH);
    }

    #[test]
    fn good_chain_verifies_and_reports_head() {
        let lines = sealed_lines(5);
        let r = verify_bytes(lines.concat().as_bytes());
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(r.lines, 5);
        let last: Record = serde_json::from_str(lines[4].trim_end()).unwrap();
        assert_eq!(r.head, last.hash);
    }

    #[test]
    fn each_rule_names_its_line() {
        let good = sealed_lines(5);

        let mut missing_newline = good.clone();
        missing_newline[4] = missing_newline[4].trim_end().to_string();
        assert_eq!(bad_line(&missing_newline), Some(5));

        let mut blank = good.clone();
        blank.insert(2, "\n".into());
        assert_eq!(bad_line(&blank), Some(3));

        let mut first_removed = good.clone();
        first_removed.remove(0);
        let r = verify_bytes(first_removed.concat().as_bytes());
        assert_eq!(r.first_bad.as_ref().map(|b| b.line), Some(1));
        assert_eq!(r.lines, 0);
        assert_eq!(r.head, ZERO_HASH);

        let mut future = good.clone();
        future[1] = future[1].replacen("{\"v\":2,", "{\"v\":99,", 1);
        let r = verify_bytes(future.concat().as_bytes());
        let bad = r.first_bad.unwrap();
        assert_eq!(bad.line, 2);
        assert!(bad.reason.contains("version 99"), "{}", bad.reason);

        let mut edited = good.clone();
        edited[3] = edited[3].replace("note 4", "note X");
        let r = verify_bytes(edited.concat().as_bytes());
        assert_eq!(r.lines, 3);
        let bad = r.first_bad.unwrap();
        assert_eq!(bad.line, 4);
        assert!(bad.reason.contains("was changed"), "{}", bad.reason);

        let mut no_hash = good.clone();
        no_hash[2] = format!("{}}}\n", no_hash[2].split(",\"hash\":").next().unwrap());
        assert_eq!(bad_line(&no_hash), Some(3));
    }

    #[test]
    fn other_cutover_id_is_rejected() {
        let mut lines = sealed_lines(2);
        let mut r: Record = serde_json::from_str(lines[1].trim_end()).unwrap();
        r.cutover = "other".into();
        lines[1] = r.seal().unwrap() + "\n";
        let bad = verify_bytes(lines.concat().as_bytes()).first_bad.unwrap();
        assert_eq!(bad.line, 2);
        assert!(bad.reason.contains("cutover id"), "{}", bad.reason);
    }
}
