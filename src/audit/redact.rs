//! Keep secrets out of the audit log: values under secret-looking keys, and strings that look
//! like bearer tokens, are replaced with `"[redacted]"` before a record is written.

use serde_json::Value;

use super::record::Event;

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[redacted]";

/// Fragments of key names (lower-case, without `_`, `-` or spaces) whose values are secrets.
/// Matching on fragments also catches `clientSecret`, `secretText`, `newPassword`, `x-api-key`.
const SECRET_KEY_PARTS: &[&str] = &[
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "clientsecret",
    "clientassertion",
    "secret",
    "password",
    "passwd",
    "authorization",
    "privatekey",
    "apikey",
];

/// Whether a JSON object key names a secret.
pub fn is_secret_key(key: &str) -> bool {
    let norm: String = key
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_KEY_PARTS.iter().any(|part| norm.contains(part))
}

/// Whether a string value is itself a credential: an HTTP bearer header value or a JWT.
pub fn looks_like_token(s: &str) -> bool {
    let t = s.trim_start();
    // `get` rather than an index range: the 7th byte may fall inside a character ("Jean-Rémi").
    if t.get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
        && t.len() > 7
    {
        return true;
    }
    // JWTs are three base64url parts; the header always starts with `{"` = `eyJ`.
    t.starts_with("eyJ")
        && t.len() > 30
        && t.split('.').count() == 3
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'='))
}

/// Redact secrets anywhere inside `value`; returns how many values were replaced.
pub fn redact_value(value: &mut Value) -> usize {
    match value {
        Value::Object(map) => map
            .iter_mut()
            .map(|(key, v)| {
                if is_secret_key(key) {
                    // An explicit null or empty string reveals nothing; keep it as evidence
                    // that the field was cleared.
                    let empty = v.is_null() || v.as_str().is_some_and(str::is_empty);
                    if empty {
                        0
                    } else {
                        *v = Value::String(REDACTED.into());
                        1
                    }
                } else {
                    redact_value(v)
                }
            })
            .sum(),
        Value::Array(items) => items.iter_mut().map(redact_value).sum(),
        Value::String(s) if looks_like_token(s) => {
            *value = Value::String(REDACTED.into());
            1
        }
        _ => 0,
    }
}

/// Redact `before`, `after` and `details` of an event, and `result` or `request_id` if one is
/// itself a token; returns how many values were replaced.
pub fn redact_event(event: &mut Event) -> usize {
    let mut n = redact_value(&mut event.details);
    for v in [&mut event.before, &mut event.after].into_iter().flatten() {
        n += redact_value(v);
    }
    for s in [&mut event.result, &mut event.request_id]
        .into_iter()
        .flatten()
    {
        if looks_like_token(s) {
            *s = REDACTED.to_string();
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Kind;
    use serde_json::json;

    #[test]
    fn secret_keys_are_recognised_in_any_spelling() {
        for key in [
            "access_token",
            "refresh_token",
            "client_secret",
            "clientSecret",
            "password",
            "newPassword",
            "Authorization",
            "private_key",
            "privateKey",
            "secretText",
            "x-api-key",
            "id_token",
        ] {
            assert!(is_secret_key(key), "{key}");
        }
        for key in [
            "mail",
            "upn",
            "proxyAddresses",
            "ttl",
            "token_type",
            "expires_in",
        ] {
            assert!(!is_secret_key(key), "{key}");
        }
    }

    #[test]
    fn nested_values_are_redacted() {
        let mut v = json!({
            "user": "a@contoso.com",
            "auth": {"access_token": "abc", "token_type": "Bearer"},
            "list": [{"client_secret": {"nested": 1}}, "plain"],
            "headers": {"Authorization": "Bearer xyz"},
            "cleared": {"password": null},
        });
        let n = redact_value(&mut v);
        assert_eq!(n, 3);
        assert_eq!(
            v,
            json!({
                "user": "a@contoso.com",
                "auth": {"access_token": "[redacted]", "token_type": "Bearer"},
                "list": [{"client_secret": "[redacted]"}, "plain"],
                "headers": {"Authorization": "[redacted]"},
                "cleared": {"password": null},
            })
        );
    }

    #[test]
    fn token_shaped_strings_are_redacted_under_any_key() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJlLWJ5dGVz";
        let mut v = json!({"note": jwt, "h": "bearer abc.def", "domain": "contoso.com"});
        assert_eq!(redact_value(&mut v), 2);
        assert_eq!(
            v,
            json!({"note": "[redacted]", "h": "[redacted]", "domain": "contoso.com"})
        );
    }

    #[test]
    fn multi_byte_text_at_the_bearer_cut_is_not_a_token() {
        // The 7th byte falls inside "é": this used to panic the journal writer thread.
        for s in [
            "Jean-Rémi",
            "Jean-Rémi Dupont",
            "Bearér x",
            "田中太郎",
            "bearer\u{a0}x",
        ] {
            assert!(!looks_like_token(s), "{s}");
        }
        assert!(looks_like_token("Bearer é"));
        let mut v = json!({"filter": "Jean-Rémi"});
        assert_eq!(redact_value(&mut v), 0);
    }

    #[test]
    fn event_fields_are_all_covered() {
        let mut e = Event::new(Kind::Intent, "rotate secret")
            .change(json!({"password": "old"}), json!({"password": "new"}))
            .details(json!({"refresh_token": "r"}))
            .result("Bearer abc.def")
            .request_id("req-1");
        assert_eq!(redact_event(&mut e), 4);
        assert_eq!(e.result.as_deref(), Some(REDACTED));
        assert_eq!(e.request_id.as_deref(), Some("req-1"));
        assert_eq!(e.before, Some(json!({"password": "[redacted]"})));
        assert_eq!(e.after, Some(json!({"password": "[redacted]"})));
        assert_eq!(e.details, json!({"refresh_token": "[redacted]"}));
    }
}
