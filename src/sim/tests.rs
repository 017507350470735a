//! End-to-end tests of the rehearsal environment through real clients: reqwest for the token
//! endpoint and Graph, hickory's resolver and raw DNS messages for the zone.

use std::collections::HashSet;
use std::time::Duration;

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_resolver::config::{NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::{Resolver, TokioResolver};
use serde_json::Value;

use super::*;

const USERS: usize = 250;
const SHARED_MAILBOXES: usize = 3;

async fn start() -> Sim {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Sim::start(SimOptions {
        users: USERS,
        ..Default::default()
    })
    .await
    .expect("sim starts")
}

fn token_form<'a>(t: &'a SimTenant, secret: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("grant_type", "client_credentials"),
        ("client_id", t.client_id.as_str()),
        ("client_secret", secret),
        ("scope", "https://graph.microsoft.com/.default"),
    ]
}

async fn post_token(
    sim: &Sim,
    tenant_key: &str,
    form: &[(&str, &str)],
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let resp = reqwest::Client::new()
        .post(format!(
            "{}/{tenant_key}/oauth2/v2.0/token",
            sim.login_url()
        ))
        .form(form)
        .send()
        .await
        .expect("token request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.expect("token body is JSON");
    (status, headers, body)
}

async fn token_for(sim: &Sim, label: &str) -> String {
    let t = sim.tenant(label).expect("tenant").clone();
    let (status, _, body) = post_token(sim, &t.id, &token_form(&t, &t.client_secret)).await;
    assert_eq!(status, 200, "{body}");
    body["access_token"]
        .as_str()
        .expect("access_token")
        .to_string()
}

async fn get(
    sim_or_url: &str,
    token: Option<&str>,
) -> (reqwest::StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = reqwest::Client::new().get(sim_or_url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("graph request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json::<Value>().await.expect("graph body is JSON");
    (status, headers, body)
}

fn is_guid(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}

#[tokio::test]
async fn token_success_and_tenant_keys() {
    let sim = start().await;
    let src = sim.tenant("source").unwrap().clone();
    let dst = sim.tenant("destination").unwrap().clone();
    assert_eq!(sim.tenants().len(), 2);
    assert_eq!(sim.tenants()[0].label, "source");
    assert!(is_guid(&src.id) && is_guid(&src.client_id));
    assert_ne!(src.id, dst.id);
    assert_eq!(src.client_secret.len(), 40);

    let (status, headers, body) =
        post_token(&sim, &src.id, &token_form(&src, &src.client_secret)).await;
    assert_eq!(status, 200);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    assert!(body["access_token"].as_str().unwrap().len() >= 32);
    assert!(is_guid(headers["request-id"].to_str().unwrap()));
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    // The tenant may be named by initial domain or by a domain verified in it.
    for key in [
        src.initial_domain.as_str(),
        "contoso.example",
        "CONTOSO.example",
    ] {
        let (status, _, body) = post_token(&sim, key, &token_form(&src, &src.client_secret)).await;
        assert_eq!(status, 200, "{key}: {body}");
    }
    let (status, _, body) = post_token(
        &sim,
        &dst.initial_domain,
        &token_form(&dst, &dst.client_secret),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The destination has the domain only unverified, so the domain names the source tenant,
    // where the destination's app does not exist.
    let (status, _, body) = post_token(
        &sim,
        "contoso.example",
        &token_form(&dst, &dst.client_secret),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "unauthorized_client");

    // Discovery tells from outside which tenant a domain signs in to.
    let (status, _, body) = get(
        &format!(
            "{}/contoso.example/v2.0/.well-known/openid-configuration",
            sim.login_url()
        ),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(body["issuer"].as_str().unwrap().contains(&src.id));
    assert_eq!(
        body["token_endpoint"],
        format!("{}/{}/oauth2/v2.0/token", sim.login_url(), src.id).as_str()
    );
    let (status, _, body) = get(
        &format!(
            "{}/unknown.example/v2.0/.well-known/openid-configuration",
            sim.login_url()
        ),
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error_codes"][0], 90002);
    sim.shutdown().await;
}

#[tokio::test]
async fn token_errors_have_aad_shapes() {
    let sim = start().await;
    let src = sim.tenant("source").unwrap().clone();
    let dst = sim.tenant("destination").unwrap().clone();

    let (status, headers, body) =
        post_token(&sim, &src.id, &token_form(&src, "wrong-secret")).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(body["error_codes"], serde_json::json!([7000215]));
    let desc = body["error_description"].as_str().unwrap();
    assert!(
        desc.starts_with("AADSTS7000215: Invalid client secret provided."),
        "{desc}"
    );
    assert!(desc.contains(&format!("for a secret added to app '{}'.", src.client_id)));
    assert!(
        desc.contains("\r\nTrace ID: ")
            && desc.contains("\r\nCorrelation ID: ")
            && desc.contains("\r\nTimestamp: ")
    );
    assert!(is_guid(body["trace_id"].as_str().unwrap()));
    assert!(is_guid(body["correlation_id"].as_str().unwrap()));
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(headers.contains_key("request-id"));

    // The source's app is not registered in the destination.
    let (status, _, body) = post_token(&sim, &dst.id, &token_form(&src, &src.client_secret)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(body["error_codes"][0], 700016);

    let (status, _, body) = post_token(
        &sim,
        "nosuchtenant.example",
        &token_form(&src, &src.client_secret),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_tenant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("AADSTS90002: Tenant 'nosuchtenant.example' not found.")
    );

    let mut form = token_form(&src, &src.client_secret);
    form[0].1 = "password";
    let (status, _, body) = post_token(&sim, &src.id, &form).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "unsupported_grant_type");

    let mut form = token_form(&src, &src.client_secret);
    form[3].1 = "https://graph.microsoft.com/User.Read";
    let (status, _, body) = post_token(&sim, &src.id, &form).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_scope");

    let (status, _, body) =
        post_token(&sim, &src.id, &[("client_id", src.client_id.as_str())]).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"], "invalid_request");
    sim.shutdown().await;
}

#[tokio::test]
async fn graph_requires_a_valid_unexpired_token() {
    let sim = start().await;
    let url = format!("{}/v1.0/users", sim.graph_url());

    let resp = reqwest::Client::new()
        .get(&url)
        .header("client-request-id", "5f0c1a53-7d52-4a51-9d7e-1a2b3c4d5e6f")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let request_id = resp.headers()["request-id"].to_str().unwrap().to_string();
    assert!(is_guid(&request_id));
    assert_eq!(
        resp.headers()["client-request-id"],
        "5f0c1a53-7d52-4a51-9d7e-1a2b3c4d5e6f"
    );
    assert!(resp.headers().contains_key("www-authenticate"));
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(body["error"]["message"], "Access token is empty.");
    assert_eq!(
        body["error"]["innerError"]["request-id"],
        request_id.as_str()
    );
    assert_eq!(
        body["error"]["innerError"]["client-request-id"],
        "5f0c1a53-7d52-4a51-9d7e-1a2b3c4d5e6f"
    );
    assert!(
        body["error"]["innerError"]["date"]
            .as_str()
            .unwrap()
            .starts_with("20")
    );

    let (status, _, body) = get(&url, Some("not-a-token")).await;
    assert_eq!(status, 401);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("validation failure")
    );

    sim.set_token_lifetime(Duration::ZERO);
    let expired = token_for(&sim, "source").await;
    let (status, _, body) = get(&url, Some(&expired)).await;
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["message"],
        "Lifetime validation failed, the token is expired."
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn organization_and_domains() {
    let sim = start().await;
    let src_token = token_for(&sim, "source").await;
    let dst_token = token_for(&sim, "destination").await;
    let g = sim.graph_url();
    let src = sim.tenant("source").unwrap().clone();

    let (status, _, org) = get(&format!("{g}/v1.0/organization"), Some(&src_token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        org["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#organization"
    );
    assert_eq!(org["value"][0]["id"], src.id.as_str());
    assert_eq!(org["value"][0]["displayName"], src.name.as_str());
    let vd = org["value"][0]["verifiedDomains"].as_array().unwrap();
    assert_eq!(vd.len(), 2);
    let custom = vd.iter().find(|d| d["name"] == "contoso.example").unwrap();
    assert_eq!(custom["isDefault"], true);
    assert_eq!(custom["type"], "Managed");
    assert_eq!(custom["capabilities"], "Email, OfficeCommunicationsOnline");

    let (status, _, doms) = get(&format!("{g}/v1.0/domains"), Some(&src_token)).await;
    assert_eq!(status, 200);
    let d = doms["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "contoso.example")
        .unwrap()
        .clone();
    assert_eq!(d["isVerified"], true);
    assert_eq!(d["isDefault"], true);
    assert_eq!(d["isInitial"], false);
    assert_eq!(d["authenticationType"], "Managed");
    assert_eq!(
        d["supportedServices"],
        serde_json::json!(["Email", "OfficeCommunicationsOnline"])
    );
    for key in [
        "availabilityStatus",
        "state",
        "isAdminManaged",
        "isRoot",
        "passwordValidityPeriodInDays",
        "passwordNotificationWindowInDays",
    ] {
        assert!(d.get(key).is_some(), "missing {key}");
    }

    // The destination holds the domain, added but not verified.
    let (_, _, d) = get(
        &format!("{g}/v1.0/domains/Contoso.Example"),
        Some(&dst_token),
    )
    .await;
    assert_eq!(d["id"], "contoso.example");
    assert_eq!(d["isVerified"], false);
    assert_eq!(d["supportedServices"], serde_json::json!([]));

    let (status, _, body) = get(
        &format!("{g}/v1.0/domains/fabrikam.example"),
        Some(&src_token),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");

    let (status, _, body) = get(
        &format!("{g}/v1.0/domains/contoso.example/serviceConfigurationRecords"),
        Some(&dst_token),
    )
    .await;
    assert_eq!(status, 200);
    let recs = body["value"].as_array().unwrap();
    assert_eq!(recs.len(), 9);
    let mx = &recs[0];
    assert_eq!(mx["@odata.type"], "#microsoft.graph.domainDnsMxRecord");
    assert_eq!(mx["recordType"], "Mx");
    assert_eq!(mx["label"], "contoso.example");
    assert_eq!(
        mx["mailExchange"],
        "contoso-example.mail.protection.outlook.com"
    );
    assert_eq!(mx["preference"], 0);
    assert_eq!(mx["ttl"], 3600);
    assert_eq!(mx["supportedService"], "Email");
    assert!(is_guid(mx["id"].as_str().unwrap()));
    let sip = recs.iter().find(|r| r["service"] == "_sip").unwrap();
    assert_eq!(sip["recordType"], "Srv");
    assert_eq!(
        (
            sip["priority"].as_u64(),
            sip["weight"].as_u64(),
            sip["port"].as_u64()
        ),
        (Some(100), Some(1), Some(443))
    );
    assert_eq!(sip["nameTarget"], "sipdir.online.lync.com");
    let intune: Vec<_> = recs
        .iter()
        .filter(|r| r["supportedService"] == "Intune")
        .collect();
    assert_eq!(intune.len(), 2);
    assert!(recs.iter().any(|r| r["recordType"] == "CName"
        && r["label"] == "autodiscover.contoso.example"
        && r["canonicalName"] == "autodiscover.outlook.com"));

    let (_, _, body) = get(
        &format!("{g}/v1.0/domains/contoso.example/verificationDnsRecords"),
        Some(&src_token),
    )
    .await;
    let txt = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recordType"] == "Txt")
        .unwrap()
        .clone();
    let text = txt["text"].as_str().unwrap();
    assert!(text.starts_with("MS=ms") && text.len() == 13, "{text}");
    let mxv = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["recordType"] == "Mx")
        .unwrap()
        .clone();
    assert_eq!(mxv["preference"], 32767);
    assert_eq!(
        mxv["mailExchange"],
        format!("{}.msv1.invalid", text.strip_prefix("MS=").unwrap()).as_str()
    );

    // The zone carries the source's verification TXT.
    let answers = lookup(
        &resolver(sim.dns_addr()),
        "contoso.example.",
        RecordType::TXT,
    )
    .await;
    assert!(answers.iter().any(|(v, _)| v == text), "{answers:?}");
    sim.shutdown().await;
}

#[tokio::test]
async fn users_page_with_top_and_select() {
    let sim = start().await;
    let token = token_for(&sim, "source").await;
    let mut url = format!(
        "{}/v1.0/users?$top=7&$select=id,userPrincipalName,proxyAddresses",
        sim.graph_url()
    );
    let mut ids = HashSet::new();
    let mut pages = 0;
    loop {
        let (status, headers, body) = get(&url, Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        assert!(headers.contains_key("request-id"));
        assert_eq!(
            body["@odata.context"],
            "https://graph.microsoft.com/v1.0/$metadata#users(id,userPrincipalName,proxyAddresses)"
        );
        let value = body["value"].as_array().unwrap();
        assert!(value.len() <= 7);
        for u in value {
            assert!(
                ids.insert(u["id"].as_str().unwrap().to_string()),
                "duplicate {u}"
            );
            assert!(u.get("proxyAddresses").is_some());
            assert!(u.get("displayName").is_none(), "not selected: {u}");
        }
        pages += 1;
        match body["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(
                    next.starts_with(&format!("{}/v1.0/users?", sim.graph_url())),
                    "{next}"
                );
                assert!(next.contains("$skiptoken="));
                assert_eq!(value.len(), 7);
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!(ids.len(), USERS + SHARED_MAILBOXES);
    assert_eq!(pages, (USERS + SHARED_MAILBOXES).div_ceil(7));

    // $count counts only with ConsistencyLevel: eventual, as in Graph.
    let resp = reqwest::Client::new()
        .get(format!("{}/v1.0/users?$count=true&$top=5", sim.graph_url()))
        .bearer_auth(&token)
        .header("ConsistencyLevel", "eventual")
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["@odata.count"], USERS + SHARED_MAILBOXES);
    let (_, _, body) = get(
        &format!("{}/v1.0/users?$count=true&$top=5", sim.graph_url()),
        Some(&token),
    )
    .await;
    assert!(body.get("@odata.count").is_none());

    // Default property set: no proxyAddresses, the documented defaults present.
    let (_, _, body) = get(&format!("{}/v1.0/users", sim.graph_url()), Some(&token)).await;
    assert_eq!(
        body["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users"
    );
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), 100);
    let first = value[0].as_object().unwrap();
    assert!(!first.contains_key("proxyAddresses"));
    for key in [
        "businessPhones",
        "displayName",
        "givenName",
        "jobTitle",
        "mail",
        "mobilePhone",
        "officeLocation",
        "preferredLanguage",
        "surname",
        "userPrincipalName",
        "id",
    ] {
        assert!(first.contains_key(key), "missing {key}");
    }
    assert_eq!(first.len(), 11);
    let all_upns: Vec<&str> = value
        .iter()
        .map(|u| u["userPrincipalName"].as_str().unwrap())
        .collect();
    assert!(
        all_upns
            .iter()
            .any(|u| u.ends_with("@fabrikamsrc.onmicrosoft.com"))
    );
    assert!(
        all_upns
            .iter()
            .filter(|u| u.ends_with("@contoso.example"))
            .count()
            > 80
    );

    let (_, _, body) = get(&format!("{}/v1.0/users?$select=id,proxyAddresses,accountEnabled,onPremisesSyncEnabled,assignedLicenses", sim.graph_url()), Some(&token)).await;
    let u0 = &body["value"][0];
    let proxies = u0["proxyAddresses"].as_array().unwrap();
    assert!(proxies[0].as_str().unwrap().starts_with("SMTP:"));
    assert!(proxies.iter().any(|p| {
        p.as_str()
            .unwrap()
            .ends_with("@fabrikamsrc.onmicrosoft.com")
    }));
    assert!(u0["assignedLicenses"][0]["skuId"].is_string());

    let (status, _, body) = get(
        &format!("{}/v1.0/users?$top=1000", sim.graph_url()),
        Some(&token),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "Request_UnsupportedQuery");
    let (status, _, body) = get(
        &format!("{}/v1.0/users?$select=nonsense", sim.graph_url()),
        Some(&token),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("nonsense")
    );
    let (status, _, _) = get(
        &format!("{}/v1.0/users?$skiptoken=garbage", sim.graph_url()),
        Some(&token),
    )
    .await;
    assert_eq!(status, 400);

    // Generation order is paging order: the shared mailboxes come last, sign-in blocked.
    let (_, _, body) = get(
        &format!(
            "{}/v1.0/users?$top=999&$select=userPrincipalName,accountEnabled",
            sim.graph_url()
        ),
        Some(&token),
    )
    .await;
    let value = body["value"].as_array().unwrap();
    assert_eq!(value.len(), USERS + SHARED_MAILBOXES);
    assert!(body.get("@odata.nextLink").is_none());
    let tail: Vec<_> = value[USERS..]
        .iter()
        .map(|u| {
            (
                u["userPrincipalName"].as_str().unwrap(),
                u["accountEnabled"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tail,
        [
            ("info@contoso.example", false),
            ("sales@contoso.example", false),
            ("support@contoso.example", false)
        ]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn groups_and_references() {
    let sim = start().await;
    let token = token_for(&sim, "source").await;
    let g = sim.graph_url();
    let (status, _, body) = get(&format!("{g}/v1.0/groups"), Some(&token)).await;
    assert_eq!(status, 200);
    let groups = body["value"].as_array().unwrap();
    let unified = groups
        .iter()
        .filter(|x| x["groupTypes"] == serde_json::json!(["Unified"]))
        .count();
    let distribution = groups
        .iter()
        .filter(|x| {
            x["mailEnabled"] == true
                && x["securityEnabled"] == false
                && x["groupTypes"] == serde_json::json!([])
        })
        .count();
    let mail_security = groups
        .iter()
        .filter(|x| x["mailEnabled"] == true && x["securityEnabled"] == true)
        .count();
    let security = groups
        .iter()
        .filter(|x| x["mailEnabled"] == false && x["mail"].is_null())
        .count();
    assert!(
        unified >= 1 && distribution >= 1 && mail_security >= 1 && security >= 1,
        "{body}"
    );
    assert!(
        groups[0]["proxyAddresses"][0]
            .as_str()
            .unwrap()
            .starts_with("SMTP:")
    );

    // Everything that uses the domain: all source users except those without a mailbox whose
    // UPN is in the initial domain, plus every mail-enabled group.
    let mut url = format!("{g}/v1.0/domains/contoso.example/domainNameReferences?$top=40");
    let mut seen = HashSet::new();
    let (mut users, mut groups_seen) = (0, 0);
    loop {
        let (status, _, body) = get(&url, Some(&token)).await;
        assert_eq!(status, 200, "{body}");
        for o in body["value"].as_array().unwrap() {
            assert!(seen.insert(o["id"].as_str().unwrap().to_string()));
            match o["@odata.type"].as_str().unwrap() {
                "#microsoft.graph.user" => users += 1,
                "#microsoft.graph.group" => groups_seen += 1,
                other => panic!("unexpected type {other}"),
            }
            assert!(o["displayName"].is_string());
        }
        match body["@odata.nextLink"].as_str() {
            Some(n) => url = n.to_string(),
            None => break,
        }
    }
    let no_mailbox_initial_upn = (0..USERS).filter(|i| i % 25 == 24 && i % 10 == 9).count();
    assert_eq!(users, USERS + SHARED_MAILBOXES - no_mailbox_initial_upn);
    assert_eq!(groups_seen, 8);

    // The destination has nothing in the domain yet.
    let dst = token_for(&sim, "destination").await;
    let (_, _, body) = get(
        &format!("{g}/v1.0/domains/contoso.example/domainNameReferences"),
        Some(&dst),
    )
    .await;
    assert_eq!(body["value"], serde_json::json!([]));
    assert!(body.get("@odata.nextLink").is_none());

    // A user by UPN, case-insensitive.
    let (_, _, body) = get(
        &format!("{g}/v1.0/users/INFO@contoso.example?$select=accountEnabled"),
        Some(&token),
    )
    .await;
    assert_eq!(body["accountEnabled"], false);
    sim.shutdown().await;
}

#[tokio::test]
async fn unknown_routes_use_graph_error_shape() {
    let sim = start().await;
    let token = token_for(&sim, "source").await;
    let (status, headers, body) =
        get(&format!("{}/v1.0/widgets", sim.graph_url()), Some(&token)).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "BadRequest");
    assert_eq!(
        body["error"]["message"],
        "Resource not found for the segment 'widgets'."
    );
    assert_eq!(
        body["error"]["innerError"]["request-id"],
        headers["request-id"].to_str().unwrap()
    );
    assert_eq!(headers["content-type"], "application/json");
    sim.shutdown().await;
}

// ---------------------------------------------------------------------------------------------
// DNS

fn resolver(addr: std::net::SocketAddr) -> TokioResolver {
    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
    for c in &mut ns.connections {
        c.port = addr.port();
    }
    let cfg = ResolverConfig::from_parts(None, vec![], vec![ns]);
    let mut builder = Resolver::builder_with_config(cfg, TokioRuntimeProvider::default());
    // Every query must reach the server, so that changes show at once.
    builder.options_mut().cache_size = 0;
    builder.options_mut().timeout = Duration::from_secs(2);
    builder.build().expect("resolver")
}

/// (value, ttl) of each answer of the queried type.
async fn lookup(r: &TokioResolver, name: &str, rtype: RecordType) -> Vec<(String, u32)> {
    let lookup = r.lookup(name, rtype).await.expect("lookup");
    lookup
        .answers()
        .iter()
        .filter(|rec| rec.record_type() == rtype)
        .map(|rec| {
            let v = match &rec.data {
                RData::MX(mx) => format!("{} {}", mx.preference, mx.exchange),
                RData::TXT(txt) => txt
                    .txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
                RData::SOA(soa) => soa.serial.to_string(),
                other => other.to_string(),
            };
            (v, rec.ttl)
        })
        .collect()
}

async fn raw_udp_query(addr: std::net::SocketAddr, name: &str, rtype: RecordType) -> Message {
    let mut msg = Message::query();
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), rtype));
    let sock = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(&msg.to_vec().unwrap(), addr).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(2), sock.recv(&mut buf))
        .await
        .expect("reply")
        .unwrap();
    Message::from_vec(&buf[..n]).unwrap()
}

#[tokio::test]
async fn dns_serves_the_zone_and_applies_changes() {
    let sim = start().await;
    let r = resolver(sim.dns_addr());
    let mx = lookup(&r, "contoso.example.", RecordType::MX).await;
    assert_eq!(
        mx,
        vec![(
            "0 contoso-example.mail.protection.outlook.com.".to_string(),
            3600
        )]
    );

    let txt = lookup(&r, "contoso.example.", RecordType::TXT).await;
    assert!(
        txt.iter()
            .any(|(v, _)| v == "v=spf1 include:spf.protection.outlook.com -all")
    );
    let dmarc = lookup(&r, "_dmarc.contoso.example.", RecordType::TXT).await;
    assert_eq!(
        dmarc[0].0,
        "v=DMARC1; p=quarantine; rua=mailto:dmarc@contoso.example"
    );
    let dkim = lookup(
        &r,
        "selector1._domainkey.contoso.example.",
        RecordType::CNAME,
    )
    .await;
    assert_eq!(
        dkim[0].0,
        "selector1-contoso-example._domainkey.fabrikamsrc.onmicrosoft.com."
    );
    let srv = lookup(
        &r,
        "_sipfederationtls._tcp.contoso.example.",
        RecordType::SRV,
    )
    .await;
    assert_eq!(srv[0].0, "100 1 5061 sipfed.online.lync.com.");
    let serial_before: u32 = lookup(&r, "contoso.example.", RecordType::SOA).await[0]
        .0
        .parse()
        .unwrap();

    // The runbook's first DNS step: lower the MX TTL.
    sim.set_dns_records(
        "contoso.example",
        "MX",
        300,
        &["0 contoso-example.mail.protection.outlook.com."],
    )
    .unwrap();
    let mx = lookup(&r, "contoso.example.", RecordType::MX).await;
    assert_eq!(
        mx,
        vec![(
            "0 contoso-example.mail.protection.outlook.com.".to_string(),
            300
        )]
    );
    let serial_after: u32 = lookup(&r, "contoso.example.", RecordType::SOA).await[0]
        .0
        .parse()
        .unwrap();
    assert!(serial_after > serial_before);

    // Cutover: MX elsewhere, over TCP too.
    sim.set_dns_records("@", "MX", 300, &["10 mx.northwind.example."])
        .unwrap();
    let mut tcp = NameServerConfig::tcp(sim.dns_addr().ip());
    tcp.connections[0].port = sim.dns_addr().port();
    let tcp_resolver = Resolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], vec![tcp]),
        TokioRuntimeProvider::default(),
    )
    .build()
    .unwrap();
    let mx = lookup(&tcp_resolver, "contoso.example.", RecordType::MX).await;
    assert_eq!(mx, vec![("10 mx.northwind.example.".to_string(), 300)]);

    assert!(
        sim.set_dns_records("example.org.", "MX", 300, &["0 a.example."])
            .is_err()
    );
    assert!(
        sim.set_dns_records("@", "MX", 300, &["zero a.example."])
            .is_err()
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn dns_is_authoritative_and_refuses_other_zones() {
    let sim = start().await;
    let inside = raw_udp_query(sim.dns_addr(), "contoso.example.", RecordType::MX).await;
    assert_eq!(inside.metadata.response_code, ResponseCode::NoError);
    assert!(inside.metadata.authoritative);
    assert_eq!(inside.answers.len(), 1);

    let missing = raw_udp_query(sim.dns_addr(), "nothere.contoso.example.", RecordType::A).await;
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);

    let outside = raw_udp_query(sim.dns_addr(), "example.org.", RecordType::MX).await;
    assert_eq!(outside.metadata.response_code, ResponseCode::Refused);
    assert!(outside.answers.is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn options_are_validated_and_servers_stop() {
    for users in [0, MAX_USERS + 1] {
        let r = Sim::start(SimOptions {
            users,
            ..Default::default()
        })
        .await;
        assert!(matches!(r, Err(SimError::InvalidOptions(_))));
    }
    let r = Sim::start(SimOptions {
        domain: "localhost".into(),
        ..Default::default()
    })
    .await;
    assert!(matches!(r, Err(SimError::InvalidOptions(_))));
    let r = Sim::start(SimOptions {
        groups: super::MAX_GROUPS + 1,
        ..Default::default()
    })
    .await;
    assert!(matches!(r, Err(SimError::InvalidOptions(m)) if m.contains("groups")));
    let r = Sim::start(SimOptions {
        contacts: Some(super::MAX_CONTACTS + 1),
        ..Default::default()
    })
    .await;
    assert!(matches!(r, Err(SimError::InvalidOptions(m)) if m.contains("contacts")));

    let sim = Sim::start(SimOptions {
        users: 1,
        seed: 9,
        domain: "Example.NET.".into(),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(sim.domain(), "example.net");
    let url = format!("{}/v1.0/users", sim.graph_url());
    sim.shutdown().await;
    // reqwest has no bundled TLS provider; do not depend on another test installing ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    assert!(reqwest::Client::new().get(&url).send().await.is_err());
}
