//! The release plan read from a live tenant: its domains, the domain's facts and the directory,
//! then [`crate::plan::release::release_plan_with`]. `cutover plan release` and the dashboard's workbench both come
//! here, so the plan a person previews on screen is the plan the CLI writes.

use crate::graph::{GraphClient, GraphError};
use crate::inventory::{self, Directory, DirectoryView, Entry};
use crate::plan::release::{
    Emit, Plan, ReleaseOptions, TenantFacts, force_delete_refusal, multitenant_refusal,
    release_plan_emit,
};

/// What was read and what was planned from it.
#[derive(Debug, Clone)]
pub struct LiveRelease {
    pub plan: Plan,
    /// The objects holding the domain (the inventory the plan was made from).
    pub entries: Vec<Entry>,
    pub directory: Directory,
}

#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The tenant does not have the domain (anymore).
    #[error("the {tenant} tenant does not have {domain}")]
    NoDomain { tenant: String, domain: String },
    #[error("Graph listed no initial (onmicrosoft) domain for the {0} tenant")]
    NoInitialDomain(String),
    /// `--force-delete` asked where Microsoft would refuse it.
    #[error("--force-delete: {0}")]
    ForceDelete(String),
}

/// What the release plan is made from, as Graph lists it.
#[derive(Debug, Clone)]
pub struct TenantRead {
    /// The domain in this tenant (`None`: the tenant does not have it).
    pub this: Option<crate::graph::model::Domain>,
    /// The tenant's `*.onmicrosoft.com` domain, if Graph listed one.
    pub initial: Option<String>,
    pub directory: Directory,
}

/// Read the tenant's domains, the domain and the directory, concurrently.
pub async fn read(client: &GraphClient, domain: &str) -> Result<TenantRead, GraphError> {
    let (domains, this, directory) = tokio::try_join!(
        client.domains(),
        client.domain(domain),
        inventory::read(client, domain),
    )?;
    Ok(TenantRead {
        this,
        initial: domains.into_iter().find(|d| d.is_initial).map(|d| d.id),
        directory,
    })
}

/// Plan the release of `domain` (A-label) from what was read and the objects holding it
/// (`inventory::classify` of the same directory). `force_delete`: `Some(disable_user_accounts)`
/// to plan `forceDelete`.
pub fn plan(
    read: &TenantRead,
    entries: &[Entry],
    tenant: &str,
    domain: &str,
    force_delete: Option<bool>,
) -> Result<Plan, LiveError> {
    plan_emit(
        read.this.as_ref(),
        read.initial.as_deref(),
        &read.directory,
        entries,
        (tenant, domain),
        force_delete,
        Emit {
            keep: &|_| true,
            each: None,
            renames: true,
        },
    )
}

/// [`plan`] from a directory however it is kept (the dashboard's is kept live by delta
/// queries), handing the changes over through `emit`. `this`: the domain in the tenant;
/// `initial`: the tenant's onmicrosoft domain.
pub fn plan_emit(
    this: Option<&crate::graph::model::Domain>,
    initial: Option<&str>,
    directory: &impl DirectoryView,
    entries: &[Entry],
    (tenant, domain): (&str, &str),
    force_delete: Option<bool>,
    emit: Emit<'_>,
) -> Result<Plan, LiveError> {
    let this = this.ok_or_else(|| LiveError::NoDomain {
        tenant: tenant.to_string(),
        domain: domain.to_string(),
    })?;
    let initial = initial
        .map(str::to_string)
        .ok_or_else(|| LiveError::NoInitialDomain(tenant.to_string()))?;
    let facts = TenantFacts {
        tenant: tenant.to_string(),
        domain: domain.to_string(),
        initial_domain: initial,
        domain_is_default: this.is_default,
        domain_federated: this
            .authentication_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("federated")),
    };
    let mut options = ReleaseOptions::default();
    if let Some(disable) = force_delete {
        if let Some(why) = force_delete_refusal(&facts, entries)
            .or_else(|| multitenant_refusal(&facts, entries, directory))
        {
            return Err(LiveError::ForceDelete(why));
        }
        options.force_delete = Some(disable);
    }
    Ok(release_plan_emit(&facts, entries, directory, options, emit))
}

/// [`read`], then [`plan`]: what `cutover plan release` does.
pub async fn release(
    client: &GraphClient,
    tenant: &str,
    domain: &str,
    force_delete: Option<bool>,
) -> Result<LiveRelease, LiveError> {
    let read = read(client, domain).await?;
    let entries = inventory::classify(domain, &read.directory);
    let plan = plan(&read, &entries, tenant, domain, force_delete)?;
    Ok(LiveRelease {
        plan,
        entries,
        directory: read.directory,
    })
}
