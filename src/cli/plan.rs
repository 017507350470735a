//! `cutover plan release [--tenant T] [--domain D] [--json] [--force-delete [--disable-user-accounts]]`: the release plan from the live
//! inventory ([`crate::plan::release::release_plan`]), as text for a change board or as the
//! JSON file `cutover apply` takes.

use std::io::Write;
use std::process::ExitCode;

use super::args::PlanReleaseArgs;
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::inventory;
use crate::plan::release::{
    ReleaseOptions, TenantFacts, force_delete_refusal, release_plan_with, render_text,
};

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
        let mut options = ReleaseOptions::default();
        if args.force_delete {
            if let Some(why) = force_delete_refusal(&facts, &entries) {
                return Err(Failure::Input(format!("--force-delete: {why}")));
            }
            options.force_delete = Some(args.disable_user_accounts);
        }
        Ok::<_, Failure>(release_plan_with(&facts, &entries, &directory, options))
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
