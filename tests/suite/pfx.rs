//! Certificate sign-in from a PFX / PKCS#12 file made by the openssl CLI (modern AES and
//! legacy 3DES encryption), against the rehearsal environment: through the library and through
//! `cutover login` with the password from `certificate_password_env`; a wrong or missing
//! password is one line on stderr and exit 2.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use cutover::graph::GraphClient;
use cutover::graph::auth::{AssertionAlg, Auth, SignIn};
use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::sim::{Sim, SimOptions};

const BIN: &str = env!("CARGO_BIN_EXE_cutover");
const PASSWORD: &str = "pfx-Pa55word";

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl must be installed (.ci/run installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh key and self-signed certificate, exported as a PFX with openssl's defaults
/// (AES-256-CBC, PBKDF2, HMAC-SHA256) and as a legacy one (3DES, SHA-1), as older Windows and
/// Key Vault exports are. Returns (modern, legacy, certificate DER).
fn make_pfx(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let key = dir.join("app.key");
    let crt = dir.join("app.crt");
    let der = dir.join("app.der");
    let p = |p: &Path| p.to_str().expect("utf8").to_string();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=pfx-app",
        "-keyout",
        &p(&key),
        "-out",
        &p(&crt),
    ]);
    openssl(&["x509", "-in", &p(&crt), "-outform", "DER", "-out", &p(&der)]);
    let modern = dir.join("app.pfx");
    let pass = format!("pass:{PASSWORD}");
    openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        &p(&key),
        "-in",
        &p(&crt),
        "-out",
        &p(&modern),
        "-passout",
        &pass,
    ]);
    let legacy = dir.join("app-legacy.p12");
    openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        &p(&key),
        "-in",
        &p(&crt),
        "-out",
        &p(&legacy),
        "-passout",
        &pass,
        "-certpbe",
        "PBE-SHA1-3DES",
        "-keypbe",
        "PBE-SHA1-3DES",
        "-macalg",
        "sha1",
    ]);
    (modern, legacy, std::fs::read(&der).expect("der"))
}

#[tokio::test]
async fn pfx_files_sign_in_and_a_wrong_password_is_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (modern, legacy, der) = make_pfx(dir.path());
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let thumb = sim.add_certificate("source", &der).expect("register");
    let t = sim.tenant("source").expect("tenant").clone();
    for file in [&modern, &legacy] {
        let bytes = std::fs::read(file).expect("pfx");
        let cert = cutover::graph::pfx::client_certificate(&bytes, PASSWORD, AssertionAlg::Rs256)
            .expect("readable");
        assert_eq!(cert.x5t_s256, thumb, "{}", file.display());
        let c = GraphClient::with_sign_in(
            &sim.graph_url(),
            SignIn {
                login_url: sim.login_url(),
                tenant: t.id.clone(),
                client_id: t.client_id.clone(),
                scope: GLOBAL_GRAPH_SCOPE.into(),
                auth: Auth::Certificate(Arc::new(cert)),
                cache: None,
                warn: None,
            },
        )
        .expect("client");
        c.organization().await.expect("signed in with the PFX");

        let err = cutover::graph::pfx::client_certificate(&bytes, "wrong", AssertionAlg::Rs256)
            .expect_err("wrong password");
        assert!(err.contains("password is wrong"), "{err}");
    }
    let err = cutover::graph::pfx::client_certificate(b"not a pfx", "", AssertionAlg::Rs256)
        .expect_err("garbage");
    assert!(err.starts_with("not a readable PFX"), "{err}");
    sim.shutdown().await;
}

/// A config whose source signs in with `certificate` (and the password variable), the
/// destination by device code (unused here).
fn write_config(sim: &Sim, dir: &Path, certificate: &Path) -> PathBuf {
    let s = sim.tenant("source").expect("source");
    let d = sim.tenant("destination").expect("destination");
    let url = sim.graph_url();
    let text = format!(
        "domain = \"contoso.example\"\n\n\
         [tenants.source]\ntenant = \"{}\"\nclient_id = \"{}\"\nauth = \"certificate\"\n\
         certificate = \"{}\"\ncertificate_password_env = \"TEST_PFX_PASSWORD\"\n\
         cloud = \"custom\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\nexchange_url = \"{url}\"\n\n\
         [tenants.destination]\ntenant = \"{}\"\nclient_id = \"{}\"\nauth = \"device-code\"\n\
         cloud = \"custom\"\nlogin_url = \"{url}\"\ngraph_url = \"{url}\"\nexchange_url = \"{url}\"\n",
        s.id,
        s.client_id,
        certificate.display(),
        d.id,
        d.client_id
    );
    let path = dir.join("pfx.toml");
    std::fs::write(&path, text).expect("write config");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cutover_login_reads_the_pfx_password_from_the_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (modern, _, der) = make_pfx(dir.path());
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    sim.add_certificate("source", &der).expect("register");
    let config = write_config(&sim, dir.path(), &modern);
    let data = dir.path().join("data");
    let login = move |password: Option<&'static str>| {
        let config = config.clone();
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            let mut c = Command::new(BIN);
            c.args(["login", "--tenant", "source", "--config"])
                .arg(&config)
                .arg("--data-dir")
                .arg(&data)
                .env_remove("CUTOVER_CONFIG")
                .env_remove("TEST_PFX_PASSWORD");
            if let Some(p) = password {
                c.env("TEST_PFX_PASSWORD", p);
            }
            c.output().expect("run cutover")
        })
    };

    let out = login(Some(PASSWORD)).await.expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("signed in to"));

    let out = login(Some("not-the-password")).await.expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("tenants.source.certificate"), "{stderr}");
    assert!(stderr.contains("password is wrong"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");

    let out = login(None).await.expect("join");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("TEST_PFX_PASSWORD"), "{stderr}");
    sim.shutdown().await;
}
