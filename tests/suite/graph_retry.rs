//! The Graph client's handling of passing failures, against a small real HTTP server on
//! loopback that misbehaves on purpose (429 with Retry-After, 503, an expired token).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::graph::{Credentials, Endpoints, GraphClient, GraphError, RetryPolicy};

#[derive(Default)]
struct Counters {
    tokens: AtomicU32,
    calls: AtomicU32,
}

fn graph_error(status: StatusCode, code: &str) -> axum::response::Response {
    let body = serde_json::json!({"error": {"code": code, "message": "test", "innerError": {"request-id": "r"}}});
    (status, [("request-id", "req-err")], axum::Json(body)).into_response()
}

/// `script` decides the answer of the n-th Graph call (0-based).
async fn serve(script: fn(u32, &HeaderMap) -> axum::response::Response) -> (String, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let c1 = counters.clone();
    let c2 = counters.clone();
    let app = Router::new()
        .route(
            "/{tenant}/oauth2/v2.0/token",
            post(move || {
                let n = c1.tokens.fetch_add(1, Ordering::SeqCst);
                async move {
                    axum::Json(serde_json::json!({
                        "token_type": "Bearer", "expires_in": 3599, "access_token": format!("tok{n}")
                    }))
                }
            }),
        )
        .route(
            "/v1.0/domains",
            get(move |headers: HeaderMap| {
                let n = c2.calls.fetch_add(1, Ordering::SeqCst);
                async move { script(n, &headers) }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), counters)
}

fn ok() -> axum::response::Response {
    (
        [("request-id", "req-ok")],
        axum::Json(serde_json::json!({"value": [{"id": "contoso.example", "isVerified": true}]})),
    )
        .into_response()
}

fn client(base: &str) -> GraphClient {
    GraphClient::new(
        Endpoints {
            login_url: base.into(),
            graph_url: base.into(),
            graph_scope: GLOBAL_GRAPH_SCOPE.into(),
        },
        Credentials {
            tenant: "t".into(),
            client_id: "c".into(),
            client_secret: "s".into(),
        },
    )
    .expect("client")
    .with_retry(RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    })
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_honouring_retry_after() {
    let (base, counters) = serve(|n, _| match n {
        0 => (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1"), ("request-id", "req-429")],
            axum::Json(
                serde_json::json!({"error": {"code": "TooManyRequests", "message": "slow down"}}),
            ),
        )
            .into_response(),
        1 => graph_error(StatusCode::SERVICE_UNAVAILABLE, "serviceNotAvailable"),
        _ => ok(),
    })
    .await;
    let started = Instant::now();
    let domains = client(&base)
        .domains()
        .await
        .expect("succeeds after retries");
    assert_eq!(domains[0].id, "contoso.example");
    assert_eq!(counters.calls.load(Ordering::SeqCst), 3);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
}

#[tokio::test]
async fn persistent_failure_is_reported_with_its_request_id() {
    let (base, counters) = serve(|_, _| graph_error(StatusCode::BAD_GATEWAY, "badGateway")).await;
    match client(&base).domains().await {
        Err(GraphError::Api {
            status,
            code,
            request_id,
            ..
        }) => {
            assert_eq!(status, 502);
            assert_eq!(code, "badGateway");
            assert_eq!(request_id.as_deref(), Some("req-err"));
        }
        other => panic!("expected the 502 to surface, got {other:?}"),
    }
    assert_eq!(
        counters.calls.load(Ordering::SeqCst),
        4,
        "max_attempts tries"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let (base, counters) =
        serve(|_, _| graph_error(StatusCode::FORBIDDEN, "Authorization_RequestDenied")).await;
    let err = client(&base).domains().await.expect_err("403");
    assert_eq!(err.status(), Some(403));
    assert_eq!(counters.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_expired_token_is_replaced_once() {
    let (base, counters) = serve(|_, headers| {
        let auth = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if auth == "Bearer tok0" {
            graph_error(StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken")
        } else {
            ok()
        }
    })
    .await;
    client(&base).domains().await.expect("second token works");
    assert_eq!(counters.tokens.load(Ordering::SeqCst), 2);
    assert_eq!(counters.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_closed_port_is_a_transport_error_after_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let err = client(&format!("http://{addr}"))
        .domains()
        .await
        .expect_err("nothing listens");
    assert!(matches!(err, GraphError::Transport { .. }), "{err:?}");
    assert!(!err.to_string().contains("secret"));
}
