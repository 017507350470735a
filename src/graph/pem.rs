//! PEM blocks (`-----BEGIN …-----`) to DER bytes, for certificate sign-in.

use base64::Engine;

/// Every block labelled `label` (e.g. `CERTIFICATE`, `PRIVATE KEY`) in `text`, decoded.
pub fn blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let mut out = Vec::new();
    let mut rest = text;
    // split_once rather than index arithmetic: the file is input.
    while let Some((_, body)) = rest.split_once(&begin) {
        let (block, after) = body
            .split_once(&end)
            .ok_or_else(|| format!("a {label} block has no END line"))?;
        let b64: String = block.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("a {label} block is not valid base64: {e}"))?;
        out.push(der);
        rest = after;
    }
    Ok(out)
}

/// base64url without padding, as JWTs use.
pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding.
pub fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .ok()
}
