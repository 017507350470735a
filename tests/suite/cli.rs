//! The binary's command line: bad input is one line and exit 2; `sim serve` is reachable with
//! plain HTTP like curl would use it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().expect("run cutover")
}

fn assert_one_line_error(out: &std::process::Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit code for {needle}: {stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(needle), "expected '{needle}' in: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn unknown_subcommand_is_one_line_exit_2() {
    assert_one_line_error(&run(&["frobnicate"]), "frobnicate");
}

#[test]
fn bad_flag_values_are_one_line_exit_2() {
    assert_one_line_error(&run(&["demo", "--users", "0"]), "--users");
    assert_one_line_error(&run(&["demo", "--users", "lots"]), "--users");
    assert_one_line_error(&run(&["sim", "serve", "--users", "100001"]), "--users");
}

#[test]
fn unusable_data_dir_is_one_line_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let under_file = file.join("data");
    let out = run(&["demo", "--data-dir", under_file.to_str().expect("utf8")]);
    assert_one_line_error(&out, "data dir");
}

#[test]
fn bad_log_filter_is_one_line_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = run(&[
        "sim",
        "serve",
        "--data-dir",
        dir.path().to_str().expect("utf8"),
        "--log-filter",
        "cutover=notalevel",
    ]);
    assert_one_line_error(&out, "log filter");
}

#[test]
fn verify_of_a_missing_file_is_exit_2() {
    let out = run(&[
        "audit",
        "verify",
        "--file",
        "/nonexistent/cutover/log.jsonl",
    ]);
    assert_one_line_error(&out, "/nonexistent/cutover/log.jsonl");
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf8");
    // No logs yet: both spellings reach the command (and fail the same clear way).
    let before = run(&["--data-dir", d, "audit", "verify"]);
    let after = run(&["audit", "verify", "--data-dir", d]);
    assert_one_line_error(&before, "no audit logs");
    assert_one_line_error(&after, "no audit logs");
}

/// `cutover: MESSAGE; see 'CMD --help'`, exit 2, naming each needle.
fn assert_clap_error(args: &[&str], needles: &[&str], help: &str) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    for n in needles {
        assert!(stderr.contains(n), "{args:?}: expected {n:?} in: {stderr}");
    }
    assert!(
        stderr
            .trim_end()
            .ends_with(&format!("; see '{help} --help'")),
        "{args:?}: {stderr}"
    );
    assert!(
        !stderr.contains(":;"),
        "a message cut at its colon: {stderr}"
    );
}

#[test]
fn every_kind_of_argument_error_keeps_its_substance_on_one_line() {
    // A missing argument names the argument.
    assert_clap_error(
        &["inventory"],
        &["the following required arguments were not provided: --tenant <source|destination>"],
        "cutover inventory",
    );
    assert_clap_error(
        &["exchange", "script", "--tenant", "source"],
        &["were not provided: --out <FILE>"],
        "cutover exchange script",
    );
    // An unknown argument names it.
    assert_clap_error(
        &["inventory", "--tenant", "source", "--bogus"],
        &["unexpected argument '--bogus'"],
        "cutover inventory",
    );
    // An invalid value names the value and the allowed ones.
    assert_clap_error(
        &["dns", "contoso.example", "--expect-from", "nobody"],
        &["'nobody'", "--expect-from", "destination, source"],
        "cutover dns",
    );
    assert_clap_error(
        &["login", "--tenant", "sauce"],
        &["'sauce'", "'source' or 'destination'"],
        "cutover login",
    );
    // An unknown subcommand, at the top and below.
    assert_clap_error(
        &["frobnicate"],
        &["unrecognized subcommand 'frobnicate'"],
        "cutover",
    );
    assert_clap_error(
        &["audit", "frob"],
        &["unrecognized subcommand 'frob'"],
        "cutover audit",
    );
    // Conflicting arguments name both.
    assert_clap_error(
        &["audit", "export", "--csv", "--json"],
        &["'--csv' cannot be used with '--json'"],
        "cutover audit export",
    );
}

#[test]
fn help_and_version_print_normally_and_exit_0() {
    for args in [
        vec!["--help"],
        vec!["inventory", "--help"],
        vec!["help", "dns"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("Usage: cutover"), "{args:?}: {said}");
        assert!(said.lines().count() > 3, "{args:?}: {said}");
    }
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("cutover "));
}

/// Every command that takes a domain, with `D` where the domain goes.
const DOMAIN_COMMANDS: &[&[&str]] = &[
    &["--domain", "D"],
    &["inventory", "--tenant", "source", "--domain", "D"],
    &[
        "exchange",
        "recipients",
        "--tenant",
        "source",
        "--domain",
        "D",
    ],
    &[
        "exchange",
        "connectors",
        "--tenant",
        "source",
        "--domain",
        "D",
    ],
    &[
        "exchange", "script", "--tenant", "source", "--out", "x.ps1", "--domain", "D",
    ],
    &["config", "check", "--domain", "D"],
    &["dns", "--domain", "D"],
    &["dns", "D"],
    &["dns", "snapshot", "D", "--out", "snap"],
    &["dns", "diff", "D", "--against", "snap"],
    &["owner", "D"],
    &["owner", "--domain", "D"],
];

#[test]
fn bad_domains_are_refused_by_the_parser_on_every_command() {
    let too_long = vec!["a".repeat(60); 5].join(".");
    let bad: [(&str, &str); 5] = [
        ("a..b", "empty label"),
        ("-x.com", "-x"),
        (&too_long, "at most 253"),
        ("exa mple.com", "'exa mple'"),
        ("", "empty"),
    ];
    for command in DOMAIN_COMMANDS {
        for (domain, why) in &bad {
            let args: Vec<&str> = command
                .iter()
                .map(|a| if *a == "D" { *domain } else { *a })
                .collect();
            let out = run(&args);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
            assert!(
                stderr.contains(why),
                "{args:?}: expected {why:?} in {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{stderr}");
        }
    }
}

#[test]
fn idn_domains_go_on_the_wire_as_a_labels() {
    // The dns positional: nothing answers on port 9, and the line names the A-label asked for.
    let out = run(&[
        "dns",
        "bücher.example",
        "--no-system",
        "--resolver",
        "127.0.0.1:9",
        "--timeout-ms",
        "200",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("xn--bcher-kva.example"), "{stderr}");
    // --domain is the same check: the same command with the flag asks the same name.
    let out = run(&[
        "dns",
        "--domain",
        "BÜCHER.example.",
        "--no-system",
        "--resolver",
        "127.0.0.1:9",
        "--timeout-ms",
        "200",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("xn--bcher-kva.example"), "{stderr}");
    // Two different domains at once are refused rather than one silently winning.
    let out = run(&["dns", "a.example", "--domain", "b.example"]);
    assert_eq!(out.status.code(), Some(2));
    // A command that has no use for --domain says so.
    let out = run(&["audit", "verify", "--domain", "a.example"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not apply"), "{stderr}");
}

#[tokio::test]
async fn sim_serve_json_then_token_then_domains() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(BIN)
        .args(["sim", "serve", "--json", "--users", "20", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("first line");
    let info: serde_json::Value = serde_json::from_str(&first).expect("json on the first line");
    for key in ["graph_url", "login_url", "dns", "tenants"] {
        assert!(info.get(key).is_some(), "missing {key}: {first}");
    }
    let tenant = &info["tenants"][0];
    let login = info["login_url"].as_str().expect("login url");
    let graph = info["graph_url"].as_str().expect("graph url");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let token: serde_json::Value = http
        .post(format!(
            "{login}/{}/oauth2/v2.0/token",
            tenant["id"].as_str().expect("id")
        ))
        .form(&[
            ("grant_type", "client_credentials"),
            (
                "client_id",
                tenant["client_id"].as_str().expect("client id"),
            ),
            (
                "client_secret",
                tenant["client_secret"].as_str().expect("secret"),
            ),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    let access = token["access_token"].as_str().expect("access token");
    let response = http
        .get(format!("{graph}/v1.0/domains"))
        .bearer_auth(access)
        .send()
        .await
        .expect("domains");
    assert!(response.headers().contains_key("request-id"));
    let body: serde_json::Value = response.json().await.expect("json");
    assert!(
        body["@odata.context"]
            .as_str()
            .is_some_and(|c| c.contains("$metadata#domains"))
    );
    assert!(
        body["value"]
            .as_array()
            .is_some_and(|v| v.iter().any(|d| d["id"] == "contoso.example"))
    );

    // SIGTERM ends it cleanly.
    let pid = child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn a_cutover_time_needs_its_zone_and_a_command_that_uses_it() {
    let out = run(&["--cutover", "2026-12-05T18:00"]);
    assert_one_line_error(&out, "no time zone");
    assert_one_line_error(&run(&["--cutover", "next friday"]), "2026-12-05T18:00Z");
    let out = run(&["--cutover", "2026-12-05T18:00Z", "audit", "verify"]);
    assert_one_line_error(&out, "--cutover sets T for the dashboard");
}
