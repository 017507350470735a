//! Write throttling as Microsoft does it: a token bucket of writes per tenant, shared by Graph
//! writes (`PATCH`/`POST`/`DELETE` under `/v1.0/`, each `$batch` item on its own) and
//! Exchange's mutating cmdlets (`Set-*`, `Add-*`, `Remove-*`, `New-*`); reads take nothing.
//! Beyond the bucket: Graph answers 429 `TooManyRequests` with `Retry-After`; Exchange answers
//! 429 with `Retry-After`, `Rate-Limit-Remaining: 0` and `Rate-Limit-Reset`. Below it, Graph
//! write answers carry `x-ms-throttle-limit-percentage` once more than 80 % of the bucket is
//! used (Graph sends it only near the limit), and every Exchange answer carries
//! `Rate-Limit-Remaining` / `Rate-Limit-Reset` (seconds until the bucket is full again).

use std::time::Instant;

use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;

use super::faults::Throttle;
use super::http::{RequestIds, Shared, graph_error};

/// One tenant's bucket.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    tokens: f64,
    last: Instant,
}

/// What drawing a token gave.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Draw {
    /// Taken; `left` tokens remain of `capacity`.
    Taken {
        left: f64,
        capacity: f64,
        per_second: f64,
    },
    /// None left: whole seconds until one is (at least 1, as `Retry-After` says it).
    Empty { retry_after: u64 },
}

/// Refill `slot` for the time since its last draw, then take one token (or say when one
/// comes). Both buckets, all requests and writes only, draw through this.
pub(crate) fn draw(slot: &mut Option<Bucket>, t: Throttle) -> Draw {
    let now = Instant::now();
    let capacity = f64::from(t.capacity.max(1));
    let b = slot.get_or_insert(Bucket {
        tokens: capacity,
        last: now,
    });
    let refill = now.duration_since(b.last).as_secs_f64() * t.per_second;
    b.tokens = (b.tokens + refill).min(capacity);
    b.last = now;
    if b.tokens >= 1.0 {
        b.tokens -= 1.0;
        Draw::Taken {
            left: b.tokens,
            capacity,
            per_second: t.per_second,
        }
    } else {
        let wait = (1.0 - b.tokens) / t.per_second.max(0.001);
        Draw::Empty {
            retry_after: wait.ceil().max(1.0) as u64,
        }
    }
}

/// The write buckets: per tenant, `rate` writes a second with a second's worth of burst.
#[derive(Debug, Default)]
pub(crate) struct WriteThrottle {
    pub rate: Option<f64>,
    buckets: Vec<Option<Bucket>>,
    /// Writes answered 429 so far, Graph (items included) and Exchange.
    pub graph_throttled: u64,
    pub exchange_throttled: u64,
}

impl WriteThrottle {
    pub(crate) fn new(rate: Option<f64>) -> WriteThrottle {
        WriteThrottle {
            rate,
            ..WriteThrottle::default()
        }
    }

    fn throttle(&self) -> Option<Throttle> {
        self.rate.filter(|r| *r > 0.0).map(|r| Throttle {
            capacity: r.ceil().max(1.0) as u32,
            per_second: r,
        })
    }

    fn draw(&mut self, tenant: usize) -> Option<Draw> {
        let t = self.throttle()?;
        if self.buckets.len() <= tenant {
            self.buckets.resize(tenant + 1, None);
        }
        Some(draw(&mut self.buckets[tenant], t))
    }

    /// The bucket as it stands, without drawing: (remaining, seconds until full).
    fn peek(&mut self, tenant: usize) -> Option<(u64, u64)> {
        let t = self.throttle()?;
        if self.buckets.len() <= tenant {
            self.buckets.resize(tenant + 1, None);
        }
        let capacity = f64::from(t.capacity);
        let now = Instant::now();
        let tokens = match self.buckets[tenant] {
            Some(b) => {
                (b.tokens + now.duration_since(b.last).as_secs_f64() * t.per_second).min(capacity)
            }
            None => capacity,
        };
        Some(rate_limit(tokens, capacity, t.per_second))
    }
}

/// `Rate-Limit-Remaining` (whole tokens) and `Rate-Limit-Reset` (whole seconds until full).
fn rate_limit(left: f64, capacity: f64, per_second: f64) -> (u64, u64) {
    let reset = ((capacity - left).max(0.0) / per_second.max(0.001)).ceil();
    (left.floor().max(0.0) as u64, reset as u64)
}

/// A Graph write about to be served: `Err` is the 429 to answer instead; `Ok` carries the
/// `x-ms-throttle-limit-percentage` to stamp on the answer, if the bucket is above 80 %.
pub(crate) fn graph_write(
    state: &Shared,
    tenant: usize,
    ids: &RequestIds,
) -> Result<Option<f64>, Box<Response>> {
    let Ok(mut w) = state.trouble.lock() else {
        return Ok(None);
    };
    match w.writes.draw(tenant) {
        None => Ok(None),
        Some(Draw::Taken { left, capacity, .. }) => {
            let used = 1.0 - left / capacity;
            Ok((used > 0.8).then_some(used))
        }
        Some(Draw::Empty { retry_after }) => {
            w.writes.graph_throttled += 1;
            w.throttled += 1;
            drop(w);
            let mut resp = graph_error(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests; retry after the time in the Retry-After header.",
                ids,
            );
            set(&mut resp, "retry-after", retry_after.to_string());
            set(&mut resp, "x-ms-throttle-limit-percentage", "1.0".into());
            set(&mut resp, "x-ms-throttle-scope", "Tenant/Write".into());
            Err(Box::new(resp))
        }
    }
}

/// Stamp Graph's closeness-to-the-limit header on a write's answer.
pub(crate) fn stamp_graph(resp: &mut Response, used: Option<f64>) {
    if let Some(used) = used {
        set(resp, "x-ms-throttle-limit-percentage", format!("{used:.2}"));
        set(resp, "x-ms-throttle-scope", "Tenant/Write".into());
    }
}

/// Whether Exchange counts this cmdlet as a write.
pub(crate) fn is_exchange_write(cmdlet: &str) -> bool {
    ["Set-", "Add-", "Remove-", "New-"]
        .iter()
        .any(|p| cmdlet.starts_with(p))
}

/// An Exchange cmdlet about to run: `Err` is the 429 to answer instead; `Ok` the
/// `Rate-Limit-Remaining` / `Rate-Limit-Reset` to stamp on the answer (none when the sim
/// does not throttle writes).
pub(crate) fn exchange_cmdlet(
    state: &Shared,
    tenant: usize,
    cmdlet: &str,
    refuse: impl FnOnce() -> Response,
) -> Result<Option<(u64, u64)>, Box<Response>> {
    let Ok(mut w) = state.trouble.lock() else {
        return Ok(None);
    };
    if !is_exchange_write(cmdlet) {
        return Ok(w.writes.peek(tenant));
    }
    match w.writes.draw(tenant) {
        None => Ok(None),
        Some(Draw::Taken {
            left,
            capacity,
            per_second,
        }) => Ok(Some(rate_limit(left, capacity, per_second))),
        Some(Draw::Empty { retry_after }) => {
            w.writes.exchange_throttled += 1;
            let reset = w.writes.peek(tenant).map(|(_, r)| r).unwrap_or(retry_after);
            drop(w);
            let mut resp = refuse();
            set(&mut resp, "retry-after", retry_after.to_string());
            set(&mut resp, "rate-limit-remaining", "0".into());
            set(&mut resp, "rate-limit-reset", reset.to_string());
            Err(Box::new(resp))
        }
    }
}

/// Stamp Exchange's rate-limit headers on an answer.
pub(crate) fn stamp_exchange(resp: &mut Response, limit: Option<(u64, u64)>) {
    if let Some((remaining, reset)) = limit {
        set(resp, "rate-limit-remaining", remaining.to_string());
        set(resp, "rate-limit-reset", reset.to_string());
    }
}

fn set(resp: &mut Response, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        resp.headers_mut().insert(name, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_then_says_when() {
        let mut slot = None;
        let t = Throttle {
            capacity: 3,
            per_second: 1.0,
        };
        for _ in 0..3 {
            assert!(matches!(draw(&mut slot, t), Draw::Taken { .. }));
        }
        match draw(&mut slot, t) {
            Draw::Empty { retry_after } => assert_eq!(retry_after, 1),
            other => panic!("expected empty, got {other:?}"),
        }
        assert_eq!(rate_limit(0.5, 3.0, 1.0), (0, 3));
        assert!(is_exchange_write("Set-Mailbox") && !is_exchange_write("Get-Recipient"));
    }
}
