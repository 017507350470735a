//! `cutover plan release [--tenant T] [--domain D] [--json] [--force-delete [--disable-user-accounts]]`: the release plan from the live
//! inventory ([`crate::plan::release::release_plan`]), as text for a change board or as the
//! JSON file `cutover apply` takes.

use std::io::Write;
use std::process::ExitCode;

use super::args::{PlanAdoptArgs, PlanBackoutArgs, PlanReleaseArgs};
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::plan::live::LiveError;
use crate::plan::release::{lower_mx_ttl, render_text};

pub(crate) fn plan_release(globals: &Globals, args: &PlanReleaseArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(args.tenant)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let side = args.tenant.name();
    let rt = runtime()?;
    let mut plan = rt.block_on(async {
        let client = start::client_for(profile, &paths, None)?;
        let force = args.force_delete.then_some(args.disable_user_accounts);
        let live = crate::plan::live::release(&client, side, &domain.ascii, force)
            .await
            .map_err(|e| match e {
                LiveError::Graph(g) => start::sign_in_failure(g),
                LiveError::NoDomain { .. } => Failure::Input(format!(
                    "the {side} tenant does not have {}; check --domain and --tenant",
                    domain.display_both()
                )),
                LiveError::ForceDelete(_) => Failure::Input(e.to_string()),
                LiveError::NoInitialDomain(_) => Failure::Service(e.to_string()),
            })?;
        let mut plan = live.plan;
        if let Some(other) = start::warn_other_tenant(&client, side).await {
            crate::plan::release::signed_in_from_other_tenant(&mut plan, &other);
        }
        // The MX TTL as the zone's authoritative servers serve it: lowered first, if needed.
        // Unreadable DNS does not stop the directory's release: the plan says so instead.
        match zone_now(&domain, &loaded.cfg, &[], &[]).await {
            Ok(zone) => {
                if let Some(c) = zone
                    .get(&(domain.ascii.to_ascii_lowercase(), "MX".to_string()))
                    .and_then(|mx| lower_mx_ttl(&domain.ascii, mx))
                {
                    plan.changes.insert(0, c);
                }
            }
            Err(Failure::Check(e) | Failure::Input(e) | Failure::Service(e)) => plan.flags.push(crate::plan::release::Flag {
                target: crate::plan::change::Target {
                    id: format!("{} MX", domain.ascii),
                    display: format!("{} MX", domain.ascii),
                },
                kind: "dns".into(),
                rule: "The MX TTL is lowered ahead of the cutover, read from the zone's authoritative servers".into(),
                action: format!("{e}; check 'cutover dns', lower the MX TTL by hand or plan again"),
            }),
        }
        Ok::<_, Failure>(plan)
    })?;
    // A provider's portal makes the user renames of the tenant it manages, not Graph.
    if let Some(provider) = profile.provider {
        crate::plan::provider::hand_to_portal(&mut plan, provider);
    }
    print_plan(&plan, args.json, render_text)
}

/// `cutover plan adopt [--mapping FILE | --write-mapping FILE] [--json]`: the destination's
/// adopt plan ([`crate::plan::adopt::adopt_plan`]) from its live state, the zone's
/// authoritative answers and the source's latest snapshot through the mapping.
pub(crate) fn plan_adopt(globals: &Globals, args: &PlanAdoptArgs) -> Outcome {
    use crate::config::Side;
    use crate::plan::{adopt, mapping};
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(Side::Destination)?;
    let domain = loaded.domain(globals)?;
    let d = domain.ascii.clone();
    if let Some(out) = &args.write_mapping
        && out.exists()
    {
        return Err(Failure::Input(format!(
            "{} exists already; name a new file for --write-mapping (an edited mapping is never overwritten)",
            out.display()
        )));
    }
    let edited = match &args.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::Input(format!(
                    "cannot read the mapping {}: {e}; write one with 'cutover plan adopt --write-mapping FILE'",
                    path.display()
                ))
            })?;
            Some(mapping::from_csv(&text, &path.display().to_string()).map_err(Failure::Input)?)
        }
        None => None,
    };
    let (paths, _log) = prepare(globals)?;
    // The names to restore are the source's as they were before the release.
    let snapshot = crate::store::snapshot::latest(&paths.data_dir, "source", &d).ok_or_else(
        || {
            Failure::Input(format!(
                "no snapshot of {d} in the source tenant; the adopt plan restores the source's addresses from it: take one with 'cutover snapshot --tenant source' before the release"
            ))
        },
    )?;
    crate::store::snapshot::verify(&snapshot).map_err(|why| {
        Failure::Input(format!(
            "the snapshot {} was changed since it was taken ({why}); the adopt plan cannot trust it",
            snapshot.path.display()
        ))
    })?;
    let sources = mapping::read_snapshot(&snapshot.path, &d).map_err(Failure::Input)?;
    let rt = runtime()?;
    let read = rt.block_on(async {
        let client = start::client_for(profile, &paths, None)?;
        let exchange = super::exchange::exchange_client(profile, &paths)?;
        let targets = super::dns::dashboard_resolvers(&domain, &loaded.cfg).await?;
        let auth = targets.iter().find(|t| t.authoritative).ok_or_else(|| {
            Failure::Service(format!(
                "no authoritative server of {} was found through NS; the adopt plan's DNS changes start from the zone's current records",
                domain.ascii
            ))
        })?;
        crate::plan::adopt_live::read(&client, &exchange, &auth.client, &d)
            .await
            .map_err(|e| match e {
                crate::plan::adopt_live::AdoptReadError::Graph(g) => start::sign_in_failure(g),
                e => Failure::Service(e.to_string()),
            })
    })?;
    let (facts, dest) = (read.facts, read.dest);
    let map = edited.unwrap_or_else(|| mapping::default_mapping(&sources, &dest));
    if let Some(out) = &args.write_mapping {
        let bytes = mapping::to_csv(&map).map_err(Failure::Service)?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(out)
            .map_err(|e| Failure::Input(format!("cannot create {}: {e}", out.display())))?;
        file.write_all(&bytes)
            .and_then(|()| file.sync_all())
            .map_err(|e| Failure::Service(format!("cannot write {}: {e}", out.display())))?;
        let open = map.iter().filter(|m| m.destination_id.is_empty()).count();
        eprintln!(
            "cutover: wrote {} ({} source objects, {} mapped, {open} unmatched or ambiguous: edit DestinationId, then 'cutover plan adopt --mapping {}')",
            out.display(),
            map.len(),
            map.len() - open,
            out.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let plan = adopt::adopt_plan(&facts, &sources, &map, &dest).map_err(Failure::Input)?;
    print_plan(&plan, args.json, adopt::render_text)
}

/// The record sets the adopt plan changes, as the zone's authoritative server answers now
/// (`plan::adopt_live::zone_now`; the server found as `cutover dns` finds it).
async fn zone_now(
    domain: &crate::dns::name::DomainName,
    cfg: &crate::config::Config,
    service: &[crate::graph::model::DomainDnsRecord],
    cnames: &[String],
) -> Result<std::collections::HashMap<(String, String), crate::plan::change::RrSet>, Failure> {
    let targets = super::dns::dashboard_resolvers(domain, cfg).await?;
    let auth = targets.iter().find(|t| t.authoritative).ok_or_else(|| {
        Failure::Service(format!(
            "no authoritative server of {} was found through NS; the adopt plan's DNS changes start from the zone's current records",
            domain.ascii
        ))
    })?;
    crate::plan::adopt_live::zone_now(&auth.client, &domain.ascii, service, cnames)
        .await
        .map_err(Failure::Service)
}

/// `cutover plan backout [--domain D] [--json]`: the inverses of what the session journal
/// says was applied, newest first ([`crate::plan::backout::backout_plan`]); no service is read.
pub(crate) fn plan_backout(globals: &Globals, args: &PlanBackoutArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let records = journal_records(&paths, &domain.ascii)?;
    let plan = crate::plan::backout::backout_plan(&domain.ascii, &records);
    print_plan(&plan, args.json, crate::plan::backout::render_text)
}

/// A plan on stdout: pretty JSON with `--json`, else its text form.
pub(super) fn print_plan<P: serde::Serialize>(
    plan: &P,
    json: bool,
    text: impl FnOnce(&P) -> String,
) -> Outcome {
    let text = if json {
        let mut t = serde_json::to_string_pretty(plan)
            .map_err(|e| Failure::Service(format!("cannot write the plan as JSON: {e}")))?;
        t.push('\n');
        t
    } else {
        text(plan)
    };
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// `text` on stdout, flushed; a closed pipe or full disk is a service fault.
pub(super) fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))
}

/// The session journal's records for `domain`; none yet means nothing was applied.
pub(crate) fn journal_records(
    paths: &crate::store::Paths,
    domain: &str,
) -> Result<Vec<crate::audit::Record>, Failure> {
    let path = paths.audit_log(domain);
    if !path.exists() {
        return Err(Failure::Input(format!(
            "nothing was applied for {domain} from this data dir (no journal at {}); check --domain and --data-dir",
            path.display()
        )));
    }
    crate::audit::read_records(&path).map_err(|e| {
        Failure::Input(format!(
            "cannot read the journal {}: {e}; check it with 'cutover audit verify'",
            path.display()
        ))
    })
}
