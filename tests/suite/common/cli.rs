//! `cutover` run as a command against a folder that holds `sim.toml` (written by
//! `sim serve --write-config`) and `data/`, and what its exit says.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use super::BIN;

/// `cutover ARGS --config DIR/sim.toml --data-dir DIR/data`, stdin closed, no trace filter
/// from the environment.
pub fn command(dir: &Path, args: &[&str]) -> Command {
    command_with(dir, "sim.toml", args)
}

/// [`command`] with another config file in `dir`.
pub fn command_with(dir: &Path, config: &str, args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(args)
        .arg("--config")
        .arg(dir.join(config))
        .arg("--data-dir")
        .arg(dir.join("data"))
        .env_remove("CUTOVER_LOG")
        .stdin(Stdio::null());
    c
}

/// Run [`command`] to its end.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    command(dir, args).output().expect("run cutover")
}

/// The exit code and both outputs, for assertion messages.
pub fn said(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Exit 0, or the test fails saying why; stdout.
pub fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", said(out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Exit 2 with one line on stderr that says `says`, and no panic.
pub fn one_line_exit_2(out: &Output, says: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", said(out));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(says), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// A config like `sim.toml` whose source tenant signs in with a device code, as `device.toml`.
pub fn source_by_device_code(dir: &Path) -> std::path::PathBuf {
    let out = dir.join("device.toml");
    super::by_device_code(&dir.join("sim.toml"), "source", &out);
    out
}
