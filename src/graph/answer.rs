//! Reading one HTTP answer from Microsoft's services the way every client here needs it: the
//! status, the `request-id` the audit log cites, `Retry-After` in seconds, and the body text.

use std::time::Duration;

/// One answer, read to the end.
pub(crate) struct Answer {
    pub status: reqwest::StatusCode,
    pub request_id: Option<String>,
    /// `Retry-After` as seconds (the form Graph and Exchange send); an HTTP date is ignored.
    pub retry_after: Option<Duration>,
    pub text: String,
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
    let text = response.text().await?;
    Ok(Answer {
        status,
        request_id,
        retry_after,
        text,
    })
}
