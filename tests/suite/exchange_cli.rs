//! `cutover exchange …` against `sim serve` over loopback, and the PowerShell generator's
//! quoting of hostile names (checked with a PowerShell single-quote tokenizer written here;
//! `pwsh` is not assumed to be installed).

use std::process::Command;

use cutover::exchange::RecipientKind;
use cutover::exchange::plan::AddressChange;
use cutover::exchange::script::{ScriptInput, generate};

use crate::common;
use common::{BIN, Served, sim_serve};

fn serve(dir: &std::path::Path) -> Served {
    let served = sim_serve(&dir.join("sim.toml"), dir, &["--users", "60"]);
    assert!(served.info["exchange_url"].is_string(), "{}", served.info);
    served
}

fn run(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--config")
        .arg(dir.join("sim.toml"))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .output()
        .expect("run")
}

#[test]
fn recipients_connectors_and_script_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _sim = serve(dir.path());

    let out = run(
        dir.path(),
        &["exchange", "recipients", "--tenant", "source", "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert!(lines.len() > 50, "{}", lines.len());
    assert!(lines.iter().all(|r| {
        r["EmailAddresses"].as_array().is_some_and(|a| {
            a.iter()
                .any(|x| x.as_str().is_some_and(|s| s.ends_with("@contoso.example")))
        })
    }));

    let out = run(
        dir.path(),
        &["exchange", "connectors", "--tenant", "source"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("3 of 4 connectors"), "{text}");
    assert!(text.contains("Outbound to on-premises relay"), "{text}");

    let script = dir.path().join("remove.ps1");
    let out = run(
        dir.path(),
        &[
            "exchange",
            "script",
            "--tenant",
            "source",
            "--out",
            script.to_str().expect("utf8"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ps = std::fs::read_to_string(&script).expect("script");
    assert!(ps.contains("[switch]$Apply"));
    assert!(
        ps.contains("Set-Mailbox -Identity 'info@contoso.example' -WindowsEmailAddress 'info@"),
        "{ps}"
    );
    assert!(ps.contains(
        "Set-UnifiedGroup -Identity 'phoenix@contoso.example' -PrimarySmtpAddress 'phoenix@"
    ));
    assert!(ps.contains("Set-DistributionGroup -Identity 'allstaff@contoso.example'"));
    // Every change command runs with -WhatIf unless -Apply.
    for l in ps.lines().map(str::trim).filter(|l| {
        ["Set-Mailbox", "Set-DistributionGroup", "Set-UnifiedGroup"]
            .iter()
            .any(|c| l.starts_with(c))
    }) {
        assert!(l.ends_with("-WhatIf:$WhatIf -ErrorAction Stop"), "{l}");
    }

    // Never overwrites: exit 2, one line, file unchanged.
    let out = run(
        dir.path(),
        &[
            "exchange",
            "script",
            "--tenant",
            "source",
            "--out",
            script.to_str().expect("utf8"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read_to_string(&script).expect("script"), ps);

    // Bad input is exit 2 with one line.
    let out = run(
        dir.path(),
        &["exchange", "recipients", "--tenant", "elsewhere"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

const QUOTES: [char; 5] = ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// PowerShell's single-quoted strings on one line: the decoded literals and the code outside
/// them. A quote character inside a literal is written twice.
fn tokenize(line: &str) -> (Vec<String>, String) {
    let mut literals = Vec::new();
    let mut outside = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if !QUOTES.contains(&c) {
            outside.push(c);
            continue;
        }
        let mut lit = String::new();
        loop {
            match chars.next() {
                Some(q) if QUOTES.contains(&q) => {
                    if chars.peek().is_some_and(|n| QUOTES.contains(n)) {
                        lit.push(chars.next().unwrap_or(q));
                    } else {
                        break;
                    }
                }
                Some(x) => lit.push(x),
                None => panic!("unterminated literal in {line:?}"),
            }
        }
        literals.push(lit);
        outside.push('L');
    }
    (literals, outside)
}

#[test]
fn hostile_names_stay_literal() {
    let evil_name =
        "O'Brien $(Remove-Mailbox -Identity boss) \u{2019}; Remove-Mailbox x\r\nRemove-Mailbox y #";
    let evil_address = "o'brien.$env:USERNAME@contoso.example";
    let changes = vec![AddressChange {
        identity: evil_address.into(),
        display_name: evil_name.into(),
        kind: RecipientKind::Mailbox,
        recipient_type_details: "UserMailbox".into(),
        new_primary: Some("o'brien.$env:USERNAME@fab.onmicrosoft.com".into()),
        remove: vec![
            format!("smtp:{evil_address}"),
            "smtp:a\u{2018}b`$x@contoso.example".into(),
        ],
    }];
    let ps = generate(&ScriptInput {
        tenant: "tenant'\n$(evil)",
        domain: "contoso.example",
        initial_domain: "fab.onmicrosoft.com",
        source: "test\u{2028}Remove-Mailbox z",
        changes: &changes,
        connectors: &[],
    });
    let mut seen = Vec::new();
    for line in ps.lines() {
        let trimmed = line.trim_start();
        assert!(
            !trimmed.starts_with("Remove-Mailbox"),
            "injected line: {line:?}"
        );
        if trimmed.starts_with('#') {
            continue;
        }
        // The object lines the generator writes (the fixed connector part has its own code).
        if trimmed.starts_with("Set-Mailbox") || trimmed.starts_with("Invoke-Step '") {
            let (literals, outside) = tokenize(trimmed);
            assert!(
                !outside.contains("$("),
                "code outside literals: {outside:?}"
            );
            seen.extend(literals);
        }
    }
    assert!(seen.contains(&evil_address.to_string()), "{seen:?}");
    assert!(seen.contains(&"o'brien.$env:USERNAME@fab.onmicrosoft.com".to_string()));
    assert!(seen.contains(&"smtp:a\u{2018}b`$x@contoso.example".to_string()));
    assert!(seen.contains(&format!("mailbox {evil_address}")));
    // The header comment stays one line per line: the tenant's newline became a space.
    assert!(
        ps.lines()
            .next()
            .expect("first")
            .contains("tenant' $(evil)")
    );
    assert!(!ps.contains('\u{2028}'));
}
