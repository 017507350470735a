//! Each sign-in method end to end against the rehearsal environment: client secret (wrong
//! secret), certificate (RS256, PS256, a wrong certificate), device code (approved, declined,
//! expired, slow down), refresh tokens across expiry, and the 0600 token cache.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cutover::graph::auth::{AssertionAlg, Auth, ClientCertificate, DeviceEvent, SignIn};
use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::graph::{GraphClient, GraphError};
use cutover::sim::{Sim, SimOptions};

/// A fresh RSA key and self-signed certificate in one PEM file (key is PKCS#8).
fn make_cert(dir: &Path, name: &str) -> (PathBuf, Vec<u8>) {
    let key = dir.join(format!("{name}.key"));
    let cert = dir.join(format!("{name}.crt"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", &format!("/CN={name}")])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl must be installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cert_pem = std::fs::read_to_string(&cert).expect("cert");
    let key_pem = std::fs::read_to_string(&key).expect("key");
    let both = dir.join(format!("{name}.pem"));
    std::fs::write(&both, format!("{cert_pem}{key_pem}")).expect("write");
    let der = cutover::graph::pem::blocks(&cert_pem, "CERTIFICATE").expect("pem")[0].clone();
    (both, der)
}

fn sign_in(sim: &Sim, label: &str, auth: Auth, cache: Option<PathBuf>) -> SignIn {
    let t = sim.tenant(label).expect("tenant");
    SignIn {
        login_url: sim.login_url(),
        tenant: t.id.clone(),
        client_id: t.client_id.clone(),
        scope: GLOBAL_GRAPH_SCOPE.into(),
        auth,
        cache,
        warn: None,
    }
}

fn client(sim: &Sim, s: SignIn) -> GraphClient {
    GraphClient::with_sign_in(&sim.graph_url(), s).expect("client")
}

fn auth_error(e: GraphError) -> (String, String) {
    match e {
        GraphError::Auth {
            error, description, ..
        } => (error, description),
        other => panic!("expected a sign-in error, got {other}"),
    }
}

#[tokio::test]
async fn wrong_client_secret_is_refused_with_aadsts7000215() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let c = client(
        &sim,
        sign_in(&sim, "source", Auth::ClientSecret("wrong".into()), None),
    );
    let (error, description) = auth_error(c.organization().await.expect_err("refused"));
    assert_eq!(error, "invalid_client");
    assert!(description.starts_with("AADSTS7000215"), "{description}");
    // The error never repeats the secret that was sent.
    assert!(!description.contains("wrong"));
}

#[tokio::test]
async fn certificate_sign_in_with_rs256_and_ps256() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (pem, der) = make_cert(dir.path(), "source-app");
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let thumb = sim.add_certificate("source", &der).expect("register");
    for alg in [AssertionAlg::Rs256, AssertionAlg::Ps256] {
        let cert = ClientCertificate::from_pem(&std::fs::read_to_string(&pem).expect("pem"), alg)
            .expect("cert");
        assert_eq!(cert.x5t_s256, thumb);
        let c = client(
            &sim,
            sign_in(&sim, "source", Auth::Certificate(Arc::new(cert)), None),
        );
        let org = c
            .organization()
            .await
            .expect("signed in with the certificate");
        assert!(!org.id.is_empty());
    }
}

#[tokio::test]
async fn wrong_certificate_is_refused_with_aadsts700027() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_registered, der) = make_cert(dir.path(), "registered");
    let (other, _) = make_cert(dir.path(), "other");
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    sim.add_certificate("source", &der).expect("register");
    let cert = ClientCertificate::from_pem(
        &std::fs::read_to_string(&other).expect("pem"),
        AssertionAlg::Rs256,
    )
    .expect("cert");
    let c = client(
        &sim,
        sign_in(&sim, "source", Auth::Certificate(Arc::new(cert)), None),
    );
    let (error, description) = auth_error(c.organization().await.expect_err("refused"));
    assert_eq!(error, "invalid_client");
    assert!(description.starts_with("AADSTS700027"), "{description}");
    assert!(
        description.contains("The key was not found"),
        "{description}"
    );
    // The registered certificate on the other tenant's app does not open this one.
    let cert = ClientCertificate::from_pem(
        &std::fs::read_to_string(dir.path().join("registered.pem")).expect("pem"),
        AssertionAlg::Rs256,
    )
    .expect("cert");
    let c = client(
        &sim,
        sign_in(&sim, "destination", Auth::Certificate(Arc::new(cert)), None),
    );
    let (_, description) = auth_error(c.organization().await.expect_err("refused"));
    assert!(description.starts_with("AADSTS700027"), "{description}");
}

#[test]
fn pkcs1_keys_are_refused_with_the_conversion_command() {
    let text = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n-----BEGIN RSA PRIVATE KEY-----\nMAA=\n-----END RSA PRIVATE KEY-----\n";
    let err = ClientCertificate::from_pem(text, AssertionAlg::Rs256).expect_err("pkcs1");
    assert!(err.contains("openssl pkcs8"), "{err}");
}

/// A prompt that has the sim's user approve (or decline) once the code is shown.
fn approving_prompt(
    sim: Arc<Sim>,
    approve: Option<bool>,
    shown: Arc<AtomicUsize>,
) -> cutover::graph::auth::DevicePrompt {
    Arc::new(move |event: DeviceEvent<'_>| {
        let DeviceEvent::Code(code) = event else {
            return;
        };
        shown.fetch_add(1, Ordering::SeqCst);
        assert!(code.message.contains(&code.user_code));
        if let Some(approve) = approve {
            let sim = sim.clone();
            let user_code = code.user_code.clone();
            // Approve after the first poll has seen "pending".
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(1500)).await;
                assert!(sim.decide_device_code(&user_code, approve));
            });
        }
    })
}

#[tokio::test]
async fn device_code_then_refresh_across_expiry_with_a_private_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("tokens/destination.json");
    let sim = Arc::new(Sim::start(SimOptions::default()).await.expect("sim"));
    sim.set_device_code_timing(Duration::from_secs(1), Duration::from_secs(30));
    // Tokens live 61 s: one second past the client's one-minute early renewal, so the
    // next request after 1 s must refresh.
    sim.set_token_lifetime(Duration::from_secs(61));
    let shown = Arc::new(AtomicUsize::new(0));
    let prompt = approving_prompt(sim.clone(), Some(true), shown.clone());
    let c = client(
        &sim,
        sign_in(
            &sim,
            "destination",
            Auth::DeviceCode {
                prompt: Some(prompt.clone()),
            },
            Some(cache.clone()),
        ),
    );
    c.organization().await.expect("signed in after approval");
    assert_eq!(shown.load(Ordering::SeqCst), 1);
    let first: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("cache")).expect("json");
    assert!(first["refresh_token"].is_string());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&cache)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.users().await.expect("listing after refresh");
    assert_eq!(shown.load(Ordering::SeqCst), 1, "refreshed, not prompted");
    let second: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cache).expect("cache")).expect("json");
    assert_ne!(first["access_token"], second["access_token"]);
    assert_ne!(first["refresh_token"], second["refresh_token"], "rotated");

    // A new process (a new client on the same cache) signs in without a prompt.
    let c2 = client(
        &sim,
        sign_in(
            &sim,
            "destination",
            Auth::DeviceCode { prompt: None },
            Some(cache.clone()),
        ),
    );
    c2.organization().await.expect("cached tokens");
    assert_eq!(shown.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn declined_and_expired_device_codes_are_reported() {
    let sim = Arc::new(Sim::start(SimOptions::default()).await.expect("sim"));
    sim.set_device_code_timing(Duration::from_secs(1), Duration::from_secs(30));
    let shown = Arc::new(AtomicUsize::new(0));
    let declined = client(
        &sim,
        sign_in(
            &sim,
            "source",
            Auth::DeviceCode {
                prompt: Some(approving_prompt(sim.clone(), Some(false), shown.clone())),
            },
            None,
        ),
    );
    let (error, _) = auth_error(declined.organization().await.expect_err("declined"));
    assert_eq!(error, "authorization_declined");

    sim.set_device_code_timing(Duration::from_secs(1), Duration::from_secs(2));
    let expired = client(
        &sim,
        sign_in(
            &sim,
            "source",
            Auth::DeviceCode {
                prompt: Some(approving_prompt(sim.clone(), None, shown.clone())),
            },
            None,
        ),
    );
    let (error, _) = auth_error(expired.organization().await.expect_err("expired"));
    assert_eq!(error, "expired_token");
    assert_eq!(shown.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn polling_faster_than_the_interval_gets_slow_down() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    sim.set_device_code_timing(Duration::from_secs(5), Duration::from_secs(60));
    let t = sim.tenant("source").expect("tenant").clone();
    let http = http_client();
    let base = format!("{}/{}/oauth2/v2.0", sim.login_url(), t.id);
    let code: serde_json::Value = http
        .post(format!("{base}/devicecode"))
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
    let device_code = code["device_code"].as_str().expect("device_code");
    let mut errors = Vec::new();
    for _ in 0..2 {
        let answer: serde_json::Value = http
            .post(format!("{base}/token"))
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", t.client_id.as_str()),
                ("device_code", device_code),
            ])
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        errors.push(answer["error"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(errors, ["authorization_pending", "slow_down"]);
    // The sim-only route approves by user code.
    let approved = http
        .post(format!("{}/sim/device", sim.login_url()))
        .form(&[("user_code", code["user_code"].as_str().expect("user_code"))])
        .send()
        .await
        .expect("approve");
    assert!(approved.status().is_success());
}

#[tokio::test]
async fn corrupt_cache_is_discarded_with_a_warning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cache = dir.path().join("source.json");
    std::fs::write(&cache, b"{not json").expect("write");
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let warnings = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = warnings.clone();
    let secret = sim.tenant("source").expect("tenant").client_secret.clone();
    let mut s = sign_in(
        &sim,
        "source",
        Auth::ClientSecret(secret.clone()),
        Some(cache.clone()),
    );
    s.warn = Some(Arc::new(move |m: &str| {
        sink.lock().expect("lock").push(m.to_string())
    }));
    client(&sim, s)
        .organization()
        .await
        .expect("signed in anyway");
    let w = warnings.lock().expect("lock").clone();
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("corrupt token cache"), "{w:?}");
    let stored = std::fs::read_to_string(&cache).expect("rewritten");
    assert!(stored.contains("access_token"));
    assert!(!stored.contains(&secret), "the secret is never cached");
}

/// reqwest is built without a bundled TLS provider; the product installs ring, so do tests.
fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[tokio::test]
async fn a_long_listing_refreshes_its_delegated_token_midway() {
    let sim = Arc::new(
        Sim::start(SimOptions {
            users: 2_000,
            ..SimOptions::default()
        })
        .await
        .expect("sim"),
    );
    sim.set_device_code_timing(Duration::from_secs(1), Duration::from_secs(30));
    // 61 s tokens are renewed by the client one second after issue (a minute early).
    sim.set_token_lifetime(Duration::from_secs(61));
    let shown = Arc::new(AtomicUsize::new(0));
    let c = client(
        &sim,
        sign_in(
            &sim,
            "source",
            Auth::DeviceCode {
                prompt: Some(approving_prompt(sim.clone(), Some(true), shown.clone())),
            },
            None,
        ),
    );
    c.organization().await.expect("signed in");
    let first = c.tokens().access_token().await.expect("token");
    // About 40 pages at 40 ms each (over 1.6 s): the token, renewable one second after
    // issue, must be refreshed by one of the listing's own requests.
    sim.set_faults(cutover::sim::Faults {
        latency: Duration::from_millis(40),
        ..Default::default()
    });
    let users: Vec<serde_json::Value> = c
        .get_all("/v1.0/users?$select=id&$top=50")
        .await
        .expect("complete listing");
    let ids: std::collections::HashSet<&str> =
        users.iter().filter_map(|u| u["id"].as_str()).collect();
    assert_eq!(ids.len(), users.len());
    assert!(users.len() > 2_000);
    assert_ne!(
        c.tokens().access_token().await.expect("token"),
        first,
        "refreshed"
    );
    assert_eq!(
        shown.load(Ordering::SeqCst),
        1,
        "by refresh token, not a new prompt"
    );
}

/// A refresh token is bound to the person and the app, not to a resource: the device code
/// approved for Graph also signs Exchange Online in, in the same process (the Exchange client
/// asking while Graph's code waits for the person) and in a later one that only has Graph's
/// cache file (`cutover login`, then an Exchange command). A token for each resource.
#[tokio::test]
async fn one_device_code_serves_graph_and_exchange() {
    use cutover::exchange::{ExchangeClient, GLOBAL_EXCHANGE_SCOPE};
    let dir = tempfile::tempdir().expect("tempdir");
    let graph_cache = dir.path().join("tokens/source.json");
    let exchange_cache = dir.path().join("tokens/source-exchange.json");
    let sim = Arc::new(Sim::start(SimOptions::default()).await.expect("sim"));
    sim.set_device_code_timing(Duration::from_secs(1), Duration::from_secs(30));
    let shown = Arc::new(AtomicUsize::new(0));
    let prompt = approving_prompt(sim.clone(), Some(true), shown.clone());
    let device = || Auth::DeviceCode {
        prompt: Some(prompt.clone()),
    };
    let exchange_sign_in = |cache: &Path| SignIn {
        scope: GLOBAL_EXCHANGE_SCOPE.into(),
        ..sign_in(&sim, "source", device(), Some(cache.to_path_buf()))
    };
    let graph = client(
        &sim,
        sign_in(&sim, "source", device(), Some(graph_cache.clone())),
    );
    let exchange = ExchangeClient::new(&sim.exchange_url(), exchange_sign_in(&exchange_cache))
        .expect("exchange client");
    // Both ask at once: one code is shown, and both are answered.
    let (g, x) = tokio::join!(graph.organization(), exchange.recipients());
    g.expect("Graph answered");
    x.expect("Exchange answered");
    assert_eq!(shown.load(Ordering::SeqCst), 1, "one code for both");
    let audience = |path: &Path| {
        let stored: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).expect("cache")).expect("json");
        let token = stored["access_token"].as_str().expect("token").to_string();
        let payload = token.split('.').nth(1).expect("payload").to_string();
        let bytes =
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
                .expect("base64url");
        let claims: serde_json::Value = serde_json::from_slice(&bytes).expect("claims");
        claims["aud"].as_str().unwrap_or_default().to_string()
    };
    assert!(
        audience(&graph_cache).contains("graph"),
        "{}",
        audience(&graph_cache)
    );
    assert!(
        audience(&exchange_cache).contains("outlook.office365.com"),
        "{}",
        audience(&exchange_cache)
    );
    drop((graph, exchange));

    // A later process with only Graph's cache: Exchange redeems its refresh token.
    std::fs::remove_file(&exchange_cache).expect("remove");
    let later = ExchangeClient::new(&sim.exchange_url(), exchange_sign_in(&exchange_cache))
        .expect("exchange client");
    later.tokens().share_sign_in_with(graph_cache.clone());
    later.recipients().await.expect("Exchange answered");
    assert_eq!(shown.load(Ordering::SeqCst), 1, "no new code");
    assert!(audience(&exchange_cache).contains("outlook.office365.com"));
}
