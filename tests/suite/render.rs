//! Rendering tests: hand-built states drawn on a `TestBackend`, checked by snapshot and by the
//! facts that matter (titles, rows, errors, filter, help) — and never panicking at odd sizes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use cutover::app::keys::{Keymap, map_key};
use cutover::app::state::{Health, InputMode, Integrity, Pane, State, TenantId};
use cutover::app::{Action, TenantSnapshot, update};
use cutover::audit::{Event, Kind, Record};
use cutover::dns::{AnswerStatus, RecordAnswer, RecordKind, RecordValue};
use cutover::graph::model::{DirectoryObjectRef, Domain, Group, Organization, User};
use cutover::plan::{Phase, Runbook, Step, StepStatus};
use cutover::ui::render;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2025-03-01 12:00:00 UTC);
const DOMAIN: &str = "contoso.example";

fn step(id: &str, title: &str, owner: &str, due_minutes: i64) -> Step {
    Step {
        id: id.into(),
        title: title.into(),
        detail: String::new(),
        due_minutes,
        owner: owner.into(),
        optional: false,
        gate: None,
        parsed_gate: None,
        action: None,
    }
}

fn runbook() -> Runbook {
    Runbook {
        phases: vec![
            Phase {
                id: "t-14d".into(),
                title: "Two weeks before (T-14d)".into(),
                contingency: false,
                steps: vec![
                    step(
                        "lower-mx-ttl",
                        "Lower MX TTL to 300 s",
                        "dns owner",
                        -14 * 1440,
                    ),
                    step("inventory", "Export users and aliases", "admin", -14 * 1440),
                ],
            },
            Phase {
                id: "t0".into(),
                title: "Cutover day (T)".into(),
                contingency: false,
                steps: vec![
                    step(
                        "remove-aliases",
                        "Remove aliases in source",
                        "admin",
                        -8 * 60,
                    ),
                    step("add-domain", "Add domain to destination", "admin", 0),
                ],
            },
            Phase {
                id: "after".into(),
                title: "After (T+1d)".into(),
                contingency: false,
                steps: vec![step("check-mail", "Check mail flow", "admin", 1440)],
            },
        ],
    }
}

fn user(upn: &str, mail: Option<&str>, proxies: &[&str], enabled: bool) -> User {
    User {
        id: upn.into(),
        display_name: None,
        user_principal_name: upn.into(),
        mail: mail.map(Into::into),
        proxy_addresses: proxies.iter().map(|p| (*p).into()).collect(),
        account_enabled: Some(enabled),
        on_premises_sync_enabled: None,
        assigned_licenses: Vec::new(),
    }
}

fn reference(kind: &str, id: &str) -> DirectoryObjectRef {
    DirectoryObjectRef {
        odata_type: Some(format!("#microsoft.graph.{kind}")),
        id: id.into(),
        display_name: None,
    }
}

fn source_snapshot() -> TenantSnapshot {
    TenantSnapshot {
        organization: Organization {
            id: "src".into(),
            display_name: Some("Contoso Ltd".into()),
            verified_domains: vec![],
        },
        domain: Some(Domain {
            id: DOMAIN.into(),
            authentication_type: Some("Managed".into()),
            is_default: true,
            is_verified: true,
            supported_services: vec!["Email".into(), "OfficeCommunicationsOnline".into()],
            ..Domain::default()
        }),
        references: vec![
            reference("user", "john.smith@contoso.example"),
            reference("user", "anna.berg@contoso.example"),
            reference("group", "g1"),
        ]
        .into(),
        references_total: None,
        users: vec![
            user(
                "john.smith@contoso.example",
                Some("john.smith@contoso.example"),
                &[
                    "SMTP:john.smith@contoso.example",
                    "smtp:jsmith@contoso.example",
                    "smtp:john@contoso.onmicrosoft.com",
                ],
                true,
            ),
            user(
                "anna.berg@contoso.example",
                Some("anna.berg@contoso.example"),
                &[
                    "SMTP:anna.berg@contoso.example",
                    "smtp:anna@contoso.example",
                ],
                true,
            ),
            user(
                "info@contoso.example",
                Some("info@contoso.example"),
                &["SMTP:info@contoso.example"],
                false,
            ),
            // Not in the domain: must not be listed.
            user(
                "svc@contoso.onmicrosoft.com",
                None,
                &["SMTP:svc@contoso.onmicrosoft.com"],
                true,
            ),
        ],
        groups: vec![
            Group {
                id: "g1".into(),
                display_name: Some("Sales".into()),
                mail: Some("sales@contoso.example".into()),
                mail_enabled: Some(true),
                security_enabled: Some(false),
                group_types: vec![],
                proxy_addresses: vec![
                    "SMTP:sales@contoso.example".into(),
                    "smtp:vertrieb@contoso.example".into(),
                ],
            },
            Group {
                id: "g2".into(),
                display_name: Some("Security only".into()),
                security_enabled: Some(true),
                ..Group::default()
            },
        ],
        signed_in_from: None,
    }
}

fn destination_snapshot() -> TenantSnapshot {
    TenantSnapshot {
        organization: Organization {
            id: "dst".into(),
            display_name: Some("Fabrikam Inc".into()),
            verified_domains: vec![],
        },
        ..TenantSnapshot::default()
    }
}

fn answer(
    name: &str,
    kind: RecordKind,
    status: AnswerStatus,
    values: &[(&str, u32)],
) -> RecordAnswer {
    RecordAnswer {
        name: name.into(),
        kind,
        status,
        values: values
            .iter()
            .map(|(v, ttl)| RecordValue {
                value: (*v).into(),
                ttl: *ttl,
            })
            .collect(),
    }
}

fn dns_answers() -> Vec<RecordAnswer> {
    vec![
        answer(
            DOMAIN,
            RecordKind::Mx,
            AnswerStatus::Answer,
            &[("0 contoso-example.mail.protection.outlook.com", 300)],
        ),
        answer(
            DOMAIN,
            RecordKind::Txt,
            AnswerStatus::Answer,
            &[
                ("MS=ms12345678", 3600),
                ("v=spf1 include:spf.protection.outlook.com -all", 3600),
            ],
        ),
        answer(
            "autodiscover.contoso.example",
            RecordKind::Cname,
            AnswerStatus::Answer,
            &[("autodiscover.outlook.com", 3600)],
        ),
        answer(
            "selector1._domainkey.contoso.example",
            RecordKind::Cname,
            AnswerStatus::NxDomain,
            &[],
        ),
        answer(
            "_sip._tls.contoso.example",
            RecordKind::Srv,
            AnswerStatus::NoData,
            &[],
        ),
        answer(
            "_dmarc.contoso.example",
            RecordKind::Txt,
            AnswerStatus::Error("SERVFAIL".into()),
            &[],
        ),
    ]
}

fn record(seq: u64, ts: &str, event: Event) -> Record {
    Record {
        v: 1,
        seq,
        ts: ts.into(),
        cutover: "contoso-move".into(),
        operator: "admin".into(),
        event,
        upn: None,
        prev: String::new(),
        hash: String::new(),
    }
}

/// A dashboard in the middle of a cutover: both tenants polled, DNS answered, some history.
fn busy_state() -> State {
    let mut s = State::new("contoso-move".into(), DOMAIN.into(), runbook(), NOW);
    s.cutover_at = Some(datetime!(2025-03-08 18:00:00 UTC));
    s.source = cutover::app::state::TenantState {
        health: Health::Ok,
        last_poll: Some(datetime!(2025-03-01 11:59:57 UTC)),
        last_error: None,
        forbidden: None,
        snapshot: Some(source_snapshot()),
        ..Default::default()
    };
    s.destination = cutover::app::state::TenantState {
        health: Health::Ok,
        last_poll: Some(datetime!(2025-03-01 11:59:58 UTC)),
        last_error: None,
        forbidden: None,
        snapshot: Some(destination_snapshot()),
        ..Default::default()
    };
    s.dns.answers = dns_answers();
    s.dns.last_poll = Some(datetime!(2025-03-01 11:59:55 UTC));
    s.dns.changed_at.insert(
        (DOMAIN.into(), "MX".into()),
        datetime!(2025-03-01 11:59:50 UTC),
    );
    s.progress.set(
        "lower-mx-ttl",
        Some(cutover::plan::progress::StepMark {
            status: StepStatus::Done,
            by: "alex".into(),
            at: "2025-03-01T11:00:00Z".into(),
            reason: String::new(),
        }),
    );
    s.progress.set(
        "inventory",
        Some(cutover::plan::progress::StepMark {
            status: StepStatus::Skipped,
            by: "alex".into(),
            at: "2025-03-01T11:00:00Z".into(),
            reason: "exported last week".into(),
        }),
    );
    s.audit = vec![
        record(
            1,
            "2025-03-01T11:58:00Z",
            Event::new(Kind::SessionStart, "dashboard opened"),
        ),
        record(
            2,
            "2025-03-01T11:59:50Z",
            Event::new(Kind::Observed, "dns ttl changed")
                .tenant("dns")
                .target("contoso.example MX")
                .change(json!(3600), json!(300)),
        ),
        record(
            3,
            "2025-03-01T11:59:59Z",
            Event::new(Kind::UserAction, "step status changed")
                .target("lower-mx-ttl")
                .change(json!("in_progress"), json!("done")),
        ),
    ];
    inventory_from_snapshot(&mut s);
    s
}

/// The source inventory as the product classifies the source snapshot's users, groups and
/// references (the Users pane lists the inventory).
fn inventory_from_snapshot(s: &mut State) {
    let Some(snapshot) = s.source.snapshot.clone() else {
        return;
    };
    let entries = cutover::inventory::classify(
        DOMAIN,
        &cutover::inventory::Directory {
            users: snapshot.users,
            groups: snapshot.groups,
            references: snapshot.references.to_vec(),
            ..Default::default()
        },
    );
    update(
        s,
        Action::InventoryPolled {
            at: datetime!(2025-03-01 11:59:30 UTC),
            result: Ok(entries),
        },
    );
}

/// Draw the state and return the screen as text, one line per row, trailing blanks trimmed,
/// as a terminal shows it (the cell a wide character spills into adds nothing).
fn draw(state: &State, width: u16, height: u16) -> String {
    crate::common::draw(state, width, height)
}

/// The symbol of every cell, row by row; a cell a wide character spills into is `""`.
fn cell_grid(state: &State, width: u16, height: u16) -> Vec<Vec<String>> {
    let mut terminal = match Terminal::new(TestBackend::new(width, height)) {
        Ok(t) => t,
        Err(e) => panic!("test terminal: {e}"),
    };
    if let Err(e) = terminal.draw(|f| render(f, state)) {
        panic!("draw: {e}");
    }
    let buffer = terminal.backend().buffer();
    (0..buffer.area.height)
        .map(|y| {
            let mut spill = 0;
            (0..buffer.area.width)
                .map(|x| {
                    if spill > 0 {
                        spill -= 1;
                        return String::new();
                    }
                    let symbol = buffer[(x, y)].symbol();
                    spill = cutover::ui::width(symbol).saturating_sub(1);
                    symbol.to_string()
                })
                .collect()
        })
        .collect()
}

fn last_line(screen: &str) -> &str {
    screen.lines().last().unwrap_or_default()
}

const TITLES: [&str; 5] = [
    " 1 Domain status ",
    " 2 DNS records / TTL ",
    " 3 Users and aliases ",
    " 4 Migration timeline ",
    " 5 Audit ",
];

#[test]
fn dashboard_120x40() {
    let s = busy_state();
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("dashboard_120x40", screen);
    for title in TITLES {
        assert!(screen.contains(title), "missing {title}");
    }
    // Domain: both tenants, with organization names and references.
    assert!(screen.contains("Contoso Ltd"));
    assert!(screen.contains("Fabrikam Inc"));
    assert!(screen.contains("absent"));
    // One number with one name: the Domain pane's and the Users pane's count are the same.
    assert!(screen.contains("holding  4 (2 user, 1 shared"), "{screen}");
    assert!(
        screen.contains("4 objects hold contoso.example"),
        "{screen}"
    );
    assert!(!screen.contains("refs"), "{screen}");
    // Users: UPN and the alias in the domain (not the onmicrosoft one); outsiders left out.
    assert!(screen.contains("4 objects hold contoso.example"));
    assert!(screen.contains("john.smith@contoso.example"));
    assert!(screen.contains("jsmith@contoso.example"));
    assert!(!screen.contains("john@contoso.onmicrosoft.com"));
    assert!(!screen.contains("svc@contoso.onmicrosoft.com"));
    assert!(screen.contains("shared?"));
    assert!(screen.contains("vertrieb@contoso.example"));
    // DNS: MX with its TTL, apex as @, missing and failing names.
    let mx = screen
        .lines()
        .find(|l| l.contains("0 contoso-example.mail.protection"))
        .unwrap_or_default();
    assert!(
        mx.contains("300s") && mx.contains(" @ ") && mx.contains("MX"),
        "{mx}"
    );
    assert!(mx.contains('*'), "recent change marked: {mx}");
    assert!(screen.contains("NXDOMAIN"));
    assert!(screen.contains("NODATA"));
    assert!(screen.contains("error: SERVFAIL"));
    // Timeline: status markers and due times.
    assert!(screen.contains("[x] Lower MX TTL to 300 s"));
    assert!(screen.contains("[-] Export users and ali"));
    assert!(screen.contains("T-14d"));
    assert!(screen.contains("T+0"));
    // Audit: newest first (it shares its row with Connections, so the action column is
    // narrower: the lines are told apart by time and target).
    let line_of = |time: &str| {
        screen
            .lines()
            .position(|l| l.contains(time))
            .unwrap_or(usize::MAX)
    };
    let (newest, older) = (line_of("11:59:59"), line_of("11:59:50"));
    assert!(newest < older, "audit newest first");
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[newest].contains("lower-mx-ttl") && lines[newest].contains("step status"));
    assert!(lines[older].contains("contoso.exam") && lines[older].contains("dns ttl"));
    assert!(screen.contains("11:59:59"));
    assert!(screen.contains("in_progress → done"));
    // Status bar.
    let status = last_line(&screen);
    assert!(status.contains("source: ok 11:59:57"), "{status}");
    assert!(status.contains("destination: ok 11:59:58"), "{status}");
    assert!(status.contains("dns: ok 11:59:55"), "{status}");
}

#[test]
fn dashboard_80x24() {
    let mut s = busy_state();
    s.size = (80, 24);
    for pane in Pane::ALL {
        s.focus = pane;
        let screen = draw(&s, 80, 24);
        for title in TITLES {
            assert!(
                screen.contains(title),
                "{pane:?}: missing {title}\n{screen}"
            );
        }
        if pane == Pane::Domain {
            insta::assert_snapshot!("dashboard_80x24_domain", screen);
            assert!(screen.contains("Contoso Ltd"));
        }
        if pane == Pane::Users {
            insta::assert_snapshot!("dashboard_80x24_users", screen);
            assert!(screen.contains("john.smith@contoso"));
            assert!(screen.contains("jsmith@contoso"));
        }
        if pane == Pane::Dns {
            // Focused, the DNS pane is wide enough for most of a value.
            assert!(screen.contains("0 contoso-example.mail"), "{screen}");
        }
        if pane == Pane::Timeline {
            insta::assert_snapshot!("dashboard_80x24_timeline", screen);
            // Focused, the timeline is wide enough for the absolute due time.
            assert!(screen.contains("02-22 18:00"), "{screen}");
        }
    }
}

#[test]
fn dns_focused_120x40_shows_whole_values() {
    let mut s = busy_state();
    s.focus = Pane::Dns;
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("dns_focused_120x40", screen);
    let mx = screen
        .lines()
        .find(|l| l.contains("0 contoso-example.mail.protection.outlook.com"))
        .unwrap_or_default();
    assert!(mx.contains("300s"), "{mx}");
    assert!(screen.contains("v=spf1 include:spf.protection.outlook.com -all"));
    assert!(screen.contains("selector1._domainkey"));
}

#[test]
fn nothing_polled_yet() {
    let s = State::new("c".into(), DOMAIN.into(), runbook(), NOW);
    let screen = draw(&s, 80, 24);
    insta::assert_snapshot!("nothing_polled_80x24", screen);
    assert!(screen.contains("not yet polled"));
    assert!(screen.contains("source tenant not yet inventoried"));
    assert!(last_line(&screen).contains("source: connecting"));
}

#[test]
fn help_overlay_lists_every_key() {
    let mut s = busy_state();
    update(&mut s, Action::ToggleHelp);
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("help_120x40", screen);
    assert!(screen.contains(" Keys "));
    for (key, what) in Keymap::defaults().help_rows() {
        assert!(screen.contains(&key), "missing key {key}");
        assert!(screen.contains(what.trim()), "missing text {what}");
    }
    // On a small terminal it scrolls: the first rows, how many are below, then the last row.
    let small = draw(&s, 80, 24);
    assert!(small.contains(" Keys "));
    assert!(small.contains("q / Ctrl-C"));
    assert!(small.contains(" more: Down, j"), "{small}");
    let rows = Keymap::defaults().help_rows();
    let (last_key, _) = rows.last().expect("rows");
    assert!(!small.contains(last_key.as_str()), "{small}");
    for _ in 0..rows.len() {
        update(&mut s, Action::Down);
    }
    let scrolled = draw(&s, 80, 24);
    assert!(scrolled.contains(last_key.as_str()), "{scrolled}");
    assert!(!scrolled.contains(" more: "), "{scrolled}");
    // The pane behind did not move.
    assert_eq!(s.view(Pane::Domain).selected, 0);
}

#[test]
fn filter_narrows_the_users_list() {
    let mut s = busy_state();
    update(&mut s, Action::Focus(Pane::Users));
    update(&mut s, Action::StartFilter);
    for c in "SMITH".chars() {
        update(&mut s, Action::FilterInput(c));
    }
    assert_eq!(s.input, InputMode::Filter(Pane::Users));
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("users_filter_typing", screen);
    assert!(screen.contains(" 3 Users and aliases [/SMITH] "));
    assert!(screen.contains("1 of 4 objects hold contoso.example"));
    assert!(screen.contains("john.smith@contoso.example"));
    assert!(!screen.contains("anna.berg@contoso.example"));
    assert!(last_line(&screen).starts_with("/SMITH"));

    // Filtering on an alias finds its owner.
    update(&mut s, Action::FilterCancel);
    update(&mut s, Action::StartFilter);
    for c in "vertrieb".chars() {
        update(&mut s, Action::FilterInput(c));
    }
    update(&mut s, Action::FilterApply);
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("Sales"));
    assert!(!screen.contains("john.smith@contoso.example"));
    assert!(!last_line(&screen).starts_with('/'));

    // Nothing matches.
    update(&mut s, Action::StartFilter);
    update(&mut s, Action::FilterInput('#'));
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("no rows match the filter"));
}

#[test]
fn without_a_destination_the_domain_pane_and_status_bar_say_so() {
    let mut s = busy_state();
    s.destination = cutover::app::state::TenantState {
        unconfigured: true,
        ..Default::default()
    };
    s.domain_shown = "bücher.example (xn--bcher-kva.example)".into();
    let screen = draw(&s, 120, 40);
    let status = last_line(&screen);
    assert!(status.contains("destination: not configured"), "{status}");
    assert!(!status.contains("destination: connecting"), "{status}");
    // The destination column of the Domain pane says it too, instead of "not yet polled".
    let pane: Vec<&str> = screen.lines().take(12).collect();
    assert!(
        pane.iter()
            .any(|l| l.contains("present") && l.contains("not configured")),
        "{pane:#?}"
    );
    assert!(
        !pane.iter().any(|l| l.contains("not yet polled")),
        "{pane:#?}"
    );
    // Both forms do not fit beside the pane's title: the A-label stands alone, not cut.
    assert!(screen.contains("─ contoso.example ┐"), "{screen}");
}

#[test]
fn failing_tenant_shows_its_error() {
    let mut s = busy_state();
    update(
        &mut s,
        Action::TenantPolled {
            tenant: TenantId::Destination,
            at: NOW,
            result: Err("HTTP 401 invalid_client: client secret expired".into()),
        },
    );
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("destination_failing", screen);
    let status = last_line(&screen);
    assert!(status.contains("destination: ERROR"), "{status}");
    assert!(status.contains("HTTP 401 invalid_client"), "{status}");
    // The old snapshot stays on screen, with the health row explaining it.
    assert!(screen.contains("Fabrikam Inc"));
    assert!(screen.contains("ERROR: HTTP 401"));
    // At 80 columns the error is cut, not wrapped or lost.
    let narrow = draw(&s, 80, 24);
    let status = last_line(&narrow);
    assert!(status.contains("destination: ERROR"), "{status}");
    assert!(status.contains("HTTP 401"), "{status}");
    assert!(status.chars().count() <= 80);
}

#[test]
fn audit_failure_is_shown() {
    let mut s = busy_state();
    update(&mut s, Action::AuditStopped("disk full".into()));
    let screen = draw(&s, 120, 40);
    let banner = screen.lines().next().unwrap_or_default();
    assert!(
        banner.starts_with("audit log stopped: disk full — changes are refused"),
        "{banner}"
    );
    assert!(screen.contains("AUDIT LOG NOT WRITTEN: disk full"));
    assert!(last_line(&screen).contains("audit: disk full"));
    // At 80 columns the banner is cut, not wrapped.
    let narrow = draw(&s, 80, 24);
    let banner = narrow.lines().next().unwrap_or_default();
    assert!(
        banner.starts_with("audit log stopped: disk full"),
        "{banner}"
    );
    assert!(narrow.contains(" 1 Domain status "), "{narrow}");
}

#[test]
fn dns_selection_and_scroll() {
    let mut s = busy_state();
    s.size = (80, 24);
    update(&mut s, Action::Focus(Pane::Dns));
    update(&mut s, Action::Bottom);
    let screen = draw(&s, 80, 24);
    insta::assert_snapshot!("dns_bottom_80x24", screen);
    // The last row is selected and visible.
    let selected = screen.lines().find(|l| l.contains('›')).unwrap_or_default();
    assert!(selected.contains("SERVFAIL"), "{selected}");
}

#[test]
fn tiny_sizes_do_not_panic() {
    let mut s = busy_state();
    s.audit_error = Some("x".repeat(500));
    s.audit_stopped = Some("é".repeat(500));
    s.destination.health = Health::Failing("y".repeat(500));
    s.destination.last_error = Some("y".repeat(500));
    for (w, h) in [
        (0, 0),
        (1, 1),
        (10, 5),
        (20, 3),
        (5, 30),
        (200, 2),
        (30, 8),
        (40, 12),
    ] {
        for pane in Pane::ALL {
            s.focus = pane;
            s.show_help = false;
            s.input = InputMode::Normal;
            draw(&s, w, h);
            s.show_help = true;
            draw(&s, w, h);
            s.show_help = false;
            s.input = InputMode::Filter(pane);
            draw(&s, w, h);
            s.input = InputMode::Normal;
            s.audit_detail = true;
            draw(&s, w, h);
            s.audit_detail = false;
        }
    }
}

#[test]
fn many_users_scroll_to_the_end() {
    let mut s = busy_state();
    if let Some(snapshot) = s.source.snapshot.as_mut() {
        snapshot.users = (0..5000)
            .map(|i| {
                let upn = format!("user{i:05}@contoso.example");
                user(
                    &upn,
                    Some(&upn),
                    &[&format!("smtp:u{i}@contoso.example")],
                    true,
                )
            })
            .collect();
        // Graph's references would name these users; the fixture's three are gone.
        snapshot.references = Vec::new().into();
    }
    inventory_from_snapshot(&mut s);
    s.size = (120, 40);
    update(&mut s, Action::Focus(Pane::Users));
    update(&mut s, Action::Bottom);
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("5001 objects hold contoso.example"));
    // Users come first, then groups: the last row is the Sales group.
    let selected = screen.lines().find(|l| l.contains('›')).unwrap_or_default();
    assert!(selected.contains("Sales"), "{selected}");
    assert!(screen.contains("user04999@contoso.example"));
    update(&mut s, Action::PageUp);
    let screen = draw(&s, 120, 40);
    let selected = screen.lines().find(|l| l.contains('›')).unwrap_or_default();
    assert!(selected.contains("user049"), "{selected}");
}

#[test]
fn dns_propagation_and_plan_views_80x24() {
    use cutover::dns::propagation::ResolverSweep;
    let mut s = busy_state();
    s.focus = Pane::Dns;
    let new_mx = || {
        answer(
            DOMAIN,
            RecordKind::Mx,
            AnswerStatus::Answer,
            &[("0 new.mail.protection.outlook.com", 300)],
        )
    };
    // Through the reducer, as the poller delivers it: the authoritative answers become the
    // records, the others the propagation columns.
    let sweeps = vec![
        ResolverSweep {
            resolver: "authoritative".into(),
            authoritative: true,
            at: NOW,
            answers: vec![new_mx()],
        },
        ResolverSweep {
            resolver: "cache-a".into(),
            authoritative: false,
            at: NOW,
            answers: vec![new_mx()],
        },
        ResolverSweep {
            resolver: "cache-b".into(),
            authoritative: false,
            at: datetime!(2025-03-01 11:59:00 UTC),
            answers: vec![answer(
                DOMAIN,
                RecordKind::Mx,
                AnswerStatus::Answer,
                &[("0 old.mail.protection.outlook.com", 1800)],
            )],
        },
        ResolverSweep {
            resolver: "192.0.2.53:53".into(),
            authoritative: false,
            at: NOW,
            answers: vec![answer(
                DOMAIN,
                RecordKind::Mx,
                AnswerStatus::Error("timeout".into()),
                &[],
            )],
        },
    ];
    update(&mut s, Action::PropagationPolled(sweeps));
    s.dns.snapshot = Some("contoso.example-20250301T115800Z.zone".into());
    s.dns.blocklists = vec![cutover::dns::monitor::BlocklistResult {
        host: "relay.contoso.example".into(),
        address: Some("192.0.2.25".parse().expect("ip")),
        zone: "bl.sim.example".into(),
        listing: cutover::dns::blocklist::Listing::Listed(vec!["spam source".into()]),
    }];
    // Records → expected vs actual → propagation.
    update(&mut s, Action::DnsCycleView);
    update(&mut s, Action::DnsCycleView);
    let screen = draw(&s, 80, 24);
    insta::assert_snapshot!("dns_propagation_80x24", screen);
    let row = screen
        .lines()
        .find(|l| l.contains(" MX "))
        .unwrap_or_default();
    assert!(row.contains("ok"), "{row}");
    assert!(
        row.contains("00:29:00"),
        "stale until its TTL runs out: {row}"
    );
    assert!(row.contains("timeout"), "{row}");

    // A second later the countdown has moved: rendering reads only `State::now`.
    update(&mut s, Action::Tick(datetime!(2025-03-01 12:00:01 UTC)));
    assert!(draw(&s, 80, 24).contains("00:28:59"));

    update(&mut s, Action::DnsCycleView);
    let screen = draw(&s, 80, 24);
    insta::assert_snapshot!("dns_plan_80x24", screen);
    assert!(screen.contains("lower TTL by"), "{screen}");
    assert!(screen.contains("done: TTL is at the target"), "{screen}");
    assert!(
        screen.contains("contoso.example-20250301T115800Z.zone"),
        "{screen}"
    );

    // MX TTL still high and the deadline passed: a warning.
    s.dns.answers = vec![answer(
        DOMAIN,
        RecordKind::Mx,
        AnswerStatus::Answer,
        &[("0 old.mail.protection.outlook.com", 3600)],
    )];
    s.cutover_at = Some(datetime!(2025-03-01 14:00:00 UTC));
    let screen = draw(&s, 80, 24);
    assert!(screen.contains("OVERDUE by 06:00:01"), "{screen}");

    update(&mut s, Action::DnsCycleView);
    assert!(
        draw(&s, 80, 24).contains("Value"),
        "back to the records view"
    );

    // Expected vs actual in the records view: the MX is right at the authoritative server but
    // one resolver still caches the old host (stale, with its countdown); a TXT is missing.
    s.dns.answers = vec![
        new_mx(),
        answer(DOMAIN, RecordKind::Txt, AnswerStatus::NoData, &[]),
    ];
    s.dns.expected = vec![
        cutover::graph::model::DomainDnsRecord {
            label: DOMAIN.into(),
            record_type: "Mx".into(),
            mail_exchange: Some("new.mail.protection.outlook.com".into()),
            preference: Some(0),
            ..Default::default()
        },
        cutover::graph::model::DomainDnsRecord {
            label: DOMAIN.into(),
            record_type: "Txt".into(),
            text: Some("v=spf1 include:spf.protection.outlook.com -all".into()),
            ..Default::default()
        },
    ];
    let screen = draw(&s, 80, 24);
    insta::assert_snapshot!("dns_expected_80x24", screen);
    let mx = screen
        .lines()
        .find(|l| l.contains(" MX "))
        .unwrap_or_default();
    assert!(mx.contains("stale 00:28:59"), "{mx}");
    let txt = screen
        .lines()
        .find(|l| l.contains("NODATA"))
        .unwrap_or_default();
    assert!(txt.contains("missing"), "{txt}");

    // The expected-vs-actual view: expected and actual side by side, the TTL answered and how
    // long the longest-lived resolver copy lasts (cache-b's old MX, 29 minutes).
    update(&mut s, Action::DnsCycleView);
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("dns_compare_120x40", screen);
    assert!(screen.contains("view: expected vs actual"), "{screen}");
    let mx = screen
        .lines()
        .find(|l| l.contains(" MX "))
        .unwrap_or_default();
    assert!(
        mx.matches("0 new.mail.protection").count() == 2 && mx.contains("300s"),
        "{mx}"
    );
    assert!(mx.contains("00:28:59 stale"), "{mx}");
    let txt = screen
        .lines()
        .find(|l| l.contains(" TXT "))
        .unwrap_or_default();
    assert!(
        txt.contains("v=spf1") && txt.contains("NODATA") && txt.contains("missing"),
        "{txt}"
    );
}

/// The busy state with an executed change in the audit history and the journal verified.
fn audit_state() -> State {
    let mut s = busy_state();
    s.audit.push(record(
        4,
        "2025-03-01T12:00:00Z",
        Event::new(Kind::Intent, "remove alias")
            .tenant("source")
            .target("adele@contoso.example")
            .change(
                json!({"proxyAddresses": ["SMTP:adele@contoso.example", "smtp:a@contoso.example"]}),
                json!({"proxyAddresses": ["SMTP:adele@contoso.example"]}),
            ),
    ));
    s.audit.push(record(
        5,
        "2025-03-01T12:00:01Z",
        Event::new(Kind::Outcome, "remove alias")
            .tenant("source")
            .target("adele@contoso.example")
            .result("ok")
            .request_id("7d1f3c2a-0000-4000-8000-000000000001"),
    ));
    s.audit_integrity = Integrity::Verified {
        lines: 5,
        head: "ab".repeat(32),
    };
    s.size = (120, 40);
    update(&mut s, Action::Focus(Pane::Audit));
    s
}

#[test]
fn audit_pane_filter_syntax_and_badge() {
    let mut s = audit_state();
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("✓ verified, 5 lines"), "{screen}");

    s.views[Pane::Audit.index()].filter = "tenant:source since:12:00".into();
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("audit_filtered_120x40", screen);
    let audit_pane: Vec<&str> = screen
        .lines()
        .filter(|l| l.contains("remove alias"))
        .collect();
    assert_eq!(audit_pane.len(), 2, "{screen}");
    assert!(!screen.contains("dashboard opened"));

    s.views[Pane::Audit.index()].filter = "kind:nonsense".into();
    let screen = draw(&s, 120, 40);
    assert!(
        screen.contains("filter: unknown kind \"nonsense\""),
        "{screen}"
    );

    s.audit_integrity = Integrity::Broken {
        line: 3,
        reason: "the line was changed".into(),
    };
    assert!(draw(&s, 120, 40).contains("✗ broken at line 3"));
    s.audit_integrity = Integrity::NotChecked;
    assert!(draw(&s, 120, 40).contains(" not checked "));
}

#[test]
fn audit_detail_shows_diff_and_request_id() {
    let mut s = audit_state();
    // Newest first: row 0 is the outcome, row 1 the intent.
    let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
    let open = map_key(&s, enter).expect("Enter on the Audit pane");
    update(&mut s, open);
    assert!(s.audit_detail);
    let screen = draw(&s, 120, 40);
    assert!(
        screen.contains("request id 7d1f3c2a-0000-4000-8000-000000000001"),
        "{screen}"
    );
    update(&mut s, Action::Down);
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("audit_detail_120x40", screen);
    assert!(
        screen.contains(r#"-     "smtp:a@contoso.example""#),
        "{screen}"
    );
    assert!(
        screen.contains(r#"-     "SMTP:adele@contoso.example","#),
        "{screen}"
    );
    assert!(
        screen.contains(r#"+     "SMTP:adele@contoso.example""#),
        "{screen}"
    );
    let esc = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
    let close = map_key(&s, esc).expect("Esc closes");
    update(&mut s, close);
    assert!(!s.audit_detail);
}

// ---------------------------------------------------------------------------------------------
// Who holds the domain from outside, the inventory, the sign-in dialog

use cutover::app::state::SignInDialog;
use cutover::graph::discovery::{Answer, OpenidTenant, Outside, TenantInformation, UserRealm};
use cutover::inventory::{Entry, Kind as InvKind, Reference};

fn outside_held_by(id: &str) -> Outside {
    Outside {
        domain: DOMAIN.into(),
        openid_configuration: Answer::Found(OpenidTenant {
            tenant_id: id.into(),
            issuer: format!("https://login.microsoftonline.com/{id}/v2.0"),
            tenant_region_scope: Some("EU".into()),
            cloud_instance_name: Some("microsoftonline.com".into()),
        }),
        user_realm: Answer::Found(UserRealm {
            namespace_type: "Managed".into(),
            domain_name: Some(DOMAIN.into()),
            federation_brand_name: Some("Contoso Ltd".into()),
            cloud_instance_name: None,
            auth_url: None,
        }),
        find_tenant_information: Answer::Found(TenantInformation {
            tenant_id: id.into(),
            display_name: Some("Contoso Ltd".into()),
            default_domain_name: Some(DOMAIN.into()),
            federation_brand_name: None,
        }),
    }
}

fn entry(id: &str, kind: InvKind, name: &str, refs: &[(&'static str, &str)]) -> Entry {
    Entry {
        id: id.into(),
        kind,
        display_name: name.into(),
        user_principal_name: refs
            .iter()
            .find(|(how, _)| *how == "userPrincipalName")
            .map(|(_, v)| (*v).to_string()),
        enabled: (kind == InvKind::User).then_some(id != "shared"),
        synced: None,
        licences: None,
        references: refs
            .iter()
            .map(|(how, value)| Reference {
                how,
                value: (*value).into(),
            })
            .collect(),
    }
}

fn inventory() -> Vec<Entry> {
    vec![
        entry(
            "u1",
            InvKind::User,
            "John Smith",
            &[
                ("userPrincipalName", "john.smith@contoso.example"),
                ("smtpAddress", "smtp:jsmith@contoso.example"),
            ],
        ),
        entry(
            "u2",
            InvKind::User,
            "Anna Berg",
            &[
                ("userPrincipalName", "anna.berg@contoso.example"),
                ("smtpAddress", "smtp:anna@contoso.example"),
            ],
        ),
        entry(
            "shared",
            InvKind::User,
            "Info",
            &[("mail", "info@contoso.example")],
        ),
        entry(
            "g1",
            InvKind::DistributionGroup,
            "Sales",
            &[("mail", "sales@contoso.example")],
        ),
        entry(
            "c1",
            InvKind::Contact,
            "Partner Desk",
            &[
                ("mail", "desk@contoso.example"),
                ("smtpAddress", "smtp:partner@contoso.example"),
            ],
        ),
        entry(
            "a1",
            InvKind::Application,
            "Intranet",
            &[("identifierUri", "https://intranet.contoso.example/app")],
        ),
        entry(
            "o1",
            InvKind::Other,
            "",
            &[("domainNameReferences", "#microsoft.graph.device")],
        ),
    ]
}

fn outside_state(holder: &str) -> State {
    let mut s = busy_state();
    update(
        &mut s,
        Action::OutsidePolled {
            at: NOW,
            outside: Box::new(outside_held_by(holder)),
        },
    );
    update(
        &mut s,
        Action::InventoryPolled {
            at: datetime!(2025-03-01 11:59:30 UTC),
            result: Ok(inventory()),
        },
    );
    s
}

#[test]
fn owner_line_and_inventory_120x40() {
    let mut s = outside_state("src");
    s.focus = Pane::Users;
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("outside_and_inventory_120x40", screen);
    let owner = screen
        .lines()
        .find(|l| l.contains("owner"))
        .unwrap_or_default();
    // "src" is the source snapshot's organization id: the configured source holds the domain.
    assert!(
        owner.contains("source") && owner.contains("Managed") && owner.contains("src"),
        "{owner}"
    );
    let holding = screen
        .lines()
        .find(|l| l.contains("holding"))
        .unwrap_or_default();
    assert!(holding.contains("holding  7 (2 user"), "{holding}");
    assert!(
        screen.contains("7 objects hold contoso.example"),
        "{screen}"
    );
    assert!(
        screen.contains("by kind: 2 user, 1 shared?, 1 dist grp, 1 contact, 1 app, 1 other"),
        "{screen}"
    );
    // The inventory's contacts, applications and other references are rows of the list.
    assert!(screen.contains("Partner Desk") && screen.contains("partner@contoso.example"));
    assert!(screen.contains("Intranet") && screen.contains("https://intranet.contoso.example"));
    assert!(screen.contains("#microsoft.graph.device"));
    assert!(
        screen.contains("7 objects hold contoso.example"),
        "{screen}"
    );
}

#[test]
fn owner_line_names_the_destination_other_tenants_and_faults() {
    let s = outside_state("dst");
    let screen = draw(&s, 80, 24);
    let owner = screen
        .lines()
        .find(|l| l.contains("owner"))
        .unwrap_or_default();
    assert!(owner.contains("destination"), "{owner}");

    let s = outside_state("9f0c1d2e-aaaa-bbbb-cccc-000000000000");
    let owner = draw(&s, 120, 40)
        .lines()
        .find(|l| l.contains("owner"))
        .unwrap_or_default()
        .to_string();
    assert!(owner.contains("other tenant"), "{owner}");

    let mut s = busy_state();
    let mut free = outside_held_by("src");
    free.openid_configuration = Answer::NotFound {
        detail: "AADSTS90002: Tenant 'contoso.example' not found.".into(),
    };
    free.user_realm = Answer::Failed {
        error: "HTTP 503".into(),
    };
    free.find_tenant_information = Answer::NotFound {
        detail: "404".into(),
    };
    update(
        &mut s,
        Action::OutsidePolled {
            at: NOW,
            outside: Box::new(free),
        },
    );
    let screen = draw(&s, 120, 40);
    let owner = screen
        .lines()
        .find(|l| l.contains("owner"))
        .unwrap_or_default();
    assert!(
        owner.contains("user realm failed") && owner.contains("unknown"),
        "{owner}"
    );
}

#[test]
fn sign_in_dialog_80x24() {
    let mut s = busy_state();
    s.size = (80, 24);
    update(
        &mut s,
        Action::SignInStarted(SignInDialog {
            tenant: TenantId::Destination,
            service: cutover::app::state::SignInService::Graph,
            user_code: "FJ7KQ2LMN".into(),
            verification_uri: "https://microsoft.com/devicelogin".into(),
            expires_in: 900,
        }),
    );
    let screen = draw(&s, 80, 24);
    insta::assert_snapshot!("sign_in_dialog_80x24", screen);
    assert!(screen.contains(" Sign in "));
    assert!(screen.contains("https://microsoft.com/devicelogin"));
    assert!(screen.contains("enter the code FJ7KQ2LMN"));
    assert!(screen.contains("destination tenant"));
    assert!(!screen.contains("waiting after"), "{screen}");
    // The destination's Exchange sign-in waits behind it: said, and shown once Graph's ends.
    update(
        &mut s,
        Action::SignInStarted(SignInDialog {
            tenant: TenantId::Destination,
            service: cutover::app::state::SignInService::Exchange,
            user_code: "QW3RTY7UP".into(),
            verification_uri: "https://microsoft.com/devicelogin".into(),
            expires_in: 900,
        }),
    );
    let two = draw(&s, 80, 24);
    assert!(two.contains("enter the code FJ7KQ2LMN"), "{two}");
    assert!(
        two.contains("1 more sign-in waiting after this one"),
        "{two}"
    );
    update(
        &mut s,
        Action::SignInEnded {
            tenant: TenantId::Destination,
            service: cutover::app::state::SignInService::Graph,
        },
    );
    let next = draw(&s, 80, 24);
    assert!(
        next.contains("sign-in to Exchange Online") && next.contains("enter the code QW3RTY7UP"),
        "{next}"
    );
    // Modal: Esc cancels, other keys do nothing, q quits.
    let key = |c| KeyEvent::new(c, KeyModifiers::NONE);
    assert_eq!(map_key(&s, key(KeyCode::Tab)), None);
    assert_eq!(map_key(&s, key(KeyCode::Char('q'))), Some(Action::Quit));
    let esc = map_key(&s, key(KeyCode::Esc)).expect("Esc");
    assert_eq!(esc, Action::CancelSignIn);
    update(&mut s, esc);
    let screen = draw(&s, 80, 24);
    assert!(!screen.contains(" Sign in "));
    assert!(
        last_line(&screen).contains("sign-in to destination cancelled"),
        "{}",
        last_line(&screen)
    );
}

#[test]
fn dns_views_scroll_over_their_own_rows() {
    let mut s = busy_state();
    s.focus = Pane::Dns;
    let records = s.dns.answers.len();
    assert!(records > 3, "the records view lists several rows");
    // Only the MX answered at two resolvers: the propagation view has one row.
    let mx = answer(
        DOMAIN,
        RecordKind::Mx,
        AnswerStatus::Answer,
        &[("0 new.mail.protection.outlook.com", 300)],
    );
    let sweeps = vec![
        cutover::dns::propagation::ResolverSweep {
            resolver: "authoritative".into(),
            authoritative: true,
            at: NOW,
            answers: vec![mx.clone()],
        },
        cutover::dns::propagation::ResolverSweep {
            resolver: "cache-a".into(),
            authoritative: false,
            at: NOW,
            answers: vec![mx],
        },
    ];
    update(&mut s, Action::Bottom);
    assert!(s.views[Pane::Dns.index()].selected > 0);
    update(&mut s, Action::PropagationPolled(sweeps));
    // Records → expected vs actual → propagation: the selection starts at the top and End
    // stops at the matrix's last row, not the records view's.
    update(&mut s, Action::DnsCycleView);
    update(&mut s, Action::DnsCycleView);
    assert_eq!(s.views[Pane::Dns.index()].selected, 0);
    update(&mut s, Action::Bottom);
    assert_eq!(s.views[Pane::Dns.index()].selected, 0, "one row only");
    assert!(draw(&s, 80, 24).contains("›"), "the one row is selected");
}

#[test]
fn status_bar_says_dns_is_failing_when_no_resolver_answers() {
    use cutover::dns::propagation::ResolverSweep;
    let mut s = busy_state();
    let failed = |secs: i64| {
        let at = NOW + time::Duration::seconds(secs);
        let timeout = answer(
            DOMAIN,
            RecordKind::Mx,
            AnswerStatus::Error("timeout".into()),
            &[],
        );
        ["ns1.contoso.example", "1.1.1.1:53"]
            .iter()
            .enumerate()
            .map(|(i, r)| ResolverSweep {
                resolver: (*r).into(),
                authoritative: i == 0,
                at,
                answers: vec![timeout.clone()],
            })
            .collect::<Vec<_>>()
    };
    let mut good = failed(0);
    good[1].answers[0] = answer(
        DOMAIN,
        RecordKind::Mx,
        AnswerStatus::Answer,
        &[("0 new.mail.protection.outlook.com", 300)],
    );
    // One resolver answered: DNS is not failing, even if the authoritative server timed out.
    update(&mut s, Action::PropagationPolled(good));
    assert!(
        last_line(&draw(&s, 120, 40)).contains("dns: ok 12:00:00"),
        "{}",
        last_line(&draw(&s, 120, 40))
    );
    update(&mut s, Action::PropagationPolled(failed(60)));
    update(&mut s, Action::PropagationPolled(failed(120)));
    let screen = draw(&s, 120, 40);
    let line = last_line(&screen);
    assert!(
        line.contains("dns: failing (no resolver answered since 12:00:00)"),
        "{line}"
    );
}

/// Real tenants' names: Greek, Japanese and EAI aliases in the Users pane. Wide (CJK)
/// characters take two cells; a name cut to fit a column must end in `…` at the column's
/// edge and never run into the next column.
#[test]
fn non_latin_names_are_shown_and_cut_in_cells() {
    let mut s = busy_state();
    if let Some(snapshot) = s.source.snapshot.as_mut() {
        snapshot.users.push(user(
            "tanaka.taro@contoso.example",
            Some("tanaka.taro@contoso.example"),
            &[
                "SMTP:tanaka.taro@contoso.example",
                "smtp:田中太郎@contoso.example",
            ],
            true,
        ));
        snapshot.groups.push(Group {
            id: "g3".into(),
            display_name: Some("Ελένη Παπαδοπούλου".into()),
            mail: Some("eleni.papadopoulou@contoso.example".into()),
            proxy_addresses: vec![
                "SMTP:eleni.papadopoulou@contoso.example".into(),
                "smtp:ελένη@contoso.example".into(),
            ],
            ..Group::default()
        });
        snapshot.groups.push(Group {
            id: "g4".into(),
            display_name: Some("東京営業部の全員と大阪支店の全員と名古屋支店の全員".into()),
            mail: Some("tokyo-sales@contoso.example".into()),
            proxy_addresses: vec!["SMTP:tokyo-sales@contoso.example".into()],
            ..Group::default()
        });
    }
    inventory_from_snapshot(&mut s);
    s.focus = Pane::Users;
    let screen = draw(&s, 120, 40);
    insta::assert_snapshot!("users_non_latin_120x40", screen);
    assert!(screen.contains("田中太郎@contoso.example"), "{screen}");
    assert!(screen.contains("Ελένη Παπαδοπούλου"), "{screen}");
    assert!(screen.contains("ελένη@contoso.example"), "{screen}");

    // At 80 columns the long Japanese group name is cut with an ellipsis, and the aliases
    // column after it starts where the header says it does.
    let grid = cell_grid(&s, 80, 24);
    let at = |needle: &str| {
        grid.iter().enumerate().find_map(|(y, row)| {
            (0..row.len()).find_map(|x| starts_at(row, x, needle).then_some((x, y)))
        })
    };
    let Some((alias_x, _)) = at("Aliases in domain") else {
        panic!("no aliases header:\n{}", draw(&s, 80, 24));
    };
    let Some((_, group_y)) = at("東京営業部") else {
        panic!("no group row:\n{}", draw(&s, 80, 24));
    };
    let row = &grid[group_y];
    let ellipsis = row.iter().position(|c| c == "…");
    assert!(
        ellipsis.is_some_and(|x| x < alias_x),
        "name not cut with … before column {alias_x}: {row:?}"
    );
    let Some((tanaka_alias_x, _)) = at("田中太郎@") else {
        panic!("no EAI alias:\n{}", draw(&s, 80, 24));
    };
    assert_eq!(tanaka_alias_x, alias_x, "alias not in its column");
}

/// Whether the text drawn from cell `x` on starts with `needle` (the cell a wide character
/// spills into holds an empty symbol, so concatenating symbols gives the text).
fn starts_at(row: &[String], x: usize, needle: &str) -> bool {
    row.get(x).is_some_and(|c| !c.is_empty())
        && row
            .get(x..)
            .is_some_and(|rest| rest.concat().starts_with(needle))
}

/// T is never shown as a fact it is not: without one the timeline says so; the demo's own T
/// always says it is the demo's, however narrow the pane.
#[test]
fn the_timeline_border_says_where_t_came_from() {
    let mut s = busy_state();
    s.cutover_at = None;
    let screen = draw(&s, 120, 40);
    assert!(screen.contains("T not set · t sets it"), "{screen}");
    s.cutover_at = Some(datetime!(2025-03-08 18:00:00 UTC));
    s.cutover_from = Some(cutover::plan::CutoverSource::Demo);
    for (w, h) in [(120, 40), (100, 30)] {
        let screen = draw(&s, w, h);
        let border = screen
            .lines()
            .find(|l| l.contains("Migration timeline"))
            .unwrap_or_default();
        // Shown with its source, or (when nothing fits) not at all: never as a bare fact.
        let labelled = border.contains("03-08 18:00 UTC (demo)");
        assert!(labelled || !border.contains(" T "), "{w}x{h}: {border}");
        assert!(labelled || w < 120, "{w}x{h}: {border}");
    }
    s.cutover_from = Some(cutover::plan::CutoverSource::Config);
    s.focus = Pane::Timeline;
    let screen = draw(&s, 120, 40);
    assert!(
        screen.contains("T 2025-03-08 18:00 UTC (config)"),
        "{screen}"
    );
}

/// The screen's cells as drawn (symbols and styles).
fn buffer(state: &State, width: u16, height: u16) -> ratatui::buffer::Buffer {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|f| render(f, state)).expect("draw");
    terminal.backend().buffer().clone()
}

/// One letter per cell for its emphasis: `B` bold, `R` reverse, `X` both, `U` underline,
/// `.` none; so a snapshot shows where emphasis is when there is no colour.
fn emphasis(buf: &ratatui::buffer::Buffer) -> String {
    use ratatui::style::Modifier;
    let mut out = String::new();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width)
            .map(|x| {
                let m = buf[(x, y)].modifier;
                match (m.contains(Modifier::BOLD), m.contains(Modifier::REVERSED)) {
                    (true, true) => 'X',
                    (true, false) => 'B',
                    (false, true) => 'R',
                    _ if m.contains(Modifier::UNDERLINED) => 'U',
                    _ => '.',
                }
            })
            .collect();
        out.push_str(row.trim_end_matches('.'));
        out.push('\n');
    }
    out
}

#[test]
fn no_color_draws_no_colour_and_marks_focus_and_selection_by_emphasis() {
    use cutover::ui::theme::{Palette, Scoped};
    use ratatui::style::Color;
    let mut s = busy_state();
    update(&mut s, Action::Focus(Pane::Users));
    update(&mut s, Action::Down);
    // The standard palette does colour this screen, so the check below can fail.
    let coloured = buffer(&s, 80, 24);
    assert!(
        coloured
            .content
            .iter()
            .any(|c| c.fg != Color::Reset || c.bg != Color::Reset)
    );
    let _no_color = Scoped::new(Palette::NoColor);
    let buf = buffer(&s, 80, 24);
    for (i, cell) in buf.content.iter().enumerate() {
        assert_eq!(
            (cell.fg, cell.bg),
            (Color::Reset, Color::Reset),
            "cell {i} ({:?}) is coloured",
            cell.symbol()
        );
    }
    let screen = draw(&s, 80, 24);
    insta::assert_snapshot!(
        "no_color_users_80x24",
        format!("{screen}\n{}", emphasis(&buf))
    );
    // The focused pane's title and the selected row stand out without colour.
    let marks = emphasis(&buf);
    assert!(marks.contains('X'), "no bold+reverse anywhere:\n{marks}");
}

#[test]
fn high_contrast_has_no_grey() {
    use cutover::ui::theme::{Palette, Scoped};
    use ratatui::style::Color;
    let mut s = busy_state();
    update(&mut s, Action::ToggleHelp);
    let _hc = Scoped::new(Palette::HighContrast);
    let buf = buffer(&s, 100, 40);
    assert!(
        buf.content
            .iter()
            .all(|c| c.fg != Color::DarkGray && c.bg != Color::DarkGray)
    );
    assert!(buf.content.iter().any(|c| c.fg == Color::Yellow));
}
