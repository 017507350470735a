//! The reducer's part for who holds the domain seen from outside, the reference inventory and
//! the device-code sign-in dialog. Pure, like the rest of the reducer: changes come back as
//! `observed` audit commands, the first lookup is the baseline.

use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::audit::{Event, Kind};
use crate::graph::discovery::Outside;
use crate::inventory::Entry;

use super::action::Command;
use super::state::{State, TenantId};

/// The facts of a lookup whose change is worth an audit line.
fn outside_json(o: &Outside) -> Value {
    json!({
        "verdict": o.verdict(),
        "tenantId": o.tenant_id(),
        "namespaceType": o.namespace_type(),
    })
}

/// Keep the lookup; report a change of holder, verdict or namespace type. A lookup in which a
/// source failed is shown but not compared (a passing fault is not a change of holder).
pub fn outside_polled(state: &mut State, at: OffsetDateTime, outside: Outside) -> Vec<Command> {
    let mut commands = Vec::new();
    if outside.faults().is_empty() {
        let now = outside_json(&outside);
        if let Some(before) = state.outside.observed.replace(now.clone())
            && before != now
        {
            commands.push(Command::Audit(
                Event::new(Kind::Observed, "domain holder changed")
                    .tenant("outside")
                    .target(&state.domain)
                    .change(before, now),
            ));
        }
    }
    state.outside.last = Some(outside);
    state.outside.last_poll = Some(at);
    commands
}

/// Keep the inventory (a failure keeps the last one and says why); report a changed total.
pub fn inventory_polled(
    state: &mut State,
    at: OffsetDateTime,
    result: Result<Vec<Entry>, String>,
) -> Vec<Command> {
    let mut entries = match result {
        Ok(e) => e,
        Err(e) => {
            state.inventory.last_error = Some(e);
            return Vec::new();
        }
    };
    state.inventory.last_error = None;
    state.inventory.last_poll = Some(at);
    let holding = crate::inventory::Holding::of(&entries);
    let after = holding.total;
    let before = state.inventory.holding.replace(holding).map(|h| h.total);
    // Objects this session changed keep their rows, in their places, after they stop holding
    // the domain (the counts above are of what holds it).
    for kept in super::cleanup::kept_rows(state, &entries) {
        let at = entries
            .iter()
            .position(|e| crate::inventory::row_order(e, &kept).is_gt())
            .unwrap_or(entries.len());
        entries.insert(at, kept);
    }
    state.inventory.entries = Some(entries);
    match before {
        Some(before) if before != after => vec![Command::Audit(
            Event::new(Kind::Observed, "objects holding the domain changed")
                .tenant(TenantId::Source.as_str())
                .target(&state.domain)
                .change(json!(before), json!(after)),
        )],
        _ => Vec::new(),
    }
}

/// Esc in the sign-in dialog: close it, say what it means, stop that sign-in.
pub fn cancel_sign_in(state: &mut State) -> Vec<Command> {
    // The dialog shows the first waiting sign-in; Esc cancels that one.
    if state.sign_in.is_empty() {
        return Vec::new();
    }
    let dialog = state.sign_in.remove(0);
    let tenant = dialog.tenant.as_str();
    let service = dialog.service.label();
    state.notice = Some(format!(
        "{service} sign-in to {tenant} cancelled: run 'cutover login --tenant {tenant}', then restart"
    ));
    vec![
        Command::CancelSignIn(dialog.tenant, dialog.service),
        Command::Audit(
            Event::new(Kind::UserAction, "device-code sign-in cancelled")
                .tenant(tenant)
                .details(serde_json::json!({ "service": service })),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::{SignInDialog, SignInService};
    use crate::app::{Action, update};
    use crate::graph::discovery::{Answer, OpenidTenant, UserRealm};
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);

    fn state() -> State {
        State::bare(T0)
    }

    fn held_by(id: &str) -> Outside {
        Outside {
            domain: "contoso.example".into(),
            openid_configuration: Answer::Found(OpenidTenant {
                tenant_id: id.into(),
                issuer: format!("https://login.microsoftonline.com/{id}/v2.0"),
                tenant_region_scope: None,
                cloud_instance_name: None,
            }),
            user_realm: Answer::Found(UserRealm {
                namespace_type: "Managed".into(),
                domain_name: None,
                federation_brand_name: None,
                cloud_instance_name: None,
                auth_url: None,
            }),
            find_tenant_information: Answer::Skipped { reason: "-".into() },
        }
    }

    fn audits(cmds: &[Command]) -> Vec<&Event> {
        cmds.iter()
            .filter_map(|c| match c {
                Command::Audit(e) => Some(e),
                _ => None,
            })
            .collect()
    }

    fn poll(s: &mut State, o: Outside) -> Vec<Command> {
        update(
            s,
            Action::OutsidePolled {
                at: T0,
                outside: Box::new(o),
            },
        )
    }

    #[test]
    fn holder_change_is_observed_and_faults_are_not() {
        let mut s = state();
        assert!(poll(&mut s, held_by("src")).is_empty(), "baseline");
        assert!(poll(&mut s, held_by("src")).is_empty());
        let mut faulty = held_by("dst");
        faulty.user_realm = Answer::Failed {
            error: "HTTP 503".into(),
        };
        assert!(poll(&mut s, faulty).is_empty());
        assert!(s.outside.last.is_some());
        let cmds = poll(&mut s, held_by("dst"));
        let events = audits(&cmds);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, Kind::Observed);
        assert_eq!(events[0].action, "domain holder changed");
        assert_eq!(
            events[0].before.as_ref().map(|b| &b["tenantId"]),
            Some(&json!("src"))
        );
        assert_eq!(
            events[0].after.as_ref().map(|a| &a["tenantId"]),
            Some(&json!("dst"))
        );
    }

    #[test]
    fn inventory_total_change_is_observed() {
        let mut s = state();
        let entry = |id: &str| Entry {
            id: id.into(),
            kind: crate::inventory::Kind::User,
            display_name: String::new(),
            user_principal_name: None,
            enabled: None,
            synced: None,
            licences: None,
            references: vec![],
        };
        let mut inv = |r| update(&mut s, Action::InventoryPolled { at: T0, result: r });
        assert!(inv(Ok(vec![entry("a"), entry("b")])).is_empty());
        assert!(inv(Err("HTTP 503".into())).is_empty());
        let cmds = inv(Ok(vec![entry("a")]));
        assert_eq!(audits(&cmds)[0].after, Some(json!(1)));
        assert_eq!(s.inventory.entries.as_ref().map(Vec::len), Some(1));
        assert_eq!(s.inventory.last_error, None);
    }

    #[test]
    fn sign_in_dialogs_open_cancel_and_close_when_their_own_sign_in_ends() {
        let mut s = state();
        let dialog = SignInDialog {
            tenant: TenantId::Destination,
            service: SignInService::Graph,
            user_code: "ABCD1234".into(),
            verification_uri: "https://microsoft.com/devicelogin".into(),
            expires_in: 900,
        };
        update(&mut s, Action::SignInStarted(dialog.clone()));
        assert_eq!(s.sign_in.first(), Some(&dialog));
        let cmds = update(&mut s, Action::CancelSignIn);
        assert!(cmds.contains(&Command::CancelSignIn(
            TenantId::Destination,
            SignInService::Graph
        )));
        assert_eq!(audits(&cmds)[0].kind, Kind::UserAction);
        assert!(s.sign_in.is_empty());
        assert!(s.notice.as_deref().is_some_and(|n| n.contains("cancelled")));

        // Three sign-ins waiting (two tenants, and the source's Graph and Exchange apart):
        // one dialog after the other, none replacing another; each closes when its own
        // sign-in ends, whatever else polls.
        let source = SignInDialog {
            tenant: TenantId::Source,
            ..dialog.clone()
        };
        let source_exchange = SignInDialog {
            service: SignInService::Exchange,
            user_code: "EFGH5678".into(),
            ..source.clone()
        };
        update(&mut s, Action::SignInStarted(source.clone()));
        update(&mut s, Action::SignInStarted(source_exchange.clone()));
        update(&mut s, Action::SignInStarted(dialog));
        assert_eq!(s.sign_in.len(), 3);
        update(
            &mut s,
            Action::TenantPolled {
                tenant: TenantId::Source,
                at: T0,
                result: Err("x".into()),
            },
        );
        assert_eq!(s.sign_in.len(), 3, "a poll closes no dialog");
        update(
            &mut s,
            Action::SignInEnded {
                tenant: TenantId::Destination,
                service: SignInService::Graph,
            },
        );
        update(
            &mut s,
            Action::SignInEnded {
                tenant: TenantId::Source,
                service: SignInService::Graph,
            },
        );
        assert_eq!(s.sign_in, vec![source_exchange]);
        // Esc now cancels the Exchange sign-in, and only that one.
        let cmds = update(&mut s, Action::CancelSignIn);
        assert!(cmds.contains(&Command::CancelSignIn(
            TenantId::Source,
            SignInService::Exchange
        )));
        assert!(
            s.notice
                .as_deref()
                .is_some_and(|n| n.starts_with("Exchange Online sign-in to source cancelled")),
            "{:?}",
            s.notice
        );
    }
}
