//! Provider-managed tenants: the manual steps of a hoster's or partner's portal
//! (`assets/runbook-provider.toml`, embedded), merged into the runbook in force when a tenant
//! profile names a provider (`provider = "ionos"` …).

use std::collections::HashSet;

use serde::Deserialize;
use toml::Spanned;

use super::error::PlanError;
use super::runbook::{ACTIONS, Phase, Runbook, Step};
use crate::config::{Config, Provider, Side};
use crate::timeline::gate;

const PROVIDER_STEPS: &str = include_str!("../../assets/runbook-provider.toml");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    steps: Vec<ProviderStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderStep {
    providers: Vec<String>,
    side: String,
    phase: String,
    id: String,
    title: String,
    #[serde(default)]
    detail: String,
    due_minutes: i64,
    owner: String,
    #[serde(default)]
    optional: bool,
    #[serde(default)]
    gate: Option<String>,
    #[serde(default)]
    action: Option<String>,
}

/// The phase provider steps go to when the runbook in force has no phase of the id the step
/// names (a user's own runbook).
pub const FALLBACK_PHASE: &str = "provider";

/// The provider steps for `provider` on `side`, as runbook steps with their phase id: ids
/// `<provider>-<id>`, `{portal}` filled in, gates parsed.
pub fn steps_for(provider: Provider, side: Side) -> Result<Vec<(String, Step)>, PlanError> {
    let file: File = toml::from_str(PROVIDER_STEPS).map_err(|e| PlanError::Parse {
        line: 0,
        reason: format!("runbook-provider.toml: {}", e.message().trim()),
    })?;
    let portal = provider.portal();
    let fill = |s: &str| s.replace("{portal}", portal);
    let mut out = Vec::new();
    for s in file.steps {
        if s.side != side.name() || !s.providers.iter().any(|p| p == provider.name()) {
            continue;
        }
        let id = format!("{}-{}", provider.name(), s.id);
        let parsed_gate = match &s.gate {
            Some(text) => Some(gate::parse(text).map_err(|e| PlanError::BadGate {
                step: id.clone(),
                line: 0,
                gate: text.clone(),
                reason: e.to_string(),
            })?),
            None => None,
        };
        if let Some(action) = &s.action
            && !ACTIONS.iter().any(|(name, _)| name == action)
        {
            return Err(PlanError::BadStep {
                step: id,
                reason: format!("links unknown action \"{action}\""),
            });
        }
        out.push((
            s.phase,
            Step {
                id,
                title: fill(&s.title),
                detail: fill(&s.detail),
                due_minutes: s.due_minutes,
                owner: fill(&s.owner),
                optional: s.optional,
                gate: s.gate.map(|g| Spanned::new(0..0, g)),
                parsed_gate,
                action: s.action,
            },
        ));
    }
    Ok(out)
}

impl Runbook {
    /// The runbook with the manual steps of the providers the source and destination profiles
    /// name, each in its phase in time order (after the steps due at the same time). A step
    /// whose phase the runbook lacks goes to a phase [`FALLBACK_PHASE`] before the contingency
    /// phases. Unchanged when no profile names a provider.
    pub fn with_providers(
        mut self,
        source: Option<Provider>,
        destination: Option<Provider>,
    ) -> Result<Runbook, PlanError> {
        let mut added = Vec::new();
        for (side, provider) in [(Side::Source, source), (Side::Destination, destination)] {
            if let Some(p) = provider {
                added.extend(steps_for(p, side)?);
            }
        }
        for (phase_id, step) in added {
            let phase = match self.phases.iter().position(|p| p.id == phase_id) {
                Some(i) => i,
                None => fallback_phase(&mut self),
            };
            let Some(phase) = self.phases.get_mut(phase) else {
                continue;
            };
            let at = phase
                .steps
                .iter()
                .position(|s| s.due_minutes > step.due_minutes)
                .unwrap_or(phase.steps.len());
            phase.steps.insert(at, step);
        }
        let mut seen = HashSet::new();
        for (_, step) in self.steps() {
            if !seen.insert(step.id.as_str()) {
                return Err(PlanError::DuplicateStep {
                    step: step.id.clone(),
                });
            }
        }
        Ok(self)
    }

    /// The runbook in force ([`Runbook::load`]) with the providers `cfg`'s profiles name.
    pub fn load_for(
        dir: Option<&std::path::Path>,
        cfg: &Config,
    ) -> Result<(Runbook, Option<std::path::PathBuf>), PlanError> {
        let (runbook, path) = Runbook::load(dir)?;
        let runbook = runbook.with_providers(
            cfg.source.provider,
            cfg.destination.as_ref().and_then(|d| d.provider),
        )?;
        Ok((runbook, path))
    }
}

/// Hand a provider-managed tenant's user renames to the provider's portal: every UPN change
/// of `plan` leaves `changes` (so `cutover apply` never sends it) and becomes a flag saying
/// what to do in the portal, prefixed with the portal's name ("IONOS portal: …"). Changes that
/// waited for one lose that prerequisite: the portal's rename is done by hand, before them
/// (the runbook's `<provider>-rename-users-in-portal` step), and a change Microsoft still
/// refuses fails on its own. Returns how many changes were handed over.
pub fn hand_to_portal(plan: &mut super::release::Plan, provider: Provider) -> usize {
    use super::change::FIELD_UPN;
    let (portal_side, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.changes)
        .into_iter()
        .partition(|c| c.field == FIELD_UPN);
    plan.changes = kept;
    let moved: HashSet<&str> = portal_side.iter().map(|c| c.id.as_str()).collect();
    for c in &mut plan.changes {
        c.prerequisites.retain(|p| !moved.contains(p.as_str()));
    }
    for r in &mut plan.renames {
        if r.change.as_deref().is_some_and(|id| moved.contains(id)) {
            r.change = None;
        }
    }
    for c in &portal_side {
        plan.flags.push(portal_flag(provider, c));
    }
    portal_side.len()
}

/// The flag a UPN change of a provider-managed tenant becomes: what to do in the portal
/// (the plan's words, and the dashboard's row for the user).
pub fn portal_flag(provider: Provider, c: &super::change::Change) -> super::release::Flag {
    let portal = provider.portal();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    super::release::Flag {
        target: c.target.clone(),
        kind: "user".into(),
        rule: format!(
            "The {portal} manages this tenant's users: a sign-in name changed through Graph is not reported back to it, and a user's id must end on the onmicrosoft.com domain before it can be deleted"
        ),
        action: format!(
            "{}: change the user name from {} to {} (choose the onmicrosoft.com domain), or delete the user there if it leaves",
            capitalised(portal),
            text(&c.before),
            text(&c.after)
        ),
    }
}

/// "IONOS portal", "CSP partner's portal" → as the start of a sentence.
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The index of the fallback phase, made before the first contingency phase when missing.
fn fallback_phase(runbook: &mut Runbook) -> usize {
    if let Some(i) = runbook.phases.iter().position(|p| p.id == FALLBACK_PHASE) {
        return i;
    }
    let at = runbook
        .phases
        .iter()
        .position(|p| p.contingency)
        .unwrap_or(runbook.phases.len());
    runbook.phases.insert(
        at,
        Phase {
            id: FALLBACK_PHASE.into(),
            title: "Provider's portal".into(),
            contingency: false,
            steps: Vec::new(),
        },
    );
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_step_parses_and_lands_in_an_embedded_phase() {
        let base = Runbook::embedded().unwrap();
        for p in Provider::NAMES {
            let provider = Provider::parse(p).unwrap();
            for side in [Side::Source, Side::Destination] {
                let steps = steps_for(provider, side).unwrap();
                assert!(!steps.is_empty(), "{p} {side:?}");
                for (phase, step) in &steps {
                    assert!(base.phases.iter().any(|ph| &ph.id == phase), "{phase}");
                    assert!(step.id.starts_with(&format!("{p}-")), "{}", step.id);
                    assert!(!step.title.contains("{portal}"), "{}", step.title);
                    assert!(step.owner.contains("portal"), "{}", step.owner);
                    assert!(!step.detail.is_empty());
                }
            }
        }
    }

    #[test]
    fn provider_steps_merge_in_time_order_and_only_when_named() {
        let base = Runbook::embedded().unwrap();
        let same = base.clone().with_providers(None, None).unwrap();
        assert_eq!(same, base);
        let ionos = base
            .clone()
            .with_providers(Some(Provider::Ionos), None)
            .unwrap();
        let (phase, step) = ionos.step("ionos-rename-users-in-portal").unwrap();
        assert_eq!(phase.id, "cutover");
        assert_eq!(step.owner, "IONOS portal");
        assert!(ionos.step("ionos-note-portal-user-ids").is_none());
        assert!(ionos.step("telekom-note-portal-user-ids").is_none());
        assert!(ionos.step("ionos-create-users-in-portal").is_none());
        for phase in &ionos.phases {
            assert!(
                phase
                    .steps
                    .windows(2)
                    .all(|w| w[0].due_minutes <= w[1].due_minutes),
                "{} out of order",
                phase.id
            );
        }
        // The portal's rename comes before the Graph UPN change.
        let order: Vec<&str> = ionos.phases[3]
            .steps
            .iter()
            .map(|s| s.id.as_str())
            .collect();
        let at = |id: &str| order.iter().position(|s| *s == id).unwrap();
        assert!(at("ionos-rename-users-in-portal") < at("change-upns"));

        let both = base
            .with_providers(Some(Provider::Telekom), Some(Provider::Ionos))
            .unwrap();
        assert!(both.step("telekom-user-ids-before-deletion").is_some());
        assert!(both.step("ionos-create-users-in-portal").is_some());
        assert!(both.step("ionos-rename-users-in-portal").is_none());
    }

    #[test]
    fn a_runbook_without_the_phases_gets_a_provider_phase_before_the_back_out() {
        let rb = Runbook::from_toml(
            r#"
            [[phases]]
            id = "day"
            title = "Day"
            [[phases.steps]]
            id = "a"
            title = "A"
            due_minutes = 0
            [[phases]]
            id = "undo"
            title = "Undo"
            contingency = true
            [[phases.steps]]
            id = "b"
            title = "B"
            due_minutes = 60
        "#,
        )
        .unwrap()
        .with_providers(Some(Provider::Csp), None)
        .unwrap();
        let ids: Vec<&str> = rb.phases.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["day", FALLBACK_PHASE, "undo"]);
        assert!(rb.step("csp-agree-with-partner").is_some());
    }
}
