//! Property tests over arbitrary Unicode: every parser of text a person types or the network
//! sends must not panic, and an audit record must read back as it was written. Strings are
//! drawn from all of Unicode, and half the time start with a prefix the code cuts at (`Bearer `,
//! `v=spf1`, `eyJ`, `kind:`, `since:`), so a multi-byte character lands on the cut point.
//! Case counts are fixed (see each `with_cases`) so a run takes the same time every time.

use std::sync::Mutex;

use cutover::app::state::{Pane, State};
use cutover::app::{Action, Command, update};
use cutover::audit::{self, Event, Journal, Kind};
use cutover::dns::name::{parse_domain, parse_record_name};
use cutover::dns::spf::{SpfProblem, check_spf};
use cutover::plan::Runbook;
use cutover::ui::rows::Filter as RowFilter;
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Map, Value};
use time::macros::datetime;

/// Text with a tricky prefix half the time, then anything.
fn text() -> impl Strategy<Value = String> {
    let prefixes = prop::sample::select(vec![
        "", "Bearer ", "bearer", "Jean-R", "eyJ", "v=spf1 ", "v=spf", "kind:", "since:", "until:",
        "tenant:", "object:", "include:", "ip4:", "a:", "mx/", "xn--", "_dmarc.",
    ]);
    prop_oneof![
        any::<String>(),
        (prefixes, any::<String>()).prop_map(|(p, s)| format!("{p}{s}")),
        // Multi-byte characters only, from several scripts and sizes (2, 3 and 4 bytes).
        prop::collection::vec(
            prop::sample::select(vec![
                'é', 'Ø', 'ß', 'Ω', 'Ж', '田', '中', 'ह', '्', '🙂', '\u{200d}'
            ]),
            0..24
        )
        .prop_map(|cs| cs.into_iter().collect()),
    ]
}

/// JSON built from arbitrary strings (as keys and values), integers, booleans and null.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((text(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A fixed number of cases; failures are reported with their minimal input rather than
/// persisted to a file next to the sources.
fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn kind() -> impl Strategy<Value = Kind> {
    prop::sample::select(audit::filter::KINDS.to_vec())
}

proptest! {
    #![proptest_config(cases(2048))]

    /// The redactor takes any string and any JSON without panicking; what it leaves is free
    /// of token-shaped strings, and redacting twice changes nothing more.
    #[test]
    fn redactor_never_panics_and_is_idempotent(s in text(), mut v in json()) {
        let _ = audit::redact::looks_like_token(&s);
        let _ = audit::redact::is_secret_key(&s);
        let mut as_value = Value::String(s);
        audit::redact_value(&mut as_value);
        audit::redact_value(&mut v);
        let once = v.clone();
        prop_assert_eq!(audit::redact_value(&mut v), 0);
        prop_assert_eq!(v, once);
    }

    /// The SPF check takes any TXT values: no panic, and "missing" exactly when no record
    /// was picked.
    #[test]
    fn spf_check_never_panics(values in prop::collection::vec(text(), 0..4), terms in prop::collection::vec(text(), 0..6)) {
        let mut all = values;
        all.push(format!("v=spf1 {}", terms.join(" ")));
        for set in [&all[..all.len() - 1], &all[..]] {
            let report = check_spf(set);
            prop_assert_eq!(
                report.record.is_none(),
                report.problems.contains(&SpfProblem::Missing)
            );
            if let Some(r) = &report.record {
                prop_assert!(set.contains(r));
            }
        }
    }

    /// Domain names: any input is accepted or refused with an error, never a panic; an
    /// accepted name parses again to itself from either of its forms.
    #[test]
    fn domain_names_parse_or_refuse(s in text()) {
        if let Ok(d) = parse_domain(&s) {
            prop_assert!(d.ascii.is_ascii());
            prop_assert_eq!(parse_domain(&d.ascii), Ok(d.clone()));
            prop_assert_eq!(parse_domain(&d.unicode), Ok(d.clone()));
        }
        for suffix in ["/MX", "/txt", "/CNAME", ""] {
            if let Ok((name, _)) = parse_record_name(&format!("{s}{suffix}")) {
                prop_assert!(name.is_ascii(), "{}", name);
            }
        }
    }

    /// The Audit pane's and `audit show`'s filter: any query parses or is refused with a
    /// message; `--since` / `--until` too.
    #[test]
    fn audit_filter_and_times_parse_or_refuse(q in text(), day in prop::option::of(text())) {
        if let Ok(f) = audit::Filter::parse_query(&q, day.as_deref()) {
            let r = cutover::audit::Record {
                v: 2,
                seq: 1,
                ts: "2026-11-21T12:00:05.000Z".into(),
                cutover: "c".into(),
                operator: "o".into(),
                event: Event::new(Kind::Note, q.clone()).target(q.clone()).tenant(q.clone()),
                upn: None,
                prev: audit::ZERO_HASH.into(),
                hash: String::new(),
            };
            let _ = f.matches(&r);
        }
        let _ = audit::parse_time(&q, day.as_deref());
        let _ = audit::parse_kind(&q);
    }

    /// The pane filters (users, DNS, timeline) are a case-insensitive substring match, the
    /// same for ASCII and any other text.
    #[test]
    fn pane_filter_matches_like_lowercase_contains(needle in text(), hay in text()) {
        let f = RowFilter::new(&needle);
        let expected = hay.to_lowercase().contains(&needle.to_lowercase());
        prop_assert_eq!(f.matches(&hay), expected);
        prop_assert_eq!(f.matches_any([hay.as_str(), ""]), expected || needle.is_empty());
    }
}

proptest! {
    // Each case drives the reducer and draws five panes twice.
    #![proptest_config(cases(256))]

    /// Typing any text as a filter in any pane, applying it and drawing the dashboard never
    /// panics, and the journaled `filter applied` line carries the text as typed.
    #[test]
    fn typing_any_filter_in_any_pane_draws_and_is_journaled(typed in text()) {
        let runbook = Runbook::embedded().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let now = datetime!(2026-11-21 12:00:00 UTC);
        let mut terminal = Terminal::new(TestBackend::new(80, 24))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        for pane in Pane::ALL {
            let mut s = State::new("c".into(), "contoso.example".into(), runbook.clone(), now);
            update(&mut s, Action::Focus(pane));
            update(&mut s, Action::StartFilter);
            for c in typed.chars() {
                update(&mut s, Action::FilterInput(c));
            }
            terminal.draw(|f| cutover::ui::render(f, &s)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let commands = update(&mut s, Action::FilterApply);
            terminal.draw(|f| cutover::ui::render(f, &s)).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let filter = s.view(pane).filter.clone();
            for c in commands {
                if let Command::Audit(e) = c {
                    prop_assert_eq!(e.details["filter"].as_str(), Some(filter.as_str()));
                }
            }
        }
    }
}

/// One journal for every case of the round trip: opening one per case would measure the
/// lock and the start-up verification, not the record.
static JOURNAL: Mutex<Option<(tempfile::TempDir, Journal)>> = Mutex::new(None);

proptest! {
    // Each case appends (and fsyncs) one line, reads the file back and verifies it.
    #![proptest_config(cases(512))]

    /// An event with arbitrary Unicode in every text field and in its JSON is appended, read
    /// back equal to what was written (after redaction), and the file verifies.
    #[test]
    fn audit_record_round_trips(
        kind in kind(),
        action in text(),
        tenant in prop::option::of(text()),
        target in prop::option::of(text()),
        change in prop::option::of((json(), json())),
        details in json(),
        result in prop::option::of(text()),
        request_id in prop::option::of(text()),
    ) {
        let mut guard = JOURNAL.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none() {
            let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let journal = Journal::open(&dir.path().join("p.jsonl"), "props")
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            *guard = Some((dir, journal));
        }
        let Some((_, journal)) = guard.as_mut() else {
            return Err(TestCaseError::fail("no journal"));
        };
        let mut event = Event::new(kind, action).details(details);
        event.tenant = tenant;
        event.target = target;
        if let Some((before, after)) = change {
            event = event.change(before, after);
        }
        event.result = result;
        event.request_id = request_id;
        let mut expected = event.clone();
        audit::redact_event(&mut expected);

        let stored = journal.append(event).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(&stored.event, &expected);
        let path = journal.path().to_path_buf();
        let records = audit::read_records(&path).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let Some(read) = records.last() else {
            return Err(TestCaseError::fail("nothing read back"));
        };
        prop_assert_eq!(read, &stored);
        let report = audit::verify_file(&path).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(report.is_ok(), "{:?}", report);
    }
}
