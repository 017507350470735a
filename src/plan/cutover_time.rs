//! The cutover time T: only the admin sets it (config `cutover_at`, `--cutover`, or the timeline
//! pane), and the screen says where it came from. Nothing invents it: until it is set, the
//! timeline shows offsets only and the TTL plan says what it needs.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Where the cutover time in force came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CutoverSource {
    /// `--cutover` on the command line (wins for this session).
    CommandLine,
    /// Set in the timeline pane (saved with the timeline progress, journaled).
    Timeline,
    /// `cutover_at` in the configuration file.
    Config,
    /// The rehearsal's own choice (`cutover demo`), said so on screen.
    Demo,
}

impl CutoverSource {
    pub fn label(self) -> &'static str {
        match self {
            CutoverSource::CommandLine => "--cutover",
            CutoverSource::Timeline => "timeline",
            CutoverSource::Config => "config",
            CutoverSource::Demo => "demo",
        }
    }
}

/// The example shown wherever T is asked for.
pub const EXAMPLE: &str = "2026-12-05T18:00Z";

/// Parse a cutover time the admin typed: RFC 3339, with or without seconds, `T` or a space
/// between date and time, `Z` or an offset. A time without a zone is refused: in an outage
/// window "18:00" in the wrong zone is an hour of lost mail.
pub fn parse_cutover(input: &str) -> Result<OffsetDateTime, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(format!(
            "the cutover time is empty; write it like {EXAMPLE}"
        ));
    }
    if let Ok(t) = OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(t.to_offset(UtcOffset::UTC));
    }
    // Split off the zone: a trailing Z, or +HH:MM / -HH:MM after the time.
    let normalized: String = text
        .chars()
        .map(|c| if c == ' ' || c == 't' { 'T' } else { c })
        .collect();
    let (local, offset) = if let Some(rest) = normalized
        .strip_suffix('Z')
        .or_else(|| normalized.strip_suffix('z'))
    {
        (rest.to_string(), Some(UtcOffset::UTC))
    } else {
        split_offset(&normalized)
    };
    let Some(offset) = offset else {
        return Err(format!(
            "'{text}' has no time zone: add Z for UTC or an offset such as +01:00, e.g. {EXAMPLE}"
        ));
    };
    let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let without_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    PrimitiveDateTime::parse(&local, with_seconds)
        .or_else(|_| PrimitiveDateTime::parse(&local, without_seconds))
        .map(|t| t.assume_offset(offset).to_offset(UtcOffset::UTC))
        .map_err(|_| {
            format!("'{text}' is not a cutover time: write it like {EXAMPLE} (UTC) or 2026-12-05T19:00+01:00")
        })
}

/// `2026-12-05T19:00+01:00` → (`2026-12-05T19:00`, +01:00); no zone → (input, None).
fn split_offset(s: &str) -> (String, Option<UtcOffset>) {
    // The zone sign comes after the `T`; a `-` before it belongs to the date.
    let Some((date, time)) = s.split_once('T') else {
        return (s.to_string(), None);
    };
    let Some(at) = time.rfind(['+', '-']) else {
        return (s.to_string(), None);
    };
    let (Some(clock), Some(zone)) = (time.get(..at), time.get(at..)) else {
        return (s.to_string(), None);
    };
    let zone_format = format_description!("[offset_hour sign:mandatory]:[offset_minute]");
    match UtcOffset::parse(zone, zone_format) {
        Ok(offset) => (format!("{date}T{clock}"), Some(offset)),
        Err(_) => (s.to_string(), None),
    }
}

/// `2026-12-05 18:00 UTC`, the form T is shown in.
pub fn format_cutover(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

/// RFC 3339 in UTC, the form T is saved and journaled in.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(&Rfc3339)
        .unwrap_or_else(|_| format_cutover(t))
}

/// The cutover time in force and where it came from: the command line wins for the session,
/// then what the admin set in the timeline (saved progress), then the configuration file.
pub fn choose(
    command_line: Option<OffsetDateTime>,
    saved: Option<OffsetDateTime>,
    config: Option<OffsetDateTime>,
) -> Option<(OffsetDateTime, CutoverSource)> {
    command_line
        .map(|t| (t, CutoverSource::CommandLine))
        .or(saved.map(|t| (t, CutoverSource::Timeline)))
        .or(config.map(|t| (t, CutoverSource::Config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn accepts_the_forms_an_admin_types() {
        let t = datetime!(2026-12-05 18:00 UTC);
        for s in [
            "2026-12-05T18:00Z",
            "2026-12-05T18:00:00Z",
            "2026-12-05 18:00Z",
            "2026-12-05t18:00z",
            "2026-12-05T19:00+01:00",
            "2026-12-05T13:00:00-05:00",
            " 2026-12-05T18:00:00+00:00 ",
        ] {
            assert_eq!(parse_cutover(s), Ok(t), "{s}");
        }
    }

    #[test]
    fn refuses_a_time_without_zone_and_nonsense_with_one_line() {
        let no_zone = parse_cutover("2026-12-05T18:00").unwrap_err();
        assert!(no_zone.contains("no time zone"), "{no_zone}");
        for bad in [
            "",
            "tomorrow",
            "2026-13-05T18:00Z",
            "2026-12-05T25:00Z",
            "Zoë",
            "T+1d",
        ] {
            let e = parse_cutover(bad).unwrap_err();
            assert!(!e.contains('\n') && e.contains(EXAMPLE), "{bad}: {e}");
        }
    }

    #[test]
    fn command_line_then_timeline_then_config() {
        let (a, b, c) = (
            datetime!(2026-12-01 0:00 UTC),
            datetime!(2026-12-02 0:00 UTC),
            datetime!(2026-12-03 0:00 UTC),
        );
        assert_eq!(
            choose(Some(a), Some(b), Some(c)),
            Some((a, CutoverSource::CommandLine))
        );
        assert_eq!(
            choose(None, Some(b), Some(c)),
            Some((b, CutoverSource::Timeline))
        );
        assert_eq!(
            choose(None, None, Some(c)),
            Some((c, CutoverSource::Config))
        );
        assert_eq!(choose(None, None, None), None);
    }

    #[test]
    fn shown_and_saved_in_utc() {
        let t = parse_cutover("2026-12-05T19:30+01:00").unwrap();
        assert_eq!(format_cutover(t), "2026-12-05 18:30 UTC");
        assert_eq!(rfc3339(t), "2026-12-05T18:30:00Z");
    }
}
