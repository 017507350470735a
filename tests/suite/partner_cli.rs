//! A sign-in by a user of another tenant (a partner's technician): `cutover login` approved in
//! the sim `as=partner` gives tokens whose `idp` names another tenant, and `inventory`,
//! `access`, `plan release` and `plan access` warn on stderr and in the plan. An own admin's
//! sign-in: no warning.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::cli::{ok, said, source_by_device_code};
use crate::common::{self, sim_serve};

fn cutover(config: &Path, data: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(common::BIN);
    c.args(args)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .env_remove("CUTOVER_LOG")
        .stdin(Stdio::null());
    c
}

/// Run cutover, approving in the sim, as `approver`, every device code it shows (a
/// device-code profile signs in once for Graph and once for Exchange).
fn run_approving(
    config: &Path,
    data: &Path,
    login_url: &str,
    args: &[&str],
    approver: &str,
) -> Output {
    let mut child = cutover(config, data, args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cutover");
    let mut stdout = child.stdout.take().expect("stdout");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = std::io::Read::read_to_end(&mut stdout, &mut buf);
        buf
    });
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let err_reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(rest) = line.split("enter the code ").nth(1) {
                let _ = tx.send(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string(),
                );
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        match rx.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(code) => common::approve_device_code(&rt, &http, login_url, &code, approver),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if std::time::Instant::now() > deadline {
                    let _ = child.kill();
                    break;
                }
            }
        }
    }
    let status = child.wait().expect("cutover ends");
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader").into_bytes(),
    }
}

fn login_url(config: &Path) -> String {
    std::fs::read_to_string(config)
        .expect("config")
        .lines()
        .find_map(|l| l.strip_prefix("login_url = \""))
        .and_then(|l| l.strip_suffix('"'))
        .expect("login url")
        .to_string()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `cutover login` approved by `approver`, then the commands that read the tenant, with their
/// outputs: inventory, access, plan release (JSON), plan access (JSON).
fn read_all(config: &Path, data: &Path, approver: &str) -> Vec<(&'static str, Output)> {
    let url = login_url(config);
    ok(&run_approving(
        config,
        data,
        &url,
        &["login", "--tenant", "source"],
        approver,
    ));
    let runs: [(&str, &[&str]); 4] = [
        ("inventory", &["inventory", "--tenant", "source"]),
        ("access", &["access", "--tenant", "source"]),
        ("plan release", &["plan", "release", "--json"]),
        (
            "plan access",
            &["plan", "access", "--tenant", "source", "--json"],
        ),
    ];
    runs.iter()
        .map(|(name, args)| {
            let out = run_approving(config, data, &url, args, approver);
            assert_eq!(out.status.code(), Some(0), "{name}: {}", said(&out));
            (*name, out)
        })
        .collect()
}

/// `cutover sim serve` (20 users; Directory.Read.All for the access reading) with its source
/// signing in by device code: the sim, the config and the data dir.
fn served(dir: &Path) -> (common::Served, std::path::PathBuf, std::path::PathBuf) {
    let sim = sim_serve(
        &dir.join("sim.toml"),
        dir,
        &["--users", "20", "--grant-permission", "Directory.Read.All"],
    );
    (sim, source_by_device_code(dir), dir.join("data"))
}

fn partner_notice(plan_json: &str) -> serde_json::Value {
    let plan: serde_json::Value = serde_json::from_str(plan_json).expect("plan json");
    plan["notices"]
        .as_array()
        .and_then(|n| n.iter().find(|n| n["kind"] == "partner"))
        .cloned()
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn a_partner_technicians_sign_in_is_warned_on_stderr_and_in_the_plans() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_sim, config, data) = served(tmp.path());

    for (name, out) in read_all(&config, &data, "partner") {
        let err = stderr(&out);
        // `cutover login` signed in for Graph; Exchange (access, plan access) redeems its
        // refresh token: no command asks for a code again.
        assert!(!err.contains("enter the code"), "{name}: {err}");
        let warning: Vec<&str> = err
            .lines()
            .filter(|l| l.starts_with("cutover: warning: signed in to the source tenant ("))
            .collect();
        assert_eq!(warning.len(), 1, "{name}: one warning line: {err}");
        let line = warning[0];
        assert!(
            line.contains("as a user of another tenant (")
                && line.contains("sign in as the tenant's own admin"),
            "{name}: {line}"
        );
        // The two ids in the line are different GUIDs; nothing else from the token.
        let ids: Vec<&str> = line
            .split(['(', ')'])
            .filter(|s| s.len() == 36 && s.chars().filter(|c| *c == '-').count() == 4)
            .collect();
        assert_eq!(ids.len(), 2, "{name}: {line}");
        assert_ne!(ids[0], ids[1], "{name}: {line}");
        assert!(!line.contains("technician@"), "{name}: no upn: {line}");
        if name.starts_with("plan") {
            let notice = partner_notice(&String::from_utf8_lossy(&out.stdout));
            let rule = notice["rule"].as_str().unwrap_or_default();
            assert!(
                rule.contains(ids[0]) && rule.contains(ids[1]) && rule.contains("another tenant"),
                "{name}: {notice}"
            );
        }
    }
}

#[test]
fn an_own_admins_sign_in_is_not_warned() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_sim, config, data) = served(tmp.path());
    for (name, out) in read_all(&config, &data, "admin") {
        let err = stderr(&out);
        assert!(!err.contains("another tenant"), "{name}: {err}");
        if name == "plan release" {
            // The general notice stays: cutover still cannot list partners.
            let notice = partner_notice(&String::from_utf8_lossy(&out.stdout));
            let rule = notice["rule"].as_str().unwrap_or_default();
            assert!(
                rule.contains("cannot be read from the customer's side"),
                "{notice}"
            );
        }
        if name == "plan access" {
            assert!(partner_notice(&String::from_utf8_lossy(&out.stdout)).is_null());
        }
    }
}

/// The dashboard against `cutover sim serve`, its source signing in by device code: each code
/// its dialog shows is approved in the sim by a partner's technician; the Domain pane and the
/// status bar say so, and the journal keeps it (both tenant ids, nothing of the token).
#[test]
fn the_dashboard_shows_and_journals_a_partner_technicians_sign_in() {
    use crate::common::Terminal;
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_sim, config, data) = served(tmp.path());
    let url = login_url(&config);
    let tmux = Terminal::dashboard(&config, &data);
    let (screen, approved) = tmux.approve_sign_ins(&url, "partner", |s| {
        let status = s.lines().last().unwrap_or_default();
        !s.contains("enter the code")
            && status.contains("source: ok")
            && status.contains("partner sign-in")
    });
    assert_eq!(
        approved.len(),
        1,
        "one code for Graph and Exchange: {approved:?}"
    );
    assert!(
        screen.contains("sign-in  source: partner or guest of"),
        "{screen}"
    );
    assert!(!screen.contains("destination: partner"), "{screen}");
    tmux.keys(&["q"]);
    assert_eq!(tmux.exit_status_within(10), 0);

    let journal: Vec<serde_json::Value> = common::files_under(&data.join("audit"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .expect("journal")
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect::<Vec<serde_json::Value>>()
        })
        .collect();
    let seen: Vec<&serde_json::Value> = journal
        .iter()
        .filter(|r| r["action"] == "signed in from another tenant")
        .collect();
    assert_eq!(seen.len(), 1, "journaled once: {journal:#?}");
    let details = &seen[0]["details"];
    assert_eq!(seen[0]["tenant"], "source", "{:#}", seen[0]);
    let (tid, home) = (
        details["tenant_id"].as_str().unwrap_or_default(),
        details["home_tenant_id"].as_str().unwrap_or_default(),
    );
    assert!(
        tid.len() == 36 && home.len() == 36 && tid != home,
        "{:#}",
        seen[0]
    );
    let line = seen[0].to_string();
    assert!(
        !line.contains("eyJ") && !line.contains("technician@"),
        "{line}"
    );
}
