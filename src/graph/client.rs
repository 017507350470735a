//! A Microsoft Graph v1.0 client: tokens from [`TokenProvider`], JSON GETs with
//! `@odata.nextLink` paging, typed errors carrying Microsoft's `request-id`. It knows nothing
//! about the rehearsal environment: only the base URLs differ.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

use tracing::Instrument;

use super::auth::{Auth, SignIn, TokenProvider};
use super::error::GraphError;
use super::model::{
    Application, DirectoryObjectRef, Domain, DomainDnsRecord, Group, OrgContact, Organization, User,
};

/// Where to sign in, where Graph lives and which resource to ask a token for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub login_url: String,
    pub graph_url: String,
    /// Token scope, `https://graph.microsoft.com/.default` in the global cloud; national
    /// clouds have their own Graph host.
    pub graph_scope: String,
}

impl Endpoints {
    /// Microsoft's global cloud.
    pub fn global() -> Self {
        Endpoints {
            login_url: "https://login.microsoftonline.com".into(),
            graph_url: "https://graph.microsoft.com".into(),
            graph_scope: GLOBAL_GRAPH_SCOPE.into(),
        }
    }
}

pub const GLOBAL_GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

/// App-only credentials. `Debug` never prints the secret.
#[derive(Clone)]
pub struct Credentials {
    /// Tenant id or a verified domain of the tenant.
    pub tenant: String,
    pub client_id: String,
    pub client_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .finish()
    }
}

/// A Graph response body with the `request-id` Microsoft gave it.
#[derive(Debug, Clone)]
pub struct Response<T> {
    pub body: T,
    pub request_id: Option<String>,
}

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

pub(crate) const USER_SELECT: &str = "id,displayName,userPrincipalName,mail,proxyAddresses,accountEnabled,onPremisesSyncEnabled,assignedLicenses";
pub(crate) const GROUP_SELECT: &str =
    "id,displayName,mail,mailEnabled,securityEnabled,groupTypes,proxyAddresses";

pub struct GraphClient {
    http: reqwest::Client,
    pub(super) endpoints: Endpoints,
    pub(super) tokens: Arc<TokenProvider>,
    pub(super) retry: RetryPolicy,
    /// Requests in flight to this tenant at most (Graph throttles per app and tenant).
    pub(super) limit: Arc<tokio::sync::Semaphore>,
}

/// Default requests in flight per tenant.
pub const DEFAULT_CONCURRENCY: usize = 8;

impl GraphClient {
    /// App-only sign-in with a client secret, tokens in memory only.
    pub fn new(endpoints: Endpoints, credentials: Credentials) -> Result<Self, GraphError> {
        let graph_url = endpoints.graph_url.clone();
        GraphClient::with_sign_in(
            &graph_url,
            SignIn {
                login_url: endpoints.login_url,
                tenant: credentials.tenant,
                client_id: credentials.client_id,
                scope: endpoints.graph_scope,
                auth: Auth::ClientSecret(credentials.client_secret),
                cache: None,
                warn: None,
            },
        )
    }

    /// Any sign-in method, with an optional token cache.
    pub fn with_sign_in(graph_url: &str, sign_in: SignIn) -> Result<Self, GraphError> {
        let http = http_client()?;
        let tokens = Arc::new(TokenProvider::new(http.clone(), sign_in));
        Ok(GraphClient {
            http,
            endpoints: Endpoints {
                login_url: String::new(),
                graph_url: graph_url.trim_end_matches('/').to_string(),
                graph_scope: String::new(),
            },
            tokens,
            retry: RetryPolicy::default(),
            limit: Arc::new(tokio::sync::Semaphore::new(DEFAULT_CONCURRENCY)),
        })
    }

    /// The token provider, e.g. for `cutover login` to sign in without a Graph call.
    pub fn tokens(&self) -> &TokenProvider {
        &self.tokens
    }

    /// At most `n` (at least 1) requests in flight to this tenant at once.
    pub fn with_concurrency(mut self, n: usize) -> Self {
        self.limit = Arc::new(tokio::sync::Semaphore::new(n.max(1)));
        self
    }

    /// Requests this client may start now without waiting for the limit.
    pub fn available_slots(&self) -> usize {
        self.limit.available_permits()
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Replace the retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn tenant(&self) -> &str {
        self.tokens.tenant()
    }

    /// GET a Graph path (`/v1.0/...`) or an absolute URL (a nextLink), retrying what Graph
    /// says is passing: connection failures, 429/5xx (honouring `Retry-After`), a concurrency
    /// violation, and one expired token.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path_or_url: &str,
    ) -> Result<Response<T>, GraphError> {
        self.request(path_or_url, None, &[]).await
    }

    /// GET with `ConsistencyLevel: eventual`, which Graph's advanced queries (`$count`,
    /// `$search`, `endsWith` filters) need.
    pub async fn get_eventual<T: DeserializeOwned>(
        &self,
        path_or_url: &str,
    ) -> Result<Response<T>, GraphError> {
        self.request(path_or_url, None, &[("ConsistencyLevel", "eventual")])
            .await
    }

    /// The number of objects in a collection (`/v1.0/users`, optionally with `$filter`),
    /// from `$count=true&$top=1` under `ConsistencyLevel: eventual`.
    pub async fn count(&self, collection: &str) -> Result<u64, GraphError> {
        #[derive(Deserialize)]
        struct Counted {
            #[serde(rename = "@odata.count")]
            count: Option<u64>,
        }
        let sep = if collection.contains('?') { '&' } else { '?' };
        let url = format!("{collection}{sep}$count=true&$top=1&$select=id");
        let r: Response<Counted> = self.get_eventual(&url).await?;
        r.body.count.ok_or_else(|| GraphError::Decode {
            url,
            message: "no @odata.count in the answer".into(),
        })
    }

    /// GET or POST (when `body` is given) with retries; see [`GraphClient::get`].
    pub(crate) async fn request<T: DeserializeOwned>(
        &self,
        path_or_url: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<Response<T>, GraphError> {
        let url = if path_or_url.starts_with("http://") || path_or_url.starts_with("https://") {
            path_or_url.to_string()
        } else {
            format!("{}{}", self.endpoints.graph_url, path_or_url)
        };
        let mut attempt = 0u32;
        let mut token_refreshed = false;
        loop {
            attempt += 1;
            let sent = {
                // The per-tenant limit covers the request only, not the backoff sleep.
                let _permit = self
                    .limit
                    .acquire()
                    .await
                    .map_err(|_| GraphError::Config("the request limiter was closed".into()))?;
                let method = if body.is_some() {
                    reqwest::Method::POST
                } else {
                    reqwest::Method::GET
                };
                self.send_once(method, &url, body, headers).await
            };
            let failure = match sent {
                Ok((text, request_id, _)) => {
                    let body = serde_json::from_str(&text).map_err(|e| GraphError::Decode {
                        url: url.clone(),
                        message: e.to_string(),
                    })?;
                    return Ok(Response { body, request_id });
                }
                Err(failure) => failure,
            };
            if failure.expired_token && !token_refreshed {
                // The token died between our cache check and Graph's; get a new one once.
                token_refreshed = true;
                self.tokens.invalidate().await;
                attempt -= 1;
                continue;
            }
            let delay = match (failure.retryable, attempt < self.retry.max_attempts) {
                (true, true) => self.retry.delay(attempt, failure.retry_after),
                _ => return Err(failure.error),
            };
            tracing::warn!(url = %url, attempt, delay_ms = delay.as_millis() as u64, error = %failure.error, "retrying Graph request");
            tokio::time::sleep(delay).await;
        }
    }

    /// One try: the body text and `request-id`, or a classified failure.
    pub(super) async fn send_once(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&serde_json::Value>,
        headers: &[(&str, &str)],
    ) -> Result<(String, Option<String>, super::Pace), Failure> {
        let token = self.tokens.access_token().await.map_err(|error| Failure {
            retryable: matches!(error, GraphError::Transport { .. }),
            error,
            retry_after: None,
            expired_token: false,
            // Only the token endpoint was asked.
            may_have_run: false,
        })?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::debug_span!("graph_request", url = %url, client_request_id = %client_request_id);
        let mut builder = self.http.request(method.clone(), url);
        if let Some(b) = body {
            builder = builder.json(b);
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = builder
            .bearer_auth(&token)
            .header("client-request-id", &client_request_id)
            .header("Accept", "application/json")
            .send()
            .instrument(span)
            .await
            .map_err(|e| {
                // A connection never made cannot have carried the request.
                let sent = !e.is_connect();
                Failure::transport(url, e, sent)
            })?;
        let super::answer::Answer {
            status,
            request_id,
            retry_after,
            pace,
            text,
        } = super::answer::read(response)
            .await
            .map_err(|e| Failure::transport(url, e, true))?;
        if status.is_success() {
            return Ok((text, request_id, pace));
        }
        let (code, message) = match serde_json::from_str::<ErrorEnvelope>(&text) {
            Ok(env) => (env.error.code, env.error.message),
            Err(_) => (
                format!("HTTP{}", status.as_u16()),
                status.canonical_reason().unwrap_or("error").to_string(),
            ),
        };
        tracing::debug!(status = status.as_u16(), %code, request_id = ?request_id, "graph error");
        let status = status.as_u16();
        if status == 403 {
            // Final: a missing permission does not come back by retrying.
            return Err(Failure {
                retryable: false,
                expired_token: false,
                retry_after: None,
                may_have_run: false,
                error: GraphError::Forbidden {
                    refusal: Box::new(super::permissions::Refusal::explain(
                        method.as_str(),
                        url,
                        &token,
                    )),
                    code,
                    request_id,
                },
            });
        }
        Err(Failure {
            retryable: matches!(status, 429 | 500 | 502 | 503 | 504)
                || (status == 409 && code == "Directory_ConcurrencyViolation"),
            expired_token: status == 401 && code == "InvalidAuthenticationToken",
            retry_after,
            // Throttling, sign-in and refusals come before the request runs; a 5xx may come
            // after it ran.
            may_have_run: status >= 500,
            error: GraphError::Api {
                status,
                code,
                message,
                request_id,
            },
        })
    }

    /// GET a collection and follow `@odata.nextLink` to the end.
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, GraphError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(url) = next {
            let page: Response<Page<T>> = self.get(&url).await?;
            items.extend(page.body.value);
            next = page.body.next_link;
        }
        Ok(items)
    }

    pub async fn organization(&self) -> Result<Organization, GraphError> {
        let orgs: Vec<Organization> = self.get_all("/v1.0/organization").await?;
        orgs.into_iter().next().ok_or_else(|| GraphError::Decode {
            url: format!("{}/v1.0/organization", self.endpoints.graph_url),
            message: "no organization in the answer".into(),
        })
    }

    pub async fn domains(&self) -> Result<Vec<Domain>, GraphError> {
        self.get_all("/v1.0/domains").await
    }

    /// The domain, or `None` when this tenant does not have it (404).
    pub async fn domain(&self, id: &str) -> Result<Option<Domain>, GraphError> {
        match self
            .get::<Domain>(&format!("/v1.0/domains/{}", encode(id)))
            .await
        {
            Ok(r) => Ok(Some(r.body)),
            Err(e) if e.status() == Some(404) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub async fn service_configuration_records(
        &self,
        id: &str,
    ) -> Result<Vec<DomainDnsRecord>, GraphError> {
        self.get_all(&format!(
            "/v1.0/domains/{}/serviceConfigurationRecords",
            encode(id)
        ))
        .await
    }

    pub async fn verification_dns_records(
        &self,
        id: &str,
    ) -> Result<Vec<DomainDnsRecord>, GraphError> {
        self.get_all(&format!(
            "/v1.0/domains/{}/verificationDnsRecords",
            encode(id)
        ))
        .await
    }

    pub async fn domain_name_references(
        &self,
        id: &str,
    ) -> Result<Vec<DirectoryObjectRef>, GraphError> {
        // Up to 999 a page, as for users: a 100k tenant has about as many references. Only
        // what `DirectoryObjectRef` keeps (`@odata.type` always comes).
        self.get_all(&format!(
            "/v1.0/domains/{}/domainNameReferences?$select=id,displayName&$top=999",
            encode(id)
        ))
        .await
    }

    /// Every user with the fields cutover needs (`proxyAddresses` only comes when selected).
    pub async fn users(&self) -> Result<Vec<User>, GraphError> {
        self.get_all(&format!("/v1.0/users?$select={USER_SELECT}&$top=999"))
            .await
    }

    pub async fn contacts(&self) -> Result<Vec<OrgContact>, GraphError> {
        self.get_all("/v1.0/contacts?$select=id,displayName,mail,proxyAddresses&$top=999")
            .await
    }

    pub async fn applications(&self) -> Result<Vec<Application>, GraphError> {
        self.get_all("/v1.0/applications?$select=id,appId,displayName,identifierUris,signInAudience,web&$top=999")
            .await
    }

    pub async fn groups(&self) -> Result<Vec<Group>, GraphError> {
        self.get_all(&format!("/v1.0/groups?$select={GROUP_SELECT}&$top=999"))
            .await
    }
}

/// A failed try and whether trying again can help.
pub(super) struct Failure {
    pub(super) error: GraphError,
    pub(super) retryable: bool,
    pub(super) retry_after: Option<Duration>,
    pub(super) expired_token: bool,
    /// Whether Graph may have carried out the request before this failure: a write must then
    /// not be re-sent blindly (`graph::write`).
    pub(super) may_have_run: bool,
}

impl Failure {
    fn transport(url: &str, err: reqwest::Error, sent: bool) -> Failure {
        Failure {
            error: transport(url, err),
            retryable: true,
            retry_after: None,
            expired_token: false,
            may_have_run: sent,
        }
    }
}

/// How often and how patiently to retry passing failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the second try; doubles each time.
    pub base_delay: Duration,
    /// Longest wait, whatever `Retry-After` says.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// `Retry-After` when the service gave one, else exponential backoff with jitter (half to
    /// all of the doubled delay, so clients that failed together do not retry together).
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(after) = retry_after {
            return after.min(self.max_delay);
        }
        let doubled = self
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.max_delay);
        let jitter = (uuid::Uuid::new_v4().as_u128() % 1000) as u32;
        doubled / 2 + (doubled / 2) * jitter / 1000
    }
}

pub(crate) fn transport(url: &str, err: reqwest::Error) -> GraphError {
    // reqwest's Display can include the URL; ours is already in the message.
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        message = format!("{message}: {s}");
        source = s.source();
    }
    GraphError::Transport {
        url: url.to_string(),
        message,
    }
}

/// One HTTP client per Graph client: timeouts, user agent, ring as the TLS provider.
pub(crate) fn http_client() -> Result<reqwest::Client, GraphError> {
    // reqwest is built without a bundled crypto provider; install ring once per process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| GraphError::Config(e.to_string()))
}

/// Percent-encode a path segment (domain names and tenant ids are plain, but never trust
/// input). The Exchange client uses it too.
pub(crate) fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
