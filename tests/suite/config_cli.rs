//! `cutover config init|check`, `--config` before or after the subcommand, and `sim serve
//! --write-config` feeding plain `cutover` (the dashboard in a real terminal via tmux).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;
use common::{BIN, Served, Terminal, device_code_config, files_under, sim_serve};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/config")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("CUTOVER_CONFIG")
        .output()
        .expect("run cutover")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn check_accepts_valid_fixtures() {
    for name in [
        "valid-secret-env.toml",
        "valid-custom.toml",
        "valid-dns.toml",
    ] {
        let f = fixture(name);
        let out = run(&["config", "check", f.to_str().expect("utf8")]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("ok (domain contoso.example"));
    }
}

/// `config check` on a bad fixture: exit 2 and every expected problem on stderr, which it returns.
fn check_fails(name: &str, problems: &[&str]) -> String {
    let f = fixture(name);
    let out = run(&["config", "check", f.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for needle in problems {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    err
}

#[test]
fn check_names_every_bad_field_with_its_line() {
    let err = check_fails(
        "invalid-many.toml",
        &[
            "invalid-many.toml: line 2: unknown key 'colour'",
            "invalid-many.toml: line 7: tenants.source.auth 'password'",
            "invalid-many.toml: line 16: tenants.destination.cloud 'mars'",
            "invalid-many.toml: line 17: unknown key 'tenants.destination.secret'",
            "cutover: 8 problems in",
        ],
    );
    assert!(!err.contains("panicked"));
}

#[test]
fn dns_section_problems_name_their_lines() {
    check_fails(
        "invalid-dns.toml",
        &[
            "invalid-dns.toml: line 5: dns.blocklists:",
            "invalid-dns.toml: line 6: dns.authoritative_port: 70000 is not a port",
            "invalid-dns.toml: line 7: dns.names: 'mail.contoso.example/AAAA': unknown record type",
            "invalid-dns.toml: line 7: dns.names: 'no-type.contoso.example': no '/TYPE'",
            "cutover: 4 problems in",
        ],
    );
}

#[test]
fn global_config_flag_works_before_and_after_the_subcommand() {
    let f = fixture("invalid-syntax.toml");
    let f = f.to_str().expect("utf8");
    for args in [
        vec!["--config", f, "config", "check"],
        vec!["config", "check", "--config", f],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            text(&out.stderr).contains("line 3: not valid TOML"),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn missing_config_is_one_line_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.toml");
    let out = run(&["--config", missing.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("config init"), "{err}");
}

#[test]
fn dashboard_with_invalid_config_is_one_line_exit_2() {
    let f = fixture("invalid-many.toml");
    let out = run(&["--config", f.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("and 7 more"), "{err}");
}

#[test]
fn init_writes_a_private_template_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub/config.toml");
    let p = path.to_str().expect("utf8");
    let out = run(&["config", "init", "--out", p]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let check = run(&["config", "check", p]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let before = std::fs::read(&path).expect("read");
    let again = run(&["config", "init", "--out", p]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already exists"));
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "left untouched"
    );
}

fn serve_with_config(config: &Path, data: &Path) -> Served {
    let served = sim_serve(config, data, &[]);
    assert!(served.info["graph_url"].is_string(), "{}", served.info);
    served
}

#[test]
fn sim_serve_writes_a_config_that_checks_and_is_only_replaced_by_itself() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sim.toml");
    {
        let _served = serve_with_config(&config, dir.path());
        let out = run(&["config", "check", config.to_str().expect("utf8")]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let body = std::fs::read_to_string(&config).expect("read");
        assert!(body.contains("cloud = \"custom\""));
    }
    // A second run replaces its own file …
    drop(serve_with_config(&config, dir.path()));
    // … but never someone else's.
    let other = dir.path().join("mine.toml");
    std::fs::write(&other, "domain = \"x.example\"\n").expect("write");
    let out = Command::new(BIN)
        .args(["sim", "serve", "--write-config"])
        .arg(&other)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("was not written by"));
    assert_eq!(
        std::fs::read_to_string(&other).expect("read"),
        "domain = \"x.example\"\n"
    );
}

#[test]
fn plain_cutover_opens_the_dashboard_against_the_configured_tenants() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sim.toml");
    let data = dir.path().join("data");
    let _served = serve_with_config(&config, dir.path());

    let term = Terminal::dashboard(&config, &data);
    // The sim's source tenant has the domain verified; the dashboard shows users from it.
    term.wait_for("the dashboard", |s| {
        s.contains("Users and aliases") && s.contains("@contoso.example")
    });
    term.keys(&["q"]);
    assert_eq!(term.exit_status_within(10), 0);
    // The session's journal is named after the configured domain.
    assert!(data.join("audit/contoso.example.jsonl").exists());
}

#[test]
fn login_caches_a_private_token_and_no_file_holds_the_secret() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sim.toml");
    let data = dir.path().join("data");
    let _served = serve_with_config(&config, dir.path());
    let body = std::fs::read_to_string(&config).expect("config");
    let secret = body
        .lines()
        .find_map(|l| l.strip_prefix("client_secret = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("secret in the sim config")
        .to_string();
    let args = |extra: &[&str]| {
        let mut v = vec![
            "login",
            "--config",
            config.to_str().expect("utf8"),
            "--data-dir",
            data.to_str().expect("utf8"),
            "--log-filter",
            "trace",
        ];
        v.extend_from_slice(extra);
        v.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let out = Command::new(BIN)
        .args(args(&["--tenant", "source"]))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("signed in to"));
    let cache = data.join("tokens/source.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache)
            .expect("cache")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let cached: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("read")).expect("json");
    let token = cached["access_token"].as_str().expect("token").to_string();

    // A corrupt cache is a warning on stderr and a new sign-in, not a crash.
    std::fs::write(&cache, "garbage").expect("corrupt");
    let out = Command::new(BIN)
        .args(args(&["--tenant", "source"]))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("corrupt token cache"),
        "{}",
        text(&out.stderr)
    );

    // A wrong secret from the environment: one line, exit 2, the AADSTS code, no secret.
    let out = Command::new(BIN)
        .args(args(&["--tenant", "destination"]))
        .env("CUTOVER_DESTINATION_CLIENT_SECRET", "definitely-wrong")
        .output()
        .expect("run");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("AADSTS7000215"), "{err}");
    assert!(!err.contains("definitely-wrong"));

    // Nothing cutover wrote, the token cache aside, holds the secret or the token.
    for f in files_under(&data) {
        if f.starts_with(data.join("tokens")) {
            continue;
        }
        let content = String::from_utf8_lossy(&std::fs::read(&f).expect("read")).into_owned();
        assert!(!content.contains(&secret), "secret in {}", f.display());
        assert!(!content.contains(&token), "token in {}", f.display());
        assert!(
            !content.contains("definitely-wrong"),
            "secret in {}",
            f.display()
        );
    }
    assert!(
        !files_under(&data.join("logs")).is_empty(),
        "a trace log was written"
    );
}

#[test]
fn demo_with_device_code_prints_the_code_and_opens_once_approved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let term = Terminal::start(
        120,
        40,
        &[
            "demo",
            "--device-code",
            "--data-dir",
            data.to_str().expect("utf8"),
        ],
    );
    term.wait_for("device code", |s| {
        s.contains("enter the code") && s.contains("/sim/device")
    });
    term.wait_for("dashboard", |s| s.contains("Users and aliases"));
    term.keys(&["q"]);
    assert_eq!(term.exit_status_within(10), 0);
}

#[test]
fn sim_serve_fault_flags_are_checked_and_applied() {
    let out = run(&["sim", "serve", "--error-rate", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("fraction"),
        "{}",
        text(&out.stderr)
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let served = sim_serve(
        &dir.path().join("sim.toml"),
        dir.path(),
        &["--throttle-capacity", "1", "--throttle-per-second", "0.2"],
    );
    let info = served.info.clone();
    let graph = info["graph_url"].as_str().expect("url").to_string();
    let tenant = info["tenants"][0].clone();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let statuses = rt.block_on(async {
        let http = http_client();
        let token: serde_json::Value = http
            .post(format!(
                "{graph}/{}/oauth2/v2.0/token",
                tenant["id"].as_str().expect("id")
            ))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", tenant["client_id"].as_str().expect("cid")),
                (
                    "client_secret",
                    tenant["client_secret"].as_str().expect("s"),
                ),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        let mut out = Vec::new();
        for _ in 0..2 {
            let r = http
                .get(format!("{graph}/v1.0/organization"))
                .bearer_auth(token["access_token"].as_str().expect("token"))
                .send()
                .await
                .expect("get");
            let after = r
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap_or("").to_string());
            out.push((r.status().as_u16(), after));
        }
        out
    });
    assert_eq!(statuses[0].0, 200);
    assert_eq!(statuses[1].0, 429);
    assert_eq!(statuses[1].1.as_deref(), Some("5"));
}

/// reqwest is built without a bundled TLS provider; the product installs ring, so do tests.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[test]
fn dashboard_with_a_device_code_profile_signs_in_first_then_opens() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim_config = dir.path().join("sim.toml");
    let data = dir.path().join("data");
    // Directory.Read.All: the Connections pane reads grants before it asks Exchange.
    let _served = sim_serve(
        &sim_config,
        dir.path(),
        &["--grant-permission", "Directory.Read.All"],
    );
    // The destination signs in with a device code instead of its secret.
    let body = std::fs::read_to_string(&sim_config).expect("config");
    let config = dir.path().join("device.toml");
    device_code_config(&sim_config, &config);
    let login_url = body
        .lines()
        .find_map(|l| l.strip_prefix("login_url = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("login url")
        .to_string();

    let term = Terminal::start(
        120,
        40,
        &[
            "--config",
            config.to_str().expect("utf8"),
            "--data-dir",
            data.to_str().expect("utf8"),
        ],
    );
    let screen = term.wait_for("device code", |s| s.contains("enter the code"));
    assert!(
        screen.contains("The destination tenant asks for a sign-in to"),
        "{screen}"
    );
    // The code shows in the dashboard's sign-in dialog, which closes once the sign-in is
    // done. One code for the profile: Exchange's client redeems the refresh token Graph's
    // sign-in got (a refresh token is not tied to a resource) instead of asking again.
    let (_, approved) = term.approve_sign_ins(&login_url, "admin", |s| {
        !s.contains("enter the code")
            && s.contains("Users and aliases")
            && s.contains("destination: ok")
    });
    // The destination's Connections pane is read through Exchange: once it shows a reading,
    // Exchange has signed in, and no second code was shown.
    term.keys(&["6"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    term.keys(&["v"]);
    let screen = term.wait_for("the destination's connections read", |s| {
        s.contains("destination tenant ·") && s.lines().any(|l| l.contains("│read "))
    });
    assert!(!screen.contains("enter the code"), "{screen}");
    assert_eq!(
        approved.len(),
        1,
        "one code for Graph and Exchange: {approved:?}"
    );
    term.keys(&["q"]);
    assert_eq!(term.exit_status_within(10), 0);
    for cache in ["destination", "destination-exchange"] {
        let cached =
            std::fs::read_to_string(data.join(format!("tokens/{cache}.json"))).expect("cache");
        assert!(cached.contains("refresh_token"), "{cache}");
    }
}

/// The sim's config with no destination tenant and no `domain`: a domain being freed after
/// cancelling a hoster, the domain given on the command line.
fn source_only_config(sim_config: &Path, out: &Path) {
    let body = std::fs::read_to_string(sim_config).expect("config");
    let (head, _) = body
        .split_once("[tenants.destination]")
        .expect("destination");
    let head: String = head
        .lines()
        .filter(|l| !l.starts_with("domain ="))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(out, head).expect("write");
}

fn one_line_exit_2(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn a_source_only_config_without_domain_works_with_domain_on_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sim = dir.path().join("sim.toml");
    let config = dir.path().join("source-only.toml");
    let data = dir.path().join("data");
    let served = serve_with_config(&sim, dir.path());
    source_only_config(&sim, &config);
    let c = config.to_str().expect("utf8");
    let d = data.to_str().expect("utf8");

    // No domain in the file and none given: config check says what to add.
    let out = run(&["config", "check", c]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("domain is missing"));
    // Given with --domain (either side of the subcommand), the file is fine.
    for args in [
        vec!["--domain", "contoso.example", "config", "check", c],
        vec!["config", "check", c, "--domain", "contoso.example"],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let said = text(&out.stdout);
        assert!(
            said.contains("ok (domain contoso.example from --domain"),
            "{said}"
        );
        assert!(said.contains("destination not configured"), "{said}");
    }

    // The source is there to work with.
    let out = run(&[
        "--config",
        c,
        "--data-dir",
        d,
        "inventory",
        "--tenant",
        "source",
        "--domain",
        "contoso.example",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).lines().count() > 10);
    // Without --domain there is nothing to work on, and the line says where to add it.
    one_line_exit_2(
        &run(&[
            "--config",
            c,
            "--data-dir",
            d,
            "inventory",
            "--tenant",
            "source",
        ]),
        &format!("no domain to work on: add domain = \"contoso.com\" to {c} or pass --domain"),
    );

    // Everything that needs the destination says so in one line.
    let missing = format!("no destination tenant is configured: add [tenants.destination] to {c}");
    let dns = served.info["dns"].as_str().expect("dns").to_string();
    let port = dns.rsplit(':').next().expect("port").to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["login", "--tenant", "destination"],
        vec!["inventory", "--tenant", "destination"],
        vec!["exchange", "recipients", "--tenant", "destination"],
        vec!["exchange", "connectors", "--tenant", "destination"],
        vec![
            "exchange",
            "script",
            "--tenant",
            "destination",
            "--out",
            "never.ps1",
        ],
        vec![
            "dns",
            "contoso.example",
            "--expect-from",
            "destination",
            "--no-system",
            "--resolver",
            &dns,
            "--auth-port",
            &port,
        ],
    ];
    for args in commands {
        let mut all = vec!["--config", c, "--data-dir", d];
        // Signing in needs no domain (and says so when given one).
        if args.first() != Some(&"login") {
            all.extend(["--domain", "contoso.example"]);
        }
        all.extend(args.iter().copied());
        one_line_exit_2(&run(&all), &missing);
    }

    // Who holds the domain: Graph's lookup goes through the source's profile instead.
    let login = served.info["login_url"].as_str().expect("login url");
    let out = run(&[
        "--config",
        c,
        "--data-dir",
        d,
        "owner",
        "contoso.example",
        "--login-url",
        login,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(the configured source tenant)"),
        "{}",
        text(&out.stdout)
    );

    // The dashboard opens on the source alone and says the destination is not configured.
    let term = Terminal::start(
        160,
        40,
        &[
            "--config",
            c,
            "--data-dir",
            d,
            "--domain",
            "contoso.example",
        ],
    );
    let screen = term.wait_for("the source-only dashboard", |s| {
        s.contains("@contoso.example") && s.contains("destination: not configured")
    });
    assert!(screen.contains("not configured"), "{screen}");
    term.keys(&["q"]);
    assert_eq!(term.exit_status_within(10), 0);
    assert!(data.join("audit/contoso.example.jsonl").exists());
}

#[test]
fn an_idn_domain_in_the_config_is_checked_and_shown_in_both_forms() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = std::fs::read_to_string(fixture("valid-secret-env.toml")).expect("fixture");
    let idn = dir.path().join("idn.toml");
    std::fs::write(
        &idn,
        base.replace(
            "domain = \"contoso.example\"",
            "domain = \"bücher.example\"",
        ),
    )
    .expect("write");
    let out = run(&["config", "check", idn.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ok (domain bücher.example (xn--bcher-kva.example)"),
        "{}",
        text(&out.stdout)
    );
    // A bad domain is reported with its line, through the same check.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        base.replace("domain = \"contoso.example\"", "domain = \"a..b\""),
    )
    .expect("write");
    let out = run(&["config", "check", bad.to_str().expect("utf8")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 1: domain: 'a..b' has an empty label"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn domain_on_the_command_line_is_shown_in_both_forms() {
    let f = fixture("valid-secret-env.toml");
    let out = run(&[
        "--domain",
        "bücher.example",
        "config",
        "check",
        f.to_str().expect("utf8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("ok (domain bücher.example (xn--bcher-kva.example) from --domain"),
        "{}",
        text(&out.stdout)
    );
}
