//! JSON batching: `POST /v1.0/$batch` with at most 20 requests each, per-item status, and
//! only the throttled items sent again.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::{GraphClient, Response};
use super::error::GraphError;

/// Graph's limit of requests in one batch.
pub const MAX_BATCH: usize = 20;

/// One request in a batch; `url` is relative to the version (`/users/{id}`).
#[derive(Debug, Clone, Serialize)]
pub struct BatchRequest {
    pub id: String,
    pub method: String,
    pub url: String,
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub headers: HashMap<String, String>,
}

impl BatchRequest {
    pub fn get(id: impl Into<String>, url: impl Into<String>) -> Self {
        BatchRequest {
            id: id.into(),
            method: "GET".into(),
            url: url.into(),
            headers: HashMap::new(),
        }
    }
}

/// One answer in a batch.
#[derive(Debug, Clone, Deserialize)]
pub struct BatchItem {
    pub id: String,
    pub status: u16,
    #[serde(default)]
    pub headers: HashMap<String, String>,
    #[serde(default)]
    pub body: serde_json::Value,
}

impl BatchItem {
    /// A header of the item's answer, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn retry_after(&self) -> Option<Duration> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
            .and_then(|(_, v)| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }
}

impl GraphClient {
    /// The error of a batch item answered 403, naming what the token lacks for that item's
    /// route (each item is authorized on its own; the batch itself needs nothing).
    pub async fn batch_item_refusal(
        &self,
        request: &BatchRequest,
        item: &BatchItem,
    ) -> Option<GraphError> {
        if item.status != 403 {
            return None;
        }
        let token = self.tokens().access_token().await.unwrap_or_default();
        let body = &item.body["error"];
        Some(GraphError::Forbidden {
            refusal: Box::new(super::permissions::Refusal::explain(
                &request.method,
                &format!("/v1.0{}", request.url),
                &token,
            )),
            code: body["code"].as_str().unwrap_or_default().to_string(),
            request_id: item
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("request-id"))
                .map(|(_, v)| v.clone()),
        })
    }
}

#[derive(Deserialize)]
struct BatchAnswer {
    responses: Vec<BatchItem>,
}

impl GraphClient {
    /// Send `requests` in batches of [`MAX_BATCH`]; items answered 429 are sent again after
    /// their `Retry-After` (up to the retry policy's attempts), every other status is final.
    /// Answers come back in the order of `requests`. Ids must be unique.
    pub async fn batch(&self, requests: Vec<BatchRequest>) -> Result<Vec<BatchItem>, GraphError> {
        let order: Vec<String> = requests.iter().map(|r| r.id.clone()).collect();
        let mut done: HashMap<String, BatchItem> = HashMap::new();
        let mut pending = requests;
        let mut round = 0u32;
        while !pending.is_empty() {
            round += 1;
            let mut again = Vec::new();
            let mut wait: Option<Duration> = None;
            for chunk in pending.chunks(MAX_BATCH) {
                let body = serde_json::json!({ "requests": chunk });
                let answer: Response<BatchAnswer> =
                    self.request("/v1.0/$batch", Some(&body), &[]).await?;
                let by_id: HashMap<&str, &BatchRequest> =
                    chunk.iter().map(|r| (r.id.as_str(), r)).collect();
                for item in answer.body.responses {
                    let Some(req) = by_id.get(item.id.as_str()) else {
                        continue;
                    };
                    if item.status == 429 && round < self.retry_policy().max_attempts {
                        let after = self.retry_policy().delay(round, item.retry_after());
                        wait = Some(wait.map_or(after, |w| w.max(after)));
                        again.push((*req).clone());
                    }
                    done.insert(item.id.clone(), item);
                }
            }
            if let Some(w) = wait {
                tracing::warn!(
                    items = again.len(),
                    delay_ms = w.as_millis() as u64,
                    "retrying throttled batch items"
                );
                tokio::time::sleep(w).await;
            }
            pending = again;
        }
        order
            .into_iter()
            .map(|id| {
                done.remove(&id).ok_or_else(|| GraphError::Decode {
                    url: "/v1.0/$batch".into(),
                    message: format!("no answer for batch item {id}"),
                })
            })
            .collect()
    }
}
