//! `cutover check [--phase P] [--json]`: the runbook's gates of the steps due by now (or of
//! every phase up to P), evaluated over one reading of what they name, for scripts and
//! monitoring. Exit 0 all hold, 1 any fails, 2 bad input, 3 a needed service could not be
//! asked.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::args::CheckArgs;
use super::config::Loaded;
use super::{Failure, Globals, Outcome, config, prepare, runtime, start};
use crate::config::Side;
use crate::dns::RecordKind;
use crate::dns::monitor::Target;
use crate::dns::name::DomainName;
use crate::graph::GraphClient;
use crate::plan::cutover_time::rfc3339;
use crate::plan::progress::{Progress, StepMark};
use crate::plan::{Phase, Runbook, Step};
use crate::store::Paths;
use crate::timeline::gate::{Expr, Fact};
use crate::timeline::read::{Needs, Sources, read_facts};
use crate::timeline::{Evaluation, Facts, Verdict};

/// What `check` and `timeline` work from: the configuration, the runbook in force, the saved
/// progress and T.
pub(super) struct Context {
    pub loaded: Loaded,
    pub domain: DomainName,
    pub runbook: Runbook,
    pub paths: Paths,
    pub progress: Progress,
    pub cutover_at: Option<OffsetDateTime>,
    pub journal: PathBuf,
    _log: crate::logging::LogGuard,
}

impl Context {
    pub fn load(globals: &Globals, cutover: Option<OffsetDateTime>) -> Result<Context, Failure> {
        let loaded = config::load_config(globals)?;
        let domain = loaded.domain(globals)?;
        let (runbook, _) = Runbook::load_for(loaded.path.parent(), &loaded.cfg)
            .map_err(|e| Failure::Input(e.to_string()))?;
        let (paths, log) = prepare(globals)?;
        // The dashboard's cutover id is the domain; its progress and journal are these.
        let progress = Progress::load(&paths.state_file(&domain.ascii))
            .map_err(|e| Failure::Input(e.to_string()))?;
        let cutover_at = crate::plan::cutover_time::choose(
            cutover,
            progress.cutover_time(),
            loaded.cfg.cutover_at,
        )
        .map(|(t, _)| t);
        let journal = paths.audit_log(&domain.ascii);
        Ok(Context {
            loaded,
            domain,
            runbook,
            paths,
            progress,
            cutover_at,
            journal,
            _log: log,
        })
    }

    /// One reading of what `needs` names.
    pub fn read(&self, needs: &Needs, now: OffsetDateTime) -> Result<Facts, Failure> {
        let cfg = &self.loaded.cfg;
        let rt = runtime()?;
        rt.block_on(async {
            let client = |side: Side| -> Result<GraphClient, String> {
                let profile = cfg
                    .profile(side)
                    .ok_or_else(|| format!("no {} tenant is configured", side.name()))?;
                start::client_for(profile, &self.paths, None).map_err(|f| match f {
                    Failure::Check(m) | Failure::Input(m) | Failure::Service(m) => m,
                })
            };
            let source = if needs.presence[0] || needs.holding || needs.access[0] {
                client(Side::Source)
            } else {
                Err(String::new())
            };
            let destination = if needs.presence[1] || needs.expected || needs.access[1] {
                client(Side::Destination)
            } else {
                Err(String::new())
            };
            let resolvers: Result<Vec<Target>, String> = if needs.dns() {
                super::dns::dashboard_resolvers(&self.domain, cfg)
                    .await
                    .map_err(|f| match f {
                        Failure::Check(m) | Failure::Input(m) | Failure::Service(m) => m,
                    })
            } else {
                Ok(Vec::new())
            };
            let exchange =
                |side: Side, needed: bool| -> Result<crate::exchange::ExchangeClient, String> {
                    if !needed {
                        return Err(String::new());
                    }
                    let profile = cfg
                        .profile(side)
                        .ok_or_else(|| format!("no {} tenant is configured", side.name()))?;
                    super::exchange::exchange_client(profile, &self.paths).map_err(|f| match f {
                        Failure::Check(m) | Failure::Input(m) | Failure::Service(m) => m,
                    })
                };
            let source_exchange = exchange(Side::Source, needs.access[0]);
            let destination_exchange = exchange(Side::Destination, needs.access[1]);
            let extra: Vec<(String, RecordKind)> = cfg.names.clone();
            let sources = Sources {
                domain: &self.domain.ascii,
                source: source.as_ref().map_err(Clone::clone),
                destination: destination.as_ref().map_err(Clone::clone),
                resolvers: resolvers.as_deref().map_err(Clone::clone),
                extra_names: &extra,
                journal: &self.journal,
                snapshots_dir: &self.paths.snapshots_dir(),
                exchange: [
                    source_exchange.as_ref().map_err(Clone::clone),
                    destination_exchange.as_ref().map_err(Clone::clone),
                ],
            };
            Ok(read_facts(needs, &sources, now, self.cutover_at).await)
        })
    }
}

/// One step the check looks at.
struct Checked<'a> {
    phase: &'a Phase,
    step: &'a Step,
    mark: Option<&'a StepMark>,
    eval: Option<Evaluation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Holds,
    Fails,
    Unknown { service: bool },
    Marked,
}

impl Standing {
    fn word(self) -> &'static str {
        match self {
            Standing::Holds => "holds",
            Standing::Fails => "fails",
            Standing::Unknown { .. } => "unknown",
            Standing::Marked => "marked",
        }
    }
}

impl Checked<'_> {
    fn result(&self) -> Standing {
        if self.mark.is_some() {
            return Standing::Marked;
        }
        match self.eval.as_ref().map(|e| e.verdict) {
            Some(Verdict::Holds) => Standing::Holds,
            Some(Verdict::Fails { .. }) => Standing::Fails,
            Some(Verdict::Unknown { service }) => Standing::Unknown { service },
            None => Standing::Unknown { service: false },
        }
    }

    fn observed(&self) -> String {
        match (self.mark, &self.eval) {
            (Some(m), _) => {
                let mut s = format!("marked {} by hand", m.status.as_str());
                if !m.by.is_empty() {
                    s.push_str(&format!(" by {}", m.by));
                }
                if !m.at.is_empty() {
                    s.push_str(&format!(" at {}", m.at));
                }
                if !m.reason.is_empty() {
                    s.push_str(&format!(": {}", m.reason));
                }
                s
            }
            (None, Some(e)) => e.observed.clone(),
            (None, None) => String::new(),
        }
    }
}

/// `cutover check`.
pub(crate) fn check(
    globals: &Globals,
    args: &CheckArgs,
    cutover: Option<OffsetDateTime>,
) -> Outcome {
    let ctx = Context::load(globals, cutover)?;
    let now = OffsetDateTime::now_utc();
    let selected = select(&ctx, args.phase.as_deref(), now)?;
    // Facts are read only for steps not marked by hand: a mark decides those.
    let unmarked = selected
        .iter()
        .filter(|(_, s, _)| ctx.progress.mark(&s.id).is_none())
        .map(|(_, _, g)| *g);
    let needs = Needs::of(unmarked);
    let facts = ctx.read(&needs, now)?;
    let checked: Vec<Checked> = selected
        .into_iter()
        .map(|(phase, step, gate)| {
            let mark = ctx.progress.mark(&step.id);
            Checked {
                phase,
                step,
                mark,
                eval: mark.is_none().then(|| facts.evaluate(gate)),
            }
        })
        .collect();
    let required = |c: &&Checked| !c.step.optional;
    let results: Vec<Standing> = checked
        .iter()
        .filter(required)
        .map(Checked::result)
        .collect();
    let code: u8 = if results.contains(&Standing::Fails) {
        1
    } else if results.contains(&Standing::Unknown { service: true }) {
        3
    } else if results
        .iter()
        .any(|r| matches!(r, Standing::Unknown { .. }))
    {
        // Not known to hold is not "ready".
        1
    } else {
        0
    };
    let count =
        |want: fn(&Standing) -> bool| checked.iter().map(|c| c.result()).filter(want).count();
    let (holds, fails, unknown, marked) = (
        count(|r| *r == Standing::Holds),
        count(|r| *r == Standing::Fails),
        count(|r| matches!(r, Standing::Unknown { .. })),
        count(|r| *r == Standing::Marked),
    );
    let scope = match &args.phase {
        Some(p) => format!("phases up to {p}"),
        None => "steps due by now".to_string(),
    };
    if args.json {
        let gates: Vec<serde_json::Value> = checked
            .iter()
            .map(|c| {
                json!({
                    "phase": c.phase.id,
                    "step": c.step.id,
                    "title": c.step.title,
                    "optional": c.step.optional,
                    "due_at": ctx.cutover_at.map(|t| rfc3339(t + Duration::minutes(c.step.due_minutes))),
                    "gate": c.step.gate_text(),
                    "result": c.result().word(),
                    "service_unavailable": c.result() == Standing::Unknown { service: true },
                    "observed": c.observed(),
                })
            })
            .collect();
        println!(
            "{}",
            json!({
                "domain": ctx.domain.ascii,
                "cutover_at": ctx.cutover_at.map(rfc3339),
                "checked_at": rfc3339(now),
                "scope": scope,
                "gates": gates,
                "summary": {"holds": holds, "fails": fails, "unknown": unknown, "marked": marked},
                "exit": code,
            })
        );
    } else {
        let width = checked.iter().map(|c| c.step.id.len()).max().unwrap_or(0);
        for c in &checked {
            println!(
                "{:<width$}  {:<7}  {}{}  — {}",
                c.step.id,
                c.result().word(),
                c.step.gate_text().unwrap_or_default(),
                if c.step.optional { " (optional)" } else { "" },
                c.observed()
            );
        }
        println!(
            "{} gate{} of {scope} for {}: {holds} hold, {fails} fail, {unknown} unknown, {marked} marked by hand{}",
            checked.len(),
            if checked.len() == 1 { "" } else { "s" },
            ctx.domain.display_both(),
            match ctx.cutover_at {
                Some(t) => format!(" (T = {})", rfc3339(t)),
                None => String::new(),
            }
        );
    }
    if code == 3
        && let Some(c) = checked
            .iter()
            .find(|c| c.result() == Standing::Unknown { service: true })
    {
        eprintln!(
            "cutover: step {} could not be checked: {}",
            c.step.id,
            c.observed()
        );
    }
    Ok(ExitCode::from(code))
}

type Selected<'a> = Vec<(&'a Phase, &'a Step, &'a Expr)>;

/// The gated steps to check: of the phases up to and including `phase` (a contingency phase
/// only when it is the one named), else those due by now (T needed).
fn select<'a>(
    ctx: &'a Context,
    phase: Option<&str>,
    now: OffsetDateTime,
) -> Result<Selected<'a>, Failure> {
    let gated = |p: &'a Phase| {
        p.steps
            .iter()
            .filter_map(move |s| s.parsed_gate.as_ref().map(|g| (p, s, g)))
    };
    let selected: Selected<'a> = match phase {
        Some(name) => {
            let Some(last) = ctx.runbook.phases.iter().position(|p| p.id == name) else {
                return Err(Failure::Input(format!(
                    "--phase {name}: no such phase in the runbook (phases: {})",
                    ctx.runbook
                        .phases
                        .iter()
                        .map(|p| p.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            ctx.runbook
                .phases
                .iter()
                .take(last + 1)
                .filter(|p| !p.contingency || p.id == name)
                .flat_map(gated)
                .collect()
        }
        None => {
            let t = ctx.cutover_at.ok_or_else(no_cutover_time)?;
            ctx.runbook
                .phases
                .iter()
                .filter(|p| !p.contingency)
                .flat_map(gated)
                .filter(|(_, s, _)| t + Duration::minutes(s.due_minutes) <= now)
                .collect()
        }
    };
    // A gate that names a time relative to T cannot be read without T.
    if ctx.cutover_at.is_none()
        && let Some((_, step, _)) = selected.iter().find(|(_, _, g)| {
            g.facts()
                .iter()
                .any(|f| matches!(f, Fact::MxTtlLoweredBefore(_)))
        })
    {
        return Err(Failure::Input(format!(
            "step {}'s gate needs the cutover time T: {NO_T}",
            step.id
        )));
    }
    Ok(selected)
}

const NO_T: &str = "pass --cutover 2026-12-05T18:00Z, set it in the dashboard's timeline, or add cutover_at to the configuration";

fn no_cutover_time() -> Failure {
    Failure::Input(format!(
        "no cutover time T to tell which steps are due: {NO_T}"
    ))
}
