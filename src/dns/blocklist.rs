//! DNS blocklist (DNSBL) lookups of the mail hosts' addresses: the query name is the address
//! reversed under the list's zone; the answer's 127.0.0.x code says why it is listed. Some
//! codes mean the list refused to answer (queries through a public resolver, over a limit):
//! those are "not checked", never "listed" and never "clean".

use std::net::{IpAddr, Ipv4Addr};

/// The verdict for one address on one list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// NXDOMAIN: not on the list.
    Clean,
    /// On the list; the reasons decoded from the return codes.
    Listed(Vec<String>),
    /// The list answered with a code that means it refused the query, or the query failed.
    CouldNotCheck(String),
}

/// `4.3.2.1.zen.spamhaus.org` for 1.2.3.4; IPv6 as reversed nibbles (RFC 5782).
pub fn query_name(addr: IpAddr, zone: &str) -> String {
    let zone = zone.trim_end_matches('.');
    match addr {
        IpAddr::V4(v4) => {
            let [a, b, c, d] = v4.octets();
            format!("{d}.{c}.{b}.{a}.{zone}")
        }
        IpAddr::V6(v6) => {
            let mut labels = Vec::with_capacity(33);
            for byte in v6.octets().iter().rev() {
                labels.push(format!("{:x}", byte & 0x0f));
                labels.push(format!("{:x}", byte >> 4));
            }
            labels.push(zone.to_string());
            labels.join(".")
        }
    }
}

/// Decode the A records a list answered with.
pub fn decode(zone: &str, answers: &[Ipv4Addr]) -> Listing {
    if answers.is_empty() {
        return Listing::Clean;
    }
    let mut reasons = Vec::new();
    for a in answers {
        let [first, second, third, last] = a.octets();
        // RFC 5782: listings are in 127.0.0.0/8; anything else is an error page or a wildcard.
        if first != 127 {
            return Listing::CouldNotCheck(format!("unexpected answer {a} (not in 127.0.0.0/8)"));
        }
        // Spamhaus-style refusal codes: 127.255.255.252..=255.
        if second == 255 && third == 255 && last >= 252 {
            return Listing::CouldNotCheck(refusal_reason(last));
        }
        reasons.push(reason(zone, last, *a));
    }
    Listing::Listed(reasons)
}

fn refusal_reason(last: u8) -> String {
    match last {
        252 => "the list says the query was malformed (typing error in the zone)".into(),
        254 => "the list refuses queries that come through public or open resolvers".into(),
        255 => "the list refuses: too many queries from this resolver".into(),
        _ => format!("the list refused the query (127.255.255.{last})"),
    }
}

fn reason(zone: &str, last: u8, addr: Ipv4Addr) -> String {
    if zone.to_ascii_lowercase().contains("spamhaus") {
        let what = match last {
            2 => "SBL: known spam source",
            3 => "CSS: snowshoe spam",
            4..=7 => "XBL: exploited or infected host",
            9 => "DROP: hijacked network",
            10 | 11 => "PBL: end-user address range that should not send mail directly",
            _ => "listed",
        };
        format!("{what} ({addr})")
    } else {
        format!("listed ({addr})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reversed_names() {
        let v4: IpAddr = "192.0.2.10".parse().expect("ip");
        assert_eq!(
            query_name(v4, "zen.spamhaus.org."),
            "10.2.0.192.zen.spamhaus.org"
        );
        let v6: IpAddr = "2001:db8::1".parse().expect("ip");
        let name = query_name(v6, "list.example");
        assert!(name.starts_with("1.0.0.0.0.0.0.0"), "{name}");
        assert!(name.ends_with("8.b.d.0.1.0.0.2.list.example"), "{name}");
        assert_eq!(name.split('.').count(), 32 + 2);
    }

    #[test]
    fn codes_decode_and_refusals_are_not_listings() {
        assert_eq!(decode("zen.spamhaus.org", &[]), Listing::Clean);
        match decode(
            "zen.spamhaus.org",
            &[Ipv4Addr::new(127, 0, 0, 2), Ipv4Addr::new(127, 0, 0, 10)],
        ) {
            Listing::Listed(r) => {
                assert!(r[0].starts_with("SBL"));
                assert!(r[1].starts_with("PBL"));
            }
            other => panic!("{other:?}"),
        }
        for last in [254, 255] {
            assert!(matches!(
                decode("zen.spamhaus.org", &[Ipv4Addr::new(127, 255, 255, last)]),
                Listing::CouldNotCheck(_)
            ));
        }
        assert!(matches!(
            decode("x.example", &[Ipv4Addr::new(192, 0, 2, 1)]),
            Listing::CouldNotCheck(_)
        ));
    }
}
