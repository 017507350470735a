//! A whole session with known secrets, then a search of every file cutover wrote: `sim serve
//! --write-config` in one process (logging at debug), then `cutover login` (client secret and
//! device code), `inventory`, `dns --config`, the dashboard in a real terminal (tmux) and the
//! `audit` commands, each logging at trace. No log, audit line, snapshot, export or report may
//! hold a client secret or any access or refresh token the sim issued; only the token cache
//! does, and it is private (0600).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::common;
use common::{BIN, Served, Terminal, device_code_config, files_under, sim_serve};

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// reqwest is built without a bundled TLS provider; the product installs ring, so do tests.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Everything the session needs: where the sim is, the configs, the data dir.
struct Session {
    dir: tempfile::TempDir,
    data: PathBuf,
    config: PathBuf,
    login_url: String,
    secrets: Vec<String>,
    /// Access and refresh tokens seen in the cache after any step.
    tokens: BTreeSet<String>,
    /// What the commands printed (scanned for tokens too).
    printed: Vec<(String, String)>,
}

impl Session {
    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn cutover(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.args(args)
            .arg("--config")
            .arg(&self.config)
            .arg("--data-dir")
            .arg(&self.data)
            .arg("--log-filter")
            .arg("trace")
            .env_remove("CUTOVER_CONFIG")
            .env_remove("CUTOVER_LOG");
        c
    }

    /// Run a command to its end, keep what it printed, and gather the cached tokens.
    fn run(&mut self, args: &[&str], ok: &[i32]) -> Output {
        let out = self.cutover(args).output().expect("run cutover");
        let code = out.status.code().unwrap_or(-1);
        assert!(
            ok.contains(&code),
            "{args:?} exited {code}: {}",
            text(&out.stderr)
        );
        self.printed.push((args.join(" "), text(&out.stdout)));
        self.printed.push((args.join(" "), text(&out.stderr)));
        self.gather_tokens();
        out
    }

    fn gather_tokens(&mut self) {
        for f in files_under(&self.data.join("tokens")) {
            let Ok(v) = serde_json::from_slice::<serde_json::Value>(
                &std::fs::read(&f).expect("read cache"),
            ) else {
                continue;
            };
            for key in ["access_token", "refresh_token"] {
                if let Some(t) = v[key].as_str().filter(|t| !t.is_empty()) {
                    self.tokens.insert(t.to_string());
                }
            }
        }
    }
}

fn start_sim(dir: &Path) -> (Served, serde_json::Value, PathBuf) {
    let sim_config = dir.join("sim.toml");
    let served = sim_serve(
        &sim_config,
        &dir.join("sim-data"),
        &["--log-filter", "debug"],
    );
    let info = served.info.clone();
    (served, info, sim_config)
}

/// `cutover login --tenant destination` by device code: read the code from stderr and approve
/// it through the sim-only route, as the sim's user would at the device login page.
fn device_code_login(s: &mut Session) {
    let mut child = s
        .cutover(&["login", "--tenant", "destination"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn login");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut prompt = String::new();
    let code = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).expect("stderr") > 0,
            "no device code: {prompt}"
        );
        prompt.push_str(&line);
        if let Some(rest) = line.split("enter the code ").nth(1) {
            break rest.split_whitespace().next().expect("code").to_string();
        }
    };
    let url = format!("{}/sim/device", s.login_url);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let approved = rt.block_on(async {
        http_client()
            .post(url)
            .form(&[("user_code", code.as_str())])
            .send()
            .await
            .expect("approve")
            .status()
    });
    assert!(approved.is_success());
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("stderr");
    let out = child.wait_with_output().expect("login");
    assert_eq!(out.status.code(), Some(0), "{prompt}{rest}");
    s.printed
        .push(("login destination".into(), text(&out.stdout)));
    s.printed
        .push(("login destination".into(), format!("{prompt}{rest}")));
    s.gather_tokens();
}

/// The dashboard in a real terminal for a few seconds, then `q`.
fn dashboard(s: &mut Session) {
    let term = Terminal::start(
        140,
        45,
        &[
            "--config",
            s.config.to_str().expect("utf8"),
            "--data-dir",
            s.data.to_str().expect("utf8"),
            "--log-filter",
            "trace",
        ],
    );
    term.wait_for("the dashboard", |screen| {
        screen.contains("Users and aliases") && screen.contains("@contoso.example")
    });
    // A few poll rounds (Graph every 5 s, DNS every 3 s) and a filter, which is journaled.
    std::thread::sleep(Duration::from_secs(6));
    let screen = term.screen();
    term.keys(&["q"]);
    assert_eq!(term.exit_status_within(10), 0, "{screen}");
    s.printed.push(("dashboard".into(), screen));
    s.gather_tokens();
}

#[test]
fn no_file_of_a_whole_session_holds_a_secret_or_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_served, info, sim_config) = start_sim(dir.path());
    let config = dir.path().join("session.toml");
    device_code_config(&sim_config, &config);
    let secrets: Vec<String> = info["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .map(|t| t["client_secret"].as_str().expect("secret").to_string())
        .collect();
    assert_eq!(secrets.len(), 2);
    let mut s = Session {
        data: dir.path().join("data"),
        config,
        login_url: info["login_url"].as_str().expect("login url").to_string(),
        secrets,
        tokens: BTreeSet::new(),
        printed: Vec::new(),
        dir,
    };

    s.run(&["login", "--tenant", "source"], &[0]);
    device_code_login(&mut s);
    let inventory = s.run(
        &[
            "inventory",
            "--tenant",
            "source",
            "--domain",
            "contoso.example",
            "--json",
        ],
        &[0],
    );
    assert!(text(&inventory.stdout).lines().count() > 10);
    // The DNS check against the sim's nameserver, expected records from the source tenant (a Graph call with the cached token); 0 all match, 1 some do not.
    let dns = info["dns"].as_str().expect("dns address").to_string();
    let port = dns.rsplit(':').next().expect("port").to_string();
    s.run(
        &[
            "dns",
            "contoso.example",
            "--resolver",
            &dns,
            "--no-system",
            "--auth-port",
            &port,
            "--expect-from",
            "source",
            "--json",
        ],
        &[0, 1],
    );
    dashboard(&mut s);
    std::fs::create_dir_all(s.data.join("exports")).expect("exports dir");
    s.run(&["audit", "verify"], &[0]);
    s.run(&["audit", "show"], &[0]);
    let csv = s.path("data/exports/audit.csv");
    s.run(&["audit", "export", "--csv", "--out", &csv], &[0]);
    let json = s.path("data/exports/audit.json");
    s.run(&["audit", "export", "--json", "--out", &json], &[0]);
    let md = s.path("data/exports/report.md");
    s.run(&["audit", "report", "--out", &md], &[0]);
    let html = s.path("data/exports/report.html");
    s.run(&["audit", "report", "--out", &html], &[0]);

    // Both profiles' tokens were cached: the source's access token, the destination's access
    // and refresh tokens.
    assert!(s.tokens.len() >= 3, "{} tokens cached", s.tokens.len());
    for side in ["source", "destination"] {
        let cache = s.data.join(format!("tokens/{side}.json"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&cache)
                .expect("cache")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{}", cache.display());
        }
        #[cfg(not(unix))]
        assert!(cache.exists());
    }
    let cached = std::fs::read_to_string(s.data.join("tokens/destination.json")).expect("cache");
    assert!(cached.contains("refresh_token"));

    // Every file cutover wrote, the sim's trace log included; the token cache aside.
    let mut scanned = Vec::new();
    let tokens_dir = s.data.join("tokens");
    for f in files_under(&s.data)
        .into_iter()
        .chain(files_under(&s.dir.path().join("sim-data")))
    {
        if f.starts_with(&tokens_dir) {
            continue;
        }
        let content = text(&std::fs::read(&f).expect("read"));
        for secret in &s.secrets {
            assert!(
                !content.contains(secret),
                "a client secret in {}",
                f.display()
            );
        }
        for token in &s.tokens {
            assert!(!content.contains(token), "a token in {}", f.display());
        }
        scanned.push(f);
    }
    for (command, printed) in &s.printed {
        for token in &s.tokens {
            assert!(!printed.contains(token), "a token printed by {command}");
        }
        for secret in &s.secrets {
            assert!(!printed.contains(secret), "a secret printed by {command}");
        }
    }
    // The scan covered what a session writes: trace logs (cutover's and the sim's at debug),
    // the audit journal, the DNS snapshot, exports and reports.
    let has = |part: &str| {
        scanned
            .iter()
            .any(|f| f.to_string_lossy().replace('\\', "/").contains(part))
    };
    for part in [
        "data/logs/",
        "sim-data/logs/",
        "data/audit/contoso.example.jsonl",
        "data/snapshots/",
        "data/exports/audit.csv",
        "data/exports/report.html",
    ] {
        assert!(has(part), "nothing scanned under {part}: {scanned:?}");
    }
    let sim_log: usize = files_under(&s.dir.path().join("sim-data/logs"))
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len() as usize).unwrap_or(0))
        .sum();
    assert!(sim_log > 0, "the sim logged at debug");
}
