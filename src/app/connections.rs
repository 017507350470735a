//! The Connections pane (6): each tenant's Exchange connectors, the applications holding
//! delegated grants or application permissions to mail, calendars, contacts or the directory,
//! and the registrations whose URIs use the domain — what `access::read` reads, fed by the
//! access poller — with the access plan (`access::plan`, what `cutover plan access` makes)
//! laid over them in a [`Workbench`] of its own: the Users pane's selection, preview,
//! confirmation, runs and undo (`app::cleanup`). Rows are made when a reading arrives; the
//! renderer only draws them. See `docs/access.md`.

use time::OffsetDateTime;

use crate::access::{Consent, Inventory, PlanOptions};

use super::state::{Pane, State, TenantId};
use super::workbench::{Interner, PlanSketch, Planned, Workbench};

/// One row: a connector, one grant or application permission of an app, or a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnRow {
    /// What the access plan's change targets (connector name, grant id, assignment id) or the
    /// registration's id: the workbench's key for the row.
    pub id: String,
    /// `inbound`, `outbound`, `grant`, `app role`, `app reg`.
    pub kind: &'static str,
    /// The connector's or the application's name.
    pub name: String,
    /// What it is, in words (type, domains, smart hosts, TLS; scopes, who consented,
    /// publisher; permission, since when; URIs).
    pub detail: String,
    /// Why the plan has no change for it, when it has none.
    pub note: Option<String>,
}

/// One tenant's last reading.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantAccess {
    /// When the last reading arrived (either way).
    pub at: Option<OffsetDateTime>,
    /// Why the last reading failed (Microsoft's refusal, in its words); the rows of the last
    /// good one stay.
    pub error: Option<String>,
    /// A reading has arrived (the rows are a tenant's, not "not read yet").
    pub read: bool,
    pub rows: Vec<ConnRow>,
    /// Counts for the pane's first line: connectors naming the domain, apps listed.
    pub naming: usize,
    pub apps: usize,
    /// The tenant's access plan over its rows. One per tenant: the workbench keys rows by
    /// the change's target id, and a connector's name can be the same in both tenants.
    pub bench: Workbench,
    /// The last good reading itself (a few dozen items), for the timeline's access gates.
    pub inventory: Option<Box<Inventory>>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Connections {
    pub source: TenantAccess,
    pub destination: TenantAccess,
    /// Whose list the pane shows (`v` switches).
    pub shown: Shown,
}

/// Whose list is shown (a newtype so `Default` is the source).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shown(pub TenantId);

impl Default for Shown {
    fn default() -> Self {
        Shown(TenantId::Source)
    }
}

impl Connections {
    pub fn tenant(&self, id: TenantId) -> &TenantAccess {
        match id {
            TenantId::Source => &self.source,
            TenantId::Destination => &self.destination,
        }
    }

    pub fn tenant_mut(&mut self, id: TenantId) -> &mut TenantAccess {
        match id {
            TenantId::Source => &mut self.source,
            TenantId::Destination => &mut self.destination,
        }
    }
}

/// The rows of an inventory and why some have no planned change.
fn rows_of(inv: &Inventory) -> Vec<ConnRow> {
    let mut rows = Vec::new();
    for c in &inv.connectors {
        let mut parts = vec![c.connector_type.clone()];
        if !c.domains.is_empty() {
            parts.push(c.domains.join(" "));
        }
        if !c.smart_hosts.is_empty() {
            parts.push(format!("smart hosts {}", c.smart_hosts.join(" ")));
        }
        if !c.sender_ip_addresses.is_empty() {
            parts.push(format!("from {}", c.sender_ip_addresses.join(" ")));
        }
        parts.push(match &c.tls {
            Some(t) => format!("TLS {t}"),
            None => "no TLS name".to_string(),
        });
        if !c.enabled {
            parts.push("disabled".into());
        }
        parts.push(if c.names_domain {
            format!("names {}: {}", inv.domain, c.references.join(", "))
        } else {
            format!("does not name {}", inv.domain)
        });
        rows.push(ConnRow {
            id: c.name.clone(),
            kind: c.direction,
            name: c.name.clone(),
            detail: parts.join(" · "),
            note: (!c.names_domain).then(|| "— (does not name the domain)".to_string()),
        });
    }
    for a in &inv.apps {
        let publisher = match (&a.verified_publisher, &a.publisher) {
            (Some(v), _) => format!("verified publisher {v}"),
            (None, Some(p)) => format!("publisher {p} (not verified)"),
            (None, None) => "no publisher (not verified)".to_string(),
        };
        // Only third-party apps are planned by default (`cutover plan access` without --app).
        let note = match a.origin {
            "cutover" => Some("— (cutover signs in with it: never planned)".to_string()),
            "microsoft" => Some("— (Microsoft's app: plan access --app to include)".to_string()),
            "own" => Some("— (registered here: plan access --app to include)".to_string()),
            _ => None,
        };
        for d in &a.delegated {
            let who = match &d.consent {
                Consent::AllUsers => "all users (admin consent)".to_string(),
                Consent::User { user, .. } => format!("consented by {user}"),
            };
            rows.push(ConnRow {
                id: d.grant_id.clone(),
                kind: "grant",
                name: a.display_name.clone(),
                detail: format!(
                    "{} on {} · {who} · {publisher} · consented: not said by Graph v1.0",
                    d.scopes.join(" "),
                    d.resource
                ),
                note: note.clone(),
            });
        }
        for r in &a.application {
            let since = r
                .created
                .as_deref()
                .map_or_else(|| "since: not said".to_string(), |t| format!("since {t}"));
            rows.push(ConnRow {
                id: r.assignment_id.clone(),
                kind: "app role",
                name: a.display_name.clone(),
                detail: format!("{} on {} · {since} · {publisher}", r.permission, r.resource),
                note: note.clone(),
            });
        }
    }
    for r in &inv.applications {
        let uris: Vec<&str> = r
            .identifier_uris
            .iter()
            .chain(&r.redirect_uris)
            .map(String::as_str)
            .collect();
        rows.push(ConnRow {
            id: r.id.clone(),
            kind: "app reg",
            name: r.display_name.clone(),
            detail: format!("URIs {}", uris.join(" ")),
            note: Some("— (its URIs: the Users pane's release plan)".to_string()),
        });
    }
    rows
}

/// A tenant's reading arrived: its rows and plan replace the last ones. A row this session
/// changed stays after it is gone from the reading (a revoked grant), so it can say so.
pub fn polled(
    state: &mut State,
    tenant: TenantId,
    at: OffsetDateTime,
    result: Result<Box<Inventory>, String>,
) {
    let cursor = (state.connections.shown.0 == tenant)
        .then(|| cursor_id(state))
        .flatten();
    let conn = &mut state.connections;
    match result {
        Err(e) => {
            let t = conn.tenant_mut(tenant);
            t.at = Some(at);
            t.error = Some(e);
        }
        Ok(inv) => {
            let mut rows = rows_of(&inv);
            let (changes, left) = crate::access::plan(
                &inv,
                &PlanOptions {
                    connectors: true,
                    apps: true,
                    ..PlanOptions::default()
                },
            );
            let mut strings = Interner::default();
            let sketch = PlanSketch {
                initial_domain: String::new(),
                planned: changes
                    .iter()
                    .map(|c| Planned::of_shared(c, &mut strings))
                    .collect(),
                blocked: left.into_iter().map(|l| (l.target.id, l.why)).collect(),
            };
            let t = conn.tenant_mut(tenant);
            let kept: Vec<ConnRow> = t
                .rows
                .iter()
                .filter(|old| !rows.iter().any(|r| r.id == old.id) && t.bench.touched(&old.id))
                .cloned()
                .collect();
            rows.extend(kept);
            t.at = Some(at);
            t.error = None;
            t.read = true;
            t.naming = inv.connectors.iter().filter(|c| c.names_domain).count();
            t.apps = inv.apps.len();
            t.rows = rows;
            // The workbench keeps what this session did.
            t.bench.replan(sketch, at);
            t.inventory = Some(inv);
        }
    }
    // The cursor stays on its row when rows come and go.
    if let Some(row) = cursor.and_then(|id| shown(state).iter().position(|r| r.id == id)) {
        state.view_mut(Pane::Connections).selected = row;
    }
}

/// `v`: the other tenant's list.
pub fn switch_tenant(state: &mut State) {
    let next = match state.connections.shown.0 {
        TenantId::Source => TenantId::Destination,
        TenantId::Destination => TenantId::Source,
    };
    state.connections.shown = Shown(next);
    state.view_mut(Pane::Connections).selected = 0;
}

/// The rows the pane shows: the shown tenant's, through the pane's filter (words in the
/// kind, name or detail, without case).
pub fn shown(state: &State) -> Vec<&ConnRow> {
    let filter = state.view(Pane::Connections).filter.to_lowercase();
    state
        .connections
        .tenant(state.connections.shown.0)
        .rows
        .iter()
        .filter(|r| {
            filter.is_empty()
                || [r.kind, r.name.as_str(), r.detail.as_str()]
                    .iter()
                    .any(|t| t.to_lowercase().contains(&filter))
        })
        .collect()
}

/// The id of the row under the cursor.
pub fn cursor_id(state: &State) -> Option<String> {
    shown(state)
        .get(state.view(Pane::Connections).selected)
        .map(|r| r.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::{AppEntry, DelegatedEntry, NO_CONSENT_TIME, NO_LAST_SIGN_IN};

    fn inventory(grants: &[&str]) -> Inventory {
        Inventory {
            tenant: "source".into(),
            domain: "contoso.example".into(),
            connectors: Vec::new(),
            apps: vec![AppEntry {
                id: "sp1".into(),
                app_id: "app1".into(),
                display_name: "CRM".into(),
                publisher: Some("CRM Inc".into()),
                verified_publisher: None,
                owner_organization: None,
                origin: "third_party",
                delegated: grants
                    .iter()
                    .map(|g| DelegatedEntry {
                        grant_id: g.to_string(),
                        resource: "Microsoft Graph".into(),
                        resource_id: "graph".into(),
                        scopes: vec!["Mail.ReadWrite".into()],
                        consent: Consent::AllUsers,
                        consent_type: "AllPrincipals".into(),
                        consented: NO_CONSENT_TIME,
                    })
                    .collect(),
                application: Vec::new(),
                last_sign_in: NO_LAST_SIGN_IN,
            }],
            applications: Vec::new(),
        }
    }

    #[test]
    fn a_reading_becomes_rows_with_their_planned_change_and_a_touched_row_stays() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut s = State::bare(now);
        polled(
            &mut s,
            TenantId::Source,
            now,
            Ok(Box::new(inventory(&["g1", "g2"]))),
        );
        let rows = shown(&s);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            s.connections.source.bench.row("g1").planned,
            "revoke the delegated grant"
        );
        // The grant is revoked in this session: the next reading no longer lists it, the row
        // stays and says so.
        let change = s
            .connections
            .source
            .bench
            .to_apply(&["g1".to_string()])
            .pop()
            .expect("planned");
        s.connections.source.bench.start(
            super::super::workbench::Run {
                kind: super::super::workbench::RunKind::Apply,
                read_only: false,
                total: 1,
                applied: 0,
                failed: 0,
                refused: 0,
                started: now,
                ended: None,
                error: None,
                undoes: Default::default(),
            },
            std::slice::from_ref(&change),
        );
        s.connections
            .source
            .bench
            .settled(&crate::executor::ChangeResult {
                id: change.id.clone(),
                status: crate::executor::Status::Applied,
                request_id: None,
            });
        polled(
            &mut s,
            TenantId::Source,
            now,
            Ok(Box::new(inventory(&["g2"]))),
        );
        assert_eq!(shown(&s).len(), 2);
        assert_eq!(
            s.connections.source.bench.row("g1").state,
            super::super::workbench::RowState::Applied
        );
        // A refusal is kept beside the last rows.
        polled(&mut s, TenantId::Source, now, Err("forbidden".into()));
        assert_eq!(s.connections.source.error.as_deref(), Some("forbidden"));
        assert_eq!(shown(&s).len(), 2);
    }

    #[test]
    fn each_tenant_has_its_own_plan_even_for_the_same_ids() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let mut s = State::bare(now);
        let mut source = inventory(&["g1"]);
        let mut destination = inventory(&["g1"]);
        destination.tenant = "destination".into();
        // The destination's app is Microsoft's: not planned there.
        destination.apps[0].origin = "microsoft";
        source.apps[0].display_name = "CRM source".into();
        polled(&mut s, TenantId::Source, now, Ok(Box::new(source)));
        polled(
            &mut s,
            TenantId::Destination,
            now,
            Ok(Box::new(destination)),
        );
        let source_row = s.connections.source.bench.row("g1");
        let destination_row = s.connections.destination.bench.row("g1");
        assert_eq!(source_row.planned, "revoke the delegated grant");
        assert_eq!(
            destination_row.state,
            super::super::workbench::RowState::None
        );
        let change = s.connections.source.bench.to_apply(&["g1".to_string()]);
        assert_eq!(change.len(), 1);
        assert_eq!(change[0].tenant, "source");
        assert!(
            s.connections
                .destination
                .bench
                .to_apply(&["g1".to_string()])
                .is_empty()
        );
        // `v` shows the destination's rows, and the focused workbench is the destination's.
        s.focus = Pane::Connections;
        switch_tenant(&mut s);
        assert_eq!(
            super::super::cleanup::focused(&s),
            Some(super::super::workbench::Bench::Connections(
                TenantId::Destination
            ))
        );
        assert_eq!(shown(&s).len(), 1);
    }
}
