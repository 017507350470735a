//! Reading one HTTP answer from Microsoft's services the way every client here needs it: the
//! status, the `request-id` the audit log cites, `Retry-After` in seconds, and the body text.

use std::time::Duration;

/// One answer, read to the end.
pub(crate) struct Answer {
    pub status: reqwest::StatusCode,
    pub request_id: Option<String>,
    /// `Retry-After` as seconds (the form Graph and Exchange send); an HTTP date is ignored.
    pub retry_after: Option<Duration>,
    /// How close the caller is to being throttled, where the service says so.
    pub pace: Pace,
    pub text: String,
}

/// What an answer says about the caller's rate: Graph's `x-ms-throttle-limit-percentage`
/// (a fraction of the limit used, 0.8 to 1.8, sent only above 0.8) and Exchange's
/// `Rate-Limit-Remaining` / `Rate-Limit-Reset` (seconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Pace {
    pub limit_used: Option<f64>,
    pub remaining: Option<u64>,
    pub reset: Option<Duration>,
}

pub(crate) async fn read(response: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = response.status();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let request_id = header("request-id");
    let retry_after = header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let pace = Pace {
        limit_used: header("x-ms-throttle-limit-percentage")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0),
        remaining: header("rate-limit-remaining").and_then(|v| v.trim().parse::<u64>().ok()),
        reset: header("rate-limit-reset")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(Duration::from_secs_f64),
    };
    let text = response.text().await?;
    Ok(Answer {
        status,
        request_id,
        retry_after,
        pace,
        text,
    })
}
