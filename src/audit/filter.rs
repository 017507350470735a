//! Selecting audit records by time range, kind, tenant, object and free text: shared by
//! `cutover audit show|export|report` and the Audit pane's `/` filter
//! (`kind:observed tenant:dns since:12:00 mx`).

use super::record::{Kind, Record};

/// Every kind, for parsing and for error messages.
pub const KINDS: [Kind; 8] = [
    Kind::SessionStart,
    Kind::SessionEnd,
    Kind::UserAction,
    Kind::Intent,
    Kind::Outcome,
    Kind::Observed,
    Kind::Note,
    Kind::Repair,
];

/// Which records to keep. Time bounds are UTC timestamps cut to the precision given
/// (`2026-11-21`, `2026-11-21T12:00`, `2026-11-21T12:00:05.000Z`) and compared as text with a
/// record's `ts`, which has the same layout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Keep records at or after this time.
    pub since: Option<String>,
    /// Keep records up to and including this time at its precision (`12:00` keeps 12:00:59).
    pub until: Option<String>,
    /// Keep only these kinds (any kind when empty).
    pub kinds: Vec<Kind>,
    /// Keep records of this tenant (`source`, `destination`, `dns`), ignoring case.
    pub tenant: Option<String>,
    /// Keep records whose target contains this, ignoring case.
    pub object: Option<String>,
    /// Keep records whose text contains every word, ignoring case.
    pub words: Vec<String>,
}

impl Filter {
    /// Parse the pane's filter syntax: `key:value` tokens for `kind` (comma-separated list),
    /// `tenant`, `object` (or `target`), `since` and `until`; other words are free text.
    /// `day` is the date (`YYYY-MM-DD`) that a bare time like `12:00` refers to.
    pub fn parse_query(query: &str, day: Option<&str>) -> Result<Filter, String> {
        let mut f = Filter::default();
        for token in query.split_whitespace() {
            match token.split_once(':') {
                Some(("kind", v)) => {
                    for k in v.split(',').filter(|k| !k.is_empty()) {
                        f.kinds.push(parse_kind(k)?);
                    }
                }
                Some(("tenant", v)) => f.tenant = Some(v.to_string()),
                Some(("object" | "target", v)) => f.object = Some(v.to_string()),
                Some(("since", v)) => f.since = Some(parse_time(v, day)?),
                Some(("until", v)) => f.until = Some(parse_time(v, day)?),
                _ => f.words.push(token.to_string()),
            }
        }
        Ok(f)
    }

    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    pub fn matches(&self, r: &Record) -> bool {
        if let Some(since) = &self.since
            && r.ts.as_str() < since.as_str()
        {
            return false;
        }
        if let Some(until) = &self.until
            && r.ts.get(..until.len()).unwrap_or(&r.ts) > until.as_str()
        {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&r.event.kind) {
            return false;
        }
        if let Some(t) = &self.tenant
            && !r
                .event
                .tenant
                .as_deref()
                .is_some_and(|rt| rt.eq_ignore_ascii_case(t))
        {
            return false;
        }
        if let Some(o) = &self.object
            && !r
                .event
                .target
                .as_deref()
                .is_some_and(|rt| contains_ci(rt, o))
        {
            return false;
        }
        if !self.words.is_empty() {
            let text = searchable(r);
            return self.words.iter().all(|w| contains_ci(&text, w));
        }
        true
    }
}

/// `session_start`, `observed`, … (also `session-start`) to a [`Kind`].
pub fn parse_kind(s: &str) -> Result<Kind, String> {
    let norm = s.trim().to_ascii_lowercase().replace('-', "_");
    KINDS
        .into_iter()
        .find(|k| k.as_str() == norm)
        .ok_or_else(|| {
            let names: Vec<&str> = KINDS.iter().map(|k| k.as_str()).collect();
            format!("unknown kind \"{s}\"; use one of {}", names.join(", "))
        })
}

/// Parse a time bound (UTC): `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS]` (or with a space), an RFC
/// 3339 time with offset, or `HH:MM[:SS]` on `day`. Returns the bound in `ts` layout, cut to
/// the precision given.
pub fn parse_time(s: &str, day: Option<&str>) -> Result<String, String> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;
    let bad = || {
        format!(
            "cannot read time \"{s}\"; use YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS] (UTC), HH:MM or RFC 3339"
        )
    };
    let s_norm = s.trim().replacen(' ', "T", 1);
    if let Ok(at) = time::OffsetDateTime::parse(&s_norm, &Rfc3339) {
        return Ok(super::record::format_ts(at));
    }
    let (date, clock) = match s_norm.split_once('T') {
        Some((d, c)) => (Some(d.to_string()), Some(c)),
        None if s_norm.contains(':') => (day.map(str::to_string), Some(s_norm.as_str())),
        None => (Some(s_norm.clone()), None),
    };
    let date = date.unwrap_or_else(|| "0000-01-01".to_string());
    time::Date::parse(&date, format_description!("[year]-[month]-[day]")).map_err(|_| bad())?;
    let Some(clock) = clock else {
        return Ok(date);
    };
    let ok = time::Time::parse(clock, format_description!("[hour]:[minute]:[second]")).is_ok()
        || time::Time::parse(clock, format_description!("[hour]:[minute]")).is_ok();
    if !ok {
        return Err(bad());
    }
    Ok(format!("{date}T{clock}"))
}

fn contains_ci(hay: &str, needle: &str) -> bool {
    hay.to_lowercase().contains(&needle.to_lowercase())
}

/// Everything free text is searched in.
fn searchable(r: &Record) -> String {
    let e = &r.event;
    let mut out = vec![
        e.kind.as_str().to_string(),
        e.action.clone(),
        r.operator.clone(),
    ];
    out.extend(
        [&e.tenant, &e.target, &e.result, &e.request_id, &r.upn]
            .into_iter()
            .flatten()
            .cloned(),
    );
    out.extend(
        [&e.before, &e.after]
            .into_iter()
            .flatten()
            .map(|v| v.to_string()),
    );
    if !e.details.is_null() {
        out.push(e.details.to_string());
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Event;
    use serde_json::json;

    fn rec(ts: &str, event: Event) -> Record {
        Record {
            v: 2,
            seq: 1,
            ts: ts.into(),
            cutover: "c".into(),
            operator: "alex".into(),
            event,
            upn: None,
            prev: String::new(),
            hash: String::new(),
        }
    }

    #[test]
    fn query_syntax() {
        let f = Filter::parse_query(
            "kind:observed,intent tenant:dns since:12:00 until:2026-11-21T13:30 mx",
            Some("2026-11-21"),
        )
        .unwrap();
        assert_eq!(f.kinds, vec![Kind::Observed, Kind::Intent]);
        assert_eq!(f.tenant.as_deref(), Some("dns"));
        assert_eq!(f.since.as_deref(), Some("2026-11-21T12:00"));
        assert_eq!(f.until.as_deref(), Some("2026-11-21T13:30"));
        assert_eq!(f.words, vec!["mx".to_string()]);
        let mx = Event::new(Kind::Observed, "mx ttl changed")
            .tenant("dns")
            .change(json!(3600), json!(300));
        assert!(f.matches(&rec("2026-11-21T12:00:00.000Z", mx.clone())));
        assert!(f.matches(&rec("2026-11-21T13:30:59.999Z", mx.clone())));
        assert!(!f.matches(&rec("2026-11-21T13:31:00.000Z", mx.clone())));
        assert!(!f.matches(&rec("2026-11-21T11:59:59.999Z", mx.clone())));
        assert!(!f.matches(&rec(
            "2026-11-21T12:30:00.000Z",
            Event::new(Kind::Observed, "spf changed").tenant("dns")
        )));
        // Free text searches before/after too.
        let f = Filter::parse_query("300", None).unwrap();
        assert!(f.matches(&rec("2026-11-21T12:00:00.000Z", mx)));
    }

    #[test]
    fn bad_kind_and_time_say_what_to_use() {
        let e = Filter::parse_query("kind:obsrved", None).unwrap_err();
        assert!(e.contains("obsrved") && e.contains("observed"), "{e}");
        assert!(parse_time("25:00", Some("2026-11-21")).is_err());
        assert!(parse_time("yesterday", None).is_err());
        assert_eq!(
            parse_time("2026-11-21T14:00:00+02:00", None).unwrap(),
            "2026-11-21T12:00:00.000Z"
        );
        assert_eq!(parse_time("2026-11-21", None).unwrap(), "2026-11-21");
    }
}
