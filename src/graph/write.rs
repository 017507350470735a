//! Graph writes: the UPN of a user, adding, verifying, making default and removing a domain.
//! Each returns Microsoft's `request-id`. Unlike reads, a write is retried only when the
//! failure proves Graph did not carry it out — 429 (throttled before it ran), a connection
//! never made, an expired token, a concurrency violation — never after a 5xx or a connection
//! lost once the request went out: the change engine reads the object instead
//! (`executor::reconcile`), so nothing is applied twice.

use reqwest::Method;
use serde::Deserialize;
use serde_json::{Value, json};

use super::GraphError;
use super::batch::{BatchItem, MAX_BATCH};
use super::client::{GraphClient, encode};

/// A write's answer: Microsoft's `request-id` and the body, if any (204s have none).
#[derive(Debug, Clone)]
pub struct Written {
    pub request_id: Option<String>,
    pub body: Value,
    /// `x-ms-throttle-limit-percentage` of the answer, if Graph sent it.
    pub pace: super::Pace,
    /// 429s waited out (`Retry-After`) before the answer: none of them ran the write.
    pub throttled: u32,
}

/// A domain as the change engine reads it back: `None` from [`GraphClient::domain_state`]
/// means 404 (gone, or never here).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DomainState {
    pub id: String,
    #[serde(default)]
    pub is_default: bool,
    #[serde(default)]
    pub is_verified: bool,
    /// Graph's `domainState`: `{operation: "ForceDelete", status: "InProgress", …}` while a
    /// forced removal runs; `null` otherwise (a plain DELETE in progress shows nothing).
    #[serde(default)]
    pub state: Option<Value>,
}

impl DomainState {
    /// Whether Graph says a removal of this domain is under way.
    pub fn removal_in_progress(&self) -> bool {
        self.state
            .as_ref()
            .and_then(|s| s.get("operation"))
            .and_then(Value::as_str)
            .is_some_and(|op| op.eq_ignore_ascii_case("ForceDelete") || op == "Delete")
    }
}

/// One write of a `$batch` ([`GraphClient::write_batch`]).
#[derive(Debug, Clone, Copy)]
pub struct BatchWrite<'a> {
    pub method: &'a str,
    /// A Graph path under `/v1.0/`.
    pub path: &'a str,
    pub body: Option<&'a Value>,
}

/// The mutating methods the change engine may send.
pub const WRITE_METHODS: [&str; 3] = ["PATCH", "POST", "DELETE"];

impl GraphClient {
    /// Send one mutating request (`PATCH`, `POST`, `DELETE`) to a Graph path (`/v1.0/...`).
    pub async fn write(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Written, GraphError> {
        let method = match method.to_ascii_uppercase().as_str() {
            "PATCH" => Method::PATCH,
            "POST" => Method::POST,
            "DELETE" => Method::DELETE,
            other => {
                return Err(GraphError::Config(format!(
                    "'{other}' is not a Graph write method (PATCH, POST or DELETE)"
                )));
            }
        };
        if !path.starts_with("/v1.0/") {
            return Err(GraphError::Config(format!(
                "a Graph write path must start with /v1.0/, not '{path}'"
            )));
        }
        let url = format!("{}{}", self.endpoints.graph_url, path);
        let mut attempt = 0u32;
        let mut token_refreshed = false;
        let mut throttled = 0u32;
        loop {
            attempt += 1;
            let sent = {
                let _permit = self
                    .limit
                    .acquire()
                    .await
                    .map_err(|_| GraphError::Config("the request limiter was closed".into()))?;
                self.send_once(method.clone(), &url, body, &[]).await
            };
            let failure = match sent {
                Ok((text, request_id, pace)) => {
                    // The write happened; an odd body does not undo it.
                    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
                    return Ok(Written {
                        request_id,
                        body,
                        pace,
                        throttled,
                    });
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
            if !failure.retryable || failure.may_have_run || attempt >= self.retry.max_attempts {
                return Err(failure.error);
            }
            let delay = self.retry.delay(attempt, failure.retry_after);
            tracing::warn!(url = %url, attempt, delay_ms = delay.as_millis() as u64, error = %failure.error, "retrying Graph write that did not run");
            tokio::time::sleep(delay).await;
        }
    }

    /// Up to [`MAX_BATCH`] writes in one `POST /v1.0/$batch`, one answer per write in the
    /// same order, each with its own `request-id` (the item's answer headers). The batch
    /// request itself is sent as a write ([`GraphClient::write`]: retried only when it surely
    /// did not run); if it fails, every write still open gets that error (ambiguous when the
    /// batch may have run). Items answered 429 (or `Directory_ConcurrencyViolation`) did not
    /// run: they go again in a new batch after their `Retry-After`, up to the retry policy's
    /// attempts. Every other item status is final: a 5xx item may have run, and the caller
    /// reads it back rather than re-sending.
    pub async fn write_batch(&self, writes: &[BatchWrite<'_>]) -> Vec<Result<Written, GraphError>> {
        let refuse = |why: String| vec![Err(GraphError::Config(why)); writes.len()];
        if writes.len() > MAX_BATCH {
            return refuse(format!(
                "{} writes in one batch; Graph takes at most {MAX_BATCH}",
                writes.len()
            ));
        }
        if let Some(w) = writes.iter().find(|w| {
            !WRITE_METHODS.contains(&w.method.to_ascii_uppercase().as_str())
                || !w.path.starts_with("/v1.0/")
        }) {
            return refuse(format!(
                "'{} {}' is not a Graph write under /v1.0/",
                w.method, w.path
            ));
        }
        let mut results: Vec<Option<Result<Written, GraphError>>> = vec![None; writes.len()];
        let mut throttled = vec![0u32; writes.len()];
        let mut pending: Vec<usize> = (0..writes.len()).collect();
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            let requests: Vec<Value> = pending
                .iter()
                .filter_map(|&i| {
                    let w = writes.get(i)?;
                    let mut r = json!({
                        "id": (i + 1).to_string(),
                        "method": w.method.to_ascii_uppercase(),
                        "url": w.path.strip_prefix("/v1.0").unwrap_or(w.path),
                    });
                    if let Some(body) = w.body {
                        r["body"] = body.clone();
                        r["headers"] = json!({"Content-Type": "application/json"});
                    }
                    Some(r)
                })
                .collect();
            let body = json!({ "requests": requests });
            let answer = match self.write("POST", "/v1.0/$batch", Some(&body)).await {
                Ok(a) => a,
                Err(e) => {
                    for &i in &pending {
                        if let Some(slot) = results.get_mut(i) {
                            *slot = Some(Err(e.clone()));
                        }
                    }
                    break;
                }
            };
            let items: Vec<BatchItem> = answer
                .body
                .get("responses")
                .cloned()
                .and_then(|v| serde_json::from_value(v).ok())
                .unwrap_or_default();
            let mut again = Vec::new();
            let mut wait: Option<std::time::Duration> = None;
            for &i in &pending {
                let id = (i + 1).to_string();
                let Some(item) = items.iter().find(|it| it.id == id) else {
                    // The batch ran but this item's answer is missing: it may have run.
                    if let Some(slot) = results.get_mut(i) {
                        *slot = Some(Err(GraphError::Decode {
                            url: "/v1.0/$batch".into(),
                            message: format!("no answer for batch item {id}"),
                        }));
                    }
                    continue;
                };
                let request_id = item.header("request-id").map(str::to_string);
                let code = item.body["error"]["code"].as_str().unwrap_or_default();
                let not_run = item.status == 429
                    || (item.status == 409 && code == "Directory_ConcurrencyViolation");
                if not_run {
                    if let Some(t) = throttled.get_mut(i) {
                        *t += u32::from(item.status == 429);
                    }
                    if round < self.retry.max_attempts {
                        let after = self.retry.delay(round, item.retry_after());
                        wait = Some(wait.map_or(after, |w| w.max(after)));
                        again.push(i);
                        continue;
                    }
                }
                let result = if (200..300).contains(&item.status) {
                    Ok(Written {
                        request_id,
                        body: item.body.clone(),
                        pace: super::Pace {
                            limit_used: item
                                .header("x-ms-throttle-limit-percentage")
                                .and_then(|v| v.trim().parse().ok()),
                            ..super::Pace::default()
                        },
                        throttled: throttled.get(i).copied().unwrap_or(0),
                    })
                } else if item.status == 403 {
                    let w = writes.get(i);
                    let req = super::batch::BatchRequest {
                        id: id.clone(),
                        method: w.map(|w| w.method.to_string()).unwrap_or_default(),
                        url: w
                            .map(|w| w.path.strip_prefix("/v1.0").unwrap_or(w.path).to_string())
                            .unwrap_or_default(),
                        headers: Default::default(),
                    };
                    Err(self
                        .batch_item_refusal(&req, item)
                        .await
                        .unwrap_or(GraphError::Api {
                            status: 403,
                            code: code.to_string(),
                            message: String::new(),
                            request_id,
                        }))
                } else {
                    Err(GraphError::Api {
                        status: item.status,
                        code: if code.is_empty() {
                            format!("HTTP{}", item.status)
                        } else {
                            code.to_string()
                        },
                        message: item.body["error"]["message"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                        request_id,
                    })
                };
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(result);
                }
            }
            if let Some(w) = wait {
                tracing::warn!(
                    items = again.len(),
                    delay_ms = w.as_millis() as u64,
                    "sending throttled batch writes again"
                );
                tokio::time::sleep(w).await;
            }
            pending = again;
        }
        results
            .into_iter()
            .map(|r| {
                r.unwrap_or_else(|| {
                    Err(GraphError::Decode {
                        url: "/v1.0/$batch".into(),
                        message: "no answer for a batch item".into(),
                    })
                })
            })
            .collect()
    }

    /// `PATCH /v1.0/users/{id}` with `body` (e.g. `{"userPrincipalName": …}`).
    pub async fn patch_user(&self, id: &str, body: &Value) -> Result<Option<String>, GraphError> {
        let path = format!("/v1.0/users/{}", encode(id));
        Ok(self.write("PATCH", &path, Some(body)).await?.request_id)
    }

    /// `POST /v1.0/domains` `{"id": name}`: the domain is added unverified.
    pub async fn add_domain(&self, name: &str) -> Result<Option<String>, GraphError> {
        let body = json!({"id": name});
        Ok(self
            .write("POST", "/v1.0/domains", Some(&body))
            .await?
            .request_id)
    }

    /// `POST /v1.0/domains/{id}/verify`: Graph checks the verification record in DNS.
    pub async fn verify_domain(&self, name: &str) -> Result<Option<String>, GraphError> {
        let path = format!("/v1.0/domains/{}/verify", encode(name));
        Ok(self.write("POST", &path, None).await?.request_id)
    }

    /// `PATCH /v1.0/domains/{id}` `{"isDefault": true}`.
    pub async fn set_default_domain(&self, name: &str) -> Result<Option<String>, GraphError> {
        let path = format!("/v1.0/domains/{}", encode(name));
        let body = json!({"isDefault": true});
        Ok(self.write("PATCH", &path, Some(&body)).await?.request_id)
    }

    /// `DELETE /v1.0/domains/{id}`: refused while anything references the domain; accepted
    /// removals complete later (`GET` answers 404 then).
    pub async fn delete_domain(&self, name: &str) -> Result<Option<String>, GraphError> {
        let path = format!("/v1.0/domains/{}", encode(name));
        Ok(self.write("DELETE", &path, None).await?.request_id)
    }

    /// `POST /v1.0/domains/{id}/forceDelete`, always with `disableUserAccounts` said
    /// explicitly: Graph's default is `true`, which disables every renamed user.
    pub async fn force_delete_domain(
        &self,
        name: &str,
        disable_user_accounts: bool,
    ) -> Result<Option<String>, GraphError> {
        let path = format!("/v1.0/domains/{}/forceDelete", encode(name));
        let body = json!({"disableUserAccounts": disable_user_accounts});
        Ok(self.write("POST", &path, Some(&body)).await?.request_id)
    }

    /// The domain with its removal state and the read's `request-id`; `None` on 404.
    pub async fn domain_state(
        &self,
        name: &str,
    ) -> Result<(Option<DomainState>, Option<String>), GraphError> {
        let path = format!("/v1.0/domains/{}", encode(name));
        match self.get::<DomainState>(&path).await {
            Ok(r) => Ok((Some(r.body), r.request_id)),
            Err(GraphError::Api {
                status: 404,
                request_id,
                ..
            }) => Ok((None, request_id)),
            Err(e) => Err(e),
        }
    }

    /// A user's current UPN (by object id) and the read's `request-id`.
    pub async fn user_principal_name(
        &self,
        id: &str,
    ) -> Result<(String, Option<String>), GraphError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Upn {
            user_principal_name: String,
        }
        let path = format!("/v1.0/users/{}?$select=id,userPrincipalName", encode(id));
        let r = self.get::<Upn>(&path).await?;
        Ok((r.body.user_principal_name, r.request_id))
    }
}

/// Whether a failed Graph write may nevertheless have been carried out: a 5xx, a connection
/// lost after sending, an unreadable answer. (A connection never made was retried already.)
pub fn ambiguous(e: &GraphError) -> bool {
    match e {
        GraphError::Transport { .. } | GraphError::Decode { .. } => true,
        GraphError::Api { status, .. } => *status >= 500,
        _ => false,
    }
}

/// The `request-id` a Graph failure carries, if Graph answered.
pub fn request_id_of(e: &GraphError) -> Option<String> {
    match e {
        GraphError::Api { request_id, .. } | GraphError::Forbidden { request_id, .. } => {
            request_id.clone()
        }
        _ => None,
    }
}
