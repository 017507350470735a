//! The authoritative DNS server for the custom domain's zone (hickory-server's Catalog and
//! InMemoryZoneHandler on one loopback port, UDP and TCP), and the scenario hook that replaces
//! records while it runs.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use hickory_proto::rr::rdata::{A, CNAME, MX, NS, SOA, SRV, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType, RrKey};
use hickory_server::Server;
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

use super::SimError;
use super::m365::{self, RecordData};

/// Serial of a fresh zone, in the common date-based form (YYYYMMDDnn).
const INITIAL_SERIAL: u32 = 2026010101;
const TTL: u32 = 3600;
const NEGATIVE_TTL: u32 = 300;

type Records = BTreeMap<RrKey, Arc<RecordSet>>;

/// The served zone: the handler the server reads and the serial only this side writes.
pub(crate) struct Zone {
    origin: Name,
    handler: Arc<InMemoryZoneHandler>,
    serial: Mutex<u32>,
}

/// The blocklist zone the rehearsal's outside world serves (not the domain's server).
pub const DNSBL_ZONE: &str = "bl.sim.example";
/// A blocklist that refuses every query as lists refuse queries through public resolvers
/// (Spamhaus' 127.255.255.254).
pub const REFUSING_DNSBL_ZONE: &str = "refusing.sim.example";
/// The zone of Exchange Online's inbound hosts in the outside world.
const MAIL_ZONE: &str = "mail.protection.outlook.com";
/// The address the outside world gives the domain's Exchange Online MX host (not listed).
pub const MX_HOST_ADDRESS: &str = "198.51.100.25";

/// A running DNS server and the zone it serves.
pub(crate) struct DnsServer {
    pub addr: SocketAddr,
    pub zone: Arc<Zone>,
    pub server: Server<Catalog>,
}

/// The zone's records as (owner relative to the origin, type, value), in zone-file data form.
fn initial_records(
    domain: &str,
    source_initial: &str,
    verification_digits: &str,
) -> Vec<(String, RecordType, String)> {
    let dashes = m365::dashes(domain);
    let mut out = vec![
        ("@".to_string(), RecordType::NS, format!("ns1.{domain}.")),
        ("ns1".to_string(), RecordType::A, "127.0.0.1".to_string()),
    ];
    // Exchange, Teams and Intune records come from the same table Graph reports.
    for r in m365::service_records(domain) {
        let owner = r.label.clone();
        match r.data {
            RecordData::Mx {
                preference,
                exchange,
            } => out.push((owner, RecordType::MX, format!("{preference} {exchange}."))),
            RecordData::Txt(text) => out.push((owner, RecordType::TXT, text)),
            RecordData::Cname(target) => out.push((owner, RecordType::CNAME, format!("{target}."))),
            RecordData::Srv {
                service,
                protocol,
                priority,
                weight,
                port,
                target,
            } => out.push((
                format!("{service}.{protocol}.{domain}"),
                RecordType::SRV,
                format!("{priority} {weight} {port} {target}."),
            )),
        }
    }
    out.push((
        "@".to_string(),
        RecordType::TXT,
        format!("MS=ms{verification_digits}"),
    ));
    for selector in ["selector1", "selector2"] {
        out.push((
            format!("{selector}._domainkey"),
            RecordType::CNAME,
            format!("{selector}-{dashes}._domainkey.{source_initial}."),
        ));
    }
    out.push((
        "_dmarc".to_string(),
        RecordType::TXT,
        format!("v=DMARC1; p=quarantine; rua=mailto:dmarc@{domain}"),
    ));
    out
}

impl Zone {
    /// Build the zone for `domain` with the Microsoft 365 set pointing at the source tenant.
    pub(crate) fn build(
        domain: &str,
        source_initial: &str,
        verification_digits: &str,
    ) -> Result<Zone, SimError> {
        Zone::from_records(
            domain,
            initial_records(domain, source_initial, verification_digits),
        )
    }

    /// The DNS blocklist zone the rehearsal serves (`bl.sim.example`): 192.0.2.25 is listed
    /// (code 127.0.0.2); every other address is NXDOMAIN, i.e. clean.
    pub(crate) fn dnsbl() -> Result<Zone, SimError> {
        Zone::from_records(
            DNSBL_ZONE,
            vec![
                (
                    "@".to_string(),
                    RecordType::NS,
                    format!("ns1.{DNSBL_ZONE}."),
                ),
                ("ns1".to_string(), RecordType::A, "127.0.0.1".to_string()),
                (
                    "25.2.0.192".to_string(),
                    RecordType::A,
                    "127.0.0.2".to_string(),
                ),
            ],
        )
    }

    /// A blocklist that answers 127.255.255.254 for every address (a wildcard).
    pub(crate) fn refusing_dnsbl() -> Result<Zone, SimError> {
        Zone::from_records(
            REFUSING_DNSBL_ZONE,
            vec![
                (
                    "@".to_string(),
                    RecordType::NS,
                    format!("ns1.{REFUSING_DNSBL_ZONE}."),
                ),
                ("ns1".to_string(), RecordType::A, "127.0.0.1".to_string()),
                (
                    "*".to_string(),
                    RecordType::A,
                    "127.255.255.254".to_string(),
                ),
            ],
        )
    }

    /// Exchange Online's inbound hosts: the address of the domain's MX host as the world
    /// knows it. Other hosts there (a destination tenant's new MX, say) have none here.
    pub(crate) fn mail_hosts(domain: &str) -> Result<Zone, SimError> {
        Zone::from_records(
            MAIL_ZONE,
            vec![
                ("@".to_string(), RecordType::NS, format!("ns1.{MAIL_ZONE}.")),
                ("ns1".to_string(), RecordType::A, "127.0.0.1".to_string()),
                (
                    m365::dashes(domain),
                    RecordType::A,
                    MX_HOST_ADDRESS.to_string(),
                ),
            ],
        )
    }

    fn from_records(
        domain: &str,
        initial: Vec<(String, RecordType, String)>,
    ) -> Result<Zone, SimError> {
        let origin = Name::from_ascii(format!("{domain}."))
            .map_err(|e| SimError::InvalidOptions(format!("domain {domain:?}: {e}")))?;
        let mut handler: InMemoryZoneHandler =
            InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
        // Group values by (owner, type): each group is one RRset.
        let mut sets: Vec<(Name, RecordType, Vec<RData>)> = Vec::new();
        for (owner, rtype, value) in initial {
            let name = owner_name(&origin, &owner)?;
            let rdata = parse_rdata(rtype, &value)?;
            match sets.iter_mut().find(|(n, t, _)| *n == name && *t == rtype) {
                Some((_, _, values)) => values.push(rdata),
                None => sets.push((name, rtype, vec![rdata])),
            }
        }
        let records = handler.records_get_mut();
        put_rrset(
            records,
            &origin,
            RecordType::SOA,
            TTL,
            vec![soa(&origin, INITIAL_SERIAL)],
            INITIAL_SERIAL,
        );
        for (name, rtype, values) in sets {
            put_rrset(records, &name, rtype, TTL, values, INITIAL_SERIAL);
        }
        Ok(Zone {
            origin,
            handler: Arc::new(handler),
            serial: Mutex::new(INITIAL_SERIAL),
        })
    }

    /// Replace all records of (name, type) and bump the SOA serial. Empty `values` delete the
    /// RRset.
    pub(crate) fn set_records(
        &self,
        name: &str,
        rtype: &str,
        ttl: u32,
        values: &[&str],
    ) -> Result<(), SimError> {
        let rtype = match rtype.trim().to_ascii_uppercase().as_str() {
            "MX" => RecordType::MX,
            "TXT" => RecordType::TXT,
            "CNAME" => RecordType::CNAME,
            "SRV" => RecordType::SRV,
            "NS" => RecordType::NS,
            "A" => RecordType::A,
            other => {
                return Err(SimError::InvalidRecord(format!(
                    "record type {other:?} cannot be set (MX, TXT, CNAME, SRV, NS, A can)"
                )));
            }
        };
        let owner = owner_name(&self.origin, name)?;
        if rtype == RecordType::CNAME && values.len() > 1 {
            return Err(SimError::InvalidRecord(format!(
                "{owner} can have only one CNAME"
            )));
        }
        let rdatas = values
            .iter()
            .map(|v| parse_rdata(rtype, v))
            .collect::<Result<Vec<_>, _>>()?;

        // The serial lock also serialises writers, so serials never go backwards.
        let mut serial = self
            .serial
            .lock()
            .map_err(|_| SimError::Dns("zone state poisoned".into()))?;
        let next = serial.wrapping_add(1);
        let origin = self.origin.clone();
        let conflict = self.with_records(|records| {
            // A CNAME owns its name alone (RFC 1034 §3.6.2).
            let lower = LowerName::from(&owner);
            let clash = !rdatas.is_empty()
                && records.keys().any(|k| {
                    k.name == lower
                        && k.record_type != rtype
                        && (rtype == RecordType::CNAME || k.record_type == RecordType::CNAME)
                });
            if clash {
                return true;
            }
            put_rrset(records, &owner, rtype, ttl, rdatas, next);
            put_rrset(
                records,
                &origin,
                RecordType::SOA,
                TTL,
                vec![soa(&origin, next)],
                next,
            );
            false
        })?;
        if conflict {
            return Err(SimError::InvalidRecord(format!(
                "{owner} cannot hold a CNAME together with other records"
            )));
        }
        *serial = next;
        Ok(())
    }

    /// The TXT strings the zone serves at `domain` (its apex) now, as a verifier asking the
    /// authoritative server would see them; nothing for a name that is not this zone's.
    pub(crate) fn apex_txt(&self, domain: &str) -> Result<Vec<String>, SimError> {
        let Ok(name) = Name::from_ascii(format!("{}.", domain.trim_end_matches('.'))) else {
            return Ok(Vec::new());
        };
        if LowerName::from(&name) != LowerName::from(&self.origin) {
            return Ok(Vec::new());
        }
        let key = RrKey::new(LowerName::from(&self.origin), RecordType::TXT);
        self.with_records(|records| {
            records.get(&key).map_or_else(Vec::new, |set| {
                set.records_without_rrsigs()
                    .filter_map(|r| match &r.data {
                        RData::TXT(txt) => Some(
                            txt.txt_data
                                .iter()
                                .map(|b| String::from_utf8_lossy(b).into_owned())
                                .collect::<String>(),
                        ),
                        _ => None,
                    })
                    .collect()
            })
        })
    }

    #[cfg(test)]
    pub(crate) fn serial(&self) -> u32 {
        self.serial.lock().map(|s| *s).unwrap_or(0)
    }

    /// Run `f` with the handler's records write-locked. The handler's lock is a tokio lock and
    /// this is called from synchronous code (possibly on a runtime thread), so it is taken by
    /// polling once and retrying briefly; readers hold it only for the length of one lookup.
    fn with_records<R>(&self, f: impl FnOnce(&mut Records) -> R) -> Result<R, SimError> {
        for attempt in 0..2_000 {
            if let Some(mut guard) = self.handler.records_mut().now_or_never() {
                return Ok(f(&mut guard));
            }
            if attempt < 100 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(500));
            }
        }
        Err(SimError::Dns(
            "the zone stayed locked by readers for too long".into(),
        ))
    }
}

/// An owner name in the zone: `@`, a relative name (`_dmarc`), or an absolute one with or
/// without the trailing dot. A fully qualified name outside the zone is refused.
fn owner_name(origin: &Name, input: &str) -> Result<Name, SimError> {
    let input = input.trim();
    let origin = origin.to_ascii().to_ascii_lowercase();
    let domain = origin.trim_end_matches('.');
    let lower = input.to_ascii_lowercase();
    let absolute = lower.ends_with('.');
    let bare = lower.trim_end_matches('.');
    let fqdn = if bare.is_empty() || bare == "@" || bare == domain {
        format!("{domain}.")
    } else if bare.ends_with(&format!(".{domain}")) {
        format!("{bare}.")
    } else if absolute {
        return Err(SimError::InvalidRecord(format!(
            "{input} is outside the zone {domain}"
        )));
    } else {
        format!("{bare}.{domain}.")
    };
    Name::from_ascii(&fqdn)
        .map_err(|e| SimError::InvalidRecord(format!("owner name {input:?}: {e}")))
}

fn soa(origin: &Name, serial: u32) -> RData {
    let host = |label: &str| {
        Name::from_ascii(label)
            .and_then(|l| l.append_domain(origin))
            .unwrap_or_else(|_| origin.clone())
    };
    RData::SOA(SOA::new(
        host("ns1"),
        host("hostmaster"),
        serial,
        3600,
        600,
        1_209_600,
        NEGATIVE_TTL,
    ))
}

/// Replace (or with no values, remove) one RRset in the handler's map.
fn put_rrset(
    records: &mut Records,
    name: &Name,
    rtype: RecordType,
    ttl: u32,
    values: Vec<RData>,
    serial: u32,
) {
    let key = RrKey::new(LowerName::from(name), rtype);
    if values.is_empty() {
        records.remove(&key);
        return;
    }
    let mut set = RecordSet::new(name.clone(), rtype, serial);
    for rdata in values {
        set.insert(Record::from_rdata(name.clone(), ttl, rdata), serial);
    }
    records.insert(key, Arc::new(set));
}

/// A host name in record data; always absolute, with or without the trailing dot.
fn host(value: &str) -> Result<Name, SimError> {
    let mut name = Name::from_ascii(value.trim())
        .map_err(|e| SimError::InvalidRecord(format!("host name {value:?}: {e}")))?;
    name.set_fqdn(true);
    Ok(name)
}

fn number<T: std::str::FromStr>(
    field: Option<&str>,
    what: &str,
    value: &str,
) -> Result<T, SimError> {
    field
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| SimError::InvalidRecord(format!("{what} missing or invalid in {value:?}")))
}

/// Record data in zone-file form: `0 host.` (MX), text (TXT, quotes optional), `host.` (CNAME,
/// NS), `100 1 443 host.` (SRV), an IPv4 address (A).
fn parse_rdata(rtype: RecordType, value: &str) -> Result<RData, SimError> {
    let mut fields = value.split_whitespace();
    let rdata = match rtype {
        RecordType::MX => {
            let preference = number(fields.next(), "MX preference", value)?;
            let exchange = host(fields.next().unwrap_or(""))?;
            RData::MX(MX::new(preference, exchange))
        }
        RecordType::SRV => {
            let priority = number(fields.next(), "SRV priority", value)?;
            let weight = number(fields.next(), "SRV weight", value)?;
            let port = number(fields.next(), "SRV port", value)?;
            let target = host(fields.next().unwrap_or(""))?;
            RData::SRV(SRV::new(priority, weight, port, target))
        }
        RecordType::CNAME => RData::CNAME(CNAME(host(value)?)),
        RecordType::NS => RData::NS(NS(host(value)?)),
        RecordType::A => RData::A(A(value
            .trim()
            .parse::<Ipv4Addr>()
            .map_err(|e| SimError::InvalidRecord(format!("address {value:?}: {e}")))?)),
        RecordType::TXT => {
            let text = value.trim();
            let text = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(text);
            RData::TXT(TXT::new(txt_chunks(text)))
        }
        other => {
            return Err(SimError::InvalidRecord(format!(
                "record type {other} is not supported"
            )));
        }
    };
    if matches!(rtype, RecordType::MX | RecordType::SRV) && fields.next().is_some() {
        return Err(SimError::InvalidRecord(format!(
            "unexpected data after the target in {value:?}"
        )));
    }
    Ok(rdata)
}

/// A TXT string longer than 255 bytes travels as several character-strings.
fn txt_chunks(text: &str) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if current.len() + c.len_utf8() > 255 {
            chunks.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    chunks.push(current);
    chunks
}

impl DnsServer {
    /// Bind UDP on an ephemeral loopback port and TCP on the same port (retrying with a new
    /// port if another process holds the TCP side), then start serving `zone` and `extra`.
    /// Like a real authoritative server it never recurses: a name outside its zones is
    /// REFUSED (hickory's Catalog), recursion desired or not.
    pub(crate) async fn start(zone: Arc<Zone>, extra: Vec<Zone>) -> Result<DnsServer, SimError> {
        let (udp, tcp) = bind_pair().await?;
        let addr = udp
            .local_addr()
            .map_err(|e| SimError::Bind("DNS UDP socket", e))?;
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = zone.handler.clone();
        catalog.upsert(LowerName::from(&zone.origin), vec![handler]);
        // Further zones (blocklists, mail hosts) are served as they were built; they never
        // change.
        for z in extra {
            let handler: Arc<dyn ZoneHandler> = z.handler.clone();
            catalog.upsert(LowerName::from(&z.origin), vec![handler]);
        }
        let mut server = Server::new(catalog);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 32);
        Ok(DnsServer { addr, zone, server })
    }

    pub(crate) async fn shutdown(mut self) {
        // A client holding a TCP connection open must not stall shutdown.
        let _ =
            tokio::time::timeout(Duration::from_secs(2), self.server.shutdown_gracefully()).await;
    }
}

async fn bind_pair() -> Result<(UdpSocket, TcpListener), SimError> {
    let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    let mut last_err = None;
    for _ in 0..8 {
        let udp = UdpSocket::bind(loopback)
            .await
            .map_err(|e| SimError::Bind("DNS UDP socket", e))?;
        let addr = udp
            .local_addr()
            .map_err(|e| SimError::Bind("DNS UDP socket", e))?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) => last_err = Some(e),
        }
    }
    Err(SimError::Bind(
        "DNS TCP listener",
        last_err.unwrap_or_else(|| std::io::Error::other("no port pair found")),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_zone_file_data() {
        assert!(matches!(
            parse_rdata(RecordType::MX, "0 host.example.").unwrap(),
            RData::MX(mx) if mx.preference == 0 && mx.exchange.to_ascii() == "host.example."
        ));
        assert!(matches!(
            parse_rdata(RecordType::SRV, "100 1 443 sipdir.online.lync.com").unwrap(),
            RData::SRV(srv) if srv.port == 443 && srv.target.is_fqdn()
        ));
        assert!(parse_rdata(RecordType::MX, "x host.").is_err());
        assert!(parse_rdata(RecordType::SRV, "1 2 host.").is_err());
        assert!(parse_rdata(RecordType::MX, "0 a. b.").is_err());
        assert_eq!(txt_chunks(&"a".repeat(300)).len(), 2);
    }

    #[test]
    fn owner_names_resolve_inside_the_zone_only() {
        let zone =
            Zone::build("contoso.example", "fabrikamsrc.onmicrosoft.com", "12345678").unwrap();
        assert_eq!(
            owner_name(&zone.origin, "@").unwrap().to_ascii(),
            "contoso.example."
        );
        assert_eq!(
            owner_name(&zone.origin, "Contoso.Example")
                .unwrap()
                .to_ascii(),
            "contoso.example."
        );
        assert_eq!(
            owner_name(&zone.origin, "_dmarc").unwrap().to_ascii(),
            "_dmarc.contoso.example."
        );
        assert_eq!(
            owner_name(&zone.origin, "sip.contoso.example.")
                .unwrap()
                .to_ascii(),
            "sip.contoso.example."
        );
        assert!(owner_name(&zone.origin, "example.org.").is_err());
        // CNAME exclusivity and type checks.
        assert!(
            zone.set_records("@", "CNAME", 300, &["x.example."])
                .is_err()
        );
        assert!(zone.set_records("sip", "TXT", 300, &["hello"]).is_err());
        // A records can be set since the DNSBL zone; types outside the list cannot.
        assert!(zone.set_records("@", "AAAA", 300, &["::1"]).is_err());
        assert_eq!(zone.serial(), INITIAL_SERIAL);
        zone.set_records("@", "MX", 300, &["0 mx.example."])
            .unwrap();
        assert_eq!(zone.serial(), INITIAL_SERIAL + 1);
    }
}
