//! What several integration tests share: `cutover sim serve` running in the background as its
//! own process, the way a person rehearses, stopped when the test is done; files under a folder;
//! `cutover` in a real terminal (tmux on a private server).

// Some helpers serve only tests that are not always built together.
#![allow(dead_code)]

pub mod cli;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_cutover");

/// A running `cutover sim serve`; killed on drop.
pub struct Served {
    child: Child,
    /// The first line it printed: `graph_url`, `login_url`, `dns`, `tenants`, ….
    pub info: serde_json::Value,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cutover sim serve --json --write-config CONFIG --data-dir DATA EXTRA…`, waiting until it
/// has printed where it listens.
pub fn sim_serve(config: &Path, data: &Path, extra: &[&str]) -> Served {
    let mut child = Command::new(BIN)
        .args(["sim", "serve", "--json", "--write-config"])
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(extra)
        .env_remove("CUTOVER_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("sim serve prints a line");
    let info =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("sim serve said {line:?}: {e}"));
    Served { child, info }
}

/// The journal an interrupted run leaves: an intent for each change, no outcome.
pub fn interrupted_run(path: &Path, plan: &[cutover::plan::change::Change], action: &str) {
    use cutover::audit::{Event, Journal, Kind};
    let mut j = Journal::open(path, "c").expect("journal");
    for c in plan {
        j.append(
            Event::new(Kind::Intent, action)
                .tenant("source")
                .target(&c.target.id)
                .change(c.before.clone(), c.after.clone())
                .details(serde_json::json!({"change": c.id})),
        )
        .expect("intent");
    }
}

/// Every file below `dir`, however deep.
pub fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// `cutover ARGS…` running in a real terminal: a detached tmux session on a tmux server of its
/// own (tests run in parallel and never touch a user's sessions), killed on drop. The shell
/// records cutover's exit status in a file (tmux 3.3 does not always report
/// `#{pane_dead_status}`).
pub struct Terminal {
    socket: String,
    dir: tempfile::TempDir,
}

/// The tmux session's name, for commands such as `resize-window -t`.
pub const SESSION: &str = "cutover";

impl Terminal {
    pub fn start(width: u16, height: u16, args: &[&str]) -> Terminal {
        Terminal::start_after(width, height, "", args)
    }

    /// Like [`Terminal::start`], with shell commands run first in the same shell (limits such
    /// as `ulimit -f`, which cutover inherits).
    pub fn start_after(width: u16, height: u16, shell: &str, args: &[&str]) -> Terminal {
        static SERVERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SERVERS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let socket = format!("cutover-test-{}-{n}", std::process::id());
        let dir = tempfile::tempdir().expect("tempdir");
        let conf = dir.path().join("tmux.conf");
        std::fs::write(&conf, "set -g status off\n").expect("tmux.conf");
        let mut command = format!("{shell}{}", shell_quote(BIN));
        for a in args {
            command.push(' ');
            command.push_str(&shell_quote(a));
        }
        let status = dir.path().join("exit-status");
        let tty = dir.path().join("tty-after");
        // The terminal's modes as cutover left them, recorded before the exit status.
        command.push_str(&format!(
            "; s=$?; stty -a > {} 2>&1; echo $s > {}",
            shell_quote(&tty.display().to_string()),
            shell_quote(&status.display().to_string())
        ));
        let term = Terminal { socket, dir };
        let out = term.run(&[
            "-f",
            &conf.display().to_string(),
            "new-session",
            "-d",
            "-s",
            SESSION,
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
            &command,
        ]);
        assert!(
            out.status.success(),
            "tmux new-session failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        term
    }

    /// `cutover --config CONFIG --data-dir DATA` (the configured dashboard) at 120x40.
    pub fn dashboard(config: &Path, data: &Path) -> Terminal {
        Terminal::start(
            120,
            40,
            &[
                "--config",
                config.to_str().expect("utf8"),
                "--data-dir",
                data.to_str().expect("utf8"),
            ],
        )
    }

    /// A tmux command on this terminal's server.
    pub fn run(&self, args: &[&str]) -> std::process::Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux must be installed (.ci/run installs it)")
    }

    pub fn screen(&self) -> String {
        let out = self.run(&["capture-pane", "-p", "-t", SESSION]);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", SESSION];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success(), "send-keys failed");
    }

    /// Wait until `check` holds on the screen; after 30 s fail with the last screen.
    pub fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen was:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// Approve in the sim, as `approver` (`admin` or `partner`), every device code the
    /// dashboard's sign-in dialog shows (Graph's and Exchange's come one after the other) until
    /// `done` holds on the screen; after 60 s fail with the last screen. Returns that screen
    /// and the codes approved.
    pub fn approve_sign_ins(
        &self,
        login_url: &str,
        approver: &str,
        done: impl Fn(&str) -> bool,
    ) -> (String, Vec<String>) {
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let mut approved: Vec<String> = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let screen = self.screen();
            let code = screen
                .lines()
                .find_map(|l| l.split("enter the code ").nth(1))
                .and_then(|rest| rest.split_whitespace().next())
                .map(str::to_string);
            if let Some(code) = code.filter(|c| !approved.contains(c)) {
                approve_device_code(&rt, &http, login_url, &code, approver);
                approved.push(code);
            }
            if done(&screen) {
                return (screen, approved);
            }
            assert!(
                Instant::now() < deadline,
                "timed out approving sign-ins; screen was:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// cutover's exit status once it has exited.
    pub fn exit_status(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.dir.path().join("exit-status")).ok()?;
        text.trim().parse().ok()
    }

    /// `stty -a` right after cutover exited: raw mode is off again when `icanon` and `echo`
    /// are set.
    pub fn tty_after(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("tty-after")).unwrap_or_default()
    }

    /// Wait (up to `secs`) for cutover to exit and return its status.
    pub fn exit_status_within(&self, secs: u64) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.exit_status() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "cutover did not exit:\n{}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The sim's user (`approver`: `admin`, or `partner` for a partner's technician) approves a
/// device code at `POST /sim/device`, as a person would at the login page.
pub fn approve_device_code(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    login_url: &str,
    code: &str,
    approver: &str,
) {
    let status = rt.block_on(async {
        http.post(format!("{login_url}/sim/device"))
            .form(&[("user_code", code), ("as", approver)])
            .send()
            .await
            .expect("approve")
            .status()
    });
    assert!(status.is_success(), "the sim approved {code}: {status}");
}

/// The sim's config with the destination signing in by device code (so refresh tokens are
/// issued and cached too).
pub fn device_code_config(sim_config: &Path, out: &Path) {
    by_device_code(sim_config, "destination", out);
}

/// `sim_config` written to `out` with the `side` tenant signing in by device code (its client
/// secret dropped), the other sections as they were.
pub fn by_device_code(sim_config: &Path, side: &str, out: &Path) {
    let body = std::fs::read_to_string(sim_config).expect("config");
    let header = format!("[tenants.{side}]");
    let (head, rest) = body.split_once(&header).expect("the tenant's section");
    let (section, tail) = rest
        .split_once("\n[tenants.")
        .map(|(s, t)| (s.to_string(), format!("\n[tenants.{t}")))
        .unwrap_or((rest.to_string(), String::new()));
    let section: String = section
        .lines()
        .filter(|l| !l.starts_with("client_secret"))
        .map(|l| {
            if l.starts_with("auth") {
                "auth = \"device-code\"\n".to_string()
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(out, format!("{head}{header}{section}{tail}")).expect("write");
}

/// One secondary alias in `domain` from each of `n` recipients (mailboxes and groups) of the
/// client's tenant, skipping the first `skip`: a removal plan for the executor's tests.
pub async fn alias_removals(
    x: &cutover::exchange::ExchangeClient,
    domain: &str,
    skip: usize,
    n: usize,
) -> Vec<cutover::plan::change::Change> {
    use cutover::plan::change::{Change, Target};
    let holding = x.recipients_in(domain).await.expect("recipients").items;
    let plan: Vec<Change> = holding
        .iter()
        .filter_map(|r| {
            let cmdlet = r.kind().set_cmdlet()?;
            let alias = r
                .email_addresses
                .iter()
                .find(|a| a.starts_with("smtp:") && a.ends_with(&format!("@{domain}")))?;
            Some(Change::remove_addresses(
                "source",
                cmdlet,
                Target {
                    id: r.primary_smtp_address.clone(),
                    display: r.display_name.clone(),
                },
                std::slice::from_ref(alias),
            ))
        })
        .skip(skip)
        .take(n)
        .collect();
    assert_eq!(
        plan.len(),
        n,
        "the sim has {n} recipients with a secondary alias beyond the first {skip}"
    );
    plan
}

/// The dashboard drawn from `state` on a `TestBackend` of `width` x `height`: one line a row,
/// trailing blanks cut, a wide character's spill cell left out (as a terminal shows it).
pub fn draw(state: &cutover::app::state::State, width: u16, height: u16) -> String {
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(width, height))
        .expect("terminal");
    terminal
        .draw(|f| cutover::ui::render(f, state))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let mut out = String::new();
    for y in 0..buffer.area.height {
        let mut line = String::new();
        let mut spill = 0;
        for x in 0..buffer.area.width {
            if spill > 0 {
                spill -= 1;
                continue;
            }
            let symbol = buffer[(x, y)].symbol();
            spill = cutover::ui::width(symbol).saturating_sub(1);
            line.push_str(symbol);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
