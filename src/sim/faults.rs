//! Service trouble on demand, in front of every Graph route: a per-tenant throttling token
//! bucket answering 429 with `Retry-After`, fixed latency, and injected faults (5xx, a
//! connection dropped mid-body, slow responses) at configurable rates.

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::http::{Shared, graph_error, ids_of};
use super::throttle::{Bucket, Draw, WriteThrottle};

/// Faults injected into Graph responses; rates are fractions in 0..=1.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    /// Answer 503 (or 500/502/504) instead of serving.
    pub error_rate: f64,
    /// Send the status and part of the body, then drop the connection.
    pub reset_rate: f64,
    /// Wait `slow` before answering.
    pub slow_rate: f64,
    pub slow: Duration,
    /// Added to every Graph request.
    pub latency: Duration,
}

/// A token bucket per tenant: `capacity` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub capacity: u32,
    pub per_second: f64,
}

/// Live settings and per-tenant buckets.
#[derive(Debug, Default)]
pub(crate) struct Trouble {
    pub faults: Faults,
    pub throttle: Option<Throttle>,
    pub buckets: Vec<Option<Bucket>>,
    /// Writes per second per tenant (`sim::throttle`), on top of `throttle`.
    pub writes: WriteThrottle,
    pub rng: u64,
    /// Graph requests being served now, and the most ever at once.
    pub in_flight: usize,
    pub peak_in_flight: usize,
    /// Graph requests that passed this middleware, faults injected and 429s answered so far.
    pub requests: u64,
    pub injected: u64,
    pub throttled: u64,
}

impl Trouble {
    /// A uniform fraction from a xorshift stream (seeded, so a run can be replayed).
    fn roll(&mut self) -> f64 {
        super::rng::fraction(&mut self.rng)
    }

    /// Take a token for `tenant`, or the seconds until one is available.
    fn take(&mut self, tenant: usize) -> Result<(), u64> {
        let Some(t) = self.throttle else {
            return Ok(());
        };
        if self.buckets.len() <= tenant {
            self.buckets.resize(tenant + 1, None);
        }
        match super::throttle::draw(&mut self.buckets[tenant], t) {
            Draw::Taken { .. } => Ok(()),
            Draw::Empty { retry_after } => Err(retry_after),
        }
    }
}

enum Fate {
    Serve,
    Error(StatusCode),
    Reset,
    Slow(Duration),
}

/// The middleware: only `/v1.0/` paths; `$batch` itself is not throttled (its items are).
pub(crate) async fn trouble(State(state): State<Shared>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with("/v1.0/") {
        return next.run(req).await;
    }
    if let Ok(mut t) = state.trouble.lock() {
        t.in_flight += 1;
        t.peak_in_flight = t.peak_in_flight.max(t.in_flight);
    }
    let resp = troubled(&state, &path, req, next).await;
    if let Ok(mut t) = state.trouble.lock() {
        t.in_flight = t.in_flight.saturating_sub(1);
    }
    resp
}

async fn troubled(state: &Shared, path: &str, req: Request, next: Next) -> Response {
    let ids = ids_of(req.extensions());
    let tenant = super::auth::authorize(state, req.headers(), &ids).ok();
    let write = req.method() != axum::http::Method::GET && path != "/v1.0/$batch";
    let (latency, fate, throttled) = {
        let Ok(mut t) = state.trouble.lock() else {
            return next.run(req).await;
        };
        let throttled = match tenant {
            Some(tenant) if path != "/v1.0/$batch" => t.take(tenant).err(),
            _ => None,
        };
        t.requests += 1;
        let f = t.faults.clone();
        let roll = t.roll();
        let fate = if roll < f.error_rate {
            let codes = [
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::GATEWAY_TIMEOUT,
            ];
            Fate::Error(codes[(t.roll() * 4.0) as usize % 4])
        } else if roll < f.error_rate + f.reset_rate {
            Fate::Reset
        } else if roll < f.error_rate + f.reset_rate + f.slow_rate {
            Fate::Slow(f.slow)
        } else {
            Fate::Serve
        };
        if throttled.is_some() {
            t.throttled += 1;
        } else if !matches!(fate, Fate::Serve) {
            t.injected += 1;
        }
        (f.latency, fate, throttled)
    };
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(after) = throttled {
        let mut resp = graph_error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests; retry after the time in the Retry-After header.",
            &ids,
        );
        if let Ok(v) = HeaderValue::from_str(&after.to_string()) {
            resp.headers_mut().insert("retry-after", v);
        }
        return resp;
    }
    // Writes draw from the write bucket too; a throttled write is refused before it runs.
    let used = match tenant {
        Some(tenant) if write => match super::throttle::graph_write(state, tenant, &ids) {
            Ok(used) => used,
            Err(resp) => return *resp,
        },
        _ => None,
    };
    let mut resp = serve(fate, req, next, &ids).await;
    super::throttle::stamp_graph(&mut resp, used);
    resp
}

async fn serve(fate: Fate, req: Request, next: Next, ids: &super::http::RequestIds) -> Response {
    match fate {
        Fate::Serve => next.run(req).await,
        Fate::Slow(d) => {
            tokio::time::sleep(d).await;
            next.run(req).await
        }
        Fate::Error(status) => graph_error(
            status,
            "serviceNotAvailable",
            "The service is temporarily unavailable (injected by the rehearsal environment).",
            ids,
        ),
        Fate::Reset => {
            let full = next.run(req).await;
            let (parts, _) = full.into_parts();
            // Headers and a few bytes go out, then the body fails: hyper drops the connection
            // and the client sees a truncated body.
            let stream = futures_util::stream::iter([
                Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"{\"value\":[")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                )),
            ]);
            let mut resp = Response::from_parts(parts, Body::from_stream(stream));
            resp.headers_mut()
                .remove(axum::http::header::CONTENT_LENGTH);
            resp.into_response()
        }
    }
}
