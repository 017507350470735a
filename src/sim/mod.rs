//! The rehearsal environment: a fake Microsoft 365 (token endpoint and a Graph v1.0 subset over
//! HTTP) and an authoritative DNS server for the custom domain, both on loopback with ephemeral
//! ports. The product's clients talk to it exactly as to Microsoft; only base URLs and the
//! nameserver address differ.
//!
//! Layout: `directory` generates the tenants from the seed, `m365` is the Microsoft 365 record
//! set, `http`/`auth`/`graph` serve HTTP, `dns` serves the zone.

/// The start of every signed-in Graph handler: check the bearer token and that it carries one
/// of the permissions the route requires (`$required`, from `permissions`), and lock the
/// tenants (`graph::begin`), or answer with Graph's error right away.
macro_rules! begin_or_return {
    ($state:expr, $headers:expr, $extensions:expr, $required:expr) => {
        match $crate::sim::graph::begin(&$state, &$headers, &$extensions, &$required) {
            Ok(ctx) => ctx,
            Err(response) => return *response,
        }
    };
}

/// A step of a handler that answers with its error response when it fails (the handlers'
/// helpers return `Result<_, Box<Response>>`).
macro_rules! try_resp {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(r) => return *r,
        }
    };
}

mod access;
mod auth;
mod batch;
pub mod cache;
mod conn;
mod delta;
mod directory;
mod discovery;
pub use directory::SHARED_MAILBOXES;
pub use discovery::{OutsideFault, OutsideRoute};
pub use dns::{DNSBL_ZONE, MX_HOST_ADDRESS, REFUSING_DNSBL_ZONE};
mod dns;
mod exchange;
mod exchange_addresses;
mod exchange_connectors;
mod exchange_dkim;
mod extras;
mod faults;
pub use faults::{Faults, Throttle};
mod graph;
mod http;
mod m365;
mod names;
mod permissions;
pub use permissions::{ACCESS_PERMISSIONS, WRITE_PERMISSIONS};
pub mod relay;
mod rng;
mod signin;
#[cfg(test)]
mod tests;
mod throttle;
mod writes;
pub use writes::Mutations;
mod x509;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use self::dns::{DnsServer, Zone};
use self::http::{AppState, Shared};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// People in the source tenant (shared mailboxes come on top), 1..=100_000.
    pub users: usize,
    /// Generated team groups in the source tenant on top of the nine named ones, 0..=20_000.
    pub groups: usize,
    /// Organizational contacts in the source tenant, 0..=5_000; `None` is one per 20 people
    /// (at least 5).
    pub contacts: Option<usize>,
    /// Everything generated (names, ids, secrets) follows from the seed.
    pub seed: u64,
    /// The custom domain being moved.
    pub domain: String,
    /// Injected latency and faults on Graph routes (none by default).
    pub faults: Faults,
    /// A per-tenant token bucket answering 429 (off by default).
    pub throttle: Option<Throttle>,
    /// Writes per second per tenant, Graph and Exchange together (`sim::throttle`): beyond
    /// it 429s; off by default.
    pub write_rate: Option<f64>,
    /// Permissions the app registrations are not granted, so tokens come without them:
    /// `Domain.Read.All` (both tenants) or `source:Domain.Read.All`. By default each app has
    /// the least privileged permission of every route the product reads.
    pub deny_permissions: Vec<String>,
    /// Permissions granted on top of the default, same syntax as `deny_permissions`; the
    /// change engine needs [`WRITE_PERMISSIONS`]. A denial wins over a grant.
    pub grant_permissions: Vec<String>,
    /// How long an accepted `DELETE /domains/{id}` or `forceDelete` takes before the domain
    /// is gone (`GET` answers 404); Microsoft takes minutes to a day.
    pub domain_removal_delay: Duration,
    /// Fraction (0..=1) of mutating requests (Graph and Exchange) answered 503 before they
    /// are applied.
    pub write_error_rate: f64,
    /// Fraction (0..=1) of mutating requests applied and then left without an answer: the
    /// connection is cut before the response goes out.
    pub apply_then_drop_rate: f64,
    /// The destination holds a migrated copy of every source mailbox and mail-enabled group
    /// (same display name and local part, addresses in the destination's initial domain), as a
    /// tenant-to-tenant migration leaves it before the cutover: what the adopt plan maps to.
    pub migrated_mailboxes: bool,
    /// No directory-synced object in either tenant: a tenant without Entra Connect, as most
    /// small tenants that move a domain are. By default some users and groups are synced.
    pub cloud_only: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            users: 50,
            groups: 0,
            contacts: None,
            seed: 1,
            domain: "contoso.example".to_string(),
            faults: Faults::default(),
            throttle: None,
            write_rate: None,
            deny_permissions: Vec::new(),
            grant_permissions: Vec::new(),
            domain_removal_delay: Duration::from_secs(2),
            write_error_rate: 0.0,
            apply_then_drop_rate: 0.0,
            migrated_mailboxes: false,
            cloud_only: false,
        }
    }
}

/// One simulated tenant and the app registration that signs in to it.
#[derive(Debug, Clone, Serialize)]
pub struct SimTenant {
    /// "source" or "destination".
    pub label: String,
    pub name: String,
    /// Tenant id (GUID).
    pub id: String,
    pub initial_domain: String,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("invalid rehearsal options: {0}")]
    InvalidOptions(String),
    #[error("could not bind the {0}: {1}")]
    Bind(&'static str, #[source] std::io::Error),
    #[error("invalid DNS record: {0}")]
    InvalidRecord(String),
    #[error("DNS server: {0}")]
    Dns(String),
    #[error("the rehearsal environment has no {0} tenant")]
    NoTenant(String),
    #[error("cannot build a client for the rehearsal: {0}")]
    Client(String),
}

const MAX_USERS: usize = 100_000;
/// The tenants' labels, in the order the sim holds them.
const TENANT_LABELS: [&str; 2] = ["source", "destination"];
/// Generated groups and contacts at most: a large tenant's directory next to 100,000 users.
pub const MAX_GROUPS: usize = 20_000;
pub const MAX_CONTACTS: usize = 5_000;

/// The running environment. Dropping it stops both servers; [`Sim::shutdown`] does so
/// gracefully.
pub struct Sim {
    domain: String,
    tenants: Vec<SimTenant>,
    graph_url: String,
    dns_addr: SocketAddr,
    state: Shared,
    zone: Arc<Zone>,
    http: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
    dns: Option<DnsServer>,
    /// The outside world's DNS: the domain's zone again, the blocklists and the mail hosts.
    world: Option<DnsServer>,
    /// A public resolver (caching, recursive) in front of the world.
    resolver: Option<cache::CachingResolver>,
    /// The TSIG key the domain's server accepts updates signed with.
    update_key: SimTsigKey,
}

/// The TSIG key of the sim's DNS server (a throwaway derived from the seed).
#[derive(Clone)]
pub struct SimTsigKey {
    pub name: String,
    pub algorithm: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for SimTsigKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimTsigKey")
            .field("name", &self.name)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// The sim's TSIG key name, as `named.conf` would spell it.
pub const UPDATE_KEY_NAME: &str = "cutover-sim-update";

impl SimTsigKey {
    fn derive(seed: u64) -> SimTsigKey {
        let mut rng = rng::Rng::derive(seed, "tsig-update-key");
        let secret = (0..4).flat_map(|_| rng.next_u64().to_be_bytes()).collect();
        SimTsigKey {
            name: UPDATE_KEY_NAME.to_string(),
            algorithm: "hmac-sha256".to_string(),
            secret,
        }
    }

    fn signer(&self) -> Result<hickory_proto::rr::TSigner, SimError> {
        let name = hickory_proto::rr::Name::from_ascii(format!("{}.", self.name))
            .map_err(|e| SimError::Dns(format!("TSIG key name: {e}")))?;
        let alg = crate::dns::update::algorithm(&self.algorithm).map_err(SimError::Dns)?;
        hickory_proto::rr::TSigner::new(self.secret.clone(), alg, name, crate::dns::update::FUDGE)
            .map_err(|e| SimError::Dns(format!("TSIG key: {e}")))
    }
}

/// Lower-case, without the trailing dot, and a plausible registrable name.
fn normalise_domain(domain: &str) -> Result<String, SimError> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let bad = |why: &str| {
        Err(SimError::InvalidOptions(format!(
            "domain {domain:?}: {why}"
        )))
    };
    if d.len() > 253 {
        return bad("longer than 253 characters");
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return bad("needs at least two labels");
    }
    for l in &labels {
        let ok = !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return bad("labels are letters, digits and inner hyphens, 1 to 63 long");
        }
    }
    if d.ends_with(".onmicrosoft.com") {
        return bad("must be a custom domain, not an onmicrosoft.com one");
    }
    Ok(d)
}

impl Sim {
    /// Generate the tenants and the zone and start both servers on loopback.
    pub async fn start(opts: SimOptions) -> Result<Sim, SimError> {
        if !(1..=MAX_USERS).contains(&opts.users) {
            return Err(SimError::InvalidOptions(format!(
                "users must be between 1 and {MAX_USERS}, not {}",
                opts.users
            )));
        }
        if opts.groups > MAX_GROUPS {
            return Err(SimError::InvalidOptions(format!(
                "groups must be between 0 and {MAX_GROUPS}, not {}",
                opts.groups
            )));
        }
        if let Some(n) = opts.contacts.filter(|&n| n > MAX_CONTACTS) {
            return Err(SimError::InvalidOptions(format!(
                "contacts must be between 0 and {MAX_CONTACTS}, not {n}"
            )));
        }
        let domain = normalise_domain(&opts.domain)?;
        let denials = opts
            .deny_permissions
            .iter()
            .map(|v| permissions::parse_denial(v, &TENANT_LABELS))
            .collect::<Result<Vec<_>, _>>()
            .map_err(SimError::InvalidOptions)?;
        let grants = opts
            .grant_permissions
            .iter()
            .map(|v| permissions::parse_denial(v, &TENANT_LABELS))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| {
                SimError::InvalidOptions(e.replace("deny-permission", "grant-permission"))
            })?;
        for (name, rate) in [
            ("write error rate", opts.write_error_rate),
            ("apply-then-drop rate", opts.apply_then_drop_rate),
        ] {
            if !(0.0..=1.0).contains(&rate) {
                return Err(SimError::InvalidOptions(format!(
                    "the {name} is a fraction between 0 and 1, not {rate}"
                )));
            }
        }
        if opts.write_error_rate + opts.apply_then_drop_rate > 1.0 {
            return Err(SimError::InvalidOptions(
                "the write error rate and the apply-then-drop rate add up to more than 1".into(),
            ));
        }
        let scale = directory::Scale {
            users: opts.users,
            groups: opts.groups,
            contacts: opts.contacts,
        };
        let [mut source, mut destination] = directory::generate(opts.seed, scale, &domain);
        if opts.cloud_only {
            directory::cloud_only(&mut source);
            directory::cloud_only(&mut destination);
        }
        if opts.migrated_mailboxes {
            directory::migrate_mailboxes(opts.seed, &source, &mut destination);
        }
        let zone = Arc::new(Zone::build(
            &domain,
            &source.initial_domain,
            &source.verification_digits,
        )?);
        let tenants: Vec<SimTenant> = [&source, &destination]
            .into_iter()
            .map(|t| SimTenant {
                label: t.label.to_string(),
                name: t.name.clone(),
                id: t.id.clone(),
                initial_domain: t.initial_domain.clone(),
                client_id: t.client_id.clone(),
                client_secret: t.client_secret.clone(),
            })
            .collect();

        let listener = tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| SimError::Bind("HTTP listener", e))?;
        let http_addr = listener
            .local_addr()
            .map_err(|e| SimError::Bind("HTTP listener", e))?;
        let graph_url = format!("http://{http_addr}");
        let state: Shared = Arc::new(AppState {
            base_url: graph_url.clone(),
            tenants: RwLock::new(vec![source, destination]),
            tokens: Mutex::new(HashMap::new()),
            token_lifetime_secs: AtomicU64::new(auth::DEFAULT_TOKEN_LIFETIME),
            page_key: rng::Rng::derive(opts.seed, "skiptoken").next_u64(),
            sign_in: Mutex::new(signin::SignInState::default()),
            changes: Mutex::new(Vec::new()),
            exchange: Mutex::new(exchange::ExchangeState::default()),
            outside_faults: Mutex::new(discovery::OutsideFaults::default()),
            domain: domain.clone(),
            denials: Mutex::new(denials),
            token_key: rng::Rng::derive(opts.seed, "access-token").next_u64(),
            grants: Mutex::new(grants),
            writes: Mutex::new(writes::WriteState {
                removal_delay: opts.domain_removal_delay,
                error_rate: opts.write_error_rate,
                drop_rate: opts.apply_then_drop_rate,
                rng: rng::Rng::derive(opts.seed, "write-faults").next_u64(),
                ..writes::WriteState::default()
            }),
            zone: zone.clone(),
            trouble: Mutex::new(faults::Trouble {
                faults: opts.faults.clone(),
                throttle: opts.throttle,
                buckets: Vec::new(),
                writes: throttle::WriteThrottle::new(opts.write_rate),
                in_flight: 0,
                peak_in_flight: 0,
                requests: 0,
                injected: 0,
                throttled: 0,
                rng: rng::Rng::derive(opts.seed, "faults").next_u64(),
            }),
        });

        // The domain's authoritative server serves its zone only; everything else (blocklists,
        // Exchange Online's hosts) is the world's, reached through a recursive resolver.
        let update_key = SimTsigKey::derive(opts.seed);
        let dns = DnsServer::start(zone.clone(), Vec::new(), vec![update_key.signer()?]).await?;
        let world = DnsServer::start(
            zone,
            vec![
                Zone::dnsbl()?,
                Zone::refusing_dnsbl()?,
                Zone::mail_hosts(&domain)?,
            ],
            // The world's copy is not the primary: updates go to the domain's server.
            Vec::new(),
        )
        .await?;
        let resolver = cache::CachingResolver::start(world.addr)
            .await
            .map_err(|e| SimError::Bind("caching resolver", e))?;
        let router = http::router(state.clone());
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            // Each connection carries its `Cut`, so an applied write can go unanswered.
            let listener = conn::CuttableListener(listener);
            let service = router.into_make_service_with_connect_info::<conn::Peer>();
            let serve = axum::serve(listener, service).with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            });
            if let Err(e) = serve.await {
                tracing::warn!(error = %e, "rehearsal HTTP server stopped");
            }
        });
        tracing::info!(%graph_url, dns = %dns.addr, users = opts.users, groups = opts.groups, contacts = ?opts.contacts, "rehearsal environment started");

        Ok(Sim {
            domain,
            tenants,
            graph_url,
            dns_addr: dns.addr,
            state,
            zone: dns.zone.clone(),
            http: Some((stop_tx, task)),
            dns: Some(dns),
            world: Some(world),
            resolver: Some(resolver),
            update_key,
        })
    }

    /// `http://127.0.0.1:PORT`; Graph lives under `/v1.0`.
    pub fn graph_url(&self) -> String {
        self.graph_url.clone()
    }

    /// `http://127.0.0.1:PORT`; tokens at `/{tenant}/oauth2/v2.0/token` (same server as Graph).
    pub fn login_url(&self) -> String {
        self.graph_url.clone()
    }

    /// The authoritative server for [`Sim::domain`], UDP and TCP on the same port. It serves
    /// that zone only and never recurses.
    pub fn dns_addr(&self) -> SocketAddr {
        self.dns_addr
    }

    /// A public recursive resolver (UDP): caches answers and counts their TTLs down, and
    /// reaches the whole rehearsal world (the domain, the blocklists, the mail hosts).
    pub fn resolver_addr(&self) -> SocketAddr {
        self.resolver
            .as_ref()
            .map(|r| r.addr())
            .unwrap_or(self.dns_addr)
    }

    /// What recursion reaches: a server for every zone of the rehearsal world, the domain's
    /// included. Caching resolvers of one's own forward here.
    pub fn resolver_upstream(&self) -> SocketAddr {
        self.world.as_ref().map(|w| w.addr).unwrap_or(self.dns_addr)
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `[source, destination]`.
    pub fn tenants(&self) -> &[SimTenant] {
        &self.tenants
    }

    pub fn tenant(&self, label: &str) -> Option<&SimTenant> {
        self.tenants.iter().find(|t| t.label == label)
    }

    /// A `config.toml` whose profiles point at this environment: cloud `custom`, client-secret
    /// sign-in with the generated secrets (throwaway values derived from the seed), the sim's
    /// public (caching, recursive) resolver as nameserver, its authoritative server's port,
    /// its blocklist zone, and no system resolvers (they do not know the rehearsal's zone).
    pub fn config_toml(&self) -> String {
        let mut out = format!(
            "domain = \"{}\"\n\n[dns]\nnameservers = [\"{}\"]\nblocklists = [\"{}\"]\nauthoritative_port = {}\nsystem_resolvers = false\n",
            self.domain(),
            self.resolver_addr(),
            DNSBL_ZONE,
            self.dns_addr().port()
        );
        for t in self.tenants() {
            out.push_str(&format!(
                "\n[tenants.{}]\n# {}\ntenant = \"{}\"\nclient_id = \"{}\"\nauth = \"client-secret\"\nclient_secret = \"{}\"\ncloud = \"custom\"\nlogin_url = \"{}\"\ngraph_url = \"{}\"\nexchange_url = \"{}\"\n",
                t.label,
                t.name,
                t.id,
                t.client_id,
                t.client_secret,
                self.login_url(),
                self.graph_url(),
                self.exchange_url()
            ));
        }
        out
    }

    /// The product's Graph client signed in to one of the tenants ("source", "destination")
    /// with its client secret, as the demo and the tests use it.
    pub fn graph_client(&self, label: &str) -> Result<crate::graph::GraphClient, SimError> {
        self.graph_client_via(label, &self.graph_url())
    }

    /// How one of the tenants signs in to Graph by device code, shown by `prompt` (no cache):
    /// the demo's `--device-code` and the sign-in tests.
    pub fn device_code_sign_in(
        &self,
        label: &str,
        prompt: crate::graph::auth::DevicePrompt,
    ) -> Result<crate::graph::auth::SignIn, SimError> {
        let tenant = self
            .tenant(label)
            .ok_or_else(|| SimError::NoTenant(label.to_string()))?;
        Ok(crate::graph::auth::SignIn {
            login_url: self.login_url(),
            tenant: tenant.id.clone(),
            client_id: tenant.client_id.clone(),
            scope: crate::graph::client::GLOBAL_GRAPH_SCOPE.into(),
            auth: crate::graph::auth::Auth::DeviceCode {
                prompt: Some(prompt),
            },
            cache: None,
            warn: None,
        })
    }

    /// [`Sim::graph_client`] talking to `graph_url` instead, e.g. a [`relay::counting_relay`]
    /// in front of the sim.
    pub fn graph_client_via(
        &self,
        label: &str,
        graph_url: &str,
    ) -> Result<crate::graph::GraphClient, SimError> {
        let tenant = self
            .tenant(label)
            .ok_or_else(|| SimError::NoTenant(label.to_string()))?;
        crate::graph::GraphClient::new(
            crate::graph::Endpoints {
                login_url: self.login_url(),
                graph_url: graph_url.to_string(),
                graph_scope: crate::graph::client::GLOBAL_GRAPH_SCOPE.into(),
            },
            crate::graph::Credentials {
                tenant: tenant.id.clone(),
                client_id: tenant.client_id.clone(),
                client_secret: tenant.client_secret.clone(),
            },
        )
        .map_err(|e| SimError::Client(e.to_string()))
    }

    /// The product's Exchange Online client for one of the tenants, signed in with its client
    /// secret, as the tests use it.
    pub fn exchange_client(
        &self,
        label: &str,
    ) -> Result<crate::exchange::ExchangeClient, SimError> {
        let tenant = self
            .tenant(label)
            .ok_or_else(|| SimError::NoTenant(label.to_string()))?;
        crate::exchange::ExchangeClient::new(
            &self.exchange_url(),
            crate::graph::auth::SignIn {
                login_url: self.login_url(),
                tenant: tenant.id.clone(),
                client_id: tenant.client_id.clone(),
                scope: crate::exchange::GLOBAL_EXCHANGE_SCOPE.into(),
                auth: crate::graph::auth::Auth::ClientSecret(tenant.client_secret.clone()),
                cache: None,
                warn: None,
            },
        )
        .map_err(|e| SimError::Client(e.to_string()))
    }

    /// Scenario hook: replace all records of (name, type) in the zone, e.g. lower the MX TTL or
    /// point MX elsewhere. `name` is `@`, relative (`_dmarc`) or absolute inside the zone;
    /// `rtype` is MX, TXT, CNAME, SRV or NS; `values` are zone-file data (`0 host.example.`,
    /// `v=spf1 …`, `100 1 443 sipdir.online.lync.com`); no values removes the records. The SOA
    /// serial increases; the next query sees the change.
    pub fn set_dns_records(
        &self,
        name: &str,
        rtype: &str,
        ttl: u32,
        values: &[&str],
    ) -> Result<(), SimError> {
        self.zone.set_records(name, rtype, ttl, values)
    }

    /// The TSIG key the domain's DNS server accepts RFC 2136 updates signed with.
    pub fn dns_update_key(&self) -> &SimTsigKey {
        &self.update_key
    }

    /// UPDATE messages that reached the domain's DNS server (signed or not, applied or
    /// refused): what a read-only run must leave at zero.
    pub fn dns_updates_received(&self) -> u64 {
        self.zone.updates_received()
    }

    /// The `[dns.update]` section pointing at the sim's server, the secret in `key_file`
    /// (written by the caller with [`crate::dns::update::key_file_text`]).
    pub fn dns_update_toml(&self, key_file: &std::path::Path) -> String {
        format!(
            "\n[dns.update]\nserver = \"{}\"\nzone = \"{}\"\nkey_name = \"{}\"\nalgorithm = \"{}\"\nkey_file = \"{}\"\n",
            self.dns_addr(),
            self.domain(),
            self.update_key.name,
            self.update_key.algorithm,
            key_file
                .display()
                .to_string()
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
        )
    }

    /// Lifetime of tokens issued from now on (default 3599 s); rehearses expiry.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.state
            .token_lifetime_secs
            .store(lifetime.as_secs(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Forget every access token issued so far, as when an admin revokes sessions: the next
    /// request with one gets 401 `InvalidAuthenticationToken` although it has not expired.
    pub fn revoke_access_tokens(&self) {
        if let Ok(mut tokens) = self.state.tokens.lock() {
            tokens.clear();
        }
    }

    /// Withhold a permission from tokens issued from now on, as an admin removing it from the
    /// app registration: `Domain.Read.All` for both tenants or `source:Domain.Read.All`.
    /// Tokens already issued keep what they carry until they expire, as Entra's do.
    pub fn deny_permission(&self, value: &str) -> Result<(), SimError> {
        let denial =
            permissions::parse_denial(value, &TENANT_LABELS).map_err(SimError::InvalidOptions)?;
        self.state
            .denials
            .lock()
            .map(|mut d| d.push(denial))
            .map_err(|_| SimError::InvalidOptions("the rehearsal state is unusable".into()))
    }

    /// Grant every permission again (for tokens issued from now on).
    pub fn grant_all_permissions(&self) {
        if let Ok(mut d) = self.state.denials.lock() {
            d.clear();
        }
    }

    /// Change a user's display name (by id or UPN), as an admin would; delta queries see it.
    pub fn rename_user(&self, label: &str, key: &str, display_name: &str) -> bool {
        self.change(label, true, |t| {
            let i = t.user_position(key)?;
            t.users[i].display_name = display_name.to_string();
            Some(t.users[i].id.clone())
        })
    }

    /// Delete a user (by id or UPN); delta queries report it `@removed`.
    pub fn delete_user(&self, label: &str, key: &str) -> bool {
        self.change(label, true, |t| {
            let i = t.user_position(key)?;
            let id = t.users.remove(i).id;
            t.reindex();
            Some(id)
        })
    }

    /// Change a group's display name (by id).
    pub fn rename_group(&self, label: &str, id: &str, display_name: &str) -> bool {
        self.change(label, false, |t| {
            let g = t
                .groups
                .iter_mut()
                .find(|g| g.id.eq_ignore_ascii_case(id))?;
            g.display_name = display_name.to_string();
            Some(g.id.clone())
        })
    }

    fn change(
        &self,
        label: &str,
        users: bool,
        edit: impl FnOnce(&mut directory::Tenant) -> Option<String>,
    ) -> bool {
        let Some(tenant) = self.tenants.iter().position(|t| t.label == label) else {
            return false;
        };
        let Ok(mut tenants) = self.state.tenants.write() else {
            return false;
        };
        let Some(id) = tenants.get_mut(tenant).and_then(edit) else {
            return false;
        };
        // Recorded while the write lock is held, so a delta never sees one without the other.
        match self.state.changes.lock() {
            Ok(mut c) => {
                c.push(delta::Change { tenant, users, id });
                true
            }
            Err(_) => false,
        }
    }

    /// The ids the `label` tenant holds in a collection (`users`, `groups`, `contacts`,
    /// `applications`), in serving order: what a complete listing must return.
    pub fn ids(&self, label: &str, collection: &str) -> Option<Vec<String>> {
        let tenant = self.tenants.iter().position(|t| t.label == label)?;
        let tenants = self.state.tenants.read().ok()?;
        let t = tenants.get(tenant)?;
        Some(match collection {
            "users" => t.users.iter().map(|u| u.id.clone()).collect(),
            "groups" => t.groups.iter().map(|g| g.id.clone()).collect(),
            "contacts" => t.contacts.iter().map(|c| c.id.clone()).collect(),
            "applications" => t.applications.iter().map(|a| a.id.clone()).collect(),
            _ => return None,
        })
    }

    /// Replace the injected faults from now on.
    pub fn set_faults(&self, faults: Faults) {
        if let Ok(mut t) = self.state.trouble.lock() {
            t.faults = faults;
        }
    }

    /// Turn the throttling bucket on (with full buckets) or off.
    pub fn set_throttle(&self, throttle: Option<Throttle>) {
        if let Ok(mut t) = self.state.trouble.lock() {
            t.throttle = throttle;
            t.buckets.clear();
        }
    }

    /// Writes per second per tenant from now on (full buckets), or no write throttling.
    pub fn set_write_rate(&self, rate: Option<f64>) {
        if let Ok(mut t) = self.state.trouble.lock() {
            t.writes = throttle::WriteThrottle::new(rate);
        }
    }

    /// Writes answered 429 by the write bucket so far: (Graph, items included; Exchange).
    pub fn write_throttled(&self) -> (u64, u64) {
        match self.state.trouble.lock() {
            Ok(t) => (t.writes.graph_throttled, t.writes.exchange_throttled),
            Err(_) => (0, 0),
        }
    }

    /// Faults injected and requests throttled (429) so far.
    pub fn fault_counts(&self) -> (u64, u64) {
        match self.state.trouble.lock() {
            Ok(t) => (t.injected, t.throttled),
            Err(_) => (0, 0),
        }
    }

    /// Graph requests received so far (`$batch` items count one each, the batch too).
    pub fn graph_requests(&self) -> u64 {
        match self.state.trouble.lock() {
            Ok(t) => t.requests,
            Err(_) => 0,
        }
    }

    /// The most Graph requests served at once since the last call (then reset).
    pub fn take_peak_in_flight(&self) -> usize {
        match self.state.trouble.lock() {
            Ok(mut t) => {
                let now = t.in_flight;
                std::mem::replace(&mut t.peak_in_flight, now)
            }
            Err(_) => 0,
        }
    }

    /// Register a certificate (DER) on the `label` tenant's app, as an admin uploads one in
    /// the app registration; returns its `x5t#S256` thumbprint.
    pub fn add_certificate(&self, label: &str, der: &[u8]) -> Result<String, SimError> {
        let tenant = self
            .tenants
            .iter()
            .position(|t| t.label == label)
            .ok_or_else(|| SimError::InvalidOptions(format!("no tenant labelled {label}")))?;
        signin::register(&self.state, tenant, der).ok_or_else(|| {
            SimError::InvalidOptions("not an X.509 certificate with an RSA key".into())
        })
    }

    /// The sim's user approves (or declines) the pending device-code sign-in with this
    /// code, as the sim-only route `POST /sim/device` does; false if none is pending.
    pub fn decide_device_code(&self, user_code: &str, approve: bool) -> bool {
        signin::decide(&self.state, user_code, approve)
    }

    /// Polling interval (whole seconds, at least 1) and lifetime of new device codes.
    pub fn set_device_code_timing(&self, interval: Duration, lifetime: Duration) {
        if let Ok(mut g) = self.state.sign_in.lock() {
            g.timing = signin::DeviceTiming {
                interval: interval.max(Duration::from_secs(1)),
                lifetime,
            };
        }
    }

    /// Stop both servers, letting in-flight requests finish (bounded to a few seconds).
    pub async fn shutdown(mut self) {
        if let Some((stop, mut task)) = self.http.take() {
            let _ = stop.send(());
            // Idle keep-alive connections close at once; a stuck client must not hang us.
            if tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
            {
                task.abort();
            }
        }
        if let Some(r) = self.resolver.take() {
            r.shutdown();
        }
        if let Some(dns) = self.dns.take() {
            dns.shutdown().await;
        }
        if let Some(world) = self.world.take() {
            world.shutdown().await;
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        if let Some((stop, task)) = self.http.take() {
            let _ = stop.send(());
            task.abort();
        }
        // Dropping hickory's Server aborts its tasks and closes the sockets.
        self.dns.take();
        self.world.take();
        self.resolver.take();
    }
}
