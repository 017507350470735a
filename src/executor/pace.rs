//! Pacing writes so the service does not have to throttle them. One [`Pacer`] per tenant and
//! service (Graph, Exchange) is shared by the executor's concurrent tasks: each send waits
//! for its slot, and each answer adjusts the spacing between slots from what the service
//! says about the caller's rate:
//! - Exchange's `Rate-Limit-Remaining` / `Rate-Limit-Reset`: spread what remains over the
//!   time until the reset (`reset / (remaining + 1)` apart), so the bucket never runs dry;
//! - Graph's `x-ms-throttle-limit-percentage`, sent only above 80 % of the limit: widen the
//!   spacing a little per answer, more the closer the use is to the limit (×1.05 at 0.8, ×1.25
//!   at 1.0); answers without it narrow it by 2 %;
//! - a 429 (waited out by the client, or reaching the executor): double the spacing, and for
//!   a 429 the executor sees, hold every task for the wait.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::graph::Pace;

/// The widest spacing between two writes (a pacer never waits longer than this per slot).
pub const MAX_INTERVAL: Duration = Duration::from_secs(5);
/// The spacing a 429 starts from when the pacer was not spacing yet.
const THROTTLED_STEP: Duration = Duration::from_millis(10);
/// Spacing a Graph "close to the limit" answer starts from.
const NEAR_LIMIT_STEP: Duration = Duration::from_millis(2);
/// Below this, spacing is dropped altogether.
const NEGLIGIBLE: Duration = Duration::from_micros(500);

#[derive(Debug)]
struct State {
    /// The earliest the next slot may start.
    next: Instant,
    /// Spacing between slots.
    interval: Duration,
    /// No slot before this (a 429 the executor waits out holds every task).
    hold_until: Instant,
}

/// Slots for the writes to one tenant through one service.
#[derive(Debug)]
pub struct Pacer {
    state: Mutex<State>,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    pub fn new() -> Pacer {
        let now = Instant::now();
        Pacer {
            state: Mutex::new(State {
                next: now,
                interval: Duration::ZERO,
                hold_until: now,
            }),
        }
    }

    /// Wait for this task's slot.
    pub async fn wait(&self) {
        self.wait_n(1).await
    }

    /// Wait for `n` slots at once (a `$batch` of `n` writes, each drawn from the bucket).
    pub async fn wait_n(&self, n: u32) {
        let at = {
            let Ok(mut s) = self.state.lock() else {
                return;
            };
            let now = Instant::now();
            let at = now.max(s.next).max(s.hold_until);
            s.next = at + s.interval * n.max(1);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// The current spacing between writes.
    pub fn interval(&self) -> Duration {
        self.state
            .lock()
            .map(|s| s.interval)
            .unwrap_or(Duration::ZERO)
    }

    /// An answer came (`throttled`: 429s the client waited out before it).
    pub fn answered(&self, pace: &Pace, throttled: u32) {
        self.answered_n(pace, throttled, 1)
    }

    /// The answers of `n` writes sent together (a `$batch`), summed up in `pace` (the
    /// highest use of the limit any reported) and `throttled`: one step when they say the
    /// limit is near, `n` steps of speeding up when none did.
    pub fn answered_n(&self, pace: &Pace, throttled: u32, n: u32) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        let interval = if throttled > 0 {
            (s.interval * 2).max(THROTTLED_STEP)
        } else if let (Some(remaining), Some(reset)) = (pace.remaining, pace.reset) {
            // Spread what remains of the bucket over the time until it is full again.
            reset / (remaining.min(u64::from(u32::MAX - 1)) as u32 + 1)
        } else if let Some(used) = pace.limit_used {
            // 0.8 → ×1.05 … 1.0 → ×1.25: the closer to the limit, the faster the spacing
            // grows. Small steps both ways keep the use of the limit hovering near 80 %
            // instead of swinging between bursts and long pauses.
            let factor = 1.05 + (used - 0.8).clamp(0.0, 1.0);
            s.interval.max(NEAR_LIMIT_STEP).mul_f64(factor)
        } else {
            // Graph says nothing below 80 %: speed up again, gently.
            s.interval.mul_f64(0.98f64.powi(n.clamp(1, 1000) as i32))
        };
        s.interval = if interval < NEGLIGIBLE {
            Duration::ZERO
        } else {
            interval.min(MAX_INTERVAL)
        };
    }

    /// A 429 reached the executor: no task sends before `wait` has passed.
    pub fn hold(&self, wait: Duration) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        s.hold_until = s.hold_until.max(Instant::now() + wait);
        s.interval = (s.interval * 2).clamp(THROTTLED_STEP, MAX_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spacing_follows_what_the_service_says() {
        let p = Pacer::new();
        assert_eq!(p.interval(), Duration::ZERO);
        // Exchange: 9 left, full again in 1 s → 100 ms apart.
        p.answered(
            &Pace {
                remaining: Some(9),
                reset: Some(Duration::from_secs(1)),
                ..Pace::default()
            },
            0,
        );
        assert_eq!(p.interval(), Duration::from_millis(100));
        // A 429 doubles it.
        p.answered(&Pace::default(), 1);
        assert_eq!(p.interval(), Duration::from_millis(200));
        // Graph near the limit widens, silence narrows.
        let q = Pacer::new();
        q.answered(
            &Pace {
                limit_used: Some(0.9),
                ..Pace::default()
            },
            0,
        );
        let near = q.interval();
        assert!(near >= NEAR_LIMIT_STEP, "{near:?}");
        q.answered(&Pace::default(), 0);
        assert!(q.interval() < near);
        for _ in 0..1000 {
            q.answered(&Pace::default(), 0);
        }
        assert_eq!(q.interval(), Duration::ZERO);
    }

    #[tokio::test]
    async fn slots_are_spaced_and_held() {
        let p = Pacer::new();
        p.answered(
            &Pace {
                remaining: Some(1),
                reset: Some(Duration::from_millis(100)),
                ..Pace::default()
            },
            0,
        );
        let start = Instant::now();
        p.wait().await;
        p.wait().await;
        p.wait().await;
        let spaced = Instant::now() - start;
        assert!(spaced >= Duration::from_millis(100), "{spaced:?}");
        p.hold(Duration::from_millis(300));
        p.wait().await;
        assert!(Instant::now() - start >= Duration::from_millis(400));
    }
}
