//! The cleanup workbench: the release plan laid over the Users and aliases rows. Each object
//! holding the domain shows its planned changes and their state; the admin selects objects,
//! previews the exact changes, and applies, retries or undoes them through the executor and
//! the journal (the event loop runs [`super::Command::Execute`]). Everything here is computed
//! when a plan or a result arrives, never per frame. See `docs/workbench.md`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use time::OffsetDateTime;

use crate::executor::{ChangeResult, Status};
use crate::plan::change::{
    Change, FIELD_ADDRESSES, FIELD_DEFAULT_DOMAIN, FIELD_DOMAIN, FIELD_IDENTIFIER_URIS,
    FIELD_PRIMARY, FIELD_UPN, address_moves, string_list,
};
use crate::plan::release::Plan;

/// A planned change as the workbench keeps it: what its row shows and enough to make the exact
/// change again ([`Planned::change`]) — a tenth of a [`Change`]'s memory (no JSON values), so
/// the plan of a 100,000-user tenant fits beside the directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// The change's id as a number ([`key`]).
    pub id: u64,
    pub tenant: Arc<str>,
    /// The object's id and display name, shared by the object's changes.
    pub target: Arc<str>,
    pub display: Arc<str>,
    pub spec: Spec,
    pub prerequisites: Box<[u64]>,
}

/// A change id as a number: ids are 16 hex digits (`change_id`), so a `u64` holds one whole
/// and a 220,000-change plan keeps no id strings. Anything else is hashed (never seen; it
/// stays consistent in one session).
pub fn key(id: &str) -> u64 {
    match u64::from_str_radix(id, 16) {
        Ok(n) if id.len() == 16 => n,
        _ => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            id.hash(&mut h);
            h.finish()
        }
    }
}

/// Shares the strings consecutive changes repeat (the tenant, the object's id and name: a
/// plan lists an object's changes together), so each is held once.
#[derive(Debug, Default)]
pub struct Interner {
    tenant: Option<Arc<str>>,
    target: Option<Arc<str>>,
    display: Option<Arc<str>>,
}

impl Interner {
    fn share(slot: &mut Option<Arc<str>>, text: &str) -> Arc<str> {
        match slot {
            Some(kept) if &**kept == text => kept.clone(),
            _ => {
                let new: Arc<str> = text.into();
                *slot = Some(new.clone());
                new
            }
        }
    }
}

/// What a planned change does.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    Upn {
        from: Box<str>,
        to: Box<str>,
    },
    Primary {
        cmdlet: &'static str,
        from: Box<str>,
        to: Box<str>,
    },
    /// Proxy addresses removed with `cmdlet`.
    RemoveAliases {
        cmdlet: &'static str,
        addresses: Vec<Box<str>>,
    },
    Uris {
        from: Vec<String>,
        to: Vec<String>,
    },
    /// Anything else (the domain-wide changes, a handful), kept whole.
    Whole(Box<Change>),
}

impl Planned {
    /// The compact form of `c`; a change the compact form would not give back exactly is kept
    /// whole, so [`Planned::change`] is always the planned change.
    pub fn of(c: &Change) -> Planned {
        Planned::of_shared(c, &mut Interner::default())
    }

    /// [`Planned::of`], sharing repeated strings through `strings`.
    pub fn of_shared(c: &Change, strings: &mut Interner) -> Planned {
        let text = |v: &serde_json::Value| v.as_str().map(Box::<str>::from);
        // The few cmdlets a release plan uses, held once; any other keeps the change whole.
        let cmdlet = match &c.route {
            crate::plan::change::Route::Exchange { cmdlet, .. } => crate::plan::release::CMDLETS
                .into_iter()
                .find(|k| k == cmdlet),
            _ => None,
        };
        let spec = match (c.field.as_str(), cmdlet) {
            (FIELD_UPN, None) => text(&c.before)
                .zip(text(&c.after))
                .map(|(from, to)| Spec::Upn { from, to }),
            (FIELD_PRIMARY, Some(cmdlet)) => text(&c.before)
                .zip(text(&c.after))
                .map(|(from, to)| Spec::Primary { cmdlet, from, to }),
            (FIELD_ADDRESSES, Some(cmdlet)) if string_list(&c.after).is_empty() => {
                Some(Spec::RemoveAliases {
                    cmdlet,
                    addresses: string_list(&c.before).into_iter().map(Box::from).collect(),
                })
            }
            (FIELD_IDENTIFIER_URIS, None) => Some(Spec::Uris {
                from: string_list(&c.before),
                to: string_list(&c.after),
            }),
            _ => None,
        };
        let whole = || Spec::Whole(Box::new(c.clone()));
        let mut planned = Planned {
            id: key(&c.id),
            tenant: Interner::share(&mut strings.tenant, &c.tenant),
            target: Interner::share(&mut strings.target, &c.target.id),
            display: Interner::share(&mut strings.display, &c.target.display),
            spec: spec.unwrap_or_else(whole),
            prerequisites: c.prerequisites.iter().map(|p| key(p)).collect(),
        };
        if !matches!(planned.spec, Spec::Whole(_)) && planned.change() != *c {
            planned.spec = whole();
        }
        planned
    }

    /// The change itself, as the plan made it.
    pub fn change(&self) -> Change {
        let target = || crate::plan::change::Target {
            id: self.target.to_string(),
            display: self.display.to_string(),
        };
        let mut c = match &self.spec {
            Spec::Upn { from, to } => {
                Change::set_upn(&self.tenant, &self.target, &self.display, from, to)
            }
            Spec::Primary { cmdlet, from, to } => {
                Change::set_primary(&self.tenant, cmdlet, target(), from, to)
            }
            Spec::RemoveAliases { cmdlet, addresses } => {
                let list: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
                Change::remove_addresses(&self.tenant, cmdlet, target(), &list)
            }
            Spec::Uris { from, to } => {
                Change::set_identifier_uris(&self.tenant, &self.target, &self.display, from, to)
            }
            Spec::Whole(c) => return (**c).clone(),
        };
        c.prerequisites = self
            .prerequisites
            .iter()
            .map(|p| format!("{p:016x}"))
            .collect();
        c
    }

    fn domain_level(&self) -> bool {
        match &self.spec {
            Spec::Whole(c) => is_domain_level(c),
            _ => false,
        }
    }
}

/// What the workbench is given of a release plan: each change compactly, the objects only a
/// person can change (with the rule), the initial domain.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanSketch {
    pub initial_domain: String,
    pub planned: Vec<Planned>,
    /// Object id → the rule of the flag that keeps cutover from changing it.
    pub blocked: Vec<(String, String)>,
}

impl PlanSketch {
    /// The sketch of a plan held whole (a small plan, the tests).
    pub fn of(plan: &Plan) -> PlanSketch {
        PlanSketch {
            initial_domain: plan.initial_domain.clone(),
            planned: {
                let mut strings = Interner::default();
                plan.changes
                    .iter()
                    .map(|c| Planned::of_shared(c, &mut strings))
                    .collect()
            },
            blocked: blocked(plan),
        }
    }
}

/// The flags' objects and rules.
pub fn blocked(plan: &Plan) -> Vec<(String, String)> {
    plan.flags
        .iter()
        .map(|f| (f.target.id.clone(), f.rule.clone()))
        .collect()
}

/// Where one change stands in this session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeState {
    Planned,
    Applying,
    Applied,
    /// Refused by the service, or its state unknown: the executor's words (Microsoft's
    /// message and request id).
    Failed(String),
    /// Not sent: read-only mode.
    Refused,
    Undoing,
    Undone,
}

impl ChangeState {
    /// May `a` send it?
    fn to_apply(&self) -> bool {
        matches!(
            self,
            ChangeState::Planned | ChangeState::Refused | ChangeState::Undone
        )
    }
}

/// A planned change and its state, as the workbench lends them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Item<'a> {
    pub planned: &'a Planned,
    pub state: &'a ChangeState,
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    Apply,
    Retry,
    Undo,
}

impl RunKind {
    pub fn verb(self) -> &'static str {
        match self {
            RunKind::Apply => "apply",
            RunKind::Retry => "retry",
            RunKind::Undo => "undo",
        }
    }
}

/// A modal dialog over the dashboard.
#[derive(Debug, Clone, PartialEq)]
pub enum Dialog {
    /// `p`: the exact changes of the selection, one line each.
    Preview {
        title: String,
        lines: Vec<String>,
        scroll: usize,
    },
    /// `a`, `r`, `u`: what will be sent, and Enter to send it.
    Confirm(Confirm),
}

/// Which workbench a selection, a dialog or a run belongs to: the Users pane's release plan
/// or a tenant's access plan on the Connections pane. Each is a [`Workbench`]; the dashboard
/// has one dialog and one run at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bench {
    #[default]
    Users,
    Connections(super::state::TenantId),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Confirm {
    pub kind: RunKind,
    /// The workbench whose rows the run's results go to.
    pub bench: Bench,
    /// What the executor gets, prerequisites included, in plan order.
    pub changes: Vec<Change>,
    /// Undo: each inverse's id → the id of the change it undoes.
    pub undoes: HashMap<String, String>,
    pub objects: usize,
    /// A bulk change (more than one object): the admin types the domain to confirm it.
    pub typed: Option<String>,
    pub lines: Vec<String>,
}

impl Confirm {
    /// Does what was typed allow Enter to send it?
    pub fn ready(&self, domain: &str) -> bool {
        self.typed
            .as_deref()
            .is_none_or(|t| t.trim().eq_ignore_ascii_case(domain))
    }
}

/// The run under way or the last one.
#[derive(Debug, Clone, PartialEq)]
pub struct Run {
    pub kind: RunKind,
    pub read_only: bool,
    pub total: usize,
    pub applied: usize,
    pub failed: usize,
    /// Not sent: read-only mode (not failures: `r` has nothing to retry).
    pub refused: usize,
    pub started: OffsetDateTime,
    pub ended: Option<OffsetDateTime>,
    /// Why the run stopped early, if it did.
    pub error: Option<String>,
    /// Undo: each inverse's id → the id of the change it undoes.
    pub undoes: HashMap<String, String>,
}

impl Run {
    pub fn settled(&self) -> usize {
        self.applied + self.failed + self.refused
    }

    pub fn left(&self) -> usize {
        self.total.saturating_sub(self.settled())
    }

    /// Changes settled per second so far (`None` before the first).
    pub fn rate(&self, now: OffsetDateTime) -> Option<f64> {
        let secs = (self.ended.unwrap_or(now) - self.started).as_seconds_f64();
        (self.settled() > 0 && secs > 0.0).then(|| self.settled() as f64 / secs)
    }

    /// Seconds left at the rate so far.
    pub fn eta(&self, now: OffsetDateTime) -> Option<f64> {
        self.rate(now)
            .filter(|r| *r > 0.0)
            .map(|r| self.left() as f64 / r)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Workbench {
    /// The changes in plan order (the order runs send them in): the latest plan's, moved in
    /// as the poller made them (a 220,000-change plan is not copied into a map), then every
    /// change this session touched that the plan no longer has (kept after the object no
    /// longer holds the domain), in their old order.
    planned: Vec<Planned>,
    /// Change id → its place in `planned`.
    index: HashMap<u64, u32>,
    /// Change id → its state, for the changes this session touched; the others are planned.
    states: HashMap<u64, ChangeState>,
    /// Object id → where its changes start in `grouped`, and how many.
    by_target: HashMap<Arc<str>, (u32, u32)>,
    /// Places in `planned` grouped by object, each object's in plan order: one list for every
    /// object rather than a list each (100,000 of them).
    grouped: Vec<u32>,
    /// Object id → the rule that keeps cutover from changing it (the plan's flag).
    blocked: HashMap<String, String>,
    /// The domain-wide changes of the plan (default domain, removal), in plan order: not an
    /// object's row; `cutover apply` of the release plan makes them.
    pub domain_level: Vec<u64>,
    pub initial_domain: Option<String>,
    /// Why the last planning failed, if it did.
    pub plan_error: Option<String>,
    pub planned_at: Option<OffsetDateTime>,
    /// Selected objects (ids).
    pub selected: HashSet<String>,
    /// Where `V` starts: the object last toggled with Space.
    pub anchor: Option<String>,
    pub dialog: Option<Dialog>,
    pub run: Option<Run>,
    /// `R`: every run sends nothing (the executor refuses and journals each change).
    pub read_only: bool,
}

/// One object's row in the workbench.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowWork {
    pub planned: String,
    pub state: RowState,
}

/// An object's state, from its changes'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowState {
    None,
    Planned,
    Applying,
    /// n of m applied (some still planned).
    Partly(usize, usize),
    Applied,
    Failed(String),
    Refused,
    Undone,
    Blocked(String),
}

impl RowState {
    pub fn text(&self) -> String {
        match self {
            RowState::None => String::new(),
            RowState::Planned => "planned".into(),
            RowState::Applying => "applying…".into(),
            RowState::Partly(n, m) => format!("{n} of {m} applied"),
            RowState::Applied => "applied".into(),
            RowState::Failed(why) => format!("failed: {why}"),
            RowState::Refused => "not sent: read-only".into(),
            RowState::Undone => "undone".into(),
            RowState::Blocked(rule) => format!("blocked: {rule}"),
        }
    }
}

impl Workbench {
    /// A new release plan arrived: its changes become the planned ones. States this session
    /// gave stay (a change the plan no longer needs is kept only if it was touched).
    pub fn replan(&mut self, plan: PlanSketch, at: OffsetDateTime) {
        self.plan_error = None;
        self.planned_at = Some(at);
        self.initial_domain = Some(plan.initial_domain.clone());
        let old = std::mem::replace(&mut self.planned, plan.planned);
        self.index.clear();
        self.index.reserve(self.planned.len());
        for (i, p) in self.planned.iter().enumerate() {
            self.index.insert(p.id, place(i));
        }
        // Every change with a state is kept (states only ever name kept changes).
        for p in old {
            if !self.index.contains_key(&p.id) && self.states.contains_key(&p.id) {
                self.index.insert(p.id, place(self.planned.len()));
                self.planned.push(p);
            }
        }
        self.by_target.clear();
        self.domain_level.clear();
        // Count each object's changes, give each object its run of `grouped`, then fill the
        // runs in plan order.
        for p in &self.planned {
            if p.domain_level() {
                self.domain_level.push(p.id);
            } else {
                self.by_target.entry(p.target.clone()).or_insert((0, 0)).1 += 1;
            }
        }
        let mut next = 0;
        for (start, len) in self.by_target.values_mut() {
            (*start, next) = (next, next + *len);
            *len = 0;
        }
        self.grouped.clear();
        self.grouped.resize(next as usize, 0);
        for (i, p) in self.planned.iter().enumerate() {
            if p.domain_level() {
                continue;
            }
            if let Some((start, len)) = self.by_target.get_mut(&*p.target) {
                if let Some(slot) = self.grouped.get_mut((*start + *len) as usize) {
                    *slot = place(i);
                }
                *len += 1;
            }
        }
        self.blocked = plan.blocked.into_iter().collect();
    }

    /// Does this session hold a state for the object beyond "planned" (its row stays even
    /// when it no longer holds the domain)?
    pub fn touched(&self, object: &str) -> bool {
        self.changes_of(object)
            .any(|i| *i.state != ChangeState::Planned)
    }

    fn changes_of<'a>(&'a self, object: &str) -> impl Iterator<Item = Item<'a>> + 'a {
        self.ids_of(object).filter_map(|id| self.get(id))
    }

    /// The object's change ids, in plan order.
    fn ids_of<'a>(&'a self, object: &str) -> impl Iterator<Item = u64> + 'a {
        let (start, len) = self.by_target.get(object).copied().unwrap_or_default();
        self.grouped
            .get(start as usize..(start + len) as usize)
            .unwrap_or_default()
            .iter()
            .filter_map(|i| self.planned.get(*i as usize))
            .map(|p| p.id)
    }

    /// A change and its state.
    fn get(&self, id: u64) -> Option<Item<'_>> {
        let planned = self.planned.get(*self.index.get(&id)? as usize)?;
        let state = self.states.get(&id).unwrap_or(&PLANNED);
        Some(Item { planned, state })
    }

    /// Give a change a state (planned: no state kept).
    fn set_state(&mut self, id: u64, state: ChangeState) {
        if !self.index.contains_key(&id) {
            return;
        }
        if state == ChangeState::Planned {
            self.states.remove(&id);
        } else {
            self.states.insert(id, state);
        }
    }

    /// The object's planned changes in short (`UPN → …@initial, remove 2 aliases`) and state.
    pub fn row(&self, object: &str) -> RowWork {
        let items: Vec<Item> = self.changes_of(object).collect();
        let planned = items
            .iter()
            .map(|i| short(i.planned, self.initial_domain.as_deref()))
            .collect::<Vec<_>>()
            .join(", ");
        let state = if items.is_empty() {
            match self.blocked.get(object) {
                Some(rule) => RowState::Blocked(rule.clone()),
                None => RowState::None,
            }
        } else if items
            .iter()
            .any(|i| matches!(i.state, ChangeState::Applying | ChangeState::Undoing))
        {
            RowState::Applying
        } else if let Some(why) = items.iter().find_map(|i| match &i.state {
            ChangeState::Failed(w) => Some(w.clone()),
            _ => None,
        }) {
            RowState::Failed(why)
        } else if items.iter().any(|i| *i.state == ChangeState::Refused) {
            RowState::Refused
        } else if items.iter().any(|i| *i.state == ChangeState::Undone) {
            RowState::Undone
        } else {
            let applied = items
                .iter()
                .filter(|i| *i.state == ChangeState::Applied)
                .count();
            match applied {
                0 => RowState::Planned,
                n if n == items.len() => RowState::Applied,
                n => RowState::Partly(n, items.len()),
            }
        };
        let planned = match (&state, planned.is_empty()) {
            (RowState::Blocked(_), true) => "— (a person changes it)".to_string(),
            _ => planned,
        };
        RowWork { planned, state }
    }

    /// The exact changes of `objects`, one line each, for the preview.
    pub fn preview(&self, objects: &[String]) -> Vec<String> {
        let mut lines = Vec::new();
        for o in objects {
            let items: Vec<Item> = self.changes_of(o).collect();
            if items.is_empty() {
                if let Some(rule) = self.blocked.get(o) {
                    lines.push(format!("{o}: blocked: {rule}"));
                }
                continue;
            }
            for i in items {
                lines.push(format!(
                    "{}  {}  [{}]",
                    i.planned.display,
                    crate::plan::release::describe(&i.planned.change()),
                    state_word(i.state)
                ));
            }
        }
        lines
    }

    /// The changes `a` sends for `objects`: those not yet in effect, with any prerequisite
    /// not yet applied, in plan order.
    pub fn to_apply(&self, objects: &[String]) -> Vec<Change> {
        let wanted: HashSet<u64> = objects
            .iter()
            .flat_map(|o| self.ids_of(o))
            .filter(|id| self.get(*id).is_some_and(|i| i.state.to_apply()))
            .collect();
        self.with_prerequisites(wanted)
    }

    /// The domain-level changes not yet in effect (default domain, removal), with any
    /// prerequisite not yet applied, in plan order: what releases the domain once the
    /// objects are done.
    pub fn domain_changes(&self) -> Vec<Change> {
        let wanted: HashSet<u64> = self
            .domain_level
            .iter()
            .copied()
            .filter(|id| self.get(*id).is_some_and(|i| i.state.to_apply()))
            .collect();
        self.with_prerequisites(wanted)
    }

    /// Every failed change (`r`), with its prerequisites not yet applied.
    pub fn to_retry(&self) -> Vec<Change> {
        let wanted: HashSet<u64> = self
            .states
            .iter()
            .filter(|(_, s)| matches!(s, ChangeState::Failed(_)))
            .map(|(id, _)| *id)
            .collect();
        self.with_prerequisites(wanted)
    }

    /// Ids of the applied changes of `objects` (`u`), in plan order.
    pub fn applied_of(&self, objects: &[String]) -> Vec<String> {
        let of: HashSet<u64> = objects.iter().flat_map(|o| self.ids_of(o)).collect();
        self.planned
            .iter()
            .filter(|p| of.contains(&p.id))
            .filter(|p| self.states.get(&p.id) == Some(&ChangeState::Applied))
            .map(|p| p.change().id)
            .collect()
    }

    /// Which applied change an inverse undoes: the same object and field, its values swapped.
    pub fn undoes(&self, inverses: &[Change], ids: &[String]) -> HashMap<String, String> {
        inverses
            .iter()
            .filter_map(|inv| {
                ids.iter()
                    .find(|id| {
                        self.get(key(id)).is_some_and(|i| {
                            let c = i.planned.change();
                            c.target.id == inv.target.id
                                && c.field == inv.field
                                && c.after == inv.before
                        })
                    })
                    .map(|id| (inv.id.clone(), id.clone()))
            })
            .collect()
    }

    fn with_prerequisites(&self, wanted: HashSet<u64>) -> Vec<Change> {
        let mut take: HashSet<u64> = HashSet::new();
        let mut stack: Vec<u64> = wanted.into_iter().collect();
        while let Some(id) = stack.pop() {
            if !take.insert(id) {
                continue;
            }
            if let Some(item) = self.get(id) {
                for p in &item.planned.prerequisites {
                    let done = self
                        .get(*p)
                        .is_none_or(|i| *i.state == ChangeState::Applied);
                    if !done {
                        stack.push(*p);
                    }
                }
            }
        }
        self.planned
            .iter()
            .filter(|p| take.contains(&p.id))
            .map(|p| {
                let mut c = p.change();
                // A prerequisite already applied is not sent again: the run need not hold it.
                c.prerequisites.retain(|p| take.contains(&key(p)));
                c
            })
            .collect()
    }

    /// A run starts: its changes are under way.
    pub fn start(&mut self, run: Run, changes: &[Change]) {
        for c in changes {
            let id = run.undoes.get(&c.id).unwrap_or(&c.id);
            let state = match run.kind {
                RunKind::Undo => ChangeState::Undoing,
                _ => ChangeState::Applying,
            };
            self.set_state(key(id), state);
        }
        self.run = Some(run);
    }

    /// One change of the run settled.
    pub fn settled(&mut self, result: &ChangeResult) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let undo = run.kind == RunKind::Undo;
        let id = key(run.undoes.get(&result.id).unwrap_or(&result.id));
        let state = match &result.status {
            Status::Applied | Status::Reconciled | Status::AlreadyDone if undo => {
                ChangeState::Undone
            }
            Status::Applied | Status::Reconciled | Status::AlreadyDone => ChangeState::Applied,
            Status::Refused => ChangeState::Refused,
            // The executor's words begin "failed: " already; the row adds its own.
            Status::Skipped(why) | Status::Failed(why) => {
                ChangeState::Failed(why.strip_prefix("failed: ").unwrap_or(why).to_string())
            }
        };
        match state {
            ChangeState::Applied | ChangeState::Undone => run.applied += 1,
            ChangeState::Refused => run.refused += 1,
            _ => run.failed += 1,
        }
        // An undo that failed leaves the change applied (the journal says so); its row shows
        // the failure until the next run.
        let state = match (undo, state) {
            (true, ChangeState::Refused) => ChangeState::Applied,
            (_, s) => s,
        };
        self.set_state(id, state);
    }

    /// The run ended (`error`: it stopped early). What it left under way goes back to what it
    /// was not: planned (or applied, for an undo), with the reason when there is one.
    pub fn ended(&mut self, at: OffsetDateTime, error: Option<String>) {
        self.states.retain(|_, state| {
            *state = match (&*state, &error) {
                (ChangeState::Applying, Some(e)) => ChangeState::Failed(e.clone()),
                (ChangeState::Applying, None) => ChangeState::Planned,
                (ChangeState::Undoing, _) => ChangeState::Applied,
                (s, _) => s.clone(),
            };
            *state != ChangeState::Planned
        });
        if let Some(run) = self.run.as_mut() {
            run.ended = Some(at);
            run.error = error;
        }
    }

    pub fn running(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.ended.is_none())
    }

    /// Changes per state, for the pane's summary line.
    pub fn counts(&self) -> (usize, usize, usize) {
        // Every object change counts as planned but those with a state saying otherwise.
        let (mut planned, mut applied, mut failed) =
            (self.planned.len() - self.domain_level.len(), 0, 0);
        for (id, state) in &self.states {
            if self.get(*id).is_none_or(|i| i.planned.domain_level()) {
                continue;
            }
            match state {
                ChangeState::Applied => applied += 1,
                ChangeState::Failed(_) => failed += 1,
                _ => {}
            }
            if !state.to_apply() {
                planned -= 1;
            }
        }
        (planned, applied, failed)
    }
}

/// The state of a change no run has touched.
static PLANNED: ChangeState = ChangeState::Planned;

/// A place in the workbench's changes (a plan has far fewer than 4 billion).
fn place(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

fn is_domain_level(c: &Change) -> bool {
    c.field == FIELD_DOMAIN || c.field == FIELD_DEFAULT_DOMAIN || c.tenant == "dns"
}

fn state_word(s: &ChangeState) -> String {
    match s {
        ChangeState::Planned => "planned".into(),
        ChangeState::Applying => "applying".into(),
        ChangeState::Applied => "applied".into(),
        ChangeState::Failed(w) => format!("failed: {w}"),
        ChangeState::Refused => "not sent: read-only".into(),
        ChangeState::Undoing => "undoing".into(),
        ChangeState::Undone => "undone".into(),
    }
}

/// One change in a few words for its row: a move to the same local part in the initial
/// domain reads `UPN → …@initial` (any other new name, e.g. after a collision, in full).
fn short(p: &Planned, initial: Option<&str>) -> String {
    let moved = |before: &str, after: &str| {
        let same_local = before
            .rsplit_once('@')
            .zip(after.rsplit_once('@'))
            .is_some_and(|((a, _), (b, host))| {
                a.eq_ignore_ascii_case(b) && initial.is_some_and(|i| host.eq_ignore_ascii_case(i))
            });
        if same_local {
            "…@initial".to_string()
        } else {
            after.to_string()
        }
    };
    let aliases = |n: usize| {
        if n == 1 {
            "remove 1 alias".to_string()
        } else {
            format!("remove {n} aliases")
        }
    };
    match &p.spec {
        Spec::Upn { from, to } => format!("UPN → {}", moved(from, to)),
        Spec::Primary { from, to, .. } => format!("primary → {}", moved(from, to)),
        Spec::RemoveAliases { addresses, .. } => aliases(addresses.len()),
        Spec::Uris { to, .. } => format!("URIs → {}", to.join(" ")),
        Spec::Whole(c) if c.field == FIELD_ADDRESSES => {
            let (gone, new) = address_moves(&c.before, &c.after);
            match (gone.len(), new.len()) {
                (0, n) if n > 0 => format!("add {n} alias{}", if n == 1 { "" } else { "es" }),
                (n, _) => aliases(n),
            }
        }
        // An access change (Connections pane) in `cutover plan access`'s words.
        Spec::Whole(c) if crate::access::action(c).is_some() => {
            crate::access::action(c).unwrap_or_default().to_string()
        }
        Spec::Whole(c) => format!(
            "{} → {}",
            c.field,
            c.after
                .as_str()
                .map_or_else(|| c.after.to_string(), str::to_string)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::change::Target;

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            version: 1,
            kind: "release".into(),
            tenant: "source".into(),
            domain: "contoso.example".into(),
            initial_domain: "contoso.onmicrosoft.com".into(),
            changes,
            renames: Vec::new(),
            flags: Vec::new(),
            notices: Vec::new(),
        }
    }

    fn user(id: &str) -> Vec<Change> {
        let upn = Change::set_upn(
            "source",
            id,
            id,
            &format!("{id}@contoso.example"),
            &format!("{id}@contoso.onmicrosoft.com"),
        );
        let mut aliases = Change::remove_addresses(
            "source",
            "Set-Mailbox",
            Target {
                id: id.into(),
                display: id.into(),
            },
            &[
                format!("smtp:{id}@contoso.example"),
                format!("smtp:x.{id}@contoso.example"),
            ],
        );
        aliases.prerequisites = vec![upn.id.clone()];
        vec![upn, aliases]
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH
    }

    #[test]
    fn rows_say_the_planned_changes_and_follow_their_results() {
        let mut w = Workbench::default();
        let changes = user("u1");
        w.replan(PlanSketch::of(&plan(changes.clone())), now());
        let row = w.row("u1");
        assert_eq!(row.planned, "UPN → …@initial, remove 2 aliases");
        assert_eq!(row.state, RowState::Planned);

        let send = w.to_apply(&["u1".to_string()]);
        assert_eq!(send.len(), 2);
        w.start(
            Run {
                kind: RunKind::Apply,
                read_only: false,
                total: 2,
                applied: 0,
                failed: 0,
                refused: 0,
                started: now(),
                ended: None,
                error: None,
                undoes: HashMap::new(),
            },
            &send,
        );
        assert_eq!(w.row("u1").state, RowState::Applying);
        w.settled(&ChangeResult {
            id: changes[0].id.clone(),
            status: Status::Applied,
            request_id: None,
        });
        w.settled(&ChangeResult {
            id: changes[1].id.clone(),
            status: Status::Failed("Exchange refused it".into()),
            request_id: None,
        });
        w.ended(now(), None);
        assert_eq!(
            w.row("u1").state,
            RowState::Failed("Exchange refused it".into())
        );
        // The retry sends the failed one alone: its prerequisite is applied.
        let retry = w.to_retry();
        assert_eq!(retry.len(), 1);
        assert!(retry[0].prerequisites.is_empty());
        // A new plan without the applied UPN change keeps the session's states.
        w.replan(PlanSketch::of(&plan(vec![changes[1].clone()])), now());
        assert!(w.touched("u1"));
        assert_eq!(
            w.row("u1").state,
            RowState::Failed("Exchange refused it".into())
        );
        assert_eq!(
            w.applied_of(&["u1".to_string()]),
            vec![changes[0].id.clone()]
        );
    }

    #[test]
    fn the_compact_form_gives_back_the_exact_change() {
        let target = || Target {
            id: "o1".into(),
            display: "Zoë Ødegård".into(),
        };
        let mut primary = Change::set_primary(
            "source",
            "Set-DistributionGroup",
            target(),
            "sales@contoso.example",
            "sales@contoso.onmicrosoft.com",
        );
        primary.prerequisites = vec!["0123456789abcdef".into()];
        // An id that is not 16 hex digits cannot be a number: that change is kept whole, and
        // still given back exactly.
        let mut odd = primary.clone();
        odd.prerequisites = vec!["abc".into()];
        let p = Planned::of(&odd);
        assert!(matches!(p.spec, Spec::Whole(_)));
        assert_eq!(p.change(), odd);
        let changes = [
            user("u9").remove(0),
            user("u9").remove(1),
            primary,
            Change::set_identifier_uris(
                "source",
                "a1",
                "App",
                &["https://app.contoso.example".into()],
                &["api://00000000-0000-0000-0000-000000000001".into()],
            ),
            Change::remove_domain("source", "contoso.example"),
        ];
        for c in &changes {
            let p = Planned::of(c);
            assert_eq!(p.change(), *c, "{}", c.field);
            let whole = matches!(p.spec, Spec::Whole(_));
            // Only the domain-wide change is kept whole: the others are what a tenant has
            // 100,000 of.
            assert_eq!(whole, c.field == FIELD_DOMAIN, "{}", c.field);
        }
    }

    #[test]
    fn a_selection_brings_its_unapplied_prerequisites() {
        let mut w = Workbench::default();
        let changes = user("u2");
        w.replan(PlanSketch::of(&plan(changes.clone())), now());
        // Mark only the aliases as wanted: the UPN change comes along.
        let ids: HashSet<u64> = [key(&changes[1].id)].into_iter().collect();
        let send = w.with_prerequisites(ids);
        assert_eq!(
            send.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
            vec![changes[0].id.clone(), changes[1].id.clone()]
        );
    }
}
