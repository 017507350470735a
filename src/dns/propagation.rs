//! Propagation: for each name of the record set and each resolver, does the resolver answer
//! what the authoritative servers answer now, and if not, when does its cached copy expire
//! (the time it answered plus the TTL it answered with)?

use time::OffsetDateTime;

use super::model::{AnswerStatus, RecordAnswer, RecordKind};

/// What one resolver answered for the whole set, and when.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolverSweep {
    /// How the resolver is shown: "system", "ns1.contoso.example", "1.1.1.1".
    pub resolver: String,
    /// One of the zone's authoritative servers (asked without recursion): its TTLs are the
    /// configured ones. A recursive resolver's TTL is what is left of its cached copy.
    pub authoritative: bool,
    pub at: OffsetDateTime,
    pub answers: Vec<RecordAnswer>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    /// Same values as the authoritative answer.
    Current,
    /// Different values; the cached copy should expire at this time.
    Stale { expires_at: OffsetDateTime },
    /// The resolver failed to answer (timeout, SERVFAIL, …).
    Failed(String),
    /// Neither side has an answer to compare (both failed or not queried).
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub name: String,
    pub kind: RecordKind,
    /// One cell per resolver, in the order of the sweeps given.
    pub cells: Vec<Cell>,
}

fn values(answer: &RecordAnswer) -> Vec<&str> {
    let mut v: Vec<&str> = answer.values.iter().map(|v| v.value.as_str()).collect();
    v.sort_unstable();
    v
}

/// Build the matrix. Rows follow the authoritative answers' order.
pub fn matrix(authoritative: &[RecordAnswer], sweeps: &[ResolverSweep]) -> Vec<Row> {
    authoritative
        .iter()
        .map(|auth| {
            let cells = sweeps
                .iter()
                .map(|sweep| {
                    let Some(seen) = sweep
                        .answers
                        .iter()
                        .find(|a| a.name == auth.name && a.kind == auth.kind)
                    else {
                        return Cell::Unknown;
                    };
                    match (&auth.status, &seen.status) {
                        (_, AnswerStatus::Error(e)) => Cell::Failed(e.clone()),
                        (AnswerStatus::Error(_), _) => Cell::Unknown,
                        _ if auth.status == seen.status && values(auth) == values(seen) => {
                            Cell::Current
                        }
                        _ => {
                            // A negative answer is cached for the SOA minimum, which we do not
                            // see here; its TTL is 0 and the cell shows "stale" until it turns.
                            let ttl = seen.values.iter().map(|v| v.ttl).max().unwrap_or(0);
                            Cell::Stale {
                                expires_at: sweep.at + time::Duration::seconds(i64::from(ttl)),
                            }
                        }
                    }
                })
                .collect();
            Row {
                name: auth.name.clone(),
                kind: auth.kind,
                cells,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordValue;
    use time::macros::datetime;

    fn mx(host: &str, ttl: u32) -> RecordAnswer {
        RecordAnswer {
            name: "contoso.example".into(),
            kind: RecordKind::Mx,
            status: AnswerStatus::Answer,
            values: vec![RecordValue {
                value: format!("0 {host}"),
                ttl,
            }],
        }
    }

    #[test]
    fn current_stale_and_failed_cells() {
        let at = datetime!(2026-12-01 12:00 UTC);
        let auth = vec![mx("new.example", 300)];
        let sweeps = vec![
            ResolverSweep {
                resolver: "a".into(),
                authoritative: false,
                at,
                answers: vec![mx("new.example", 120)],
            },
            ResolverSweep {
                resolver: "b".into(),
                authoritative: false,
                at,
                answers: vec![mx("old.example", 1800)],
            },
            ResolverSweep {
                resolver: "c".into(),
                authoritative: false,
                at,
                answers: vec![RecordAnswer {
                    status: AnswerStatus::Error("timeout".into()),
                    values: vec![],
                    ..mx("x", 0)
                }],
            },
        ];
        let rows = matrix(&auth, &sweeps);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].cells[0],
            Cell::Current,
            "TTL differences alone are not staleness"
        );
        assert_eq!(
            rows[0].cells[1],
            Cell::Stale {
                expires_at: datetime!(2026-12-01 12:30 UTC)
            }
        );
        assert_eq!(rows[0].cells[2], Cell::Failed("timeout".into()));
    }
}
