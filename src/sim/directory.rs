//! The generated directory of each tenant: organization, domains, users (including shared
//! mailboxes) and groups, all from the seed. Data lives in plain vectors in generation order so
//! that paging is deterministic and a page is served by slicing, never by copying the directory.

use std::collections::{HashMap, HashSet};

use super::names::{
    self, DEPARTMENTS, DESTINATION_COMPANIES, JOB_TITLES, LANGUAGES, OFFICES, SOURCE_COMPANIES,
};
use super::rng::Rng;

/// Microsoft 365 E3 and Business Premium SKU ids, as Graph reports them.
const SKU_E3: &str = "05e9a617-0261-4cee-bb44-138d3ef5d965";
const SKU_BUSINESS_PREMIUM: &str = "cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46";

/// When the generated objects were "created" (fixed, so output is reproducible).
const CREATED: &str = "2021-03-15T09:12:44Z";

#[derive(Debug, Clone)]
pub(crate) struct Domain {
    /// The domain name; also its Graph id.
    pub name: String,
    pub is_default: bool,
    pub is_initial: bool,
    pub is_verified: bool,
    /// `authenticationType` Federated (no forced deletion, no default).
    pub federated: bool,
    /// A removal under way (`DELETE` or `forceDelete`), shown in the domain's `state`.
    pub operation: Option<DomainOperation>,
}

/// Graph's `domainState` while a removal runs.
#[derive(Debug, Clone)]
pub(crate) struct DomainOperation {
    /// `ForceDelete`, or `Delete` (shown without a state, as Graph's enum has no such value).
    pub operation: &'static str,
    /// `lastActionDateTime`.
    pub since: String,
}

#[derive(Debug, Clone)]
pub(crate) struct User {
    pub id: String,
    pub display_name: String,
    pub given_name: Option<String>,
    pub surname: Option<String>,
    pub user_principal_name: String,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub proxy_addresses: Vec<String>,
    pub account_enabled: bool,
    pub on_premises_sync_enabled: Option<bool>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub office_location: Option<String>,
    pub business_phones: Vec<String>,
    pub mobile_phone: Option<String>,
    pub preferred_language: Option<String>,
    pub usage_location: Option<String>,
    pub sku_ids: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GroupKind {
    Distribution,
    Microsoft365,
    MailEnabledSecurity,
    Security,
}

#[derive(Debug, Clone)]
pub(crate) struct Group {
    pub id: String,
    pub display_name: String,
    pub description: String,
    pub kind: GroupKind,
    pub mail: Option<String>,
    pub mail_nickname: String,
    pub proxy_addresses: Vec<String>,
    pub on_premises_sync_enabled: Option<bool>,
    pub visibility: Option<&'static str>,
}

impl Group {
    pub(crate) fn mail_enabled(&self) -> bool {
        self.kind != GroupKind::Security
    }
    pub(crate) fn security_enabled(&self) -> bool {
        matches!(
            self.kind,
            GroupKind::MailEnabledSecurity | GroupKind::Security
        )
    }
    pub(crate) fn group_types(&self) -> &'static [&'static str] {
        if self.kind == GroupKind::Microsoft365 {
            &["Unified"]
        } else {
            &[]
        }
    }
}

/// One DKIM signing config: the domain it signs for and whether signing is on.
#[derive(Debug, Clone)]
pub(crate) struct Dkim {
    pub domain: String,
    pub enabled: bool,
}

impl Tenant {
    /// The CNAME targets Exchange names for `domain`'s two selectors (without the final dot),
    /// in the classic form: `selectorN-<domain with dashes>._domainkey.<initial domain>`.
    pub(crate) fn dkim_targets(&self, domain: &str) -> [String; 2] {
        let dashes = domain.to_ascii_lowercase().replace('.', "-");
        ["selector1", "selector2"]
            .map(|s| format!("{s}-{dashes}._domainkey.{}", self.initial_domain))
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Tenant {
    /// "source" or "destination".
    pub label: &'static str,
    pub name: String,
    pub id: String,
    pub initial_domain: String,
    pub client_id: String,
    pub client_secret: String,
    /// The `msNNNNNNNN` digits of this tenant's verification records.
    pub verification_digits: String,
    pub domains: Vec<Domain>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub contacts: Vec<super::extras::Contact>,
    pub applications: Vec<super::extras::Application>,
    /// Exchange's DKIM signing configs (`New-DkimSigningConfig`), one per domain at most.
    pub dkim: Vec<Dkim>,
    /// Enterprise applications: service principals, grants, app role assignments.
    pub access: super::access::Access,
    /// Lower-cased id and UPN → index into `users`.
    user_index: HashMap<String, usize>,
    /// Lower-cased id → index into `groups`.
    group_index: HashMap<String, usize>,
}

impl Tenant {
    pub(crate) fn domain(&self, name: &str) -> Option<&Domain> {
        self.domains
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }

    pub(crate) fn user(&self, key: &str) -> Option<&User> {
        self.user_index
            .get(&key.to_ascii_lowercase())
            .and_then(|&i| self.users.get(i))
    }

    pub(crate) fn group(&self, key: &str) -> Option<&Group> {
        self.group_index
            .get(&key.to_ascii_lowercase())
            .and_then(|&i| self.groups.get(i))
    }

    pub(crate) fn user_position(&self, key: &str) -> Option<usize> {
        self.user_index.get(&key.to_ascii_lowercase()).copied()
    }

    pub(crate) fn reindex(&mut self) {
        self.user_index.clear();
        for (i, u) in self.users.iter().enumerate() {
            self.user_index.insert(u.id.to_ascii_lowercase(), i);
            self.user_index
                .insert(u.user_principal_name.to_ascii_lowercase(), i);
        }
        self.group_index = self
            .groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.id.to_ascii_lowercase(), i))
            .collect();
    }
}

/// Does an address (`SMTP:a@b`, `SIP:a@b`, `a@b`) have exactly `domain` after the `@`?
pub(crate) fn address_in_domain(address: &str, domain: &str) -> bool {
    address
        .rsplit_once('@')
        .is_some_and(|(_, host)| host.eq_ignore_ascii_case(domain))
}

impl User {
    /// Whether the user references `domain` in its UPN, mail or any proxy address.
    pub(crate) fn references(&self, domain: &str) -> bool {
        address_in_domain(&self.user_principal_name, domain)
            || self
                .mail
                .as_deref()
                .is_some_and(|m| address_in_domain(m, domain))
            || self
                .proxy_addresses
                .iter()
                .any(|p| address_in_domain(p, domain))
    }
}

impl Group {
    pub(crate) fn references(&self, domain: &str) -> bool {
        self.mail
            .as_deref()
            .is_some_and(|m| address_in_domain(m, domain))
            || self
                .proxy_addresses
                .iter()
                .any(|p| address_in_domain(p, domain))
    }
}

/// `"Wide World"` → `"wideworld"`.
fn squash(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Longest local part (before the `@`) Entra ID and SMTP allow.
pub(crate) const MAX_LOCAL_PART: usize = 64;
/// Longest display name Entra ID allows.
pub(crate) const MAX_DISPLAY_NAME: usize = 256;

/// Hands out local parts that are unique in the tenant (Exchange refuses duplicate addresses,
/// compared without regard to case), suffixing digits on collision: `anna.berg`,
/// `anna.berg2`, … A suffix never pushes a local part past 64 characters.
#[derive(Default)]
struct LocalParts {
    taken: HashSet<String>,
    next_suffix: HashMap<String, u32>,
}

impl LocalParts {
    fn reserve(&mut self, local: &str) {
        self.taken.insert(local.to_lowercase());
    }

    fn unique(&mut self, base: &str) -> String {
        let base = cut_chars(base, MAX_LOCAL_PART);
        if self.taken.insert(base.to_lowercase()) {
            return base;
        }
        let n = self.next_suffix.entry(base.clone()).or_insert(1);
        loop {
            *n += 1;
            let suffix = n.to_string();
            let head = cut_chars(&base, MAX_LOCAL_PART - suffix.len());
            let candidate = format!("{}{suffix}", head.trim_end_matches(['.', '-']));
            if self.taken.insert(candidate.to_lowercase()) {
                return candidate;
            }
        }
    }
}

/// At most `max` characters of `text`, never ending in `.` or `-` (a local part cannot end in
/// a dot) nor in a space.
fn cut_chars(text: &str, max: usize) -> String {
    let cut: String = text.chars().take(max).collect();
    cut.trim_end_matches(['.', '-', ' ']).to_string()
}

/// Tags of the plus-addresses some people keep as aliases (`anna.berg+billing@…`).
const PLUS_TAGS: &[&str] = &["billing", "newsletter", "jobs", "crm", "shop"];

/// A display name at Entra's 256-character limit: a real name followed by the kind of
/// description some tenants put in it.
fn long_display_name(name: &str, department: &str, office: &str) -> String {
    let mut text = format!("{name} (extern) – {department}, Standort {office} –");
    let filler = " Übergangsprojekt Mandantenwechsel, Vertretung während der Umstellung";
    while text.chars().count() < MAX_DISPLAY_NAME {
        text.push_str(filler);
    }
    cut_chars(&text, MAX_DISPLAY_NAME)
}

/// The source tenant's shared mailboxes (local part, display name). They are user objects in
/// Graph, on top of the `users` people.
pub const SHARED_MAILBOXES: [(&str, &str); 3] =
    [("info", "Info"), ("sales", "Sales"), ("support", "Support")];

/// How much of the source tenant to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Scale {
    /// People (shared mailboxes come on top).
    pub users: usize,
    /// Team groups on top of the nine named ones the scenarios use.
    pub groups: usize,
    /// Organizational contacts; `None` is one per 20 people, at least 5.
    pub contacts: Option<usize>,
}

#[cfg(test)]
impl Scale {
    pub(crate) fn users(users: usize) -> Scale {
        Scale {
            users,
            groups: 0,
            contacts: None,
        }
    }
}

/// Both tenants generated from the options.
pub(crate) fn generate(seed: u64, scale: Scale, custom_domain: &str) -> [Tenant; 2] {
    let company = (seed.wrapping_sub(1) % SOURCE_COMPANIES.len() as u64) as usize;
    let source_company = SOURCE_COMPANIES[company];
    let dest_company = DESTINATION_COMPANIES[company % DESTINATION_COMPANIES.len()];
    let mut source = generate_source(seed, scale, custom_domain, source_company);
    let mut destination = generate_destination(seed, custom_domain, dest_company);
    // Third-party apps where the domain's mail is: the source.
    source.access = super::access::seed(seed, &source, true);
    destination.access = super::access::seed(seed, &destination, false);
    [source, destination]
}

fn tenant_shell(seed: u64, label: &'static str, name: String, initial_domain: String) -> Tenant {
    let mut ids = Rng::derive(seed, &format!("{label}/ids"));
    Tenant {
        label,
        name,
        id: ids.guid(),
        client_id: ids.guid(),
        client_secret: ids.client_secret(),
        verification_digits: ids.digits(8),
        initial_domain,
        domains: Vec::new(),
        users: Vec::new(),
        groups: Vec::new(),
        contacts: Vec::new(),
        applications: Vec::new(),
        dkim: Vec::new(),
        access: Default::default(),
        user_index: HashMap::new(),
        group_index: HashMap::new(),
    }
}

fn generate_source(seed: u64, scale: Scale, domain: &str, company: &str) -> Tenant {
    let count = scale.users;
    let initial = format!("{}src.onmicrosoft.com", squash(company));
    let mut t = tenant_shell(
        seed,
        "source",
        format!("{company} Source Ltd"),
        initial.clone(),
    );
    t.domains = vec![
        Domain {
            name: initial.clone(),
            is_default: false,
            is_initial: true,
            is_verified: true,
            federated: false,
            operation: None,
        },
        Domain {
            name: domain.to_string(),
            is_default: true,
            is_initial: false,
            is_verified: true,
            federated: false,
            operation: None,
        },
    ];
    // The zone serves the source's selector CNAMEs (sim::dns): its signing is on.
    t.dkim = vec![Dkim {
        domain: domain.to_string(),
        enabled: true,
    }];

    let mut rng = Rng::derive(seed, "source/users");
    let mut locals = LocalParts::default();
    // Shared mailboxes and groups own these; people get `info2` rather than a clash.
    let shared = SHARED_MAILBOXES;
    let groups = source_group_specs();
    for (local, _) in shared {
        locals.reserve(local);
    }
    for g in &groups {
        locals.reserve(g.nickname);
    }

    t.users.reserve(count + shared.len());
    for i in 0..count {
        let person = names::person(&mut rng);
        let department = *rng.pick(DEPARTMENTS);
        let office = *rng.pick(OFFICES);
        // A few people at the limits: a 256-character display name and a 64-character
        // local part (Entra's maxima).
        let at_limits = i % 997 == 13;
        let base = if at_limits {
            let long = format!(
                "{}.{}.{}.{}",
                person.local,
                squash(department),
                squash(office),
                "interim.project.transition.team"
            );
            let mut base = cut_chars(&long, MAX_LOCAL_PART);
            while base.chars().count() < MAX_LOCAL_PART {
                base.push('x');
            }
            base
        } else {
            person.local.clone()
        };
        let local = locals.unique(&base);
        let display_name = if at_limits {
            long_display_name(&person.display, department, office)
        } else {
            person.display.clone()
        };

        let has_mailbox = i % 25 != 24; // a few unlicensed accounts without a mailbox
        let upn_domain = if i % 10 == 9 {
            initial.as_str()
        } else {
            domain
        };
        let mail = has_mailbox.then(|| format!("{local}@{domain}"));
        let mut proxies = Vec::new();
        if has_mailbox {
            proxies.push(format!("SMTP:{local}@{domain}"));
            if rng.chance(70) {
                let short = locals.unique(&person.short);
                proxies.push(format!("smtp:{short}@{domain}"));
            }
            // Exchange Online keeps internationalised (EAI) addresses only as secondary
            // aliases, never as the primary address or the UPN; a few people have one.
            if let Some(native) = &person.native_local
                && rng.chance(10)
            {
                let eai = locals.unique(native);
                proxies.push(format!("smtp:{eai}@{domain}"));
            }
            if rng.chance(3) {
                let tag = rng.pick(PLUS_TAGS);
                let plus = locals.unique(&format!("{local}+{tag}"));
                proxies.push(format!("smtp:{plus}@{domain}"));
            }
            proxies.push(format!("smtp:{local}@{initial}"));
            if rng.chance(20) {
                proxies.push(format!("SIP:{local}@{domain}"));
            }
        }
        let sku_ids = if !has_mailbox {
            Vec::new()
        } else if rng.chance(80) {
            vec![SKU_E3]
        } else {
            vec![SKU_BUSINESS_PREMIUM]
        };
        t.users.push(User {
            id: rng.guid(),
            display_name,
            given_name: Some(person.given),
            surname: Some(person.family),
            user_principal_name: format!("{local}@{upn_domain}"),
            mail,
            mail_nickname: local.clone(),
            proxy_addresses: proxies,
            account_enabled: !rng.chance(3),
            on_premises_sync_enabled: (i % 20 == 7).then_some(true),
            job_title: Some(rng.pick(JOB_TITLES).to_string()),
            department: Some(department.to_string()),
            office_location: Some(office.to_string()),
            business_phones: if rng.chance(60) {
                vec![format!("+49 30 5550 {:04}", rng.below(10_000))]
            } else {
                Vec::new()
            },
            mobile_phone: rng
                .chance(25)
                .then(|| format!("+49 170 555 {:04}", rng.below(10_000))),
            preferred_language: Some(rng.pick(LANGUAGES).to_string()),
            usage_location: Some("DE".to_string()),
            sku_ids,
        });
    }

    for (local, display) in shared {
        t.users.push(User {
            id: rng.guid(),
            display_name: display.to_string(),
            given_name: None,
            surname: None,
            user_principal_name: format!("{local}@{domain}"),
            mail: Some(format!("{local}@{domain}")),
            mail_nickname: local.to_string(),
            proxy_addresses: vec![
                format!("SMTP:{local}@{domain}"),
                format!("smtp:{local}@{initial}"),
            ],
            // Shared mailboxes have their sign-in blocked.
            account_enabled: false,
            on_premises_sync_enabled: None,
            job_title: None,
            department: None,
            office_location: None,
            business_phones: Vec::new(),
            mobile_phone: None,
            preferred_language: None,
            usage_location: None,
            sku_ids: Vec::new(),
        });
    }

    let mut grng = Rng::derive(seed, "source/groups");
    for spec in groups {
        let nick = spec.nickname;
        let (mail, proxies) = if spec.kind == GroupKind::Security {
            (None, Vec::new())
        } else {
            let mut p = vec![
                format!("SMTP:{nick}@{domain}"),
                format!("smtp:{nick}@{initial}"),
            ];
            if spec.kind == GroupKind::Microsoft365 {
                // SharePoint's proxy on Microsoft 365 groups: not SMTP, must be left alone.
                let site = grng.guid();
                p.push(format!("SPO:SPO_{site}@SPO_{}", t.id));
            }
            (Some(format!("{nick}@{domain}")), p)
        };
        t.groups.push(Group {
            id: grng.guid(),
            display_name: spec.display.to_string(),
            description: spec.description.to_string(),
            kind: spec.kind,
            mail,
            mail_nickname: nick.to_string(),
            proxy_addresses: proxies,
            on_premises_sync_enabled: spec.synced.then_some(true),
            visibility: (spec.kind == GroupKind::Microsoft365).then_some(spec.visibility),
        });
    }
    team_groups(&mut t, seed, scale.groups, domain, &initial, &mut locals);
    let contacts = scale.contacts.unwrap_or((count / 20).max(5));
    t.contacts = super::extras::contacts(seed, contacts, domain);
    t.applications = super::extras::applications(seed, domain, &initial);
    t.reindex();
    t
}

/// `n` generated team groups after the named ones: a mix of kinds like a large tenant's
/// (distribution lists, Microsoft 365 groups, mail-enabled and plain security groups), with
/// nicknames unique among all addresses. A separate stream, so the named groups and the users
/// stay the same whatever `n` is.
fn team_groups(
    t: &mut Tenant,
    seed: u64,
    n: usize,
    domain: &str,
    initial: &str,
    locals: &mut LocalParts,
) {
    let mut rng = Rng::derive(seed, "source/team-groups");
    t.groups.reserve(n);
    for i in 0..n {
        let department = *rng.pick(DEPARTMENTS);
        let office = *rng.pick(OFFICES);
        let kind = match rng.below(20) {
            0..=7 => GroupKind::Distribution,
            8..=14 => GroupKind::Microsoft365,
            15..=17 => GroupKind::MailEnabledSecurity,
            _ => GroupKind::Security,
        };
        let nick = locals.unique(&squash(&format!("{department}{office}")));
        let (mail, proxies) = if kind == GroupKind::Security {
            (None, Vec::new())
        } else {
            let mut p = vec![
                format!("SMTP:{nick}@{domain}"),
                format!("smtp:{nick}@{initial}"),
            ];
            if kind == GroupKind::Microsoft365 {
                let site = rng.guid();
                p.push(format!("SPO:SPO_{site}@SPO_{}", t.id));
            }
            (Some(format!("{nick}@{domain}")), p)
        };
        t.groups.push(Group {
            id: rng.guid(),
            display_name: format!("{department} {office} {}", i + 1),
            description: format!("{department} team in {office}"),
            kind,
            mail,
            mail_nickname: nick,
            proxy_addresses: proxies,
            on_premises_sync_enabled: (i % 5 == 2).then_some(true),
            visibility: (kind == GroupKind::Microsoft365).then_some(if i % 3 == 0 {
                "Private"
            } else {
                "Public"
            }),
        });
    }
}

struct GroupSpec {
    display: &'static str,
    nickname: &'static str,
    description: &'static str,
    kind: GroupKind,
    synced: bool,
    visibility: &'static str,
}

fn source_group_specs() -> Vec<GroupSpec> {
    let g = |display, nickname, description, kind, synced, visibility| GroupSpec {
        display,
        nickname,
        description,
        kind,
        synced,
        visibility,
    };
    use GroupKind::*;
    vec![
        g(
            "All Staff",
            "allstaff",
            "Everyone in the company",
            Distribution,
            false,
            "",
        ),
        g(
            "Marketing Team",
            "marketing",
            "Marketing announcements",
            Distribution,
            false,
            "",
        ),
        g(
            "Finance",
            "finance",
            "Finance department",
            Distribution,
            true,
            "",
        ),
        g(
            "Project Phoenix",
            "phoenix",
            "Project Phoenix workspace",
            Microsoft365,
            false,
            "Private",
        ),
        g(
            "Sales Team",
            "salesteam",
            "Sales collaboration",
            Microsoft365,
            false,
            "Public",
        ),
        g(
            "Leadership",
            "leadership",
            "Leadership team",
            Microsoft365,
            false,
            "Private",
        ),
        g(
            "IT Admins",
            "itadmins",
            "IT administrators",
            MailEnabledSecurity,
            false,
            "",
        ),
        g(
            "HR Confidential",
            "hr-confidential",
            "HR restricted access",
            MailEnabledSecurity,
            false,
            "",
        ),
        g(
            "VPN Users",
            "vpn-users",
            "Allowed to use the VPN",
            Security,
            false,
            "",
        ),
    ]
}

fn generate_destination(seed: u64, custom_domain: &str, company: &str) -> Tenant {
    let initial = format!("{}dst.onmicrosoft.com", squash(company));
    let mut t = tenant_shell(
        seed,
        "destination",
        format!("{company} Destination"),
        initial.clone(),
    );
    t.domains = vec![
        Domain {
            name: initial.clone(),
            is_default: true,
            is_initial: true,
            is_verified: true,
            federated: false,
            operation: None,
        },
        // Added a week before the cutover; verification waits until the source releases it.
        Domain {
            name: custom_domain.to_string(),
            is_default: false,
            is_initial: false,
            is_verified: false,
            federated: false,
            operation: None,
        },
    ];
    let mut rng = Rng::derive(seed, "destination/users");
    let mut locals = LocalParts::default();
    let mut people: Vec<(String, Option<String>, Option<String>, String)> =
        vec![("Admin".into(), None, None, locals.unique("admin"))];
    for _ in 0..4 {
        let person = names::person(&mut rng);
        let local = locals.unique(&person.local);
        people.push((
            person.display,
            Some(person.given),
            Some(person.family),
            local,
        ));
    }
    for (display, given, surname, local) in people {
        t.users.push(User {
            id: rng.guid(),
            display_name: display,
            given_name: given,
            surname,
            user_principal_name: format!("{local}@{initial}"),
            mail: Some(format!("{local}@{initial}")),
            mail_nickname: local.clone(),
            proxy_addresses: vec![format!("SMTP:{local}@{initial}")],
            account_enabled: true,
            on_premises_sync_enabled: None,
            job_title: Some(rng.pick(JOB_TITLES).to_string()),
            department: Some(rng.pick(DEPARTMENTS).to_string()),
            office_location: Some(rng.pick(OFFICES).to_string()),
            business_phones: Vec::new(),
            mobile_phone: None,
            preferred_language: Some("en-US".to_string()),
            usage_location: Some("DE".to_string()),
            sku_ids: vec![SKU_E3],
        });
    }
    let site = rng.guid();
    t.groups.push(Group {
        id: rng.guid(),
        display_name: format!("{company} All Company"),
        description: "Everyone in the destination tenant".to_string(),
        kind: GroupKind::Microsoft365,
        mail: Some(format!("allcompany@{initial}")),
        mail_nickname: "allcompany".to_string(),
        proxy_addresses: vec![
            format!("SMTP:allcompany@{initial}"),
            format!("SPO:SPO_{site}@SPO_{}", t.id),
        ],
        on_premises_sync_enabled: None,
        visibility: Some("Public"),
    });
    t.reindex();
    t
}

/// No object synced from on-premises (a tenant without Entra Connect). A pass over the
/// generated tenant, so names and ids stay those of the same seed with sync.
pub(crate) fn cloud_only(t: &mut Tenant) {
    t.users
        .iter_mut()
        .for_each(|u| u.on_premises_sync_enabled = None);
    t.groups
        .iter_mut()
        .for_each(|g| g.on_premises_sync_enabled = None);
}

/// Copy every source mailbox (people and shared) and mail-enabled group into `dest` the way a
/// tenant-to-tenant migration leaves them before the cutover: new ids, the same display name
/// and local part, every address in the destination's initial domain. Local parts already
/// taken in the destination (its own admin, …) get the next free one, so some objects do not
/// match by name: the adopt plan must flag them, not guess.
pub(crate) fn migrate_mailboxes(seed: u64, source: &Tenant, dest: &mut Tenant) {
    let mut rng = Rng::derive(seed, "destination/migrated");
    let initial = dest.initial_domain.clone();
    let mut locals = LocalParts::default();
    for u in &dest.users {
        locals.unique(&u.mail_nickname);
    }
    for g in &dest.groups {
        locals.unique(&g.mail_nickname);
    }
    for u in source.users.iter().filter(|u| u.mail.is_some()) {
        let local = locals.unique(&u.mail_nickname);
        let address = format!("{local}@{initial}");
        dest.users.push(User {
            id: rng.guid(),
            user_principal_name: address.clone(),
            mail: Some(address.clone()),
            mail_nickname: local,
            proxy_addresses: vec![format!("SMTP:{address}")],
            on_premises_sync_enabled: None,
            ..u.clone()
        });
    }
    for g in source.groups.iter().filter(|g| g.mail.is_some()) {
        let local = locals.unique(&g.mail_nickname);
        let address = format!("{local}@{initial}");
        dest.groups.push(Group {
            id: rng.guid(),
            mail: Some(address.clone()),
            mail_nickname: local,
            proxy_addresses: vec![format!("SMTP:{address}")],
            on_premises_sync_enabled: None,
            ..g.clone()
        });
    }
    dest.reindex();
}

pub(crate) fn created_date_time() -> &'static str {
    CREATED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_unique_and_realistic() {
        let [a, b] = generate(1, Scale::users(300), "contoso.example");
        let [a2, _] = generate(1, Scale::users(300), "contoso.example");
        assert_eq!(a.id, a2.id);
        assert_eq!(
            a.users[17].user_principal_name,
            a2.users[17].user_principal_name
        );
        assert_eq!(a.name, "Fabrikam Source Ltd");
        assert_eq!(a.initial_domain, "fabrikamsrc.onmicrosoft.com");
        assert_eq!(b.initial_domain, "northwinddst.onmicrosoft.com");
        assert_ne!(a.id, b.id);
        assert_eq!(a.users.len(), 303);
        assert_eq!(b.users.len(), 5);

        let mut addrs = HashSet::new();
        for p in a.users.iter().flat_map(|u| u.proxy_addresses.iter()) {
            if let Some((kind, address)) = p.split_once(':')
                && kind.eq_ignore_ascii_case("smtp")
            {
                assert!(addrs.insert(address.to_lowercase()), "duplicate {p}");
            }
        }
        let upns: HashSet<_> = a.users.iter().map(|u| &u.user_principal_name).collect();
        assert_eq!(upns.len(), a.users.len());
        assert!(
            a.users[9]
                .user_principal_name
                .ends_with("@fabrikamsrc.onmicrosoft.com")
        );
        assert!(a.users[0].user_principal_name.ends_with("@contoso.example"));
        assert!(a.user(&a.users[5].id.to_uppercase()).is_some());
        assert!(b.users.iter().all(|u| !u.references("contoso.example")));
        assert!(
            a.groups
                .iter()
                .any(|g| g.kind == GroupKind::Security && g.mail.is_none())
        );
    }

    #[test]
    fn large_directory_has_unique_addresses() {
        let [a, _] = generate(
            7,
            Scale {
                users: 100_000,
                groups: 20_000,
                contacts: Some(5_000),
            },
            "contoso.example",
        );
        assert_eq!(a.users.len(), 100_003);
        assert_eq!(a.groups.len(), 20_009);
        assert_eq!(a.contacts.len(), 5_000);
        let mut addrs = HashSet::new();
        for p in a
            .users
            .iter()
            .flat_map(|u| u.proxy_addresses.iter())
            .chain(a.groups.iter().flat_map(|g| g.proxy_addresses.iter()))
        {
            if let Some((kind, address)) = p.split_once(':')
                && kind.eq_ignore_ascii_case("smtp")
            {
                assert!(addrs.insert(address.to_lowercase()), "duplicate {p}");
            }
        }
        let ids: HashSet<_> = a.groups.iter().map(|g| &g.id).collect();
        assert_eq!(ids.len(), a.groups.len());
        let upns: HashSet<_> = a
            .users
            .iter()
            .map(|u| u.user_principal_name.to_ascii_lowercase())
            .collect();
        assert_eq!(upns.len(), a.users.len());
    }

    /// Entra's rule for a UPN's local part: `A–Z a–z 0–9 ' . - _ ! # ^ ~`, at most 64
    /// characters, no dot right before the `@` (nor at the start, nor two in a row).
    fn entra_upn_local_part(local: &str) -> bool {
        !local.is_empty()
            && local.len() <= MAX_LOCAL_PART
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
    }

    #[test]
    fn names_look_like_a_real_tenant_and_obey_entra() {
        let [a, b] = generate(1, Scale::users(2_000), "contoso.example");
        let people: Vec<&User> = a.users.iter().chain(&b.users).collect();
        for u in &people {
            let (local, host) = u.user_principal_name.split_once('@').unwrap();
            assert!(entra_upn_local_part(local), "UPN {}", u.user_principal_name);
            assert!(host.len() <= 48 && u.user_principal_name.len() <= 113);
            assert!(u.display_name.chars().count() <= MAX_DISPLAY_NAME);
            assert!(u.mail.as_deref().is_none_or(str::is_ascii), "{:?}", u.mail);
            for p in &u.proxy_addresses {
                let (_, address) = p.split_once(':').unwrap();
                let (local, _) = address.rsplit_once('@').unwrap();
                assert!(local.chars().count() <= MAX_LOCAL_PART, "{p}");
                // The primary address is always ASCII: EAI addresses are aliases only.
                assert!(!p.starts_with("SMTP:") || p.is_ascii(), "{p}");
            }
        }
        let any_user = |f: &dyn Fn(&User) -> bool| a.users.iter().any(f);
        let any_proxy = |f: &dyn Fn(&str) -> bool| {
            a.users
                .iter()
                .flat_map(|u| &u.proxy_addresses)
                .any(|p| f(p))
        };
        assert!(any_user(&|u| u.display_name.contains(['ü', 'ö', 'ä', 'ß'])));
        assert!(any_user(&|u| u
            .display_name
            .contains(['ø', 'å', 'é', 'ç', 'ł'])));
        assert!(any_user(&|u| u
            .display_name
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))));
        assert!(any_user(&|u| u
            .display_name
            .chars()
            .any(|c| ('\u{370}'..='\u{3ff}').contains(&c))));
        assert!(any_user(&|u| u
            .display_name
            .chars()
            .any(|c| ('\u{400}'..='\u{4ff}').contains(&c))));
        assert!(any_user(&|u| u.user_principal_name.contains('\'')));
        assert!(any_user(
            &|u| u.display_name.chars().count() == MAX_DISPLAY_NAME
        ));
        assert!(any_user(&|u| {
            u.user_principal_name.split_once('@').unwrap().0.len() == MAX_LOCAL_PART
        }));
        assert!(any_proxy(&|p| p.starts_with("smtp:") && !p.is_ascii()));
        assert!(any_proxy(&|p| p.starts_with("smtp:") && p.contains('+')));
        // Japanese, Chinese and Korean names are written family name first, without a space.
        assert!(any_user(&|u| {
            u.display_name
                .starts_with(u.surname.as_deref().unwrap_or("-"))
                && !u.display_name.contains(' ')
        }));
    }

    #[test]
    fn local_parts_stay_unique_and_within_64_characters() {
        let mut l = LocalParts::default();
        let long = "a".repeat(70);
        let first = l.unique(&long);
        assert_eq!(first.len(), MAX_LOCAL_PART);
        for _ in 0..20 {
            let next = l.unique(&long);
            assert!(next.len() <= MAX_LOCAL_PART, "{next}");
            assert_ne!(next, first);
        }
        assert_eq!(l.unique("Jürgen.Müller"), "Jürgen.Müller");
        // Exchange compares addresses without regard to case.
        assert_eq!(l.unique("jürgen.müller"), "jürgen.müller2");
        assert_eq!(l.unique("ends.with.dot."), "ends.with.dot");
    }
}
