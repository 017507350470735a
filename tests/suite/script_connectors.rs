//! The script route for connectors against `cutover sim serve` in its own process: `cutover
//! exchange script --connectors` writes a guarded removal for each connector that exists only
//! for the domain and none for the unrelated one; the test then plays the admin running the
//! script (the same `Remove-…Connector -Identity N -Confirm:$false` through the sim's Exchange
//! route) while `cutover access --wait-connectors-gone` polls: with one connector left it
//! times out with exit 1 naming it, and once it is gone too it exits 0, each removal journaled
//! as an `observed` line.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Stdio};

use serde_json::{Value, json};

use crate::common::cli::{command, ok, run};
use crate::common::sim_serve;
use cutover::exchange::{ExchangeClient, GLOBAL_EXCHANGE_SCOPE, Route};
use cutover::graph::auth::{Auth, SignIn};

/// The admin's Exchange session: the source tenant's sign-in from `sim serve`'s description.
fn admin(info: &Value) -> ExchangeClient {
    let t = info["tenants"]
        .as_array()
        .expect("tenants")
        .iter()
        .find(|t| t["label"] == "source")
        .expect("source tenant");
    ExchangeClient::new(
        info["exchange_url"].as_str().expect("exchange_url"),
        SignIn {
            login_url: info["login_url"].as_str().expect("login_url").into(),
            tenant: t["id"].as_str().expect("id").into(),
            client_id: t["client_id"].as_str().expect("client_id").into(),
            scope: GLOBAL_EXCHANGE_SCOPE.into(),
            auth: Auth::ClientSecret(t["client_secret"].as_str().expect("secret").into()),
            cache: None,
            warn: None,
        },
    )
    .expect("client")
}

/// What the script does for one connector, with -Apply.
async fn remove(x: &ExchangeClient, direction: &str, name: &str) {
    x.invoke_write(
        Route::InvokeCommand,
        &format!("Remove-{direction}Connector"),
        json!({"Identity": name, "Confirm": false}),
    )
    .await
    .unwrap_or_else(|e| panic!("remove {name}: {e}"));
}

/// `cutover access --wait-connectors-gone --timeout S`, started; its first line (printed
/// once it has read the connectors) names those it waits for.
struct Wait {
    child: Child,
    out: BufReader<ChildStdout>,
    first: String,
}

fn start_wait(dir: &Path, timeout: &str) -> Wait {
    let mut child = command(
        dir,
        &[
            "access",
            "--tenant",
            "source",
            "--wait-connectors-gone",
            "--timeout",
            timeout,
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("spawn the wait");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("a first line");
    Wait { child, out, first }
}

/// Its exit code, the rest of stdout, stderr.
fn finish(mut w: Wait) -> (Option<i32>, String, String) {
    let mut rest = String::new();
    w.out.read_to_string(&mut rest).expect("stdout");
    let mut err = String::new();
    w.child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("stderr");
    let status = w.child.wait().expect("wait");
    (status.code(), rest, err)
}

fn journal(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("data/audit/contoso.example.jsonl")).expect("journal")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_script_removes_the_domains_connectors_and_the_poll_sees_them_gone() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // Directory.Read.All for `cutover plan access`, the comparison.
    let sim = sim_serve(
        &dir.join("sim.toml"),
        &dir.join("data"),
        &["--grant-permission", "Directory.Read.All"],
    );

    // The script: a guarded removal for each connector that exists only for the domain, from
    // the same reading and rules as `cutover plan access`; none for the unrelated one.
    let said = ok(&run(
        dir,
        &[
            "exchange",
            "script",
            "--tenant",
            "source",
            "--out",
            &dir.join("remove.ps1").to_string_lossy(),
            "--connectors",
        ],
    ));
    assert!(said.contains("3 connector(s) to remove by name"), "{said}");
    let ps = std::fs::read_to_string(dir.join("remove.ps1")).expect("script");
    assert!(
        ps.contains(
            "Remove-InboundConnector -Identity 'Relay365 inbound' -Confirm:$false -WhatIf:$WhatIf"
        ),
        "{ps}"
    );
    let removals: Vec<&str> = ps
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("Remove-") && l.contains("-Identity '"))
        .collect();
    assert_eq!(removals.len(), 3, "{removals:#?}");
    assert!(!ps.contains("Litware"), "the unrelated connector: {ps}");
    // The recreate command, for the admin's records, quoted.
    assert!(
        ps.lines().any(
            |l| l.starts_with("#   undo (for your records): New-InboundConnector ")
                && l.contains("-Name 'Relay365 inbound'")
                && l.contains("-SenderIPAddresses '198.51.100.25','198.51.100.26'")
        ),
        "{ps}"
    );
    let plan: Value = serde_json::from_str(&ok(&run(
        dir,
        &[
            "plan",
            "access",
            "--tenant",
            "source",
            "--only",
            "connectors",
            "--json",
        ],
    )))
    .expect("plan");
    let planned: Vec<(String, String)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["before"]["direction"]
                    .as_str()
                    .expect("direction")
                    .to_string(),
                c["target"]["id"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    assert_eq!(planned.len(), 3);
    for (_, name) in &planned {
        assert!(
            removals
                .iter()
                .any(|l| l.contains(&format!("-Identity '{name}'"))),
            "{name} not removed by the script: {removals:#?}"
        );
    }

    // The admin runs it for two of them: the poll sees those two go and times out naming
    // the third.
    let x = admin(&sim.info);
    let wait = start_wait(dir, "8");
    assert!(
        wait.first.starts_with("Waiting for 3 connector(s)"),
        "{}",
        wait.first
    );
    let (kept_dir, kept) = planned[2].clone();
    for (direction, name) in &planned[..2] {
        let dir_word = if direction == "outbound" {
            "Outbound"
        } else {
            "Inbound"
        };
        remove(&x, dir_word, name).await;
    }
    let (code, out, err) = finish(wait);
    assert_eq!(code, Some(1), "stdout: {out}\nstderr: {err}");
    assert!(err.contains(&kept), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let j = journal(dir);
    assert_eq!(j.matches("\"connector gone: Get-").count(), 2, "{j}");
    for (_, name) in &planned[..2] {
        assert!(out.contains(&format!("{name}: connector gone")), "{out}");
    }

    // Then the last one: exit 0, journaled.
    let wait = start_wait(dir, "60");
    assert!(wait.first.contains(&kept), "{}", wait.first);
    let word = if kept_dir == "outbound" {
        "Outbound"
    } else {
        "Inbound"
    };
    remove(&x, word, &kept).await;
    let (code, out, err) = finish(wait);
    assert_eq!(code, Some(0), "stdout: {out}\nstderr: {err}");
    assert!(
        out.contains("No connector in the source tenant names"),
        "{out}"
    );
    assert_eq!(journal(dir).matches("\"connector gone: Get-").count(), 3);

    // Nothing left: at once, exit 0.
    let again = ok(&run(
        dir,
        &[
            "access",
            "--tenant",
            "source",
            "--wait-connectors-gone",
            "--timeout",
            "1",
        ],
    ));
    assert!(again.starts_with("No connector"), "{again}");
}
