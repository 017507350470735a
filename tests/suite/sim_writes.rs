//! The rehearsal's write routes over real HTTP: each refusal in Microsoft's shape, domain
//! removal completing after the configured delay, forceDelete's limits and
//! `disableUserAccounts`, the per-object mutation counters, and both write faults (503 before
//! applying; applied, then the connection cut without an answer).

use std::time::Duration;

use cutover::sim::{Sim, SimOptions, WRITE_PERMISSIONS};
use serde_json::{Value, json};

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn sim_with(users: usize, grant: bool) -> Sim {
    Sim::start(SimOptions {
        users,
        grant_permissions: if grant {
            WRITE_PERMISSIONS.iter().map(|p| p.to_string()).collect()
        } else {
            Vec::new()
        },
        domain_removal_delay: Duration::from_millis(400),
        ..SimOptions::default()
    })
    .await
    .expect("sim")
}

async fn token(sim: &Sim, label: &str) -> String {
    let t = sim.tenant(label).expect("tenant");
    let resp: Value = http()
        .post(format!("{}/{}/oauth2/v2.0/token", sim.login_url(), t.id))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", t.client_id.as_str()),
            ("client_secret", t.client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .expect("token request")
        .json()
        .await
        .expect("token json");
    resp["access_token"].as_str().expect("token").to_string()
}

/// Send one Graph request; `None` when the connection ended without an answer.
async fn send(
    sim: &Sim,
    label: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Option<(u16, Value)> {
    let tok = token(sim, label).await;
    let mut req = http()
        .request(method, format!("{}/v1.0{path}", sim.graph_url()))
        .bearer_auth(tok);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.ok()?;
    let status = resp.status().as_u16();
    let text = resp.text().await.ok()?;
    Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

async fn must(
    sim: &Sim,
    label: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    send(sim, label, method, path, body)
        .await
        .expect("an answer")
}

fn assert_refused(got: &(u16, Value), status: u16, code: &str, words: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    let message = got.1["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "{message}");
    assert!(got.1["error"]["innerError"]["request-id"].is_string());
}

async fn user(sim: &Sim, label: &str, id: &str) -> Value {
    must(
        sim,
        label,
        reqwest::Method::GET,
        &format!("/users/{id}?$select=userPrincipalName,mail,proxyAddresses,accountEnabled"),
        None,
    )
    .await
    .1
}

/// Make the source tenant's `domain` its default (so the custom domain can be removed), and
/// check Graph said yes.
async fn make_default(sim: &Sim, domain: &str) {
    let got = must(
        sim,
        "source",
        M::PATCH,
        &format!("/domains/{domain}"),
        Some(json!({"isDefault": true})),
    )
    .await;
    assert_eq!(got.0, 204, "{}", got.1);
}

/// The generated multitenant application (Intranet) made single-tenant, so forceDelete may
/// rename its URIs.
async fn intranet_single_tenant(sim: &Sim) {
    let apps = must(
        sim,
        "source",
        M::GET,
        "/applications?$select=id,displayName,signInAudience",
        None,
    )
    .await
    .1;
    let intranet = apps["value"]
        .as_array()
        .expect("apps")
        .iter()
        .find(|a| a["displayName"] == "Intranet")
        .expect("Intranet");
    assert_eq!(intranet["signInAudience"], "AzureADMultipleOrgs");
    let id = intranet["id"].as_str().expect("id");
    assert!(sim.set_application_multitenant("source", id, false));
}

fn first_user(sim: &Sim) -> String {
    sim.ids("source", "users").expect("ids")[0].clone()
}

use reqwest::Method as M;

#[tokio::test]
async fn writes_need_the_write_permission() {
    let sim = sim_with(5, false).await;
    let id = first_user(&sim);
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"displayName": "X"})),
    )
    .await;
    assert_refused(
        &got,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges",
    );
    let got = must(
        &sim,
        "source",
        M::DELETE,
        &format!("/domains/{}", sim.domain()),
        None,
    )
    .await;
    assert_refused(
        &got,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges",
    );
    assert_eq!(sim.mutations().total, 0);
}

#[tokio::test]
async fn upn_changes_are_checked_and_recalculate_addresses() {
    let sim = sim_with(5, true).await;
    let id = first_user(&sim);
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"userPrincipalName": "a@unverified.example"})),
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "verified domain names");
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"proxyAddresses": []})),
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "read-only");
    assert_eq!(sim.mutations().total, 0, "refusals change nothing");

    let before = user(&sim, "source", &id).await;
    let old = before["userPrincipalName"]
        .as_str()
        .expect("upn")
        .to_string();
    let local = old.split_once('@').expect("@").0;
    let new = format!("{local}@{initial}");
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"userPrincipalName": new})),
    )
    .await;
    assert_eq!(got.0, 204, "{}", got.1);
    let after = user(&sim, "source", &id).await;
    assert_eq!(after["userPrincipalName"], new.as_str());
    assert_eq!(after["mail"], new.as_str());
    let proxies: Vec<&str> = after["proxyAddresses"]
        .as_array()
        .expect("proxies")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        proxies.contains(&format!("SMTP:{new}").as_str()),
        "{proxies:?}"
    );
    assert!(
        proxies.contains(&format!("smtp:{old}").as_str()),
        "old primary stays as an alias: {proxies:?}"
    );
    assert_eq!(sim.mutations().of("source", &id), 1);
    // The same value again changes nothing and is not counted.
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"userPrincipalName": new})),
    )
    .await;
    assert_eq!(got.0, 204);
    assert_eq!(sim.mutations().of("source", &id), 1);

    let other = sim.ids("source", "users").expect("ids")[1].clone();
    assert!(sim.set_user_synced("source", &other, true));
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{other}"),
        Some(json!({"accountEnabled": false})),
    )
    .await;
    assert_refused(
        &got,
        400,
        "Request_BadRequest",
        "on-premises mastered Directory Sync objects",
    );
}

#[tokio::test]
async fn a_referenced_domain_is_not_removed_and_removal_completes_later() {
    let sim = sim_with(5, true).await;
    let domain = sim.domain().to_string();
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    let got = must(
        &sim,
        "source",
        M::DELETE,
        &format!("/domains/{domain}"),
        None,
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "default domain");
    make_default(&sim, &initial).await;
    let got = must(
        &sim,
        "source",
        M::DELETE,
        &format!("/domains/{domain}"),
        None,
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "still reference it");

    // The destination's unverified copy references nothing: accepted, gone after the delay.
    let got = must(
        &sim,
        "destination",
        M::DELETE,
        &format!("/domains/{domain}"),
        None,
    )
    .await;
    assert_eq!(got.0, 204, "{}", got.1);
    let graph = sim.graph_client("destination").expect("client");
    assert!(
        graph.domain(&domain).await.expect("get").is_some(),
        "still there while removal runs"
    );
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        graph.domain(&domain).await.expect("get").is_none(),
        "404 once removed"
    );
    assert_eq!(sim.mutations().of("destination", &domain), 1);
}

#[tokio::test]
async fn adding_and_verifying_follow_the_other_tenant_and_the_live_txt() {
    let sim = sim_with(5, true).await;
    let domain = sim.domain().to_string();
    assert!(sim.release_domain("destination"));
    let got = must(
        &sim,
        "destination",
        M::POST,
        "/domains",
        Some(json!({"id": domain})),
    )
    .await;
    assert_refused(
        &got,
        400,
        "Request_BadRequest",
        "already verified in another organization",
    );
    assert!(sim.release_domain("source"));
    let got = must(
        &sim,
        "destination",
        M::POST,
        "/domains",
        Some(json!({"id": domain})),
    )
    .await;
    assert_eq!(got.0, 201, "{}", got.1);
    assert_eq!(got.1["isVerified"], false);
    // The zone still serves the source's MS=ms… value: verification fails.
    let got = must(
        &sim,
        "destination",
        M::POST,
        &format!("/domains/{domain}/verify"),
        None,
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "was not found");
    let graph = sim.graph_client("destination").expect("client");
    let records = graph
        .verification_dns_records(&domain)
        .await
        .expect("records");
    let txt = records
        .iter()
        .find_map(|r| r.text.clone())
        .expect("a TXT record");
    sim.set_dns_records("@", "TXT", 300, &[txt.as_str()])
        .expect("publish");
    let got = must(
        &sim,
        "destination",
        M::POST,
        &format!("/domains/{domain}/verify"),
        None,
    )
    .await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["isVerified"], true);
    assert_eq!(
        sim.mutations().of("destination", &domain),
        2,
        "added and verified"
    );
}

#[tokio::test]
async fn force_delete_renames_and_honours_disable_user_accounts() {
    let sim = sim_with(5, true).await;
    let domain = sim.domain().to_string();
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    let got = must(
        &sim,
        "source",
        M::POST,
        &format!("/domains/{domain}/forceDelete"),
        Some(json!({"disableUserAccounts": false})),
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "default domain");
    make_default(&sim, &initial).await;
    assert!(sim.set_domain_federated("source", &domain, true));
    let got = must(
        &sim,
        "source",
        M::POST,
        &format!("/domains/{domain}/forceDelete"),
        Some(json!({})),
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "Federated");
    assert!(sim.set_domain_federated("source", &domain, false));
    // The generated Intranet application is multitenant and its URIs name the domain.
    let got = must(
        &sim,
        "source",
        M::POST,
        &format!("/domains/{domain}/forceDelete"),
        Some(json!({"disableUserAccounts": false})),
    )
    .await;
    assert_refused(
        &got,
        400,
        "Request_BadRequest",
        "multi-tenant application 'Intranet'",
    );
    assert_eq!(sim.mutations().total, 1, "only the default domain changed");
    intranet_single_tenant(&sim).await;

    let id = first_user(&sim);
    let got = must(
        &sim,
        "source",
        M::POST,
        &format!("/domains/{domain}/forceDelete"),
        Some(json!({"disableUserAccounts": false})),
    )
    .await;
    assert_eq!(got.0, 204, "{}", got.1);
    let d = must(&sim, "source", M::GET, &format!("/domains/{domain}"), None)
        .await
        .1;
    assert_eq!(d["state"]["operation"], "ForceDelete", "{d}");
    assert_eq!(d["state"]["status"], "InProgress");
    let u = user(&sim, "source", &id).await;
    assert!(
        u["userPrincipalName"]
            .as_str()
            .expect("upn")
            .ends_with(&format!("@{initial}")),
        "{u}"
    );
    assert_eq!(
        u["accountEnabled"], true,
        "disableUserAccounts false keeps users enabled"
    );
    assert!(!u.to_string().contains(&format!("@{domain}")), "{u}");
    tokio::time::sleep(Duration::from_millis(900)).await;
    let got = must(&sim, "source", M::GET, &format!("/domains/{domain}"), None).await;
    assert_eq!(got.0, 404);
    assert_eq!(sim.mutations().of("source", &id), 1);
}

#[tokio::test]
async fn force_delete_defaults_to_disabling_renamed_users() {
    let sim = sim_with(5, true).await;
    intranet_single_tenant(&sim).await;
    let domain = sim.domain().to_string();
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    make_default(&sim, &initial).await;
    let got = must(
        &sim,
        "source",
        M::POST,
        &format!("/domains/{domain}/forceDelete"),
        None,
    )
    .await;
    assert_eq!(got.0, 204, "{}", got.1);
    let u = user(&sim, "source", &first_user(&sim)).await;
    assert_eq!(
        u["accountEnabled"], false,
        "Graph's default disables renamed users"
    );
}

#[tokio::test]
async fn force_delete_is_refused_beyond_a_thousand_objects() {
    let sim = sim_with(1200, true).await;
    let domain = sim.domain().to_string();
    let initial = sim.tenant("source").expect("source").initial_domain.clone();
    make_default(&sim, &initial).await;
    let got = must(
        &sim,
        "source",
        M::POST,
        &format!("/domains/{domain}/forceDelete"),
        Some(json!({"disableUserAccounts": false})),
    )
    .await;
    assert_refused(&got, 400, "Request_BadRequest", "limit of 1000");
}

#[tokio::test]
async fn write_faults_fail_before_or_cut_after_applying() {
    let sim = sim_with(5, true).await;
    let id = first_user(&sim);
    sim.set_write_faults(1.0, 0.0);
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"displayName": "Failed"})),
    )
    .await;
    assert_eq!(got.0, 503, "{}", got.1);
    sim.set_write_faults(0.0, 0.0);
    let u = must(
        &sim,
        "source",
        M::GET,
        &format!("/users/{id}?$select=displayName"),
        None,
    )
    .await
    .1;
    assert_ne!(u["displayName"], "Failed", "not applied");
    assert_eq!(sim.mutations().of("source", &id), 0);

    sim.set_write_faults(0.0, 1.0);
    let got = send(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"displayName": "Dropped"})),
    )
    .await;
    assert!(got.is_none(), "no answer: {got:?}");
    sim.set_write_faults(0.0, 0.0);
    let u = must(
        &sim,
        "source",
        M::GET,
        &format!("/users/{id}?$select=displayName"),
        None,
    )
    .await
    .1;
    assert_eq!(u["displayName"], "Dropped", "applied although unanswered");
    let m = sim.mutations();
    assert_eq!(m.of("source", &id), 1);
    assert_eq!((m.failed, m.dropped), (1, 1));
}

#[tokio::test]
async fn batch_items_go_through_the_write_routes() {
    let sim = sim_with(5, true).await;
    let ids = sim.ids("source", "users").expect("ids");
    let body = json!({"requests": [
        {"id": "1", "method": "PATCH", "url": format!("/users/{}", ids[0]), "headers": {"Content-Type": "application/json"}, "body": {"displayName": "One"}},
        {"id": "2", "method": "PATCH", "url": format!("/users/{}", ids[1]), "headers": {"Content-Type": "application/json"}, "body": {"userPrincipalName": "x@unverified.example"}},
    ]});
    let got = must(&sim, "source", M::POST, "/$batch", Some(body)).await;
    assert_eq!(got.0, 200, "{}", got.1);
    let responses = got.1["responses"].as_array().expect("responses");
    let status = |id: &str| {
        responses
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status("1"), Some(json!(204)));
    assert_eq!(status("2"), Some(json!(400)));
    assert_eq!(sim.mutations().of("source", &ids[0]), 1);
    assert_eq!(sim.mutations().total, 1);
}

/// `PATCH /applications/{id}` `identifierUris`: Application.ReadWrite.All needed; a host not
/// verified in the tenant, another application's URI, another app's `api://<appId>` and other
/// properties refused in Microsoft's shape; `api://<own appId>` accepted, read back through
/// `GET /applications/{id}`, counted once.
#[tokio::test]
async fn application_identifier_uris_follow_microsofts_rules() {
    let sim = sim_with(5, false).await;
    let apps = must(
        &sim,
        "source",
        M::GET,
        "/applications?$select=id,appId,displayName,identifierUris",
        None,
    )
    .await
    .1;
    let app = |name: &str| {
        apps["value"]
            .as_array()
            .expect("apps")
            .iter()
            .find(|a| a["displayName"] == name)
            .cloned()
            .expect("app")
    };
    let (intranet, payroll) = (app("Intranet"), app("Payroll"));
    let id = intranet["id"].as_str().expect("id").to_string();
    let app_id = intranet["appId"].as_str().expect("appId").to_string();
    let path = format!("/applications/{id}");
    let set = |uris: Value| Some(json!({ "identifierUris": uris }));
    let got = must(&sim, "source", M::PATCH, &path, set(json!([]))).await;
    assert_refused(
        &got,
        403,
        "Authorization_RequestDenied",
        "Insufficient privileges",
    );

    let sim = sim_with(5, true).await;
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &path,
        set(json!(["https://app.fabrikam.example/x"])),
    )
    .await;
    assert_refused(
        &got,
        400,
        "HostNameNotOnVerifiedDomain",
        "must use a verified domain",
    );
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &path,
        set(payroll["identifierUris"].clone()),
    )
    .await;
    assert_refused(
        &got,
        400,
        "Request_BadRequest",
        "same value for property identifierUris",
    );
    let other = format!("api://{}", payroll["appId"].as_str().expect("appId"));
    let got = must(&sim, "source", M::PATCH, &path, set(json!([other]))).await;
    assert_refused(&got, 400, "HostNameNotOnVerifiedDomain", &other);
    let got = must(
        &sim,
        "source",
        M::PATCH,
        &path,
        Some(json!({"displayName": "X"})),
    )
    .await;
    assert_refused(&got, 400, "BadRequest", "displayName");
    let got = must(
        &sim,
        "source",
        M::PATCH,
        "/applications/nope",
        set(json!([])),
    )
    .await;
    assert_refused(&got, 404, "Request_ResourceNotFound", "nope");
    assert_eq!(sim.mutations().total, 0, "nothing refused was applied");

    let own = format!("api://{app_id}");
    let got = must(&sim, "source", M::PATCH, &path, set(json!([own]))).await;
    assert_eq!(got.0, 204, "{}", got.1);
    let read = must(
        &sim,
        "source",
        M::GET,
        &format!("{path}?$select=id,identifierUris"),
        None,
    )
    .await;
    assert_eq!(read.0, 200, "{}", read.1);
    assert_eq!(read.1["identifierUris"], json!([own]));
    assert_eq!(sim.mutations().of("source", &id), 1);
    // The same list again changes nothing and counts nothing.
    let got = must(&sim, "source", M::PATCH, &path, set(json!([own]))).await;
    assert_eq!(got.0, 204, "{}", got.1);
    assert_eq!(sim.mutations().of("source", &id), 1);
}

/// `cloud_only`: no synced user or group in either tenant; by default some are.
#[tokio::test]
async fn cloud_only_tenants_have_no_synced_objects() {
    for cloud_only in [false, true] {
        let sim = Sim::start(SimOptions {
            users: 60,
            cloud_only,
            ..SimOptions::default()
        })
        .await
        .expect("sim");
        let mut synced = 0;
        for label in ["source", "destination"] {
            for collection in ["users", "groups"] {
                let got = must(
                    &sim,
                    label,
                    M::GET,
                    &format!("/{collection}?$select=id,onPremisesSyncEnabled&$top=999"),
                    None,
                )
                .await;
                assert_eq!(got.0, 200, "{}", got.1);
                synced += got.1["value"]
                    .as_array()
                    .expect("value")
                    .iter()
                    .filter(|o| o["onPremisesSyncEnabled"] == json!(true))
                    .count();
            }
        }
        assert_eq!(
            synced == 0,
            cloud_only,
            "{synced} synced, cloud_only {cloud_only}"
        );
    }
}

/// `Set-MailContact` over InvokeCommand with Exchange's rules: resolved by id or any address,
/// only mail contacts (not a mailbox), hashtable Add/Remove, the primary and the external
/// address kept, counted per contact; `Get-MailContact` / `Get-Recipient` read the result and
/// Graph's `/contacts` shows it.
#[tokio::test]
async fn set_mail_contact_follows_exchanges_rules() {
    use cutover::exchange::Route as XRoute;
    use cutover::exchange::ops::hashtable;
    // 200 people: 10 contacts, the eighth with an alias in the domain.
    let sim = sim_with(200, false).await;
    let x = sim.exchange_client("source").expect("exchange");
    let contacts = x
        .invoke(
            XRoute::InvokeCommand,
            "Get-MailContact",
            json!({"ResultSize": "Unlimited"}),
        )
        .await
        .expect("Get-MailContact")
        .values;
    assert!(
        contacts
            .iter()
            .all(|c| c["RecipientTypeDetails"] == "MailContact")
    );
    let addresses = |c: &Value| -> Vec<String> {
        c["EmailAddresses"]
            .as_array()
            .expect("addresses")
            .iter()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    let in_domain = |a: &str| a.to_ascii_lowercase().ends_with("@contoso.example");
    // A partner's contact with an alias in the domain, and one sending into the domain.
    let aliased = contacts
        .iter()
        .find(|c| {
            !in_domain(c["PrimarySmtpAddress"].as_str().unwrap())
                && addresses(c).iter().any(|a| in_domain(a))
        })
        .expect("a contact with an alias in the domain");
    let sending = contacts
        .iter()
        .find(|c| in_domain(c["ExternalEmailAddress"].as_str().unwrap()))
        .expect("a contact sending into the domain");
    let id = aliased["ExternalDirectoryObjectId"]
        .as_str()
        .unwrap()
        .to_string();
    let alias = addresses(aliased)
        .into_iter()
        .find(|a| in_domain(a))
        .unwrap();
    let before = sim.mutations().total;

    let refused = |e: cutover::exchange::ExchangeError, words: &str| {
        assert_eq!(e.status(), Some(400), "{e}");
        assert!(e.to_string().contains(words), "{e}");
        assert!(e.to_string().contains("request-id"), "{e}");
    };
    // The primary (here the external address too) is not removed.
    let primary = format!("SMTP:{}", aliased["PrimarySmtpAddress"].as_str().unwrap());
    let e = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-MailContact",
            json!({"Identity": id, "EmailAddresses": hashtable(&[], std::slice::from_ref(&primary))}),
        )
        .await
        .expect_err("removing the primary");
    refused(e, "external email address");
    // A contact's address of another primary still keeps the external one among its addresses.
    let sending_id = sending["ExternalDirectoryObjectId"].as_str().unwrap();
    let external = sending["ExternalEmailAddress"]
        .as_str()
        .unwrap()
        .to_string();
    let e = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-MailContact",
            json!({"Identity": sending_id, "EmailAddresses": [format!("SMTP:other.{id}@contoso.example")]}),
        )
        .await
        .expect_err("dropping the external address");
    refused(e, external.strip_prefix("SMTP:").unwrap());
    // A hashtable without Exchange's type is not bound.
    let e = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-MailContact",
            json!({"Identity": id, "EmailAddresses": {"Remove": [alias]}}),
        )
        .await
        .expect_err("untyped hashtable");
    refused(e, "GenericHashTable");
    // Set-MailContact reaches contacts only; Set-Mailbox does not reach a contact.
    let mailbox = sim.ids("source", "users").expect("ids")[0].clone();
    let e = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-MailContact",
            json!({"Identity": mailbox, "EmailAddresses": hashtable(&[], &[])}),
        )
        .await
        .expect_err("a mailbox through Set-MailContact");
    assert!(e.is_not_found(), "{e}");
    let e = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-Mailbox",
            json!({"Identity": id, "EmailAddresses": hashtable(&[], std::slice::from_ref(&alias))}),
        )
        .await
        .expect_err("a contact through Set-Mailbox");
    assert!(e.is_not_found(), "{e}");
    assert_eq!(
        sim.mutations().total,
        before,
        "nothing refused changed anything"
    );

    // The alias goes, named by the alias itself (Exchange resolves any address).
    let bare = alias.split_once(':').unwrap().1.to_string();
    let done = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-MailContact",
            json!({"Identity": bare, "EmailAddresses": hashtable(&[], std::slice::from_ref(&alias))}),
        )
        .await
        .expect("alias removed");
    assert_eq!(done.request_ids.len(), 1);
    assert_eq!(sim.mutations().of("source", &id), 1);
    let read = x
        .invoke(
            XRoute::InvokeCommand,
            "Get-Recipient",
            json!({"Identity": id}),
        )
        .await
        .expect("Get-Recipient")
        .values;
    assert!(
        !addresses(&read[0]).iter().any(|a| in_domain(a)),
        "{read:?}"
    );
    assert_eq!(read[0]["PrimarySmtpAddress"], aliased["PrimarySmtpAddress"]);
    let graph = sim.graph_client("source").expect("graph");
    let c = graph
        .contacts()
        .await
        .expect("contacts")
        .into_iter()
        .find(|c| c.id == id)
        .expect("in Graph");
    assert!(!c.proxy_addresses.iter().any(|a| in_domain(a)), "{c:?}");
    // Again: nothing to change, Exchange's warning, not counted.
    let again = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-MailContact",
            json!({"Identity": id, "EmailAddresses": hashtable(&[], std::slice::from_ref(&alias))}),
        )
        .await
        .expect("idempotent");
    assert_eq!(again.warnings.len(), 1, "{:?}", again.warnings);
    assert_eq!(sim.mutations().of("source", &id), 1);
}

/// `POST /sim/object` over HTTP makes one user directory-synced: Graph then refuses its UPN
/// change and Exchange its address change, each with Microsoft's own message and nothing
/// changed; made cloud-only again, both go through. Bad input is refused in Graph's shape.
#[tokio::test]
async fn the_object_route_makes_a_user_synced_and_both_services_refuse_its_changes() {
    use cutover::exchange::Route as XRoute;
    use cutover::exchange::ops::hashtable;
    let sim = sim_with(40, true).await;
    let users = must(
        &sim,
        "source",
        M::GET,
        "/users?$select=id,userPrincipalName,displayName,onPremisesSyncEnabled,proxyAddresses&$top=999",
        None,
    )
    .await
    .1;
    // A cloud-only person with an alias in the domain besides the primary.
    let person = users["value"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| {
            u["onPremisesSyncEnabled"] != json!(true)
                && u["proxyAddresses"].as_array().is_some_and(|p| {
                    p.iter().any(|a| {
                        a.as_str().is_some_and(|a| {
                            a.starts_with("smtp:") && a.ends_with("@contoso.example")
                        })
                    })
                })
        })
        .expect("a cloud-only user with an alias")
        .clone();
    let id = person["id"].as_str().unwrap().to_string();
    let upn = person["userPrincipalName"].as_str().unwrap().to_string();
    let name = person["displayName"].as_str().unwrap().to_string();
    let alias = person["proxyAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|a| a.starts_with("smtp:") && a.ends_with("@contoso.example"))
        .unwrap()
        .to_string();
    let route = |form: Vec<(&'static str, String)>| {
        let url = format!("{}/sim/object", sim.login_url());
        async move {
            let resp = http()
                .post(url)
                .form(&form)
                .send()
                .await
                .expect("sim/object");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.expect("json"))
        }
    };
    let flip = |synced: bool| {
        route(vec![
            ("tenant", "source".to_string()),
            ("user", upn.clone()),
            ("synced", synced.to_string()),
        ])
    };

    let got = flip(true).await;
    assert_eq!(got.0, 200, "{}", got.1);
    assert_eq!(got.1["id"], id.as_str());
    assert_eq!(user_synced(&sim, &id).await, json!(true));

    let before = sim.mutations().total;
    // The tenant's initial domain, from the address every mailbox has there.
    let initial = person["proxyAddresses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find_map(|a| {
            a.rsplit_once('@')
                .map(|(_, h)| h)
                .filter(|h| h.ends_with(".onmicrosoft.com"))
        })
        .expect("an address in the initial domain");
    let local = upn.split('@').next().unwrap();
    let new_upn = format!("{local}@{initial}");
    let refused = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"userPrincipalName": new_upn})),
    )
    .await;
    assert_refused(
        &refused,
        400,
        "Request_BadRequest",
        "Unable to update the specified properties for on-premises mastered Directory Sync objects",
    );
    let x = sim.exchange_client("source").expect("exchange");
    let e = x
        .invoke_write(
            XRoute::InvokeCommand,
            "Set-Mailbox",
            json!({"Identity": id, "EmailAddresses": hashtable(&[], std::slice::from_ref(&alias))}),
        )
        .await
        .expect_err("a synced mailbox's addresses");
    assert_eq!(e.status(), Some(400), "{e}");
    let said = e.to_string();
    assert!(
        said.contains(&format!(
            "The operation on mailbox \"{name}\" failed because it's out of the current user's write scope. The action 'Set-Mailbox', 'EmailAddresses', can't be performed on the object '{name}' because the object is being synchronized from your on-premises organization."
        )),
        "{said}"
    );
    assert!(said.contains("request-id"), "{said}");
    assert_eq!(sim.mutations().total, before, "nothing was changed");
    assert_eq!(
        user(&sim, "source", &id).await["userPrincipalName"],
        upn.as_str()
    );

    // Cloud-only again: both changes go through.
    assert_eq!(flip(false).await.0, 200);
    assert_eq!(user_synced(&sim, &id).await, Value::Null);
    let ok = must(
        &sim,
        "source",
        M::PATCH,
        &format!("/users/{id}"),
        Some(json!({"userPrincipalName": new_upn})),
    )
    .await;
    assert_eq!(ok.0, 204, "{}", ok.1);
    x.invoke_write(
        XRoute::InvokeCommand,
        "Set-Mailbox",
        json!({"Identity": id, "EmailAddresses": hashtable(&[], std::slice::from_ref(&alias))}),
    )
    .await
    .expect("a cloud-only mailbox's alias removed");
    assert_eq!(sim.mutations().total, before + 2);

    // Bad input: Graph's error shape, saying what is wrong.
    let bad = route(vec![
        ("tenant", "source".to_string()),
        ("user", upn.clone()),
        ("synced", "maybe".to_string()),
    ])
    .await;
    assert_eq!(bad.0, 400, "{}", bad.1);
    assert!(
        bad.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("synced must be true or false")
    );
    let nobody = route(vec![
        ("tenant", "source".to_string()),
        ("user", "nobody@contoso.example".to_string()),
        ("synced", "true".to_string()),
    ])
    .await;
    assert_eq!(nobody.0, 404, "{}", nobody.1);
    assert_eq!(nobody.1["error"]["code"], "Request_ResourceNotFound");
    let nowhere = route(vec![
        ("tenant", "elsewhere".to_string()),
        ("user", upn.clone()),
        ("synced", "true".to_string()),
    ])
    .await;
    assert_eq!(nowhere.0, 400, "{}", nowhere.1);
    assert!(
        nowhere.1["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tenant must be one of source, destination")
    );
}

async fn user_synced(sim: &Sim, id: &str) -> Value {
    must(
        sim,
        "source",
        M::GET,
        &format!("/users/{id}?$select=id,onPremisesSyncEnabled"),
        None,
    )
    .await
    .1["onPremisesSyncEnabled"]
        .clone()
}
