//! When the MX TTL must be lowered for a cutover. Resolvers may keep the old MX for as long as
//! the TTL they were given; so the lowered TTL must be published at least one *old* TTL before
//! the MX changes, and the runbook asks for at least 8 hours of margin. Target: 300 s.

use time::{Duration, OffsetDateTime};

/// The TTL the runbook asks for during the cutover window.
pub const TARGET_TTL: u32 = 300;
/// The runbook's minimum lead time for lowering the TTL.
pub const MIN_LEAD: Duration = Duration::hours(8);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TtlPlanStatus {
    /// The MX TTL is already at or below the target.
    Lowered,
    /// Still high; the deadline is ahead.
    Due,
    /// Still high and the deadline has passed: the old MX may be cached past the cutover.
    Overdue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TtlPlan {
    /// The MX TTL the authoritative servers answer now.
    pub current_ttl: u32,
    /// Lower the TTL by then.
    pub deadline: OffsetDateTime,
    /// Deadline minus now (negative when overdue).
    pub remaining: Duration,
    pub status: TtlPlanStatus,
}

/// The plan for a cutover at `cutover_at` when the authoritative MX TTL is `current_ttl`.
pub fn ttl_plan(cutover_at: OffsetDateTime, current_ttl: u32, now: OffsetDateTime) -> TtlPlan {
    let lead = Duration::seconds(i64::from(current_ttl)).max(MIN_LEAD);
    let deadline = cutover_at - lead;
    let remaining = deadline - now;
    let status = if current_ttl <= TARGET_TTL {
        TtlPlanStatus::Lowered
    } else if remaining.is_negative() {
        TtlPlanStatus::Overdue
    } else {
        TtlPlanStatus::Due
    };
    TtlPlan {
        current_ttl,
        deadline,
        remaining,
        status,
    }
}

/// `2d 03:04:05`, `03:04:05`, with a leading `-` when negative: for countdowns.
pub fn format_countdown(d: Duration) -> String {
    let sign = if d.is_negative() { "-" } else { "" };
    let total = d.whole_seconds().unsigned_abs();
    let (days, rest) = (total / 86_400, total % 86_400);
    let (h, m, s) = (rest / 3600, rest % 3600 / 60, rest % 60);
    if days > 0 {
        format!("{sign}{days}d {h:02}:{m:02}:{s:02}")
    } else {
        format!("{sign}{h:02}:{m:02}:{s:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn deadline_is_the_longer_of_old_ttl_and_eight_hours() {
        let t = datetime!(2026-12-01 18:00 UTC);
        let now = datetime!(2026-12-01 06:00 UTC);
        let p = ttl_plan(t, 3600, now);
        assert_eq!(p.deadline, datetime!(2026-12-01 10:00 UTC));
        assert_eq!(p.status, TtlPlanStatus::Due);
        assert_eq!(format_countdown(p.remaining), "04:00:00");
        // A one-day TTL must be lowered a day ahead.
        let day = ttl_plan(t, 86_400, now);
        assert_eq!(day.deadline, datetime!(2026-11-30 18:00 UTC));
        assert_eq!(day.status, TtlPlanStatus::Overdue);
        assert_eq!(format_countdown(day.remaining), "-12:00:00");
        assert_eq!(ttl_plan(t, 300, now).status, TtlPlanStatus::Lowered);
        assert_eq!(
            format_countdown(Duration::seconds(2 * 86_400 + 3723)),
            "2d 01:02:03"
        );
    }
}
