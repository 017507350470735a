//! SPF checks that matter during a Microsoft 365 cutover: exactly one SPF record, Microsoft's
//! include present, the RFC 7208 limit of 10 DNS-querying terms, and syntax errors.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Microsoft 365's SPF include.
pub const M365_INCLUDE: &str = "spf.protection.outlook.com";
/// RFC 7208 §4.6.4: at most 10 terms that cause DNS queries.
pub const MAX_DNS_TERMS: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpfProblem {
    /// No TXT record starts with `v=spf1`.
    Missing,
    /// More than one SPF record: receivers treat that as a permanent error.
    Multiple(usize),
    /// `include:spf.protection.outlook.com` is not there.
    NoM365Include,
    /// More DNS-querying terms than the limit (counted in this record only; nested includes
    /// add more).
    TooManyLookups(usize),
    /// A term that does not parse.
    Syntax(String),
}

impl std::fmt::Display for SpfProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpfProblem::Missing => write!(f, "no SPF record"),
            SpfProblem::Multiple(n) => write!(f, "{n} SPF records; there must be exactly one"),
            SpfProblem::NoM365Include => write!(f, "missing include:{M365_INCLUDE}"),
            SpfProblem::TooManyLookups(n) => {
                write!(f, "{n} DNS-querying terms; the limit is {MAX_DNS_TERMS}")
            }
            SpfProblem::Syntax(s) => write!(f, "syntax error: {s}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpfReport {
    /// The SPF record that was checked (the first, when there are several).
    pub record: Option<String>,
    /// Terms that cause DNS queries (include, a, mx, ptr, exists, redirect).
    pub dns_terms: usize,
    pub problems: Vec<SpfProblem>,
}

impl SpfReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn is_spf(txt: &str) -> bool {
    // TXT values come from the network: `get` returns None where a range index would panic
    // (the 6th byte inside a multi-byte character).
    let t = txt.trim_start();
    match (t.get(..6), t.get(6..)) {
        (Some(version), Some(rest)) => {
            version.eq_ignore_ascii_case("v=spf1") && (rest.is_empty() || rest.starts_with(' '))
        }
        _ => false,
    }
}

/// Check the TXT values of a domain's apex (all of them; non-SPF TXT records are ignored).
pub fn check_spf(txt_values: &[String]) -> SpfReport {
    let spf: Vec<&String> = txt_values.iter().filter(|t| is_spf(t)).collect();
    let mut report = SpfReport::default();
    let Some(first) = spf.first() else {
        report.problems.push(SpfProblem::Missing);
        return report;
    };
    if spf.len() > 1 {
        report.problems.push(SpfProblem::Multiple(spf.len()));
    }
    report.record = Some(first.to_string());
    let mut has_m365 = false;
    for term in first.split_whitespace().skip(1) {
        match parse_term(term) {
            Ok(parsed) => {
                if parsed.queries_dns {
                    report.dns_terms += 1;
                }
                if parsed
                    .include
                    .is_some_and(|d| d.trim_end_matches('.').eq_ignore_ascii_case(M365_INCLUDE))
                {
                    has_m365 = true;
                }
            }
            Err(e) => report.problems.push(SpfProblem::Syntax(e)),
        }
    }
    if !has_m365 {
        report.problems.push(SpfProblem::NoM365Include);
    }
    if report.dns_terms > MAX_DNS_TERMS {
        report
            .problems
            .push(SpfProblem::TooManyLookups(report.dns_terms));
    }
    report
}

struct Term<'a> {
    queries_dns: bool,
    include: Option<&'a str>,
}

fn parse_term(term: &str) -> Result<Term<'_>, String> {
    // Modifiers: name=value.
    if let Some((name, value)) = term.split_once('=')
        && !name.contains(':')
    {
        return match name.to_ascii_lowercase().as_str() {
            "redirect" => domain_spec(term, value).map(|_| Term {
                queries_dns: true,
                include: None,
            }),
            "exp" => domain_spec(term, value).map(|_| Term {
                queries_dns: false,
                include: None,
            }),
            _ if name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
                && !name.is_empty() =>
            {
                // Unknown modifiers are allowed and ignored (RFC 7208 §6).
                Ok(Term {
                    queries_dns: false,
                    include: None,
                })
            }
            _ => Err(format!("'{term}' is not a valid modifier")),
        };
    }
    let body = term.strip_prefix(['+', '-', '~', '?']).unwrap_or(term);
    let (name, arg) = match body
        .find([':', '/'])
        .and_then(|i| body.get(..i).zip(body.get(i..)))
    {
        Some((name, arg)) => (name, Some(arg)),
        None => (body, None),
    };
    let value = arg.and_then(|a| a.strip_prefix(':'));
    match name.to_ascii_lowercase().as_str() {
        "all" if arg.is_none() => Ok(Term {
            queries_dns: false,
            include: None,
        }),
        "include" => {
            let d = value.ok_or_else(|| format!("'{term}' needs a domain: include:<domain>"))?;
            domain_spec(term, d)?;
            Ok(Term {
                queries_dns: true,
                include: Some(d),
            })
        }
        "exists" => {
            let d = value.ok_or_else(|| format!("'{term}' needs a domain: exists:<domain>"))?;
            domain_spec(term, d)?;
            Ok(Term {
                queries_dns: true,
                include: None,
            })
        }
        "a" | "mx" => {
            if let Some(a) = arg {
                let (domain, cidr) = match a.strip_prefix(':') {
                    Some(rest) => match rest
                        .find('/')
                        .and_then(|i| rest.get(..i).zip(rest.get(i..)))
                    {
                        Some((domain, cidr)) => (Some(domain), Some(cidr)),
                        None => (Some(rest), None),
                    },
                    None => (None, Some(a)),
                };
                if let Some(d) = domain {
                    domain_spec(term, d)?;
                }
                if let Some(c) = cidr {
                    dual_cidr(term, c)?;
                }
            }
            Ok(Term {
                queries_dns: true,
                include: None,
            })
        }
        "ptr" => {
            if let Some(d) = value {
                domain_spec(term, d)?;
            }
            Ok(Term {
                queries_dns: true,
                include: None,
            })
        }
        "ip4" => {
            let v =
                value.ok_or_else(|| format!("'{term}' needs an address: ip4:<address>[/len]"))?;
            let (ip, len) = v.split_once('/').map_or((v, None), |(a, l)| (a, Some(l)));
            ip.parse::<Ipv4Addr>()
                .map_err(|_| format!("'{term}': '{ip}' is not an IPv4 address"))?;
            prefix_len(term, len, 32)?;
            Ok(Term {
                queries_dns: false,
                include: None,
            })
        }
        "ip6" => {
            let v =
                value.ok_or_else(|| format!("'{term}' needs an address: ip6:<address>[/len]"))?;
            let (ip, len) = v.split_once('/').map_or((v, None), |(a, l)| (a, Some(l)));
            ip.parse::<Ipv6Addr>()
                .map_err(|_| format!("'{term}': '{ip}' is not an IPv6 address"))?;
            prefix_len(term, len, 128)?;
            Ok(Term {
                queries_dns: false,
                include: None,
            })
        }
        _ => Err(format!("'{term}' is not an SPF mechanism")),
    }
}

fn domain_spec(term: &str, d: &str) -> Result<(), String> {
    // Macros (%{i}) are legal in domain-specs; only reject what can never be a name.
    if d.is_empty() || d.contains(char::is_whitespace) || d.starts_with('.') || d.contains("..") {
        return Err(format!("'{term}' has an invalid domain '{d}'"));
    }
    Ok(())
}

fn prefix_len(term: &str, len: Option<&str>, max: u32) -> Result<(), String> {
    match len {
        None => Ok(()),
        Some(l) => match l.parse::<u32>() {
            Ok(n) if n <= max => Ok(()),
            _ => Err(format!("'{term}': prefix length '/{l}' must be 0..={max}")),
        },
    }
}

fn dual_cidr(term: &str, c: &str) -> Result<(), String> {
    // "/24", "//64" or "/24//64".
    let rest = c.strip_prefix('/').unwrap_or(c);
    let (v4, v6) = match (rest.split_once("//"), rest.strip_prefix('/')) {
        (Some((a, b)), _) => (a, Some(b)),
        (None, Some(b)) => ("", Some(b)),
        (None, None) => (rest, None),
    };
    if !v4.is_empty() {
        prefix_len(term, Some(v4), 32)?;
    }
    if let Some(b) = v6 {
        prefix_len(term, Some(b), 128)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(values: &[&str]) -> SpfReport {
        check_spf(&values.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn microsoft_default_record_is_clean() {
        let r = check(&[
            "v=spf1 include:spf.protection.outlook.com -all",
            "MS=ms12345678",
        ]);
        assert!(r.is_ok(), "{:?}", r.problems);
        assert_eq!(r.dns_terms, 1);
    }

    #[test]
    fn missing_and_multiple_and_missing_include() {
        assert_eq!(check(&["MS=ms1"]).problems, vec![SpfProblem::Missing]);
        let two = check(&[
            "v=spf1 include:spf.protection.outlook.com -all",
            "v=spf1 mx -all",
        ]);
        assert_eq!(two.problems, vec![SpfProblem::Multiple(2)]);
        let other = check(&["v=spf1 include:_spf.google.com ~all"]);
        assert_eq!(other.problems, vec![SpfProblem::NoM365Include]);
        // "v=spf10" is not an SPF record.
        assert_eq!(check(&["v=spf10 -all"]).problems, vec![SpfProblem::Missing]);
    }

    #[test]
    fn more_than_ten_lookups() {
        let many = format!(
            "v=spf1 include:{M365_INCLUDE} a mx ptr exists:x.example include:a.example include:b.example include:c.example a:d.example mx:e.example/24 redirect=f.example"
        );
        let r = check(&[many.as_str()]);
        assert_eq!(r.dns_terms, 11);
        assert_eq!(r.problems, vec![SpfProblem::TooManyLookups(11)]);
    }

    #[test]
    fn multi_byte_characters_at_the_cut_points_do_not_panic() {
        // The 6th byte inside "é" (the version check's cut), a multi-byte char right after the
        // version, and multi-byte text around ':' and '/' in terms.
        assert_eq!(check(&["v=spfé1 -all"]).problems, vec![SpfProblem::Missing]);
        assert_eq!(check(&["v=spf1é -all"]).problems, vec![SpfProblem::Missing]);
        assert_eq!(check(&["v=sé"]).problems, vec![SpfProblem::Missing]);
        let r = check(&[
            "v=spf1 include:spf.protection.outlook.com a:bücher.example/24 mx:例え.jp//64 é:x/é -all",
        ]);
        assert_eq!(r.dns_terms, 3);
        assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
        assert!(r.problems[0].to_string().contains("'é:x/é'"));
        let cidr = check(&["v=spf1 include:spf.protection.outlook.com a/é mx//ü -all"]);
        assert_eq!(cidr.problems.len(), 2, "{:?}", cidr.problems);
    }

    #[test]
    fn syntax_errors_name_the_term() {
        let r = check(&[
            "v=spf1 include:spf.protection.outlook.com ip4:300.1.1.1 ip6:zz foo include: -all",
        ]);
        let texts: Vec<String> = r.problems.iter().map(|p| p.to_string()).collect();
        assert_eq!(texts.len(), 4, "{texts:?}");
        assert!(texts[0].contains("ip4:300.1.1.1"));
        assert!(texts[1].contains("ip6:zz"));
        assert!(texts[2].contains("'foo'"));
        assert!(texts[3].contains("include:"));
        let ok = check(&[
            "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a/24 mx//64 include:spf.protection.outlook.com ~all",
        ]);
        assert!(ok.is_ok(), "{:?}", ok.problems);
        let bad_len = check(&["v=spf1 ip4:192.0.2.0/33 include:spf.protection.outlook.com -all"]);
        assert_eq!(bad_len.problems.len(), 1);
    }
}
