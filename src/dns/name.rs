//! Domain names as an admin types them: checked for DNS limits, IDN accepted in Unicode and
//! shown in both forms.

use std::fmt;

/// A checked domain name: `ascii` is what goes on the wire (A-labels, lower case, no trailing
/// dot), `unicode` what a person reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainName {
    pub ascii: String,
    pub unicode: String,
}

impl DomainName {
    /// `münchen.example (xn--mnchen-3ya.example)` for IDN, just the name otherwise.
    pub fn display_both(&self) -> String {
        if self.ascii == self.unicode {
            self.ascii.clone()
        } else {
            format!("{} ({})", self.unicode, self.ascii)
        }
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ascii)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("the domain name is empty: give a name such as contoso.com")]
    Empty,
    #[error("'{0}' has an empty label (two dots in a row, or a leading dot)")]
    EmptyLabel(String),
    #[error("'{name}' has a label of {len} bytes ('{label}'); DNS allows at most 63")]
    LabelTooLong {
        name: String,
        label: String,
        len: usize,
    },
    #[error("'{name}' is {len} bytes long; DNS allows at most 253")]
    TooLong { name: String, len: usize },
    #[error(
        "'{name}' has a character DNS host names do not allow in label '{label}' (letters, digits and '-' only, not at either end)"
    )]
    BadCharacter { name: String, label: String },
    #[error("'{0}' is a single label; give the full domain such as contoso.com")]
    SingleLabel(String),
    #[error("'{name}' is not a valid internationalised domain name")]
    BadIdn { name: String },
}

/// Check a domain name typed by a person (Unicode allowed, trailing dot allowed).
pub fn parse_domain(input: &str) -> Result<DomainName, NameError> {
    let trimmed = input.trim();
    let trimmed = trimmed.strip_suffix('.').unwrap_or(trimmed);
    if trimmed.is_empty() {
        return Err(NameError::Empty);
    }
    if trimmed.split('.').any(str::is_empty) {
        return Err(NameError::EmptyLabel(input.trim().to_string()));
    }
    let ascii = if trimmed.is_ascii() {
        trimmed.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(trimmed).map_err(|_| NameError::BadIdn {
            name: trimmed.to_string(),
        })?
    };
    for label in ascii.split('.') {
        if label.len() > 63 {
            return Err(NameError::LabelTooLong {
                name: trimmed.to_string(),
                label: label.to_string(),
                len: label.len(),
            });
        }
        let bytes = label.as_bytes();
        let ok_chars = bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
        if !ok_chars || bytes.first() == Some(&b'-') || bytes.last() == Some(&b'-') {
            return Err(NameError::BadCharacter {
                name: trimmed.to_string(),
                label: label.to_string(),
            });
        }
    }
    if ascii.len() > 253 {
        return Err(NameError::TooLong {
            name: trimmed.to_string(),
            len: ascii.len(),
        });
    }
    if !ascii.contains('.') {
        return Err(NameError::SingleLabel(trimmed.to_string()));
    }
    let (unicode, _) = idna::domain_to_unicode(&ascii);
    Ok(DomainName { ascii, unicode })
}

/// A record to watch given as `NAME/TYPE` (`mail.contoso.com/CNAME`, `_dmarc.contoso.com/TXT`):
/// the name in A-label form without the trailing dot, and the type. The error says what is wrong.
pub fn parse_record_name(s: &str) -> Result<(String, crate::dns::RecordKind), String> {
    use crate::dns::RecordKind;
    let bad = |why: &str| why.to_string();
    let (name, kind) = s.rsplit_once('/').ok_or_else(|| bad("no '/TYPE'"))?;
    let kind = match kind.trim().to_ascii_uppercase().as_str() {
        "MX" => RecordKind::Mx,
        "TXT" => RecordKind::Txt,
        "CNAME" => RecordKind::Cname,
        "SRV" => RecordKind::Srv,
        "NS" => RecordKind::Ns,
        "SOA" => RecordKind::Soa,
        _ => return Err(bad("unknown record type")),
    };
    // Service labels (`_dmarc`, `_sip._tls`) are not host names: check the rest as a domain.
    let stripped: Vec<&str> = name
        .trim()
        .trim_end_matches('.')
        .split('.')
        .map(|l| l.strip_prefix('_').unwrap_or(l))
        .collect();
    if stripped.iter().any(|l| l.is_empty()) {
        return Err(bad("empty label"));
    }
    let checked = parse_domain(&stripped.join(".")).map_err(|e| bad(&e.to_string()))?;
    // Keep underscores where they were; IDN labels go on the wire as A-labels.
    let ascii: Vec<String> = name
        .trim()
        .trim_end_matches('.')
        .split('.')
        .zip(checked.ascii.split('.'))
        .map(|(orig, a)| {
            if orig.starts_with('_') {
                format!("_{a}")
            } else {
                a.to_string()
            }
        })
        .collect();
    Ok((ascii.join("."), kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_are_lower_cased_without_trailing_dot() {
        let d = parse_domain(" Contoso.Example. ").expect("valid");
        assert_eq!(d.ascii, "contoso.example");
        assert_eq!(d.display_both(), "contoso.example");
    }

    #[test]
    fn idn_is_accepted_in_unicode_and_shown_both_ways() {
        let d = parse_domain("münchen.example").expect("valid");
        assert_eq!(d.ascii, "xn--mnchen-3ya.example");
        assert_eq!(d.unicode, "münchen.example");
        assert_eq!(d.display_both(), "münchen.example (xn--mnchen-3ya.example)");
        let back = parse_domain("xn--mnchen-3ya.example").expect("valid");
        assert_eq!(back.unicode, "münchen.example");
    }

    #[test]
    fn bad_names_say_what_is_wrong() {
        assert_eq!(parse_domain("  "), Err(NameError::Empty));
        assert!(matches!(
            parse_domain("a..b"),
            Err(NameError::EmptyLabel(_))
        ));
        assert!(matches!(
            parse_domain(".a.b"),
            Err(NameError::EmptyLabel(_))
        ));
        let long = format!("{}.example", "a".repeat(64));
        assert!(matches!(
            parse_domain(&long),
            Err(NameError::LabelTooLong { len: 64, .. })
        ));
        let label = "a".repeat(60);
        let huge = [label.as_str(); 5].join(".");
        assert!(matches!(
            parse_domain(&huge),
            Err(NameError::TooLong { len: 304, .. })
        ));
        assert!(matches!(
            parse_domain("bad_name.example"),
            Err(NameError::BadCharacter { .. })
        ));
        assert!(matches!(
            parse_domain("-bad.example"),
            Err(NameError::BadCharacter { .. })
        ));
        assert!(matches!(
            parse_domain("contoso com.example"),
            Err(NameError::BadCharacter { .. })
        ));
        assert!(matches!(
            parse_domain("localhost"),
            Err(NameError::SingleLabel(_))
        ));
        let msg = parse_domain("a..b").expect_err("bad").to_string();
        assert!(msg.contains("empty label"), "{msg}");
    }
}
