//! The view model: the rows of the list panes as plain text, the filter over them, and what the
//! reducer keeps computed so that a frame only draws the visible slice. The Users pane's filter
//! result (indices into the reference inventory) is recomputed when the inventory arrives or
//! the filter changes, never per frame or per key; the other panes list tens of rows and are
//! read on demand. The reducer and the renderer both go through these functions, so selection,
//! filter and screen always agree. Nothing here draws: `ui` turns these rows into widgets.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::app::state::{DnsView, Pane, State};
use crate::audit::Record;
use crate::dns::propagation::{ResolverSweep, matrix};
use crate::dns::{AnswerStatus, RecordAnswer};
use crate::plan::{Phase, Step};
use crate::timeline::{StepState, StepView};

/// Case-insensitive substring filter. The needle is lower-cased once, not per row.
#[derive(Debug, Clone)]
pub struct Filter {
    needle: String,
}

impl Filter {
    pub fn new(text: &str) -> Self {
        Filter {
            needle: text.to_lowercase(),
        }
    }

    pub fn for_pane(state: &State, pane: Pane) -> Self {
        Filter::new(&state.view(pane).filter)
    }

    pub fn is_empty(&self) -> bool {
        self.needle.is_empty()
    }

    /// Does this one piece of row text contain the needle?
    pub fn matches(&self, text: &str) -> bool {
        self.is_empty() || contains_ci(text, &self.needle)
    }

    /// Does any of the row's cells contain the needle?
    pub fn matches_any<'a>(&self, cells: impl IntoIterator<Item = &'a str>) -> bool {
        self.is_empty() || cells.into_iter().any(|c| contains_ci(c, &self.needle))
    }
}

/// `needle` must already be lower case. ASCII text (nearly all directory data) is compared
/// without allocating; anything else falls back to `to_lowercase`.
fn contains_ci(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        h.len() >= n.len() && h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n))
    } else {
        hay.to_lowercase().contains(needle)
    }
}

/// How many rows the pane lists after its filter (0 for the domain pane, which is no list).
pub fn row_count(state: &State, pane: Pane) -> usize {
    match pane {
        Pane::Domain => 0,
        Pane::Dns => match state.dns.view {
            DnsView::Records => dns_rows(state).len(),
            // One row per comparison (`ui::dns_compare::compare_rows` maps them one to one).
            DnsView::Compare => {
                crate::dns::expected::compare(&state.dns.expected, &state.dns.answers).len()
            }
            DnsView::Propagation => propagation(state).0.len(),
            DnsView::Plan => plan_line_count(state),
        },
        Pane::Users => state.model.users.len(),
        Pane::Timeline => step_rows(state).count(),
        Pane::Audit => audit_rows(state).count(),
        Pane::Connections => super::connections::shown(state).len(),
    }
}

/// The propagation matrix and its columns: every resolver compared with the authoritative
/// answers (the first authoritative server is the reference, not a column). Without an
/// authoritative answer the resolvers are compared with each other's first answer.
pub fn propagation(state: &State) -> (Vec<crate::dns::propagation::Row>, &[ResolverSweep]) {
    let sweeps = state.dns.sweeps.as_slice();
    let columns = match sweeps.split_first() {
        Some((first, rest)) if first.authoritative => rest,
        _ => sweeps,
    };
    let rows = if state.dns.answers.is_empty() {
        let names: Vec<(String, crate::dns::RecordKind)> = sweeps
            .first()
            .map(|s| s.answers.iter().map(|a| (a.name.clone(), a.kind)).collect())
            .unwrap_or_default();
        matrix(&crate::dns::monitor::reference(&names, sweeps), columns)
    } else {
        matrix(&state.dns.answers, columns)
    };
    (rows, columns)
}

/// How many lines the TTL plan view lists (`ui::dns_views::plan_lines` builds them with their
/// styles; a test holds the two together): T and the MX TTL, one per blocklist verdict, the
/// snapshot.
pub fn plan_line_count(state: &State) -> usize {
    let mx_ttl = state
        .dns
        .answers
        .iter()
        .find(|a| a.kind == crate::dns::RecordKind::Mx && a.name == state.domain)
        .and_then(|a| a.values.iter().map(|v| v.ttl).max());
    let head = match (state.cutover_at, mx_ttl) {
        (Some(_), Some(_)) => 4,
        (None, _) => 2,
        (_, None) => 1,
    };
    head + state.dns.blocklists.len() + 1
}

// ---------------------------------------------------------------------------------------------
// The view model the reducer keeps

/// What the reducer computes when data arrives or a filter changes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ViewModel {
    /// Indices into the reference inventory of the objects the Users filter lets through, in
    /// the inventory's order.
    pub users: Vec<u32>,
    /// Per inventory entry: its searchable cells lower-cased and joined by [`CELL_SEP`], built
    /// once when the inventory arrives so a keystroke is one substring search per object.
    users_text: Vec<Box<str>>,
    /// The filter `users` was computed for (lower case).
    users_filter: String,
}

/// Joins the searchable cells of a row; a filter cannot type it, so no match spans two cells.
const CELL_SEP: char = '\u{1f}';

impl ViewModel {
    /// The inventory changed: rebuild the search text and the filter result.
    pub fn inventory_changed(&mut self, entries: Option<&[crate::inventory::Entry]>, filter: &str) {
        self.users_text = entries
            .unwrap_or_default()
            .iter()
            .map(|e| search_text(DirObject(e)))
            .collect();
        self.users_filter.clear();
        self.users = (0..self.users_text.len()).map(index).collect();
        self.users_filter_changed(filter);
    }

    /// The Users filter changed. A filter that only grew can only drop rows, so it searches
    /// the current result instead of every object.
    pub fn users_filter_changed(&mut self, filter: &str) {
        let needle = filter.to_lowercase();
        if needle == self.users_filter {
            return;
        }
        let text = &self.users_text;
        let hit = |i: &u32| {
            needle.is_empty()
                || text
                    .get(*i as usize)
                    .is_some_and(|t| !needle.contains(CELL_SEP) && t.contains(needle.as_str()))
        };
        if needle.starts_with(self.users_filter.as_str()) {
            self.users.retain(hit);
        } else {
            self.users = (0..text.len()).map(index).filter(hit).collect();
        }
        self.users_filter = needle;
    }
}

/// Inventory positions fit in `u32` (a tenant has far fewer than 4 billion objects); half the
/// memory of `usize` at 100,000 rows.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// The cells the Users filter looks at, lower-cased, in one string.
fn search_text(o: DirObject<'_>) -> Box<str> {
    let mut out = String::new();
    for cell in o.search_cells() {
        out.push_str(&cell.to_lowercase());
        out.push(CELL_SEP);
    }
    out.into_boxed_str()
}

/// First row to draw so that `selected` is visible in `height` rows: the view scrolls only when
/// the selection would leave it (render is pure, so no scroll offset is kept between frames).
pub fn window_start(selected: usize, height: usize) -> usize {
    if height == 0 {
        return selected;
    }
    selected.saturating_sub(height - 1)
}

/// `HH:MM:SS` in UTC.
pub fn hms(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second())
}

/// `MM-DD HH:MM` in UTC (a cutover spans weeks, not years; the column stays narrow).
pub fn md_hm(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:02}-{:02} {:02}:{:02}",
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

// ---------------------------------------------------------------------------------------------
// DNS

/// How a DNS row's value column reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsValueKind {
    Value,
    /// NXDOMAIN / NODATA: an answer, just an empty one.
    Missing,
    Error,
}

/// One line of the DNS pane: one value of one (name, type), or the status when there is none.
#[derive(Debug, Clone)]
pub struct DnsRow<'a> {
    pub answer: &'a RecordAnswer,
    /// Name relative to the domain (`@` for the apex).
    pub name: String,
    pub value: String,
    pub ttl: String,
    pub value_kind: DnsValueKind,
}

impl DnsRow<'_> {
    pub fn cells(&self) -> [&str; 4] {
        [
            &self.name,
            self.answer.kind.as_str(),
            &self.value,
            &self.ttl,
        ]
    }
}

/// `mail.contoso.example` → `mail`, `contoso.example` → `@`; names outside the domain stay whole.
pub fn relative_name(name: &str, domain: &str) -> String {
    let name = name.trim_end_matches('.');
    let domain = domain.trim_end_matches('.');
    if name.eq_ignore_ascii_case(domain) {
        return "@".to_string();
    }
    // Names come from DNS answers: `get` never splits inside a character.
    let label = name
        .len()
        .checked_sub(domain.len())
        .filter(|&split| {
            name.get(split..)
                .is_some_and(|t| t.eq_ignore_ascii_case(domain))
        })
        .and_then(|split| name.get(..split))
        .and_then(|head| head.strip_suffix('.'))
        .filter(|label| !label.is_empty());
    label.unwrap_or(name).to_string()
}

/// Every row of the DNS pane after its filter. The record set is small (tens of rows).
pub fn dns_rows(state: &State) -> Vec<DnsRow<'_>> {
    let filter = Filter::for_pane(state, Pane::Dns);
    let mut rows = Vec::new();
    for answer in &state.dns.answers {
        let name = relative_name(&answer.name, &state.domain);
        let status_row = |value: String, value_kind| DnsRow {
            answer,
            name: name.clone(),
            value,
            ttl: String::new(),
            value_kind,
        };
        match &answer.status {
            AnswerStatus::NxDomain => {
                rows.push(status_row("NXDOMAIN".into(), DnsValueKind::Missing))
            }
            AnswerStatus::NoData => rows.push(status_row("NODATA".into(), DnsValueKind::Missing)),
            AnswerStatus::Error(e) => {
                rows.push(status_row(format!("error: {e}"), DnsValueKind::Error))
            }
            AnswerStatus::Answer if answer.values.is_empty() => {
                rows.push(status_row("(empty answer)".into(), DnsValueKind::Missing))
            }
            AnswerStatus::Answer => {
                for v in &answer.values {
                    rows.push(DnsRow {
                        answer,
                        name: name.clone(),
                        value: v.value.clone(),
                        ttl: format!("{}s", v.ttl),
                        value_kind: DnsValueKind::Value,
                    });
                }
            }
        }
    }
    rows.retain(|r| filter.matches_any(r.cells()));
    rows
}

// ---------------------------------------------------------------------------------------------
// Users and aliases

/// A source-tenant object that holds the domain: one entry of the reference inventory, the
/// same list `cutover inventory` prints and [`crate::inventory::Holding`] counts, so the pane's
/// rows and every count on screen are one number.
#[derive(Debug, Clone, Copy)]
pub struct DirObject<'a>(pub &'a crate::inventory::Entry);

impl<'a> DirObject<'a> {
    pub fn kind_label(&self) -> &'static str {
        self.0.label()
    }

    /// UPN for users, display name for the others (they have no UPN), the id when unnamed.
    pub fn name(&self) -> &'a str {
        let e = self.0;
        match e.user_principal_name.as_deref() {
            Some(upn) => upn,
            None if e.display_name.is_empty() => &e.id,
            None => &e.display_name,
        }
    }

    pub fn mail(&self) -> &'a str {
        self.0
            .references
            .iter()
            .find(|r| r.how == "mail")
            .map_or("", |r| r.value.as_str())
    }

    /// Every reference but the UPN, the mail and the primary address: secondary addresses
    /// (without their `smtp:` prefix), identifier URIs, the type Graph reported.
    pub fn aliases(&self) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .references
            .iter()
            .filter(|r| !matches!(r.how, "mail" | "primarySmtpAddress" | "userPrincipalName"))
            .map(|r| r.value.strip_prefix("smtp:").unwrap_or(&r.value))
    }

    pub fn aliases_joined(&self) -> String {
        let mut out = String::new();
        for a in self.aliases() {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(a);
        }
        out
    }

    /// The cells the Users filter looks at: people search for "Jürgen", not for the UPN his
    /// name was transliterated into, so the display name is one of them.
    pub fn search_cells(&self) -> impl Iterator<Item = &'a str> + 'a {
        [
            self.kind_label(),
            self.name(),
            self.0.display_name.as_str(),
            self.mail(),
        ]
        .into_iter()
        .chain(self.aliases())
    }
}

/// The objects that hold the domain (unfiltered): the reference inventory, in its order.
pub fn directory_objects(state: &State) -> impl Iterator<Item = DirObject<'_>> {
    state.inventory.entries.iter().flatten().map(DirObject)
}

/// [`directory_objects`] after the Users pane's filter, as the reducer last computed it.
pub fn directory_rows(state: &State) -> impl Iterator<Item = DirObject<'_>> {
    directory_window(state, 0, usize::MAX)
}

/// `len` rows of [`directory_rows`] from `start`: a slice of the view model, so drawing the
/// last screen of 100,000 rows costs what drawing the first does.
pub fn directory_window(
    state: &State,
    start: usize,
    len: usize,
) -> impl Iterator<Item = DirObject<'_>> {
    let entries = state.inventory.entries.as_deref().unwrap_or_default();
    let users = &state.model.users;
    let end = start.saturating_add(len).min(users.len());
    users
        .get(start.min(end)..end)
        .unwrap_or_default()
        .iter()
        .filter_map(move |i| entries.get(*i as usize))
        .map(DirObject)
}

// ---------------------------------------------------------------------------------------------
// Timeline

/// One runbook step with its phase and where it stands.
#[derive(Debug, Clone, Copy)]
pub struct StepRow<'a> {
    /// Index in runbook order (into `state.timeline.views`).
    pub index: usize,
    pub phase: &'a Phase,
    pub step: &'a Step,
    /// `None` until the timeline was first computed.
    pub view: Option<&'a StepView>,
}

/// The status column: a mark and a word.
pub fn status_marker(state: Option<&StepState>) -> &'static str {
    match state {
        None | Some(StepState::Pending) => "[ ]",
        Some(StepState::Due) => "[!]",
        Some(StepState::Overdue(_)) => "[!]",
        Some(StepState::DoneByGate(_)) => "[✓]",
        Some(StepState::DoneByHand { .. }) => "[x]",
        Some(StepState::Skipped { .. }) => "[-]",
        Some(StepState::Failed { .. }) => "[✗]",
        Some(StepState::Contingency) => "[ ]",
    }
}

/// Due time relative to T: `T-14d`, `T-8h`, `T-30m`, `T+0`, `T+1d`.
pub fn due_relative(minutes: i64) -> String {
    crate::plan::format_offset(minutes)
}

/// Absolute due time, when the cutover time is set.
pub fn due_at(state: &State, step: &Step) -> Option<OffsetDateTime> {
    state
        .cutover_at
        .and_then(|t| t.checked_add(time::Duration::minutes(step.due_minutes)))
}

impl StepRow<'_> {
    pub fn state(&self) -> Option<&StepState> {
        self.view.map(|v| &v.state)
    }

    /// marker, title, owner, relative due, absolute due (local time; empty without T), status.
    pub fn cells(&self, state: &State) -> [String; 6] {
        [
            status_marker(self.state()).to_string(),
            self.step.title.clone(),
            self.step.owner.clone(),
            due_relative(self.step.due_minutes),
            due_at(state, self.step)
                .map(local_md_hm)
                .unwrap_or_default(),
            self.state().map_or("", StepState::label).to_string(),
        ]
    }
}

/// `19:00` in the machine's local time zone.
pub fn local_hm(t: OffsetDateTime) -> String {
    let t = t.to_offset(local_offset());
    format!("{:02}:{:02}", t.hour(), t.minute())
}

/// `12-05 19:00` in the machine's local time zone (UTC when it cannot be told).
pub fn local_md_hm(t: OffsetDateTime) -> String {
    md_hm(t.to_offset(local_offset()))
}

/// The local UTC offset, read once (reading it later can fail in a threaded process).
pub fn local_offset() -> time::UtcOffset {
    static OFFSET: std::sync::OnceLock<time::UtcOffset> = std::sync::OnceLock::new();
    *OFFSET.get_or_init(|| time::UtcOffset::current_local_offset().unwrap_or(time::UtcOffset::UTC))
}

/// Steps after the Timeline filter; a step also matches when its phase title does.
pub fn step_rows(state: &State) -> impl Iterator<Item = StepRow<'_>> {
    let filter = Filter::for_pane(state, Pane::Timeline);
    state
        .runbook
        .phases
        .iter()
        .flat_map(|phase| phase.steps.iter().map(move |step| (phase, step)))
        .enumerate()
        .map(|(index, (phase, step))| StepRow {
            index,
            phase,
            step,
            view: state.timeline.views.get(index),
        })
        .filter(move |row| {
            filter.is_empty()
                || filter.matches(&row.phase.title)
                || filter.matches_any(row.cells(state).iter().map(String::as_str))
        })
}

// ---------------------------------------------------------------------------------------------
// Audit

/// `HH:MM:SS` of an RFC 3339 time stamp, or the raw text when it does not parse.
pub fn audit_time(ts: &str) -> String {
    match OffsetDateTime::parse(ts, &Rfc3339) {
        Ok(t) => hms(t),
        Err(_) => ts.to_string(),
    }
}

/// Compact JSON for the before→after column: strings without quotes.
fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// time, kind, tenant, target, action, before→after.
pub fn audit_cells(record: &Record) -> [String; 6] {
    let e = &record.event;
    let change = match (&e.before, &e.after) {
        (None, None) => String::new(),
        (b, a) => format!(
            "{} → {}",
            b.as_ref().map(compact).unwrap_or_else(|| "–".into()),
            a.as_ref().map(compact).unwrap_or_else(|| "–".into())
        ),
    };
    [
        audit_time(&record.ts),
        e.kind.as_str().to_string(),
        e.tenant.clone().unwrap_or_default(),
        e.target.clone().unwrap_or_default(),
        e.action.clone(),
        change,
    ]
}

/// The Audit pane's filter (`kind:observed tenant:dns since:12:00 mx`); bare times refer to the
/// day of the newest line, so the result depends on state only.
pub fn audit_filter(state: &State) -> Result<crate::audit::Filter, String> {
    let day = state.audit.last().and_then(|r| r.ts.get(..10));
    crate::audit::Filter::parse_query(&state.view(Pane::Audit).filter, day)
}

/// Audit records newest first, after the Audit filter (none while the filter does not parse).
pub fn audit_rows(state: &State) -> impl Iterator<Item = &Record> {
    let filter = audit_filter(state).ok();
    state
        .audit
        .iter()
        .rev()
        .filter(move |r| filter.as_ref().is_some_and(|f| f.matches(r)))
}

/// The Audit entry under the selection, for the detail view.
pub fn selected_audit(state: &State) -> Option<&Record> {
    let count = audit_rows(state).count();
    let selected = state.view(Pane::Audit).selected.min(count.checked_sub(1)?);
    audit_rows(state).nth(selected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_case_insensitive() {
        let f = Filter::new("SmItH");
        assert!(f.matches("john.smith@contoso.example"));
        assert!(!f.matches("jane@contoso.example"));
        assert!(Filter::new("ÄB").matches("xäbx"));
        assert!(Filter::new("").matches("anything"));
    }

    #[test]
    fn relative_names() {
        assert_eq!(relative_name("contoso.example", "contoso.example"), "@");
        assert_eq!(
            relative_name("autodiscover.contoso.example", "contoso.example"),
            "autodiscover"
        );
        assert_eq!(
            relative_name("other.example", "contoso.example"),
            "other.example"
        );
        assert_eq!(
            relative_name("xcontoso.example", "contoso.example"),
            "xcontoso.example"
        );
    }

    #[test]
    fn relative_names_never_split_a_character() {
        // The cut falls inside "é" while the byte before it is a character boundary: this
        // used to panic the render.
        assert_eq!(relative_name("ab.cé", "z"), "ab.cé");
        assert_eq!(relative_name("xé", "b"), "xé");
        assert_eq!(
            relative_name("büro.bücher.example", "bücher.example"),
            "büro"
        );
        assert_eq!(relative_name("田中.例え.jp", "例え.jp"), "田中");
        assert_eq!(
            relative_name(".contoso.example", "contoso.example"),
            ".contoso.example"
        );
    }

    #[test]
    fn due_formats() {
        assert_eq!(due_relative(-14 * 1440), "T-14d");
        assert_eq!(due_relative(-8 * 60), "T-8h");
        assert_eq!(due_relative(0), "T+0");
        assert_eq!(due_relative(1440), "T+1d");
        assert_eq!(due_relative(-30), "T-30m");
    }

    #[test]
    fn window_keeps_selection_visible() {
        assert_eq!(window_start(0, 5), 0);
        assert_eq!(window_start(4, 5), 0);
        assert_eq!(window_start(5, 5), 1);
        assert_eq!(window_start(3, 0), 3);
    }
}
