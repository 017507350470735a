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
