//! The reducer's part for the domain's place in the cutover state machine
//! ([`crate::plan::machine`]): which readings of [`State`] feed it, and recomputing it when one
//! of them arrives, so a frame only draws it.

use crate::audit::Kind;
use crate::dns::{AnswerStatus, RecordAnswer, RecordKind};
use crate::graph::model::{Domain, DomainDnsRecord};
use crate::plan::machine::{self, JournalReading, Place, Presence, Readings};

use super::action::Action;
use super::state::{State, TenantId, TenantState};

/// The place as the Domain pane shows it, and the journal's reading it was computed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlaceView {
    pub place: Place,
    /// The journal reduced to what the machine needs; re-read only when the journal gains an
    /// intent or an outcome (a long journal is not rescanned for every poll).
    journal: JournalReading,
    /// How many of `State::audit`'s lines `journal` has read.
    read: usize,
}

/// Whether `action` brings a reading the place depends on.
pub fn feeds(action: &Action) -> bool {
    matches!(
        action,
        Action::TenantPolled { .. }
            | Action::PropagationPolled(_)
            | Action::ExpectedPolled { .. }
            | Action::InventoryPolled { .. }
            | Action::AuditAppended(_)
    )
}

/// Recompute the place from the state's readings.
pub fn refresh(state: &mut State) {
    let view = &state.place;
    let fresh = state.audit.get(view.read..).unwrap_or_default();
    let journal = if view.read == 0 && !state.audit.is_empty()
        || fresh
            .iter()
            .any(|r| matches!(r.event.kind, Kind::Intent | Kind::Outcome))
    {
        JournalReading::from_records(&state.audit)
    } else {
        view.journal.clone()
    };
    let place = machine::place(&readings(state, journal.clone()));
    state.place = PlaceView {
        place,
        journal,
        read: state.audit.len(),
    };
}

fn presence(t: &TenantState) -> Presence {
    match t.snapshot.as_ref() {
        None => Presence::Unknown,
        Some(s) => presence_of(s.domain.as_ref()),
    }
}

/// A tenant's `GET /domains/{id}` as the machine reads it: absent (404) or present with its
/// flags. The dashboard and `cutover check` both read presence through this.
pub fn presence_of(domain: Option<&Domain>) -> Presence {
    match domain {
        None => Presence::Absent,
        Some(d) => Presence::Present {
            verified: d.is_verified,
            default: d.is_default,
            removing: d.removal_in_progress(),
        },
    }
}

/// What the machine reads besides the journal, as taken once (the dashboard's state, or
/// `cutover check`'s single reading).
pub struct Observed<'a> {
    pub domain: &'a str,
    pub source: Presence,
    pub destination: Presence,
    pub destination_configured: bool,
    pub holding: Option<usize>,
    /// The zone's authoritative answers.
    pub answers: &'a [RecordAnswer],
    /// The destination's expected records, once it has answered.
    pub expected: Option<&'a [DomainDnsRecord]>,
}

/// What the machine reads, taken from the state (the same readings the panes show).
pub fn readings(state: &State, journal: JournalReading) -> Readings {
    let expected = (state.dns.expected_from == Some(TenantId::Destination))
        .then_some(state.dns.expected.as_slice());
    readings_of(
        &Observed {
            domain: &state.domain,
            source: presence(&state.source),
            destination: presence(&state.destination),
            destination_configured: !state.destination.unconfigured,
            holding: state.inventory.holding.as_ref().map(|h| h.total),
            answers: &state.dns.answers,
            expected,
        },
        journal,
    )
}

/// The machine's readings from one set of observations.
pub fn readings_of(o: &Observed<'_>, journal: JournalReading) -> Readings {
    let apex = |kind: RecordKind| {
        o.answers
            .iter()
            .find(|a| a.kind == kind && a.name.eq_ignore_ascii_case(o.domain))
            .and_then(|a| match a.status {
                AnswerStatus::Answer => Some(a.values.iter().map(|v| v.value.clone()).collect()),
                AnswerStatus::NoData | AnswerStatus::NxDomain => Some(Vec::new()),
                AnswerStatus::Error(_) => None,
            })
    };
    let zone_mx = apex(RecordKind::Mx).map(|values: Vec<String>| {
        values
            .iter()
            .filter_map(|v| v.split_whitespace().nth(1))
            .map(host)
            .collect()
    });
    let expected = o.expected;
    let destination_txt = expected.and_then(|e| {
        e.iter()
            .filter(|r| r.record_type.eq_ignore_ascii_case("txt"))
            .filter_map(|r| r.text.clone())
            .find(|t| t.starts_with("MS="))
    });
    let destination_mx = expected.map(|e| {
        e.iter()
            .filter_map(|r| r.mail_exchange.as_deref())
            .map(host)
            .collect::<Vec<_>>()
    });
    Readings {
        source: o.source,
        destination: o.destination,
        destination_configured: o.destination_configured,
        holding: o.holding,
        zone_txt: apex(RecordKind::Txt),
        zone_mx,
        destination_txt,
        // Until the destination has answered with an MX, there is nothing to compare with.
        destination_mx: destination_mx.filter(|m| !m.is_empty()),
        journal,
    }
}

fn host(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::app::action::TenantSnapshot;
    use crate::app::update;
    use crate::audit::{Event, Record};
    use crate::graph::model::Domain;
    use crate::plan::machine::Stage;

    const D: &str = "contoso.example";

    fn polled(s: &mut State, tenant: TenantId, domain: Option<Domain>) {
        update(
            s,
            Action::TenantPolled {
                tenant,
                at: datetime!(2025-03-01 12:00:00 UTC),
                result: Ok(Box::new(TenantSnapshot {
                    domain,
                    ..TenantSnapshot::default()
                })),
            },
        );
    }

    fn appended(s: &mut State, seq: u64, event: Event) {
        let record = Record {
            v: 2,
            seq,
            ts: "2025-03-01T12:00:00.000Z".into(),
            cutover: "c".into(),
            operator: "admin".into(),
            event,
            upn: None,
            prev: String::new(),
            hash: String::new(),
        };
        update(s, Action::AuditAppended(Box::new(record)));
    }

    /// The reducer keeps the place current: a poll puts the domain in source, the journal's
    /// removal (intent, then its `ok` outcome) moves it to released while Graph still lists it,
    /// and the source's 404 leaves "not added to the destination".
    #[test]
    fn the_reducer_follows_polls_and_journal_lines() {
        let mut s = State::new(
            "c".into(),
            D.into(),
            crate::plan::Runbook { phases: vec![] },
            datetime!(2025-03-01 12:00:00 UTC),
        );
        assert_eq!(s.place.place.stage, Stage::Unknown);
        let held = Domain {
            id: D.into(),
            is_verified: true,
            ..Domain::default()
        };
        polled(&mut s, TenantId::Source, Some(held));
        polled(&mut s, TenantId::Destination, None);
        assert_eq!(s.place.place.stage, Stage::InSource);

        let route =
            json!({"via": "graph", "method": "DELETE", "path": format!("/v1.0/domains/{D}")});
        appended(
            &mut s,
            1,
            Event::new(Kind::Intent, "domain via DELETE")
                .tenant("source")
                .target(D)
                .change(json!(D), serde_json::Value::Null)
                .details(json!({"change": "r1", "route": route, "display": D})),
        );
        // An intent alone is not applied.
        assert_eq!(s.place.place.stage, Stage::InSource);
        appended(
            &mut s,
            2,
            Event::new(Kind::Outcome, "applied")
                .tenant("source")
                .target(D)
                .details(json!({"change": "r1"}))
                .result("ok"),
        );
        assert_eq!(s.place.place.stage, Stage::Released);
        assert!(
            s.place
                .place
                .blocker
                .as_deref()
                .is_some_and(|b| b.contains("GET /domains answers 200")),
            "{:?}",
            s.place.place
        );
        polled(&mut s, TenantId::Source, None);
        assert_eq!(
            s.place.place.blocker.as_deref(),
            Some("not added to the destination yet (cutover plan adopt)")
        );
    }
}
