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
