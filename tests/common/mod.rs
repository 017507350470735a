//! What several integration tests share: `cutover sim serve` running in the background as its
//! own process, the way a person rehearses, stopped when the test is done; files under a folder;
//! tmux on a private server.

// Each test crate includes this module and uses only part of it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

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

/// A tmux command on its own server (`-L socket`), so tests never meet each other's sessions.
pub fn tmux(socket: &str, args: &[&str]) -> std::process::Output {
    Command::new("tmux")
        .arg("-L")
        .arg(socket)
        .args(args)
        .output()
        .expect("tmux must be installed (.ci/run installs it)")
}
