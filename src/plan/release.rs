//! The release plan: from the live inventory of the source tenant, the changes that free the
//! domain there, and what cutover cannot change on its own (flags, each naming its rule).
//!
//! The changes, per object: a user's UPN change to `<local>@<initial domain>` (Graph,
//! `Change::set_upn`); a primary SMTP address in the domain that does not follow a UPN moved
//! there through Exchange (`Change::set_primary`); then the removal of every proxy address in
//! the domain (`Change::remove_addresses`), with the old primary Exchange keeps as an alias.
//! Then the default domain moved to the initial domain when needed, and last the domain's
//! removal (`DELETE`, or `forceDelete` when asked) after everything else. Collisions are
//! resolved and shown in `renames`; synced objects, contacts, application identifier URIs and a
//! federated domain are flags. See `docs/executor.md`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::inventory::{DirectoryView, Entry, Kind};
use crate::plan::change::{Change, Target};

/// The plan file's format; `apply` refuses any other.
pub const PLAN_VERSION: u32 = 1;

/// Entra ID's limit on a UPN's local part.
const MAX_LOCAL: usize = 64;

/// What the plan needs to know about the tenant and the domain besides the inventory.
#[derive(Debug, Clone)]
pub struct TenantFacts {
    /// "source" or "destination".
    pub tenant: String,
    /// The domain being released (A-label).
    pub domain: String,
    /// The tenant's `*.onmicrosoft.com` domain, where UPNs and primary addresses move.
    pub initial_domain: String,
    /// The domain is the tenant's default (it must not stay so before removal).
    pub domain_is_default: bool,
    /// The domain is federated (`authenticationType` `Federated`).
    pub domain_federated: bool,
}

/// A planned release (or, later, adopt/backout): the changes cutover applies, the renames it
/// will apply once their routes exist, and what only a person can do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub version: u32,
    /// `release`.
    pub kind: String,
    pub tenant: String,
    pub domain: String,
    pub initial_domain: String,
    pub changes: Vec<Change>,
    #[serde(default)]
    pub renames: Vec<Rename>,
    #[serde(default)]
    pub flags: Vec<Flag>,
    /// What cutover cannot see from the tenant it plans for (other organisations, partners):
    /// checks for a person, outside the plan's objects.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Flag>,
}

/// A UPN or primary SMTP address that must move to the initial domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rename {
    pub target: Target,
    /// `userPrincipalName` or `PrimarySmtpAddress`.
    pub field: String,
    pub from: String,
    pub to: String,
    /// Set when `<local>@<initial>` was taken, saying by what and which name was chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collision: Option<String>,
    /// The id of the change in `changes` that applies it (a user's UPN); none: not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<String>,
}

/// Something the plan does not change: only a person can, or Microsoft would refuse it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub target: Target,
    /// The inventory kind (`user`, `contact`, `application`, `domain`, …).
    pub kind: String,
    /// The rule that stops cutover from doing it.
    pub rule: String,
    /// What to do instead.
    pub action: String,
}

/// The plan was made signed in as a user of another tenant: the `partner` notice says so
/// (replacing the release plan's general one, or added to a plan without it).
pub fn signed_in_from_other_tenant(plan: &mut Plan, other: &crate::graph::auth::OtherTenant) {
    let notice = Flag {
        target: Target {
            id: other.tenant.clone(),
            display: format!("{} tenant {}", plan.tenant, other.tenant),
        },
        kind: "partner".into(),
        rule: other.warning(&plan.tenant),
        action: "check Microsoft 365 admin center, Settings, Partner relationships, and agree the cutover window with the partner; apply as the tenant's own admin where Microsoft refuses the partner".into(),
    };
    match plan.notices.iter_mut().find(|n| n.kind == "partner") {
        Some(n) => *n = notice,
        None => plan.notices.push(notice),
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::User => "user",
        Kind::DistributionGroup => "distribution group",
        Kind::Microsoft365Group => "Microsoft 365 group",
        Kind::MailEnabledSecurityGroup => "mail-enabled security group",
        Kind::SecurityGroup => "security group",
        Kind::Contact => "contact",
        Kind::Application => "application",
        Kind::Other => "other",
    }
}

/// The Exchange cmdlet that edits this kind's proxy addresses.
fn cmdlet(kind: Kind) -> Option<&'static str> {
    match kind {
        Kind::User => Some("Set-Mailbox"),
        Kind::DistributionGroup | Kind::MailEnabledSecurityGroup => Some("Set-DistributionGroup"),
        Kind::Microsoft365Group => Some("Set-UnifiedGroup"),
        _ => None,
    }
}

/// Exchange's cmdlet for a mail contact's addresses (`-EmailAddresses @{Remove=…}`).
pub const CONTACT_CMDLET: &str = "Set-MailContact";

/// Every Exchange cmdlet a release plan uses ([`cmdlet`] and [`CONTACT_CMDLET`]).
pub const CMDLETS: [&str; 4] = [
    "Set-Mailbox",
    "Set-DistributionGroup",
    "Set-UnifiedGroup",
    CONTACT_CMDLET,
];

fn local_part(address: &str) -> &str {
    address.rsplit_once('@').map_or(address, |(l, _)| l)
}

/// Hands out `<local>@<initial>` names unique without regard to case, against everything the
/// tenant already uses there and every name handed out before (address → owner's id).
/// The owners are borrowed from the directory and the entries, which outlive the plan's making:
/// a 100,000-mailbox tenant has that many names in its initial domain.
struct Names<'d> {
    initial: String,
    taken: HashMap<Box<str>, &'d str>,
}

impl<'d> Names<'d> {
    fn new(initial: &str, directory: &'d impl DirectoryView) -> Names<'d> {
        let mut taken = HashMap::new();
        let at_initial = format!("@{}", initial.to_ascii_lowercase());
        // Only names in the initial domain can collide with a claim there: the others are
        // not kept (a tenant's every address would be hundreds of thousands).
        let mut add = |owner: &'d str, a: &str| {
            let bare = a
                .split_once(':')
                .map_or(a, |(p, r)| if p.contains('@') { a } else { r })
                .to_ascii_lowercase();
            if bare.ends_with(&at_initial) {
                taken.entry(bare.into_boxed_str()).or_insert(owner);
            }
        };
        for u in directory.users() {
            add(&u.id, &u.user_principal_name);
            u.mail.iter().for_each(|m| add(&u.id, m));
            u.proxy_addresses.iter().for_each(|p| add(&u.id, p));
        }
        for g in directory.groups() {
            g.mail.iter().for_each(|m| add(&g.id, m));
            g.proxy_addresses.iter().for_each(|p| add(&g.id, p));
        }
        for c in directory.contacts() {
            c.mail.iter().for_each(|m| add(&c.id, m));
            c.proxy_addresses.iter().for_each(|p| add(&c.id, p));
        }
        Names {
            initial: initial.to_ascii_lowercase(),
            taken,
        }
    }

    /// `local@initial`, or `local2@initial`, `local3@…` when taken (the local part cut, by
    /// characters, so the suffix keeps it within 64). The object's own addresses (`owner`)
    /// do not collide with it: Exchange gives most mailboxes `local@initial` already.
    fn claim(&mut self, local: &str, owner: &'d str) -> (String, Option<String>) {
        let free = |names: &Names, a: &str| {
            names
                .taken
                .get(a.to_ascii_lowercase().as_str())
                .is_none_or(|o| *o == owner)
        };
        let first = format!("{local}@{}", self.initial);
        if free(self, &first) {
            self.taken
                .insert(first.to_ascii_lowercase().into_boxed_str(), owner);
            return (first, None);
        }
        let mut n = 2u32;
        loop {
            let suffix = n.to_string();
            let keep = MAX_LOCAL.saturating_sub(suffix.len());
            let base: String = local.chars().take(keep).collect();
            let candidate = format!("{base}{suffix}@{}", self.initial);
            if free(self, &candidate) {
                self.taken
                    .insert(candidate.to_ascii_lowercase().into_boxed_str(), owner);
                return (
                    candidate.clone(),
                    Some(format!("{first} is taken; {candidate} chosen")),
                );
            }
            n += 1;
        }
    }
}

/// An application's identifier URIs without those in `domain`: each one in the domain is
/// replaced by `api://<appId>` (once, where the first stood), Microsoft's default format,
/// which needs no domain and which the tenant's identifier-URI restrictions always allow
/// (removing the URIs alone could leave an API with none); the others are kept in their
/// order. Clients that ask for tokens with an old URI must switch to the new one or the appId.
pub fn without_domain_uris(uris: &[String], domain: &str, app_id: &str) -> Vec<String> {
    let default = format!("api://{app_id}");
    let mut out: Vec<String> = Vec::new();
    let has_default = uris.iter().any(|u| u.eq_ignore_ascii_case(&default));
    for u in uris {
        if !crate::inventory::uri_in_domain(u, domain) {
            out.push(u.clone());
        } else if !has_default && !out.iter().any(|o| o.eq_ignore_ascii_case(&default)) {
            out.push(default.clone());
        }
    }
    out
}

/// What the admin asked of the release beyond the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReleaseOptions {
    /// Remove the domain with `forceDelete` (`Some(disableUserAccounts)`) instead of `DELETE`.
    pub force_delete: Option<bool>,
}

/// Microsoft's limit on the objects `forceDelete` renames.
pub const FORCE_DELETE_LIMIT: usize = 1000;

/// Why `forceDelete` would be refused for this domain, if it would (checked before planning
/// it): federated, or more than [`FORCE_DELETE_LIMIT`] users, groups and applications
/// referencing it. (A default domain is made non-default by the plan first.)
pub fn force_delete_refusal(facts: &TenantFacts, entries: &[Entry]) -> Option<String> {
    if facts.domain_federated {
        return Some(format!(
            "{} is federated and Microsoft refuses to force-delete a federated domain; convert it to managed first or plan without --force-delete",
            facts.domain
        ));
    }
    // Contacts are Exchange's: forceDelete does not rename them, so they do not count.
    let renamed = entries.iter().filter(|e| e.kind != Kind::Contact).count();
    (renamed > FORCE_DELETE_LIMIT).then(|| {
        format!(
            "{renamed} objects reference {}, more than the {FORCE_DELETE_LIMIT} forceDelete renames; plan without --force-delete",
            facts.domain
        )
    })
}

/// Why `forceDelete` would be refused for a multitenant application: Microsoft refuses it
/// while a multitenant application references the domain. The plan moves a listed
/// application's identifier URIs to `api://<appId>` before the removal, so only one whose
/// URIs it cannot move (listed without an appId, or referencing the domain otherwise) is left
/// referencing it when forceDelete runs.
pub fn multitenant_refusal(
    facts: &TenantFacts,
    entries: &[Entry],
    directory: &impl DirectoryView,
) -> Option<String> {
    entries
        .iter()
        .filter(|e| e.kind == Kind::Application || e.kind == Kind::Other)
        .filter_map(|e| {
            directory
                .applications()
                .iter()
                .find(|a| a.id.eq_ignore_ascii_case(&e.id))
                .map(|a| (e, a))
        })
        .find(|(e, a)| a.multitenant() && (e.kind == Kind::Other || a.app_id.is_none()))
        .map(|(e, a)| {
            format!(
                "the multitenant application '{}' ({}, signInAudience {}) references {} and this plan cannot move it off; Microsoft refuses forceDelete while it does: change its identifier URIs by hand, or plan without --force-delete",
                a.display_name.as_deref().unwrap_or(&e.id),
                e.id,
                a.sign_in_audience.as_deref().unwrap_or_default(),
                facts.domain
            )
        })
}

/// The release plan for `facts.domain`. Deterministic: objects in (kind, id) order, each
/// object's addresses in their listed order, renames claimed in that order.
pub fn release_plan(
    facts: &TenantFacts,
    entries: &[Entry],
    directory: &impl DirectoryView,
) -> Plan {
    release_plan_with(facts, entries, directory, ReleaseOptions::default())
}

/// [`release_plan`] with the admin's options (`--force-delete`).
/// Lowering the domain's MX TTL to [`TARGET_TTL`](crate::dns::ttl_plan::TARGET_TTL), as the
/// zone's authoritative servers serve it now (`mx_now`); `None` when it is low already. A
/// resolver may keep the old MX for the old TTL, so the adopt plan's MX switch is only quick
/// once this change is older than the old TTL (the timeline's TTL plan says when).
pub fn lower_mx_ttl(domain: &str, mx_now: &crate::plan::change::RrSet) -> Option<Change> {
    use crate::dns::ttl_plan::{MIN_LEAD, TARGET_TTL};
    if mx_now.ttl <= TARGET_TTL || mx_now.values.is_empty() {
        return None;
    }
    let after = crate::plan::change::RrSet {
        ttl: TARGET_TTL,
        values: mx_now.values.clone(),
    };
    Some(Change::set_rrset(
        domain,
        domain,
        "MX",
        mx_now,
        &after,
        &format!(
            "Lower the MX TTL from {}s to {TARGET_TTL}s ahead of the cutover: resolvers may keep the old MX for the old TTL, so switch MX no sooner than {}s (the runbook asks for {} hours) after this change",
            mx_now.ttl,
            mx_now.ttl,
            MIN_LEAD.whole_hours()
        ),
    ))
}

pub fn release_plan_with(
    facts: &TenantFacts,
    entries: &[Entry],
    directory: &impl DirectoryView,
    options: ReleaseOptions,
) -> Plan {
    release_plan_emit(
        facts,
        entries,
        directory,
        options,
        Emit {
            keep: &|_| true,
            each: None,
            renames: true,
        },
    )
}

/// How a release plan's changes are handed over as they are made: the CLI keeps them all; the
/// dashboard sees each once (its row's summary) and keeps only a selection's, so a plan of
/// 200,000 changes is never held whole.
pub struct Emit<'a> {
    /// Keep this change in the plan returned?
    pub keep: &'a dyn Fn(&Change) -> bool,
    /// Told of every change, kept or not, in plan order.
    pub each: Option<&'a mut dyn FnMut(&Change)>,
    /// Keep the renames (the plan text lists them).
    pub renames: bool,
}

/// The changes being made and what the plan needs of them (every id, for the removal's
/// prerequisites; how many UPNs move, for the notices).
struct Out<'e, 'a> {
    emit: &'e mut Emit<'a>,
    changes: Vec<Change>,
    ids: Vec<Id>,
    renames: Vec<Rename>,
    upn_renames: usize,
}

/// A change id as the plan keeps it until the removal names them all: the 16 hex digits of
/// `change_id` as a number (220,000 ids of a 100,000-user tenant, no string each), anything
/// else as written.
enum Id {
    Hex(u64),
    Other(Box<str>),
}

impl Id {
    fn of(id: &str) -> Id {
        // Lower-case digits only, so that `text` writes it back the same.
        let hex = id.len() == 16 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        match u64::from_str_radix(id, 16) {
            Ok(n) if hex => Id::Hex(n),
            _ => Id::Other(id.into()),
        }
    }

    fn text(&self) -> String {
        match self {
            Id::Hex(n) => format!("{n:016x}"),
            Id::Other(s) => s.to_string(),
        }
    }
}

impl Out<'_, '_> {
    fn push(&mut self, c: Change) {
        self.ids.push(Id::of(&c.id));
        if let Some(each) = self.emit.each.as_mut() {
            each(&c);
        }
        if (self.emit.keep)(&c) {
            self.changes.push(c);
        }
    }

    fn rename(&mut self, r: Rename) {
        if r.field == crate::plan::change::FIELD_UPN {
            self.upn_renames += 1;
        }
        if self.emit.renames {
            self.renames.push(r);
        }
    }
}

/// [`release_plan_with`], handing the changes over through `emit`.
pub fn release_plan_emit(
    facts: &TenantFacts,
    entries: &[Entry],
    directory: &impl DirectoryView,
    options: ReleaseOptions,
    mut emit: Emit<'_>,
) -> Plan {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| (a.kind, &a.id).cmp(&(b.kind, &b.id)));
    let mut names = Names::new(&facts.initial_domain, directory);
    let mut out = Out {
        emit: &mut emit,
        changes: Vec::new(),
        ids: Vec::new(),
        renames: Vec::new(),
        upn_renames: 0,
    };
    let mut flags = Vec::new();
    // What only a person can change and still references the domain after this plan, by
    // kind: Microsoft refuses the removal while any of it is left (counted for the flag).
    let mut blocking: std::collections::BTreeMap<String, usize> = Default::default();
    let mut block = |what: String| *blocking.entry(what).or_insert(0) += 1;
    for e in sorted {
        let target = Target {
            id: e.id.clone(),
            display: if e.display_name.is_empty() {
                e.id.clone()
            } else {
                e.display_name.clone()
            },
        };
        let kind = kind_name(e.kind).to_string();
        let flag = |rule: &str, action: String| Flag {
            target: target.clone(),
            kind: kind.clone(),
            rule: rule.to_string(),
            action,
        };
        let values = |how: &[&str]| -> Vec<String> {
            e.references
                .iter()
                .filter(|r| how.contains(&r.how))
                .map(|r| r.value.clone())
                .collect()
        };
        let owned: Vec<String> = e.references.iter().map(|r| r.value.clone()).collect();
        if e.synced == Some(true) {
            block(format!("synced {kind}"));
            flags.push(flag(
                "Objects synchronised from on-premises Active Directory cannot be changed in the cloud",
                format!(
                    "change its UPN and addresses in {} on-premises (or stop syncing it) and let the sync carry it",
                    facts.domain
                ),
            ));
            continue;
        }
        match e.kind {
            Kind::Contact => {
                // A contact whose own address (mail, primary) is in the domain sends there:
                // whether it goes or points elsewhere is a person's call (and Exchange refuses
                // to drop its external address). Its other addresses in the domain are only
                // aliases, which Set-MailContact removes like a mailbox's.
                let own = values(&["mail", "primarySmtpAddress"]);
                let aliases = values(&["smtpAddress", "otherAddress"]);
                if !own.is_empty() {
                    block(kind.clone());
                    flags.push(flag(
                        "A contact's address in the domain keeps the domain referenced; contacts are Exchange's, not Graph's, and its external address is a person's decision",
                        format!(
                            "remove the contact or point it elsewhere in Exchange (Remove-MailContact / Set-MailContact -ExternalEmailAddress) instead of {}",
                            own.first().map_or("", String::as_str)
                        ),
                    ));
                } else if !aliases.is_empty() {
                    out.push(Change::remove_addresses(
                        &facts.tenant,
                        CONTACT_CMDLET,
                        target.clone(),
                        &aliases,
                    ));
                }
                continue;
            }
            Kind::Application => {
                // The whole list is needed (the PATCH replaces it) and the appId names the
                // replacement; an application the listing did not show stays a flag.
                let listed = directory
                    .applications()
                    .iter()
                    .find(|a| a.id.eq_ignore_ascii_case(&e.id))
                    .and_then(|a| a.app_id.as_deref().map(|app_id| (a, app_id)));
                match listed {
                    Some((a, app_id)) => {
                        if a.multitenant() {
                            // Not blocking: api://<appId> is allowed for any audience, and the
                            // change runs before the removal. But other organisations use it.
                            flags.push(flag(
                                "A multitenant application's identifier URIs must be on a verified domain of its tenant (or api://<appId>); Microsoft refuses forceDelete while one references the domain",
                                format!(
                                    "tell the organisations that sign in to it ({}) that tokens asked for with {} must use api://{app_id} or the appId once this plan has run",
                                    a.sign_in_audience.as_deref().unwrap_or_default(),
                                    values(&["identifierUri"]).join(", ")
                                ),
                            ));
                        }
                        let new = without_domain_uris(&a.identifier_uris, &facts.domain, app_id);
                        out.push(Change::set_identifier_uris(
                            &facts.tenant,
                            &e.id,
                            &target.display,
                            &a.identifier_uris,
                            &new,
                        ));
                    }
                    None => {
                        let uris = values(&["identifierUri"]);
                        block(kind.clone());
                        flags.push(flag(
                            "A domain cannot be removed while an application's identifier URI uses it",
                            format!(
                                "change the application's identifier URIs ({}) to api://<appId> or another verified domain",
                                uris.join(", ")
                            ),
                        ));
                    }
                }
                continue;
            }
            Kind::SecurityGroup | Kind::Other => {
                block(kind.clone());
                flags.push(flag(
                    "A domain cannot be removed while anything references it",
                    format!(
                        "find out why this object references {} ({}) and remove the reference",
                        facts.domain,
                        owned.join(", ")
                    ),
                ));
                continue;
            }
            _ => {}
        }
        // A user's UPN moves through Graph, before anything else on the object: Exchange then
        // makes the new UPN primary and keeps the old primary as an smtp: alias, which the
        // alias removal below must take too, so that removal waits for the UPN change.
        let unlicensed_person =
            e.kind == Kind::User && e.licences == Some(0) && e.enabled == Some(true);
        let editable = cmdlet(e.kind).filter(|_| !unlicensed_person);
        let mut aliases = values(&["smtpAddress", "otherAddress"]);
        let mut prerequisites = Vec::new();
        let mut primary_follows_upn = false;
        if let Some(upn) = e.user_principal_name.as_deref().filter(|u| {
            e.references
                .iter()
                .any(|r| r.how == "userPrincipalName" && r.value == **u)
        }) {
            let (to, collision) = names.claim(local_part(upn), &e.id);
            let mut change = None;
            if e.kind == Kind::User {
                let set = Change::set_upn(&facts.tenant, &e.id, &target.display, upn, &to);
                change = Some(set.id.clone());
                prerequisites.push(set.id.clone());
                out.push(set);
                let old_primary = values(&["primarySmtpAddress"])
                    .into_iter()
                    .filter_map(|p| p.split_once(':').map(|(_, r)| r.to_string()))
                    .find(|p| p.eq_ignore_ascii_case(upn));
                if let Some(old) = old_primary {
                    primary_follows_upn = true;
                    aliases.push(format!("smtp:{old}"));
                }
            }
            out.rename(Rename {
                target: target.clone(),
                field: "userPrincipalName".into(),
                from: upn.to_string(),
                to,
                collision,
                change,
            });
        }
        if let Some(primary) = values(&["primarySmtpAddress"])
            .first()
            .filter(|_| !primary_follows_upn)
        {
            // A primary that does not follow a UPN moves on its own, through Exchange (Graph's
            // `mail` is Exchange's to set); Exchange keeps the old one as an alias, which the
            // removal below then takes, after the move.
            let address = primary.split_once(':').map_or(primary.as_str(), |(_, r)| r);
            let (to, collision) = names.claim(local_part(address), &e.id);
            let mut change = None;
            if let Some(cmdlet) = editable {
                let mut set =
                    Change::set_primary(&facts.tenant, cmdlet, target.clone(), address, &to);
                set.prerequisites = prerequisites.clone();
                change = Some(set.id.clone());
                prerequisites.push(set.id.clone());
                out.push(set);
            }
            aliases.push(format!("smtp:{address}"));
            out.rename(Rename {
                target: target.clone(),
                field: "PrimarySmtpAddress".into(),
                from: address.to_string(),
                to,
                collision,
                change,
            });
        }
        if unlicensed_person && !aliases.is_empty() {
            // A signed-in user without a licence may have lost the mailbox Exchange edits
            // addresses through; a shared mailbox (sign-in blocked) keeps one.
            block(format!("unlicensed {kind}"));
            flags.push(flag(
                "Exchange edits proxy addresses only through a mailbox; an unlicensed user may have none",
                format!(
                    "licence the user or remove {} from it by hand",
                    aliases.join(", ")
                ),
            ));
        } else if let Some(cmdlet) = editable.filter(|_| !aliases.is_empty()) {
            let mut removal =
                Change::remove_addresses(&facts.tenant, cmdlet, target.clone(), &aliases);
            removal.prerequisites = prerequisites;
            out.push(removal);
        }
    }
    let domain_target = Target {
        id: facts.domain.clone(),
        display: facts.domain.clone(),
    };
    if facts.domain_federated {
        flags.push(Flag {
            target: domain_target.clone(),
            kind: "domain".into(),
            rule: "A federated domain cannot be removed or force-deleted".into(),
            action: "convert it to managed authentication first (Microsoft Graph PowerShell: Update-MgDomain -AuthenticationType Managed), then apply again".into(),
        });
    }
    // What cutover cannot see from inside this tenant, said where it matters.
    let mut notices = Vec::new();
    let signing_in = out.upn_renames;
    if signing_in > 0 {
        notices.push(Flag {
            target: domain_target.clone(),
            kind: "guest access elsewhere".into(),
            rule: format!(
                "{signing_in} {} with the domain; where other organisations invited them as guests with these addresses, the guest accounts redeem through the tenant that holds the domain, so after the move they resolve to the destination (or fail)",
                if signing_in == 1 { "person signs in" } else { "people sign in" }
            ),
            action: "ask the organisations you collaborate with to reset these guests' redemption status after the cutover (Entra admin center: the guest user, Reset redemption status); cutover cannot see other tenants".into(),
        });
    }
    notices.push(Flag {
        target: domain_target.clone(),
        kind: "partner".into(),
        rule: "A partner (CSP, delegated or granular delegated admin) may administer this tenant; its relationships cannot be read from the customer's side through Graph".into(),
        action: "check Microsoft 365 admin center, Settings, Partner relationships, and agree the cutover window with any partner listed there".into(),
    });
    // The default domain cannot be removed: the initial domain (always verified, never
    // federated) becomes the default first.
    if facts.domain_is_default {
        out.push(Change::set_default_domain(
            &facts.tenant,
            &facts.initial_domain,
            &facts.domain,
        ));
    }
    // Last, the removal itself, after every other change. Microsoft refuses a DELETE while
    // anything references the domain, so when objects only a person can change are left the
    // plan says so instead of planning a removal bound to fail; forceDelete renames users,
    // groups and applications, but not Exchange's contacts ("update or remove any references
    // to Exchange as the provisioning service" first).
    let left: Vec<(String, usize)> = blocking
        .into_iter()
        .filter(|(what, _)| options.force_delete.is_none() || what == "contact")
        .collect();
    if left.is_empty() {
        let mut removal = match options.force_delete {
            Some(disable) => Change::force_delete_domain(&facts.tenant, &facts.domain, disable),
            None => Change::remove_domain(&facts.tenant, &facts.domain),
        };
        removal.prerequisites = out.ids.iter().map(Id::text).collect();
        out.push(removal);
    } else {
        flags.push(removal_blocked(
            facts,
            &left,
            options.force_delete.is_some(),
        ));
    }
    Plan {
        version: PLAN_VERSION,
        kind: "release".into(),
        tenant: facts.tenant.clone(),
        domain: facts.domain.clone(),
        initial_domain: facts.initial_domain.clone(),
        changes: out.changes,
        renames: out.renames,
        flags,
        notices,
    }
}

/// Rule of the flag that stands in for a removal Microsoft would refuse.
pub const REMOVAL_BLOCKED: &str = "Microsoft refuses to remove a domain while any object references it (DELETE /domains/{id} answers 400 with the count), and these references only a person can change";

/// The flag in place of the removal: how many objects of which kinds are left, and what to do.
fn removal_blocked(facts: &TenantFacts, left: &[(String, usize)], forced: bool) -> Flag {
    let total: usize = left.iter().map(|(_, n)| n).sum();
    let kinds = left
        .iter()
        .map(|(what, n)| format!("{n} {what}{}", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ");
    let action = if forced {
        format!(
            "{total} object(s) still reference {d} that forceDelete does not rename ({kinds}): remove or change them in Exchange (Remove-MailContact / Set-MailContact), then run 'cutover plan release --force-delete' again, which then ends with the removal",
            d = facts.domain
        )
    } else {
        format!(
            "{total} object(s) still reference {d} after this plan ({kinds}): change them on-premises or by hand as the flags above say, then run 'cutover plan release' again, which then ends with the removal; or plan with --force-delete, which renames what is left to {i} (users, groups, applications; not contacts) where Microsoft allows it",
            d = facts.domain,
            i = facts.initial_domain
        )
    };
    Flag {
        target: Target {
            id: facts.domain.clone(),
            display: facts.domain.clone(),
        },
        kind: "domain".into(),
        rule: REMOVAL_BLOCKED.into(),
        action,
    }
}

/// The plan as a change board reads it: one line per change, rename and flag.
/// One change in words: what it sets, through which route, and how it is undone (the plan's
/// text and the workbench's preview say the same).
pub fn describe(c: &Change) -> String {
    if let Some(words) = crate::access::describe(c) {
        return words;
    }
    let route = match &c.route {
        crate::plan::change::Route::Exchange { cmdlet, .. } => cmdlet.clone(),
        other => other.kind().to_string(),
    };
    let before = c
        .before
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .or_else(|| c.before.as_str().map(str::to_string))
        .unwrap_or_else(|| c.before.to_string());
    let after = c.after.as_str().unwrap_or_default();
    use crate::plan::change::{
        FIELD_DEFAULT_DOMAIN, FIELD_DOMAIN, FIELD_IDENTIFIER_URIS, FIELD_PRIMARY, FIELD_UPN,
    };
    match c.field.as_str() {
        FIELD_IDENTIFIER_URIS => {
            let list = |v: &serde_json::Value| {
                v.as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(serde_json::Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default()
            };
            format!(
                "identifier URIs [{}] to [{}] via PATCH /applications; undo: set [{}] back",
                list(&c.before),
                list(&c.after),
                list(&c.before)
            )
        }
        FIELD_UPN => {
            format!("UPN {before} to {after} via PATCH /users; undo: set {before} back")
        }
        FIELD_PRIMARY => format!(
            "primary address {before} to {after} via {route}; undo: make {before} primary again"
        ),
        FIELD_DEFAULT_DOMAIN => format!(
            "make {after} the default domain instead of {before} via PATCH /domains; undo: make {before} default again"
        ),
        FIELD_DOMAIN => {
            let how = match &c.route {
                crate::plan::change::Route::Graph { path, body, .. }
                    if path.ends_with("/forceDelete") =>
                {
                    format!(
                        "force-delete {before} via POST /domains/{{id}}/forceDelete (disableUserAccounts {}; Microsoft renames what still references it)",
                        body.as_ref()
                            .and_then(|b| b.get("disableUserAccounts"))
                            .map_or("?".to_string(), ToString::to_string)
                    )
                }
                _ => format!("remove {before} via DELETE /domains"),
            };
            format!(
                "{how}; released when GET /domains answers 404; no undo: {}",
                crate::plan::change::NO_INVERSE_DOMAIN_REMOVAL
            )
        }
        _ => {
            // An alias removal, or its inverse (an undo adds them back).
            let (gone, new) = crate::plan::change::address_moves(&c.before, &c.after);
            match (gone.is_empty(), new.is_empty()) {
                (false, true) => format!(
                    "remove {} via {route}; undo: add them back",
                    gone.join(", ")
                ),
                (true, false) => format!(
                    "add {} via {route}; undo: remove them again",
                    new.join(", ")
                ),
                _ => format!("remove {before} via {route}; undo: add them back"),
            }
        }
    }
}

pub fn render_text(plan: &Plan) -> String {
    let mut out = String::new();
    let line = |out: &mut String, s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(
        &mut out,
        format!(
            "{} plan for {} in the {} tenant (initial domain {}): {} changes, {} renames, {} flags",
            plan.kind,
            plan.domain,
            plan.tenant,
            plan.initial_domain,
            plan.changes.len(),
            plan.renames.len(),
            plan.flags.len()
        ),
    );
    if !plan.changes.is_empty() {
        line(&mut out, String::new());
        line(&mut out, "Changes cutover applies (cutover apply):".into());
    }
    for c in &plan.changes {
        use crate::plan::change::FIELD_DOMAIN;
        let what = describe(c);
        let after_these = if c.field == FIELD_DOMAIN && c.prerequisites.len() > 3 {
            format!(" (after the {} changes above)", c.prerequisites.len())
        } else if c.prerequisites.is_empty() {
            String::new()
        } else {
            format!(" (after {})", c.prerequisites.join(", "))
        };
        line(
            &mut out,
            format!("  {}  {}  {what}{after_these}", c.id, c.target.display),
        );
    }
    if !plan.renames.is_empty() {
        line(&mut out, String::new());
        line(
            &mut out,
            "UPN / primary address changes to the initial domain:".into(),
        );
    }
    for r in &plan.renames {
        let (what, needs) = if r.field == "userPrincipalName" {
            ("UPN", "needs UPN change to")
        } else {
            ("primary address", "moves to")
        };
        let collision = r
            .collision
            .as_deref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default();
        let how = r
            .change
            .as_deref()
            .map_or(" (not applied yet)".to_string(), |id| {
                format!(" (change {id})")
            });
        line(
            &mut out,
            format!(
                "  {}  {what} {} {needs} {}{collision}{how}",
                r.target.display, r.from, r.to
            ),
        );
    }
    if !plan.flags.is_empty() {
        line(&mut out, String::new());
        line(
            &mut out,
            "Flags: only a person can do these, or Microsoft would refuse them:".into(),
        );
    }
    for f in &plan.flags {
        line(
            &mut out,
            format!(
                "  {} {}: {}. Rule: {}",
                f.kind, f.target.display, f.action, f.rule
            ),
        );
    }
    if !plan.notices.is_empty() {
        line(&mut out, String::new());
        line(
            &mut out,
            "Check by hand (cutover cannot see these from this tenant):".into(),
        );
    }
    for f in &plan.notices {
        line(
            &mut out,
            format!("  {}: {}. Why: {}", f.kind, f.action, f.rule),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::model::User;
    use crate::inventory::{Directory, Reference};
    use crate::plan::change::Route;

    #[test]
    fn the_mx_ttl_is_lowered_only_when_above_the_target() {
        use crate::plan::change::{Inverse, RrSet};
        let mx = |ttl| RrSet {
            ttl,
            values: vec!["0 contoso-example.mail.protection.outlook.com.".into()],
        };
        assert!(lower_mx_ttl("contoso.example", &mx(300)).is_none());
        assert!(lower_mx_ttl("contoso.example", &mx(60)).is_none());
        let c = lower_mx_ttl("contoso.example", &mx(3600)).expect("lowered");
        let Route::Dns {
            zone,
            rtype,
            values,
            ttl,
            ..
        } = &c.route
        else {
            panic!("a DNS change: {c:?}");
        };
        assert_eq!(
            (zone.as_str(), rtype.as_str(), *ttl),
            ("contoso.example", "MX", Some(300))
        );
        assert_eq!(values, &mx(3600).values, "the MX hosts stay");
        let Inverse::Apply {
            route: Route::Dns { ttl: back, .. },
        } = &c.inverse
        else {
            panic!("an inverse: {c:?}");
        };
        assert_eq!(*back, Some(3600));
        assert!(c.rule.contains("3600s"), "{}", c.rule);
    }

    fn user(id: &str, upn: &str, refs: &[(&'static str, &str)]) -> Entry {
        Entry {
            id: id.into(),
            kind: Kind::User,
            display_name: format!("User {id}"),
            user_principal_name: Some(upn.into()),
            enabled: Some(true),
            synced: Some(false),
            licences: Some(1),
            references: refs
                .iter()
                .map(|(how, value)| Reference {
                    how,
                    value: value.to_string(),
                })
                .collect(),
        }
    }

    fn facts() -> TenantFacts {
        TenantFacts {
            tenant: "source".into(),
            domain: "contoso.example".into(),
            initial_domain: "contoso.onmicrosoft.com".into(),
            domain_is_default: false,
            domain_federated: false,
        }
    }

    #[test]
    fn aliases_become_exchange_removals_and_upns_renames_with_collisions_shown() {
        let entries = vec![
            user(
                "b",
                "anna@contoso.example",
                &[
                    ("userPrincipalName", "anna@contoso.example"),
                    ("primarySmtpAddress", "SMTP:anna@contoso.example"),
                    ("smtpAddress", "smtp:a.b@contoso.example"),
                ],
            ),
            user(
                "a",
                "Anna@contoso.example",
                &[("userPrincipalName", "Anna@contoso.example")],
            ),
        ];
        let mut synced = user(
            "c",
            "s@contoso.example",
            &[("smtpAddress", "smtp:s2@contoso.example")],
        );
        synced.synced = Some(true);
        let mut all = entries.clone();
        all.push(synced);
        let directory = Directory {
            users: vec![
                User {
                    id: "z".into(),
                    user_principal_name: "anna2@contoso.onmicrosoft.com".into(),
                    ..User::default()
                },
                // An object's own address in the initial domain is no collision.
                User {
                    id: "a".into(),
                    user_principal_name: "Anna@contoso.example".into(),
                    proxy_addresses: vec!["smtp:anna@contoso.onmicrosoft.com".into()],
                    ..User::default()
                },
            ],
            ..Directory::default()
        };
        // The synced user only gets a flag (and, being left referencing the domain, keeps the
        // removal out: see `removal_left_out_while_only_a_person_can_clear_the_domain`).
        let with_synced = release_plan(&facts(), &all, &directory);
        assert!(with_synced.changes.iter().all(|c| c.target.id != "c"));
        assert!(
            with_synced
                .flags
                .iter()
                .any(|f| f.target.id == "c" && f.rule.contains("on-premises"))
        );
        let plan = release_plan(&facts(), &entries, &directory);
        // Per object in id order: the UPN change first, then the alias removal, which also
        // takes the old primary Exchange keeps as an alias and so waits for the UPN change.
        let seen: Vec<(&str, &str, serde_json::Value, serde_json::Value)> = plan
            .changes
            .iter()
            .map(|c| {
                let field = c.field.as_str();
                (
                    c.target.id.as_str(),
                    field,
                    c.before.clone(),
                    c.after.clone(),
                )
            })
            .collect();
        assert_eq!(
            seen,
            [
                (
                    "a",
                    "userPrincipalName",
                    serde_json::json!("Anna@contoso.example"),
                    serde_json::json!("Anna@contoso.onmicrosoft.com")
                ),
                (
                    "b",
                    "userPrincipalName",
                    serde_json::json!("anna@contoso.example"),
                    serde_json::json!("anna3@contoso.onmicrosoft.com")
                ),
                (
                    "b",
                    "EmailAddresses",
                    serde_json::json!(["smtp:a.b@contoso.example", "smtp:anna@contoso.example"]),
                    serde_json::json!([])
                ),
                (
                    "contoso.example",
                    "domain",
                    serde_json::json!("contoso.example"),
                    serde_json::Value::Null
                ),
            ],
            "{plan:#?}"
        );
        // The removal comes last, after every other change, as a plain DELETE.
        let removal = plan.changes.last().unwrap();
        assert_eq!(
            removal.prerequisites,
            plan.changes
                .iter()
                .take(3)
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
        );
        assert!(
            matches!(&removal.route, crate::plan::change::Route::Graph { method, .. } if method == "DELETE")
        );
        assert_eq!(plan.changes[2].prerequisites, [plan.changes[1].id.clone()]);
        assert!(
            plan.changes
                .iter()
                .take(2)
                .all(|c| c.prerequisites.is_empty())
        );
        assert!(
            matches!(&plan.changes[1].route, crate::plan::change::Route::Graph { method, path, .. } if method == "PATCH" && path == "/v1.0/users/b")
        );
        // Ordered by id: "a" claims anna@, "b" finds anna@ and anna2@ taken.
        let to: Vec<(&str, &str, bool)> = plan
            .renames
            .iter()
            .map(|r| (r.target.id.as_str(), r.to.as_str(), r.collision.is_some()))
            .collect();
        assert_eq!(
            to,
            [
                ("a", "Anna@contoso.onmicrosoft.com", false),
                ("b", "anna3@contoso.onmicrosoft.com", true)
            ]
        );
        let applied_by: Vec<Option<&str>> =
            plan.renames.iter().map(|r| r.change.as_deref()).collect();
        assert_eq!(
            applied_by,
            [
                Some(plan.changes[0].id.as_str()),
                Some(plan.changes[1].id.as_str())
            ]
        );
        assert!(
            plan.flags.iter().all(|f| f.kind != "domain"),
            "a managed, non-default domain needs no person: {:#?}",
            plan.flags
        );
        // Same input, same plan (ids and order).
        assert_eq!(release_plan(&facts(), &entries, &directory), plan);
        let json = serde_json::to_string(&plan).unwrap();
        let back: Plan = serde_json::from_str(&json).unwrap();
        assert_eq!(back, plan);
        assert!(json.contains("\"version\":1"));
        assert!(render_text(&plan).contains("needs UPN change to anna3@contoso.onmicrosoft.com"));
    }

    #[test]
    fn long_local_parts_stay_within_64_after_a_suffix() {
        let local = "é".repeat(64);
        let directory = Directory::default();
        let mut names = Names::new("t.onmicrosoft.com", &directory);
        let (first, _) = names.claim(&local, "x");
        let (second, why) = names.claim(&local, "y");
        assert_ne!(first, second);
        assert!(why.is_some());
        assert_eq!(local_part(&second).chars().count(), 64);
    }

    #[test]
    fn group_primaries_move_through_exchange_and_unlicensed_users_old_primary_is_flagged() {
        let mut group = user(
            "g",
            "",
            &[("primarySmtpAddress", "SMTP:team@contoso.example")],
        );
        group.kind = Kind::DistributionGroup;
        group.user_principal_name = None;
        let mut person = user(
            "u",
            "ola@contoso.example",
            &[
                ("userPrincipalName", "ola@contoso.example"),
                ("primarySmtpAddress", "SMTP:Ola@contoso.example"),
            ],
        );
        person.licences = Some(0);
        let plan = release_plan(&facts(), &[group, person], &Directory::default());
        // The UPN moves through Graph, mailbox or not; the group's primary through
        // Set-DistributionGroup, then its old primary (now an alias) goes; the user's Exchange
        // side is flagged.
        let fields: Vec<(&str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.target.id.as_str(), c.field.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("u", "userPrincipalName"),
                ("g", "PrimarySmtpAddress"),
                ("g", "EmailAddresses"),
            ]
        );
        // The unlicensed user's aliases stay, so no removal Microsoft would refuse: a flag.
        assert!(
            plan.flags
                .iter()
                .any(|f| f.kind == "domain" && f.action.contains("1 unlicensed user")),
            "{:#?}",
            plan.flags
        );
        let Route::Exchange { cmdlet, params } = &plan.changes[1].route else {
            panic!("exchange");
        };
        assert_eq!(cmdlet, "Set-DistributionGroup");
        assert_eq!(
            params,
            &serde_json::json!({"Identity": "g", "PrimarySmtpAddress": "team@contoso.onmicrosoft.com"})
        );
        assert_eq!(
            plan.changes[2].before,
            serde_json::json!(["smtp:team@contoso.example"])
        );
        assert_eq!(plan.changes[2].prerequisites, [plan.changes[1].id.clone()]);
        let renames: Vec<(&str, &str, bool)> = plan
            .renames
            .iter()
            .map(|r| (r.target.id.as_str(), r.field.as_str(), r.change.is_some()))
            .collect();
        assert_eq!(
            renames,
            [
                ("u", "userPrincipalName", true),
                ("g", "PrimarySmtpAddress", true)
            ]
        );
        // What cutover cannot see: guests elsewhere (someone signs in with the domain) and
        // partners, as checks apart from the flags.
        let notices: Vec<&str> = plan.notices.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(notices, ["guest access elsewhere", "partner"]);
        assert!(
            plan.notices[0].rule.starts_with("1 person signs in"),
            "{:?}",
            plan.notices
        );
        assert!(render_text(&plan).contains("Check by hand"));
        assert!(
            plan.flags
                .iter()
                .any(|f| f.target.id == "u" && f.action.contains("smtp:Ola@contoso.example")),
            "{:#?}",
            plan.flags
        );
        let text = render_text(&plan);
        assert!(
            text.contains(&format!(
                "primary address team@contoso.example moves to team@contoso.onmicrosoft.com (change {})",
                plan.changes[1].id
            )),
            "{text}"
        );
        assert!(text.contains("via PATCH /users"), "{text}");
    }

    #[test]
    fn contacts_apps_and_federated_default_domains_are_flagged_not_changed() {
        let mut contact = user(
            "k",
            "",
            &[
                ("mail", "k@contoso.example"),
                ("primarySmtpAddress", "SMTP:k@contoso.example"),
            ],
        );
        contact.kind = Kind::Contact;
        contact.user_principal_name = None;
        let mut app = user("p", "", &[("identifierUri", "https://app.contoso.example")]);
        app.kind = Kind::Application;
        app.user_principal_name = None;
        let mut f = facts();
        f.domain_federated = true;
        f.domain_is_default = true;
        let entries = [contact, app];
        let plan = release_plan(&f, &entries, &Directory::default());
        // The default moves to the initial domain first; the removal waits for it.
        // The contact keeps the domain referenced: no removal, a flag instead.
        let fields: Vec<&str> = plan.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["defaultDomain"]);
        assert_eq!(plan.changes[0].target.id, "contoso.onmicrosoft.com");
        assert_eq!(plan.changes[0].before, "contoso.example");
        let kinds: Vec<&str> = plan.flags.iter().map(|f| f.kind.as_str()).collect();
        assert_eq!(kinds, ["contact", "application", "domain", "domain"]);
        // A federated domain cannot be force-deleted: refused before planning.
        assert!(
            force_delete_refusal(&f, &entries).is_some_and(|w| w.contains("federated")),
            "{:?}",
            force_delete_refusal(&f, &entries)
        );
    }

    /// A contact whose only addresses in the domain are aliases loses them through
    /// Set-MailContact and no longer blocks the removal; one that sends into the domain stays
    /// a flag (with its aliases: the person decides about the whole contact) and blocks it.
    #[test]
    fn contact_aliases_are_removed_and_contacts_sending_into_the_domain_flagged() {
        let contact = |id: &str, refs: &[(&'static str, &str)]| {
            let mut c = user(id, "", refs);
            c.kind = Kind::Contact;
            c.user_principal_name = None;
            c
        };
        let alias_only = contact(
            "k1",
            &[
                ("smtpAddress", "smtp:old@contoso.example"),
                (
                    "otherAddress",
                    "X500:/o=contoso.example/cn=k1@contoso.example",
                ),
            ],
        );
        let entries = [alias_only.clone()];
        let plan = release_plan(&facts(), &entries, &Directory::default());
        let removal = &plan.changes[0];
        assert_eq!(
            (removal.target.id.as_str(), removal.field.as_str()),
            ("k1", "EmailAddresses")
        );
        let Route::Exchange { cmdlet, params } = &removal.route else {
            panic!("an Exchange change: {removal:?}");
        };
        assert_eq!(cmdlet, CONTACT_CMDLET);
        assert_eq!(params["Identity"], "k1");
        assert_eq!(
            removal.before,
            serde_json::json!([
                "smtp:old@contoso.example",
                "X500:/o=contoso.example/cn=k1@contoso.example"
            ])
        );
        // Nothing left: the removal is planned, after the contact's change.
        let last = plan.changes.last().expect("removal");
        assert_eq!(last.field, "domain");
        assert_eq!(last.prerequisites, std::slice::from_ref(&removal.id));
        assert!(plan.flags.is_empty(), "{:#?}", plan.flags);

        let sending = contact(
            "k2",
            &[
                ("mail", "fwd@contoso.example"),
                ("primarySmtpAddress", "SMTP:fwd@contoso.example"),
                ("smtpAddress", "smtp:fwd2@contoso.example"),
            ],
        );
        let entries = [alias_only, sending];
        let plan = release_plan(&facts(), &entries, &Directory::default());
        let targets: Vec<&str> = plan.changes.iter().map(|c| c.target.id.as_str()).collect();
        assert_eq!(targets, ["k1"], "no change to k2 and no removal");
        let kinds: Vec<(&str, &str)> = plan
            .flags
            .iter()
            .map(|f| (f.target.id.as_str(), f.kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [("k2", "contact"), ("contoso.example", "domain")],
            "{:#?}",
            plan.flags
        );
        assert!(plan.flags[0].action.contains("fwd@contoso.example"));
        assert!(plan.flags[1].action.contains("(1 contact)"));
    }

    #[test]
    fn force_delete_only_when_asked_allowed_and_saying_disable_user_accounts() {
        let entries: Vec<Entry> = (0..=FORCE_DELETE_LIMIT)
            .map(|i| {
                user(
                    &format!("u{i:04}"),
                    "",
                    &[("smtpAddress", "smtp:x@contoso.example")],
                )
            })
            .collect();
        let refusal = force_delete_refusal(&facts(), &entries);
        assert!(
            refusal
                .as_deref()
                .is_some_and(|r| r.contains("1001 objects")),
            "{refusal:?}"
        );
        let few = entries.get(..3).unwrap();
        assert_eq!(force_delete_refusal(&facts(), few), None);
        let asked = ReleaseOptions {
            force_delete: Some(false),
        };
        let plan = release_plan_with(&facts(), few, &Directory::default(), asked);
        let last = plan.changes.last().unwrap();
        let Route::Graph { method, path, body } = &last.route else {
            panic!("graph");
        };
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("POST", "/v1.0/domains/contoso.example/forceDelete")
        );
        assert_eq!(
            body,
            &Some(serde_json::json!({"disableUserAccounts": false}))
        );
        assert_eq!(last.prerequisites.len(), plan.changes.len() - 1);
        assert!(render_text(&plan).contains("disableUserAccounts false"));
        // Not asked: a plain DELETE.
        let plain = release_plan(&facts(), few, &Directory::default());
        assert!(
            matches!(&plain.changes.last().unwrap().route, Route::Graph { method, .. } if method == "DELETE")
        );
    }

    #[test]
    fn removal_left_out_while_only_a_person_can_clear_the_domain() {
        let alias = |id: &str| user(id, "", &[("smtpAddress", "smtp:x@contoso.example")]);
        let mut synced = alias("s1");
        synced.synced = Some(true);
        let mut synced2 = alias("s2");
        synced2.synced = Some(true);
        let mut contact = user("k", "", &[("mail", "k@contoso.example")]);
        contact.kind = Kind::Contact;
        let entries = [alias("a"), synced, synced2, contact];
        let plan = release_plan(&facts(), &entries, &Directory::default());
        // Everything cutover can change is still planned; the removal is not.
        let fields: Vec<(&str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.target.id.as_str(), c.field.as_str()))
            .collect();
        assert_eq!(fields, [("a", "EmailAddresses")]);
        let blocked: Vec<&Flag> = plan.flags.iter().filter(|f| f.kind == "domain").collect();
        assert_eq!(blocked.len(), 1, "{:#?}", plan.flags);
        assert_eq!(blocked[0].rule, REMOVAL_BLOCKED);
        assert!(
            blocked[0]
                .action
                .starts_with("3 object(s) still reference contoso.example after this plan (1 contact, 2 synced users)"),
            "{}",
            blocked[0].action
        );
        assert!(blocked[0].action.contains("'cutover plan release' again"));
        assert!(blocked[0].action.contains("--force-delete"));
        // forceDelete renames the synced users but not the contact: still no removal.
        let forced = ReleaseOptions {
            force_delete: Some(false),
        };
        let plan = release_plan_with(&facts(), &entries, &Directory::default(), forced);
        assert!(plan.changes.iter().all(|c| c.field != "domain"));
        assert!(
            plan.flags
                .iter()
                .any(|f| f.kind == "domain" && f.action.starts_with("1 object(s) still reference contoso.example that forceDelete does not rename (1 contact)")),
            "{:#?}",
            plan.flags
        );
        // Without the contact, forceDelete is planned; without --force-delete still a flag.
        let no_contact = entries.get(..3).unwrap();
        let plan = release_plan_with(&facts(), no_contact, &Directory::default(), forced);
        assert!(plan.changes.last().is_some_and(|c| c.field == "domain"));
        let plain = release_plan(&facts(), no_contact, &Directory::default());
        assert!(plain.changes.iter().all(|c| c.field != "domain"));
    }

    #[test]
    fn application_uris_in_the_domain_become_api_app_id() {
        use crate::graph::model::Application;
        let uris = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // Each URI in the domain (host or under it) goes; one api://<appId> takes the place of
        // the first; others stay in order; an existing api://<appId> is not doubled.
        assert_eq!(
            without_domain_uris(
                &uris(&[
                    "https://intranet.contoso.example",
                    "https://x.contoso.onmicrosoft.com/a",
                    "api://contoso.example/intranet",
                ]),
                "contoso.example",
                "A1"
            ),
            uris(&["api://A1", "https://x.contoso.onmicrosoft.com/a"])
        );
        assert_eq!(
            without_domain_uris(
                &uris(&["api://A1", "https://contoso.example/api"]),
                "contoso.example",
                "A1"
            ),
            uris(&["api://A1"])
        );
        let mut app = user("p", "", &[("identifierUri", "https://app.contoso.example")]);
        app.kind = Kind::Application;
        app.user_principal_name = None;
        let directory = Directory {
            applications: vec![Application {
                id: "p".into(),
                app_id: Some("A1".into()),
                display_name: Some("App".into()),
                identifier_uris: uris(&["https://app.contoso.example", "api://other/A1"]),
                sign_in_audience: Some("AzureADMyOrg".into()),
                web: None,
            }],
            ..Directory::default()
        };
        let plan = release_plan(&facts(), &[app], &directory);
        let c = &plan.changes[0];
        assert_eq!(c.field, "identifierUris");
        assert_eq!(
            c.before,
            serde_json::json!(["https://app.contoso.example", "api://other/A1"])
        );
        assert_eq!(c.after, serde_json::json!(["api://A1", "api://other/A1"]));
        let Route::Graph { method, path, body } = &c.route else {
            panic!("graph");
        };
        assert_eq!(
            (method.as_str(), path.as_str()),
            ("PATCH", "/v1.0/applications/p")
        );
        assert_eq!(body, &Some(serde_json::json!({"identifierUris": c.after})));
        let crate::plan::change::Inverse::Apply {
            route: Route::Graph { body: undo, .. },
        } = &c.inverse
        else {
            panic!("inverse");
        };
        assert_eq!(undo, &Some(serde_json::json!({"identifierUris": c.before})));
        // Not a flag any more, so the removal follows, after it.
        assert!(plan.flags.is_empty(), "{:#?}", plan.flags);
        assert_eq!(plan.changes[1].field, "domain");
        assert_eq!(plan.changes[1].prerequisites, std::slice::from_ref(&c.id));
        assert!(render_text(&plan).contains("identifier URIs [https://app.contoso.example"));
    }

    /// A multitenant application's URIs still move to api://<appId> (allowed for any
    /// audience) before the removal, with a flag for the organisations using it; one whose
    /// URIs the plan cannot move refuses --force-delete, naming it.
    #[test]
    fn multitenant_applications_are_flagged_and_refuse_force_delete_when_left() {
        use crate::graph::model::Application;
        let mut entry = user("p", "", &[("identifierUri", "https://app.contoso.example")]);
        entry.kind = Kind::Application;
        entry.user_principal_name = None;
        let app = |audience: &str, app_id: Option<&str>| Application {
            id: "p".into(),
            app_id: app_id.map(str::to_string),
            display_name: Some("Partner portal".into()),
            identifier_uris: vec!["https://app.contoso.example".into()],
            sign_in_audience: Some(audience.into()),
            web: None,
        };
        let dir = |a: Application| Directory {
            applications: vec![a],
            ..Directory::default()
        };
        let entries = [entry];
        for audience in ["AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount"] {
            let d = dir(app(audience, Some("A1")));
            assert_eq!(multitenant_refusal(&facts(), &entries, &d), None);
            let forced = ReleaseOptions {
                force_delete: Some(false),
            };
            let plan = release_plan_with(&facts(), &entries, &d, forced);
            let fields: Vec<&str> = plan.changes.iter().map(|c| c.field.as_str()).collect();
            assert_eq!(fields, ["identifierUris", "domain"]);
            assert_eq!(plan.flags.len(), 1, "{:#?}", plan.flags);
            assert!(plan.flags[0].rule.contains("multitenant"));
            assert!(plan.flags[0].action.contains(audience));
            assert!(plan.flags[0].action.contains("api://A1"));
        }
        // Single-tenant: no flag.
        let plan = release_plan(&facts(), &entries, &dir(app("AzureADMyOrg", Some("A1"))));
        assert!(plan.flags.is_empty(), "{:#?}", plan.flags);
        // Listed without an appId: its URIs stay, so forceDelete would be refused.
        let d = dir(app("AzureADMultipleOrgs", None));
        let why = multitenant_refusal(&facts(), &entries, &d);
        assert!(
            why.as_deref().is_some_and(
                |w| w.contains("'Partner portal'") && w.contains("AzureADMultipleOrgs")
            ),
            "{why:?}"
        );
        let d = dir(app("AzureADMyOrg", None));
        assert_eq!(multitenant_refusal(&facts(), &entries, &d), None);
    }
}
