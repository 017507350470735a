//! `cutover owner DOMAIN` (alias `whois-tenant`): the real binary against the rehearsal
//! environment on loopback, before and after the domain moves; exit codes and JSON.

use std::path::Path;
use std::process::{Command, Output};

use cutover::sim::{OutsideFault, OutsideRoute, Sim, SimOptions};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// The binary with a private config dir and data dir, so no real configuration is read.
fn run(home: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(home.join("data"))
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env_remove("CUTOVER_CONFIG")
        .output()
        .expect("run cutover")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn json_of(out: &Output) -> Value {
    serde_json::from_str(text(&out.stdout).trim()).expect("one JSON object")
}

/// A config whose two profiles point at the sim (client secrets), as `sim serve` writes one.
fn write_config(sim: &Sim, path: &Path) {
    std::fs::write(path, sim.config_toml()).expect("config");
}

#[test]
fn bad_input_is_one_line_exit_2() {
    let home = tempfile::tempdir().expect("tempdir");
    for args in [
        ["owner", "not a domain"].as_slice(),
        ["owner", "localhost"].as_slice(),
        ["whois-tenant", "a..b"].as_slice(),
        ["owner", "contoso.com", "--login-url", "ftp://x"].as_slice(),
    ] {
        let out = run(home.path(), args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("cutover: "), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A named config that does not exist is bad input too.
    let out = run(
        home.path(),
        &[
            "--config",
            "/nonexistent/cutover.toml",
            "owner",
            "contoso.com",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn owner_follows_the_move_with_exit_codes_and_json() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = rt.block_on(Sim::start(SimOptions::default())).expect("sim");
    let home = tempfile::tempdir().expect("tempdir");
    let domain = sim.domain().to_string();
    let login = sim.login_url();
    let source = sim.tenant("source").expect("source").clone();
    let destination = sim.tenant("destination").expect("destination").clone();

    // No configuration: the two anonymous sources only, through --login-url.
    let out = run(
        home.path(),
        &["owner", &domain, "--login-url", &login, "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["verdict"], "held");
    assert_eq!(v["tenant_id"], source.id.as_str());
    assert_eq!(v["namespace_type"], "Managed");
    assert_eq!(v["configured_as"], "unconfigured");
    let sources = v["sources"].as_array().expect("sources");
    assert_eq!(sources.len(), 3);
    assert_eq!(sources[0]["source"], "openid_configuration");
    assert_eq!(sources[0]["documented"], true);
    assert_eq!(sources[0]["status"], "found");
    assert_eq!(sources[1]["source"], "user_realm");
    assert_eq!(sources[1]["documented"], false);
    assert_eq!(sources[2]["status"], "skipped");

    // With the configuration: Graph answers too and the holder is named as the source.
    let config = home.path().join("sim.toml");
    write_config(&sim, &config);
    let cfg = config.to_str().expect("utf8");
    let out = run(home.path(), &["--config", cfg, "owner", &domain]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("is held by tenant {}", source.id))
            && stdout.contains("the configured source tenant"),
        "{stdout}"
    );
    assert!(stdout.contains("undocumented"), "{stdout}");
    assert!(
        stdout.contains("findTenantInformationByDomainName"),
        "{stdout}"
    );

    // The move: the destination holds it now.
    sim.move_domain("source", "destination").expect("move");
    let out = run(
        home.path(),
        &["--config", cfg, "whois-tenant", &domain, "--json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["tenant_id"], destination.id.as_str());
    assert_eq!(v["configured_as"], "destination");
    assert_eq!(v["sources"][2]["status"], "found");
    assert_eq!(v["sources"][2]["tenant_id"], destination.id.as_str());

    // Released everywhere: held by no tenant, exit 1, with what each source said.
    assert!(sim.release_domain("destination"));
    let out = run(home.path(), &["--config", cfg, "owner", &domain, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v = json_of(&out);
    assert_eq!(v["verdict"], "free");
    assert_eq!(v["sources"][0]["status"], "not_found");
    assert!(
        v["sources"][0]["detail"]
            .as_str()
            .is_some_and(|d| d.contains("AADSTS90002")),
        "{v}"
    );
    assert_eq!(v["namespace_type"], "Unknown");
    assert_eq!(v["sources"][2]["status"], "not_found");

    // Faults on the anonymous sources and nothing found: no conclusion, exit 3, one line.
    sim.set_outside_fault(
        OutsideRoute::OpenidConfiguration,
        Some(OutsideFault::Status(503)),
    );
    let out = run(home.path(), &["owner", &domain, "--login-url", &login]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no conclusion") && err.contains("503"),
        "{err}"
    );
    assert!(
        text(&out.stdout).contains("FAILED"),
        "{}",
        text(&out.stdout)
    );

    rt.block_on(sim.shutdown());
}
