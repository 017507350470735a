//! The Microsoft 365 DNS record set for a custom domain, in one place, so that Graph's
//! `serviceConfigurationRecords` and the served zone can never disagree.

/// Data of one record the way Graph describes it (names without the trailing dot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RecordData {
    Mx {
        preference: u16,
        exchange: String,
    },
    Txt(String),
    Cname(String),
    Srv {
        service: String,
        protocol: String,
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
    },
}

/// One `domainDnsRecord`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServiceRecord {
    /// Owner name, fully qualified without the trailing dot (for SRV: the domain itself, as Graph
    /// reports it; service and protocol are separate fields).
    pub label: String,
    pub supported_service: &'static str,
    pub ttl: u32,
    pub data: RecordData,
}

pub(crate) const TTL: u32 = 3600;

/// `contoso.example` → `contoso-example`, the form Exchange Online uses in host names.
pub(crate) fn dashes(domain: &str) -> String {
    domain.replace('.', "-")
}

pub(crate) fn mx_host(domain: &str) -> String {
    format!("{}.mail.protection.outlook.com", dashes(domain))
}

pub(crate) const SPF: &str = "v=spf1 include:spf.protection.outlook.com -all";

/// The records Microsoft 365 asks for (Exchange, Teams/Skype, Intune), in Graph's order.
pub(crate) fn service_records(domain: &str) -> Vec<ServiceRecord> {
    let rec = |label: String, service: &'static str, data: RecordData| ServiceRecord {
        label,
        supported_service: service,
        ttl: TTL,
        data,
    };
    let cname = |host: &str, service: &'static str, target: &str| {
        rec(
            format!("{host}.{domain}"),
            service,
            RecordData::Cname(target.to_string()),
        )
    };
    let srv = |service: &str, protocol: &str, port: u16, target: &str| {
        rec(
            domain.to_string(),
            "OfficeCommunicationsOnline",
            RecordData::Srv {
                service: service.to_string(),
                protocol: protocol.to_string(),
                priority: 100,
                weight: 1,
                port,
                target: target.to_string(),
            },
        )
    };
    vec![
        rec(
            domain.to_string(),
            "Email",
            RecordData::Mx {
                preference: 0,
                exchange: mx_host(domain),
            },
        ),
        rec(
            domain.to_string(),
            "Email",
            RecordData::Txt(SPF.to_string()),
        ),
        cname("autodiscover", "Email", "autodiscover.outlook.com"),
        srv("_sip", "_tls", 443, "sipdir.online.lync.com"),
        srv("_sipfederationtls", "_tcp", 5061, "sipfed.online.lync.com"),
        cname(
            "sip",
            "OfficeCommunicationsOnline",
            "sipdir.online.lync.com",
        ),
        cname(
            "lyncdiscover",
            "OfficeCommunicationsOnline",
            "webdir.online.lync.com",
        ),
        cname(
            "enterpriseregistration",
            "Intune",
            "enterpriseregistration.windows.net",
        ),
        cname(
            "enterpriseenrollment",
            "Intune",
            "enterpriseenrollment.manage.microsoft.com",
        ),
    ]
}

/// The records that prove ownership: `MS=ms…` TXT and the never-delivering MX alternative.
pub(crate) fn verification_records(domain: &str, digits: &str) -> Vec<ServiceRecord> {
    vec![
        ServiceRecord {
            label: domain.to_string(),
            supported_service: "Email",
            ttl: TTL,
            data: RecordData::Txt(format!("MS=ms{digits}")),
        },
        ServiceRecord {
            label: domain.to_string(),
            supported_service: "Email",
            ttl: TTL,
            data: RecordData::Mx {
                preference: 32767,
                exchange: format!("ms{digits}.msv1.invalid"),
            },
        },
    ]
}
