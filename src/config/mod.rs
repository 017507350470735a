//! `config.toml`: the tenant profiles (the source always, the destination when there is one),
//! the domain being moved (or given with `--domain`) and the nameservers to watch.
//! Parsing is strict and reports every problem with its line; environment variables override
//! the file (see [`ENV_OVERRIDES`]).

mod cloud;
mod template;

pub use cloud::{Cloud, CloudEndpoints};
pub use template::TEMPLATE;

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Which side of the move a profile signs in to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Source,
    Destination,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Destination => "destination",
        }
    }
    fn env_prefix(self) -> &'static str {
        match self {
            Side::Source => "CUTOVER_SOURCE_",
            Side::Destination => "CUTOVER_DESTINATION_",
        }
    }
}

impl std::str::FromStr for Side {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "source" => Ok(Side::Source),
            "destination" => Ok(Side::Destination),
            other => Err(format!(
                "unknown tenant '{other}': use 'source' or 'destination'"
            )),
        }
    }
}

/// How a profile signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// Delegated: an admin enters a code at the device login page.
    DeviceCode,
    /// App-only with a client secret.
    ClientSecret,
    /// App-only with a client assertion signed by a certificate's private key.
    Certificate,
}

impl AuthMethod {
    fn parse(s: &str) -> Option<AuthMethod> {
        match s {
            "device-code" => Some(AuthMethod::DeviceCode),
            "client-secret" => Some(AuthMethod::ClientSecret),
            "certificate" => Some(AuthMethod::Certificate),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            AuthMethod::DeviceCode => "device-code",
            AuthMethod::ClientSecret => "client-secret",
            AuthMethod::Certificate => "certificate",
        }
    }
}

/// Where a client secret comes from. `Debug` never prints an inline secret.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    Inline(String),
    /// The name of an environment variable holding it.
    Env(String),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Inline(_) => f.write_str("Inline([redacted])"),
            SecretSource::Env(name) => write!(f, "Env({name:?})"),
        }
    }
}

/// Who sold and manages the tenant's Microsoft 365 when it is not the customer alone: a
/// hoster whose own portal creates and renames the users (IONOS, TelekomCLOUD), a Cloud
/// Solution Provider partner, or another reseller. It adds the provider's manual steps to the
/// runbook and marks the user changes its portal must make (`docs/runbook.md`, `docs/plans.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    Ionos,
    Telekom,
    Csp,
    Other,
}

impl Provider {
    /// The values `provider` accepts, as written.
    pub const NAMES: &'static [&'static str] = &["ionos", "telekom", "csp", "other"];

    pub fn parse(s: &str) -> Option<Provider> {
        match s {
            "ionos" => Some(Provider::Ionos),
            "telekom" => Some(Provider::Telekom),
            "csp" => Some(Provider::Csp),
            "other" => Some(Provider::Other),
            _ => None,
        }
    }

    /// As written in the configuration and in step ids.
    pub fn name(self) -> &'static str {
        match self {
            Provider::Ionos => "ionos",
            Provider::Telekom => "telekom",
            Provider::Csp => "csp",
            Provider::Other => "other",
        }
    }

    /// Whose portal it is, for people: "IONOS portal", "TelekomCLOUD portal", …
    pub fn portal(self) -> &'static str {
        match self {
            Provider::Ionos => "IONOS portal",
            Provider::Telekom => "TelekomCLOUD portal",
            Provider::Csp => "CSP partner's portal",
            Provider::Other => "provider's portal",
        }
    }
}

/// One tenant's sign-in settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub side: Side,
    /// Tenant id (GUID) or a verified domain of the tenant.
    pub tenant: String,
    pub client_id: String,
    pub auth: AuthMethod,
    /// Set when `auth` is `client-secret`.
    pub secret: Option<SecretSource>,
    /// PEM file (certificate and PKCS#8 private key) or PFX/PKCS#12 file (`.pfx`, `.p12`)
    /// when `auth` is `certificate`.
    pub certificate: Option<PathBuf>,
    /// The environment variable holding the PFX file's password (none: an empty password).
    pub certificate_password_env: Option<String>,
    pub cloud: Cloud,
    /// `provider`: who manages the tenant's users besides Microsoft's admin centre.
    pub provider: Option<Provider>,
}

impl Profile {
    /// The client secret, read from the environment when the profile names a variable.
    pub fn client_secret(&self) -> Result<String, String> {
        match &self.secret {
            Some(SecretSource::Inline(s)) => Ok(s.clone()),
            Some(SecretSource::Env(name)) => match std::env::var(name) {
                Ok(v) if !v.is_empty() => Ok(v),
                _ => Err(format!(
                    "tenants.{}.client_secret_env names {name}, which is not set; export it or put client_secret in the file",
                    self.side.name()
                )),
            },
            None => Err(format!(
                "tenants.{} has no client secret; set client_secret or client_secret_env",
                self.side.name()
            )),
        }
    }

    /// The PFX password from the variable `certificate_password_env` names; empty when the
    /// profile names none.
    pub fn certificate_password(&self) -> Result<String, String> {
        match &self.certificate_password_env {
            None => Ok(String::new()),
            Some(name) => std::env::var(name).map_err(|_| {
                format!(
                    "tenants.{}.certificate_password_env names {name}, which is not set; export it",
                    self.side.name()
                )
            }),
        }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The custom domain being moved; none when the file leaves it to `--domain`.
    pub domain: Option<crate::dns::name::DomainName>,
    /// The cutover time T (`cutover_at`), when the admin wrote it here; nothing defaults it.
    pub cutover_at: Option<time::OffsetDateTime>,
    /// Nameservers the DNS pane asks (cache off); public resolvers when not configured.
    pub nameservers: Vec<SocketAddr>,
    /// DNS blocklist zones the MX hosts' addresses are checked on (none unless configured).
    pub blocklists: Vec<String>,
    /// Port the zone's authoritative servers (found through NS) are asked on: 53, except in a
    /// rehearsal whose DNS server listens elsewhere.
    pub authoritative_port: u16,
    /// Further records to watch beside the Microsoft 365 set (`dns.names`, `NAME/TYPE`).
    pub names: Vec<(String, crate::dns::RecordKind)>,
    /// Whether the system's resolvers (/etc/resolv.conf) join the propagation view.
    pub system_resolvers: bool,
    /// `[dns.update]`: RFC 2136 updates of the zone through its primary; none: DNS changes
    /// are printed as instructions for the DNS host and watched.
    pub dns_update: Option<crate::dns::update::UpdateConfig>,
    pub source: Profile,
    /// None when there is no destination tenant, e.g. a domain freed after cancelling a
    /// hoster's Microsoft 365 (IONOS, TelekomCLOUD): only the source is watched.
    pub destination: Option<Profile>,
    /// `theme = "high-contrast"`: the dashboard's colours (see [`crate::ui::theme::Palette`]).
    pub theme: Option<crate::ui::theme::Palette>,
}

impl Config {
    /// The profile of a side, if the configuration names that tenant.
    pub fn profile(&self, side: Side) -> Option<&Profile> {
        match side {
            Side::Source => Some(&self.source),
            Side::Destination => self.destination.as_ref(),
        }
    }
}

/// Nameservers used when the file names none: Cloudflare's and Google's public resolvers.
pub const DEFAULT_NAMESERVERS: [&str; 2] = ["1.1.1.1:53", "8.8.8.8:53"];

/// Environment variables that override the file, `{SIDE}` being `SOURCE` or `DESTINATION`.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("CUTOVER_DOMAIN", "domain"),
    ("CUTOVER_{SIDE}_TENANT", "tenants.<side>.tenant"),
    ("CUTOVER_{SIDE}_CLIENT_ID", "tenants.<side>.client_id"),
    ("CUTOVER_{SIDE}_AUTH", "tenants.<side>.auth"),
    (
        "CUTOVER_{SIDE}_CLIENT_SECRET",
        "tenants.<side>.client_secret (wins over client_secret_env)",
    ),
    ("CUTOVER_{SIDE}_CERTIFICATE", "tenants.<side>.certificate"),
    ("CUTOVER_{SIDE}_CLOUD", "tenants.<side>.cloud"),
];

/// One thing wrong with a configuration, at a line of the file (none when it came from the
/// environment or is missing altogether).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no configuration at {0}; run 'cutover config init' to write one, or 'cutover demo' to rehearse"
    )]
    Missing(PathBuf),
    #[error("cannot read {path}: {reason}")]
    Unreadable { path: PathBuf, reason: String },
    #[error("{path}: {}", summarise(.problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn summarise(problems: &[Problem]) -> String {
    let first = problems.first().map(|p| p.to_string()).unwrap_or_default();
    match problems.len() {
        0 | 1 => format!("{first}; see 'cutover config check'"),
        n => format!(
            "{first} (and {} more; run 'cutover config check' to see all)",
            n - 1
        ),
    }
}

/// Read and validate a file, applying the process environment's overrides.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::Missing(path.to_path_buf()));
        }
        Err(e) => {
            return Err(ConfigError::Unreadable {
                path: path.to_path_buf(),
                reason: crate::store::describe_io(&e),
            });
        }
    };
    parse(&text, &|name| std::env::var(name).ok()).map_err(|problems| ConfigError::Invalid {
        path: path.to_path_buf(),
        problems,
    })
}

/// A value and the line it came from (`None`: from the environment).
#[derive(Debug, Clone)]
struct Field {
    value: String,
    line: Option<usize>,
}

/// Lines of a text, for turning byte offsets into line numbers.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        Lines(
            std::iter::once(0)
                .chain(text.match_indices('\n').map(|(i, _)| i + 1))
                .collect(),
        )
    }
    fn of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset)
    }
}

struct Checker<'a> {
    lines: Lines,
    env: &'a dyn Fn(&str) -> Option<String>,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn at(&mut self, offset: usize, message: String) {
        let line = Some(self.lines.of(offset));
        self.problems.push(Problem { line, message });
    }
    fn nowhere(&mut self, message: String) {
        self.problems.push(Problem {
            line: None,
            message,
        });
    }

    /// Every key of a table, rejecting those not in `allowed`.
    fn keys<'t, 'i>(
        &mut self,
        table: &'t DeTable<'i>,
        path: &str,
        allowed: &[&str],
    ) -> Vec<(&'t str, &'t Spanned<DeValue<'i>>)> {
        let mut out = Vec::new();
        for (key, value) in table.iter() {
            let name: &str = key.get_ref();
            if allowed.contains(&name) {
                out.push((name, value));
            } else {
                let full = if path.is_empty() {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                self.at(
                    key.span().start,
                    format!(
                        "unknown key '{full}' (expected one of: {})",
                        allowed.join(", ")
                    ),
                );
            }
        }
        out
    }

    fn string(&mut self, value: &Spanned<DeValue<'_>>, path: &str) -> Option<Field> {
        match value.get_ref() {
            DeValue::String(s) => Some(Field {
                value: s.to_string(),
                line: Some(self.lines.of(value.span().start)),
            }),
            other => {
                self.at(
                    value.span().start,
                    format!("{path} must be a string, not {}", other.type_str()),
                );
                None
            }
        }
    }

    fn env_field(&self, name: &str) -> Option<Field> {
        (self.env)(name)
            .filter(|v| !v.is_empty())
            .map(|value| Field { value, line: None })
    }

    fn problem(&mut self, field: &Field, message: String) {
        self.problems.push(Problem {
            line: field.line,
            message,
        });
    }
}

/// Parse and validate a configuration. `env` looks up environment variables (overrides and
/// `client_secret_env`). Every problem found is returned, each naming its field.
pub fn parse(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, Vec<Problem>> {
    let mut c = Checker {
        lines: Lines::new(text),
        env,
        problems: Vec::new(),
    };
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(e) => {
            let line = e.span().map(|s| c.lines.of(s.start));
            let message = e
                .message()
                .lines()
                .next()
                .unwrap_or("not valid TOML")
                .to_string();
            return Err(vec![Problem {
                line,
                message: format!("not valid TOML: {message}"),
            }]);
        }
    };
    let root = root.get_ref();

    let mut domain = None;
    let mut nameservers = None;
    let mut blocklists = Vec::new();
    let mut authoritative_port = 53;
    let mut names = Vec::new();
    let mut system_resolvers = true;
    let mut dns_update = None;
    let mut tenants = None;
    let mut cutover_at = None;
    let mut theme = None;
    for (key, value) in c.keys(
        root,
        "",
        &["domain", "cutover_at", "dns", "tenants", "theme"],
    ) {
        match key {
            "theme" => {
                if let Some(f) = c.string(value, "theme") {
                    match crate::ui::theme::Palette::parse(&f.value) {
                        Ok(p) => theme = Some(p),
                        Err(e) => c.problem(&f, format!("theme: {e}")),
                    }
                }
            }
            "domain" => domain = c.string(value, "domain"),
            "cutover_at" => cutover_at = check_cutover_at(&mut c, value),
            "dns" => {
                let dns = check_dns(&mut c, value);
                nameservers = Some(dns.nameservers);
                blocklists = dns.blocklists;
                authoritative_port = dns.authoritative_port;
                names = dns.names;
                system_resolvers = dns.system_resolvers;
                dns_update = dns.update;
            }
            _ => tenants = Some(value),
        }
    }
    if let Some(f) = c.env_field("CUTOVER_DOMAIN") {
        domain = Some(f);
    }
    // A missing domain is not a problem here: `--domain` can give it (see `cli::config`).
    let domain = domain.map(|f| check_domain(&mut c, &f));

    let mut source_table = None;
    let mut destination_table = None;
    if let Some(tenants) = tenants {
        match tenants.get_ref() {
            DeValue::Table(t) => {
                for (key, value) in c.keys(t, "tenants", &["source", "destination"]) {
                    match value.get_ref() {
                        DeValue::Table(p) => {
                            if key == "source" {
                                source_table = Some(p);
                            } else {
                                destination_table = Some(p);
                            }
                        }
                        other => c.at(
                            value.span().start,
                            format!("tenants.{key} must be a table, not {}", other.type_str()),
                        ),
                    }
                }
            }
            other => c.at(
                tenants.span().start,
                format!("tenants must be a table, not {}", other.type_str()),
            ),
        }
    }
    let source = check_profile(&mut c, Side::Source, source_table);
    let destination = check_profile(&mut c, Side::Destination, destination_table);

    match (source, destination) {
        (Some(source), destination) if c.problems.is_empty() => Ok(Config {
            domain: domain.flatten(),
            cutover_at,
            nameservers: nameservers.flatten().unwrap_or_else(|| {
                DEFAULT_NAMESERVERS
                    .iter()
                    .filter_map(|s| s.parse().ok())
                    .collect()
            }),
            blocklists,
            authoritative_port,
            names,
            system_resolvers,
            dns_update,
            source,
            destination,
            theme,
        }),
        _ => Err(c.problems),
    }
}

/// `cutover_at`: a string (or a TOML offset date-time) that [`crate::plan::parse_cutover`]
/// accepts, zone included.
fn check_cutover_at(
    c: &mut Checker<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Option<time::OffsetDateTime> {
    let line = Some(c.lines.of(value.span().start));
    let text = match value.get_ref() {
        DeValue::String(s) => s.to_string(),
        DeValue::Datetime(d) => d.to_string(),
        other => {
            c.at(
                value.span().start,
                format!(
                    "cutover_at must be a time such as \"{}\", not {}",
                    crate::plan::cutover_time::EXAMPLE,
                    other.type_str()
                ),
            );
            return None;
        }
    };
    match crate::plan::parse_cutover(&text) {
        Ok(t) => Some(t),
        Err(e) => {
            c.problem(&Field { value: text, line }, format!("cutover_at: {e}"));
            None
        }
    }
}

/// The one domain check ([`crate::dns::name::parse_domain`]): Unicode IDN or A-labels.
fn check_domain(c: &mut Checker<'_>, f: &Field) -> Option<crate::dns::name::DomainName> {
    match crate::dns::name::parse_domain(&f.value) {
        Ok(name) => Some(name),
        Err(e) => {
            c.problem(f, format!("domain: {e}"));
            None
        }
    }
}

/// The `[dns]` table as read.
struct DnsSection {
    /// None when not given (the defaults apply).
    nameservers: Option<Vec<SocketAddr>>,
    blocklists: Vec<String>,
    authoritative_port: u16,
    names: Vec<(String, crate::dns::RecordKind)>,
    system_resolvers: bool,
    update: Option<crate::dns::update::UpdateConfig>,
}

fn check_dns(c: &mut Checker<'_>, value: &Spanned<DeValue<'_>>) -> DnsSection {
    let mut section = DnsSection {
        nameservers: None,
        blocklists: Vec::new(),
        authoritative_port: 53,
        names: Vec::new(),
        system_resolvers: true,
        update: None,
    };
    let DeValue::Table(t) = value.get_ref() else {
        c.at(
            value.span().start,
            format!("dns must be a table, not {}", value.get_ref().type_str()),
        );
        return section;
    };
    let allowed = [
        "nameservers",
        "blocklists",
        "authoritative_port",
        "names",
        "system_resolvers",
        "update",
    ];
    for (key, v) in c.keys(t, "dns", &allowed) {
        if key == "update" {
            section.update = check_dns_update(c, v);
            continue;
        }
        if key == "system_resolvers" {
            match v.get_ref() {
                DeValue::Boolean(b) => section.system_resolvers = *b,
                other => c.at(
                    v.span().start,
                    format!(
                        "dns.system_resolvers must be true or false, not {}",
                        other.type_str()
                    ),
                ),
            }
            continue;
        }
        if key == "authoritative_port" {
            match v.get_ref() {
                DeValue::Integer(i) if i.radix() == 10 => match i.as_str().parse::<u16>() {
                    Ok(p) if p > 0 => section.authoritative_port = p,
                    _ => c.at(
                        v.span().start,
                        format!(
                            "dns.authoritative_port: {} is not a port (1-65535)",
                            i.as_str()
                        ),
                    ),
                },
                other => c.at(
                    v.span().start,
                    format!(
                        "dns.authoritative_port must be a number, not {}",
                        other.type_str()
                    ),
                ),
            }
            continue;
        }
        let DeValue::Array(items) = v.get_ref() else {
            c.at(
                v.span().start,
                format!("dns.{key} must be an array of strings"),
            );
            continue;
        };
        if key == "names" {
            for item in items.iter() {
                let Some(f) = c.string(item, "dns.names[]") else {
                    continue;
                };
                match crate::dns::name::parse_record_name(&f.value) {
                    Ok(pair) => section.names.push(pair),
                    Err(why) => c.problem(
                        &f,
                        format!(
                            "dns.names: '{}': {why}; give NAME/TYPE, e.g. \"mail.contoso.com/CNAME\"",
                            f.value
                        ),
                    ),
                }
            }
            continue;
        }
        if key == "blocklists" {
            for item in items.iter() {
                let Some(f) = c.string(item, "dns.blocklists[]") else {
                    continue;
                };
                match crate::dns::name::parse_domain(&f.value) {
                    Ok(name) => section.blocklists.push(name.ascii),
                    Err(e) => c.problem(&f, format!("dns.blocklists: {e}")),
                }
            }
            continue;
        }
        let mut addrs = Vec::new();
        for item in items.iter() {
            let Some(f) = c.string(item, "dns.nameservers[]") else {
                continue;
            };
            match parse_nameserver(&f.value) {
                Some(a) => addrs.push(a),
                None => c.problem(
                    &f,
                    format!(
                        "dns.nameservers: '{}' is not an IP address with an optional port, e.g. \"192.0.2.53\" or \"192.0.2.53:53\"",
                        f.value
                    ),
                ),
            }
        }
        if addrs.is_empty() {
            c.at(
                v.span().start,
                "dns.nameservers is empty; name at least one or leave the key out".into(),
            );
        }
        section.nameservers = Some(addrs);
    }
    section
}

const DNS_UPDATE_KEYS: &[&str] = &[
    "server",
    "zone",
    "key_name",
    "algorithm",
    "key_file",
    "key_env",
    "secret",
];

/// `[dns.update]`: the zone's primary, the zone, the TSIG key's name and algorithm, and where
/// its secret is (`key_file` or `key_env`, exactly one). The secret itself is never accepted
/// in the file's text.
fn check_dns_update(
    c: &mut Checker<'_>,
    value: &Spanned<DeValue<'_>>,
) -> Option<crate::dns::update::UpdateConfig> {
    use crate::dns::update::{KeySource, UpdateConfig};
    let DeValue::Table(t) = value.get_ref() else {
        c.at(
            value.span().start,
            format!(
                "dns.update must be a table, not {}",
                value.get_ref().type_str()
            ),
        );
        return None;
    };
    let mut fields: std::collections::HashMap<&str, Field> = std::collections::HashMap::new();
    let start = c.problems.len();
    for (key, v) in c.keys(t, "dns.update", DNS_UPDATE_KEYS) {
        if key == "secret" {
            // Not even read: a secret in the config would end up in backups and screenshots.
            c.at(
                v.span().start,
                "dns.update.secret: the TSIG secret is not read from the config; put it in a file (key_file, mode 0600) or a variable (key_env)".into(),
            );
            continue;
        }
        if let Some(f) = c.string(v, &format!("dns.update.{key}")) {
            fields.insert(key, f);
        }
    }
    let at = Field {
        value: String::new(),
        line: Some(c.lines.of(value.span().start)),
    };
    let server = match fields.get("server") {
        Some(f) => match parse_nameserver(&f.value) {
            Some(a) => Some(a),
            None => {
                c.problem(
                    f,
                    format!(
                        "dns.update.server: '{}' is not an IP address with an optional port, e.g. \"192.0.2.53:53\" (the zone's primary)",
                        f.value
                    ),
                );
                None
            }
        },
        None => {
            c.problem(
                &at,
                "dns.update.server is missing: give the zone's primary server, e.g. \"192.0.2.53:53\"".into(),
            );
            None
        }
    };
    let zone = fields.get("zone").and_then(|f| {
        crate::dns::name::parse_domain(&f.value)
            .map(|d| d.ascii)
            .map_err(|e| c.problem(f, format!("dns.update.zone: {e}")))
            .ok()
    });
    let key_name = match fields.get("key_name") {
        Some(f) if !f.value.trim().is_empty() => Some(f.value.trim().to_string()),
        Some(f) => {
            c.problem(f, "dns.update.key_name is empty".into());
            None
        }
        None => {
            c.problem(
                &at,
                "dns.update.key_name is missing: give the TSIG key's name as the server knows it"
                    .into(),
            );
            None
        }
    };
    let algorithm = match fields.get("algorithm") {
        Some(f) => match crate::dns::update::algorithm(&f.value) {
            Ok(_) => f.value.trim().to_ascii_lowercase(),
            Err(e) => {
                c.problem(f, format!("dns.update.algorithm: {e}"));
                String::new()
            }
        },
        None => "hmac-sha256".to_string(),
    };
    let key = match (fields.get("key_file"), fields.get("key_env")) {
        (Some(f), None) => Some(KeySource::File(PathBuf::from(&f.value))),
        (None, Some(f)) if env_name(&f.value) => Some(KeySource::Env(f.value.clone())),
        (None, Some(f)) => {
            c.problem(
                f,
                format!("dns.update.key_env: '{}' is not a variable name", f.value),
            );
            None
        }
        (Some(f), Some(_)) => {
            c.problem(f, "dns.update: give key_file or key_env, not both".into());
            None
        }
        (None, None) => {
            c.problem(
                &at,
                "dns.update needs the TSIG secret's place: key_file (a file, mode 0600) or key_env (a variable)".into(),
            );
            None
        }
    };
    if c.problems.len() > start {
        return None;
    }
    Some(UpdateConfig {
        server: server?,
        zone,
        key_name: key_name?,
        algorithm,
        key: key?,
    })
}

fn parse_nameserver(s: &str) -> Option<SocketAddr> {
    let s = s.trim();
    s.parse::<SocketAddr>()
        .ok()
        .or_else(|| s.parse::<std::net::IpAddr>().ok().map(|ip| (ip, 53).into()))
}

const PROFILE_KEYS: &[&str] = &[
    "tenant",
    "client_id",
    "auth",
    "client_secret",
    "client_secret_env",
    "certificate",
    "certificate_password_env",
    "cloud",
    "login_url",
    "graph_url",
    "exchange_url",
    "provider",
];

/// A profile, or None with a problem for each bad field. A missing destination is no problem
/// (None without one): a domain being freed has no tenant to go to.
fn check_profile(c: &mut Checker<'_>, side: Side, table: Option<&DeTable<'_>>) -> Option<Profile> {
    let name = side.name();
    let mut fields: std::collections::HashMap<&str, Field> = std::collections::HashMap::new();
    if let Some(table) = table {
        for (key, value) in c.keys(table, &format!("tenants.{name}"), PROFILE_KEYS) {
            if let Some(f) = c.string(value, &format!("tenants.{name}.{key}")) {
                fields.insert(key, f);
            }
        }
    }
    for (key, suffix) in [
        ("tenant", "TENANT"),
        ("client_id", "CLIENT_ID"),
        ("auth", "AUTH"),
        ("client_secret", "CLIENT_SECRET"),
        ("certificate", "CERTIFICATE"),
        ("cloud", "CLOUD"),
    ] {
        if let Some(f) = c.env_field(&format!("{}{suffix}", side.env_prefix())) {
            fields.insert(key, f);
        }
    }
    if table.is_none() && fields.is_empty() {
        if side == Side::Source {
            c.nowhere(format!(
                "[tenants.{name}] is missing; every configuration names the source tenant that holds the domain now"
            ));
        }
        return None;
    }
    let before = c.problems.len();
    let required = |c: &mut Checker<'_>, key: &str, hint: &str| -> Option<Field> {
        match fields.get(key) {
            Some(f) if !f.value.trim().is_empty() => Some(f.clone()),
            Some(f) => {
                let f = f.clone();
                c.problem(&f, format!("tenants.{name}.{key} is empty; {hint}"));
                None
            }
            None => {
                c.nowhere(format!("tenants.{name}.{key} is missing; {hint}"));
                None
            }
        }
    };
    let tenant = required(
        c,
        "tenant",
        "give the tenant id or one of its verified domains",
    );
    let client_id = required(
        c,
        "client_id",
        "give the application (client) id of the app registration",
    );
    if let Some(f) = &client_id
        && uuid::Uuid::try_parse(f.value.trim()).is_err()
    {
        c.problem(
            f,
            format!(
                "tenants.{name}.client_id '{}' is not a GUID (the app registration's Application (client) ID)",
                f.value
            ),
        );
    }
    let auth = required(
        c,
        "auth",
        "use \"device-code\", \"client-secret\" or \"certificate\"",
    )
    .and_then(|f| match AuthMethod::parse(f.value.trim()) {
        Some(a) => Some(a),
        None => {
            c.problem(
                &f,
                format!(
                    "tenants.{name}.auth '{}' is not one of device-code, client-secret, certificate",
                    f.value
                ),
            );
            None
        }
    });

    let secret = fields.get("client_secret").cloned();
    let secret_env = fields.get("client_secret_env").cloned();
    let certificate = fields.get("certificate").cloned();
    let password_env = fields.get("certificate_password_env").cloned();
    let mut password_source = None;
    let mut secret_source = None;
    match auth {
        Some(AuthMethod::ClientSecret) => {
            secret_source = match (&secret, &secret_env) {
                // The environment's CUTOVER_{SIDE}_CLIENT_SECRET arrives as client_secret
                // without a line and wins over the file.
                (Some(s), _) if s.line.is_none() => Some(SecretSource::Inline(s.value.clone())),
                (Some(s), Some(e)) => {
                    c.problem(
                        e,
                        format!(
                            "tenants.{name} has both client_secret (line {}) and client_secret_env; keep one",
                            s.line.unwrap_or_default()
                        ),
                    );
                    None
                }
                (Some(s), None) if s.value.is_empty() => {
                    c.problem(s, format!("tenants.{name}.client_secret is empty"));
                    None
                }
                (Some(s), None) => Some(SecretSource::Inline(s.value.clone())),
                (None, Some(e)) => {
                    let var = e.value.trim();
                    if env_name(var) {
                        Some(SecretSource::Env(var.to_string()))
                    } else {
                        c.problem(
                            e,
                            format!(
                                "tenants.{name}.client_secret_env '{}' is not an environment variable name",
                                e.value
                            ),
                        );
                        None
                    }
                }
                (None, None) => {
                    c.nowhere(format!(
                        "tenants.{name} uses client-secret but has neither client_secret nor client_secret_env (or {}CLIENT_SECRET)",
                        side.env_prefix()
                    ));
                    None
                }
            };
            for (f, key) in [
                (&certificate, "certificate"),
                (&password_env, "certificate_password_env"),
            ] {
                if let Some(f) = f {
                    c.problem(
                        f,
                        format!("tenants.{name}.{key} is only used with auth = \"certificate\""),
                    );
                }
            }
        }
        Some(AuthMethod::Certificate) => {
            if certificate.is_none() {
                c.nowhere(format!(
                    "tenants.{name} uses certificate but has no certificate path (a PEM file with the certificate and its PKCS#8 private key, or a .pfx/.p12 file)"
                ));
            }
            if let Some(e) = &password_env {
                if !env_name(e.value.trim()) {
                    c.problem(
                        e,
                        format!(
                            "tenants.{name}.certificate_password_env '{}' is not an environment variable name",
                            e.value
                        ),
                    );
                } else if let Some(cert) = &certificate
                    && !is_pfx(Path::new(&cert.value))
                {
                    c.problem(
                        e,
                        format!(
                            "tenants.{name}.certificate_password_env is only used with a .pfx or .p12 certificate"
                        ),
                    );
                } else {
                    password_source = Some(e.value.trim().to_string());
                }
            }
            for f in [&secret, &secret_env].into_iter().flatten() {
                if f.line.is_some() {
                    c.problem(
                        f,
                        format!(
                            "tenants.{name}: a client secret is only used with auth = \"client-secret\""
                        ),
                    );
                }
            }
        }
        Some(AuthMethod::DeviceCode) => {
            for f in [&secret, &secret_env, &certificate, &password_env]
                .into_iter()
                .flatten()
            {
                if f.line.is_some() {
                    c.problem(
                        f,
                        format!(
                            "tenants.{name}: device-code sign-in uses no client secret or certificate; remove this key"
                        ),
                    );
                }
            }
        }
        None => {}
    }

    let cloud = cloud::check(c, name, &fields);
    let provider = match fields.get("provider") {
        None => None,
        Some(f) => match Provider::parse(f.value.trim()) {
            Some(p) => Some(p),
            None => {
                c.problem(
                    f,
                    format!(
                        "tenants.{name}.provider '{}' is not one of {} (leave it out when the tenant is not managed by a provider)",
                        f.value,
                        Provider::NAMES.join(", ")
                    ),
                );
                None
            }
        },
    };

    if c.problems.len() > before {
        return None;
    }
    Some(Profile {
        side,
        tenant: tenant?.value.trim().to_string(),
        client_id: client_id?.value.trim().to_string(),
        auth: auth?,
        secret: secret_source,
        certificate: certificate.map(|f| PathBuf::from(f.value)),
        certificate_password_env: password_source,
        cloud: cloud?,
        provider,
    })
}

/// Letters, digits and `_`, not starting with a digit.
fn env_name(var: &str) -> bool {
    !var.is_empty()
        && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !var.as_bytes()[0].is_ascii_digit()
}

/// A PKCS#12 file, by its extension (`.pfx`, `.p12`, any case).
pub fn is_pfx(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("pfx") || e.eq_ignore_ascii_case("p12"))
}

#[cfg(test)]
mod tests;
