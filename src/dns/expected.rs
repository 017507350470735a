//! Expected (what a tenant's Graph `serviceConfigurationRecords` asks for) against actual (what
//! DNS answers): each expected record is ok, missing or a mismatch, and records DNS has that
//! nobody asked for at an expected name are extra.

use crate::graph::model::DomainDnsRecord;

use super::model::{AnswerStatus, RecordAnswer, RecordKind};
use super::resolver::normalize_name;
use super::spf::M365_INCLUDE;

/// The records a tenant asks for, for `cutover dns` and the dashboard alike: its
/// `serviceConfigurationRecords`, plus its verification TXT (`MS=ms…`) while the domain is not
/// verified there yet. `None` when the tenant does not have the domain.
pub async fn tenant_records(
    client: &crate::graph::GraphClient,
    domain: &str,
) -> Result<Option<Vec<DomainDnsRecord>>, crate::graph::GraphError> {
    let Some(found) = client.domain(domain).await? else {
        return Ok(None);
    };
    let mut records = client.service_configuration_records(domain).await?;
    if !found.is_verified {
        records.extend(
            client
                .verification_dns_records(domain)
                .await?
                .into_iter()
                .filter(|r| r.record_type.eq_ignore_ascii_case("txt")),
        );
    }
    Ok(Some(records))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// DNS has nothing of this type at the name (NXDOMAIN or NODATA).
    Missing,
    /// DNS has records of this type at the name, none of them the expected one.
    Mismatch,
    /// DNS has this record but the tenant does not ask for it (e.g. a second MX host).
    Extra,
    /// The query failed, so nothing can be said.
    Unknown(String),
}

impl Verdict {
    pub fn as_str(&self) -> &str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Missing => "missing",
            Verdict::Mismatch => "mismatch",
            Verdict::Extra => "extra",
            Verdict::Unknown(_) => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub name: String,
    pub kind: RecordKind,
    /// The expected value in the same form as answers (`0 host` for MX), none for extras.
    pub expected: Option<String>,
    /// What DNS answered at (name, type).
    pub actual: Vec<String>,
    pub optional: bool,
    pub verdict: Verdict,
}

/// The DNS name and type an expected Graph record lives at, and its value in answer form.
pub fn expected_key(record: &DomainDnsRecord) -> Option<(String, RecordKind, String)> {
    let label = normalize_name(&record.label);
    let host = |h: &Option<String>| normalize_name(h.as_deref().unwrap_or(""));
    match record.record_type.to_ascii_lowercase().as_str() {
        "mx" => Some((
            label,
            RecordKind::Mx,
            format!(
                "{} {}",
                record.preference.unwrap_or(0),
                host(&record.mail_exchange)
            ),
        )),
        "txt" => Some((
            label,
            RecordKind::Txt,
            record.text.clone().unwrap_or_default(),
        )),
        "cname" => Some((label, RecordKind::Cname, host(&record.canonical_name))),
        "srv" => {
            let service = record.service.as_deref().unwrap_or("").trim_matches('.');
            let protocol = record.protocol.as_deref().unwrap_or("").trim_matches('.');
            let name = [service, protocol, label.as_str()]
                .iter()
                .filter(|p| !p.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join(".");
            Some((
                normalize_name(&name),
                RecordKind::Srv,
                format!(
                    "{} {} {} {}",
                    record.priority.unwrap_or(0),
                    record.weight.unwrap_or(0),
                    record.port.unwrap_or(0),
                    host(&record.name_target)
                ),
            ))
        }
        _ => None,
    }
}

fn matches(kind: RecordKind, expected: &str, actual: &str) -> bool {
    match kind {
        // An SPF record that carries Microsoft's include satisfies the expectation even when
        // it authorises other senders too (the usual merged record).
        RecordKind::Txt if expected.to_ascii_lowercase().starts_with("v=spf1") => {
            actual.to_ascii_lowercase().starts_with("v=spf1")
                && actual.split_whitespace().any(|t| {
                    t.trim_start_matches('+')
                        .eq_ignore_ascii_case(&format!("include:{M365_INCLUDE}"))
                })
        }
        RecordKind::Txt => expected == actual,
        // MX: the host decides where mail goes; preference is compared too because Microsoft
        // asks for 0 and a higher one behind another host changes routing.
        _ => expected.eq_ignore_ascii_case(actual),
    }
}

/// Compare every expected record with the answers. Extra MX and CNAME values at expected
/// names are reported; other TXT values (verification, other services) are not extras.
pub fn compare(expected: &[DomainDnsRecord], actual: &[RecordAnswer]) -> Vec<Comparison> {
    let mut out = Vec::new();
    let mut seen: Vec<(String, RecordKind)> = Vec::new();
    for record in expected {
        let Some((name, kind, value)) = expected_key(record) else {
            continue;
        };
        let answer = actual.iter().find(|a| a.name == name && a.kind == kind);
        let values: Vec<String> = answer
            .map(|a| a.values.iter().map(|v| v.value.clone()).collect())
            .unwrap_or_default();
        let verdict = match answer.map(|a| &a.status) {
            None => Verdict::Unknown("not queried".into()),
            Some(AnswerStatus::Error(e)) => Verdict::Unknown(e.clone()),
            Some(AnswerStatus::NxDomain | AnswerStatus::NoData) => Verdict::Missing,
            Some(AnswerStatus::Answer) => {
                if values.iter().any(|v| matches(kind, &value, v)) {
                    Verdict::Ok
                } else if kind == RecordKind::Txt
                    && !value.to_ascii_lowercase().starts_with("v=spf1")
                {
                    Verdict::Missing
                } else {
                    Verdict::Mismatch
                }
            }
        };
        out.push(Comparison {
            name: name.clone(),
            kind,
            expected: Some(value),
            actual: values,
            optional: record.is_optional,
            verdict,
        });
        seen.push((name, kind));
    }
    for (name, kind) in seen {
        if !matches!(kind, RecordKind::Mx | RecordKind::Cname) {
            continue;
        }
        let wanted: Vec<&String> = out
            .iter()
            .filter(|c| c.name == name && c.kind == kind)
            .filter_map(|c| c.expected.as_ref())
            .collect();
        let Some(answer) = actual.iter().find(|a| a.name == name && a.kind == kind) else {
            continue;
        };
        let extras: Vec<String> = answer
            .values
            .iter()
            .filter(|v| !wanted.iter().any(|w| matches(kind, w, &v.value)))
            .map(|v| v.value.clone())
            .collect();
        // A single wrong value is already a mismatch; extras are additional values beside a
        // matching one.
        let has_match = answer
            .values
            .iter()
            .any(|v| wanted.iter().any(|w| matches(kind, w, &v.value)));
        if has_match {
            for extra in extras {
                if out.iter().any(|c| {
                    c.verdict == Verdict::Extra && c.name == name && c.actual == [extra.clone()]
                }) {
                    continue;
                }
                out.push(Comparison {
                    name: name.clone(),
                    kind,
                    expected: None,
                    actual: vec![extra],
                    optional: false,
                    verdict: Verdict::Extra,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::RecordValue;

    fn mx(host: &str) -> DomainDnsRecord {
        DomainDnsRecord {
            label: "contoso.example".into(),
            record_type: "Mx".into(),
            mail_exchange: Some(host.into()),
            preference: Some(0),
            ttl: 3600,
            ..Default::default()
        }
    }

    fn answer(name: &str, kind: RecordKind, values: &[&str]) -> RecordAnswer {
        RecordAnswer {
            name: name.into(),
            kind,
            status: if values.is_empty() {
                AnswerStatus::NxDomain
            } else {
                AnswerStatus::Answer
            },
            values: values
                .iter()
                .map(|v| RecordValue {
                    value: v.to_string(),
                    ttl: 3600,
                })
                .collect(),
        }
    }

    #[test]
    fn ok_mismatch_missing_extra() {
        let expected = vec![
            mx("contoso-example.mail.protection.outlook.com"),
            DomainDnsRecord {
                label: "autodiscover.contoso.example".into(),
                record_type: "CName".into(),
                canonical_name: Some("autodiscover.outlook.com".into()),
                ..Default::default()
            },
            DomainDnsRecord {
                label: "contoso.example".into(),
                record_type: "Txt".into(),
                text: Some("v=spf1 include:spf.protection.outlook.com -all".into()),
                ..Default::default()
            },
            DomainDnsRecord {
                label: "contoso.example".into(),
                record_type: "Srv".into(),
                service: Some("_sip".into()),
                protocol: Some("_tls".into()),
                priority: Some(100),
                weight: Some(1),
                port: Some(443),
                name_target: Some("sipdir.online.lync.com".into()),
                ..Default::default()
            },
        ];
        let actual = vec![
            answer(
                "contoso.example",
                RecordKind::Mx,
                &[
                    "0 contoso-example.mail.protection.outlook.com",
                    "10 backup.mx.example",
                ],
            ),
            answer(
                "autodiscover.contoso.example",
                RecordKind::Cname,
                &["autodiscover.other.example"],
            ),
            answer(
                "contoso.example",
                RecordKind::Txt,
                &[
                    "MS=ms1",
                    "v=spf1 include:spf.protection.outlook.com include:mail.example -all",
                ],
            ),
            answer("_sip._tls.contoso.example", RecordKind::Srv, &[]),
        ];
        let result = compare(&expected, &actual);
        let verdicts: Vec<(&str, &str)> = result
            .iter()
            .map(|c| (c.name.as_str(), c.verdict.as_str()))
            .collect();
        assert_eq!(
            verdicts,
            vec![
                ("contoso.example", "ok"),
                ("autodiscover.contoso.example", "mismatch"),
                ("contoso.example", "ok"),
                ("_sip._tls.contoso.example", "missing"),
                ("contoso.example", "extra"),
            ]
        );
        assert_eq!(result[4].actual, vec!["10 backup.mx.example".to_string()]);
    }

    #[test]
    fn spf_without_microsoft_include_is_a_mismatch() {
        let expected = vec![DomainDnsRecord {
            label: "contoso.example".into(),
            record_type: "Txt".into(),
            text: Some("v=spf1 include:spf.protection.outlook.com -all".into()),
            ..Default::default()
        }];
        let actual = vec![answer(
            "contoso.example",
            RecordKind::Txt,
            &["v=spf1 mx -all"],
        )];
        assert_eq!(compare(&expected, &actual)[0].verdict, Verdict::Mismatch);
    }
}
