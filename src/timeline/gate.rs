//! Gate expressions: the conditions a runbook step names so that cutover can tell by itself
//! that the step is done (`docs/runbook.md` lists every fact).
//!
//! ```text
//! expr    := and ("or" and)*                     ("||" also accepted)
//! and     := unary ("and" unary)*                ("&&")
//! unary   := "not" unary | "(" expr ")" | test   ("!")
//! test    := fact [op literal]                   op: == != <= >= < >
//! fact    := name ["(" argument ")"]             e.g. dns.propagated(mx)
//! argument:= "T" [("+"|"-") duration] | word     duration: 8h, 30m, 2d, 1h30m
//! literal := number | true | false | word
//! ```
//!
//! Parsing checks the facts and their types, so a runbook with a misspelt fact or a number
//! compared with a tenant is refused when it is loaded, not when the step comes due.

use std::fmt;

/// A parsed gate.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    /// A boolean fact on its own: holds when the fact is true.
    Truth(Fact),
    Compare(Fact, Op, Literal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Le,
    Ge,
    Lt,
    Gt,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Le => "<=",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Gt => ">",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Bool(bool),
    Word(String),
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Word(w) => f.write_str(w),
        }
    }
}

/// Which tenant a fact is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Source,
    Destination,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
        }
    }

    fn parse(word: &str) -> Option<Side> {
        match word {
            "source" => Some(Side::Source),
            "destination" => Some(Side::Destination),
            _ => None,
        }
    }
}

/// A record set whose propagation a gate can ask about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Record {
    /// The apex MX.
    Mx,
    /// The apex TXT (SPF and the verification value).
    Txt,
    /// `autodiscover.<domain>` CNAME.
    Autodiscover,
}

impl Record {
    pub fn as_str(self) -> &'static str {
        match self {
            Record::Mx => "mx",
            Record::Txt => "txt",
            Record::Autodiscover => "autodiscover",
        }
    }

    fn parse(word: &str) -> Option<Record> {
        match word {
            "mx" => Some(Record::Mx),
            "txt" | "spf" => Some(Record::Txt),
            "autodiscover" => Some(Record::Autodiscover),
            _ => None,
        }
    }
}

/// A time relative to T, in minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRef {
    pub minutes: i64,
}

impl fmt::Display for TimeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::plan::format_offset(self.minutes))
    }
}

/// Something cutover observes.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// The MX TTL the zone's authoritative servers serve, in seconds.
    MxTtl,
    /// The MX TTL has been at most 300 s, without interruption, since a time at or before this
    /// one (from the journal's authoritative observations).
    MxTtlLoweredBefore(TimeRef),
    /// Which tenant the zone's MX sends mail to: `destination`, `none` or `other`.
    MxPointsTo,
    /// The apex SPF record includes `spf.protection.outlook.com`.
    SpfIncludesExchangeOnline,
    /// Share (0 to 1) of the recursive resolvers that answer what the zone answers.
    Propagated(Record),
    /// Objects in the tenant that still hold the domain.
    References(Side),
    DomainPresent(Side),
    DomainVerified(Side),
    DomainDefault(Side),
    /// A verified snapshot of the tenant's objects on the domain is in the data dir.
    SnapshotTaken(Side),
    /// The audit journal's hash chain verifies.
    AuditVerified,
    /// Exchange connectors in the tenant that name the domain (`cutover access`).
    ConnectorsForDomain(Side),
    /// Every application now holding mail permissions in the tenant is covered by the
    /// journal's latest `mail apps reviewed` record (`cutover access --mark-reviewed`).
    MailAppsReviewed(Side),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    /// One of [`TARGETS`].
    Target,
}

/// The words `dns.mx.points_to` compares with.
pub const TARGETS: &[&str] = &["destination", "none", "other"];

/// Every fact a gate can name, as written, for error messages and the docs test.
pub const FACTS: &[&str] = &[
    "dns.mx_ttl",
    "dns.mx_ttl_lowered_before(T - 8h)",
    "dns.mx.points_to",
    "dns.spf.includes_exchange_online",
    "dns.propagated(mx|txt|autodiscover)",
    "source.references",
    "source.domain.present",
    "source.domain.verified",
    "source.domain.default",
    "destination.domain.present",
    "destination.domain.verified",
    "destination.domain.default",
    "snapshot.taken(source|destination)",
    "audit.verified",
    "source.connectors_for_domain",
    "source.mail_apps_reviewed",
    "destination.connectors_for_domain",
    "destination.mail_apps_reviewed",
];

impl Fact {
    pub fn value_type(&self) -> Type {
        match self {
            Fact::MxTtl
            | Fact::Propagated(_)
            | Fact::References(_)
            | Fact::ConnectorsForDomain(_) => Type::Number,
            Fact::MxPointsTo => Type::Target,
            _ => Type::Bool,
        }
    }

    /// The fact as a gate writes it.
    pub fn name(&self) -> String {
        match self {
            Fact::MxTtl => "dns.mx_ttl".into(),
            Fact::MxTtlLoweredBefore(t) => format!("dns.mx_ttl_lowered_before({t})"),
            Fact::MxPointsTo => "dns.mx.points_to".into(),
            Fact::SpfIncludesExchangeOnline => "dns.spf.includes_exchange_online".into(),
            Fact::Propagated(r) => format!("dns.propagated({})", r.as_str()),
            Fact::References(s) => format!("{}.references", s.as_str()),
            Fact::DomainPresent(s) => format!("{}.domain.present", s.as_str()),
            Fact::DomainVerified(s) => format!("{}.domain.verified", s.as_str()),
            Fact::DomainDefault(s) => format!("{}.domain.default", s.as_str()),
            Fact::SnapshotTaken(s) => format!("snapshot.taken({})", s.as_str()),
            Fact::AuditVerified => "audit.verified".into(),
            Fact::ConnectorsForDomain(s) => format!("{}.connectors_for_domain", s.as_str()),
            Fact::MailAppsReviewed(s) => format!("{}.mail_apps_reviewed", s.as_str()),
        }
    }
}

impl Expr {
    /// Every fact the expression reads (to ask only the services a check needs).
    pub fn facts(&self) -> Vec<&Fact> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<&'a Fact>) {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.collect(out)),
            Expr::Not(e) => e.collect(out),
            Expr::Truth(f) | Expr::Compare(f, _, _) => out.push(f),
        }
    }
}

/// Why a gate did not parse; `at` is the character offset in the expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateError {
    pub at: usize,
    pub reason: String,
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at character {})", self.reason, self.at + 1)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Number(f64),
    Op(Op),
    And,
    Or,
    Not,
    Open,
    Close,
    Plus,
    Minus,
}

fn describe(tok: Option<&(usize, Tok)>) -> String {
    match tok.map(|(_, t)| t) {
        None => "the end".into(),
        Some(Tok::Word(w)) => format!("\"{w}\""),
        Some(Tok::Number(n)) => format!("\"{n}\""),
        Some(Tok::Op(o)) => format!("\"{}\"", o.as_str()),
        Some(Tok::And) => "\"and\"".into(),
        Some(Tok::Or) => "\"or\"".into(),
        Some(Tok::Not) => "\"not\"".into(),
        Some(Tok::Open) => "\"(\"".into(),
        Some(Tok::Close) => "\")\"".into(),
        Some(Tok::Plus) => "\"+\"".into(),
        Some(Tok::Minus) => "\"-\"".into(),
    }
}

fn lex(text: &str) -> Result<Vec<(usize, Tok)>, GateError> {
    let chars: Vec<(usize, char)> = text.chars().enumerate().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let at = |i: usize| chars.get(i).map(|(_, c)| *c);
    while let Some(c) = at(i) {
        let start = i;
        let two: String = chars.iter().skip(i).take(2).map(|(_, c)| c).collect();
        let tok = match (c, two.as_str()) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            (_, "==") => Tok::Op(Op::Eq),
            (_, "!=") => Tok::Op(Op::Ne),
            (_, "<=") => Tok::Op(Op::Le),
            (_, ">=") => Tok::Op(Op::Ge),
            (_, "&&") => Tok::And,
            (_, "||") => Tok::Or,
            ('<', _) => Tok::Op(Op::Lt),
            ('>', _) => Tok::Op(Op::Gt),
            ('!', _) => Tok::Not,
            ('(', _) => Tok::Open,
            (')', _) => Tok::Close,
            ('+', _) => Tok::Plus,
            ('-', _) => Tok::Minus,
            (c, _) if c.is_ascii_digit() => {
                let mut s = String::new();
                while let Some(c) = at(i).filter(|c| c.is_ascii_alphanumeric() || *c == '.') {
                    s.push(c);
                    i += 1;
                }
                // `8h`, `30m` are durations: kept as words for the time parser.
                out.push((
                    start,
                    match s.parse::<f64>() {
                        Ok(n) => Tok::Number(n),
                        Err(_) => Tok::Word(s),
                    },
                ));
                continue;
            }
            (c, _) if c.is_ascii_alphabetic() || c == '_' => {
                let mut s = String::new();
                while let Some(c) =
                    at(i).filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                {
                    s.push(c);
                    i += 1;
                }
                out.push((
                    start,
                    match s.as_str() {
                        "and" => Tok::And,
                        "or" => Tok::Or,
                        "not" => Tok::Not,
                        _ => Tok::Word(s),
                    },
                ));
                continue;
            }
            (c, _) => {
                return Err(GateError {
                    at: start,
                    reason: format!("unexpected character '{c}'"),
                });
            }
        };
        i += match tok {
            Tok::Op(Op::Lt | Op::Gt)
            | Tok::Not
            | Tok::Open
            | Tok::Close
            | Tok::Plus
            | Tok::Minus => 1,
            _ => 2,
        };
        out.push((start, tok));
    }
    Ok(out)
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    pos: usize,
    len: usize,
}

/// Parse and type-check a gate.
pub fn parse(text: &str) -> Result<Expr, GateError> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err(GateError {
            at: 0,
            reason: "the gate is empty".into(),
        });
    }
    let mut p = Parser {
        toks,
        pos: 0,
        len: text.chars().count(),
    };
    let expr = p.or()?;
    if p.pos < p.toks.len() {
        return Err(p.error(format!(
            "expected \"and\", \"or\" or the end, found {}",
            describe(p.toks.get(p.pos))
        )));
    }
    Ok(expr)
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(_, t)| t)
    }

    fn here(&self) -> usize {
        self.toks.get(self.pos).map_or(self.len, |(at, _)| *at)
    }

    fn error(&self, reason: String) -> GateError {
        GateError {
            at: self.here(),
            reason,
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let tok = self.toks.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        tok
    }

    fn or(&mut self) -> Result<Expr, GateError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, GateError> {
        let mut parts = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, GateError> {
        match self.peek() {
            Some(Tok::Not) => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Open) => {
                self.pos += 1;
                let inner = self.or()?;
                if self.next() != Some(Tok::Close) {
                    self.pos -= 1;
                    return Err(self.error("expected \")\"".into()));
                }
                Ok(inner)
            }
            _ => self.test(),
        }
    }

    fn test(&mut self) -> Result<Expr, GateError> {
        let start = self.here();
        let fact = self.fact()?;
        let Some(Tok::Op(op)) = self.peek().cloned() else {
            if fact.value_type() != Type::Bool {
                return Err(GateError {
                    at: start,
                    reason: format!(
                        "{} is not true or false: compare it (e.g. {} {})",
                        fact.name(),
                        fact.name(),
                        example(fact.value_type())
                    ),
                });
            }
            return Ok(Expr::Truth(fact));
        };
        self.pos += 1;
        let lit_at = self.here();
        let literal = match self.next() {
            Some(Tok::Number(n)) => Literal::Number(n),
            Some(Tok::Word(w)) if w == "true" => Literal::Bool(true),
            Some(Tok::Word(w)) if w == "false" => Literal::Bool(false),
            Some(Tok::Word(w)) => Literal::Word(w),
            other => {
                self.pos -= usize::from(other.is_some());
                return Err(self.error(format!(
                    "expected a value after {}, found {}",
                    op.as_str(),
                    describe(self.toks.get(self.pos))
                )));
            }
        };
        let bad = |reason: String| GateError { at: lit_at, reason };
        match (fact.value_type(), &literal) {
            (Type::Number, Literal::Number(_)) => {}
            (Type::Bool, Literal::Bool(_)) | (Type::Target, Literal::Word(_))
                if matches!(op, Op::Eq | Op::Ne) => {}
            (Type::Bool | Type::Target, Literal::Bool(_) | Literal::Word(_)) => {
                return Err(bad(format!(
                    "{} can only be compared with == or !=",
                    fact.name()
                )));
            }
            (t, _) => {
                return Err(bad(format!(
                    "{} is {}; it cannot be compared with {literal}",
                    fact.name(),
                    type_name(t)
                )));
            }
        }
        if let Literal::Word(w) = &literal
            && !TARGETS.contains(&w.as_str())
        {
            return Err(bad(format!(
                "{} is one of {}, not \"{w}\"",
                fact.name(),
                TARGETS.join(", ")
            )));
        }
        Ok(Expr::Compare(fact, op, literal))
    }

    fn fact(&mut self) -> Result<Fact, GateError> {
        let at = self.here();
        let Some(Tok::Word(name)) = self.next() else {
            self.pos -= 1;
            return Err(self.error(format!(
                "expected a fact (one of {}), found {}",
                FACTS.join(", "),
                describe(self.toks.get(self.pos))
            )));
        };
        let unknown = || GateError {
            at,
            reason: format!("unknown fact \"{name}\" (known: {})", FACTS.join(", ")),
        };
        let side = |s: &str| Side::parse(s);
        let takes_argument = matches!(
            name.as_str(),
            "dns.mx_ttl_lowered_before" | "dns.propagated" | "snapshot.taken"
        );
        if !takes_argument {
            let parts: Vec<&str> = name.split('.').collect();
            return match parts.as_slice() {
                ["dns", "mx_ttl"] => Ok(Fact::MxTtl),
                ["dns", "mx", "points_to"] => Ok(Fact::MxPointsTo),
                ["dns", "spf", "includes_exchange_online"] => Ok(Fact::SpfIncludesExchangeOnline),
                ["audit", "verified"] => Ok(Fact::AuditVerified),
                [s, "references"] => side(s).map(Fact::References).ok_or_else(unknown),
                [s, "domain", "present"] => side(s).map(Fact::DomainPresent).ok_or_else(unknown),
                [s, "domain", "verified"] => side(s).map(Fact::DomainVerified).ok_or_else(unknown),
                [s, "domain", "default"] => side(s).map(Fact::DomainDefault).ok_or_else(unknown),
                [s, "connectors_for_domain"] => {
                    side(s).map(Fact::ConnectorsForDomain).ok_or_else(unknown)
                }
                [s, "mail_apps_reviewed"] => {
                    side(s).map(Fact::MailAppsReviewed).ok_or_else(unknown)
                }
                _ => Err(unknown()),
            };
        }
        if self.next() != Some(Tok::Open) {
            self.pos -= 1;
            return Err(self.error(format!("{name} takes an argument: {name}(…)")));
        }
        let fact = match name.as_str() {
            "dns.mx_ttl_lowered_before" => Fact::MxTtlLoweredBefore(self.time()?),
            "dns.propagated" => {
                let arg = self.word("mx, txt or autodiscover")?;
                Fact::Propagated(Record::parse(&arg).ok_or_else(|| GateError {
                    at: self.toks.get(self.pos - 1).map_or(at, |(a, _)| *a),
                    reason: format!("dns.propagated takes mx, txt or autodiscover, not \"{arg}\""),
                })?)
            }
            _ => {
                let arg = self.word("source or destination")?;
                Fact::SnapshotTaken(side(&arg).ok_or_else(|| GateError {
                    at: self.toks.get(self.pos - 1).map_or(at, |(a, _)| *a),
                    reason: format!("snapshot.taken takes source or destination, not \"{arg}\""),
                })?)
            }
        };
        if self.next() != Some(Tok::Close) {
            self.pos -= 1;
            return Err(self.error("expected \")\"".into()));
        }
        Ok(fact)
    }

    fn word(&mut self, what: &str) -> Result<String, GateError> {
        match self.next() {
            Some(Tok::Word(w)) => Ok(w),
            _ => {
                self.pos -= 1;
                Err(self.error(format!(
                    "expected {what}, found {}",
                    describe(self.toks.get(self.pos))
                )))
            }
        }
    }

    /// `T`, `T - 8h`, `T + 1h30m`.
    fn time(&mut self) -> Result<TimeRef, GateError> {
        if self.next() != Some(Tok::Word("T".into())) {
            self.pos -= 1;
            return Err(self.error(format!(
                "expected a time such as T - 8h, found {}",
                describe(self.toks.get(self.pos))
            )));
        }
        let sign = match self.peek() {
            Some(Tok::Plus) => 1,
            Some(Tok::Minus) => -1,
            _ => return Ok(TimeRef { minutes: 0 }),
        };
        self.pos += 1;
        let at = self.here();
        let minutes = match self.next() {
            Some(Tok::Word(w)) => duration_minutes(&w),
            _ => None,
        }
        .ok_or_else(|| GateError {
            at,
            reason: "expected a duration such as 8h, 30m, 2d or 1h30m".into(),
        })?;
        Ok(TimeRef {
            minutes: sign * minutes,
        })
    }
}

fn type_name(t: Type) -> &'static str {
    match t {
        Type::Bool => "true or false",
        Type::Number => "a number",
        Type::Target => "a place (destination, none or other)",
    }
}

fn example(t: Type) -> &'static str {
    match t {
        Type::Number => "<= 300",
        Type::Target => "== destination",
        Type::Bool => "== true",
    }
}

/// `8h`, `30m`, `2d`, `1h30m` in minutes.
pub fn duration_minutes(text: &str) -> Option<i64> {
    let mut total: i64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: i64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            'd' => 1440,
            'h' => 60,
            'm' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    number.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_issue_examples_parse() {
        let cases = [
            "dns.mx_ttl <= 300",
            "dns.mx_ttl_lowered_before(T - 8h)",
            "source.references == 0",
            "source.domain.present == false",
            "destination.domain.verified",
            "dns.mx.points_to == destination",
            "dns.spf.includes_exchange_online",
            "dns.propagated(mx) >= 0.9",
            "snapshot.taken(source)",
            "audit.verified",
            "source.connectors_for_domain == 0",
            "source.mail_apps_reviewed",
            "destination.connectors_for_domain > 0 or not destination.mail_apps_reviewed",
            "not source.domain.present and (destination.domain.verified || audit.verified)",
        ];
        for text in cases {
            assert!(parse(text).is_ok(), "{text}: {:?}", parse(text));
        }
        assert_eq!(
            parse("dns.mx_ttl_lowered_before(T - 1h30m)").unwrap(),
            Expr::Truth(Fact::MxTtlLoweredBefore(TimeRef { minutes: -90 }))
        );
        assert_eq!(
            parse("dns.propagated(mx) >= 0.9").unwrap(),
            Expr::Compare(Fact::Propagated(Record::Mx), Op::Ge, Literal::Number(0.9))
        );
        let e = parse("a.domain.present").unwrap_err();
        assert!(
            e.reason.starts_with("unknown fact \"a.domain.present\""),
            "{e}"
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases = [
            ("dns.mx_ttl", 0, "is not true or false"),
            ("dns.mx_ttl <= destination", 14, "cannot be compared"),
            ("dns.mx.points_to == elsewhere", 20, "not \"elsewhere\""),
            (
                "dns.mx.points_to < destination",
                19,
                "only be compared with == or !=",
            ),
            ("source.references == ", 21, "expected a value"),
            ("(audit.verified", 15, "expected \")\""),
            ("audit.verified audit.verified", 15, "expected \"and\""),
            ("dns.propagated(ns) > 0.5", 15, "mx, txt or autodiscover"),
            ("dns.mx_ttl_lowered_before(T - 8x)", 30, "a duration"),
            ("dns.mx_ttl_lowered_before(8h)", 26, "a time such as"),
            ("snapshot.taken", 14, "takes an argument"),
            ("audit.verified $", 15, "unexpected character '$'"),
            ("", 0, "empty"),
        ];
        for (text, at, needle) in cases {
            let e = parse(text).unwrap_err();
            assert!(e.reason.contains(needle), "{text}: {e}");
            assert_eq!(e.at, at, "{text}: {e}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration_minutes("8h"), Some(480));
        assert_eq!(duration_minutes("1d2h5m"), Some(1565));
        assert_eq!(duration_minutes("8"), None);
        assert_eq!(duration_minutes("h"), None);
        assert_eq!(duration_minutes("99999999999999999999d"), None);
    }
}
