//! `cutover plan release [--tenant T] [--domain D] [--json]`: the release plan from the live
//! inventory ([`crate::plan::release::release_plan`]), as text for a change board or as the
//! JSON file `cutover apply` takes.

use std::io::Write;
use std::process::ExitCode;

use super::args::{PlanBackoutArgs, PlanReleaseArgs};
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::inventory;
use crate::plan::release::{TenantFacts, release_plan, render_text};

pub(crate) fn plan_release(globals: &Globals, args: &PlanReleaseArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let profile = loaded.profile(args.tenant)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let side = args.tenant.name();
    let rt = runtime()?;
    let plan = rt.block_on(async {
        let client = start::client_for(profile, &paths, None)?;
        let (domains, this, directory) = tokio::try_join!(
            client.domains(),
            client.domain(&domain.ascii),
            inventory::read(&client, &domain.ascii),
        )
        .map_err(start::sign_in_failure)?;
        let this = this.ok_or_else(|| {
            Failure::Input(format!(
                "the {side} tenant does not have {}; check --domain and --tenant",
                domain.display_both()
            ))
        })?;
        let initial = domains
            .iter()
            .find(|d| d.is_initial)
            .map(|d| d.id.clone())
            .ok_or_else(|| {
                Failure::Service(format!(
                    "Graph listed no initial (onmicrosoft) domain for the {side} tenant"
                ))
            })?;
        let facts = TenantFacts {
            tenant: side.to_string(),
            domain: domain.ascii.clone(),
            initial_domain: initial,
            domain_is_default: this.is_default,
            domain_federated: this
                .authentication_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("federated")),
        };
        let entries = inventory::classify(&domain.ascii, directory.clone());
        Ok::<_, Failure>(release_plan(&facts, &entries, &directory))
    })?;
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&plan)
            .map_err(|e| Failure::Service(format!("cannot write the plan as JSON: {e}")))?;
        t.push('\n');
        t
    } else {
        render_text(&plan)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

/// `cutover plan backout [--domain D] [--json]`: the inverses of what the session journal
/// says was applied, newest first ([`crate::plan::backout::backout_plan`]); no service is read.
pub(crate) fn plan_backout(globals: &Globals, args: &PlanBackoutArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let domain = loaded.domain(globals)?;
    let (paths, _log) = prepare(globals)?;
    let records = journal_records(&paths, &domain.ascii)?;
    let plan = crate::plan::backout::backout_plan(&domain.ascii, &records);
    let text = if args.json {
        let mut t = serde_json::to_string_pretty(&plan)
            .map_err(|e| Failure::Service(format!("cannot write the plan as JSON: {e}")))?;
        t.push('\n');
        t
    } else {
        crate::plan::backout::render_text(&plan)
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))?;
    Ok(ExitCode::SUCCESS)
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
