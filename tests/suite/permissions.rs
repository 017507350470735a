//! Permissions on reads, over loopback: the rehearsal refuses every Graph and Exchange route
//! whose permission the token lacks (403 in Microsoft's shape, `$batch` items one by one), its
//! tokens are JWT-shaped with `roles`/`scp` and cannot be forged, and the product answers a
//! 403 with the missing permission and who needs it — in the client, the CLI and the status
//! bar.

use crate::common;

use std::process::Command;
use std::time::Duration;

use cutover::app::pollers::poll_tenant;
use cutover::app::{Action, PollFailure, State, TenantId, update};
use cutover::exchange::{ExchangeClient, ExchangeError, Route};
use cutover::graph::GraphError;
use cutover::graph::batch::BatchRequest;
use cutover::graph::pem::{b64url, b64url_decode};
use cutover::graph::permissions::Missing;
use cutover::plan::Runbook;
use cutover::sim::{Sim, SimOptions};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};

/// A plain HTTP client (reqwest is built without a default TLS crypto provider).
fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn sim() -> Sim {
    Sim::start(SimOptions::default()).await.expect("sim")
}

/// A fresh app-only token for `label`'s app, for `scope`, straight from the token endpoint.
async fn token(sim: &Sim, label: &str, scope: &str) -> String {
    let t = sim.tenant(label).expect("tenant");
    let resp: Value = http()
        .post(format!("{}/{}/oauth2/v2.0/token", sim.login_url(), t.id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", t.client_id.as_str()),
            ("client_secret", t.client_secret.as_str()),
            ("scope", scope),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    resp["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {resp}"))
        .to_string()
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&b64url_decode(payload).expect("base64url")).expect("json")
}

const GRAPH: &str = "https://graph.microsoft.com/.default";
const EXO: &str = "https://outlook.office365.com/.default";

/// Graph's 403: code, message, innerError with date and both ids, and the request-id header.
async fn assert_graph_forbidden(resp: reqwest::Response, what: &str) {
    assert_eq!(resp.status().as_u16(), 403, "{what}");
    let header = resp
        .headers()
        .get("request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{what}: no request-id header"));
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body["error"]["code"], "Authorization_RequestDenied",
        "{what}"
    );
    assert_eq!(
        body["error"]["message"], "Insufficient privileges to complete the operation.",
        "{what}"
    );
    let inner = &body["error"]["innerError"];
    assert_eq!(inner["request-id"], header.as_str(), "{what}");
    assert!(inner["date"].is_string(), "{what}: {body}");
    assert!(inner["client-request-id"].is_string(), "{what}: {body}");
}

#[tokio::test]
async fn the_sim_refuses_each_graph_route_without_its_permission() {
    let sim = sim().await;
    let d = sim.domain().to_string();
    let user = sim.ids("source", "users").expect("users")[0].clone();
    let group = sim.ids("source", "groups").expect("groups")[0].clone();
    // (route, the default grant's permission for it)
    let routes = [
        ("/v1.0/organization".to_string(), "Organization.Read.All"),
        ("/v1.0/domains".to_string(), "Domain.Read.All"),
        (format!("/v1.0/domains/{d}"), "Domain.Read.All"),
        (
            format!("/v1.0/domains/{d}/serviceConfigurationRecords"),
            "Domain.Read.All",
        ),
        (
            format!("/v1.0/domains/{d}/verificationDnsRecords"),
            "Domain.Read.All",
        ),
        (
            format!("/v1.0/domains/{d}/domainNameReferences"),
            "Domain.Read.All",
        ),
        ("/v1.0/users?$top=5".to_string(), "User.Read.All"),
        (format!("/v1.0/users/{user}"), "User.Read.All"),
        ("/v1.0/users/delta".to_string(), "User.Read.All"),
        ("/v1.0/groups".to_string(), "GroupMember.Read.All"),
        (format!("/v1.0/groups/{group}"), "GroupMember.Read.All"),
        ("/v1.0/groups/delta".to_string(), "GroupMember.Read.All"),
        ("/v1.0/contacts".to_string(), "OrgContact.Read.All"),
        ("/v1.0/applications".to_string(), "Application.Read.All"),
        (
            format!(
                "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='{d}')"
            ),
            "CrossTenantInformation.ReadBasic.All",
        ),
    ];
    let http = http();
    for (route, permission) in &routes {
        let url = format!("{}{route}", sim.graph_url());
        // With the full default grant the route answers.
        sim.grant_all_permissions();
        let full = token(&sim, "source", GRAPH).await;
        let ok = http.get(&url).bearer_auth(&full).send().await.expect("get");
        assert_eq!(ok.status().as_u16(), 200, "{route} with the full grant");
        // Without its permission it is refused, for this tenant only.
        sim.deny_permission(&format!("source:{permission}"))
            .expect("deny");
        let lacking = token(&sim, "source", GRAPH).await;
        let roles = claims(&lacking)["roles"].clone();
        assert!(
            !roles
                .as_array()
                .expect("roles")
                .contains(&json!(permission)),
            "{roles}"
        );
        let resp = http
            .get(&url)
            .bearer_auth(&lacking)
            .send()
            .await
            .expect("get");
        assert_graph_forbidden(resp, route).await;
        let other = token(&sim, "destination", GRAPH).await;
        let resp = http
            .get(&url)
            .bearer_auth(&other)
            .send()
            .await
            .expect("get");
        assert_ne!(resp.status().as_u16(), 403, "{route} for the destination");
        // A token issued before the change keeps its permissions until it expires.
        let resp = http.get(&url).bearer_auth(&full).send().await.expect("get");
        assert_eq!(resp.status().as_u16(), 200, "{route} with an older token");
    }
}

#[tokio::test]
async fn batch_items_are_authorized_one_by_one() {
    let sim = sim().await;
    sim.deny_permission("Domain.Read.All").expect("deny");
    let t = token(&sim, "source", GRAPH).await;
    let body = json!({"requests": [
        {"id": "1", "method": "GET", "url": format!("/domains/{}", sim.domain())},
        {"id": "2", "method": "GET", "url": "/users?$top=1"},
    ]});
    let resp = http()
        .post(format!("{}/v1.0/$batch", sim.graph_url()))
        .bearer_auth(&t)
        .json(&body)
        .send()
        .await
        .expect("batch");
    assert_eq!(resp.status().as_u16(), 200);
    let answer: Value = resp.json().await.expect("json");
    let item = |id: &str| {
        answer["responses"]
            .as_array()
            .and_then(|r| r.iter().find(|i| i["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no item {id}: {answer}"))
    };
    assert_eq!(item("1")["status"], 403);
    assert_eq!(
        item("1")["body"]["error"]["code"],
        "Authorization_RequestDenied"
    );
    assert_eq!(item("2")["status"], 200);

    // The product explains the refused item.
    let client = sim.graph_client("source").expect("client");
    let requests = vec![
        BatchRequest::get("a", format!("/domains/{}", sim.domain())),
        BatchRequest::get("b", "/users?$top=1"),
    ];
    let items = client.batch(requests.clone()).await.expect("batch");
    let refused = client
        .batch_item_refusal(&requests[0], &items[0])
        .await
        .expect("403 explained");
    assert!(
        refused
            .to_string()
            .starts_with("forbidden: missing Domain.Read.All (GET /domains/{id})"),
        "{refused}"
    );
    assert!(
        client
            .batch_item_refusal(&requests[1], &items[1])
            .await
            .is_none()
    );
}

#[tokio::test]
async fn tokens_are_jwts_that_cannot_be_forged() {
    let sim = sim().await;
    sim.deny_permission("source:Domain.Read.All").expect("deny");
    let t = token(&sim, "source", GRAPH).await;
    let tenant = sim.tenant("source").expect("tenant");
    let c = claims(&t);
    assert_eq!(c["tid"], tenant.id.as_str());
    assert_eq!(c["appid"], tenant.client_id.as_str());
    assert_eq!(c["aud"], "https://graph.microsoft.com");
    assert!(c["exp"].as_u64().is_some());
    assert!(c["scp"].is_null());
    // Grant ourselves the missing permission by editing the payload: refused as unknown.
    let mut forged = c.clone();
    forged["roles"]
        .as_array_mut()
        .expect("roles")
        .push(json!("Domain.Read.All"));
    let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
    parts[1] = b64url(forged.to_string().as_bytes());
    let resp = http()
        .get(format!("{}/v1.0/domains", sim.graph_url()))
        .bearer_auth(parts.join("."))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status().as_u16(), 401);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    // An Exchange token names Exchange's audience and permission.
    let x = claims(&token(&sim, "source", EXO).await);
    assert_eq!(x["aud"], "https://outlook.office365.com");
    assert!(
        x["roles"]
            .as_array()
            .expect("roles")
            .contains(&json!("Exchange.ManageAsApp"))
    );
}

#[tokio::test]
async fn device_code_tokens_carry_the_consented_scopes() {
    let sim = sim().await;
    sim.set_device_code_timing(Duration::from_secs(1), Duration::from_secs(60));
    sim.deny_permission("destination:User.Read.All")
        .expect("deny");
    let t = sim.tenant("destination").expect("tenant");
    let http = http();
    let code: Value = http
        .post(format!(
            "{}/{}/oauth2/v2.0/devicecode",
            sim.login_url(),
            t.id
        ))
        .form(&[
            ("client_id", t.client_id.as_str()),
            (
                "scope",
                "https://graph.microsoft.com/.default offline_access",
            ),
        ])
        .send()
        .await
        .expect("devicecode")
        .json()
        .await
        .expect("json");
    assert!(sim.decide_device_code(code["user_code"].as_str().expect("code"), true));
    let answer: Value = http
        .post(format!("{}/{}/oauth2/v2.0/token", sim.login_url(), t.id))
        .form(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", t.client_id.as_str()),
            (
                "device_code",
                code["device_code"].as_str().expect("device_code"),
            ),
        ])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let access = answer["access_token"].as_str().expect("access token");
    let c = claims(access);
    let scp = c["scp"].as_str().expect("scp");
    assert!(scp.split(' ').any(|s| s == "Domain.Read.All"), "{scp}");
    assert!(!scp.split(' ').any(|s| s == "User.Read.All"), "{scp}");
    assert!(c["roles"].is_null());
    let resp = http
        .get(format!("{}/v1.0/users", sim.graph_url()))
        .bearer_auth(access)
        .send()
        .await
        .expect("get");
    assert_graph_forbidden(resp, "delegated /users").await;
}

fn exchange(sim: &Sim, label: &str) -> ExchangeClient {
    sim.exchange_client(label).expect("client")
}

#[tokio::test]
async fn exchange_routes_need_their_exchange_permission() {
    let sim = sim().await;
    for (route, permission) in [
        (Route::InvokeCommand, "Exchange.ManageAsApp"),
        (Route::AdminApi("Mailbox"), "Exchange.ManageAsAppV2"),
    ] {
        sim.grant_all_permissions();
        exchange(&sim, "source")
            .invoke(route, "Get-Mailbox", json!({"ResultSize": 1}))
            .await
            .unwrap_or_else(|e| panic!("{route:?} with the full grant: {e}"));
        sim.deny_permission(&format!("source:{permission}"))
            .expect("deny");
        let err = exchange(&sim, "source")
            .invoke(route, "Get-Mailbox", json!({"ResultSize": 1}))
            .await
            .expect_err("refused");
        let ExchangeError::Forbidden {
            refusal,
            request_id,
        } = &err
        else {
            panic!("{route:?}: not Forbidden: {err}");
        };
        assert_eq!(refusal.missing, Missing::Permission(permission.into()));
        assert!(request_id.is_some());
        assert!(
            err.to_string()
                .starts_with(&format!("forbidden: missing {permission} (POST /adminapi/")),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_graph_client_names_the_missing_permission_and_does_not_retry() {
    let sim = sim().await;
    sim.deny_permission("source:Domain.Read.All").expect("deny");
    let client = sim.graph_client("source").expect("client");
    let before = sim.graph_requests();
    let err = client.domain(sim.domain()).await.expect_err("refused");
    assert_eq!(sim.graph_requests() - before, 1, "a 403 is not retried");
    let GraphError::Forbidden {
        refusal,
        code,
        request_id,
    } = &err
    else {
        panic!("not Forbidden: {err}");
    };
    assert_eq!(code, "Authorization_RequestDenied");
    assert_eq!(
        refusal.missing,
        Missing::Permission("Domain.Read.All".into())
    );
    assert!(request_id.is_some());
    let line = err.to_string();
    assert!(
        line.starts_with(
            "forbidden: missing Domain.Read.All (GET /domains/{id}); needed by the Domain status pane"
        ),
        "{line}"
    );
    assert!(!line.contains('\n'));
    // Users are still readable: only what was denied is refused.
    client.users().await.expect("users");
}

#[tokio::test]
async fn the_status_bar_shows_the_tenant_is_forbidden() {
    let sim = sim().await;
    sim.deny_permission("source:Domain.Read.All").expect("deny");
    let client = sim.graph_client("source").expect("client");
    let mut directory = cutover::app::pollers::Directory::default();
    let failure = poll_tenant(&client, sim.domain(), Some(&mut directory))
        .await
        .map(|(snapshot, _)| Box::new(snapshot))
        .map_err(|e| PollFailure::from(&e));
    assert!(failure.is_err());
    let runbook = Runbook::embedded().expect("runbook");
    let now = time::OffsetDateTime::now_utc();
    let mut state = State::new("c1".into(), sim.domain().into(), runbook, now);
    update(
        &mut state,
        Action::TenantPolled {
            tenant: TenantId::Source,
            at: now,
            result: failure,
        },
    );
    let mut terminal = Terminal::new(TestBackend::new(160, 40)).expect("terminal");
    terminal
        .draw(|f| cutover::ui::render(f, &state))
        .expect("draw");
    let buffer = terminal.backend().buffer();
    let last = buffer.area.height - 1;
    let status: String = (0..buffer.area.width)
        .map(|x| buffer[(x, last)].symbol())
        .collect();
    assert!(
        status.contains("source: forbidden: missing Domain.Read.All"),
        "{status}"
    );
}

#[test]
fn inventory_prints_one_line_naming_the_missing_permission() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let data = dir.path().join("data");
    let _served = common::sim_serve(
        &config,
        &data,
        &["--deny-permission", "source:Domain.Read.All"],
    );
    let out = Command::new(common::BIN)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(&data)
        .args(["inventory", "--tenant", "source"])
        .env_remove("CUTOVER_LOG")
        .output()
        .expect("run inventory");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("forbidden: missing Domain.Read.All (GET /domains/{id}/domainNameReferences); needed by the Domain status pane and `cutover inventory`"),
        "{stderr}"
    );
    assert!(!stderr.contains(".ey"), "no token in the error: {stderr}");
}

#[test]
fn a_malformed_deny_permission_is_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(common::BIN)
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "sim",
            "serve",
            "--deny-permission",
            "elsewhere:Domain.Read.All",
        ])
        .env_remove("CUTOVER_LOG")
        .output()
        .expect("run sim serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("elsewhere"), "{stderr}");
}

#[test]
fn owner_reports_the_graph_source_as_forbidden_and_keeps_the_others() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let sim = rt.block_on(sim());
    sim.deny_permission("destination:CrossTenantInformation.ReadBasic.All")
        .expect("deny");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, sim.config_toml()).expect("config");
    let out = Command::new(common::BIN)
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .args(["owner", sim.domain()])
        .env_remove("CUTOVER_LOG")
        .output()
        .expect("run owner");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The anonymous sources still find the holder; the Graph one says what it lacks.
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("FAILED: forbidden: missing CrossTenantInformation.ReadBasic.All"),
        "{stdout}"
    );
}
