//! The adopt plan (destination tenant): wait for the source to release the domain, add it,
//! publish the verification TXT, verify, publish the service records and DKIM (a signing
//! config first, then the selector CNAMEs it names and signing on), restore the source's
//! addresses, primaries and UPNs on the mapped destination objects, restore the MX TTL. Built
//! from the destination's live state, the zone's authoritative answers and the source's
//! release snapshot through the mapping file ([`crate::plan::mapping`]). See `docs/plans.md`.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::graph::model::DomainDnsRecord;
use crate::plan::change::{
    Change, FIELD_ADDRESSES, FIELD_DOMAIN_VERIFIED, FIELD_PRIMARY, FIELD_UPN, Route, RrSet, Target,
};
use crate::plan::mapping::{DestObject, MapEntry, SourceObject, in_domain};
use crate::plan::release::{Flag, PLAN_VERSION, Plan};

/// The tenant label of adopt changes.
pub const DESTINATION: &str = "destination";
/// The tenant whose release the plan waits for.
pub const SOURCE: &str = "source";
/// TTL of a record set that does not exist yet, when Microsoft names none.
const DEFAULT_TTL: u32 = 3600;

/// What the plan needs besides the objects: the domain in the destination, Microsoft's
/// records for it, and the zone as its authoritative servers answer now.
#[derive(Debug, Clone, Default)]
pub struct AdoptFacts {
    pub domain: String,
    /// The destination's `*.onmicrosoft.com` domain.
    pub initial_domain: String,
    /// The destination already lists the domain (added, maybe unverified).
    pub present: bool,
    pub verified: bool,
    /// The destination's `verificationDnsRecords` (its `MS=ms…` TXT); empty when the domain
    /// is not added yet (Microsoft names the value only then).
    pub verification: Vec<DomainDnsRecord>,
    /// The destination's `serviceConfigurationRecords`.
    pub service: Vec<DomainDnsRecord>,
    /// Live record sets keyed by (name, type), names lower case without the trailing dot.
    pub zone_now: HashMap<(String, String), RrSet>,
    /// The destination Exchange's DKIM signing config for the domain, if it has one.
    pub dkim: Option<DkimConfig>,
}

/// A DKIM signing config as `Get-DkimSigningConfig` shows it: the selector CNAME targets
/// come from Exchange, never derived (the newer `…dkim.mail.microsoft` form cannot be).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DkimConfig {
    pub enabled: bool,
    pub selector1_cname: String,
    pub selector2_cname: String,
}

/// The DKIM config from one `Get-DkimSigningConfig` value; `None` without both targets.
pub fn dkim_config_of(v: &Value) -> Option<DkimConfig> {
    let text = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    Some(DkimConfig {
        enabled: v.get("Enabled").and_then(Value::as_bool).unwrap_or(false),
        selector1_cname: text("Selector1CNAME")?,
        selector2_cname: text("Selector2CNAME")?,
    })
}

/// The destination's DKIM signing config for `domain` (`Get-DkimSigningConfig -Identity`);
/// `None` when Exchange has none for it.
pub async fn read_dkim_config(
    client: &crate::exchange::ExchangeClient,
    domain: &str,
) -> Result<Option<DkimConfig>, crate::exchange::ExchangeError> {
    match client
        .invoke(
            crate::exchange::Route::InvokeCommand,
            "Get-DkimSigningConfig",
            serde_json::json!({"Identity": domain}),
        )
        .await
    {
        Ok(read) => Ok(read.values.first().and_then(dkim_config_of)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// The selector names whose CNAMEs Exchange names for DKIM.
pub fn dkim_selector_names(domain: &str) -> [String; 2] {
    let d = domain.trim_end_matches('.').to_ascii_lowercase();
    ["selector1", "selector2"].map(|s| format!("{s}._domainkey.{d}"))
}

/// Presentation form of one of Microsoft's records (host names fully qualified).
fn value_of(r: &DomainDnsRecord) -> String {
    let fq = |h: &str| {
        let h = h.trim().to_ascii_lowercase();
        if h.ends_with('.') { h } else { format!("{h}.") }
    };
    match r.record_type.to_ascii_lowercase().as_str() {
        "mx" => format!(
            "{} {}",
            r.preference.unwrap_or(0),
            fq(r.mail_exchange.as_deref().unwrap_or(""))
        ),
        "cname" => fq(r.canonical_name.as_deref().unwrap_or("")),
        _ => r.value(),
    }
}

fn name_of(r: &DomainDnsRecord, domain: &str) -> String {
    let l = r.label.trim().trim_end_matches('.').to_ascii_lowercase();
    if l.is_empty() || l == "@" {
        domain.to_string()
    } else {
        l
    }
}

/// Values compared without case and trailing dots, in any order.
fn same_values(a: &[String], b: &[String]) -> bool {
    let norm = |v: &[String]| {
        let mut v: Vec<String> = v
            .iter()
            .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
            .collect();
        v.sort();
        v
    };
    norm(a) == norm(b)
}

struct Builder<'a> {
    facts: &'a AdoptFacts,
    changes: Vec<Change>,
    flags: Vec<Flag>,
    /// What the plan makes of each record set so far (later changes start from it).
    zone: HashMap<(String, String), RrSet>,
    /// The last change to each record set: the next one to it waits for it.
    last_set_change: HashMap<(String, String), String>,
}

impl Builder<'_> {
    fn set(
        &mut self,
        name: &str,
        rtype: &str,
        after: RrSet,
        rule: &str,
        prereq: &[String],
    ) -> Option<String> {
        let key = (name.to_string(), rtype.to_string());
        let before = self.zone.get(&key).cloned().unwrap_or(RrSet {
            ttl: after.ttl,
            values: Vec::new(),
        });
        if same_values(&before.values, &after.values) && before.ttl == after.ttl {
            return None;
        }
        let mut c = Change::set_rrset(&self.facts.domain, name, rtype, &before, &after, rule);
        c.prerequisites = prereq.to_vec();
        if let Some(p) = self.last_set_change.get(&key)
            && !c.prerequisites.contains(p)
        {
            c.prerequisites.push(p.clone());
        }
        let id = c.id.clone();
        self.zone.insert(key.clone(), after);
        self.last_set_change.insert(key, id.clone());
        self.changes.push(c);
        Some(id)
    }

    fn flag(&mut self, target: Target, kind: &str, rule: &str, action: String) {
        self.flags.push(Flag {
            target,
            kind: kind.to_string(),
            rule: rule.to_string(),
            action,
        });
    }
}

/// The adopt plan, or why it cannot be made (a mapping line naming an object that does not
/// exist; a plan rule broken).
pub fn adopt_plan(
    facts: &AdoptFacts,
    sources: &[SourceObject],
    mapping: &[MapEntry],
    dest: &[DestObject],
) -> Result<Plan, String> {
    let d = &facts.domain;
    let domain_target = Target {
        id: d.clone(),
        display: d.clone(),
    };
    let mut b = Builder {
        facts,
        changes: Vec::new(),
        flags: Vec::new(),
        zone: facts.zone_now.clone(),
        last_set_change: HashMap::new(),
    };
    // Until verification, the domain steps; afterwards only what is still missing.
    let mut verify_id: Option<String> = None;
    if !facts.verified {
        let wait = Change::await_release(SOURCE, d);
        let mut verify_prereq = vec![wait.id.clone()];
        b.changes.push(wait.clone());
        if !facts.present {
            let mut add = Change::add_domain(DESTINATION, d);
            add.prerequisites = vec![wait.id.clone()];
            verify_prereq.push(add.id.clone());
            b.changes.push(add);
            b.flag(
                domain_target.clone(),
                "plan again",
                "Microsoft names the verification TXT only once the domain is added",
                "after this plan has added the domain, run 'cutover plan adopt' again for the TXT, verification, records and addresses".into(),
            );
        }
        let ms = facts
            .verification
            .iter()
            .find(|r| r.record_type.eq_ignore_ascii_case("txt"));
        if let Some(ms) = ms {
            let key = (d.clone(), "TXT".to_string());
            let mut after = b.zone.get(&key).cloned().unwrap_or(RrSet {
                ttl: ms.ttl,
                values: Vec::new(),
            });
            let text = ms.value();
            if !after.values.contains(&text) {
                after.values.push(text);
            }
            if let Some(id) = b.set(
                d,
                "TXT",
                after,
                "Microsoft verifies a domain by its MS=ms… TXT record, served by the domain's authoritative servers",
                &[],
            ) {
                verify_prereq.push(id);
            }
        }
        if facts.present {
            let mut verify = Change::verify_domain(DESTINATION, d);
            verify.prerequisites = verify_prereq;
            verify_id = Some(verify.id.clone());
            b.changes.push(verify);
        }
    }
    let after_verify: Vec<String> = verify_id.iter().cloned().collect();
    if facts.present || facts.verified {
        service_records(&mut b, &after_verify);
        dkim(&mut b, &after_verify, &domain_target);
    }
    objects(
        &mut b,
        sources,
        mapping,
        dest,
        &after_verify,
        facts.present || facts.verified,
    )?;
    mx_ttl(&mut b, &after_verify);
    let plan = Plan {
        version: PLAN_VERSION,
        kind: "adopt".into(),
        tenant: DESTINATION.into(),
        domain: d.clone(),
        initial_domain: facts.initial_domain.clone(),
        changes: b.changes,
        renames: Vec::new(),
        notices: Vec::new(),
        flags: b.flags,
    };
    check_rules(&plan, facts.verified)?;
    Ok(plan)
}

/// MX, SPF and autodiscover from `serviceConfigurationRecords` (Email), after verification.
/// The MX keeps the zone's current (lowered) TTL here; [`mx_ttl`] restores it last.
fn service_records(b: &mut Builder<'_>, after_verify: &[String]) {
    let d = b.facts.domain.clone();
    let email: Vec<DomainDnsRecord> = b
        .facts
        .service
        .iter()
        .filter(|r| {
            r.supported_service
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("Email"))
        })
        .cloned()
        .collect();
    let mut mx: Vec<String> = Vec::new();
    for r in &email {
        let name = name_of(r, &d);
        match r.record_type.to_ascii_lowercase().as_str() {
            "mx" => mx.push(value_of(r)),
            "txt" => {
                let key = (name.clone(), "TXT".to_string());
                let mut after = b.zone.get(&key).cloned().unwrap_or(RrSet {
                    ttl: r.ttl,
                    values: Vec::new(),
                });
                let spf = value_of(r);
                let is_spf = |v: &String| v.trim().to_ascii_lowercase().starts_with("v=spf1");
                after.values.retain(|v| !is_spf(v));
                after.values.push(spf);
                b.set(
                    &name,
                    "TXT",
                    after,
                    "One SPF record per name; the destination's Exchange Online must be allowed to send for the domain",
                    after_verify,
                );
            }
            "cname" => {
                let key = (name.clone(), "CNAME".to_string());
                let ttl = b.zone.get(&key).map(|s| s.ttl).unwrap_or(r.ttl);
                b.set(
                    &name,
                    "CNAME",
                    RrSet {
                        ttl,
                        values: vec![value_of(r)],
                    },
                    "Outlook finds the destination's mailboxes through autodiscover",
                    after_verify,
                );
            }
            _ => {}
        }
    }
    if !mx.is_empty() {
        let key = (d.clone(), "MX".to_string());
        let wanted_ttl = email
            .iter()
            .find(|r| r.record_type.eq_ignore_ascii_case("mx"))
            .map(|r| r.ttl)
            .unwrap_or(DEFAULT_TTL);
        let ttl = b.zone.get(&key).map(|s| s.ttl).unwrap_or(wanted_ttl);
        b.set(
            &d,
            "MX",
            RrSet { ttl, values: mx },
            "Mail for the domain is delivered to the tenant that has it verified",
            after_verify,
        );
    }
}

/// DKIM, after verification. Without a config in the destination: create one, signing off,
/// and plan again (Exchange names the selector CNAME targets only in it). With one: the two
/// selector CNAMEs as Exchange names them, then signing on once both are published. Each
/// step only if it does not hold already.
fn dkim(b: &mut Builder<'_>, after_verify: &[String], domain_target: &Target) {
    let d = b.facts.domain.clone();
    let Some(config) = b.facts.dkim.clone() else {
        let mut c = Change::new_dkim_config(DESTINATION, &d);
        c.prerequisites = after_verify.to_vec();
        b.changes.push(c);
        b.flag(
            domain_target.clone(),
            "plan again",
            "Exchange names the DKIM selector CNAME targets only once the domain's signing config exists",
            "once this plan has created the DKIM config, run 'cutover plan adopt' again: the selector CNAMEs come from the new config".into(),
        );
        return;
    };
    let mut prereq = after_verify.to_vec();
    let names = dkim_selector_names(&d);
    for (name, target) in names
        .iter()
        .zip([&config.selector1_cname, &config.selector2_cname])
    {
        let key = (name.clone(), "CNAME".to_string());
        let ttl = b.zone.get(&key).map(|s| s.ttl).unwrap_or(DEFAULT_TTL);
        let fq = format!("{}.", target.trim_end_matches('.').to_ascii_lowercase());
        if let Some(id) = b.set(
            name,
            "CNAME",
            RrSet {
                ttl,
                values: vec![fq],
            },
            "Exchange signs with DKIM only while both selector CNAMEs point where its signing config says",
            after_verify,
        ) {
            prereq.push(id);
        }
    }
    if !config.enabled {
        let mut c = Change::set_dkim(DESTINATION, &d, true);
        c.prerequisites = prereq;
        b.changes.push(c);
    }
}

/// The MX TTL back to what Microsoft asks for, once everything else is in place: last.
fn mx_ttl(b: &mut Builder<'_>, after_verify: &[String]) {
    let d = b.facts.domain.clone();
    let Some(wanted) = b
        .facts
        .service
        .iter()
        .find(|r| r.record_type.eq_ignore_ascii_case("mx"))
        .map(|r| r.ttl)
    else {
        return;
    };
    let key = (d.clone(), "MX".to_string());
    let Some(now) = b.zone.get(&key).cloned() else {
        return;
    };
    if now.ttl < wanted {
        b.set(
            &d,
            "MX",
            RrSet {
                ttl: wanted,
                values: now.values,
            },
            "The MX TTL was lowered for the cutover; restored once mail flows to the destination",
            after_verify,
        );
    }
}

/// Addresses, primaries and UPNs of the mapped objects. Per object: add the addresses
/// (the primary as an alias), then make it primary, then the UPN — so that backing out in
/// reverse leaves the object as it was (a UPN change moves a primary that followed it).
fn objects(
    b: &mut Builder<'_>,
    sources: &[SourceObject],
    mapping: &[MapEntry],
    dest: &[DestObject],
    after_verify: &[String],
    domain_added: bool,
) -> Result<(), String> {
    let d = b.facts.domain.clone();
    let by_source: HashMap<&str, &MapEntry> =
        mapping.iter().map(|m| (m.source_id.as_str(), m)).collect();
    let by_dest: HashMap<&str, &DestObject> = dest.iter().map(|o| (o.id.as_str(), o)).collect();
    let known: HashSet<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    if let Some(m) = mapping
        .iter()
        .find(|m| !known.contains(m.source_id.as_str()))
    {
        return Err(format!(
            "the mapping names source object {} ({}), which the release snapshot does not hold with the domain; fix the mapping or write a new one with --write-mapping",
            m.source_id, m.source
        ));
    }
    let mut used: HashMap<&str, &str> = HashMap::new();
    for s in sources {
        let source_target = Target {
            id: s.id.clone(),
            display: if s.display.is_empty() {
                s.id.clone()
            } else {
                s.display.clone()
            },
        };
        let Some(m) = by_source
            .get(s.id.as_str())
            .filter(|m| !m.destination_id.is_empty())
        else {
            let why = by_source
                .get(s.id.as_str())
                .map(|m| m.how.clone())
                .unwrap_or_else(|| "not in the mapping".into());
            b.flag(
                source_target,
                "not restored",
                "Only objects mapped to a destination object get the source's names",
                format!(
                    "{why}; set its DestinationId in the mapping file to restore {}",
                    s.primary
                ),
            );
            continue;
        };
        let Some(o) = by_dest.get(m.destination_id.as_str()) else {
            return Err(format!(
                "the mapping maps {} to destination object {}, which the destination tenant does not have (users and mail-enabled groups only); fix the mapping",
                s.display, m.destination_id
            ));
        };
        if o.kind != s.kind {
            return Err(format!(
                "the mapping maps {} {} to {} {}; map a user to a user and a group to a group",
                s.kind.as_str(),
                s.display,
                o.kind.as_str(),
                o.display
            ));
        }
        if let Some(other) = used.insert(o.id.as_str(), s.id.as_str()) {
            return Err(format!(
                "the mapping maps both {other} and {} to destination object {}; one destination object takes one source object's names",
                s.id, o.id
            ));
        }
        let target = Target {
            id: o.id.clone(),
            display: o.display.clone(),
        };
        if o.synced {
            b.flag(
                target,
                "synced",
                "An object synced from on-premises cannot have its UPN or addresses changed in the cloud",
                format!("add {}'s addresses on-premises", s.display),
            );
            continue;
        }
        if !domain_added {
            continue;
        }
        let has = |a: &str| {
            let bare = crate::exchange::model::split_prefix(a).1;
            o.addresses.iter().any(|x| {
                crate::exchange::model::split_prefix(x)
                    .1
                    .eq_ignore_ascii_case(bare)
            })
        };
        let adds: Vec<String> = s
            .addresses
            .iter()
            .filter(|a| in_domain(a, &d))
            .map(|a| match a.strip_prefix("SMTP:") {
                // As an alias: the primary is set by its own change.
                Some(rest) => format!("smtp:{rest}"),
                None => a.clone(),
            })
            .filter(|a| !has(a))
            .collect();
        let mut last: Vec<String> = after_verify.to_vec();
        if !adds.is_empty() {
            let mut c = Change::add_addresses(
                DESTINATION,
                o.cmdlet,
                target.clone(),
                &adds,
                "Addresses can only use a verified (accepted) domain: after verification",
            );
            c.prerequisites = last.clone();
            last = vec![c.id.clone()];
            b.changes.push(c);
        }
        if in_domain(&s.primary, &d) && !o.primary.eq_ignore_ascii_case(&s.primary) {
            let mut c = Change::set_primary(
                DESTINATION,
                o.cmdlet,
                target.clone(),
                &o.primary,
                &s.primary,
            );
            c.rule = "A primary SMTP address must be in a verified (accepted) domain of the tenant"
                .into();
            c.prerequisites = last.clone();
            last = vec![c.id.clone()];
            b.changes.push(c);
        }
        if let (Some(upn), Some(now)) = (&s.upn, &o.upn)
            && in_domain(upn, &d)
            && !upn.eq_ignore_ascii_case(now)
        {
            let mut c = Change::set_upn(DESTINATION, &o.id, &o.display, now, upn);
            c.rule = "A UPN can only use a verified domain: after verification".into();
            c.prerequisites = last;
            b.changes.push(c);
        }
    }
    Ok(())
}

/// Plan rules checked before the plan is shown: every UPN, address or primary in the domain
/// waits (directly or through others) for the verification, unless the domain is verified.
pub fn check_rules(plan: &Plan, verified: bool) -> Result<(), String> {
    if verified {
        return Ok(());
    }
    let by_id: HashMap<&str, &Change> = plan.changes.iter().map(|c| (c.id.as_str(), c)).collect();
    let waits_for_verify = |c: &Change| {
        let mut stack: Vec<&str> = c.prerequisites.iter().map(String::as_str).collect();
        let mut seen = HashSet::new();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            if let Some(p) = by_id.get(id) {
                if p.field == FIELD_DOMAIN_VERIFIED {
                    return true;
                }
                stack.extend(p.prerequisites.iter().map(String::as_str));
            }
        }
        false
    };
    let touches = |v: &Value| match v {
        Value::String(s) => in_domain(s, &plan.domain),
        Value::Array(a) => a
            .iter()
            .filter_map(Value::as_str)
            .any(|s| in_domain(s, &plan.domain)),
        _ => false,
    };
    for c in &plan.changes {
        let names_domain = [FIELD_UPN, FIELD_ADDRESSES, FIELD_PRIMARY].contains(&c.field.as_str())
            && touches(&c.after);
        if names_domain && !waits_for_verify(c) {
            return Err(format!(
                "change {} ({}) puts {} on {} before it is verified; rule: a UPN or address cannot use an unverified domain",
                c.id, c.field, plan.domain, c.target.display
            ));
        }
    }
    Ok(())
}

/// The plan as a change board reads it: the changes in order with what they wait for, then
/// the flags.
pub fn render_text(plan: &Plan) -> String {
    let mut out = format!(
        "{} plan for {} in the {} tenant: {} changes, {} flags\n",
        plan.kind,
        plan.domain,
        plan.tenant,
        plan.changes.len(),
        plan.flags.len()
    );
    let short = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(o) => {
            let values = o.get("values").map(|v| v.to_string()).unwrap_or_default();
            let ttl = o.get("ttl").map(|v| v.to_string()).unwrap_or_default();
            format!("{values} ttl {ttl}")
        }
        other => other.to_string(),
    };
    for (n, c) in plan.changes.iter().enumerate() {
        let via = match &c.route {
            Route::Graph { method, path, .. } => format!("{method} {path}"),
            Route::Exchange { cmdlet, .. } => cmdlet.clone(),
            Route::Dns { zone, .. } => format!("DNS {zone}"),
            Route::Manual { .. } => "by hand".into(),
        };
        let after = if c.prerequisites.is_empty() {
            String::new()
        } else {
            format!("; after {}", c.prerequisites.join(", "))
        };
        out.push_str(&format!(
            "{:>4}. {}  [{}] {}  {}: {} -> {}  via {via}{after}\n      rule: {}\n",
            n + 1,
            c.id,
            c.tenant,
            c.target.display,
            c.field,
            short(&c.before),
            short(&c.after),
            c.rule
        ));
    }
    if !plan.flags.is_empty() {
        out.push_str("\nNot changed by cutover:\n");
    }
    for f in &plan.flags {
        out.push_str(&format!(
            "  {}  {}: {} (rule: {})\n",
            f.target.display, f.kind, f.action, f.rule
        ));
    }
    out
}

#[cfg(test)]
mod dkim_tests {
    use super::*;
    use crate::plan::change::{FIELD_DKIM, FIELD_DKIM_CONFIG, FIELD_RRSET};

    const D: &str = "contoso.example";

    fn facts(verified: bool, dkim: Option<DkimConfig>) -> AdoptFacts {
        AdoptFacts {
            domain: D.into(),
            initial_domain: "fabrikam.onmicrosoft.com".into(),
            present: true,
            verified,
            dkim,
            ..Default::default()
        }
    }

    fn config(enabled: bool) -> DkimConfig {
        DkimConfig {
            enabled,
            selector1_cname:
                "selector1-contoso-example._domainkey.fabrikam.w-v1.dkim.mail.microsoft".into(),
            selector2_cname:
                "selector2-contoso-example._domainkey.fabrikam.w-v1.dkim.mail.microsoft".into(),
        }
    }

    fn position(plan: &Plan, field: &str) -> usize {
        plan.changes
            .iter()
            .position(|c| c.field == field)
            .unwrap_or_else(|| panic!("no {field} change"))
    }

    #[test]
    fn without_a_config_it_is_created_after_verification_and_the_plan_says_plan_again() {
        let plan = adopt_plan(&facts(false, None), &[], &[], &[]).unwrap();
        let verify = position(&plan, FIELD_DOMAIN_VERIFIED);
        let create = position(&plan, FIELD_DKIM_CONFIG);
        assert!(verify < create);
        let c = &plan.changes[create];
        assert_eq!(c.prerequisites, vec![plan.changes[verify].id.clone()]);
        let Route::Exchange { cmdlet, params } = &c.route else {
            panic!("not an Exchange route")
        };
        assert_eq!(cmdlet, "New-DkimSigningConfig");
        assert_eq!(params["DomainName"], D);
        assert_eq!(params["Enabled"], false);
        let crate::plan::change::Inverse::Apply {
            route: Route::Exchange { cmdlet, .. },
        } = &c.inverse
        else {
            panic!("no inverse")
        };
        assert_eq!(cmdlet, "Remove-DkimSigningConfig");
        // No selector CNAME or signing change: their targets are not known yet.
        assert!(!plan.changes.iter().any(|c| c.field == FIELD_DKIM));
        assert!(
            !plan
                .changes
                .iter()
                .any(|c| c.target.id.contains("_domainkey"))
        );
        assert!(plan.flags.iter().any(|f| {
            f.kind == "plan again"
                && f.action
                    .contains("selector CNAMEs come from the new config")
        }));
    }

    #[test]
    fn with_a_config_the_cnames_come_from_it_and_signing_waits_for_them() {
        let mut f = facts(true, Some(config(false)));
        // selector1 is published already (by hand): only selector2 is changed.
        f.zone_now.insert(
            (format!("selector1._domainkey.{D}"), "CNAME".into()),
            RrSet {
                ttl: 600,
                values: vec![format!("{}.", config(false).selector1_cname.to_uppercase())],
            },
        );
        let plan = adopt_plan(&f, &[], &[], &[]).unwrap();
        assert!(!plan.changes.iter().any(|c| c.field == FIELD_DKIM_CONFIG));
        assert!(!plan.flags.iter().any(|f| f.kind == "plan again"));
        let cnames: Vec<&Change> = plan
            .changes
            .iter()
            .filter(|c| c.field == FIELD_RRSET && c.target.id.contains("_domainkey"))
            .collect();
        assert_eq!(cnames.len(), 1);
        let Route::Dns {
            name,
            rtype,
            values,
            ..
        } = &cnames[0].route
        else {
            panic!("not a DNS route")
        };
        assert_eq!(name, &format!("selector2._domainkey.{D}"));
        assert_eq!(rtype, "CNAME");
        assert_eq!(values, &vec![format!("{}.", config(false).selector2_cname)]);
        let on = position(&plan, FIELD_DKIM);
        assert_eq!(plan.changes[on].after, Value::from(true));
        assert!(plan.changes[on].prerequisites.contains(&cnames[0].id));
        let cname_at = plan
            .changes
            .iter()
            .position(|c| c.id == cnames[0].id)
            .unwrap();
        assert!(cname_at < on);
    }

    #[test]
    fn nothing_for_dkim_when_it_already_holds() {
        let mut f = facts(true, Some(config(true)));
        for (name, target) in dkim_selector_names(D)
            .iter()
            .zip([config(true).selector1_cname, config(true).selector2_cname])
        {
            f.zone_now.insert(
                (name.clone(), "CNAME".into()),
                RrSet {
                    ttl: 3600,
                    values: vec![format!("{target}.")],
                },
            );
        }
        let plan = adopt_plan(&f, &[], &[], &[]).unwrap();
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
    }

    #[test]
    fn the_config_is_read_from_exchange_values() {
        let v = serde_json::json!({"Enabled": false, "Selector1CNAME": "a.example", "Selector2CNAME": "b.example"});
        assert_eq!(
            dkim_config_of(&v),
            Some(DkimConfig {
                enabled: false,
                selector1_cname: "a.example".into(),
                selector2_cname: "b.example".into()
            })
        );
        assert_eq!(dkim_config_of(&serde_json::json!({"Enabled": true})), None);
    }
}
