//! Starting the dashboard, shared by `cutover` (configured tenants) and `cutover demo` (the
//! rehearsal environment): clients from profiles, journal, saved progress, the event loop.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Failure, Outcome};
use crate::app::State;
use crate::app::run::{Dashboard, Services, run};
use crate::audit::{Journal, read_records};
use crate::config::{AuthMethod, Profile};
use crate::dns::DnsClient;
use crate::graph::{Credentials, Endpoints, GraphClient};
use crate::plan::{Progress, Runbook};
use crate::store::Paths;

/// What one dashboard session watches.
pub(crate) struct Session {
    /// Names the audit journal and the saved progress.
    pub cutover_id: String,
    pub domain: String,
    pub source: GraphClient,
    pub destination: GraphClient,
    pub dns: DnsClient,
}

/// The Graph client a profile describes.
pub(crate) fn client_for(profile: &Profile) -> Result<GraphClient, Failure> {
    let endpoints = profile.cloud.endpoints();
    let endpoints = Endpoints {
        login_url: endpoints.login_url,
        graph_url: endpoints.graph_url,
        graph_scope: profile.cloud.graph_scope(),
    };
    match profile.auth {
        AuthMethod::ClientSecret => {
            let client_secret = profile.client_secret().map_err(Failure::Input)?;
            GraphClient::new(
                endpoints,
                Credentials {
                    tenant: profile.tenant.clone(),
                    client_id: profile.client_id.clone(),
                    client_secret,
                },
            )
            .map_err(|e| Failure::Service(e.to_string()))
        }
        other => Err(Failure::Input(format!(
            "tenants.{}: auth = \"{}\" is not available in this build; use client-secret",
            profile.side.name(),
            other.name()
        ))),
    }
}

/// Open the journal and saved progress for the session and run the dashboard until quit.
pub(crate) async fn open_dashboard(paths: &Paths, session: Session) -> Outcome {
    let Session {
        cutover_id,
        domain,
        source,
        destination,
        dns,
    } = session;
    let journal_path = paths.audit_log(&cutover_id);
    let journal =
        Journal::open(&journal_path, &cutover_id).map_err(|e| Failure::Input(e.to_string()))?;
    let history = read_records(&journal_path).map_err(|e| Failure::Input(e.to_string()))?;
    let runbook = Runbook::embedded().map_err(|e| Failure::Input(e.to_string()))?;
    let progress_file = paths.state_file(&cutover_id);
    let saved = Progress::load(&progress_file).map_err(|e| Failure::Input(e.to_string()))?;

    let now = OffsetDateTime::now_utc();
    let mut state = State::new(cutover_id, domain, runbook, now);
    state.audit = history;
    state.step_status = saved.statuses;
    state.cutover_at = Some(
        saved
            .cutover_at
            .as_deref()
            .and_then(|t| {
                OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .unwrap_or(now + time::Duration::hours(24)),
    );
    let dashboard = Dashboard {
        state,
        services: Services {
            source: Arc::new(source),
            destination: Arc::new(destination),
            dns: Arc::new(dns),
            graph_every: Duration::from_secs(5),
            dns_every: Duration::from_secs(3),
        },
        journal,
        progress_file,
    };
    run(dashboard)
        .await
        .map_err(|e| Failure::Input(format!("{e}; run cutover in an interactive terminal")))?;
    Ok(ExitCode::SUCCESS)
}
