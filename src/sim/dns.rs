//! The authoritative DNS server for the custom domain's zone (hickory-server's Catalog and
//! InMemoryZoneHandler on one loopback port, UDP and TCP), and the scenario hook that replaces
//! records while it runs. The domain's zone accepts RFC 2136 updates signed with the sim's TSIG
//! key and answers the rest as BIND does: unsigned → REFUSED, an unknown key → NOTAUTH/BADKEY,
//! a wrong secret → NOTAUTH/BADSIG, a stale time → NOTAUTH/BADTIME ([`ZoneFront`]).

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::SOA;
use hickory_proto::rr::rdata::tsig::TsigError;
use hickory_proto::rr::{
    DNSClass, LowerName, Name, RData, Record, RecordSet, RecordType, RrKey, TSigResponseContext,
    TSigner,
};
use hickory_server::Server;
use hickory_server::dnssec::NxProofKind;
use hickory_server::server::{Request, RequestInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{
    AuthLookup, AxfrPolicy, Catalog, LookupControlFlow, LookupError, LookupOptions, Nsec3QueryInfo,
    UpdateRequest, ZoneHandler, ZoneTransfer, ZoneType,
};
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
    /// UPDATE messages that reached this zone, signed or not, applied or refused.
    updates: AtomicU64,
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
            InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny, None);
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
            updates: AtomicU64::new(0),
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

    /// The CNAME target the zone serves at `fqdn` now (without the final dot), as Exchange
    /// checking a DKIM selector asks the authoritative server; `None` when there is none or
    /// the name is not in this zone.
    pub(crate) fn cname(&self, fqdn: &str) -> Result<Option<String>, SimError> {
        let Ok(name) = Name::from_ascii(format!("{}.", fqdn.trim_end_matches('.'))) else {
            return Ok(None);
        };
        if !self.origin.zone_of(&name) {
            return Ok(None);
        }
        let key = RrKey::new(LowerName::from(&name), RecordType::CNAME);
        self.with_records(|records| {
            records.get(&key).and_then(|set| {
                set.records_without_rrsigs().find_map(|r| match &r.data {
                    RData::CNAME(c) => Some(c.0.to_ascii().trim_end_matches('.').to_string()),
                    _ => None,
                })
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

/// Record data in zone-file form, parsed as the update client parses it (one place).
fn parse_rdata(rtype: RecordType, value: &str) -> Result<RData, SimError> {
    crate::dns::update::rdata(rtype, value).map_err(SimError::InvalidRecord)
}

impl Zone {
    /// UPDATE messages that reached the zone so far.
    pub(crate) fn updates_received(&self) -> u64 {
        self.updates.load(Ordering::Relaxed)
    }

    /// Apply an update section (RFC 2136 §3.4) as one step: every record checked first, then
    /// all applied or none, and the serial bumped once when anything changed.
    fn apply_update(&self, updates: &[Record]) -> Result<bool, ResponseCode> {
        let origin = LowerName::from(&self.origin);
        // 3.4.1 Prescan: inside the zone, known classes, well-formed deletions.
        for r in updates {
            if !origin.zone_of(&LowerName::from(&r.name)) {
                return Err(ResponseCode::NotZone);
            }
            let rtype = r.record_type();
            match r.dns_class {
                DNSClass::IN if matches!(rtype, RecordType::ANY | RecordType::AXFR) => {
                    return Err(ResponseCode::FormErr);
                }
                DNSClass::IN => {}
                DNSClass::ANY | DNSClass::NONE if r.ttl != 0 => {
                    return Err(ResponseCode::FormErr);
                }
                DNSClass::ANY if !matches!(r.data, RData::Update0(_)) => {
                    return Err(ResponseCode::FormErr);
                }
                DNSClass::ANY | DNSClass::NONE => {}
                _ => return Err(ResponseCode::FormErr),
            }
        }
        let mut serial = self.serial.lock().map_err(|_| ResponseCode::ServFail)?;
        let next = serial.wrapping_add(1);
        let origin_name = self.origin.clone();
        let changed = self
            .with_records(|records| {
                let mut work = records.clone();
                let mut changed = false;
                for r in updates {
                    changed |= apply_one(&mut work, &origin_name, r, next);
                }
                if changed {
                    put_rrset(
                        &mut work,
                        &origin_name,
                        RecordType::SOA,
                        TTL,
                        vec![soa(&origin_name, next)],
                        next,
                    );
                    *records = work;
                }
                changed
            })
            .map_err(|_| ResponseCode::ServFail)?;
        if changed {
            *serial = next;
        }
        Ok(changed)
    }
}

/// The values and TTL of one RRset now.
fn rrset_values(records: &Records, key: &RrKey) -> (u32, Vec<RData>) {
    records.get(key).map_or((0, Vec::new()), |set| {
        (
            set.ttl(),
            set.records_without_rrsigs()
                .map(|r| r.data.clone())
                .collect(),
        )
    })
}

/// One update record (RFC 2136 §3.4.2). The SOA and the apex NS set are not touched by
/// deletions; a CNAME and other data never share a name (the add is ignored, as BIND does).
fn apply_one(records: &mut Records, origin: &Name, r: &Record, serial: u32) -> bool {
    let name = LowerName::from(&r.name);
    let apex = name == LowerName::from(origin);
    let rtype = r.record_type();
    let protected = |t: RecordType| t == RecordType::SOA || (apex && t == RecordType::NS);
    match r.dns_class {
        DNSClass::ANY if rtype == RecordType::ANY => {
            let keys: Vec<RrKey> = records
                .keys()
                .filter(|k| k.name == name && !protected(k.record_type))
                .cloned()
                .collect();
            for k in &keys {
                records.remove(k);
            }
            !keys.is_empty()
        }
        DNSClass::ANY => {
            if protected(rtype) {
                return false;
            }
            records.remove(&RrKey::new(name, rtype)).is_some()
        }
        DNSClass::NONE => {
            if rtype == RecordType::SOA {
                return false;
            }
            let key = RrKey::new(name, rtype);
            let (ttl, mut values) = rrset_values(records, &key);
            let before = values.len();
            values.retain(|v| *v != r.data);
            if values.len() == before || (apex && rtype == RecordType::NS && values.is_empty()) {
                return false;
            }
            put_rrset(records, &r.name, rtype, ttl, values, serial);
            true
        }
        _ => {
            if rtype == RecordType::SOA {
                return false;
            }
            let clash = records.keys().any(|k| {
                k.name == name
                    && k.record_type != rtype
                    && (rtype == RecordType::CNAME || k.record_type == RecordType::CNAME)
            });
            if clash {
                return false;
            }
            let key = RrKey::new(name, rtype);
            let (_, mut values) = rrset_values(records, &key);
            if rtype == RecordType::CNAME {
                values.clear();
            }
            if !values.contains(&r.data) {
                values.push(r.data.clone());
            }
            // The RRset takes the TTL of the record added last, as BIND's does.
            put_rrset(records, &r.name, rtype, r.ttl, values, serial);
            true
        }
    }
}

/// The domain's zone as the server sees it: lookups go to the in-memory handler; UPDATE
/// messages are authorised by TSIG against `keys` and applied through [`Zone::apply_update`].
pub(crate) struct ZoneFront {
    zone: Arc<Zone>,
    keys: Vec<TSigner>,
}

impl ZoneFront {
    /// RFC 8945 §5.2 as BIND applies it: no signature → REFUSED (no `allow-update` matches);
    /// unknown key or algorithm → NOTAUTH/BADKEY (unsigned); wrong MAC → NOTAUTH/BADSIG
    /// (unsigned); outside the fudge → NOTAUTH/BADTIME (signed).
    fn authorise(
        &self,
        request: &Request,
        now: u64,
    ) -> (Result<(), ResponseCode>, Option<TSigResponseContext>) {
        let id = UpdateRequest::id(&**request);
        let Some(tsig) = request.signature() else {
            return (Err(ResponseCode::Refused), None);
        };
        let Some(signer) = self
            .keys
            .iter()
            .find(|k| k.signer_name() == &tsig.name && *k.algorithm() == tsig.data.algorithm)
        else {
            return (
                Err(ResponseCode::NotAuth),
                Some(TSigResponseContext::unknown_key(id, now, tsig.name.clone())),
            );
        };
        let Ok((_, _, range)) = signer.verify_message_byte(request.as_slice(), None, true) else {
            return (
                Err(ResponseCode::NotAuth),
                Some(TSigResponseContext::bad_signature(id, now, signer.clone())),
            );
        };
        let (result, error) = if range.contains(&now) {
            (Ok(()), None)
        } else {
            (Err(ResponseCode::NotAuth), Some(TsigError::BadTime))
        };
        (
            result,
            Some(TSigResponseContext::new(
                id,
                now,
                signer.clone(),
                tsig.data.mac.clone(),
                error,
            )),
        )
    }
}

#[async_trait::async_trait]
impl ZoneHandler for ZoneFront {
    fn zone_type(&self) -> ZoneType {
        self.zone.handler.zone_type()
    }

    fn axfr_policy(&self) -> AxfrPolicy {
        self.zone.handler.axfr_policy()
    }

    async fn update(
        &self,
        request: &Request,
        now: u64,
    ) -> (Result<bool, ResponseCode>, Option<TSigResponseContext>) {
        self.zone.updates.fetch_add(1, Ordering::Relaxed);
        let (authorised, signer) = self.authorise(request, now);
        if let Err(code) = authorised {
            return (Err(code), signer);
        }
        // The zone section names this zone's apex, nothing below it.
        let apex = request
            .zone()
            .is_ok_and(|q| *q.name() == LowerName::from(&self.zone.origin));
        if !apex {
            return (Err(ResponseCode::NotAuth), signer);
        }
        // Prerequisites (RFC 2136 §2.4) are not rehearsed; refused rather than ignored.
        if !request.prerequisites().is_empty() {
            return (Err(ResponseCode::NotImp), signer);
        }
        (self.zone.apply_update(request.updates()), signer)
    }

    fn origin(&self) -> &LowerName {
        self.zone.handler.origin()
    }

    async fn lookup(
        &self,
        name: &LowerName,
        rtype: RecordType,
        request_info: Option<&RequestInfo<'_>>,
        lookup_options: LookupOptions,
    ) -> LookupControlFlow<AuthLookup> {
        self.zone
            .handler
            .lookup(name, rtype, request_info, lookup_options)
            .await
    }

    async fn search(
        &self,
        request: &Request,
        lookup_options: LookupOptions,
    ) -> (LookupControlFlow<AuthLookup>, Option<TSigResponseContext>) {
        self.zone.handler.search(request, lookup_options).await
    }

    async fn zone_transfer(
        &self,
        request: &Request,
        lookup_options: LookupOptions,
        now: u64,
    ) -> Option<(
        Result<ZoneTransfer, LookupError>,
        Option<TSigResponseContext>,
    )> {
        self.zone
            .handler
            .zone_transfer(request, lookup_options, now)
            .await
    }

    async fn nsec_records(
        &self,
        name: &LowerName,
        lookup_options: LookupOptions,
    ) -> LookupControlFlow<AuthLookup> {
        self.zone.handler.nsec_records(name, lookup_options).await
    }

    async fn nsec3_records(
        &self,
        info: Nsec3QueryInfo<'_>,
        lookup_options: LookupOptions,
    ) -> LookupControlFlow<AuthLookup> {
        self.zone.handler.nsec3_records(info, lookup_options).await
    }

    fn nx_proof_kind(&self) -> Option<&NxProofKind> {
        self.zone.handler.nx_proof_kind()
    }
}

impl DnsServer {
    /// Bind UDP on an ephemeral loopback port and TCP on the same port (retrying with a new
    /// port if another process holds the TCP side), then start serving `zone` and `extra`.
    /// Like a real authoritative server it never recurses: a name outside its zones is
    /// REFUSED (hickory's Catalog), recursion desired or not.
    /// `keys` may sign updates of `zone` (none: every update is refused).
    pub(crate) async fn start(
        zone: Arc<Zone>,
        extra: Vec<Zone>,
        keys: Vec<TSigner>,
    ) -> Result<DnsServer, SimError> {
        let (udp, tcp) = bind_pair().await?;
        let addr = udp
            .local_addr()
            .map_err(|e| SimError::Bind("DNS UDP socket", e))?;
        let mut catalog = Catalog::new();
        let handler: Arc<dyn ZoneHandler> = Arc::new(ZoneFront {
            zone: zone.clone(),
            keys,
        });
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
        assert_eq!(crate::dns::update::txt_chunks(&"a".repeat(300)).len(), 2);
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
