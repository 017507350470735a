//! The Connections pane (6) drawn on a `TestBackend` at 80x24 and 120x40, each checked by
//! snapshot and by the facts that matter: a connector and an app's grants with their planned
//! change, Graph's refusal, the preview (route and undo) and the confirmation. The state is
//! made as the dashboard makes it: an `access::Inventory` given to the reducer as the access
//! poller gives it, then the keys' actions.

use cutover::access::{
    AppEntry, ConnectorEntry, Consent, DelegatedEntry, Inventory, NO_CONSENT_TIME, NO_LAST_SIGN_IN,
    RoleEntry,
};
use cutover::app::state::{Pane, State, TenantId};
use cutover::app::workbench::{Dialog, RunKind};
use cutover::app::{Action, update};
use cutover::exchange::{Connector, InboundConnector};
use cutover::plan::Runbook;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);
const DOMAIN: &str = "contoso.example";
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn inventory() -> Inventory {
    let relay = InboundConnector {
        identity: "Relay365 inbound".into(),
        name: "Relay365 inbound".into(),
        connector_type: "Partner".into(),
        enabled: true,
        sender_domains: vec![DOMAIN.into()],
        tls_sender_certificate_name: Some("mx.relay365.example".into()),
        sender_ip_addresses: Vec::new(),
    };
    let grant = |id: &str, who: &str| DelegatedEntry {
        grant_id: id.into(),
        resource: "Microsoft Graph".into(),
        resource_id: "graph-sp".into(),
        scopes: vec!["Mail.ReadWrite".into()],
        consent: Consent::User {
            principal_id: format!("{id}-user"),
            user: format!("{who}@{DOMAIN}"),
        },
        consent_type: "Principal".into(),
        consented: NO_CONSENT_TIME,
    };
    Inventory {
        tenant: "source".into(),
        domain: DOMAIN.into(),
        connectors: vec![ConnectorEntry {
            name: relay.name.clone(),
            direction: "inbound",
            connector_type: "Partner".into(),
            enabled: true,
            domains: vec![DOMAIN.into()],
            smart_hosts: Vec::new(),
            sender_ip_addresses: Vec::new(),
            tls: Some("mx.relay365.example".into()),
            names_domain: true,
            references: vec![format!("SenderDomains {DOMAIN}")],
            action: "remove",
            connector: Connector::Inbound(relay),
        }],
        apps: vec![
            AppEntry {
                id: "sp-backup".into(),
                app_id: "app-backup".into(),
                display_name: "Fabrikam Backup".into(),
                publisher: Some("Fabrikam Backup GmbH".into()),
                verified_publisher: None,
                owner_organization: Some("other-tenant".into()),
                origin: "third_party",
                delegated: Vec::new(),
                application: vec![RoleEntry {
                    assignment_id: "asg-1".into(),
                    resource: "Office 365 Exchange Online".into(),
                    resource_id: "exo-sp".into(),
                    permission: "full_access_as_app".into(),
                    app_role_id: "dc890d15-9560-4a4c-9b7f-a736ec74ec40".into(),
                    created: Some("2024-05-02T09:00:00Z".into()),
                }],
                last_sign_in: NO_LAST_SIGN_IN,
            },
            AppEntry {
                id: "sp-crm".into(),
                app_id: "app-crm".into(),
                display_name: "Northwind CRM".into(),
                publisher: Some("Northwind Traders".into()),
                verified_publisher: Some("Northwind Traders".into()),
                owner_organization: Some("other-tenant".into()),
                origin: "third_party",
                delegated: vec![grant("grant-1", "anna.berg"), grant("grant-2", "li.wei")],
                application: Vec::new(),
                last_sign_in: NO_LAST_SIGN_IN,
            },
        ],
        applications: Vec::new(),
    }
}

fn state() -> State {
    let mut s = State::new(
        DOMAIN.into(),
        DOMAIN.into(),
        Runbook { phases: Vec::new() },
        NOW,
    );
    update(&mut s, Action::Focus(Pane::Connections));
    s
}

fn read() -> State {
    let mut s = state();
    update(
        &mut s,
        Action::AccessPolled {
            tenant: TenantId::Source,
            at: NOW,
            result: Ok(Box::new(inventory())),
        },
    );
    s
}

fn draw(state: &State, width: u16, height: u16) -> String {
    let mut s = state.clone();
    update(&mut s, Action::Resize(width, height));
    crate::common::draw(&s, width, height)
}

/// Snapshot `state` at both sizes; both screens for further checks.
fn snap(name: &str, state: &State) -> Vec<String> {
    SIZES
        .iter()
        .map(|(w, h)| {
            let screen = draw(state, *w, *h);
            insta::assert_snapshot!(format!("connections_{name}_{w}x{h}"), screen);
            screen
        })
        .collect()
}

#[test]
fn rows_with_their_planned_change() {
    let s = read();
    for (screen, (w, _)) in snap("rows", &s).iter().zip(SIZES) {
        assert!(screen.contains("6 Connections"), "{screen}");
        // Narrow, names are cut; from 120 columns on, the details column says what each is.
        if w >= 120 {
            assert!(screen.contains("Relay365 inbound"), "{screen}");
            assert!(screen.contains("Mail.ReadWrite on Micros"), "{screen}");
        } else {
            assert!(screen.contains("Relay365 inbo"), "{screen}");
        }
        assert!(screen.contains("remove the connector"), "{screen}");
        assert!(screen.contains("Northwind CRM"), "{screen}");
        assert!(screen.contains("revoke the"), "{screen}");
        assert!(screen.contains("remove the"), "{screen}");
        assert!(screen.contains("1 connector naming"), "{screen}");
    }
}

#[test]
fn a_refusal_is_microsofts_words() {
    let mut s = state();
    let refusal = "forbidden: missing Directory.Read.All (GET /oauth2PermissionGrants)";
    update(
        &mut s,
        Action::AccessPolled {
            tenant: TenantId::Source,
            at: NOW,
            result: Err(refusal.into()),
        },
    );
    for screen in snap("refused", &s) {
        assert!(screen.contains("refused: forbidden: missing"), "{screen}");
    }
}

#[test]
fn preview_and_confirmation() {
    let mut s = read();
    // The CRM's first grant: the connector, then the backup's permission, then the CRM.
    update(&mut s, Action::Down);
    update(&mut s, Action::Down);
    update(&mut s, Action::ToggleSelect);
    update(&mut s, Action::Preview);
    let Some(Dialog::Preview { lines, .. }) = &s.workbench.dialog else {
        panic!("no preview: {:?}", s.notice);
    };
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0]
            .contains("revoke the delegated grant via DELETE /v1.0/oauth2PermissionGrants/grant-1")
            && lines[0].contains("undo: POST /v1.0/oauth2PermissionGrants"),
        "{lines:?}"
    );
    snap("preview", &s);
    update(&mut s, Action::DialogClose);
    // Every row: a bulk change, the domain typed.
    update(&mut s, Action::SelectAll);
    update(&mut s, Action::StartRun(RunKind::Apply));
    let Some(Dialog::Confirm(c)) = &s.workbench.dialog else {
        panic!("no confirmation: {:?}", s.notice);
    };
    assert_eq!(c.changes.len(), 4, "{:?}", c.lines);
    assert_eq!(c.typed.as_deref(), Some(""));
    for screen in snap("confirm", &s) {
        assert!(screen.contains("Apply 4 changes to 4 objects"), "{screen}");
        assert!(screen.contains(&format!("Type {DOMAIN}")), "{screen}");
    }
}
