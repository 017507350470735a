//! RFC 2136 dynamic updates signed with TSIG (RFC 8945), sent to a zone's primary server: one
//! UPDATE message per record-set change, deleting the RRset and adding its new records in the
//! same message, so the server applies both or neither. See `docs/dns-updates.md`.
//!
//! The TSIG secret lives only in memory here (read from a key file or an environment variable);
//! no error, log line or `Debug` output carries it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode, UpdateMessage};
use hickory_proto::rr::rdata::tsig::{TsigAlgorithm, TsigError};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, MX, NS, SRV, TXT};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType, TSigner};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Seconds of clock difference a signature is accepted within (BIND's and RFC 8945's 300).
pub const FUDGE: u16 = 300;
/// Time allowed for one update (connect, send, answer).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// TSIG algorithms cutover signs with (those every current BIND, Knot and PowerDNS accept).
pub const ALGORITHMS: [&str; 3] = ["hmac-sha256", "hmac-sha384", "hmac-sha512"];

/// Where the TSIG secret is read from; never the config text itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A file holding the base64 secret, or a BIND `key "…" { algorithm …; secret "…"; };`
    /// clause as `tsig-keygen` writes it.
    File(PathBuf),
    /// An environment variable holding the base64 secret.
    Env(String),
}

/// The `[dns.update]` settings: where updates for one zone go and how they are signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateConfig {
    /// The zone's primary server (address:port).
    pub server: SocketAddr,
    /// The zone (A-labels, no trailing dot); none: the domain being moved.
    pub zone: Option<String>,
    /// The TSIG key's name as the server knows it.
    pub key_name: String,
    /// One of [`ALGORITHMS`].
    pub algorithm: String,
    pub key: KeySource,
}

/// Why an update did not go through, and whether it may have been applied anyway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The change cannot be expressed (bad name, type or value); nothing was sent.
    #[error("{0}")]
    Invalid(String),
    /// The server answered and did not apply it, or it was never delivered.
    #[error("{0}")]
    Refused(String),
    /// Sent, but no trustworthy answer came back: read the zone to know.
    #[error("{0}")]
    Ambiguous(String),
}

/// What the primary answered to an applied update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// `dns:<server>#<message id>`, the journal's request id for a DNS update.
    pub request_id: String,
}

/// Sends signed updates for one zone to its primary.
pub struct Updater {
    server: SocketAddr,
    zone: Name,
    zone_text: String,
    signer: TSigner,
    timeout: Duration,
}

impl std::fmt::Debug for Updater {
    // The signer holds the secret: show only where updates go.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Updater")
            .field("server", &self.server)
            .field("zone", &self.zone_text)
            .finish_non_exhaustive()
    }
}

/// The TSIG algorithm named in the config.
pub fn algorithm(name: &str) -> Result<TsigAlgorithm, String> {
    match name.trim().to_ascii_lowercase().trim_end_matches('.') {
        "hmac-sha256" => Ok(TsigAlgorithm::HmacSha256),
        "hmac-sha384" => Ok(TsigAlgorithm::HmacSha384),
        "hmac-sha512" => Ok(TsigAlgorithm::HmacSha512),
        other => Err(format!(
            "TSIG algorithm '{other}' is not supported; use one of {}",
            ALGORITHMS.join(", ")
        )),
    }
}

/// The secret's bytes. Errors name the file or variable, never what is in it.
pub fn read_secret(source: &KeySource) -> Result<Vec<u8>, String> {
    let (text, from) = match source {
        KeySource::File(path) => (
            std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read the TSIG key file {}: {e}", path.display()))?,
            format!("the TSIG key file {}", path.display()),
        ),
        KeySource::Env(var) => (
            std::env::var(var)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .ok_or_else(|| {
                    format!("dns.update.key_env names {var}, which is not set; export it")
                })?,
            format!("the variable {var}"),
        ),
    };
    let encoded = secret_text(&text);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| {
            format!(
                "{from} holds no base64 TSIG secret; write the secret (or tsig-keygen's key clause) there"
            )
        })?;
    if bytes.is_empty() {
        return Err(format!("{from} holds an empty TSIG secret"));
    }
    Ok(bytes)
}

/// The base64 part: the `secret "…";` of a BIND key clause, or the whole text.
fn secret_text(text: &str) -> &str {
    text.split_once("secret")
        .and_then(|(_, rest)| rest.split_once('"'))
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or(text, |(secret, _)| secret)
}

/// The key file's text for a secret: BIND's key clause, which `named` includes and cutover
/// reads back.
pub fn key_file_text(key_name: &str, algorithm: &str, secret: &[u8]) -> String {
    format!(
        "key \"{}\" {{\n\talgorithm {algorithm};\n\tsecret \"{}\";\n}};\n",
        key_name.trim_end_matches('.'),
        base64::engine::general_purpose::STANDARD.encode(secret)
    )
}

/// A record type a DNS change may set.
pub fn record_type(rtype: &str) -> Result<RecordType, String> {
    match rtype.trim().to_ascii_uppercase().as_str() {
        "MX" => Ok(RecordType::MX),
        "TXT" => Ok(RecordType::TXT),
        "CNAME" => Ok(RecordType::CNAME),
        "SRV" => Ok(RecordType::SRV),
        "NS" => Ok(RecordType::NS),
        "A" => Ok(RecordType::A),
        "AAAA" => Ok(RecordType::AAAA),
        other => Err(format!(
            "record type '{other}' cannot be changed by cutover (MX, TXT, CNAME, SRV, NS, A, AAAA can)"
        )),
    }
}

/// An absolute name, A-labels, with the trailing dot.
fn absolute(name: &str) -> Result<Name, String> {
    let bare = name.trim().trim_end_matches('.');
    let fqdn = format!("{bare}.");
    let parsed = if fqdn.is_ascii() {
        Name::from_ascii(&fqdn)
    } else {
        Name::from_utf8(&fqdn)
    };
    parsed.map_err(|e| format!("'{name}' is not a DNS name: {e}"))
}

/// The owner name of a record set in `zone`: `@`, a name relative to the zone (`_dmarc`), or a
/// name inside it, with or without the trailing dot. A name outside the zone is refused.
pub fn owner(zone: &str, name: &str) -> Result<Name, String> {
    let zone_name = absolute(zone)?;
    let trimmed = name.trim();
    if trimmed.is_empty() || trimmed == "@" {
        return Ok(zone_name);
    }
    let full = absolute(trimmed)?;
    if zone_name.zone_of(&full) {
        return Ok(full);
    }
    if trimmed.ends_with('.') {
        return Err(format!("{trimmed} is outside the zone {zone}"));
    }
    // Relative to the zone.
    let relative = Name::from_ascii(trimmed.trim_end_matches('.'))
        .or_else(|_| Name::from_utf8(trimmed))
        .map_err(|e| format!("'{name}' is not a DNS name: {e}"))?;
    relative
        .append_domain(&zone_name)
        .map_err(|e| format!("'{name}' in {zone}: {e}"))
}

/// A host name in record data; always absolute.
fn host(value: &str) -> Result<Name, String> {
    if value.trim().is_empty() {
        return Err("a host name is missing".into());
    }
    absolute(value)
}

fn number<T: std::str::FromStr>(field: Option<&str>, what: &str, value: &str) -> Result<T, String> {
    field
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| format!("{what} missing or invalid in '{value}'"))
}

/// Record data in zone-file form: `0 host.` (MX), text (TXT, quotes optional), `host.`
/// (CNAME, NS), `100 1 443 host.` (SRV), an address (A, AAAA).
pub fn rdata(rtype: RecordType, value: &str) -> Result<RData, String> {
    let mut fields = value.split_whitespace();
    let rdata = match rtype {
        RecordType::MX => {
            let preference = number(fields.next(), "MX preference", value)?;
            RData::MX(MX::new(preference, host(fields.next().unwrap_or(""))?))
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
            .parse()
            .map_err(|e| format!("address '{value}': {e}"))?)),
        RecordType::AAAA => RData::AAAA(AAAA(
            value
                .trim()
                .parse()
                .map_err(|e| format!("address '{value}': {e}"))?,
        )),
        RecordType::TXT => {
            let text = value.trim();
            let text = text
                .strip_prefix('"')
                .and_then(|t| t.strip_suffix('"'))
                .unwrap_or(text);
            RData::TXT(TXT::new(txt_chunks(text)))
        }
        other => return Err(format!("record type {other} is not supported")),
    };
    if matches!(rtype, RecordType::MX | RecordType::SRV) && fields.next().is_some() {
        return Err(format!("unexpected data after the target in '{value}'"));
    }
    Ok(rdata)
}

/// A TXT string longer than 255 bytes travels as several character-strings.
pub fn txt_chunks(text: &str) -> Vec<String> {
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

/// One value in the form answers are compared in (the resolver's: lower-case host names
/// without the trailing dot, TXT strings joined), so a plan's `0 Mail.Example.` equals an
/// answer's `0 mail.example`.
pub fn normalise_value(rtype: &str, value: &str) -> Result<String, String> {
    let t = record_type(rtype)?;
    Ok(super::resolver::format_rdata(&rdata(t, value)?))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn message_id() -> u16 {
    let b = *uuid::Uuid::new_v4().as_bytes();
    u16::from_be_bytes([b[0], b[1]])
}

impl Updater {
    /// `domain` is the zone when the config names none.
    pub fn new(config: &UpdateConfig, domain: &str, secret: Vec<u8>) -> Result<Updater, String> {
        let zone = absolute(config.zone.as_deref().unwrap_or(domain))?;
        let key_name =
            absolute(&config.key_name).map_err(|e| format!("dns.update.key_name: {e}"))?;
        let signer = TSigner::new(secret, algorithm(&config.algorithm)?, key_name, FUDGE)
            .map_err(|e| format!("cannot use the TSIG key: {e}"))?;
        Ok(Updater {
            server: config.server,
            zone_text: normalise(&zone),
            zone,
            signer,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Time allowed for one update.
    pub fn timeout(mut self, timeout: Duration) -> Updater {
        self.timeout = timeout;
        self
    }

    /// The zone, lower case, no trailing dot.
    pub fn zone(&self) -> &str {
        &self.zone_text
    }

    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Build the signed UPDATE message replacing `name`/`rtype` by `values` with `ttl` (no
    /// values: the RRset is deleted).
    fn message(
        &self,
        name: &str,
        rtype: &str,
        ttl: u32,
        values: &[String],
    ) -> Result<(Message, hickory_proto::rr::TSigVerifier), UpdateError> {
        let t = record_type(rtype).map_err(UpdateError::Invalid)?;
        let owner = owner(&self.zone_text, name).map_err(UpdateError::Invalid)?;
        let data = values
            .iter()
            .map(|v| rdata(t, v))
            .collect::<Result<Vec<_>, _>>()
            .map_err(UpdateError::Invalid)?;
        if t == RecordType::CNAME && data.len() > 1 {
            return Err(UpdateError::Invalid(format!(
                "{owner} can have only one CNAME"
            )));
        }
        let mut zone = Query::new();
        zone.set_name(self.zone.clone())
            .set_query_class(DNSClass::IN)
            .set_query_type(RecordType::SOA);
        let mut message = Message::new(message_id(), MessageType::Query, OpCode::Update);
        message.add_zone(zone);
        // RFC 2136 §2.5.2: class ANY, TTL 0, no data deletes the whole RRset.
        let mut delete = Record::update0(owner.clone(), 0, t);
        delete.dns_class = DNSClass::ANY;
        message.add_update(delete);
        for d in data {
            message.add_update(Record::from_rdata(owner.clone(), ttl, d));
        }
        let verifier = message
            .finalize(&self.signer, unix_now())
            .map_err(|e| UpdateError::Invalid(format!("cannot sign the update: {e}")))?
            .ok_or_else(|| UpdateError::Invalid("the TSIG signer gave no verifier".into()))?;
        Ok((message, verifier))
    }

    /// Replace the RRset atomically. The answer's rcode and TSIG decide: NOERROR with a valid
    /// signature is applied; REFUSED, NOTAUTH (BADSIG, BADKEY, BADTIME) and the other errors
    /// are refusals (the server applies an update whole or not at all); no answer, a dropped
    /// connection, SERVFAIL or an answer whose signature does not verify are ambiguous.
    pub async fn replace_rrset(
        &self,
        name: &str,
        rtype: &str,
        ttl: u32,
        values: &[String],
    ) -> Result<Applied, UpdateError> {
        let (message, mut verifier) = self.message(name, rtype, ttl, values)?;
        let id = message.metadata.id;
        let request_id = format!("dns:{}#{id}", self.server);
        let bytes = message
            .to_vec()
            .map_err(|e| UpdateError::Invalid(format!("cannot encode the update: {e}")))?;
        let len = u16::try_from(bytes.len())
            .map_err(|_| UpdateError::Invalid("the update is larger than 64 KiB".into()))?;
        let server = self.server;
        let mut stream = match tokio::time::timeout(self.timeout, TcpStream::connect(server)).await
        {
            Ok(Ok(s)) => s,
            // Nothing left this machine: not applied.
            Ok(Err(e)) => {
                return Err(UpdateError::Refused(format!(
                    "cannot reach the primary {server}: {e}"
                )));
            }
            Err(_) => {
                return Err(UpdateError::Refused(format!(
                    "cannot reach the primary {server}: no connection within {}s",
                    self.timeout.as_secs()
                )));
            }
        };
        let exchange = async {
            let mut framed = Vec::with_capacity(bytes.len() + 2);
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&bytes);
            stream.write_all(&framed).await?;
            stream.flush().await?;
            let mut head = [0u8; 2];
            stream.read_exact(&mut head).await?;
            let mut answer = vec![0u8; usize::from(u16::from_be_bytes(head))];
            stream.read_exact(&mut answer).await?;
            Ok::<_, std::io::Error>(answer)
        };
        let answer = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(a)) => a,
            Ok(Err(e)) => {
                return Err(UpdateError::Ambiguous(format!(
                    "the connection to {server} failed after the update was sent ({e})"
                )));
            }
            Err(_) => {
                return Err(UpdateError::Ambiguous(format!(
                    "no answer from {server} within {}s after the update was sent",
                    self.timeout.as_secs()
                )));
            }
        };
        let parsed = Message::from_vec(&answer)
            .map_err(|e| UpdateError::Ambiguous(format!("unreadable answer from {server}: {e}")))?;
        if parsed.metadata.id != id || parsed.metadata.message_type != MessageType::Response {
            return Err(UpdateError::Ambiguous(format!(
                "{server} answered another message (id {})",
                parsed.metadata.id
            )));
        }
        let code = parsed.metadata.response_code;
        let tsig_error = parsed.signature().and_then(|s| s.data.error);
        let key = self.signer.signer_name().to_ascii();
        let key = key.trim_end_matches('.');
        match (code, tsig_error) {
            (ResponseCode::NoError, None) => match verifier.verify(&answer) {
                Ok(_) => Ok(Applied { request_id }),
                Err(e) => Err(UpdateError::Ambiguous(format!(
                    "{server} said NOERROR but its answer's TSIG signature does not verify ({e}); not trusted"
                ))),
            },
            (_, Some(TsigError::BadSig)) => Err(UpdateError::Refused(format!(
                "{server} refused the update: the signature does not match its secret for key {key} (NOTAUTH, BADSIG); check the key file"
            ))),
            (_, Some(TsigError::BadKey)) => Err(UpdateError::Refused(format!(
                "{server} refused the update: it does not know the key {key} with this algorithm (NOTAUTH, BADKEY); check dns.update.key_name and algorithm"
            ))),
            (_, Some(TsigError::BadTime)) => Err(UpdateError::Refused(format!(
                "{server} refused the update: this machine's clock differs from the server's by more than {FUDGE}s (NOTAUTH, BADTIME)"
            ))),
            (ResponseCode::Refused, _) => Err(UpdateError::Refused(format!(
                "{server} refused the update (REFUSED): the zone {} does not allow updates with key {key}; check allow-update / update-policy on the server",
                self.zone_text
            ))),
            (ResponseCode::NotAuth, _) => Err(UpdateError::Refused(format!(
                "{server} refused the update (NOTAUTH): it is not the primary of {} or does not accept this key",
                self.zone_text
            ))),
            (ResponseCode::ServFail, _) => Err(UpdateError::Ambiguous(format!(
                "{server} answered SERVFAIL to the update"
            ))),
            (other, _) => Err(UpdateError::Refused(format!(
                "{server} refused the update ({})",
                other.to_str()
            ))),
        }
    }
}

/// Lower case, no trailing dot.
fn normalise(name: &Name) -> String {
    super::resolver::normalize_name(&name.to_ascii())
}

/// A key file beside `config`, named after it (`config.toml` → `config.tsig.key`).
pub fn key_file_beside(config: &Path) -> PathBuf {
    config.with_extension("tsig.key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_names_stay_inside_the_zone() {
        let z = "contoso.example";
        assert_eq!(owner(z, "@").unwrap().to_ascii(), "contoso.example.");
        assert_eq!(
            owner(z, "Contoso.Example.")
                .unwrap()
                .to_ascii()
                .to_lowercase(),
            "contoso.example."
        );
        assert_eq!(
            owner(z, "_dmarc").unwrap().to_ascii(),
            "_dmarc.contoso.example."
        );
        assert_eq!(
            owner(z, "sip.contoso.example").unwrap().to_ascii(),
            "sip.contoso.example."
        );
        assert!(owner(z, "example.org.").is_err());
    }

    #[test]
    fn secrets_come_from_a_bare_file_or_a_bind_clause() {
        let dir = tempfile::tempdir().unwrap();
        let clause = dir.path().join("k.key");
        std::fs::write(
            &clause,
            key_file_text("k", "hmac-sha256", b"0123456789abcdef"),
        )
        .unwrap();
        assert_eq!(
            read_secret(&KeySource::File(clause)).unwrap(),
            b"0123456789abcdef"
        );
        let bare = dir.path().join("bare");
        std::fs::write(&bare, "MDEyMzQ1Njc4OWFiY2RlZg==\n").unwrap();
        assert_eq!(
            read_secret(&KeySource::File(bare)).unwrap(),
            b"0123456789abcdef"
        );
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "not base64 at all: s3cr3t!").unwrap();
        let e = read_secret(&KeySource::File(bad)).unwrap_err();
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn values_normalise_like_answers() {
        assert_eq!(
            normalise_value("mx", "0 Mail.Example.").unwrap(),
            "0 mail.example"
        );
        assert_eq!(
            normalise_value("TXT", "\"v=spf1 -all\"").unwrap(),
            "v=spf1 -all"
        );
        assert!(normalise_value("MX", "x host.").is_err());
        assert!(normalise_value("PTR", "x").is_err());
    }
}
