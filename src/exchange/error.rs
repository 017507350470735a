//! Typed failures of Exchange Online admin calls, with Exchange's own error code and the
//! `request-id`. Messages are one line and never carry tokens or secrets.

use crate::graph::GraphError;

/// What went wrong talking to Exchange Online.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExchangeError {
    /// Exchange answered with an error status. For a cmdlet that failed, `code` is the OData
    /// code (`NotFound`, `BadRequest`), `exchange_code` the `Ex…` id and `exception` the .NET
    /// exception name Exchange puts in `error.details[0].message` as
    /// `Ex6F9304|Microsoft.Exchange…ManagementObjectNotFoundException|text`.
    #[error("Exchange {status} {code}{}: {message}{}", exchange_suffix(.exchange_code, .exception), request_suffix(.request_id))]
    Api {
        status: u16,
        code: String,
        exchange_code: Option<String>,
        exception: Option<String>,
        message: String,
        request_id: Option<String>,
    },
    /// Exchange answered 403: the token lacks the Exchange permission the route needs
    /// (named from `graph::permissions`' table and the token's own claims).
    #[error("{refusal}{}", request_suffix(.request_id))]
    Forbidden {
        refusal: Box<crate::graph::permissions::Refusal>,
        request_id: Option<String>,
    },
    /// Getting a token for Exchange failed (same sign-in machinery as Graph).
    #[error("{0}")]
    SignIn(GraphError),
    /// Connecting, sending or reading failed before an HTTP answer arrived.
    #[error("cannot reach {url}: {message}")]
    Transport { url: String, message: String },
    /// The answer was not the JSON we expected.
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    #[error("invalid Exchange request: {0}")]
    Config(String),
}

fn request_suffix(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!(" (request-id {id})"),
        None => String::new(),
    }
}

fn exchange_suffix(code: &Option<String>, exception: &Option<String>) -> String {
    match (code, exception) {
        (Some(c), Some(e)) => format!(" [{c} {e}]"),
        (Some(c), None) => format!(" [{c}]"),
        (None, Some(e)) => format!(" [{e}]"),
        (None, None) => String::new(),
    }
}

impl ExchangeError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ExchangeError::Api { status, .. } => Some(*status),
            ExchangeError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// The short exception name (`ManagementObjectNotFoundException`), if Exchange gave one.
    pub fn exception(&self) -> Option<&str> {
        match self {
            ExchangeError::Api { exception, .. } => exception.as_deref(),
            _ => None,
        }
    }

    /// Exchange's "object couldn't be found" (unknown identity).
    pub fn is_not_found(&self) -> bool {
        self.exception() == Some("ManagementObjectNotFoundException")
    }
}

impl From<GraphError> for ExchangeError {
    fn from(e: GraphError) -> Self {
        match e {
            GraphError::Transport { url, message } => ExchangeError::Transport { url, message },
            GraphError::Forbidden {
                refusal,
                request_id,
                ..
            } => ExchangeError::Forbidden {
                refusal,
                request_id,
            },
            other => ExchangeError::SignIn(other),
        }
    }
}

/// Parse an error body. Known shapes (the InvokeCommand one is seen in public bug reports, not
/// documented by Microsoft):
/// `{"error":{"code":"NotFound","message":"Error executing cmdlet","details":[{"code":"Context",
/// "target":"","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found on '…'."}],
/// "innererror":{…}}}`, and the plain OData/Outlook REST `{"error":{"code","message"}}`.
pub(crate) fn parse_error(status: u16, text: &str, request_id: Option<String>) -> ExchangeError {
    let value: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let error = &value["error"];
    let mut code = error["code"].as_str().unwrap_or_default().to_string();
    if code.is_empty() {
        code = format!("HTTP{status}");
    }
    let mut message = error["message"].as_str().unwrap_or_default().to_string();
    let mut exchange_code = None;
    let mut exception = None;
    let detail = error["details"]
        .as_array()
        .and_then(|d| d.first())
        .and_then(|d| d["message"].as_str())
        .or_else(|| error["details"]["message"].as_str());
    if let Some(detail) = detail {
        let parts: Vec<&str> = detail.splitn(3, '|').collect();
        if let [c, ex, text] = parts[..] {
            exchange_code = Some(c.to_string()).filter(|c| !c.is_empty());
            let short = ex.rsplit('.').next().unwrap_or(ex);
            exception = Some(short.to_string()).filter(|e| !e.is_empty());
            message = text.to_string();
        } else {
            message = detail.to_string();
        }
    } else if let Some(inner) = error["innererror"]["internalException"]["message"].as_str() {
        message = inner.to_string();
    }
    if message.is_empty() {
        message = "no error text in the answer".into();
    }
    ExchangeError::Api {
        status,
        code,
        exchange_code,
        exception,
        // One line: Exchange's texts sometimes carry CR/LF.
        message: message.replace(['\r', '\n'], " "),
        request_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoke_command_error_is_split() {
        let body = r#"{"error":{"code":"NotFound","message":"Error executing cmdlet","details":[{"code":"Context","target":"","message":"Ex6F9304|Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException|The operation couldn't be performed because object 'x' couldn't be found on 'DC1'."}]}}"#;
        let e = parse_error(404, body, Some("r1".into()));
        assert!(e.is_not_found());
        let text = e.to_string();
        assert!(text.contains("Ex6F9304"), "{text}");
        assert!(text.contains("couldn't be found"), "{text}");
        assert!(text.ends_with("(request-id r1)"), "{text}");
    }

    #[test]
    fn plain_and_garbage_bodies() {
        let e = parse_error(
            400,
            r#"{"error":{"code":"ErrorIncorrectRoutingHint","message":"bad"}}"#,
            None,
        );
        assert_eq!(e.to_string(), "Exchange 400 ErrorIncorrectRoutingHint: bad");
        let e = parse_error(502, "<html>", None);
        assert_eq!(
            e.to_string(),
            "Exchange 502 HTTP502: no error text in the answer"
        );
    }
}
