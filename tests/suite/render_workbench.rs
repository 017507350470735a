//! The cleanup workbench's states drawn on a `TestBackend` at 80x24 and 120x40, each checked by
//! snapshot and by the facts that matter: planned rows, a selection, the preview, the bulk
//! confirmation with the domain typed, a run in progress, a failed row with Microsoft's words,
//! an undone row, read-only in the status bar. The states are made as the dashboard makes them:
//! the product's inventory and release plan from a directory, then the reducer's actions.

use cutover::app::state::{Pane, State};
use cutover::app::workbench::{Dialog, PlanSketch, Run, RunKind};
use cutover::app::{Action, update};
use cutover::executor::{ChangeResult, Status};
use cutover::graph::model::{AssignedLicense, Group, User};
use cutover::inventory::Directory;
use cutover::plan::Runbook;
use cutover::plan::release::{TenantFacts, release_plan};
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);
const DOMAIN: &str = "contoso.example";
const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];
/// Graph's answer to a UPN change of a user synced from on-premises.
const SYNCED: &str = "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects currently undergoing migration.";

fn user(id: &str, name: &str, local: &str, aliases: &[&str], licensed: bool, synced: bool) -> User {
    let mut proxies = vec![format!("SMTP:{local}@{DOMAIN}")];
    proxies.extend(aliases.iter().map(|a| format!("smtp:{a}@{DOMAIN}")));
    proxies.push(format!("smtp:{local}@contoso.onmicrosoft.com"));
    User {
        id: id.into(),
        display_name: Some(name.into()),
        user_principal_name: format!("{local}@{DOMAIN}"),
        mail: Some(format!("{local}@{DOMAIN}")),
        proxy_addresses: proxies,
        account_enabled: Some(licensed),
        on_premises_sync_enabled: synced.then_some(true),
        assigned_licenses: if licensed {
            vec![AssignedLicense {
                sku_id: "05e9a617-0261-4cee-bb44-138d3ef5d965".into(),
            }]
        } else {
            Vec::new()
        },
    }
}

fn directory() -> Directory {
    Directory {
        users: vec![
            user("u1", "John Smith", "john.smith", &["jsmith"], true, false),
            user(
                "u2",
                "Anna Berg",
                "anna.berg",
                &["anna", "a.berg"],
                true,
                false,
            ),
            user(
                "u3",
                "Mikko Virtanen",
                "mikko.virtanen",
                &["mikko"],
                true,
                true,
            ),
            user("u4", "Li Wei", "li.wei", &["wei"], true, false),
            // A shared mailbox: sign-in blocked, no licence.
            user("u5", "Info", "info", &[], false, false),
        ],
        groups: vec![Group {
            id: "g1".into(),
            display_name: Some("Sales".into()),
            mail: Some(format!("sales@{DOMAIN}")),
            mail_enabled: Some(true),
            security_enabled: Some(false),
            group_types: Vec::new(),
            proxy_addresses: vec![
                format!("SMTP:sales@{DOMAIN}"),
                "smtp:sales@contoso.onmicrosoft.com".into(),
            ],
        }],
        ..Directory::default()
    }
}

/// The dashboard once the inventory and the release plan arrived, Users focused.
fn planned() -> State {
    let mut s = State::new(
        "contoso-move".into(),
        DOMAIN.into(),
        Runbook { phases: Vec::new() },
        NOW,
    );
    let dir = directory();
    let entries = cutover::inventory::classify(DOMAIN, &dir);
    let facts = TenantFacts {
        tenant: "source".into(),
        domain: DOMAIN.into(),
        initial_domain: "contoso.onmicrosoft.com".into(),
        domain_is_default: false,
        domain_federated: false,
    };
    let plan = release_plan(&facts, &entries, &dir);
    update(
        &mut s,
        Action::InventoryPolled {
            at: datetime!(2025-03-01 11:59:30 UTC),
            result: Ok(entries),
        },
    );
    update(
        &mut s,
        Action::ReleasePlanned {
            at: datetime!(2025-03-01 11:59:31 UTC),
            result: Ok(Box::new(PlanSketch::of(&plan))),
        },
    );
    update(&mut s, Action::Focus(Pane::Users));
    s
}

/// Move the cursor to the row of the user whose UPN starts with `local`.
fn cursor_to(s: &mut State, local: &str) {
    let entries = s.inventory.entries.clone().unwrap_or_default();
    let row = s
        .model
        .users
        .iter()
        .position(|&i| {
            entries[i as usize]
                .user_principal_name
                .as_deref()
                .is_some_and(|u| u.starts_with(local))
        })
        .unwrap_or_else(|| panic!("no row {local}"));
    update(s, Action::Top);
    for _ in 0..row {
        update(s, Action::Down);
    }
}

fn settle(s: &mut State, id: &str, status: Status) {
    update(
        s,
        Action::ChangeSettled(ChangeResult {
            id: id.to_string(),
            status,
            request_id: None,
        }),
    );
}

/// The ids the open confirmation would send.
fn confirming(s: &State) -> Vec<String> {
    match &s.workbench.dialog {
        Some(Dialog::Confirm(c)) => c.changes.iter().map(|c| c.id.clone()).collect(),
        other => panic!("no confirmation: {other:?}"),
    }
}

fn draw(state: &State, width: u16, height: u16) -> String {
    crate::common::draw(state, width, height)
}

/// Snapshot `state` at both sizes; the 120x40 screen for further checks.
fn snap(name: &str, state: &State) -> String {
    let mut wide = String::new();
    for (w, h) in SIZES {
        let screen = draw(state, w, h);
        insta::assert_snapshot!(format!("workbench_{name}_{w}x{h}"), screen);
        if w == 120 {
            wide = screen;
        }
    }
    wide
}

fn line_with<'a>(screen: &'a str, what: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line with {what} in\n{screen}"))
}

#[test]
fn planned_rows() {
    let s = planned();
    let screen = snap("planned", &s);
    assert!(
        screen.contains("Planned change") && screen.contains("State"),
        "{screen}"
    );
    let john = line_with(&screen, "john.smith@contoso.example");
    assert!(
        john.contains("UPN → …@initial") && john.contains("planned"),
        "{john}"
    );
    // The whole planned change, where the column cuts it: the UPN and two aliases (jsmith,
    // and the old primary Exchange keeps once the UPN moves).
    assert_eq!(
        s.workbench.row("u1").planned,
        "UPN → …@initial, remove 2 aliases"
    );
    assert_eq!(
        s.workbench.row("g1").planned,
        "primary → …@initial, remove 1 alias"
    );
    // Synced from on-premises: the row names the rule that blocks it.
    let mikko = line_with(&screen, "mikko.virtanen@");
    assert!(mikko.contains("blocked"), "{mikko}");
}

#[test]
fn selection() {
    let mut s = planned();
    cursor_to(&mut s, "john.smith");
    update(&mut s, Action::ToggleSelect);
    cursor_to(&mut s, "anna.berg");
    update(&mut s, Action::ToggleSelect);
    let screen = snap("selection", &s);
    assert!(screen.contains("2 selected"), "{screen}");
    assert!(line_with(&screen, "john.smith@contoso.example").contains('●'));
    assert!(line_with(&screen, "anna.berg@contoso.example").contains('●'));
    assert!(!line_with(&screen, "li.wei@contoso.example").contains('●'));
}

#[test]
fn preview_dialog() {
    let mut s = planned();
    cursor_to(&mut s, "anna.berg");
    update(&mut s, Action::ToggleSelect);
    update(&mut s, Action::Preview);
    let screen = snap("preview", &s);
    assert!(
        screen.contains("Preview: 2 changes for 1 object"),
        "{screen}"
    );
    assert!(
        screen.contains("UPN anna.berg@contoso.example to anna.berg@contoso.onmicrosoft.com"),
        "{screen}"
    );
}

#[test]
fn bulk_confirmation_with_the_domain_typed() {
    let mut s = planned();
    cursor_to(&mut s, "john.smith");
    update(&mut s, Action::ToggleSelect);
    cursor_to(&mut s, "li.wei");
    update(&mut s, Action::ToggleSelect);
    update(&mut s, Action::StartRun(RunKind::Apply));
    // Enter before the domain is typed sends nothing.
    assert!(update(&mut s, Action::ConfirmAccept).is_empty());
    for c in DOMAIN.chars() {
        update(&mut s, Action::ConfirmInput(c));
    }
    s.notice = None;
    let screen = snap("confirm_typed", &s);
    assert!(screen.contains("Apply 4 changes to 2 objects"), "{screen}");
    assert!(
        screen.contains(&format!("Type {DOMAIN} and Enter to go on: {DOMAIN}")),
        "{screen}"
    );
}

/// John's two changes sent, the first settled two seconds in.
fn running() -> (State, Vec<String>) {
    let mut s = planned();
    cursor_to(&mut s, "john.smith");
    update(&mut s, Action::StartRun(RunKind::Apply));
    let ids = confirming(&s);
    assert_eq!(ids.len(), 2);
    update(&mut s, Action::ConfirmAccept);
    s.now = NOW + time::Duration::seconds(2);
    settle(&mut s, &ids[0], Status::Applied);
    (s, ids)
}

#[test]
fn run_in_progress() {
    let (s, _) = running();
    let screen = snap("running", &s);
    let progress = line_with(&screen, "apply ");
    assert!(
        progress.contains('█') && progress.contains("1/2 · 0 failed · 1 left"),
        "{progress}"
    );
    assert!(line_with(&screen, "john.smith@contoso.example").contains("applying"));
}

#[test]
fn failed_row() {
    let mut s = planned();
    cursor_to(&mut s, "anna.berg");
    update(&mut s, Action::StartRun(RunKind::Apply));
    let ids = confirming(&s);
    update(&mut s, Action::ConfirmAccept);
    s.now = NOW + time::Duration::seconds(1);
    settle(
        &mut s,
        &ids[0],
        // As the executor words a Graph refusal.
        Status::Failed(format!(
            "failed: Graph 400 Request_BadRequest: {SYNCED} (request-id 5f0c2a51-7b1e-4c55-9a8e-0d6b7c1e2f30)"
        )),
    );
    settle(
        &mut s,
        &ids[1],
        Status::Skipped(format!("prerequisite {} not applied", ids[0])),
    );
    update(&mut s, Action::RunEnded(None));
    let screen = snap("failed", &s);
    assert!(
        line_with(&screen, "anna.berg@contoso.example").contains("failed: "),
        "{screen}"
    );
    assert!(
        screen.contains("apply: 0 of 2 done · 2 failed (r retries)"),
        "{screen}"
    );
    // The column cuts the reason; the preview shows Microsoft's words whole.
    update(&mut s, Action::Preview);
    let screen = snap("failed_preview", &s);
    assert!(screen.contains("Graph 400 Request_BadRequest"), "{screen}");
    assert!(
        screen.contains("on-premises mastered Directory Sync"),
        "{screen}"
    );
}

#[test]
fn undone_row() {
    let (mut s, ids) = running();
    settle(&mut s, &ids[1], Status::Applied);
    update(&mut s, Action::RunEnded(None));
    // The undo's inverses come from the journal in the dashboard; here the run is started on
    // the workbench with the changes themselves standing for their inverses: the row's state
    // follows the results the same way.
    let changes: Vec<_> = match &s.workbench.dialog {
        None => ids
            .iter()
            .map(|id| {
                let mut c = cutover::plan::change::Change::set_upn("source", "x", "x", "a", "b");
                c.id = id.clone();
                c
            })
            .collect(),
        Some(d) => panic!("a dialog is open: {d:?}"),
    };
    s.workbench.start(
        Run {
            kind: RunKind::Undo,
            read_only: false,
            total: 2,
            applied: 0,
            failed: 0,
            refused: 0,
            started: s.now,
            ended: None,
            error: None,
            undoes: Default::default(),
        },
        &changes,
    );
    s.now += time::Duration::seconds(1);
    for id in &ids {
        settle(&mut s, id, Status::Applied);
    }
    update(&mut s, Action::RunEnded(None));
    let screen = snap("undone", &s);
    assert!(
        line_with(&screen, "john.smith@contoso.example").contains("undone"),
        "{screen}"
    );
    assert!(screen.contains("undo: 2 of 2 done"), "{screen}");
}

#[test]
fn read_only_status_bar_and_refused_row() {
    let mut s = planned();
    update(&mut s, Action::ToggleReadOnly);
    cursor_to(&mut s, "li.wei");
    update(&mut s, Action::StartRun(RunKind::Apply));
    let ids = confirming(&s);
    update(&mut s, Action::ConfirmAccept);
    for id in &ids {
        settle(&mut s, id, Status::Refused);
    }
    update(&mut s, Action::RunEnded(None));
    s.notice = None;
    let screen = snap("read_only", &s);
    assert!(
        screen
            .lines()
            .last()
            .is_some_and(|l| l.contains("READ-ONLY")),
        "{screen}"
    );
    assert!(
        line_with(&screen, "li.wei@contoso.example").contains("not sent"),
        "{screen}"
    );
    update(&mut s, Action::Preview);
    let screen = snap("read_only_preview", &s);
    assert!(screen.contains("[not sent: read-only]"), "{screen}");
}

#[test]
fn a_partner_sign_in_is_said_in_the_domain_pane_the_status_bar_and_before_a_run() {
    use cutover::app::action::TenantSnapshot;
    use cutover::app::state::TenantId;
    use cutover::graph::auth::OtherTenant;
    const CUSTOMER: &str = "11111111-2222-3333-4444-555555555555";
    const PARTNER: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    let mut s = planned();
    let poll = |s: &mut State, other: Option<OtherTenant>| {
        update(
            s,
            Action::TenantPolled {
                tenant: TenantId::Source,
                at: NOW,
                result: Ok(Box::new(TenantSnapshot {
                    signed_in_from: other,
                    ..TenantSnapshot::default()
                })),
            },
        )
    };
    // The tenant's own admin: nothing said, no row.
    poll(&mut s, None);
    let own = draw(&s, 120, 40);
    assert!(
        !own.contains("sign-in") && !own.contains("partner"),
        "{own}"
    );

    let partner = OtherTenant {
        tenant: CUSTOMER.into(),
        home: PARTNER.into(),
    };
    let journaled = poll(&mut s, Some(partner.clone()));
    assert_eq!(journaled.len(), 1, "journaled once: {journaled:?}");
    assert!(
        format!("{journaled:?}").contains("signed in from another tenant"),
        "{journaled:?}"
    );
    // The same sign-in polled again is not journaled again.
    assert!(poll(&mut s, Some(partner)).is_empty());

    cursor_to(&mut s, "john.smith");
    update(&mut s, Action::StartRun(RunKind::Apply));
    let screen = snap("partner_confirm", &s);
    // The Domain pane names the tenant (the home tenant's id, cut to the pane's width).
    let row = line_with(&screen, "sign-in");
    assert!(
        row.contains("sign-in  source: partner or guest of aaaa"),
        "{row}"
    );
    let status = screen.lines().last().unwrap_or_default();
    assert!(
        status.contains("source: ok 12:00:00 partner sign-in"),
        "{status}"
    );
    // Wrapped in the confirmation, never cut: the whole id and the whole sentence.
    let said: Vec<&str> = screen
        .lines()
        .skip_while(|l| !l.contains("Signed in as a user of another tenant"))
        .take(2)
        .map(|l| l.split('│').nth(2).unwrap_or_default().trim())
        .collect();
    assert_eq!(
        said.join(" "),
        format!(
            "Signed in as a user of another tenant ({PARTNER}): Microsoft may refuse a partner some of these"
        ),
        "{screen}"
    );
    // No token, no user name: only the two tenant ids.
    assert!(!screen.contains("eyJ"), "{screen}");
}
