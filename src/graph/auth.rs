//! Access tokens for one tenant profile: client secret and certificate (app-only, client
//! credentials), device code (delegated), refresh tokens where issued, and the per-profile
//! token cache. [`TokenProvider`] is the one type the Graph client asks for a token.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ring::rand::SystemRandom;
use ring::signature::RsaKeyPair;
use serde::{Deserialize, Serialize};
use sha2::Digest;
use tokio::sync::Mutex;

use super::error::GraphError;
use super::pem;

/// How the profile proves who it is.
#[derive(Clone)]
pub enum Auth {
    ClientSecret(String),
    Certificate(Arc<ClientCertificate>),
    /// Delegated sign-in by a person; `prompt` shows them the code (none: fail and ask for
    /// `cutover login`).
    DeviceCode {
        prompt: Option<DevicePrompt>,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::ClientSecret(_) => f.write_str("ClientSecret([redacted])"),
            Auth::Certificate(c) => write!(f, "Certificate(x5t#S256={})", c.x5t_s256),
            Auth::DeviceCode { .. } => f.write_str("DeviceCode"),
        }
    }
}

/// Shows a device-code sign-in to a person, and says when it has ended.
pub type DevicePrompt = Arc<dyn Fn(DeviceEvent<'_>) + Send + Sync>;

/// What a [`DevicePrompt`] is told.
#[derive(Debug, Clone, Copy)]
pub enum DeviceEvent<'a> {
    /// A code to show: the person approves it elsewhere.
    Code(&'a DeviceCode),
    /// The sign-in that code was for has ended (approved, refused, expired or cancelled);
    /// a dialog showing the code can close.
    Ended,
}
/// Receives warnings a person should see (e.g. a discarded token cache).
pub type Warn = Arc<dyn Fn(&str) + Send + Sync>;

/// What the person must do to approve a device-code sign-in.
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    pub expires_in: u64,
    /// Microsoft's sentence telling the user what to do.
    pub message: String,
}

/// Signature scheme of the client assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssertionAlg {
    Rs256,
    Ps256,
}

/// A certificate and its RSA private key. `Debug` shows only the thumbprint.
pub struct ClientCertificate {
    key: RsaKeyPair,
    /// base64url SHA-256 of the certificate's DER: the `x5t#S256` header.
    pub x5t_s256: String,
    pub alg: AssertionAlg,
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCertificate")
            .field("x5t_s256", &self.x5t_s256)
            .field("alg", &self.alg)
            .finish()
    }
}

impl ClientCertificate {
    /// From PEM text holding one `CERTIFICATE` and one PKCS#8 `PRIVATE KEY` (RSA).
    pub fn from_pem(text: &str, alg: AssertionAlg) -> Result<Self, String> {
        let certs = pem::blocks(text, "CERTIFICATE")?;
        let cert = certs
            .first()
            .ok_or("no CERTIFICATE block in the PEM file")?;
        let keys = pem::blocks(text, "PRIVATE KEY")?;
        let key = match keys.first() {
            Some(k) => k,
            None if text.contains("BEGIN RSA PRIVATE KEY") => {
                return Err("the key is PKCS#1 (BEGIN RSA PRIVATE KEY); convert it with 'openssl pkcs8 -topk8 -nocrypt'".into());
            }
            None => return Err("no unencrypted PKCS#8 PRIVATE KEY block in the PEM file".into()),
        };
        ClientCertificate::from_der(cert, key, alg)
    }

    /// From a certificate's DER and its RSA private key as PKCS#8 DER.
    pub fn from_der(cert: &[u8], pkcs8_key: &[u8], alg: AssertionAlg) -> Result<Self, String> {
        let key = RsaKeyPair::from_pkcs8(pkcs8_key)
            .map_err(|e| format!("the private key is not a usable RSA PKCS#8 key: {e}"))?;
        Ok(ClientCertificate {
            key,
            x5t_s256: pem::b64url(&sha2::Sha256::digest(cert)),
            alg,
        })
    }

    /// A signed client assertion for `token_url`, valid for five minutes.
    pub fn assertion(&self, client_id: &str, token_url: &str) -> Result<String, String> {
        let now = unix_now();
        let header = serde_json::json!({
            "alg": match self.alg { AssertionAlg::Rs256 => "RS256", AssertionAlg::Ps256 => "PS256" },
            "typ": "JWT",
            "x5t#S256": self.x5t_s256,
        });
        let claims = serde_json::json!({
            "aud": token_url,
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 300,
        });
        let signing_input = format!(
            "{}.{}",
            pem::b64url(header.to_string().as_bytes()),
            pem::b64url(claims.to_string().as_bytes())
        );
        let mut sig = vec![0u8; self.key.public().modulus_len()];
        let padding: &'static dyn ring::signature::RsaEncoding = match self.alg {
            AssertionAlg::Rs256 => &ring::signature::RSA_PKCS1_SHA256,
            AssertionAlg::Ps256 => &ring::signature::RSA_PSS_SHA256,
        };
        self.key
            .sign(
                padding,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut sig,
            )
            .map_err(|_| "signing the client assertion failed".to_string())?;
        Ok(format!("{signing_input}.{}", pem::b64url(&sig)))
    }
}

/// Everything needed to get tokens for one profile.
#[derive(Clone)]
pub struct SignIn {
    pub login_url: String,
    /// Tenant id or verified domain.
    pub tenant: String,
    pub client_id: String,
    /// `https://graph.microsoft.com/.default` or a national cloud's.
    pub scope: String,
    pub auth: Auth,
    /// `<data dir>/tokens/<profile>.json`; `None` keeps tokens in memory only.
    pub cache: Option<PathBuf>,
    pub warn: Option<Warn>,
}

/// What the cache file holds. Never logged.
#[derive(Serialize, Deserialize, Clone)]
struct Stored {
    tenant: String,
    client_id: String,
    scope: String,
    /// Delegated (a person signed in) or app-only: a profile switched from a client secret to
    /// a device code must not act with the app's token, nor the other way round.
    #[serde(default)]
    delegated: bool,
    access_token: String,
    /// Unix seconds.
    expires_at: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

#[derive(Deserialize, Default)]
struct TokenError {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
struct DeviceAnswer {
    device_code: String,
    user_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: Option<u64>,
    #[serde(default)]
    message: String,
}

/// One person's sign-in to a tenant through one app, shared by that profile's providers
/// (Graph's and Exchange Online's). Entra ID binds a refresh token to the user and the client,
/// not to a resource, so the refresh token one device code gave is redeemed for the other
/// resource instead of asking the person for a second code ("Refresh tokens", Microsoft
/// identity platform). The lock makes the providers take turns: while one waits for the person
/// to approve a code, the other waits for that refresh token.
#[derive(Default)]
struct Family {
    /// The newest refresh token any member got in this process.
    latest: Mutex<Option<String>>,
    /// The members' token caches: a refresh token another process left there (e.g. `cutover
    /// login`, which signs in for Graph) serves too.
    caches: std::sync::Mutex<Vec<PathBuf>>,
}

/// The families of this process, by login URL, tenant and app (weak: a family ends with its
/// last provider).
static FAMILIES: std::sync::LazyLock<
    std::sync::Mutex<std::collections::HashMap<String, std::sync::Weak<Family>>>,
> = std::sync::LazyLock::new(Default::default);

fn family_of(sign_in: &SignIn) -> Arc<Family> {
    let key = format!(
        "{}|{}|{}",
        sign_in.login_url,
        sign_in.tenant.to_ascii_lowercase(),
        sign_in.client_id.to_ascii_lowercase()
    );
    let mut families = FAMILIES.lock().unwrap_or_else(|e| e.into_inner());
    families.retain(|_, f| f.strong_count() > 0);
    if let Some(f) = families.get(&key).and_then(std::sync::Weak::upgrade) {
        return f;
    }
    let f = Arc::new(Family::default());
    families.insert(key, Arc::downgrade(&f));
    f
}

/// Hands out access tokens, signing in or refreshing when needed. One per profile; shared by
/// all requests so that concurrent requests wait for one sign-in.
pub struct TokenProvider {
    http: reqwest::Client,
    sign_in: SignIn,
    /// Device-code profiles only: the person's sign-in shared with the profile's other
    /// providers.
    family: Option<Arc<Family>>,
    state: Mutex<Option<Stored>>,
    loaded: std::sync::atomic::AtomicBool,
    /// The person cancelled the device-code sign-in: no new prompt until a restart.
    cancelled: std::sync::atomic::AtomicBool,
    cancel: tokio::sync::Notify,
}

/// Tokens within this of expiry are renewed first.
const EARLY: u64 = 60;

impl TokenProvider {
    pub fn new(http: reqwest::Client, mut sign_in: SignIn) -> Self {
        sign_in.login_url = sign_in.login_url.trim_end_matches('/').to_string();
        let family = matches!(sign_in.auth, Auth::DeviceCode { .. }).then(|| {
            let f = family_of(&sign_in);
            if let Some(path) = &sign_in.cache {
                add_cache(&f, path.clone());
            }
            f
        });
        TokenProvider {
            http,
            family,
            sign_in,
            state: Mutex::new(None),
            loaded: std::sync::atomic::AtomicBool::new(false),
            cancelled: std::sync::atomic::AtomicBool::new(false),
            cancel: tokio::sync::Notify::new(),
        }
    }

    pub fn tenant(&self) -> &str {
        &self.sign_in.tenant
    }

    /// The application (client) id this provider signs in as.
    pub fn client_id(&self) -> &str {
        &self.sign_in.client_id
    }

    fn token_url(&self) -> String {
        format!(
            "{}/{}/oauth2/v2.0/token",
            self.sign_in.login_url, self.sign_in.tenant
        )
    }

    /// A valid access token: memory, then the cache file, then a refresh token, then a new
    /// sign-in by the profile's method.
    pub async fn access_token(&self) -> Result<String, GraphError> {
        let mut state = self.state.lock().await;
        if !self.loaded.swap(true, std::sync::atomic::Ordering::Relaxed) {
            *state = self.load_cache();
        }
        if let Some(s) = state.as_ref()
            && unix_now() + EARLY < s.expires_at
        {
            return Ok(s.access_token.clone());
        }
        let refresh = state.as_ref().and_then(|s| s.refresh_token.clone());
        let fresh = match refresh {
            Some(rt) => match self.refresh(&rt).await {
                Ok(t) => t,
                Err(GraphError::Auth { error, .. }) if error == "invalid_grant" => {
                    tracing::info!(tenant = %self.sign_in.tenant, "refresh token refused; signing in again");
                    self.acquire_shared().await?
                }
                Err(e) => return Err(e),
            },
            None => self.acquire_shared().await?,
        };
        let token = fresh.access_token.clone();
        self.save_cache(&fresh);
        *state = Some(fresh);
        Ok(token)
    }

    /// The signed-in person's home tenant when it is not the tenant this provider signs in
    /// to: a partner's technician (GDAP/DAP) or a guest. Read from the token already held
    /// (none held, or app-only: `None`); never signs in.
    pub async fn signed_in_from_other_tenant(&self) -> Option<OtherTenant> {
        let state = self.state.lock().await;
        state
            .as_ref()
            .filter(|s| s.delegated)
            .and_then(|s| other_tenant(&s.access_token))
    }

    /// Stop a device-code sign-in that waits for the person, and do not prompt again: requests
    /// that need a new sign-in fail with `sign_in_cancelled` from now on.
    pub fn cancel_sign_in(&self) {
        self.cancelled
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.cancel.notify_waiters();
    }

    fn cancelled_error(&self) -> GraphError {
        GraphError::Auth {
            tenant: self.sign_in.tenant.clone(),
            error: "sign_in_cancelled".into(),
            description:
                "the device-code sign-in was cancelled; run 'cutover login' and start again".into(),
        }
    }

    /// Forget the access token (Graph said it is invalid); a refresh token is kept.
    pub async fn invalidate(&self) {
        if let Some(s) = self.state.lock().await.as_mut() {
            s.expires_at = 0;
        }
    }

    /// Sign in now with the profile's method, ignoring cached tokens; returns the expiry
    /// (unix seconds) and whether a refresh token came with it.
    pub async fn sign_in_now(&self) -> Result<(u64, bool), GraphError> {
        let mut state = self.state.lock().await;
        if !self.loaded.swap(true, std::sync::atomic::Ordering::Relaxed) {
            // Read it only to discard a corrupt file with its warning; login signs in anew.
            let _ = self.load_cache();
        }
        let fresh = self.acquire().await?;
        self.save_cache(&fresh);
        let out = (fresh.expires_at, fresh.refresh_token.is_some());
        *state = Some(fresh);
        Ok(out)
    }

    /// Also read the refresh token another provider of this profile keeps in `path` (the
    /// Exchange client names Graph's cache, and Graph's the Exchange one).
    pub fn share_sign_in_with(&self, path: PathBuf) {
        if let Some(f) = &self.family {
            add_cache(f, path);
        }
    }

    /// A sign-in for a profile without a usable refresh token of its own: a device-code
    /// profile first redeems the refresh token its family holds (another resource's sign-in,
    /// in this process or in a cache file) and asks the person only when none serves.
    async fn acquire_shared(&self) -> Result<Stored, GraphError> {
        let Some(family) = &self.family else {
            return self.acquire().await;
        };
        if self.cancelled.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(self.cancelled_error());
        }
        let mut latest = family.latest.lock().await;
        let caches = family.caches.lock().map(|c| c.clone()).unwrap_or_default();
        let mut tried: Vec<String> = Vec::new();
        let candidates = latest
            .clone()
            .into_iter()
            .chain(caches.iter().filter_map(|p| self.refresh_token_in(p)));
        for rt in candidates {
            if tried.contains(&rt) {
                continue;
            }
            match self.refresh(&rt).await {
                Ok(t) => {
                    tracing::info!(tenant = %self.sign_in.tenant, scope = %self.sign_in.scope, "signed in with the profile's refresh token from another resource");
                    latest.clone_from(&t.refresh_token);
                    return Ok(t);
                }
                Err(GraphError::Auth { error, .. }) if error == "invalid_grant" => {}
                Err(e) => return Err(e),
            }
            tried.push(rt);
        }
        let t = self.acquire().await?;
        latest.clone_from(&t.refresh_token);
        Ok(t)
    }

    /// The refresh token a cache file of this profile holds, whatever its resource: same
    /// tenant, app and person-or-app kind. Never logged.
    fn refresh_token_in(&self, path: &std::path::Path) -> Option<String> {
        let bytes = std::fs::read(path).ok()?;
        let s: Stored = serde_json::from_slice(&bytes).ok()?;
        (s.tenant == self.sign_in.tenant
            && s.client_id == self.sign_in.client_id
            && s.delegated == self.delegated())
        .then_some(s.refresh_token)
        .flatten()
    }

    async fn acquire(&self) -> Result<Stored, GraphError> {
        let client_id = self.sign_in.client_id.as_str();
        let scope = self.sign_in.scope.as_str();
        match &self.sign_in.auth {
            Auth::ClientSecret(secret) => {
                self.post_token(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    ("client_secret", secret.as_str()),
                    ("scope", scope),
                ])
                .await
            }
            Auth::Certificate(cert) => {
                let assertion = cert
                    .assertion(client_id, &self.token_url())
                    .map_err(GraphError::Config)?;
                self.post_token(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", client_id),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                    ("scope", scope),
                ])
                .await
            }
            Auth::DeviceCode { .. } if self.cancelled.load(std::sync::atomic::Ordering::SeqCst) => {
                Err(self.cancelled_error())
            }
            Auth::DeviceCode { prompt } => match prompt {
                Some(prompt) => {
                    // Told however the flow ends, its future dropped included.
                    let _ended = Ended(prompt);
                    self.device_flow(prompt).await
                }
                None => Err(GraphError::Auth {
                    tenant: self.sign_in.tenant.clone(),
                    error: "interaction_required".into(),
                    description:
                        "this profile signs in with a device code; run 'cutover login' first".into(),
                }),
            },
        }
    }

    fn delegated_scope(&self) -> String {
        format!("{} offline_access", self.sign_in.scope)
    }

    async fn refresh(&self, refresh_token: &str) -> Result<Stored, GraphError> {
        let scope = self.delegated_scope();
        let mut stored = self
            .post_token(&[
                ("grant_type", "refresh_token"),
                ("client_id", self.sign_in.client_id.as_str()),
                ("refresh_token", refresh_token),
                ("scope", scope.as_str()),
            ])
            .await?;
        // Microsoft may or may not rotate the refresh token; keep the old one if not.
        if stored.refresh_token.is_none() {
            stored.refresh_token = Some(refresh_token.to_string());
        }
        Ok(stored)
    }

    async fn device_flow(&self, prompt: &DevicePrompt) -> Result<Stored, GraphError> {
        let url = format!(
            "{}/{}/oauth2/v2.0/devicecode",
            self.sign_in.login_url, self.sign_in.tenant
        );
        let scope = self.delegated_scope();
        let (status, text) = self
            .post_form(
                &url,
                &[
                    ("client_id", self.sign_in.client_id.as_str()),
                    ("scope", scope.as_str()),
                ],
            )
            .await?;
        if !status.is_success() {
            return Err(self.auth_error(status, &text));
        }
        let answer: DeviceAnswer = serde_json::from_str(&text).map_err(|e| GraphError::Decode {
            url: url.clone(),
            message: e.to_string(),
        })?;
        prompt(DeviceEvent::Code(&DeviceCode {
            user_code: answer.user_code.clone(),
            verification_uri: answer.verification_uri.clone(),
            expires_in: answer.expires_in,
            message: answer.message.clone(),
        }));
        let mut interval = Duration::from_secs(answer.interval.unwrap_or(5).max(1));
        let deadline = std::time::Instant::now() + Duration::from_secs(answer.expires_in);
        let grant = "urn:ietf:params:oauth:grant-type:device_code";
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = self.cancel.notified() => return Err(self.cancelled_error()),
            }
            if self.cancelled.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(self.cancelled_error());
            }
            let form = [
                ("grant_type", grant),
                ("client_id", self.sign_in.client_id.as_str()),
                ("device_code", answer.device_code.as_str()),
            ];
            match self.post_token(&form).await {
                Ok(t) => return Ok(t),
                Err(GraphError::Auth { error, .. }) if error == "authorization_pending" => {}
                Err(GraphError::Auth { error, .. }) if error == "slow_down" => {
                    interval += Duration::from_secs(5);
                }
                Err(e) => return Err(e),
            }
            if std::time::Instant::now() > deadline + interval {
                return Err(GraphError::Auth {
                    tenant: self.sign_in.tenant.clone(),
                    error: "expired_token".into(),
                    description:
                        "the device code expired before anyone approved it; run the sign-in again"
                            .into(),
                });
            }
        }
    }

    async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
    ) -> Result<(reqwest::StatusCode, String), GraphError> {
        let response = self
            .http
            .post(url)
            .header("client-request-id", uuid::Uuid::new_v4().to_string())
            .form(form)
            .send()
            .await
            .map_err(|e| super::client::transport(url, e))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| super::client::transport(url, e))?;
        Ok((status, text))
    }

    async fn post_token(&self, form: &[(&str, &str)]) -> Result<Stored, GraphError> {
        let url = self.token_url();
        let (status, text) = self.post_form(&url, form).await?;
        if !status.is_success() {
            return Err(self.auth_error(status, &text));
        }
        let answer: TokenAnswer = serde_json::from_str(&text).map_err(|e| GraphError::Decode {
            url: url.clone(),
            message: e.to_string(),
        })?;
        Ok(Stored {
            tenant: self.sign_in.tenant.clone(),
            client_id: self.sign_in.client_id.clone(),
            scope: self.sign_in.scope.clone(),
            delegated: self.delegated(),
            access_token: answer.access_token,
            expires_at: unix_now() + answer.expires_in.unwrap_or(300),
            refresh_token: answer.refresh_token,
        })
    }

    fn auth_error(&self, status: reqwest::StatusCode, text: &str) -> GraphError {
        let err: TokenError = serde_json::from_str(text).unwrap_or_default();
        GraphError::Auth {
            tenant: self.sign_in.tenant.clone(),
            error: if err.error.is_empty() {
                format!("HTTP {}", status.as_u16())
            } else {
                err.error
            },
            description: err
                .error_description
                .lines()
                .next()
                .unwrap_or_default()
                .to_string(),
        }
    }

    fn warn(&self, message: &str) {
        tracing::warn!("{message}");
        if let Some(w) = &self.sign_in.warn {
            w(message);
        }
    }

    /// The cached tokens if the file exists, parses and belongs to this profile. A corrupt
    /// file is removed with a warning: it only costs a new sign-in.
    fn load_cache(&self) -> Option<Stored> {
        let path = self.sign_in.cache.as_ref()?;
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                self.warn(&format!("ignoring token cache {}: {e}", path.display()));
                return None;
            }
        };
        match serde_json::from_slice::<Stored>(&bytes) {
            Ok(s)
                if s.tenant == self.sign_in.tenant
                    && s.client_id == self.sign_in.client_id
                    && s.scope == self.sign_in.scope
                    && s.delegated == self.delegated() =>
            {
                Some(s)
            }
            Ok(_) => None,
            Err(_) => {
                // serde's message could quote the file's content; say only where.
                self.warn(&format!(
                    "discarded the corrupt token cache {}; signing in again",
                    path.display()
                ));
                let _ = std::fs::remove_file(path);
                None
            }
        }
    }

    fn delegated(&self) -> bool {
        matches!(self.sign_in.auth, Auth::DeviceCode { .. })
    }

    fn save_cache(&self, stored: &Stored) {
        let Some(path) = &self.sign_in.cache else {
            return;
        };
        let result = path
            .parent()
            .map_or(Ok(()), crate::store::create_private_dir)
            .and_then(|()| {
                let bytes = serde_json::to_vec(stored).map_err(std::io::Error::other)?;
                crate::store::write_atomic(path, &bytes)
            });
        if let Err(e) = result {
            self.warn(&format!(
                "cannot write the token cache {}: {e}",
                path.display()
            ));
        }
    }
}

/// Tells the prompt that its sign-in has ended when dropped.
struct Ended<'a>(&'a DevicePrompt);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        (self.0)(DeviceEvent::Ended);
    }
}

fn add_cache(family: &Family, path: PathBuf) {
    let mut caches = family.caches.lock().unwrap_or_else(|e| e.into_inner());
    if !caches.contains(&path) {
        caches.push(path);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A delegated token issued for `tenant` to a user whose home tenant is `home`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherTenant {
    /// The token's `tid`: the tenant signed in to.
    pub tenant: String,
    /// The tenant id in the token's `idp`: where the user's account lives.
    pub home: String,
}

impl OtherTenant {
    /// What it means, for a warning line or a plan notice: `side` is `source`/`destination`.
    pub fn warning(&self, side: &str) -> String {
        format!(
            "signed in to the {side} tenant ({}) as a user of another tenant ({}), a partner's technician or a guest: a partner's delegated admin roles (GDAP) are only those the customer approved, so Microsoft may refuse some removals (e.g. deleting the domain or changing users' addresses); if Microsoft refuses them, sign in as the tenant's own admin",
            self.tenant, self.home
        )
    }
}

/// Microsoft's tenant for personal Microsoft accounts; `idp` may say `live.com` for them.
const MSA_TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

/// Read `tid` and `idp` from an access token's payload (base64url JSON; no signature check:
/// it is our own token and this is a hint). Entra writes `idp` (an STS URI such as
/// `https://sts.windows.net/<tenant id>/`) when the user's account is not in the issuing
/// tenant, guests and partner technicians; absent, it equals the issuer. Only the two tenant
/// ids leave this function, and only when both are GUIDs.
pub fn other_tenant(token: &str) -> Option<OtherTenant> {
    let claims = super::permissions::claims(token)?;
    let tenant = claims.get("tid")?.as_str().filter(|t| is_guid(t))?;
    let idp = claims.get("idp")?.as_str()?;
    let home = if idp.eq_ignore_ascii_case("live.com") {
        MSA_TENANT
    } else {
        idp.split('/').find(|seg| is_guid(seg))?
    };
    (!home.eq_ignore_ascii_case(tenant)).then(|| OtherTenant {
        tenant: tenant.to_ascii_lowercase(),
        home: home.to_ascii_lowercase(),
    })
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, hex digits.
fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod claim_tests {
    use super::*;
    use crate::graph::pem::b64url;

    const CUSTOMER: &str = "11111111-2222-3333-4444-555555555555";
    const PARTNER: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

    fn token(claims: serde_json::Value) -> String {
        format!(
            "{}.{}.sig",
            b64url(br#"{"typ":"JWT","alg":"RS256"}"#),
            b64url(claims.to_string().as_bytes())
        )
    }

    #[test]
    fn a_user_from_another_tenant_is_read_from_idp() {
        let t = token(serde_json::json!({
            "tid": CUSTOMER,
            "iss": format!("https://sts.windows.net/{CUSTOMER}/"),
            "idp": format!("https://sts.windows.net/{PARTNER}/"),
            "upn": "tech@partner.example",
        }));
        assert_eq!(
            other_tenant(&t),
            Some(OtherTenant {
                tenant: CUSTOMER.into(),
                home: PARTNER.into()
            })
        );
        // v2.0 issuer form, upper case.
        let t = token(serde_json::json!({
            "tid": CUSTOMER,
            "idp": format!("https://login.microsoftonline.com/{}/v2.0", PARTNER.to_uppercase()),
        }));
        assert_eq!(other_tenant(&t).map(|o| o.home), Some(PARTNER.into()));
        let t = token(serde_json::json!({"tid": CUSTOMER, "idp": "live.com"}));
        assert_eq!(other_tenant(&t).map(|o| o.home), Some(MSA_TENANT.into()));
    }

    #[test]
    fn an_own_user_or_no_idp_is_none() {
        let own = format!("https://sts.windows.net/{CUSTOMER}/");
        assert_eq!(
            other_tenant(&token(serde_json::json!({"tid": CUSTOMER, "idp": own}))),
            None
        );
        assert_eq!(
            other_tenant(&token(serde_json::json!({"tid": CUSTOMER}))),
            None
        );
    }

    #[test]
    fn malformed_tokens_are_none() {
        for bad in [
            "",
            ".",
            "abc",
            "a.b.c",
            "a.!!!.c",
            "a..c",
            &format!("a.{}.c", b64url(b"not json")),
            &format!("a.{}.c", b64url(b"[1,2]")),
            &token(serde_json::json!({"tid": 5, "idp": PARTNER})),
            &token(
                serde_json::json!({"tid": "x", "idp": format!("https://sts.windows.net/{PARTNER}/")}),
            ),
            &token(serde_json::json!({"tid": CUSTOMER, "idp": "https://accounts.google.com/"})),
            &token(
                serde_json::json!({"tid": CUSTOMER, "idp": "https://sts.windows.net/é€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€/"}),
            ),
        ] {
            assert_eq!(other_tenant(bad), None, "{bad}");
        }
    }
}
