//! The backout plan: the inverses of what the journal says was applied, newest first.
//!
//! Only the journal is read: every applied change has an `intent` (tenant, target, field in the
//! action, before/after, `details.change`, `details.route`, `details.rule`) and an `ok`
//! outcome. A change later undone by its exact inverse (a backout or `cutover undo` already
//! applied) cancels out, so planning again after a backout gives an empty plan.
//!
//! Order: what was applied after X is undone before X's inverse. Within one object (tenant and
//! target) each inverse waits for the inverse of the next newer change to that object; a
//! domain-wide change (the domain's removal or default) waits for the inverses of everything
//! applied after it. A change with no inverse (a domain removal) is not dropped: it becomes a
//! flag naming the rule and the steps that bring the domain back.

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};

use super::change::{
    Change, FIELD_ADDRESSES, FIELD_APP_ROLE, FIELD_CONNECTOR, FIELD_DEFAULT_DOMAIN, FIELD_DKIM,
    FIELD_DKIM_CONFIG, FIELD_DOMAIN, FIELD_DOMAIN_ADDED, FIELD_DOMAIN_VERIFIED, FIELD_GRANT,
    FIELD_IDENTIFIER_URIS, FIELD_PRIMARY, FIELD_RRSET, FIELD_SERVICE_PRINCIPAL, FIELD_UPN, Inverse,
    NO_INVERSE_DOMAIN_REMOVAL, Route, RrSet, Target, change_id, string_list,
};
use super::release::{Flag, PLAN_VERSION, Plan};
use crate::audit::{Kind, Record};

/// The plan's `kind`.
pub const KIND: &str = "backout";

/// One change the journal shows applied, as its intent described it.
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    /// The change's id (`details.change`).
    pub id: String,
    pub tenant: String,
    pub target: Target,
    pub field: String,
    pub before: Value,
    pub after: Value,
    pub route: Route,
    pub rule: String,
    /// Journal line of its `ok` outcome: when it took effect, as far as cutover knows.
    pub seq: u64,
}

impl Applied {
    fn object(&self) -> (String, String) {
        (self.tenant.clone(), self.target.id.to_ascii_lowercase())
    }

    /// `later` puts back exactly what `self` changed.
    fn undone_by(&self, later: &Applied) -> bool {
        // A default-domain change targets the domain made default, so its inverse targets the
        // other one: the tenant's one default is the object, not the target.
        let same_object = self.field == FIELD_DEFAULT_DOMAIN
            || self.target.id.eq_ignore_ascii_case(&later.target.id);
        self.tenant == later.tenant
            && same_object
            && self.field == later.field
            && self.before == later.after
            && self.after == later.before
    }
}

/// What the journal says about the changes: those applied (in the order their `ok` outcomes
/// were written) and the ids of intents still without an `ok` outcome (state unknown until
/// `cutover apply --resume` settles them).
#[derive(Debug, Default)]
pub struct History {
    pub applied: Vec<Applied>,
    pub unsettled: Vec<Applied>,
}

/// Read the applied changes out of a journal's records.
pub fn history(records: &[Record]) -> History {
    let mut intents: HashMap<String, Applied> = HashMap::new();
    let mut open: Vec<String> = Vec::new();
    let mut applied = Vec::new();
    for r in records {
        let e = &r.event;
        let Some(id) = e.details.get("change").and_then(Value::as_str) else {
            continue;
        };
        match e.kind {
            Kind::Intent => {
                if let Some(a) = from_intent(r, id) {
                    intents.insert(id.to_string(), a);
                    if !open.iter().any(|o| o == id) {
                        open.push(id.to_string());
                    }
                }
            }
            Kind::Outcome if e.result.as_deref() == Some("ok") => {
                open.retain(|o| o != id);
                if let Some(a) = intents.get(id) {
                    applied.push(Applied {
                        seq: r.seq,
                        ..a.clone()
                    });
                }
            }
            _ => {}
        }
    }
    let unsettled = open
        .iter()
        .filter_map(|id| intents.get(id).cloned())
        .collect();
    History { applied, unsettled }
}

/// The change an intent line describes; `None` for an intent without a route (not written by
/// the executor).
fn from_intent(r: &Record, id: &str) -> Option<Applied> {
    let e = &r.event;
    let route: Route = serde_json::from_value(e.details.get("route")?.clone()).ok()?;
    // The action is "<field> via <route>", as the executor writes it.
    let field = e.action.split_once(" via ").map(|(f, _)| f.to_string())?;
    let target_id = e.target.clone()?;
    let display = e
        .details
        .get("display")
        .and_then(Value::as_str)
        .unwrap_or(&target_id)
        .to_string();
    Some(Applied {
        id: id.to_string(),
        tenant: e.tenant.clone()?,
        target: Target {
            id: target_id,
            display,
        },
        field,
        before: e.before.clone().unwrap_or(Value::Null),
        after: e.after.clone().unwrap_or(Value::Null),
        route,
        rule: e
            .details
            .get("rule")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        seq: r.seq,
    })
}

/// What is still in effect: applied changes minus those a later exact inverse undid.
pub fn in_effect(applied: &[Applied]) -> Vec<Applied> {
    net(applied).in_effect
}

/// What the journal's applied changes come to: those still in effect (in the order applied),
/// whether the newest one undid an earlier one, and whether the domain changed hands (the
/// source's removal or the destination's add applied, not undone at the time).
#[derive(Debug, Default)]
pub struct Net {
    pub in_effect: Vec<Applied>,
    pub last_undid: bool,
    pub handed_over: bool,
}

/// One pass keyed by (tenant, object, field): an exact inverse of the same object and field
/// cancels the newest change it reverses. A domain's presence moves through three fields:
/// removed (`domain`), added (`domainAdded`), verified (`domainVerified`). A removal cancels the
/// add and verification before it (the tenant is as before them); an add after a removal waits
/// for its verification, which cancels the removal (the domain is back as it was). The
/// dashboard runs this whenever the journal gains a change, and a release can hold 100,000.
pub fn net(applied: &[Applied]) -> Net {
    type Key = (String, String, String);
    let key = |a: &Applied, field: &str| -> Key {
        // A tenant has one default: the inverse of a default change targets the other domain.
        let target = if field == FIELD_DEFAULT_DOMAIN {
            String::new()
        } else {
            a.target.id.to_ascii_lowercase()
        };
        (a.tenant.clone(), target, field.to_string())
    };
    // Per key, the indices into `applied` still in effect, oldest first.
    let mut live: HashMap<Key, Vec<usize>> = HashMap::new();
    let mut out = Net::default();
    for (i, a) in applied.iter().enumerate() {
        let has = |live: &HashMap<Key, Vec<usize>>, field: &str| {
            live.get(&key(a, field)).is_some_and(|v| !v.is_empty())
        };
        match a.field.as_str() {
            FIELD_DOMAIN => {
                let added = live.remove(&key(a, FIELD_DOMAIN_ADDED)).unwrap_or_default();
                let verified = live
                    .remove(&key(a, FIELD_DOMAIN_VERIFIED))
                    .unwrap_or_default();
                out.last_undid = !added.is_empty() || !verified.is_empty();
                if !out.last_undid {
                    live.entry(key(a, FIELD_DOMAIN)).or_default().push(i);
                    out.handed_over |= a.tenant == "source";
                }
                continue;
            }
            FIELD_DOMAIN_ADDED if has(&live, FIELD_DOMAIN) => {
                out.last_undid = true;
                continue;
            }
            FIELD_DOMAIN_VERIFIED if has(&live, FIELD_DOMAIN) => {
                live.remove(&key(a, FIELD_DOMAIN));
                out.last_undid = true;
                continue;
            }
            FIELD_DOMAIN_ADDED => out.handed_over |= a.tenant == "destination",
            _ => {}
        }
        let stack = live.entry(key(a, &a.field)).or_default();
        match stack.iter().rposition(|&j| applied[j].undone_by(a)) {
            Some(at) => {
                stack.remove(at);
                out.last_undid = true;
            }
            None => {
                stack.push(i);
                out.last_undid = false;
            }
        }
    }
    let mut left: Vec<usize> = live.into_values().flatten().collect();
    left.sort_unstable();
    out.in_effect = left.into_iter().map(|i| applied[i].clone()).collect();
    out
}

/// The change that puts `a.before` back, or why there is none (with what to do instead).
pub fn inverse_of(a: &Applied) -> Result<Change, Flag> {
    let no = |rule: &str, action: String| Flag {
        target: a.target.clone(),
        kind: a.field.clone(),
        rule: rule.to_string(),
        action,
    };
    let text = |v: &Value| v.as_str().map(str::to_string);
    let mut c = match (a.field.as_str(), &a.route) {
        (FIELD_ADDRESSES, Route::Exchange { cmdlet, params }) => {
            // Undo puts back what the change removed and takes what it added.
            let (add, remove) = crate::plan::change::address_moves(&a.before, &a.after);
            let identity = params
                .get("Identity")
                .cloned()
                .unwrap_or_else(|| json!(a.target.id));
            let table = |add: &[String], remove: &[String]| json!({"Identity": identity, "EmailAddresses": crate::exchange::ops::hashtable(add, remove)});
            Change {
                id: String::new(),
                tenant: a.tenant.clone(),
                target: a.target.clone(),
                field: a.field.clone(),
                before: a.after.clone(),
                after: a.before.clone(),
                route: Route::Exchange {
                    cmdlet: cmdlet.clone(),
                    params: table(&add, &remove),
                },
                inverse: Inverse::Apply {
                    route: Route::Exchange {
                        cmdlet: cmdlet.clone(),
                        params: table(&remove, &add),
                    },
                },
                prerequisites: Vec::new(),
                rule: String::new(),
            }
        }
        (FIELD_UPN, Route::Graph { .. }) => match (text(&a.before), text(&a.after)) {
            (Some(old), Some(new)) => {
                Change::set_upn(&a.tenant, &a.target.id, &a.target.display, &new, &old)
            }
            _ => return Err(no("the journal's UPN values are not text", by_hand(a))),
        },
        (FIELD_PRIMARY, Route::Exchange { cmdlet, .. }) => {
            match (text(&a.before), text(&a.after)) {
                (Some(old), Some(new)) => {
                    Change::set_primary(&a.tenant, cmdlet, a.target.clone(), &new, &old)
                }
                _ => return Err(no("the journal's addresses are not text", by_hand(a))),
            }
        }
        (FIELD_IDENTIFIER_URIS, Route::Graph { .. }) => {
            let (old, new) = (string_list(&a.before), string_list(&a.after));
            Change::set_identifier_uris(&a.tenant, &a.target.id, &a.target.display, &new, &old)
        }
        (FIELD_DKIM, Route::Exchange { .. }) => match a.before.as_bool() {
            Some(before) => Change::set_dkim(&a.tenant, &a.target.id, before),
            None => return Err(no("the journal's DKIM state is not a boolean", by_hand(a))),
        },
        (FIELD_DKIM_CONFIG, Route::Exchange { .. }) => {
            if a.before.is_null() {
                Change::remove_dkim_config(&a.tenant, &a.target.id)
            } else {
                Change::new_dkim_config(&a.tenant, &a.target.id)
            }
        }
        // Verification is undone only by removing the domain (an add, by removing it too).
        (FIELD_DOMAIN_ADDED | FIELD_DOMAIN_VERIFIED, Route::Graph { .. }) => {
            Change::remove_domain(&a.tenant, &a.target.id)
        }
        (FIELD_DEFAULT_DOMAIN, Route::Graph { .. }) => match (text(&a.before), text(&a.after)) {
            (Some(previous), Some(domain)) => {
                Change::set_default_domain(&a.tenant, &previous, &domain)
            }
            _ => return Err(no("the journal's domain names are not text", by_hand(a))),
        },
        (
            FIELD_RRSET,
            Route::Dns {
                zone, name, rtype, ..
            },
        ) => {
            let set = |v: &Value| serde_json::from_value::<RrSet>(v.clone()).ok();
            match (set(&a.before), set(&a.after)) {
                (Some(before), Some(after)) => {
                    Change::set_rrset(zone, name, rtype, &after, &before, &a.rule)
                }
                _ => return Err(no("the journal's record sets are unreadable", by_hand(a))),
            }
        }
        (FIELD_GRANT, Route::Graph { .. }) => {
            if a.after.is_null() {
                Change::restore_grant(&a.tenant, &a.target.display, &a.before)
            } else {
                Change::revoke_grant(&a.tenant, &a.target.display, &a.after)
            }
        }
        (FIELD_APP_ROLE, Route::Graph { .. }) if a.after.is_null() => {
            Change::restore_app_role(&a.tenant, &a.target.display, &a.before)
        }
        (FIELD_APP_ROLE, Route::Graph { .. }) => {
            return Err(no(
                "an application permission put back has a new id, which only Microsoft's answer named",
                "remove it again from 'cutover plan access'".to_string(),
            ));
        }
        (FIELD_SERVICE_PRINCIPAL, Route::Graph { .. }) => {
            if a.after.is_null() {
                Change::restore_service_principal(&a.tenant, &a.before)
            } else {
                Change::delete_service_principal(&a.tenant, &a.after)
            }
        }
        (FIELD_CONNECTOR, Route::Exchange { .. }) => {
            if a.after.is_null() {
                Change::new_connector(&a.tenant, &a.before)
            } else {
                Change::remove_connector(&a.tenant, &a.after)
            }
        }
        (FIELD_DOMAIN, _) => {
            let domain = &a.target.id;
            return Err(no(
                NO_INVERSE_DOMAIN_REMOVAL,
                format!(
                    "bring {domain} back in the {tenant} tenant (an adopt there), before the rest of this plan (a UPN or address in it is refused while the domain is not verified): 1. POST /v1.0/domains {{\"id\": \"{domain}\"}}; 2. read its MS= TXT value with GET /v1.0/domains/{domain}/verificationDnsRecords and publish it at {domain}; 3. wait until every authoritative server of {domain} serves it; 4. POST /v1.0/domains/{domain}/verify; then apply this plan",
                    tenant = a.tenant
                ),
            ));
        }
        _ => {
            return Err(no(
                "cutover cannot build the inverse of this change",
                by_hand(a),
            ));
        }
    };
    // A new id: the same inverse may have been applied in an earlier backout (release,
    // backout, release again), and the executor would take that as done. Stable for this
    // journal, so a resumed backout finds its own lines.
    salt(&mut c, a);
    c.rule = format!(
        "Backs out change {} (journal line {}): {}",
        a.id, a.seq, a.rule
    );
    Ok(c)
}

/// A new id for a change made to back out `a`: salted with `a`'s id and journal line.
fn salt(c: &mut Change, a: &Applied) {
    let base = change_id(&c.tenant, &c.target.id, &c.field, &c.before, &c.after);
    let salted = format!("backout\0{}\0{}\0{base}", a.id, a.seq);
    c.id = crate::audit::sha256_hex(salted.as_bytes())
        .chars()
        .take(16)
        .collect();
}

fn by_hand(a: &Applied) -> String {
    format!(
        "set {} of {} back from {} to {} by hand (change {})",
        a.field, a.target.display, a.after, a.before, a.id
    )
}

/// Changes whose inverse must wait for the inverses of everything applied after them.
fn domain_wide(field: &str) -> bool {
    [
        FIELD_DOMAIN,
        FIELD_DEFAULT_DOMAIN,
        FIELD_DOMAIN_ADDED,
        FIELD_DOMAIN_VERIFIED,
    ]
    .contains(&field)
}

/// The way back from a domain removal `a`, in its tenant, after `later` (the inverses of
/// everything applied after it): wait until every other tenant this plan removes the domain
/// from has released it (Microsoft refuses the add while another tenant has it), add it,
/// verify it. The verification TXT is the one the tenant was verified with: the inverses of
/// the zone's changes (`later`) put the apex TXT set back as it was, and Microsoft names the
/// same `MS=ms…` value for the same tenant and domain again (if it names another, the verify
/// fails naming it: publish it and `cutover apply --resume`).
fn domain_back(a: &Applied, changes: &[Change], later: &[String]) -> Vec<Change> {
    let domain = &a.target.id;
    let mut out = Vec::new();
    let mut add_after: Vec<String> = later.to_vec();
    for other in changes.iter().filter(|c| {
        c.field == FIELD_DOMAIN && c.tenant != a.tenant && c.target.id.eq_ignore_ascii_case(domain)
    }) {
        let mut wait = Change::await_release(&other.tenant, domain);
        salt(&mut wait, a);
        wait.prerequisites = vec![other.id.clone()];
        add_after.push(wait.id.clone());
        out.push(wait);
    }
    let rule = |what: &str| format!("Backs out change {} (journal line {}): {what}", a.id, a.seq);
    let mut add = Change::add_domain(&a.tenant, domain);
    salt(&mut add, a);
    add.rule = rule(&add.rule);
    add.prerequisites = add_after;
    let mut verify = Change::verify_domain(&a.tenant, domain);
    salt(&mut verify, a);
    verify.rule = rule(&verify.rule);
    verify.prerequisites = vec![add.id.clone()];
    out.push(add);
    out.push(verify);
    out
}

/// The backout plan for `domain` from the journal's records.
pub fn backout_plan(domain: &str, records: &[Record]) -> Plan {
    let History { applied, unsettled } = history(records);
    inverses(domain, KIND, &in_effect(&applied), &unsettled)
}

/// `cutover undo`: the inverses of the changes `ids` from the journal's recorded
/// before-values, newest first, as a plan of kind `undo`. Refused, with a one-line reason,
/// for an id the journal does not have, one never applied, one already undone, or one with no
/// inverse (the reason recorded for it).
pub fn undo_plan(domain: &str, records: &[Record], ids: &[String]) -> Result<Plan, String> {
    let History { applied, unsettled } = history(records);
    let mut chosen: Vec<Applied> = Vec::new();
    for id in ids {
        let id = id.trim();
        // Its last application, unless a later change put its before-value back.
        let last = applied.iter().rposition(|a| a.id == id);
        match last {
            Some(i) => {
                let a = &applied[i];
                if applied.iter().skip(i + 1).any(|later| a.undone_by(later)) {
                    return Err(format!(
                        "change {id} was already undone (a later change put its before-value back); see 'cutover audit show'"
                    ));
                }
                inverse_of(a).map_err(|f| {
                    format!("change {id} cannot be undone: {}; {}", f.rule, f.action)
                })?;
                if !chosen.iter().any(|c| c.id == id) {
                    chosen.push(a.clone());
                }
            }
            None if unsettled.iter().any(|a| a.id == id) => {
                return Err(format!(
                    "change {id} has no ok outcome in the journal, so it is not known to be applied; run 'cutover apply --resume' to settle it first"
                ));
            }
            None => {
                return Err(format!(
                    "no change {id} was applied for {domain} (not in the journal); take ids from 'cutover plan backout' or 'cutover audit show'"
                ));
            }
        }
    }
    // The journal's order, so prerequisites come out as in a backout.
    chosen.sort_by_key(|a| a.seq);
    Ok(inverses(domain, "undo", &chosen, &[]))
}

fn inverses(domain: &str, kind: &str, net: &[Applied], unsettled: &[Applied]) -> Plan {
    let mut changes: Vec<Change> = Vec::new();
    let mut flags: Vec<Flag> = Vec::new();
    // Newest first; `made[j]` is the inverse's index in `changes` for `net[j]`.
    let mut made: HashMap<usize, usize> = HashMap::new();
    // Per tenant, the verification that brings back a domain removed after the change being
    // backed out: what was applied before the removal used the domain, so its inverse waits.
    let mut verified_again: HashMap<String, String> = HashMap::new();
    for (j, a) in net.iter().enumerate().rev() {
        if a.field == FIELD_DOMAIN_VERIFIED
            && net.iter().any(|n| {
                n.field == FIELD_DOMAIN_ADDED
                    && n.tenant == a.tenant
                    && n.target.id.eq_ignore_ascii_case(&a.target.id)
            })
        {
            // Removing the added domain (the add's inverse) undoes its verification.
            continue;
        }
        if a.field == FIELD_DOMAIN && kind == KIND {
            let later: Vec<String> = (j + 1..net.len())
                .filter_map(|k| made.get(&k).map(|&i| changes[i].id.clone()))
                .collect();
            let back = domain_back(a, &changes, &later);
            if let Some(v) = back.last() {
                verified_again.insert(a.tenant.clone(), v.id.clone());
                made.insert(j, changes.len() + back.len() - 1);
            }
            changes.extend(back);
            continue;
        }
        match inverse_of(a) {
            Ok(mut c) => {
                let mut prereqs: Vec<String> = Vec::new();
                let later = (j + 1..net.len()).filter_map(|k| made.get(&k).map(|&i| (k, i)));
                if domain_wide(&a.field) {
                    prereqs.extend(later.map(|(_, i)| changes[i].id.clone()));
                } else if let Some((_, i)) = later
                    .into_iter()
                    .find(|(k, _)| net[*k].object() == a.object())
                {
                    prereqs.push(changes[i].id.clone());
                }
                if let Some(v) = verified_again.get(&a.tenant) {
                    prereqs.push(v.clone());
                }
                let mut seen = HashSet::new();
                prereqs.retain(|p| seen.insert(p.clone()));
                c.prerequisites = prereqs;
                made.insert(j, changes.len());
                changes.push(c);
            }
            Err(flag) => flags.push(flag),
        }
    }
    for u in unsettled.iter() {
        flags.push(Flag {
            target: u.target.clone(),
            kind: u.field.clone(),
            rule: format!(
                "change {} was sent but the journal has no ok outcome for it: applied or not is unknown",
                u.id
            ),
            action: "run 'cutover apply --resume' to settle it against the live state, then plan the backout again".into(),
        });
    }
    let tenant = changes
        .iter()
        .map(|c| c.tenant.clone())
        .find(|t| t != super::change::DNS_TENANT)
        .unwrap_or_else(|| "source".to_string());
    Plan {
        version: PLAN_VERSION,
        kind: kind.to_string(),
        tenant,
        domain: domain.to_string(),
        initial_domain: String::new(),
        changes,
        renames: Vec::new(),
        notices: Vec::new(),
        flags,
    }
}

/// The plan as text for a change board.
pub fn render_text(plan: &Plan) -> String {
    let mut out = format!(
        "backout plan for {}: {} changes (newest first), {} flags\n",
        plan.domain,
        plan.changes.len(),
        plan.flags.len()
    );
    if !plan.changes.is_empty() {
        out.push_str("\nChanges cutover applies (cutover apply):\n");
    }
    for c in &plan.changes {
        let via = match &c.route {
            Route::Exchange { cmdlet, .. } => cmdlet.clone(),
            Route::Graph { method, path, .. } => format!("{method} {path}"),
            other => other.kind().to_string(),
        };
        let after = if c.prerequisites.is_empty() {
            String::new()
        } else {
            format!(" (after {})", c.prerequisites.join(", "))
        };
        out.push_str(&format!(
            "  {}  {} [{}]  {} {} -> {} via {via}{after}\n",
            c.id, c.target.display, c.tenant, c.field, c.before, c.after
        ));
    }
    if !plan.flags.is_empty() {
        out.push_str("\nFlags (cutover does not do these):\n");
    }
    for f in &plan.flags {
        out.push_str(&format!(
            "  {} ({}): {}. {}\n",
            f.target.display, f.kind, f.rule, f.action
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{Event, Journal};

    fn intent(j: &mut Journal, c: &Change) {
        let via = match &c.route {
            Route::Exchange { cmdlet, .. } => cmdlet.clone(),
            Route::Graph { method, path, .. } => format!("{method} {path}"),
            other => other.kind().to_string(),
        };
        j.append(
            Event::new(Kind::Intent, format!("{} via {via}", c.field))
                .tenant(&c.tenant)
                .target(&c.target.id)
                .change(c.before.clone(), c.after.clone())
                .details(json!({"change": c.id, "display": c.target.display, "route": c.route, "rule": c.rule})),
        )
        .unwrap();
    }

    fn outcome(j: &mut Journal, c: &Change, result: &str) {
        j.append(
            Event::new(Kind::Outcome, "applied")
                .tenant(&c.tenant)
                .target(&c.target.id)
                .details(json!({"change": c.id}))
                .result(result),
        )
        .unwrap();
    }

    fn target(id: &str) -> Target {
        Target {
            id: id.into(),
            display: id.into(),
        }
    }

    #[test]
    fn inverses_newest_first_with_prerequisites_reversed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path, "contoso.example").unwrap();
        let default =
            Change::set_default_domain("source", "contoso.onmicrosoft.com", "contoso.example");
        let upn = Change::set_upn(
            "source",
            "u1",
            "Anna",
            "anna@contoso.example",
            "anna@contoso.onmicrosoft.com",
        );
        let alias = Change::remove_addresses(
            "source",
            "Set-Mailbox",
            target("u1"),
            &["smtp:anna@contoso.example".to_string()],
        );
        let other = Change::remove_addresses(
            "source",
            "Set-Mailbox",
            target("u2"),
            &["smtp:b@contoso.example".to_string()],
        );
        let removal = Change::remove_domain("source", "contoso.example");
        let failed = Change::remove_addresses(
            "source",
            "Set-Mailbox",
            target("u3"),
            &["smtp:c@contoso.example".to_string()],
        );
        for c in [&default, &upn, &alias, &other, &removal] {
            intent(&mut j, c);
            outcome(&mut j, c, "ok");
        }
        intent(&mut j, &failed);
        outcome(&mut j, &failed, "failed: refused");
        drop(j);
        let records = crate::audit::read_records(&path).unwrap();
        let plan = backout_plan("contoso.example", &records);
        assert_eq!(plan.kind, "backout");
        // The removal is undone first (newest): the domain added and verified again; the
        // failed change: nothing done, but its intent has no ok outcome, so it is flagged to
        // be settled first.
        assert_eq!(plan.flags.len(), 1, "{:?}", plan.flags);
        assert!(plan.flags[0].action.contains("--resume"));
        let fields: Vec<(&str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.target.id.as_str(), c.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("contoso.example", FIELD_DOMAIN_ADDED),
                ("contoso.example", FIELD_DOMAIN_VERIFIED),
                ("u2", FIELD_ADDRESSES),
                ("u1", FIELD_ADDRESSES),
                ("u1", FIELD_UPN),
                ("contoso.example", FIELD_DEFAULT_DOMAIN)
            ]
        );
        let [add, verify, back_other, back_alias, back_upn, back_default] = &plan.changes[..]
        else {
            panic!()
        };
        // Nothing else of another tenant to wait for: the add first, the verify after it.
        assert!(add.prerequisites.is_empty(), "{:?}", add.prerequisites);
        assert_eq!(verify.prerequisites, vec![add.id.clone()]);
        assert!(matches!(&add.route, Route::Graph { method, .. } if method == "POST"));
        assert_eq!(back_alias.after, alias.before);
        assert_eq!(back_alias.before, alias.after);
        let Route::Exchange { params, .. } = &back_alias.route else {
            panic!()
        };
        assert_eq!(
            params["EmailAddresses"]["Add"],
            json!(["smtp:anna@contoso.example"])
        );
        assert_eq!(back_upn.after, json!("anna@contoso.example"));
        // Everything applied before the removal used the domain: it waits for the verify.
        // The UPN goes back after the alias (applied after it) is back; the default after all.
        assert_eq!(
            back_upn.prerequisites,
            vec![back_alias.id.clone(), verify.id.clone()]
        );
        assert_eq!(back_alias.prerequisites, vec![verify.id.clone()]);
        assert_eq!(back_other.prerequisites, vec![verify.id.clone()]);
        let mut all: Vec<_> = [verify, back_other, back_alias, back_upn]
            .iter()
            .map(|c| c.id.clone())
            .collect();
        all.sort();
        let mut got = back_default.prerequisites.clone();
        got.sort();
        assert_eq!(got, all);
        assert!(
            plan.changes
                .iter()
                .all(|c| c.id != upn.id && c.id.len() == 16)
        );
        // Planned again from the same journal: the same ids.
        assert_eq!(backout_plan("contoso.example", &records), plan);
    }

    #[test]
    fn an_applied_backout_cancels_what_it_undid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path, "contoso.example").unwrap();
        let upn = Change::set_upn(
            "source",
            "u1",
            "Anna",
            "anna@contoso.example",
            "anna@contoso.onmicrosoft.com",
        );
        intent(&mut j, &upn);
        outcome(&mut j, &upn, "ok");
        drop(j);
        let plan = backout_plan(
            "contoso.example",
            &crate::audit::read_records(&path).unwrap(),
        );
        let mut j = Journal::open(&path, "contoso.example").unwrap();
        intent(&mut j, &plan.changes[0]);
        outcome(&mut j, &plan.changes[0], "ok");
        drop(j);
        let again = backout_plan(
            "contoso.example",
            &crate::audit::read_records(&path).unwrap(),
        );
        assert!(
            again.changes.is_empty() && again.flags.is_empty(),
            "{again:?}"
        );
    }

    #[test]
    fn undo_refuses_unknown_unsettled_and_uninvertible_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let mut j = Journal::open(&path, "contoso.example").unwrap();
        let upn = Change::set_upn(
            "source",
            "u1",
            "Anna",
            "anna@contoso.example",
            "anna@contoso.onmicrosoft.com",
        );
        let removal = Change::remove_domain("source", "contoso.example");
        let open = Change::set_upn(
            "source",
            "u2",
            "Ben",
            "ben@contoso.example",
            "ben@contoso.onmicrosoft.com",
        );
        for c in [&upn, &removal] {
            intent(&mut j, c);
            outcome(&mut j, c, "ok");
        }
        intent(&mut j, &open);
        drop(j);
        let records = crate::audit::read_records(&path).unwrap();
        let undo = |ids: &[&str]| {
            undo_plan(
                "contoso.example",
                &records,
                &ids.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
            )
        };
        let plan = undo(&[&upn.id]).unwrap();
        assert_eq!(plan.kind, "undo");
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].after, json!("anna@contoso.example"));
        let err = undo(&[&removal.id]).unwrap_err();
        assert!(err.contains(NO_INVERSE_DOMAIN_REMOVAL), "{err}");
        assert!(undo(&[&open.id]).unwrap_err().contains("--resume"));
        assert!(
            undo(&["ffffffffffffffff"])
                .unwrap_err()
                .contains("no change ffffffffffffffff")
        );
    }
}

#[cfg(test)]
mod dkim_tests {
    use super::*;

    #[test]
    fn dkim_signing_turned_on_is_turned_off_again() {
        let on = Change::set_dkim("destination", "contoso.example", true);
        let applied = Applied {
            id: on.id.clone(),
            tenant: on.tenant.clone(),
            target: on.target.clone(),
            field: on.field.clone(),
            before: on.before.clone(),
            after: on.after.clone(),
            route: on.route.clone(),
            rule: on.rule.clone(),
            seq: 1,
        };
        let back = inverse_of(&applied).expect("an inverse");
        assert_eq!(back.field, FIELD_DKIM);
        assert_eq!(
            (back.before.clone(), back.after.clone()),
            (json!(true), json!(false))
        );
        let Route::Exchange { cmdlet, params } = &back.route else {
            panic!("an Exchange route: {:?}", back.route);
        };
        assert_eq!(cmdlet, "Set-DkimSigningConfig");
        assert_eq!(
            params,
            &json!({"Identity": "contoso.example", "Enabled": false})
        );
        // The planned inverse and the journal's inverse agree.
        let Inverse::Apply { route } = &on.inverse else {
            panic!("set_dkim says its inverse");
        };
        assert_eq!(route, &back.route);
    }

    #[test]
    fn a_dkim_config_created_is_removed_again() {
        let made = Change::new_dkim_config("destination", "contoso.example");
        let applied = Applied {
            id: made.id.clone(),
            tenant: made.tenant.clone(),
            target: made.target.clone(),
            field: made.field.clone(),
            before: made.before.clone(),
            after: made.after.clone(),
            route: made.route.clone(),
            rule: made.rule.clone(),
            seq: 1,
        };
        let back = inverse_of(&applied).expect("an inverse");
        assert_eq!(back.field, FIELD_DKIM_CONFIG);
        assert_eq!(
            (back.before.clone(), back.after.clone()),
            (json!("contoso.example"), Value::Null)
        );
        let Route::Exchange { cmdlet, .. } = &back.route else {
            panic!("an Exchange route: {:?}", back.route);
        };
        assert_eq!(cmdlet, "Remove-DkimSigningConfig");
        let Inverse::Apply { route } = &made.inverse else {
            panic!("new_dkim_config says its inverse");
        };
        assert_eq!(route, &back.route);
    }
}
