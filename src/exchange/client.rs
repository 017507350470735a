//! The Exchange Online admin client: one POST per cmdlet to either the documented (preview)
//! Admin API (`/adminapi/v2.0/{tenant}/{Endpoint}`) or the undocumented `InvokeCommand` route
//! the ExchangeOnlineManagement v3 module uses (`/adminapi/beta/{tenant}/InvokeCommand`), with
//! the same tokens, retries and backoff as the Graph client. Paging follows
//! `@odata.nextLink` (the same body is posted again); `@adminapi.warnings` are kept.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tracing::Instrument;

use super::error::{ExchangeError, parse_error};
use crate::graph::RetryPolicy;
use crate::graph::auth::{SignIn, TokenProvider};
use crate::graph::client::encode;

/// Token scope for Exchange Online in the global cloud.
pub const GLOBAL_EXCHANGE_SCOPE: &str = "https://outlook.office365.com/.default";

/// The routing mailbox app-only callers name in `X-AnchorMailbox`. The ExchangeOnlineManagement
/// module uses this system mailbox; the value is not documented by Microsoft.
pub fn system_anchor(tenant: &str) -> String {
    format!("UPN:SystemMailbox{{bb558c35-97f1-4cb9-8ff7-d53741dc928c}}@{tenant}")
}

/// Which Exchange endpoint a cmdlet is posted to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// Documented, preview: `POST {exo}/adminapi/v2.0/{tenant}/{endpoint}` (`Mailbox`,
    /// `AcceptedDomain`, `OrganizationConfig`, …), a fixed set of cmdlets and parameters each.
    AdminApi(&'a str),
    /// Undocumented: `POST {exo}/adminapi/beta/{tenant}/InvokeCommand`, any cmdlet the caller's
    /// RBAC roles allow.
    InvokeCommand,
}

/// What a cmdlet returned over all pages.
#[derive(Debug, Clone, Default)]
pub struct Invoked {
    /// The objects of every page's `value`.
    pub values: Vec<Value>,
    /// Every page's `@adminapi.warnings`, in order.
    pub warnings: Vec<String>,
    /// The `request-id` of each page's answer (the audit log cites them).
    pub request_ids: Vec<String>,
    /// `Rate-Limit-Remaining` / `Rate-Limit-Reset` of the last answer.
    pub pace: crate::graph::Pace,
    /// 429s waited out (`Retry-After`) before the answer: none of them ran the cmdlet.
    pub throttled: u32,
}

/// Default objects per page (`Prefer: odata.maxpagesize`); the module asks for up to 1000.
pub const DEFAULT_PAGE_SIZE: usize = 1000;

pub struct ExchangeClient {
    http: reqwest::Client,
    base: String,
    tenant: String,
    tokens: Arc<TokenProvider>,
    retry: RetryPolicy,
    anchor: String,
    page_size: usize,
}

impl ExchangeClient {
    /// A client for `exchange_url` (e.g. `https://outlook.office365.com`). `sign_in.scope`
    /// must be Exchange's (`{exchange}/.default`), and a token cache, if any, must not be the
    /// Graph one (the cache keeps one scope).
    pub fn new(exchange_url: &str, sign_in: SignIn) -> Result<Self, ExchangeError> {
        let http = crate::graph::client::http_client().map_err(ExchangeError::from)?;
        let tenant = sign_in.tenant.clone();
        Ok(ExchangeClient {
            tokens: Arc::new(TokenProvider::new(http.clone(), sign_in)),
            http,
            base: exchange_url.trim_end_matches('/').to_string(),
            anchor: system_anchor(&tenant),
            tenant,
            retry: RetryPolicy::default(),
            page_size: DEFAULT_PAGE_SIZE,
        })
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub fn tokens(&self) -> &TokenProvider {
        &self.tokens
    }

    /// Replace the retry policy (tests use short delays).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Objects per page asked for (at least 1).
    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Another `X-AnchorMailbox` (e.g. `UPN:admin@contoso.com` for a delegated sign-in).
    pub fn with_anchor(mut self, anchor: &str) -> Self {
        self.anchor = anchor.to_string();
        self
    }

    fn url(&self, route: Route<'_>) -> String {
        let tenant = encode(&self.tenant);
        match route {
            Route::AdminApi(endpoint) => {
                format!("{}/adminapi/v2.0/{tenant}/{}", self.base, encode(endpoint))
            }
            Route::InvokeCommand => format!("{}/adminapi/beta/{tenant}/InvokeCommand", self.base),
        }
    }

    /// Run one cmdlet and follow `@odata.nextLink` to the last page.
    pub async fn invoke(
        &self,
        route: Route<'_>,
        cmdlet: &str,
        parameters: Value,
    ) -> Result<Invoked, ExchangeError> {
        let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}});
        let mut out = Invoked::default();
        let mut next = Some(self.url(route));
        while let Some(url) = next {
            let (page, request_id, pace, throttled) = self.post(&url, &body, cmdlet, false).await?;
            out.pace = pace;
            out.throttled += throttled;
            if let Some(id) = request_id {
                out.request_ids.push(id);
            }
            match page.get("value") {
                Some(Value::Array(values)) => out.values.extend(values.iter().cloned()),
                // A cmdlet without output (Set-…, Remove-…) answers without `value`.
                None | Some(Value::Null) => {}
                Some(_) => {
                    return Err(ExchangeError::Decode {
                        url,
                        message: "'value' is not a list".into(),
                    });
                }
            }
            if let Some(Value::Array(w)) = page.get("@adminapi.warnings") {
                out.warnings
                    .extend(w.iter().filter_map(|w| w.as_str()).map(str::to_string));
            }
            next = page
                .get("@odata.nextLink")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        for w in &out.warnings {
            tracing::info!(cmdlet, warning = %w, "Exchange warning");
        }
        Ok(out)
    }

    /// Run one mutating cmdlet (one request, no paging). Unlike [`ExchangeClient::invoke`] it
    /// retries only failures that prove the cmdlet did not run (429 with `Retry-After`, a
    /// connection that was never made, an expired token): after a 5xx or a connection dropped
    /// once the request was sent, the change may have been applied, so the error goes back to
    /// the caller (cutover's executor re-reads the object instead of re-sending blindly).
    pub async fn invoke_write(
        &self,
        route: Route<'_>,
        cmdlet: &str,
        parameters: Value,
    ) -> Result<Invoked, ExchangeError> {
        let body = json!({"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}});
        let url = self.url(route);
        let (page, request_id, pace, throttled) = self.post(&url, &body, cmdlet, true).await?;
        let mut out = Invoked {
            pace,
            throttled,
            ..Invoked::default()
        };
        out.request_ids.extend(request_id);
        if let Some(Value::Array(values)) = page.get("value") {
            out.values.extend(values.iter().cloned());
        }
        if let Some(Value::Array(w)) = page.get("@adminapi.warnings") {
            out.warnings
                .extend(w.iter().filter_map(|w| w.as_str()).map(str::to_string));
        }
        Ok(out)
    }

    /// One page, retrying 429/5xx (honouring `Retry-After`), dropped connections and one
    /// expired token; for a write (`write`), only failures after which it surely did not run.
    async fn post(
        &self,
        url: &str,
        body: &Value,
        cmdlet: &str,
        write: bool,
    ) -> Result<(Value, Option<String>, crate::graph::Pace, u32), ExchangeError> {
        let mut attempt = 0u32;
        let mut token_refreshed = false;
        let mut throttled = 0u32;
        loop {
            attempt += 1;
            let failure = match self.send_once(url, body, cmdlet).await {
                Ok((text, request_id, pace)) => {
                    let page = if text.trim().is_empty() {
                        Value::Object(Default::default())
                    } else {
                        serde_json::from_str(&text).map_err(|e| ExchangeError::Decode {
                            url: url.to_string(),
                            message: e.to_string(),
                        })?
                    };
                    return Ok((page, request_id, pace, throttled));
                }
                Err(f) => f,
            };
            if failure.error.status() == Some(429) {
                throttled += 1;
            }
            if failure.expired_token && !token_refreshed {
                token_refreshed = true;
                self.tokens.invalidate().await;
                attempt -= 1;
                continue;
            }
            if !failure.retryable
                || attempt >= self.retry.max_attempts
                || (write && failure.may_have_run)
            {
                return Err(failure.error);
            }
            let delay = self.retry.delay(attempt, failure.retry_after);
            tracing::warn!(url, cmdlet, attempt, delay_ms = delay.as_millis() as u64, error = %failure.error, "retrying Exchange request");
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once(
        &self,
        url: &str,
        body: &Value,
        cmdlet: &str,
    ) -> Result<(String, Option<String>, crate::graph::Pace), Failure> {
        let token = self.tokens.access_token().await.map_err(|e| {
            let retryable = matches!(e, crate::graph::GraphError::Transport { .. });
            // Only the token endpoint was asked: the cmdlet was not sent.
            Failure::new(ExchangeError::from(e), retryable).not_sent()
        })?;
        let client_request_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::debug_span!("exchange_request", url, cmdlet, client_request_id = %client_request_id);
        let response = self
            .http
            .post(url)
            .json(body)
            .bearer_auth(&token)
            .header("client-request-id", &client_request_id)
            .header("X-AnchorMailbox", &self.anchor)
            .header("X-CmdletName", cmdlet)
            .header("Prefer", format!("odata.maxpagesize={}", self.page_size))
            .header("Accept", "application/json")
            .send()
            .instrument(span)
            .await
            .map_err(|e| {
                // A connection never made cannot have carried the request.
                let connect = e.is_connect();
                let failure = Failure::new(transport(url, e), true);
                if connect { failure.not_sent() } else { failure }
            })?;
        let crate::graph::answer::Answer {
            status,
            request_id,
            retry_after,
            pace,
            text,
        } = crate::graph::answer::read(response)
            .await
            .map_err(|e| Failure::new(transport(url, e), true))?;
        if status.is_success() {
            return Ok((text, request_id, pace));
        }
        let status = status.as_u16();
        if status == 403 {
            // Final: name what the token lacks; retrying cannot add a permission.
            return Err(Failure::new(
                ExchangeError::Forbidden {
                    refusal: Box::new(crate::graph::permissions::Refusal::explain(
                        "POST", url, &token,
                    )),
                    request_id,
                },
                false,
            ));
        }
        let error = parse_error(status, &text, request_id);
        let expired_token = status == 401;
        Err(Failure {
            retryable: matches!(status, 429 | 500 | 502 | 503 | 504),
            retry_after,
            expired_token,
            // Throttling and sign-in are refused before the cmdlet runs; a 5xx may come after.
            may_have_run: status >= 500,
            error,
        })
    }
}

struct Failure {
    error: ExchangeError,
    retryable: bool,
    retry_after: Option<Duration>,
    expired_token: bool,
    /// Whether the service may have run the cmdlet before this failure (a write must then not
    /// be re-sent blindly).
    may_have_run: bool,
}

impl Failure {
    fn new(error: ExchangeError, retryable: bool) -> Failure {
        Failure {
            error,
            retryable,
            retry_after: None,
            expired_token: false,
            may_have_run: true,
        }
    }

    fn not_sent(mut self) -> Failure {
        self.may_have_run = false;
        self
    }
}

fn transport(url: &str, err: reqwest::Error) -> ExchangeError {
    match crate::graph::client::transport(url, err) {
        crate::graph::GraphError::Transport { url, message } => {
            ExchangeError::Transport { url, message }
        }
        other => ExchangeError::SignIn(other),
    }
}
