//! Querying one set of nameservers for the Microsoft 365 record set, keeping each answer's TTL
//! and telling "no such name" apart from "no record of that type" and from failures.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::future::join_all;
use hickory_resolver::Resolver;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};

use super::model::{AnswerStatus, RecordAnswer, RecordKind, RecordValue};

#[derive(Debug, thiserror::Error)]
pub enum DnsClientError {
    #[error("no nameserver given: name at least one resolver address")]
    NoNameservers,
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(String),
}

/// Queries a fixed list of nameservers with caching off, so every sweep shows what the servers
/// answer now (with their TTLs), not what this process remembered.
pub struct DnsClient {
    resolver: Resolver<TokioRuntimeProvider>,
    servers: Vec<SocketAddr>,
    timeout: Duration,
}

impl DnsClient {
    pub fn new(nameservers: &[SocketAddr], timeout: Duration) -> Result<Self, DnsClientError> {
        Self::with_recursion(nameservers, timeout, true)
    }

    /// Like [`DnsClient::new`]; `recursion` false sends queries without RD, as an
    /// authoritative server is asked.
    pub fn with_recursion(
        nameservers: &[SocketAddr],
        timeout: Duration,
        recursion: bool,
    ) -> Result<Self, DnsClientError> {
        if nameservers.is_empty() {
            return Err(DnsClientError::NoNameservers);
        }
        let configs = nameservers
            .iter()
            .map(|addr| {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for conn in &mut ns.connections {
                    conn.port = addr.port();
                }
                ns
            })
            .collect();
        let config = ResolverConfig::from_parts(None, vec![], configs);
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        // `attempts` counts retries after the first try: 0 makes a dead server cost exactly
        // one timeout per query; the pollers ask again on their next tick anyway.
        opts.attempts = 0;
        opts.cache_size = 0;
        opts.ndots = 0;
        opts.preserve_intermediates = true;
        opts.recursion_desired = recursion;
        let resolver = Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| DnsClientError::Setup(e.to_string()))?;
        Ok(DnsClient {
            resolver,
            servers: nameservers.to_vec(),
            timeout,
        })
    }

    pub fn servers(&self) -> &[SocketAddr] {
        &self.servers
    }

    /// Ask for one (name, type). Never fails: failures are an [`AnswerStatus::Error`].
    pub async fn lookup(&self, name: &str, kind: RecordKind) -> RecordAnswer {
        let name = normalize_name(name);
        let status_values = match self.query(&name, record_type(kind)).await {
            Ok(lookup) => {
                let mut values: Vec<RecordValue> = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == record_type(kind))
                    .map(|r| RecordValue {
                        value: format_rdata(&r.data),
                        ttl: r.ttl,
                    })
                    .collect();
                values.sort_by(|a, b| a.value.cmp(&b.value));
                if values.is_empty() {
                    (AnswerStatus::NoData, values)
                } else {
                    (AnswerStatus::Answer, values)
                }
            }
            Err(err) => (classify_error(&err), Vec::new()),
        };
        RecordAnswer {
            name,
            kind,
            status: status_values.0,
            values: status_values.1,
        }
    }

    /// One query for `name` (no trailing dot) as it goes on the wire.
    async fn query(
        &self,
        name: &str,
        rtype: RecordType,
    ) -> Result<hickory_resolver::lookup::Lookup, NetError> {
        match wire_name(name) {
            Ok(n) => self.resolver.lookup(n, rtype).await,
            Err(e) => Err(NetError::from(e)),
        }
    }

    /// Query the whole Microsoft 365 set of `domain` concurrently.
    pub async fn sweep(&self, domain: &str) -> Vec<RecordAnswer> {
        self.sweep_names(&m365_names(domain)).await
    }

    /// Query the given (name, type) pairs concurrently, answers in the same order. The whole
    /// sweep shares one deadline of one timeout from its start, so a silent server costs exactly
    /// that, however late the last query went out on a busy machine.
    pub async fn sweep_names(&self, names: &[(String, RecordKind)]) -> Vec<RecordAnswer> {
        let deadline = tokio::time::Instant::now() + self.timeout;
        join_all(names.iter().map(|(name, kind)| async move {
            match tokio::time::timeout_at(deadline, self.lookup(name, *kind)).await {
                Ok(answer) => answer,
                Err(_) => RecordAnswer {
                    name: normalize_name(name),
                    kind: *kind,
                    status: AnswerStatus::Error("timeout".into()),
                    values: Vec::new(),
                },
            }
        }))
        .await
    }

    /// The A records at `name`: `Ok(empty)` for NXDOMAIN or NODATA (a DNSBL's "not listed"),
    /// `Err` with the failure otherwise.
    pub async fn lookup_v4(&self, name: &str) -> Result<Vec<std::net::Ipv4Addr>, String> {
        match self.query(&normalize_name(name), RecordType::A).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::A(a) => Some(a.0),
                    _ => None,
                })
                .collect()),
            Err(err) => match classify_error(&err) {
                AnswerStatus::NxDomain | AnswerStatus::NoData => Ok(Vec::new()),
                AnswerStatus::Error(e) => Err(e),
                AnswerStatus::Answer => Ok(Vec::new()),
            },
        }
    }

    /// The IPv4 and IPv6 addresses of a host, or why there are none: `NXDOMAIN`, `no A or
    /// AAAA record`, or the failure (REFUSED from a server that does not recurse, timeout, …).
    pub async fn addresses(&self, host: &str) -> Result<Vec<std::net::IpAddr>, String> {
        let name = match wire_name(&normalize_name(host)) {
            Ok(name) => name,
            Err(e) => return Err(e),
        };
        let found: Vec<std::net::IpAddr> = match self.resolver.lookup_ip(name).await {
            Ok(ips) => ips.iter().collect(),
            Err(err) => match classify_error(&err) {
                AnswerStatus::NxDomain => return Err("NXDOMAIN".into()),
                AnswerStatus::Error(e) => return Err(e),
                AnswerStatus::NoData | AnswerStatus::Answer => Vec::new(),
            },
        };
        if found.is_empty() {
            Err("no A or AAAA record".into())
        } else {
            Ok(found)
        }
    }
}

/// The (name, type) pairs Microsoft 365 uses for `domain`, in display order.
pub fn m365_names(domain: &str) -> Vec<(String, RecordKind)> {
    let d = normalize_name(domain);
    let sub = |label: &str| format!("{label}.{d}");
    vec![
        (d.clone(), RecordKind::Mx),
        (d.clone(), RecordKind::Txt),
        (sub("autodiscover"), RecordKind::Cname),
        (sub("selector1._domainkey"), RecordKind::Cname),
        (sub("selector2._domainkey"), RecordKind::Cname),
        (sub("_dmarc"), RecordKind::Txt),
        (sub("_sip._tls"), RecordKind::Srv),
        (sub("_sipfederationtls._tcp"), RecordKind::Srv),
        (sub("sip"), RecordKind::Cname),
        (sub("lyncdiscover"), RecordKind::Cname),
        (sub("enterpriseregistration"), RecordKind::Cname),
        (sub("enterpriseenrollment"), RecordKind::Cname),
        (d.clone(), RecordKind::Ns),
        (d, RecordKind::Soa),
    ]
}

/// Lower case, no trailing dot: the form names are compared and shown in.
pub fn normalize_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn record_type(kind: RecordKind) -> RecordType {
    match kind {
        RecordKind::Mx => RecordType::MX,
        RecordKind::Txt => RecordType::TXT,
        RecordKind::Cname => RecordType::CNAME,
        RecordKind::Srv => RecordType::SRV,
        RecordKind::Ns => RecordType::NS,
        RecordKind::Soa => RecordType::SOA,
    }
}

/// A-labels on purpose: `Name`'s Display shows IDN labels in Unicode, and answers must compare
/// equal to the wire form (and to Graph's records) whatever the labels.
fn host(name: &hickory_resolver::proto::rr::Name) -> String {
    normalize_name(&name.to_ascii())
}

/// Zone-file form with normalised host names; TXT character-strings are joined (a record split
/// into 255-byte chunks is one value).
pub(crate) fn format_rdata(data: &RData) -> String {
    match data {
        RData::MX(mx) => format!("{} {}", mx.preference, host(&mx.exchange)),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
            .collect::<String>(),
        RData::CNAME(cname) => host(&cname.0),
        RData::NS(ns) => host(&ns.0),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            host(&srv.target)
        ),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            host(&soa.mname),
            host(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        other => other.to_string(),
    }
}

fn classify_error(err: &NetError) -> AnswerStatus {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(no)) => match no.response_code {
            ResponseCode::NXDomain => AnswerStatus::NxDomain,
            ResponseCode::NoError => AnswerStatus::NoData,
            code => AnswerStatus::Error(response_code_name(code)),
        },
        NetError::Dns(DnsError::ResponseCode(code)) => {
            AnswerStatus::Error(response_code_name(*code))
        }
        NetError::Timeout => AnswerStatus::Error("timeout".into()),
        other => AnswerStatus::Error(other.to_string()),
    }
}

fn response_code_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".into(),
        ResponseCode::Refused => "REFUSED".into(),
        ResponseCode::NXDomain => "NXDOMAIN".into(),
        ResponseCode::FormErr => "FORMERR".into(),
        ResponseCode::NotImp => "NOTIMP".into(),
        other => other.to_string(),
    }
}

/// The name as it goes on the wire. An ASCII name is taken byte for byte: Microsoft's MX host
/// for an IDN domain (`xn--mnchen-3ya-example.mail.protection.outlook.com`) starts with `xn--`
/// without being valid punycode, and IDNA processing would refuse to ask for it at all. Only a
/// Unicode name goes through IDNA.
pub fn wire_name(name: &str) -> Result<hickory_resolver::proto::rr::Name, String> {
    let fqdn = format!("{}.", name.trim_end_matches('.'));
    let parsed = if fqdn.is_ascii() {
        hickory_resolver::proto::rr::Name::from_ascii(&fqdn)
    } else {
        hickory_resolver::proto::rr::Name::from_utf8(&fqdn)
    };
    parsed.map_err(|e| format!("'{name}' is not a DNS name: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_names_go_on_the_wire_byte_for_byte() {
        // Not valid punycode after the xn--, yet the name Microsoft gives an IDN domain's MX.
        let mx = "xn--mnchen-3ya-example.mail.protection.outlook.com";
        assert_eq!(wire_name(mx).map(|n| n.to_ascii()), Ok(format!("{mx}.")));
        assert_eq!(
            wire_name("_sip._tls.contoso.com.").map(|n| n.to_ascii()),
            Ok("_sip._tls.contoso.com.".to_string())
        );
        // Unicode goes through IDNA.
        assert_eq!(
            wire_name("münchen.example").map(|n| n.to_ascii()),
            Ok("xn--mnchen-3ya.example.".to_string())
        );
        assert!(wire_name("a..b").is_err());
    }
}
