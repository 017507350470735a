//! Starting the dashboard, shared by `cutover` (configured tenants) and `cutover demo` (the
//! rehearsal environment): clients from profiles, journal, saved progress, the event loop.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Failure, Outcome};
use crate::app::State;
use crate::app::run::{Dashboard, Services, run};
use crate::audit::{Journal, read_records};
use crate::config::{AuthMethod, Profile};
use crate::graph::auth::{
    AssertionAlg, Auth, ClientCertificate, DeviceEvent, DevicePrompt, SignIn,
};
use crate::graph::{GraphClient, GraphError};
use crate::plan::Progress;
use crate::store::Paths;

/// What one dashboard session watches.
pub(crate) struct Session {
    /// Names the audit journal and the saved progress.
    pub cutover_id: String,
    pub domain: crate::dns::name::DomainName,
    pub source: GraphClient,
    /// The source's Exchange client, for the workbench's changes.
    pub source_exchange: Option<crate::exchange::ExchangeClient>,
    /// None when the configuration names no destination tenant.
    pub destination: Option<GraphClient>,
    pub watch: DnsWatch,
    /// The sign-in host asked who holds the domain from outside (none: not asked).
    pub login_url: Option<String>,
    /// The action channel, made early when the clients' device-code prompt sends on it.
    pub channel: Option<ActionChannel>,
    /// The cutover time T as the admin gave it for this session (`--cutover`), if any.
    pub cutover_cli: Option<OffsetDateTime>,
    /// The config's `cutover_at`, used when neither `--cutover` nor the timeline set T.
    pub cutover_config: Option<OffsetDateTime>,
    /// The rehearsal's own T (`cutover demo` only, said so on screen). The dashboard itself
    /// never invents one.
    pub cutover_demo: Option<OffsetDateTime>,
    /// The destination's Exchange client, for runs of the adopt plan (`cutover demo`).
    pub destination_exchange: Option<crate::exchange::ExchangeClient>,
    /// How runs change the zone's record sets (`cutover demo`: RFC 2136 to the rehearsal's).
    pub dns_writer: Option<crate::executor::dns::DnsWriter>,
    /// `cutover demo --play`: the player's speed.
    pub play: Option<f64>,
    /// The runbook in force (a user's `runbook.toml` beside the config, else the built-in).
    pub runbook: crate::plan::Runbook,
    /// The provider whose portal manages the source's users (config `provider`).
    pub source_provider: Option<crate::config::Provider>,
}

/// Both ends of the dashboard's action channel.
pub(crate) type ActionChannel = (
    tokio::sync::mpsc::UnboundedSender<crate::app::Action>,
    tokio::sync::mpsc::UnboundedReceiver<crate::app::Action>,
);

/// Shows a device code in the dashboard's sign-in dialog: the prompt sends it to the loop.
/// Graph's and Exchange's sign-ins of one tenant are apart (a cache holds one scope), so each
/// has its own dialog, closed when its own sign-in ends.
pub(crate) fn dialog_prompt(
    tenant: crate::app::state::TenantId,
    service: crate::app::state::SignInService,
    tx: tokio::sync::mpsc::UnboundedSender<crate::app::Action>,
) -> DevicePrompt {
    Arc::new(move |event: DeviceEvent<'_>| {
        let action = match event {
            DeviceEvent::Code(code) => {
                crate::app::Action::SignInStarted(crate::app::state::SignInDialog {
                    tenant,
                    service,
                    user_code: code.user_code.clone(),
                    verification_uri: code.verification_uri.clone(),
                    expires_in: code.expires_in,
                })
            }
            DeviceEvent::Ended => crate::app::Action::SignInEnded { tenant, service },
        };
        let _ = tx.send(action);
    })
}

/// What the DNS pane watches beyond the record table.
#[derive(Default)]
pub(crate) struct DnsWatch {
    /// The resolvers (`dns::targets::plan`): the zone's authoritative servers first, whose
    /// answers are the records and TTLs; the recursive ones show propagation.
    pub resolvers: Vec<crate::dns::monitor::Target>,
    /// The tenant whose serviceConfigurationRecords are the expected records.
    pub expect_from: Option<crate::app::state::TenantId>,
    /// DNS blocklist zones the MX hosts' addresses are checked on.
    pub dnsbl: Vec<String>,
    /// Records watched beside the Microsoft 365 set.
    pub extra_names: Vec<(String, crate::dns::RecordKind)>,
}

/// The Graph client a profile describes, caching tokens in `<data dir>/tokens/<side>.json`.
/// `prompt` shows a device code to the person (none: a device-code profile must have signed
/// in with `cutover login` before).
pub(crate) fn client_for(
    profile: &Profile,
    paths: &Paths,
    prompt: Option<DevicePrompt>,
) -> Result<GraphClient, Failure> {
    let warn: crate::graph::auth::Warn = Arc::new(|m: &str| eprintln!("cutover: warning: {m}"));
    client_with_warn(profile, paths, prompt, warn)
}

/// One warning line on stderr when the token the client now holds was issued to a user of
/// another tenant (a partner's technician or a guest); returns what it found for the plan.
pub(crate) async fn warn_other_tenant(
    client: &GraphClient,
    side: &str,
) -> Option<crate::graph::auth::OtherTenant> {
    let other = client.tokens().signed_in_from_other_tenant().await?;
    eprintln!("cutover: warning: {}", other.warning(side));
    Some(other)
}

/// The dashboard's client: the terminal belongs to the screen, so sign-in warnings (a corrupt
/// token cache discarded) go to the log instead of stderr.
pub(crate) fn dashboard_client(
    profile: &Profile,
    paths: &Paths,
    prompt: Option<DevicePrompt>,
) -> Result<GraphClient, Failure> {
    let warn: crate::graph::auth::Warn = Arc::new(|m: &str| tracing::warn!("{m}"));
    client_with_warn(profile, paths, prompt, warn)
}

fn client_with_warn(
    profile: &Profile,
    paths: &Paths,
    prompt: Option<DevicePrompt>,
    warn: crate::graph::auth::Warn,
) -> Result<GraphClient, Failure> {
    let endpoints = profile.cloud.endpoints();
    let side = profile.side.name();
    let auth = profile_auth(profile, prompt)?;
    GraphClient::with_sign_in(
        &endpoints.graph_url,
        SignIn {
            login_url: endpoints.login_url,
            tenant: profile.tenant.clone(),
            client_id: profile.client_id.clone(),
            scope: profile.cloud.graph_scope(),
            auth,
            cache: Some(paths.token_cache(side)),
            warn: Some(warn),
        },
    )
    .inspect(|client| {
        // One device code for the profile: Exchange's sign-in can serve Graph too.
        client
            .tokens()
            .share_sign_in_with(exchange_token_cache(paths, side));
    })
    .map_err(|e| Failure::Service(e.to_string()))
}

/// Where a profile's Exchange Online tokens are cached: apart from Graph's, since a cache file
/// holds one resource's access token.
pub(crate) fn exchange_token_cache(paths: &Paths, side: &str) -> std::path::PathBuf {
    paths.token_cache(&format!("{side}-exchange"))
}

/// How a profile signs in: its secret, its certificate (PEM or PFX) or a device code shown by
/// `prompt`.
pub(crate) fn profile_auth(
    profile: &Profile,
    prompt: Option<DevicePrompt>,
) -> Result<Auth, Failure> {
    Ok(match profile.auth {
        AuthMethod::ClientSecret => {
            Auth::ClientSecret(profile.client_secret().map_err(Failure::Input)?)
        }
        AuthMethod::Certificate => {
            let side = profile.side.name();
            let path = profile
                .certificate
                .as_deref()
                .ok_or_else(|| Failure::Input(format!("tenants.{side}.certificate is missing")))?;
            Auth::Certificate(Arc::new(load_certificate(profile, path)?))
        }
        AuthMethod::DeviceCode => Auth::DeviceCode { prompt },
    })
}

fn load_certificate(profile: &Profile, path: &Path) -> Result<ClientCertificate, Failure> {
    let side = profile.side.name();
    if crate::config::is_pfx(path) {
        let password = profile.certificate_password().map_err(Failure::Input)?;
        let bytes = std::fs::read(path).map_err(|e| {
            Failure::Input(format!(
                "tenants.{side}.certificate: cannot read {}: {e}",
                path.display()
            ))
        })?;
        return crate::graph::pfx::client_certificate(&bytes, &password, AssertionAlg::Rs256)
            .map_err(|e| {
                Failure::Input(format!(
                    "tenants.{side}.certificate {}: {e}",
                    path.display()
                ))
            });
    }
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::Input(format!(
            "tenants.{side}.certificate: cannot read {}: {e}",
            path.display()
        ))
    })?;
    ClientCertificate::from_pem(&text, AssertionAlg::Rs256).map_err(|e| {
        Failure::Input(format!(
            "tenants.{side}.certificate {}: {e}",
            path.display()
        ))
    })
}

/// Shows a device code on stderr, as `cutover login` and the dashboard's start-up do.
pub(crate) fn print_device_code() -> DevicePrompt {
    Arc::new(|event: DeviceEvent<'_>| {
        if let DeviceEvent::Code(code) = event {
            eprintln!(
                "To sign in, open {} and enter the code {} (valid {} min).",
                code.verification_uri,
                code.user_code,
                code.expires_in / 60
            );
        }
    })
}

/// A sign-in failure as a command's outcome: refused credentials are configuration (exit 2),
/// anything else a service error (exit 3).
pub(crate) fn sign_in_failure(e: GraphError) -> Failure {
    match &e {
        GraphError::Auth { error, .. }
            if matches!(
                error.as_str(),
                "invalid_client"
                    | "unauthorized_client"
                    | "invalid_tenant"
                    | "invalid_scope"
                    | "invalid_resource"
            ) =>
        {
            Failure::Input(e.to_string())
        }
        GraphError::Config(_) => Failure::Input(e.to_string()),
        _ => Failure::Service(e.to_string()),
    }
}

/// Open the journal and saved progress for the session and run the dashboard until quit.
pub(crate) async fn open_dashboard(paths: &Paths, session: Session) -> Outcome {
    let Session {
        cutover_id,
        domain,
        source,
        source_exchange,
        destination,
        watch,
        login_url,
        channel,
        cutover_cli,
        cutover_config,
        cutover_demo,
        destination_exchange,
        dns_writer,
        play,
        runbook,
        source_provider,
    } = session;
    let journal_path = paths.audit_log(&cutover_id);
    let journal =
        Journal::open(&journal_path, &cutover_id).map_err(|e| Failure::Input(e.to_string()))?;
    let history = read_records(&journal_path).map_err(|e| Failure::Input(e.to_string()))?;
    let progress_file = paths.state_file(&cutover_id);
    let saved = Progress::load(&progress_file).map_err(|e| Failure::Input(e.to_string()))?;

    let now = OffsetDateTime::now_utc();
    let mut state = State::new(cutover_id, domain.ascii.clone(), runbook, now);
    state.domain_shown = domain.display_both();
    state.destination.unconfigured = destination.is_none();
    // The DNS pane says whose records it expects before the first poll answers.
    state.dns.expected_from = watch.expect_from;
    state.audit = history;
    state.cutover_set_in_timeline = saved.cutover_time();
    state.operator = journal.operator().to_string();
    state.progress = saved;
    let chosen = crate::plan::cutover_time::choose(
        cutover_cli,
        state.cutover_set_in_timeline,
        cutover_config,
    )
    .or(cutover_demo.map(|t| (t, crate::plan::CutoverSource::Demo)));
    if let Some((at, from)) = chosen {
        state.cutover_at = Some(at);
        state.cutover_from = Some(from);
    }
    state.play.playing = play.is_some();
    let dashboard = Dashboard {
        state,
        services: Services {
            source: Arc::new(source),
            source_exchange: source_exchange.map(Arc::new),
            destination: destination.map(Arc::new),
            graph_every: Duration::from_secs(5),
            dns_every: Duration::from_secs(3),
            resolvers: watch.resolvers,
            expect_from: watch.expect_from,
            dnsbl: watch.dnsbl,
            extra_names: watch.extra_names,
            snapshots_dir: paths.snapshots_dir(),
            discovery: match login_url {
                Some(url) => Some(
                    crate::graph::discovery::DiscoveryClient::new(
                        &url,
                        crate::graph::discovery::DEFAULT_TIMEOUT,
                    )
                    .map_err(|e| Failure::Service(e.to_string()))?,
                ),
                None => None,
            },
            outside_every: Duration::from_secs(30),
            inventory_every: Duration::from_secs(60),
            access_every: Duration::from_secs(60),
            destination_exchange: destination_exchange.map(Arc::new),
            dns_writer: dns_writer.map(Arc::new),
            source_provider,
            play,
        },
        journal,
        progress_file,
        channel,
    };
    run(dashboard)
        .await
        .map_err(|e| Failure::Input(format!("{e}; run cutover in an interactive terminal")))?;
    Ok(ExitCode::SUCCESS)
}
