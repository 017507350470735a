//! Reads of a tenant's enterprise applications: service principals, delegated permission grants
//! (`oauth2PermissionGrant`) and application permissions (`appRoleAssignment`), Graph v1.0.
//!
//! What v1.0 does not offer, and cutover therefore does not show: when a delegated grant was
//! consented (an `oauth2PermissionGrant` has no time), and a service principal's last sign-in
//! (only beta's `reports/servicePrincipalSignInActivities`, with AuditLog.Read.All).

use serde::{Deserialize, Serialize};

use super::GraphError;
use super::client::{GraphClient, encode};

/// Microsoft Graph's appId (the same in every tenant).
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// Office 365 Exchange Online's appId.
pub const EXCHANGE_APP_ID: &str = "00000002-0000-0ff1-ce00-000000000000";

/// `verifiedPublisher`: set when the publisher proved its identity to Microsoft.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct VerifiedPublisher {
    pub display_name: Option<String>,
    pub verified_publisher_id: Option<String>,
    pub added_date_time: Option<String>,
}

/// One app role a resource offers (`appRoles`): `value` is the permission's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct AppRole {
    pub id: String,
    pub value: Option<String>,
    pub display_name: Option<String>,
}

/// A service principal (an enterprise application in this tenant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    pub display_name: Option<String>,
    pub publisher_name: Option<String>,
    pub verified_publisher: Option<VerifiedPublisher>,
    /// The tenant that owns the application registration.
    pub app_owner_organization_id: Option<String>,
    pub service_principal_type: Option<String>,
    pub tags: Vec<String>,
    pub app_roles: Vec<AppRole>,
    pub reply_urls: Vec<String>,
}

/// A delegated permission grant: `clientId` may act for all users (`AllPrincipals`) or for
/// `principalId` (`Principal`) on `resourceId` with the space-separated `scope`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct PermissionGrant {
    pub id: String,
    pub client_id: String,
    pub consent_type: String,
    pub principal_id: Option<String>,
    pub resource_id: String,
    pub scope: String,
}

/// An application permission (app role) granted to a service principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub struct AppRoleAssignment {
    pub id: String,
    pub app_role_id: String,
    pub principal_id: String,
    pub principal_type: Option<String>,
    pub principal_display_name: Option<String>,
    pub resource_id: String,
    pub resource_display_name: Option<String>,
    pub created_date_time: Option<String>,
}

const SP_SELECT: &str = "id,appId,displayName,publisherName,verifiedPublisher,appOwnerOrganizationId,servicePrincipalType,tags,appRoles,replyUrls";

impl GraphClient {
    /// Every service principal (`GET /servicePrincipals`, Application.Read.All).
    pub async fn service_principals(&self) -> Result<Vec<ServicePrincipal>, GraphError> {
        self.get_all(&format!(
            "/v1.0/servicePrincipals?$select={SP_SELECT}&$top=999"
        ))
        .await
    }

    /// One service principal by object id; `None` when Graph answers 404 (deleted or never).
    pub async fn service_principal(
        &self,
        id: &str,
    ) -> Result<(Option<ServicePrincipal>, Option<String>), GraphError> {
        let path = format!("/v1.0/servicePrincipals/{}?$select={SP_SELECT}", encode(id));
        match self.get::<ServicePrincipal>(&path).await {
            Ok(r) => Ok((Some(r.body), r.request_id)),
            Err(e) if e.status() == Some(404) => Ok((None, super::write::request_id_of(&e))),
            Err(e) => Err(e),
        }
    }

    /// Every delegated permission grant (`GET /oauth2PermissionGrants`, Directory.Read.All).
    pub async fn permission_grants(&self) -> Result<Vec<PermissionGrant>, GraphError> {
        self.get_all("/v1.0/oauth2PermissionGrants?$top=999").await
    }

    /// The grants of one client service principal (`$filter=clientId eq '…'`), with the
    /// request id of the first page.
    pub async fn permission_grants_of(
        &self,
        client: &str,
    ) -> Result<Vec<PermissionGrant>, GraphError> {
        let filter = encode(&format!("clientId eq '{}'", client.replace('\'', "''")));
        self.get_all(&format!("/v1.0/oauth2PermissionGrants?$filter={filter}"))
            .await
    }

    /// The app roles granted to a service principal
    /// (`GET /servicePrincipals/{id}/appRoleAssignments`, Application.Read.All).
    pub async fn app_role_assignments(
        &self,
        principal: &str,
    ) -> Result<Vec<AppRoleAssignment>, GraphError> {
        self.get_all(&format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignments",
            encode(principal)
        ))
        .await
    }

    /// The app roles granted on a resource service principal to others
    /// (`GET /servicePrincipals/{id}/appRoleAssignedTo`, Application.Read.All).
    pub async fn app_role_assigned_to(
        &self,
        resource: &str,
    ) -> Result<Vec<AppRoleAssignment>, GraphError> {
        self.get_all(&format!(
            "/v1.0/servicePrincipals/{}/appRoleAssignedTo?$top=999",
            encode(resource)
        ))
        .await
    }
}
