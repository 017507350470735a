//! What gates are evaluated against: the readings the dashboard's pollers keep (or that
//! `cutover check` takes once), reduced to the facts of [`super::gate`], and the evaluation.
//!
//! A fact that could not be read is `Unknown` with the reason, never a default: a gate over it
//! neither holds nor fails.

use time::OffsetDateTime;

use super::gate::{Expr, Fact, Literal, Op, Record, Side};
use crate::audit::{Kind, Record as JournalRecord};
use crate::dns::propagation::{Cell, ResolverSweep, matrix};
use crate::dns::ttl_plan::TARGET_TTL;
use crate::dns::{AnswerStatus, RecordAnswer, RecordKind};
use crate::plan::cutover_time::format_cutover;
use crate::plan::machine::{Presence, Readings};

/// A snapshot of a tenant's objects on the domain, as found in the data dir.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SnapshotFact {
    /// The data dir has not been looked at.
    #[default]
    Unknown,
    None,
    /// The newest verified snapshot, with its time.
    Taken(OffsetDateTime),
    /// The newest snapshot does not verify.
    Damaged(String),
}

/// One authoritative observation of the MX TTL, from the journal or the last reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TtlSeen {
    pub at: OffsetDateTime,
    /// `None`: the zone had no MX then.
    pub ttl: Option<u32>,
}

/// What `cutover access` reads of one tenant, for `*.connectors_for_domain` and
/// `*.mail_apps_reviewed`; `None` fields are unknown (not read, or `error`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AccessFacts {
    /// Exchange connectors naming the domain.
    pub connectors_for_domain: Option<usize>,
    pub mail_apps: Option<MailApps>,
    /// Why the tenant's connections could not be read.
    pub error: Option<String>,
}

/// The applications holding mail permissions now, against the latest review.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailApps {
    /// How many applications hold mail permissions now.
    pub total: usize,
    /// Display names of those the latest review does not list.
    pub unreviewed: Vec<String>,
    /// When the latest review was journaled (`None`: never).
    pub reviewed_at: Option<String>,
}

/// Everything the gates read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    pub now: Option<OffsetDateTime>,
    pub cutover_at: Option<OffsetDateTime>,
    /// The state machine's readings (presence in each tenant, objects holding the domain, the
    /// zone's apex MX and TXT, the destination's expected MX); the same ones the Domain pane
    /// shows.
    pub readings: Readings,
    /// Why a tenant could not be read, when it could not (shown instead of "unknown").
    pub source_error: Option<String>,
    pub destination_error: Option<String>,
    /// The zone's apex MX as its authoritative servers answer it; `None` until answered.
    pub mx: Option<RecordAnswer>,
    /// Why the zone's servers could not be asked, when they could not.
    pub dns_error: Option<String>,
    /// The last sweep of every resolver (authoritative ones included, flagged).
    pub sweeps: Vec<ResolverSweep>,
    pub snapshots: [SnapshotFact; 2],
    /// `Some(Ok)`: the chain verifies; `Some(Err)`: it does not, and where.
    pub audit: Option<Result<(), String>>,
    /// MX TTL observations in time order (journal and the current reading).
    pub mx_ttl_history: Vec<TtlSeen>,
    /// Connections and access of the source and the destination (`cutover access`).
    pub access: [AccessFacts; 2],
}

/// How a gate (or one fact of it) stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Holds,
    /// Does not hold. `final`: it can no longer hold (its deadline passed).
    Fails {
        last: bool,
    },
    /// A reading it needs is missing; `service`: because a service could not be asked (not
    /// merely not read yet).
    Unknown {
        service: bool,
    },
}

/// A gate's verdict and what was observed, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub verdict: Verdict,
    pub observed: String,
}

enum Value {
    Bool(bool),
    Number(f64),
    Word(&'static str),
}

/// A fact's value, what it looked like, and whether a false reading is final.
struct Seen {
    value: Result<Value, bool>,
    text: String,
    last: bool,
}

fn seen(value: Value, text: String) -> Seen {
    Seen {
        value: Ok(value),
        text,
        last: false,
    }
}

fn unknown(service: bool, text: String) -> Seen {
    Seen {
        value: Err(service),
        text,
        last: false,
    }
}

impl Facts {
    /// Evaluate a gate: `and`, `or` and `not` over three values (unknown stays unknown unless
    /// the other side decides).
    pub fn evaluate(&self, expr: &Expr) -> Evaluation {
        match expr {
            Expr::And(parts) => self.combine(parts, true),
            Expr::Or(parts) => self.combine(parts, false),
            Expr::Not(inner) => {
                let e = self.evaluate(inner);
                let verdict = match e.verdict {
                    Verdict::Holds => Verdict::Fails { last: false },
                    Verdict::Fails { .. } => Verdict::Holds,
                    u @ Verdict::Unknown { .. } => u,
                };
                Evaluation {
                    verdict,
                    observed: e.observed,
                }
            }
            Expr::Truth(fact) => self.test(fact, Op::Eq, &Literal::Bool(true)),
            Expr::Compare(fact, op, lit) => self.test(fact, *op, lit),
        }
    }

    fn combine(&self, parts: &[Expr], all: bool) -> Evaluation {
        let evals: Vec<Evaluation> = parts.iter().map(|p| self.evaluate(p)).collect();
        let observed = evals
            .iter()
            .map(|e| e.observed.as_str())
            .collect::<Vec<_>>()
            .join("; ");
        let fails: Vec<bool> = evals
            .iter()
            .filter_map(|e| match e.verdict {
                Verdict::Fails { last } => Some(last),
                _ => None,
            })
            .collect();
        let unknown = evals
            .iter()
            .filter_map(|e| match e.verdict {
                Verdict::Unknown { service } => Some(service),
                _ => None,
            })
            .collect::<Vec<_>>();
        let holds = evals.len() - fails.len() - unknown.len();
        let verdict = if all {
            if !fails.is_empty() {
                Verdict::Fails {
                    last: fails.iter().any(|l| *l),
                }
            } else if !unknown.is_empty() {
                Verdict::Unknown {
                    service: unknown.iter().any(|s| *s),
                }
            } else {
                Verdict::Holds
            }
        } else if holds > 0 {
            Verdict::Holds
        } else if !unknown.is_empty() {
            Verdict::Unknown {
                service: unknown.iter().any(|s| *s),
            }
        } else {
            Verdict::Fails {
                last: fails.iter().all(|l| *l),
            }
        };
        Evaluation { verdict, observed }
    }

    fn test(&self, fact: &Fact, op: Op, lit: &Literal) -> Evaluation {
        let s = self.read(fact);
        let verdict = match (&s.value, lit) {
            (Err(service), _) => Verdict::Unknown { service: *service },
            (Ok(Value::Bool(v)), Literal::Bool(want)) => {
                bool_verdict((v == want) == (op == Op::Eq))
            }
            (Ok(Value::Number(v)), Literal::Number(want)) => bool_verdict(match op {
                Op::Eq => v == want,
                Op::Ne => v != want,
                Op::Le => v <= want,
                Op::Ge => v >= want,
                Op::Lt => v < want,
                Op::Gt => v > want,
            }),
            (Ok(Value::Word(v)), Literal::Word(want)) => {
                bool_verdict((v == want) == (op == Op::Eq))
            }
            // Parsing checked the types; a mismatch here cannot hold.
            _ => Verdict::Fails { last: false },
        };
        let verdict = match verdict {
            Verdict::Fails { .. } => Verdict::Fails { last: s.last },
            v => v,
        };
        Evaluation {
            verdict,
            observed: format!("{}: {}", fact.name(), s.text),
        }
    }

    fn presence(&self, side: Side) -> (Presence, Option<&String>) {
        match side {
            Side::Source => (self.readings.source, self.source_error.as_ref()),
            Side::Destination => (self.readings.destination, self.destination_error.as_ref()),
        }
    }

    fn read(&self, fact: &Fact) -> Seen {
        match fact {
            Fact::DomainPresent(side) | Fact::DomainVerified(side) | Fact::DomainDefault(side) => {
                let (presence, error) = self.presence(*side);
                let (present, verified, default) = match presence {
                    Presence::Unknown => {
                        return match error {
                            Some(e) => unknown(
                                true,
                                format!("the {} tenant could not be read: {e}", side.as_str()),
                            ),
                            None => unknown(
                                false,
                                format!("the {} tenant has not been read yet", side.as_str()),
                            ),
                        };
                    }
                    Presence::Absent => (false, false, false),
                    Presence::Present {
                        verified, default, ..
                    } => (true, verified, default),
                };
                let v = match fact {
                    Fact::DomainPresent(_) => present,
                    Fact::DomainVerified(_) => verified,
                    _ => default,
                };
                let text = match presence {
                    Presence::Absent => "not in the tenant".to_string(),
                    Presence::Present { removing: true, .. } => {
                        "in the tenant, removal under way".into()
                    }
                    _ => format!(
                        "in the tenant, {}{}",
                        if verified { "verified" } else { "not verified" },
                        if default { ", default" } else { "" }
                    ),
                };
                seen(Value::Bool(v), text)
            }
            Fact::References(side) => match (side, self.readings.holding) {
                (Side::Source, Some(n)) => seen(
                    Value::Number(n as f64),
                    format!(
                        "{n} object{} hold the domain",
                        if n == 1 { "" } else { "s" }
                    ),
                ),
                (Side::Source, None) => match &self.source_error {
                    Some(e) => unknown(true, format!("the source tenant could not be read: {e}")),
                    None => unknown(
                        false,
                        "the objects holding the domain are not counted yet".into(),
                    ),
                },
                (Side::Destination, _) => unknown(
                    false,
                    "cutover counts the objects holding the domain in the source tenant only"
                        .into(),
                ),
            },
            Fact::MxTtl => match self.mx_answer() {
                Ok(answer) => match min_ttl(answer) {
                    Some(ttl) => seen(Value::Number(f64::from(ttl)), format!("{ttl} s")),
                    None => unknown(false, "the zone has no MX record".into()),
                },
                Err(s) => s,
            },
            Fact::MxTtlLoweredBefore(at) => self.lowered_before(at.minutes),
            Fact::MxPointsTo => self.points_to(),
            Fact::SpfIncludesExchangeOnline => match &self.readings.zone_txt {
                Some(values) => {
                    let report = crate::dns::spf::check_spf(values);
                    let spf: Vec<&String> =
                        values.iter().filter(|v| v.starts_with("v=spf1")).collect();
                    let text = match spf.as_slice() {
                        [] => "no SPF record".to_string(),
                        [one] => format!("\"{one}\""),
                        many => format!("{} SPF records", many.len()),
                    };
                    let includes = report.record.is_some()
                        && !report
                            .problems
                            .contains(&crate::dns::spf::SpfProblem::NoM365Include);
                    seen(Value::Bool(includes), text)
                }
                None => self.dns_unknown("the zone's TXT"),
            },
            Fact::Propagated(record) => self.propagated(*record),
            Fact::SnapshotTaken(side) => {
                let i = usize::from(*side == Side::Destination);
                match self.snapshots.get(i).cloned().unwrap_or_default() {
                    SnapshotFact::Unknown => {
                        unknown(false, "the data dir has not been looked at yet".into())
                    }
                    SnapshotFact::None => seen(Value::Bool(false), "no snapshot".into()),
                    SnapshotFact::Taken(at) => {
                        seen(Value::Bool(true), format!("taken {}", format_cutover(at)))
                    }
                    SnapshotFact::Damaged(why) => seen(
                        Value::Bool(false),
                        format!("the newest does not verify: {why}"),
                    ),
                }
            }
            Fact::ConnectorsForDomain(side) | Fact::MailAppsReviewed(side) => {
                self.access_fact(fact, *side)
            }
            Fact::AuditVerified => match &self.audit {
                Some(Ok(())) => seen(Value::Bool(true), "the hash chain verifies".into()),
                Some(Err(why)) => seen(Value::Bool(false), why.clone()),
                None => unknown(false, "not verified yet".into()),
            },
        }
    }

    fn access_fact(&self, fact: &Fact, side: Side) -> Seen {
        let access = self
            .access
            .get(usize::from(side == Side::Destination))
            .cloned()
            .unwrap_or_default();
        let not_read = |what: &str| match &access.error {
            Some(e) => unknown(
                true,
                format!(
                    "the {} tenant's {what} could not be read: {e}",
                    side.as_str()
                ),
            ),
            None => unknown(false, format!("the {what} have not been read yet")),
        };
        match fact {
            Fact::ConnectorsForDomain(_) => match access.connectors_for_domain {
                Some(n) => seen(
                    Value::Number(n as f64),
                    format!(
                        "{n} connector{} name the domain",
                        if n == 1 { "" } else { "s" }
                    ),
                ),
                None => not_read("connectors"),
            },
            _ => match &access.mail_apps {
                Some(m) if m.unreviewed.is_empty() => seen(
                    Value::Bool(true),
                    match (&m.reviewed_at, m.total) {
                        (_, 0) => "no application holds mail permissions".into(),
                        (Some(at), n) => {
                            format!("all {n} applications with mail permissions reviewed ({at})")
                        }
                        (None, n) => format!("all {n} applications reviewed"),
                    },
                ),
                Some(m) => seen(
                    Value::Bool(false),
                    format!(
                        "{} of {} applications with mail permissions not reviewed{}: {}; review them, then run 'cutover access --tenant {} --mark-reviewed'",
                        m.unreviewed.len(),
                        m.total,
                        match &m.reviewed_at {
                            Some(at) => format!(" since the review of {at}"),
                            None => String::new(),
                        },
                        m.unreviewed.join(", "),
                        side.as_str()
                    ),
                ),
                None => not_read("applications with mail permissions"),
            },
        }
    }

    fn dns_unknown(&self, what: &str) -> Seen {
        match &self.dns_error {
            Some(e) => unknown(true, format!("{what} could not be read: {e}")),
            None => unknown(false, format!("{what} has not been read yet")),
        }
    }

    fn mx_answer(&self) -> Result<&RecordAnswer, Seen> {
        match &self.mx {
            Some(a) if !matches!(a.status, AnswerStatus::Error(_)) => Ok(a),
            Some(RecordAnswer {
                status: AnswerStatus::Error(e),
                ..
            }) => Err(unknown(
                true,
                format!("the zone's MX could not be read: {e}"),
            )),
            _ => Err(self.dns_unknown("the zone's MX")),
        }
    }

    fn points_to(&self) -> Seen {
        let Some(zone) = &self.readings.zone_mx else {
            return self.dns_unknown("the zone's MX");
        };
        if zone.is_empty() {
            return seen(Value::Word("none"), "the zone has no MX".into());
        }
        let shown = zone.join(", ");
        let Some(want) = &self.readings.destination_mx else {
            return match &self.destination_error {
                Some(e) => unknown(
                    true,
                    format!("MX {shown}; the destination could not be read: {e}"),
                ),
                None => unknown(
                    false,
                    format!(
                        "MX {shown}; the destination has not said which MX it expects (is the domain added there?)"
                    ),
                ),
            };
        };
        let mut a = zone.clone();
        let mut b = want.clone();
        a.sort();
        b.sort();
        if a == b {
            seen(
                Value::Word("destination"),
                format!("MX {shown}, as the destination expects"),
            )
        } else {
            seen(
                Value::Word("other"),
                format!("MX {shown}; the destination expects {}", want.join(", ")),
            )
        }
    }

    fn propagated(&self, record: Record) -> Seen {
        let (name, kind) = match record {
            Record::Mx => (self.domain_name(), RecordKind::Mx),
            Record::Txt => (self.domain_name(), RecordKind::Txt),
            Record::Autodiscover => (
                self.domain_name().map(|d| format!("autodiscover.{d}")),
                RecordKind::Cname,
            ),
        };
        let Some(name) = name else {
            return self.dns_unknown("propagation");
        };
        let Some(auth) = self
            .sweeps
            .iter()
            .filter(|s| s.authoritative)
            .flat_map(|s| s.answers.iter())
            .find(|a| {
                a.name == name && a.kind == kind && !matches!(a.status, AnswerStatus::Error(_))
            })
        else {
            return self.dns_unknown(&format!("the zone's {} for {name}", kind.as_str()));
        };
        let recursive: Vec<ResolverSweep> = self
            .sweeps
            .iter()
            .filter(|s| !s.authoritative)
            .cloned()
            .collect();
        let rows = matrix(std::slice::from_ref(auth), &recursive);
        let cells = rows.first().map(|r| r.cells.as_slice()).unwrap_or_default();
        let current = cells.iter().filter(|c| **c == Cell::Current).count();
        let stale = cells
            .iter()
            .filter(|c| matches!(c, Cell::Stale { .. }))
            .count();
        let failed = cells.len() - current - stale;
        let answered = current + stale;
        if answered == 0 {
            return unknown(
                !cells.is_empty(),
                if cells.is_empty() {
                    "no recursive resolver has been asked yet".into()
                } else {
                    format!("none of {} recursive resolvers answered", cells.len())
                },
            );
        }
        let mut text = format!("{current} of {answered} resolvers serve the zone's value");
        if failed > 0 {
            text.push_str(&format!(" ({failed} did not answer)"));
        }
        seen(Value::Number(current as f64 / answered as f64), text)
    }

    /// The domain, from the MX answer's name (the readings carry no name of their own).
    fn domain_name(&self) -> Option<String> {
        self.mx.as_ref().map(|a| a.name.clone()).or_else(|| {
            self.sweeps
                .iter()
                .flat_map(|s| s.answers.iter())
                .find(|a| a.kind == RecordKind::Mx)
                .map(|a| a.name.clone())
        })
    }

    /// Since when the MX TTL has been at most the target without interruption, from the
    /// observations; `None` when it is not low now (or nothing was observed).
    pub fn low_since(&self) -> Option<OffsetDateTime> {
        let mut since = None;
        for seen in &self.mx_ttl_history {
            match seen.ttl {
                Some(ttl) if ttl <= TARGET_TTL => {
                    since.get_or_insert(seen.at);
                }
                _ => since = None,
            }
        }
        since
    }

    fn lowered_before(&self, offset: i64) -> Seen {
        let label = crate::plan::format_offset(offset);
        let (Some(t), Some(now)) = (self.cutover_at, self.now) else {
            return unknown(false, format!("T is not set, so {label} is not known"));
        };
        let deadline = t + time::Duration::minutes(offset);
        let by = format!("{label} ({})", format_cutover(deadline));
        let first = self.mx_ttl_history.first();
        let current = self.mx_ttl_history.last().and_then(|s| s.ttl);
        match (self.low_since(), first) {
            (_, None) => match self.mx_answer() {
                Err(s) => s,
                Ok(_) => unknown(false, "no MX TTL observed yet".into()),
            },
            (Some(since), _) if since <= deadline => seen(
                Value::Bool(true),
                format!(
                    "at most {TARGET_TTL} s since {}, before {by}",
                    format_cutover(since)
                ),
            ),
            (since, Some(first)) => {
                let now_text = match current {
                    Some(ttl) => format!("{ttl} s now"),
                    None => "no MX now".to_string(),
                };
                let mut s = if now < deadline {
                    seen(
                        Value::Bool(false),
                        format!("{now_text}; must be at most {TARGET_TTL} s by {by}"),
                    )
                } else if first.at > deadline {
                    // Nothing was observed before the deadline: it cannot be shown any more.
                    seen(
                        Value::Bool(false),
                        format!(
                            "not observed before {by}: the first observation was {} ({now_text})",
                            format_cutover(first.at)
                        ),
                    )
                } else {
                    seen(
                        Value::Bool(false),
                        match since {
                            Some(since) => format!(
                                "lowered too late: at most {TARGET_TTL} s only since {}, after {by}",
                                format_cutover(since)
                            ),
                            None => format!("{now_text}; it was not lowered by {by}"),
                        },
                    )
                };
                s.last = now >= deadline;
                s
            }
        }
    }
}

fn bool_verdict(holds: bool) -> Verdict {
    if holds {
        Verdict::Holds
    } else {
        Verdict::Fails { last: false }
    }
}

fn min_ttl(answer: &RecordAnswer) -> Option<u32> {
    answer.values.iter().map(|v| v.ttl).min()
}

/// MX TTL observations of `domain`'s apex in the journal, oldest first: the dashboard's
/// `dns record seen` (first answer of a session) and `dns ttl changed` / `dns value changed`
/// (authoritative answers, `after` = `[{"value", "ttl"}]`).
pub fn mx_ttl_history(records: &[JournalRecord], domain: &str) -> Vec<TtlSeen> {
    let target = format!("{domain} MX");
    records
        .iter()
        .filter(|r| {
            r.event.kind == Kind::Observed
                && r.event.tenant.as_deref() == Some(crate::plan::change::DNS_TENANT)
                && r.event
                    .target
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(&target))
                && matches!(
                    r.event.action.as_str(),
                    "dns record seen" | "dns ttl changed" | "dns value changed"
                )
        })
        .filter_map(|r| {
            let at = crate::audit::parse_ts(&r.ts)?;
            let values = r.event.after.as_ref()?.as_array()?;
            let ttl = values
                .iter()
                .filter_map(|v| v.get("ttl")?.as_u64())
                .filter_map(|t| u32::try_from(t).ok())
                .min();
            Some(TtlSeen { at, ttl })
        })
        .collect()
}

/// The current authoritative MX reading as the newest observation.
pub fn with_current(
    mut history: Vec<TtlSeen>,
    mx: Option<&RecordAnswer>,
    at: OffsetDateTime,
) -> Vec<TtlSeen> {
    if let Some(answer) = mx.filter(|a| !matches!(a.status, AnswerStatus::Error(_))) {
        let seen = TtlSeen {
            at,
            ttl: min_ttl(answer),
        };
        if history.last().is_none_or(|l| l.at <= at) {
            history.push(seen);
        }
    }
    history
}

/// The newest snapshot of `tenant` for `domain` in a snapshots folder, verified: what
/// `snapshot.taken(…)` reads, for the dashboard's local poller and `cutover check` alike.
pub fn snapshot_fact(snapshots_dir: &std::path::Path, tenant: &str, domain: &str) -> SnapshotFact {
    use crate::store::snapshot;
    match snapshot::latest_under(snapshots_dir, tenant, domain) {
        None => SnapshotFact::None,
        Some(s) => match snapshot::verify(&s) {
            Ok(()) => SnapshotFact::Taken(s.manifest.taken_at),
            Err(why) => SnapshotFact::Damaged(why),
        },
    }
}
