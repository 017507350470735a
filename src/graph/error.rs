//! Typed failures of Graph and token requests. Messages are one line and never carry secrets.

/// Graph's error body: `{"error":{"code","message","innerError":{"request-id","date"}}}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Graph answered with an error status and (usually) its error body.
    #[error("Graph {status} {code}: {message}{}", request_suffix(.request_id))]
    Api {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    /// Graph answered 403: the token lacks the permission the route needs (named from the
    /// route table and the token's own claims, since Microsoft's answer does not say).
    #[error("{refusal}{}", request_suffix(.request_id))]
    Forbidden {
        refusal: Box<super::permissions::Refusal>,
        /// Microsoft's code (`Authorization_RequestDenied`, `accessDenied`, …).
        code: String,
        request_id: Option<String>,
    },
    /// The token endpoint refused (wrong secret, unknown client or tenant).
    #[error("sign-in to {tenant} failed: {error}: {description}")]
    Auth {
        tenant: String,
        error: String,
        /// First line of `error_description` (the AADSTS code and text).
        description: String,
    },
    /// Connecting, sending or reading failed before an HTTP answer arrived.
    #[error("cannot reach {url}: {message}")]
    Transport { url: String, message: String },
    /// The answer was not the JSON we expected.
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    #[error("invalid Graph configuration: {0}")]
    Config(String),
}

fn request_suffix(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) => format!(" (request-id {id})"),
        None => String::new(),
    }
}

impl GraphError {
    /// HTTP status of an API error, if it was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            GraphError::Api { status, .. } => Some(*status),
            GraphError::Forbidden { .. } => Some(403),
            _ => None,
        }
    }

    /// What a 403 lacked, if this is one.
    pub fn refusal(&self) -> Option<&super::permissions::Refusal> {
        match self {
            GraphError::Forbidden { refusal, .. } => Some(refusal.as_ref()),
            _ => None,
        }
    }
}
