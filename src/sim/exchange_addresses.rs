//! The rehearsal's Exchange view of the directory: users, groups and contacts as Exchange
//! recipients (from the same data Graph serves), identity lookup, and the proxy-address edits
//! of `Set-Mailbox` / `Set-DistributionGroup` / `Set-UnifiedGroup` / `Set-MailContact` with
//! Exchange's rules.

use serde_json::{Value, json};

use super::directory::{GroupKind, Tenant, User};

/// Which object an Exchange identity named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Target {
    User(usize),
    Group(usize),
    Contact(usize),
}

/// The cmdlet family that may see an object (`Get-Mailbox` sees only mailboxes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Family {
    Recipient,
    Mailbox,
    DistributionGroup,
    UnifiedGroup,
    MailContact,
}

fn user_details(u: &User) -> &'static str {
    // Shared mailboxes carry no licence; people with a mailbox have one.
    if u.sku_ids.is_empty() {
        "SharedMailbox"
    } else {
        "UserMailbox"
    }
}

fn group_details(kind: GroupKind) -> Option<&'static str> {
    match kind {
        GroupKind::Distribution => Some("MailUniversalDistributionGroup"),
        GroupKind::MailEnabledSecurity => Some("MailUniversalSecurityGroup"),
        GroupKind::Microsoft365 => Some("GroupMailbox"),
        GroupKind::Security => None,
    }
}

fn primary_of(proxies: &[String]) -> String {
    proxies
        .iter()
        .find_map(|p| p.strip_prefix("SMTP:"))
        .unwrap_or_default()
        .to_string()
}

fn in_family(t: &Tenant, target: Target, family: Family) -> bool {
    match (target, family) {
        (Target::User(i), Family::Recipient | Family::Mailbox) => t.users[i].mail.is_some(),
        (Target::Group(i), Family::Recipient) => group_details(t.groups[i].kind).is_some(),
        (Target::Group(i), Family::DistributionGroup) => matches!(
            t.groups[i].kind,
            GroupKind::Distribution | GroupKind::MailEnabledSecurity
        ),
        (Target::Group(i), Family::UnifiedGroup) => t.groups[i].kind == GroupKind::Microsoft365,
        (Target::Contact(_), Family::Recipient | Family::MailContact) => true,
        _ => false,
    }
}

/// Every object of the family, in directory order (users, groups, contacts).
pub(super) fn all(t: &Tenant, family: Family) -> Vec<Target> {
    let users = (0..t.users.len()).map(Target::User);
    let groups = (0..t.groups.len()).map(Target::Group);
    let contacts = (0..t.contacts.len()).map(Target::Contact);
    users
        .chain(groups)
        .chain(contacts)
        .filter(|&x| in_family(t, x, family))
        .collect()
}

fn bare(address: &str) -> &str {
    match address.split_once(':') {
        Some((p, rest)) if !p.contains('@') => rest,
        _ => address,
    }
}

fn proxies(t: &Tenant, target: Target) -> &[String] {
    match target {
        Target::User(i) => &t.users[i].proxy_addresses,
        Target::Group(i) => &t.groups[i].proxy_addresses,
        Target::Contact(i) => &t.contacts[i].proxy_addresses,
    }
}

/// Exchange resolves an identity by object id, alias, user principal name, display name of a
/// group or any of the recipient's addresses.
pub(super) fn find(t: &Tenant, identity: &str, family: Family) -> Option<Target> {
    let key = bare(identity.trim());
    let hit = |target: Target| {
        let (id, alias, extra) = match target {
            Target::User(i) => (
                &t.users[i].id,
                t.users[i].mail_nickname.as_str(),
                t.users[i].user_principal_name.as_str(),
            ),
            Target::Group(i) => (
                &t.groups[i].id,
                t.groups[i].mail_nickname.as_str(),
                t.groups[i].display_name.as_str(),
            ),
            Target::Contact(i) => (&t.contacts[i].id, "", ""),
        };
        id.eq_ignore_ascii_case(key)
            || (!alias.is_empty() && alias.eq_ignore_ascii_case(key))
            || (!extra.is_empty() && extra.eq_ignore_ascii_case(key))
            || proxies(t, target)
                .iter()
                .any(|p| bare(p).eq_ignore_ascii_case(key))
    };
    all(t, family).into_iter().find(|&x| hit(x))
}

/// `RecipientTypeDetails` of an object.
pub(super) fn details(t: &Tenant, target: Target) -> &'static str {
    match target {
        Target::User(i) => user_details(&t.users[i]),
        Target::Group(i) => group_details(t.groups[i].kind).unwrap_or("Group"),
        Target::Contact(_) => "MailContact",
    }
}

/// A recipient the way `Get-Recipient` / `Get-Mailbox` print it.
pub(super) fn render(t: &Tenant, target: Target) -> Value {
    let (id, alias, display, details, proxies) = match target {
        Target::User(i) => {
            let u = &t.users[i];
            (
                &u.id,
                u.mail_nickname.as_str(),
                u.display_name.as_str(),
                user_details(u),
                &u.proxy_addresses,
            )
        }
        Target::Group(i) => {
            let g = &t.groups[i];
            (
                &g.id,
                g.mail_nickname.as_str(),
                g.display_name.as_str(),
                group_details(g.kind).unwrap_or("Group"),
                &g.proxy_addresses,
            )
        }
        Target::Contact(i) => {
            let c = &t.contacts[i];
            (
                &c.id,
                "",
                c.display_name.as_str(),
                "MailContact",
                &c.proxy_addresses,
            )
        }
    };
    let primary = primary_of(proxies);
    let mut v = json!({
        "Identity": if alias.is_empty() { id.as_str() } else { alias },
        "Name": if alias.is_empty() { id.as_str() } else { alias },
        "Alias": alias,
        "DisplayName": display,
        "RecipientTypeDetails": details,
        "PrimarySmtpAddress": primary,
        "EmailAddresses": proxies,
        "ExternalDirectoryObjectId": id,
    });
    if let Target::Contact(i) = target {
        v["ExternalEmailAddress"] = json!(t.contacts[i].external);
    }
    if let Target::User(i) = target {
        v["UserPrincipalName"] = json!(t.users[i].user_principal_name);
        v["WindowsEmailAddress"] = json!(primary);
        let (smtp, keep) = forwarding(&t.users[i]);
        v["ForwardingAddress"] = Value::Null;
        v["ForwardingSmtpAddress"] = json!(smtp);
        v["DeliverToMailboxAndForward"] = json!(keep);
    }
    v
}

/// Some mailboxes forward outside (one in eight, fixed by the id), half of them keeping a
/// copy: what a snapshot must carry over. Exchange prints the address with `smtp:`.
fn forwarding(u: &User) -> (Option<String>, bool) {
    let h = u.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    if h % 8 == 0 {
        (
            Some(format!("smtp:{}@fabrikam.example", u.mail_nickname)),
            h % 16 == 0,
        )
    } else {
        (None, false)
    }
}

/// A refused change: the .NET exception Exchange would name and its text.
#[derive(Debug)]
pub(super) struct Refusal {
    pub exception: &'static str,
    pub message: String,
}

/// What a `Set-…` call asks for.
#[derive(Debug, Default)]
pub(super) struct AddressEdit {
    pub add: Vec<String>,
    pub remove: Vec<String>,
    /// `-EmailAddresses a,b` without a hashtable replaces the whole list.
    pub replace: Option<Vec<String>>,
    /// `-WindowsEmailAddress` / `-PrimarySmtpAddress`.
    pub primary: Option<String>,
}

/// `smtp:` for bare addresses; the prefix case (SMTP = primary) is kept.
fn with_prefix(a: &str) -> String {
    match a.split_once(':') {
        Some((p, _)) if !p.contains('@') => a.to_string(),
        _ => format!("smtp:{a}"),
    }
}

/// Same proxy address: same prefix type (ignoring case) and same address (ignoring case).
fn same(a: &str, b: &str) -> bool {
    let (pa, ra) = with_prefix(a)
        .split_once(':')
        .map(|(p, r)| (p.to_ascii_lowercase(), r.to_ascii_lowercase()))
        .unwrap_or_default();
    let (pb, rb) = with_prefix(b)
        .split_once(':')
        .map(|(p, r)| (p.to_ascii_lowercase(), r.to_ascii_lowercase()))
        .unwrap_or_default();
    pa == pb && ra == rb
}

fn is_smtp(a: &str) -> bool {
    with_prefix(a)
        .split_once(':')
        .is_some_and(|(p, _)| p.eq_ignore_ascii_case("smtp"))
}

fn display_of(t: &Tenant, target: Target) -> &str {
    match target {
        Target::User(i) => &t.users[i].display_name,
        Target::Group(i) => &t.groups[i].display_name,
        Target::Contact(i) => &t.contacts[i].display_name,
    }
}

/// A mailbox synced from on-premises is mastered there: Exchange Online refuses to change its
/// addresses (`System.InvalidOperationException`, in Exchange Online's words, naming the
/// cmdlet, the parameter and the mailbox by display name).
pub(super) fn synced_refusal(
    t: &Tenant,
    target: Target,
    cmdlet: &str,
    e: &AddressEdit,
    primary_param: &str,
) -> Option<Refusal> {
    let Target::User(i) = target else {
        return None;
    };
    let u = &t.users[i];
    if u.on_premises_sync_enabled != Some(true) {
        return None;
    }
    let parameter =
        if e.primary.is_some() && e.add.is_empty() && e.remove.is_empty() && e.replace.is_none() {
            primary_param
        } else {
            "EmailAddresses"
        };
    let name = &u.display_name;
    Some(Refusal {
        exception: "System.InvalidOperationException",
        message: format!(
            "The operation on mailbox \"{name}\" failed because it's out of the current user's write scope. The action '{cmdlet}', '{parameter}', can't be performed on the object '{name}' because the object is being synchronized from your on-premises organization. This action should be performed on the object in your on-premises organization."
        ),
    })
}

/// The new proxy list (and whether it differs), or Exchange's refusal. Rules: added SMTP
/// addresses must be in an accepted domain and unused by any other recipient; exactly one
/// primary must remain (removing it without naming another is refused).
pub(super) fn edit(
    t: &Tenant,
    target: Target,
    e: &AddressEdit,
) -> Result<(Vec<String>, bool), Refusal> {
    let before = proxies(t, target).to_vec();
    let mut list = before.clone();
    let mut added: Vec<String> = Vec::new();
    if let Some(all) = &e.replace {
        list = all.iter().map(|a| with_prefix(a)).collect();
        if !list.iter().any(|a| a.starts_with("SMTP:"))
            && let Some(first) = list.iter_mut().find(|a| is_smtp(a))
        {
            *first = format!("SMTP:{}", bare(first));
        }
        added.extend(
            list.iter()
                .filter(|a| !before.iter().any(|b| same(a, b)))
                .cloned(),
        );
    } else {
        list.retain(|a| !e.remove.iter().any(|r| same(a, r)));
        for a in &e.add {
            let a = with_prefix(a);
            if list.iter().any(|x| same(x, &a)) {
                continue;
            }
            if a.starts_with("SMTP:") {
                demote(&mut list);
            }
            added.push(a.clone());
            list.push(a);
        }
    }
    if let Some(p) = &e.primary {
        let p = bare(p).to_string();
        demote(&mut list);
        match list
            .iter_mut()
            .find(|a| is_smtp(a) && bare(a).eq_ignore_ascii_case(&p))
        {
            Some(a) => *a = format!("SMTP:{}", bare(a)),
            None => {
                added.push(format!("SMTP:{p}"));
                list.push(format!("SMTP:{p}"));
            }
        }
    }
    for a in added.iter().filter(|a| is_smtp(a)) {
        let address = bare(a);
        let Some((_, host)) = address.rsplit_once('@') else {
            return Err(Refusal {
                exception: "Microsoft.Exchange.Data.DataValidationException",
                message: format!(
                    "The email address \"{address}\" isn't correct. Please use this format: user name, the @ sign, followed by the domain name."
                ),
            });
        };
        if !t
            .domains
            .iter()
            .any(|d| d.is_verified && d.name.eq_ignore_ascii_case(host))
        {
            return Err(Refusal {
                exception: "Microsoft.Exchange.Data.DataValidationException",
                message: format!(
                    "The domain '{host}' of the address \"{address}\" isn't an accepted domain of this organization."
                ),
            });
        }
        if let Some(other) = all(t, Family::Recipient)
            .into_iter()
            .filter(|&x| x != target)
            .find(|&x| {
                proxies(t, x)
                    .iter()
                    .any(|p| is_smtp(p) && bare(p).eq_ignore_ascii_case(address))
            })
        {
            return Err(Refusal {
                exception: "Microsoft.Exchange.Data.Directory.ProxyAddressExistsException",
                message: format!(
                    "The proxy address \"SMTP:{address}\" is already being used by the proxy addresses or LegacyExchangeDN of \"{}\". Please choose another proxy address.",
                    display_of(t, other)
                ),
            });
        }
    }
    // A mail contact's external address (where its mail goes) stays among its addresses;
    // Exchange refuses an edit that drops it: -ExternalEmailAddress changes it.
    if let Target::Contact(i) = target {
        let external = &t.contacts[i].external;
        if !list
            .iter()
            .any(|a| is_smtp(a) && bare(a).eq_ignore_ascii_case(bare(external)))
        {
            return Err(Refusal {
                exception: "Microsoft.Exchange.Data.DataValidationException",
                message: format!(
                    "The external email address \"{}\" of \"{}\" can't be removed from its email addresses. Use -ExternalEmailAddress to change where the contact's mail goes.",
                    bare(external),
                    t.contacts[i].display_name
                ),
            });
        }
    }
    let primaries = list.iter().filter(|a| a.starts_with("SMTP:")).count();
    if primaries != 1 {
        let old = primary_of(&before);
        return Err(Refusal {
            exception: "Microsoft.Exchange.Data.DataValidationException",
            message: format!(
                "The primary SMTP address \"{old}\" can't be removed unless another address is made primary first (use -WindowsEmailAddress or -PrimarySmtpAddress)."
            ),
        });
    }
    let changed = list != before;
    Ok((list, changed))
}

fn demote(list: &mut [String]) {
    for a in list.iter_mut() {
        if let Some(rest) = a.strip_prefix("SMTP:") {
            *a = format!("smtp:{rest}");
        }
    }
}

/// The directory id of a recipient (what the mutation counters key on).
pub(super) fn object_id(t: &Tenant, target: Target) -> String {
    match target {
        Target::User(i) => t.users[i].id.clone(),
        Target::Group(i) => t.groups[i].id.clone(),
        Target::Contact(i) => t.contacts[i].id.clone(),
    }
}

/// Store an accepted edit: proxies and `mail` (the primary) together, as Exchange syncs both
/// to the directory Graph reads.
pub(super) fn store(t: &mut Tenant, target: Target, list: Vec<String>) -> Option<(bool, String)> {
    let primary = primary_of(&list);
    match target {
        Target::User(i) => {
            let u = &mut t.users[i];
            u.proxy_addresses = list;
            u.mail = Some(primary);
            Some((true, u.id.clone()))
        }
        Target::Group(i) => {
            let g = &mut t.groups[i];
            g.proxy_addresses = list;
            g.mail = Some(primary);
            Some((false, g.id.clone()))
        }
        Target::Contact(i) => {
            // Contacts are not in the users/groups delta: stored, nothing to announce.
            let c = &mut t.contacts[i];
            c.proxy_addresses = list;
            c.mail = Some(primary);
            None
        }
    }
}
