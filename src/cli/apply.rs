//! `cutover apply PLAN.json [--yes] [--read-only] [--concurrency N]` and `cutover apply
//! --resume`: a plan file through the one journaling executor ([`crate::executor::Executor`]),
//! into the session's journal `<data dir>/audit/<cutover id>.jsonl`. Refused without a snapshot
//! of the tenant and domain (`cutover snapshot`), and, without `--yes`, until the domain is
//! typed on the terminal.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::{Deserialize, Serialize};

use super::args::ApplyArgs;
use super::{Failure, Globals, Outcome, config, exchange, prepare, runtime, start};
use crate::audit::Journal;
use crate::config::Side;
use crate::executor::{ExecError, Executor, Status};
use crate::plan::release::{PLAN_VERSION, Plan};
use crate::store::Paths;

/// What `--resume` reads: the plan last applied for a cutover id. `apply` keeps its own copy
/// (`kept`, with its SHA-256, also journaled), so a resume needs neither the admin's file nor
/// its being unchanged.
#[derive(Debug, Serialize, Deserialize)]
struct LastApplied {
    plan: PathBuf,
    #[serde(default)]
    kept: Option<PathBuf>,
    #[serde(default)]
    sha256: Option<String>,
}

fn last_applied_file(paths: &Paths, cutover_id: &str) -> PathBuf {
    paths.state_file(&format!("{cutover_id}.apply"))
}

fn read_plan(path: &Path) -> Result<(Plan, String), Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Input(format!(
            "cannot read the plan {}: {e}; write one with 'cutover plan release --json > plan.json'",
            path.display()
        ))
    })?;
    // The version first, so an old or future file is named as such rather than as bad JSON.
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version").and_then(serde_json::Value::as_u64));
    if version.is_some_and(|v| v != u64::from(PLAN_VERSION)) {
        return Err(Failure::Input(format!(
            "{} is a plan of format {}, this cutover reads format {PLAN_VERSION}; plan again",
            path.display(),
            version.unwrap_or_default()
        )));
    }
    let plan = serde_json::from_str(&text).map_err(|e| {
        Failure::Input(format!(
            "{} is not a cutover plan ({e}); write one with 'cutover plan release --json > plan.json'",
            path.display()
        ))
    })?;
    Ok((plan, text))
}

pub(crate) fn apply(globals: &Globals, args: &ApplyArgs) -> Outcome {
    let loaded = config::load_config(globals)?;
    let paths =
        Paths::resolve(globals.data_dir.as_deref()).map_err(|e| Failure::Input(e.to_string()))?;
    let plan_path = match (&args.plan, args.resume) {
        (Some(p), _) => std::path::absolute(p).unwrap_or_else(|_| p.clone()),
        (None, _) => {
            let domain = loaded.domain(globals)?;
            let state = last_applied_file(&paths, &domain.ascii);
            let text = std::fs::read_to_string(&state).map_err(|_| {
                Failure::Input(format!(
                    "no plan was applied for {} from this data dir; run 'cutover apply PLAN.json' first",
                    domain.display_both()
                ))
            })?;
            let last: LastApplied = serde_json::from_str(&text).map_err(|e| {
                Failure::Input(format!(
                    "{} is unreadable ({e}); run 'cutover apply PLAN.json' instead",
                    state.display()
                ))
            })?;
            match (last.kept, last.sha256) {
                (Some(kept), Some(sha)) => {
                    let bytes = std::fs::read(&kept).map_err(|e| {
                        Failure::Input(format!(
                            "cannot read the plan kept at {} ({e}); run 'cutover apply PLAN.json' with the plan again",
                            kept.display()
                        ))
                    })?;
                    if crate::audit::sha256_hex(&bytes) != sha {
                        return Err(Failure::Input(format!(
                            "the plan kept at {} changed since it was applied (the journal's 'plan applied' line has its SHA-256); run 'cutover apply PLAN.json' with the plan you mean",
                            kept.display()
                        )));
                    }
                    kept
                }
                _ => last.plan,
            }
        }
    };
    let (plan, plan_text) = read_plan(&plan_path)?;
    if let Some(d) = &globals.domain
        && !d.ascii.eq_ignore_ascii_case(&plan.domain)
    {
        return Err(Failure::Input(format!(
            "the plan is for {}, not --domain {}; plan again for this domain",
            plan.domain,
            d.display_both()
        )));
    }
    let side: Side = plan.tenant.parse().map_err(|_| {
        Failure::Input(format!(
            "the plan names tenant '{}'; it must be source or destination",
            plan.tenant
        ))
    })?;
    let profile = loaded.profile(side)?;
    let (paths, _log) = prepare(globals)?;
    // No snapshot, no apply: the snapshot is what a backout or a person restores from.
    let snapshot = crate::store::snapshot::latest(&paths.data_dir, side.name(), &plan.domain)
        .ok_or_else(|| {
            Failure::Input(format!(
                "no snapshot of {} in the {} tenant; take one first with 'cutover snapshot --tenant {}'",
                plan.domain,
                side.name(),
                side.name()
            ))
        })?;
    crate::store::snapshot::verify(&snapshot).map_err(|why| {
        Failure::Input(format!(
            "the snapshot {} was changed since it was taken ({why}); take a new one with 'cutover snapshot --tenant {}'",
            snapshot.path.display(),
            side.name()
        ))
    })?;
    if !args.run.yes && !args.run.read_only {
        confirm(&plan)?;
    }
    let cutover_id = plan.domain.clone();
    // The plan as applied, kept beside the state: what --resume runs, whatever becomes of
    // the admin's file.
    let sha256 = crate::audit::sha256_hex(plan_text.as_bytes());
    let kept = paths.state_file(&format!("{cutover_id}.apply.plan"));
    if kept != plan_path {
        crate::store::write_atomic(&kept, plan_text.as_bytes()).map_err(|e| {
            Failure::Service(format!("cannot keep the plan at {}: {e}", kept.display()))
        })?;
    }
    let last = serde_json::to_vec(&LastApplied {
        plan: plan_path.clone(),
        kept: Some(kept),
        sha256: Some(sha256.clone()),
    })
    .map_err(|e| Failure::Service(format!("cannot record the plan applied: {e}")))?;
    let state = last_applied_file(&paths, &cutover_id);
    crate::store::write_atomic(&state, &last)
        .map_err(|e| Failure::Service(format!("cannot write {}: {e}", state.display())))?;
    let journal_path = paths.audit_log(&cutover_id);
    let mut journal =
        Journal::open(&journal_path, &cutover_id).map_err(|e| Failure::Input(e.to_string()))?;
    // On the hash chain: which plan this run applies (the kept copy must still match it).
    journal
        .append(
            crate::audit::Event::new(crate::audit::Kind::UserAction, "plan applied").details(
                serde_json::json!({
                    "plan_sha256": sha256,
                    "kind": plan.kind,
                    "tenant": plan.tenant,
                    "changes": plan.changes.len(),
                    "file": plan_path,
                    "resume": args.resume,
                }),
            ),
        )
        .map_err(|e| {
            Failure::Service(format!(
                "the journal {}: {e}; nothing was sent",
                journal_path.display()
            ))
        })?;
    let client = exchange::exchange_client(profile, &paths)?;
    // The same tenant's Graph client for the UPN changes (and, later, the domain's own).
    let graph = start::client_for(profile, &paths, Some(start::print_device_code()))?;
    let rt = runtime()?;
    // Who made the changes: the person a delegated (device-code) sign-in names, on every
    // journal line. Signing in now is what the tenant's first change would do; a failure here
    // is reported by that first change, with its request id. A plan with no change for the
    // tenant (DNS only) signs in to nothing.
    if plan.changes.iter().any(|c| c.tenant == side.name()) {
        let token = rt.block_on(graph.tokens().access_token()).ok();
        journal.set_upn(
            token
                .as_deref()
                .and_then(crate::graph::permissions::signed_in_user),
        );
    }
    let mut executor = Executor::new(journal)
        .with_exchange(side.name(), client)
        .with_graph(side.name(), graph)
        .with_dns(dns_writer(&loaded, &plan.domain, args)?);
    // An adopt plan reads the other tenant too (the wait for its release of the domain); a
    // backout writes to both.
    for other in [Side::Source, Side::Destination] {
        if other != side && plan.changes.iter().any(|c| c.tenant == other.name()) {
            let profile = loaded.profile(other)?;
            let client = start::client_for(profile, &paths, Some(start::print_device_code()))?;
            executor = executor.with_graph(other.name(), client);
            // A backout spans both tenants: the other one's Exchange changes too.
            if plan.changes.iter().any(|c| {
                c.tenant == other.name()
                    && matches!(c.route, crate::plan::change::Route::Exchange { .. })
            }) {
                executor = executor
                    .with_exchange(other.name(), exchange::exchange_client(profile, &paths)?);
            }
        }
    }
    let executor = executor
        .read_only(args.run.read_only)
        .concurrency(args.run.concurrency as usize)
        .removal_settle(std::time::Duration::from_secs(args.run.removal_wait));
    let results = rt
        .block_on(executor.run(&plan.changes))
        .map_err(|e| match e {
            ExecError::Plan(m) => Failure::Input(m),
            ExecError::Audit(a) => Failure::Service(format!(
                "the journal {}: {a}; nothing more was sent",
                journal_path.display()
            )),
        })?;
    let mut out = std::io::stdout().lock();
    let mut lines = Vec::new();
    let (mut good, mut bad) = (0usize, 0usize);
    for (r, c) in results.iter().zip(&plan.changes) {
        let said = match &r.status {
            Status::Applied => "applied".to_string(),
            Status::Reconciled => "already applied (reconciled)".to_string(),
            Status::AlreadyDone => "done in an earlier run".to_string(),
            Status::Refused => "not applied: read-only mode".to_string(),
            Status::Skipped(why) => format!("skipped: {why}"),
            Status::Failed(why) => why.clone(),
        };
        match r.status {
            Status::Applied | Status::Reconciled | Status::AlreadyDone => good += 1,
            _ => bad += 1,
        }
        lines.push(format!("{}  {}  {said}", r.id, c.target.display));
    }
    // An accepted removal is not a released domain: only a 404 from GET /domains/{id} is.
    let removal_accepted = results.iter().zip(&plan.changes).any(|(r, c)| {
        c.field == crate::plan::change::FIELD_DOMAIN
            && matches!(
                r.status,
                Status::Applied | Status::Reconciled | Status::AlreadyDone
            )
    });
    if removal_accepted {
        let released = rt
            .block_on(wait_released(&executor, &plan, args.run.removal_wait))
            .map_err(|e| match e {
                ExecError::Plan(m) => Failure::Service(m),
                ExecError::Audit(a) => {
                    Failure::Service(format!("the journal {}: {a}", journal_path.display()))
                }
            })?;
        if released {
            lines.push(format!(
                "{} released: GET /domains/{} answers 404",
                plan.domain, plan.domain
            ));
        } else {
            bad += 1;
            lines.push(format!(
                "{} removal under way: still listed after {}s; run 'cutover apply --resume' to wait again",
                plan.domain, args.run.removal_wait
            ));
        }
    }
    let by_hand = plan.renames.iter().filter(|r| r.change.is_none()).count() + plan.flags.len();
    lines.push(format!(
        "{good} of {} changes in effect, {bad} not; journal {}{}",
        plan.changes.len(),
        journal_path.display(),
        if by_hand > 0 {
            format!("; the plan's {by_hand} flags and renames without a change are for a person")
        } else {
            String::new()
        }
    ));
    lines
        .iter()
        .try_for_each(|l| writeln!(out, "{l}"))
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Service(format!("cannot write to stdout: {e}")))?;
    Ok(if bad == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Wait (bounded, with progress on stderr) until Graph answers 404 for the plan's domain, and
/// journal what was seen. `Ok(false)`: still listed, the removal under way.
async fn wait_released(
    executor: &Executor,
    plan: &Plan,
    bound_secs: u64,
) -> Result<bool, ExecError> {
    use crate::executor::reconcile::{self, Released};
    let client = executor
        .graph_client(&plan.tenant)
        .ok_or_else(|| ExecError::Plan(format!("no Graph client for '{}'", plan.tenant)))?;
    let mut said = 0u64;
    let bound = std::time::Duration::from_secs(bound_secs);
    let seen = reconcile::wait_released(&client, &plan.domain, bound, |waited| {
        // One progress line every ten seconds or so, not one per read.
        let secs = waited.as_secs();
        if secs >= said {
            eprintln!(
                "cutover: waiting for Microsoft to finish removing {} ({secs}s of at most {bound_secs}s)",
                plan.domain
            );
            said = secs + 10;
        }
    })
    .await
    .map_err(ExecError::Plan)?;
    let (action, gone) = match seen {
        Released::Gone => ("domain released: GET /domains/{id} answers 404", true),
        Released::Listed => ("domain removal under way: still listed", false),
    };
    executor
        .observed(
            &plan.tenant,
            &plan.domain,
            action,
            serde_json::json!({"domain": plan.domain, "bound_s": bound_secs}),
        )
        .await?;
    Ok(gone)
}

/// DNS changes: RFC 2136 updates for the zone `[dns.update]` names (its secret read now, so a
/// missing key file stops the run before anything is sent), instructions printed at once and
/// a watch of the authoritative servers (found as `cutover dns` finds them) for the others.
fn dns_writer(
    loaded: &config::Loaded,
    domain: &str,
    args: &ApplyArgs,
) -> Result<crate::executor::dns::DnsWriter, Failure> {
    let resolvers = super::dns::resolver_plan(None, Some(&loaded.cfg))?;
    let say: crate::executor::dns::Say = std::sync::Arc::new(|text: &str| {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}").and_then(|()| out.flush());
    });
    let mut writer = crate::executor::dns::DnsWriter::new(resolvers, say)
        .watch(args.run.dns_poll, args.run.dns_wait);
    if let Some(update) = &loaded.cfg.dns_update {
        let secret = crate::dns::update::read_secret(&update.key).map_err(Failure::Input)?;
        let updater = crate::dns::update::Updater::new(update, domain, secret)
            .map_err(|e| Failure::Input(format!("dns.update: {e}")))?;
        writer = writer.with_updater(updater);
    }
    Ok(writer)
}

/// The domain typed on the terminal, or nothing is applied.
fn confirm(plan: &Plan) -> Result<(), Failure> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(Failure::Input(
            "apply asks for the domain to be typed and stdin is not a terminal; pass --yes to apply without asking".into(),
        ));
    }
    eprint!(
        "cutover: {} changes to {} in the {} tenant. Type the domain to apply them: ",
        plan.changes.len(),
        plan.domain,
        plan.tenant
    );
    let _ = std::io::stderr().flush();
    let mut typed = String::new();
    stdin
        .lock()
        .read_line(&mut typed)
        .map_err(|e| Failure::Input(format!("cannot read the confirmation: {e}")))?;
    let typed = typed.trim();
    let matches = typed.eq_ignore_ascii_case(&plan.domain)
        || crate::dns::name::parse_domain(typed)
            .is_ok_and(|d| d.ascii.eq_ignore_ascii_case(&plan.domain));
    if matches {
        Ok(())
    } else {
        Err(Failure::Input(format!(
            "'{typed}' is not {}; nothing applied",
            plan.domain
        )))
    }
}
