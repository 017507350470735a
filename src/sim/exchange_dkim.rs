//! DKIM in the rehearsal's Exchange: `Get-DkimSigningConfig`, `New-DkimSigningConfig`,
//! `Set-DkimSigningConfig -Enabled` and `Remove-DkimSigningConfig`, with Exchange Online's
//! rules: a config only for a domain verified (accepted) in the tenant, and signing turned
//! on only while the zone's authoritative server serves both selector CNAMEs pointing where
//! Exchange says.

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::directory::{Dkim, Tenant};
use super::exchange::{
    Output, Refused, check_params, cmdlet_error, missing_identity, not_found, poisoned,
    string_param,
};
use super::http::{RequestIds, Shared};

const VALIDATION: &str = "Microsoft.Exchange.Management.Tasks.ValidationException";

fn render(t: &Tenant, d: &Dkim) -> Value {
    let [s1, s2] = t.dkim_targets(&d.domain);
    json!({
        "Identity": d.domain,
        "Name": d.domain,
        "Domain": d.domain,
        "Enabled": d.enabled,
        "Status": if d.enabled { "Valid" } else { "CnameMissing" },
        "Selector1CNAME": s1,
        "Selector2CNAME": s2,
        "KeySize": 2048,
    })
}

fn enabled_param(params: &Map<String, Value>, ids: &RequestIds) -> Result<Option<bool>, Refused> {
    match params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Enabled"))
        .map(|(_, v)| v)
    {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(cmdlet_error(
            StatusCode::BAD_REQUEST,
            "System.Management.Automation.ParameterBindingException",
            "Cannot bind parameter 'Enabled': a Boolean ($true or $false) is expected.",
            ids,
        )),
    }
}

/// The selector names whose CNAME the zone does not serve as Exchange names it; read before
/// the directory is locked (DNS and directory locks never nest).
fn missing_cnames(state: &Shared, domain: &str, targets: &[String; 2]) -> Vec<String> {
    ["selector1", "selector2"]
        .iter()
        .zip(targets)
        .filter(|(sel, target)| {
            let served = state
                .zone
                .cname(&format!("{sel}._domainkey.{domain}"))
                .ok()
                .flatten();
            !served.is_some_and(|s| s.eq_ignore_ascii_case(target))
        })
        .map(|(sel, target)| {
            format!("Host Name : {sel}._domainkey Points to address or value: {target}")
        })
        .collect()
}

fn cname_missing(domain: &str, missing: &[String], ids: &RequestIds) -> Refused {
    cmdlet_error(
        StatusCode::BAD_REQUEST,
        VALIDATION,
        &format!(
            "CNAME record does not exist for this config. Please publish the following two CNAME records first. Domain Name : {domain} {}",
            missing.join(" ")
        ),
        ids,
    )
}

pub(super) fn dkim(
    state: &Shared,
    tenant: usize,
    cmdlet: &str,
    params: &Map<String, Value>,
    ids: &RequestIds,
) -> Result<Output, Refused> {
    match cmdlet {
        "Get-DkimSigningConfig" => {
            check_params(params, &["Identity"], ids)?;
            let tenants = state.tenants.read().map_err(|_| poisoned())?;
            let t = tenants.get(tenant).ok_or_else(poisoned)?;
            let wanted = string_param(params, "Identity");
            let values: Vec<Value> = t
                .dkim
                .iter()
                .filter(|d| {
                    wanted
                        .as_deref()
                        .is_none_or(|w| w.eq_ignore_ascii_case(&d.domain))
                })
                .map(|d| render(t, d))
                .collect();
            match wanted {
                Some(w) if values.is_empty() => Err(not_found(&w, ids)),
                _ => Ok(Output::all(values)),
            }
        }
        "New-DkimSigningConfig" => {
            check_params(
                params,
                &["DomainName", "Enabled", "KeySize", "Confirm"],
                ids,
            )?;
            let domain = string_param(params, "DomainName").ok_or_else(|| {
                cmdlet_error(
                    StatusCode::BAD_REQUEST,
                    "System.Management.Automation.ParameterBindingException",
                    "Cannot process command because of one or more missing mandatory parameters: DomainName.",
                    ids,
                )
            })?;
            let enable = enabled_param(params, ids)?.unwrap_or(false);
            let targets = {
                let tenants = state.tenants.read().map_err(|_| poisoned())?;
                tenants
                    .get(tenant)
                    .ok_or_else(poisoned)?
                    .dkim_targets(&domain)
            };
            let missing = if enable {
                missing_cnames(state, &domain, &targets)
            } else {
                Vec::new()
            };
            let mut tenants = state.tenants.write().map_err(|_| poisoned())?;
            let t = tenants.get_mut(tenant).ok_or_else(poisoned)?;
            // Exchange's accepted domains are the tenant's verified ones.
            let accepted = t
                .domain(&domain)
                .filter(|d| d.is_verified)
                .map(|d| d.name.clone());
            let Some(name) = accepted else {
                return Err(cmdlet_error(
                    StatusCode::BAD_REQUEST,
                    VALIDATION,
                    &format!(
                        "Domain {domain} is not an accepted domain in your organization. Add and verify it first."
                    ),
                    ids,
                ));
            };
            if t.dkim.iter().any(|d| d.domain.eq_ignore_ascii_case(&name)) {
                return Err(cmdlet_error(
                    StatusCode::BAD_REQUEST,
                    VALIDATION,
                    &format!("A DKIM signing config for {name} already exists."),
                    ids,
                ));
            }
            if !missing.is_empty() {
                return Err(cname_missing(&name, &missing, ids));
            }
            let config = Dkim {
                domain: name.clone(),
                enabled: enable,
            };
            let out = render(t, &config);
            t.dkim.push(config);
            drop(tenants);
            super::writes::count(state, tenant, &[format!("dkim:{name}")]);
            Ok(Output::all(vec![out]))
        }
        "Set-DkimSigningConfig" => {
            check_params(params, &["Identity", "Enabled", "Confirm"], ids)?;
            let identity = string_param(params, "Identity").ok_or_else(|| missing_identity(ids))?;
            let enable = enabled_param(params, ids)?;
            let targets = {
                let tenants = state.tenants.read().map_err(|_| poisoned())?;
                tenants
                    .get(tenant)
                    .ok_or_else(poisoned)?
                    .dkim_targets(&identity)
            };
            let missing = if enable == Some(true) {
                missing_cnames(state, &identity, &targets)
            } else {
                Vec::new()
            };
            let mut tenants = state.tenants.write().map_err(|_| poisoned())?;
            let t = tenants.get_mut(tenant).ok_or_else(poisoned)?;
            let Some(config) = t
                .dkim
                .iter_mut()
                .find(|d| d.domain.eq_ignore_ascii_case(&identity))
            else {
                return Err(not_found(&identity, ids));
            };
            let name = config.domain.clone();
            let Some(want) = enable.filter(|&e| e != config.enabled) else {
                return Ok(Output::warning(format!(
                    "The command completed successfully but no settings of '{name}' have been modified."
                )));
            };
            if !missing.is_empty() {
                return Err(cname_missing(&name, &missing, ids));
            }
            config.enabled = want;
            drop(tenants);
            super::writes::count(state, tenant, &[format!("dkim:{name}")]);
            Ok(Output::all(Vec::new()))
        }
        "Remove-DkimSigningConfig" => {
            check_params(params, &["Identity", "Confirm"], ids)?;
            let identity = string_param(params, "Identity").ok_or_else(|| missing_identity(ids))?;
            let mut tenants = state.tenants.write().map_err(|_| poisoned())?;
            let t = tenants.get_mut(tenant).ok_or_else(poisoned)?;
            let Some(at) = t
                .dkim
                .iter()
                .position(|d| d.domain.eq_ignore_ascii_case(&identity))
            else {
                return Err(not_found(&identity, ids));
            };
            let name = t.dkim.remove(at).domain;
            drop(tenants);
            super::writes::count(state, tenant, &[format!("dkim:{name}")]);
            Ok(Output::all(Vec::new()))
        }
        _ => Err(poisoned()),
    }
}
