//! `POST /v1.0/$batch`: up to 20 requests (GET, and the write routes with their `body`), each sent through the same router (so each is
//! authorized, counted by the throttling bucket and exposed to injected faults on its own),
//! answered together with per-item status, headers and body.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::http::{Shared, graph_error, ids_of, router};

const MAX_ITEMS: usize = 20;

#[derive(Deserialize)]
struct Item {
    id: String,
    method: String,
    url: String,
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: Option<Value>,
}

#[derive(Deserialize)]
struct Batch {
    requests: Vec<Item>,
}

pub(crate) async fn batch(
    State(state): State<Shared>,
    headers: HeaderMap,
    req: Request,
) -> Response {
    let ids = ids_of(req.extensions());
    // An item whose write is answered by cutting the connection cuts the batch's.
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<super::conn::Peer>>()
        .cloned();
    let bytes = match axum::body::to_bytes(req.into_body(), 4 << 20).await {
        Ok(b) => b,
        Err(_) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Unreadable body.",
                &ids,
            );
        }
    };
    let Ok(batch) = serde_json::from_slice::<Batch>(&bytes) else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format.",
            &ids,
        );
    };
    if batch.requests.len() > MAX_ITEMS {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Number of batch requests exceeds the limit of 20.",
            &ids,
        );
    }
    let mut seen = std::collections::HashSet::new();
    if !batch.requests.iter().all(|i| seen.insert(i.id.clone())) {
        return graph_error(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Batch request ids must be unique.",
            &ids,
        );
    }
    let inner = router(state.clone());
    let auth = headers.get("authorization").cloned();
    let mut tasks = Vec::new();
    for item in batch.requests {
        let inner = inner.clone();
        let auth = auth.clone();
        let peer = peer.clone();
        tasks.push(tokio::spawn(async move {
            run_item(inner, auth, peer, item).await
        }));
    }
    let mut responses = Vec::new();
    for t in tasks {
        match t.await {
            Ok(v) => responses.push(v),
            Err(_) => {
                return graph_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "generalException",
                    "A batch item failed.",
                    &ids,
                );
            }
        }
    }
    Json(json!({ "responses": responses })).into_response()
}

async fn run_item(
    inner: axum::Router,
    auth: Option<axum::http::HeaderValue>,
    peer: Option<axum::extract::ConnectInfo<super::conn::Peer>>,
    item: Item,
) -> Value {
    let error = |status: u16, code: &str, message: &str| {
        json!({
            "id": item.id,
            "status": status,
            "headers": {"Content-Type": "application/json"},
            "body": {"error": {"code": code, "message": message}},
        })
    };
    let method = match item.method.to_ascii_uppercase().as_str() {
        "GET" => Method::GET,
        "POST" => Method::POST,
        "PATCH" => Method::PATCH,
        "DELETE" => Method::DELETE,
        _ => {
            return error(
                405,
                "BadRequest",
                "The rehearsal environment batches GET, POST, PATCH and DELETE requests.",
            );
        }
    };
    // Graph requires a Content-Type for an item with a body.
    let has_type = item
        .headers
        .keys()
        .any(|k| k.eq_ignore_ascii_case("content-type"));
    if item.body.is_some() && !has_type {
        return error(
            400,
            "BadRequest",
            "Content-Type header must be specified for a batch item with a body.",
        );
    }
    if !item.url.starts_with('/') || item.url.contains("$batch") {
        return error(400, "BadRequest", "Invalid request URI in the batch item.");
    }
    let mut builder = Request::builder()
        .method(method)
        .uri(format!("/v1.0{}", item.url));
    if let Some(a) = auth {
        builder = builder.header("authorization", a);
    }
    for (k, v) in &item.headers {
        builder = builder.header(k.as_str(), v.as_str());
    }
    let body = match &item.body {
        Some(v) => Body::from(v.to_string()),
        None => Body::empty(),
    };
    let Ok(mut req) = builder.body(body) else {
        return error(400, "BadRequest", "Invalid batch item.");
    };
    if let Some(p) = peer {
        req.extensions_mut().insert(p);
    }
    let Ok(resp) = inner.oneshot(req).await;
    let status = resp.status().as_u16();
    let mut headers = serde_json::Map::new();
    for name in [
        "retry-after",
        "content-type",
        "request-id",
        "x-ms-throttle-limit-percentage",
        "x-ms-throttle-scope",
    ] {
        if let Some(v) = resp.headers().get(name).and_then(|v| v.to_str().ok()) {
            headers.insert(name.to_string(), json!(v));
        }
    }
    match axum::body::to_bytes(resp.into_body(), 64 << 20).await {
        Ok(b) => json!({
            "id": item.id,
            "status": status,
            "headers": headers,
            "body": serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null),
        }),
        // An injected reset inside a batch surfaces as a failed item.
        Err(_) => error(503, "serviceNotAvailable", "The item's answer was cut off."),
    }
}
