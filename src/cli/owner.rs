//! `cutover owner DOMAIN` (alias `whois-tenant`): which tenant holds a domain, seen from
//! outside. Exit 0 held, 1 held by no tenant, 2 bad input, 3 no conclusion (a source failed).

use std::io::Write;
use std::process::ExitCode;

use serde_json::{Value, json};

use super::args::OwnerArgs;
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::config::ConfigError;
use crate::graph::discovery::{self, Answer, DiscoveryClient, Holder, Outside, Source, Verdict};

const GLOBAL_LOGIN: &str = "https://login.microsoftonline.com";

/// The configuration if there is one: a missing default file is fine (anonymous lookups only),
/// a named or broken one is an error.
fn optional_config(globals: &Globals) -> Result<Option<crate::config::Config>, Failure> {
    let path = config::config_path(globals)?;
    match crate::config::load(&path) {
        Ok(cfg) => Ok(Some(cfg)),
        Err(ConfigError::Missing(_)) if globals.config.is_none() => Ok(None),
        Err(e) => Err(Failure::Input(e.to_string())),
    }
}

/// `cutover owner [DOMAIN]`: the positional domain, else `--domain`, else the configured one.
pub(crate) fn owner(globals: &Globals, args: &OwnerArgs) -> Outcome {
    let (login_url, json) = (args.login_url.as_deref(), args.json);
    if let Some(url) = login_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        return Err(Failure::Input(format!(
            "--login-url '{url}' is not an http(s) URL, e.g. https://login.microsoftonline.com"
        )));
    }
    let cfg = optional_config(globals)?;
    let name = super::one_domain(args.domain.as_ref(), globals.domain.as_ref())?
        .or_else(|| cfg.as_ref().and_then(|c| c.domain.clone()))
        .ok_or_else(|| {
            Failure::Input("no domain to look up: give it, e.g. 'cutover owner contoso.com'".into())
        })?;
    // Graph's lookup and the cloud go through the destination's profile, else the source's:
    // a domain being freed has no destination, and the source can ask Graph as well.
    let profile = cfg
        .as_ref()
        .map(|c| c.destination.as_ref().unwrap_or(&c.source));
    let (paths, _log) = prepare(globals)?;
    let login = login_url
        .map(str::to_string)
        .or_else(|| profile.map(|p| p.cloud.endpoints().login_url))
        .unwrap_or_else(|| GLOBAL_LOGIN.to_string());
    let rt = runtime()?;
    let (outside, configured) = rt.block_on(async {
        let discovery = DiscoveryClient::new(&login, discovery::DEFAULT_TIMEOUT)
            .map_err(|e| Failure::Service(e.to_string()))?;
        let graph = match profile {
            Some(p) => Some(start::client_for(p, &paths, None)?),
            None => None,
        };
        let configured = async {
            match &cfg {
                Some(c) => {
                    let destination = async {
                        match &c.destination {
                            Some(d) => tenant_id_of(&discovery, &d.tenant).await,
                            None => None,
                        }
                    };
                    let (s, d) =
                        tokio::join!(tenant_id_of(&discovery, &c.source.tenant), destination);
                    let mut configured = vec![(Holder::Source, s)];
                    if c.destination.is_some() {
                        configured.push((Holder::Destination, d));
                    }
                    Some(configured)
                }
                None => None,
            }
        };
        let (outside, configured) =
            tokio::join!(discovery.lookup(&name.ascii, graph.as_ref()), configured);
        Ok::<_, Failure>((outside, configured))
    })?;
    let known: Vec<(Holder, Option<&str>)> = configured
        .iter()
        .flatten()
        .map(|(who, id)| (*who, id.as_deref()))
        .collect();
    let relation = outside.holder(&known).map(Holder::as_str);

    let mut out = std::io::stdout().lock();
    let written = if json {
        writeln!(out, "{}", to_json(&outside, relation, &login))
    } else {
        write_text(&mut out, &name.display_both(), &outside, relation)
    };
    written
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))?;
    drop(out);
    match outside.verdict() {
        Verdict::Held => Ok(ExitCode::SUCCESS),
        Verdict::Free => Ok(ExitCode::from(1)),
        Verdict::Unknown => {
            let faults: Vec<String> = outside
                .faults()
                .iter()
                .map(|(s, e)| format!("{}: {e}", s.label()))
                .collect();
            Err(Failure::Service(format!(
                "no conclusion for {}: {}",
                outside.domain,
                faults.join("; ")
            )))
        }
    }
}

/// A profile's tenant id: as written when it is a GUID, else from its OpenID document.
async fn tenant_id_of(discovery: &DiscoveryClient, tenant: &str) -> Option<String> {
    if let Ok(id) = uuid::Uuid::try_parse(tenant) {
        return Some(id.hyphenated().to_string());
    }
    discovery
        .openid(tenant)
        .await
        .found()
        .map(|o| o.tenant_id.clone())
}

fn source_json<T: serde::Serialize>(source: Source, answer: &Answer<T>) -> Value {
    let mut v = serde_json::to_value(answer).unwrap_or_else(|_| json!({}));
    if let Value::Object(obj) = &mut v {
        obj.insert("source".into(), json!(source));
        obj.insert("documented".into(), json!(source.documented()));
    }
    v
}

/// The one JSON object `--json` prints.
pub fn to_json(outside: &Outside, relation: Option<&str>, login_url: &str) -> Value {
    json!({
        "domain": outside.domain,
        "verdict": outside.verdict(),
        "tenant_id": outside.tenant_id(),
        "tenant_name": outside.tenant_name(),
        "configured_as": relation,
        "namespace_type": outside.namespace_type(),
        "login_url": login_url,
        "sources": [
            source_json(Source::OpenidConfiguration, &outside.openid_configuration),
            source_json(Source::UserRealm, &outside.user_realm),
            source_json(Source::FindTenantInformation, &outside.find_tenant_information),
        ],
    })
}

/// `domain` as a person reads it (both forms for an IDN).
fn write_text(
    out: &mut impl Write,
    domain: &str,
    outside: &Outside,
    relation: Option<&str>,
) -> std::io::Result<()> {
    match (outside.verdict(), outside.tenant_id()) {
        (Verdict::Held, Some(id)) => {
            let who = match relation {
                Some("source") | Some("destination") => {
                    format!(" (the configured {} tenant)", relation.unwrap_or_default())
                }
                Some("other") => " (neither configured tenant)".to_string(),
                _ => String::new(),
            };
            let name = outside
                .tenant_name()
                .map(|n| format!(", {n}"))
                .unwrap_or_default();
            writeln!(out, "{domain} is held by tenant {id}{name}{who}")?;
        }
        (Verdict::Held, None) => writeln!(
            out,
            "{domain} is held by a tenant ({} namespace); its id was not answered",
            outside.namespace_type().unwrap_or("unknown")
        )?,
        (Verdict::Free, _) => writeln!(out, "{domain} is held by no tenant")?,
        (Verdict::Unknown, _) => writeln!(out, "{domain}: no conclusion, a source failed")?,
    }
    let line = |out: &mut dyn Write, source: Source, text: String| {
        writeln!(
            out,
            "  {:<34} {:<12} {text}",
            source.label(),
            if source.documented() {
                "documented"
            } else {
                "undocumented"
            }
        )
    };
    let openid = match &outside.openid_configuration {
        Answer::Found(o) => format!("tenant {} (issuer {})", o.tenant_id, o.issuer),
        other => describe(other),
    };
    line(out, Source::OpenidConfiguration, openid)?;
    let realm = match &outside.user_realm {
        Answer::Found(r) => match &r.federation_brand_name {
            Some(b) => format!("{} namespace, brand \"{b}\"", r.namespace_type),
            None => format!("{} namespace", r.namespace_type),
        },
        other => describe(other),
    };
    line(out, Source::UserRealm, realm)?;
    let info = match &outside.find_tenant_information {
        Answer::Found(t) => format!(
            "tenant {}{}{}",
            t.tenant_id,
            t.display_name
                .as_deref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default(),
            t.default_domain_name
                .as_deref()
                .map(|d| format!(", default domain {d}"))
                .unwrap_or_default()
        ),
        other => describe(other),
    };
    line(out, Source::FindTenantInformation, info)
}

fn describe<T>(answer: &Answer<T>) -> String {
    match answer {
        Answer::Found(_) => "found".into(),
        Answer::NotFound { detail } => format!("no tenant ({detail})"),
        Answer::Failed { error } => format!("FAILED: {error}"),
        Answer::Skipped { reason } => format!("not asked: {reason}"),
    }
}
