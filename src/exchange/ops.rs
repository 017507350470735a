//! Typed Exchange operations over [`ExchangeClient::invoke`]: listings (recipients,
//! mailboxes, accepted domains, connectors) and the writes cutover needs (proxy addresses,
//! primary address, connector removal). Writes are library functions: cutover's executor,
//! which journals intent and outcome, is the only intended caller.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::client::{ExchangeClient, Invoked, Route};
use super::error::ExchangeError;
use super::model::{Connector, InboundConnector, OutboundConnector, Recipient, RecipientKind};

/// Typed objects with the warnings and request ids of the pages they came in.
#[derive(Debug, Clone)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub warnings: Vec<String>,
    pub request_ids: Vec<String>,
}

/// `Get-AcceptedDomain`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct AcceptedDomain {
    pub domain_name: String,
    /// `Authoritative`, `InternalRelay`, `ExternalRelay`.
    pub domain_type: String,
    pub default: bool,
}

/// `{"@odata.type":"#Exchange.GenericHashTable","Add":[…],"Remove":[…]}`: how PowerShell's
/// `@{Add=…; Remove=…}` travels (as the ExchangeOnlineManagement module sends it; not
/// documented by Microsoft).
pub fn hashtable(add: &[String], remove: &[String]) -> Value {
    let mut table = json!({"@odata.type": "#Exchange.GenericHashTable"});
    if !add.is_empty() {
        table["Add"] = json!(add);
    }
    if !remove.is_empty() {
        table["Remove"] = json!(remove);
    }
    table
}

fn typed<T: DeserializeOwned>(invoked: Invoked, cmdlet: &str) -> Result<Listed<T>, ExchangeError> {
    let items = invoked
        .values
        .into_iter()
        .map(serde_json::from_value)
        .collect::<Result<Vec<T>, _>>()
        .map_err(|e| ExchangeError::Decode {
            url: cmdlet.to_string(),
            message: e.to_string(),
        })?;
    Ok(Listed {
        items,
        warnings: invoked.warnings,
        request_ids: invoked.request_ids,
    })
}

impl ExchangeClient {
    /// Every recipient (`Get-Recipient -ResultSize Unlimited`, InvokeCommand).
    pub async fn recipients(&self) -> Result<Listed<Recipient>, ExchangeError> {
        let params = json!({"ResultSize": "Unlimited"});
        let r = self
            .invoke(Route::InvokeCommand, "Get-Recipient", params)
            .await?;
        typed(r, "Get-Recipient")
    }

    /// Recipients holding `domain` in any address, filtered here: Exchange's OPATH
    /// `-Filter` would do it server-side but its wildcard rules differ between properties.
    pub async fn recipients_in(&self, domain: &str) -> Result<Listed<Recipient>, ExchangeError> {
        let mut all = self.recipients().await?;
        all.items.retain(|r| r.holds(domain));
        Ok(all)
    }

    /// Every mailbox (`Get-Mailbox -ResultSize Unlimited`) over InvokeCommand.
    pub async fn mailboxes(&self) -> Result<Listed<Recipient>, ExchangeError> {
        let params = json!({"ResultSize": "Unlimited"});
        let r = self
            .invoke(Route::InvokeCommand, "Get-Mailbox", params)
            .await?;
        typed(r, "Get-Mailbox")
    }

    /// Every mailbox over the documented Admin API's `Mailbox` endpoint.
    pub async fn mailboxes_documented(&self) -> Result<Listed<Recipient>, ExchangeError> {
        let params = json!({"ResultSize": "Unlimited"});
        let r = self
            .invoke(Route::AdminApi("Mailbox"), "Get-Mailbox", params)
            .await?;
        typed(r, "Get-Mailbox")
    }

    /// The tenant's accepted domains, over the documented `AcceptedDomain` endpoint.
    pub async fn accepted_domains(&self) -> Result<Listed<AcceptedDomain>, ExchangeError> {
        let r = self
            .invoke(
                Route::AdminApi("AcceptedDomain"),
                "Get-AcceptedDomain",
                json!({}),
            )
            .await?;
        typed(r, "Get-AcceptedDomain")
    }

    pub async fn inbound_connectors(&self) -> Result<Listed<InboundConnector>, ExchangeError> {
        let r = self
            .invoke(Route::InvokeCommand, "Get-InboundConnector", json!({}))
            .await?;
        typed(r, "Get-InboundConnector")
    }

    pub async fn outbound_connectors(&self) -> Result<Listed<OutboundConnector>, ExchangeError> {
        let r = self
            .invoke(Route::InvokeCommand, "Get-OutboundConnector", json!({}))
            .await?;
        typed(r, "Get-OutboundConnector")
    }

    /// Inbound then outbound connectors.
    pub async fn connectors(&self) -> Result<Vec<Connector>, ExchangeError> {
        let inbound = self.inbound_connectors().await?;
        let outbound = self.outbound_connectors().await?;
        Ok(inbound
            .items
            .into_iter()
            .map(Connector::Inbound)
            .chain(outbound.items.into_iter().map(Connector::Outbound))
            .collect())
    }

    /// Add and/or remove proxy addresses (`Set-Mailbox` / `Set-DistributionGroup` /
    /// `Set-UnifiedGroup -EmailAddresses @{Add=…; Remove=…}`).
    pub async fn change_addresses(
        &self,
        kind: RecipientKind,
        identity: &str,
        add: &[String],
        remove: &[String],
    ) -> Result<Invoked, ExchangeError> {
        let cmdlet = kind.set_cmdlet().ok_or_else(|| {
            ExchangeError::Config(format!(
                "cutover does not change addresses of '{identity}' (neither mailbox nor group)"
            ))
        })?;
        let params = json!({"Identity": identity, "EmailAddresses": hashtable(add, remove)});
        self.invoke(Route::InvokeCommand, cmdlet, params).await
    }

    /// Make `address` the primary SMTP address.
    pub async fn set_primary(
        &self,
        kind: RecipientKind,
        identity: &str,
        address: &str,
    ) -> Result<Invoked, ExchangeError> {
        let cmdlet = kind.set_cmdlet().ok_or_else(|| {
            ExchangeError::Config(format!(
                "cutover does not change addresses of '{identity}' (neither mailbox nor group)"
            ))
        })?;
        let mut params = json!({"Identity": identity});
        params[kind.primary_parameter()] = json!(address);
        self.invoke(Route::InvokeCommand, cmdlet, params).await
    }

    /// `Remove-InboundConnector` / `Remove-OutboundConnector -Confirm:$false`.
    pub async fn remove_connector(&self, connector: &Connector) -> Result<Invoked, ExchangeError> {
        let cmdlet = match connector {
            Connector::Inbound(_) => "Remove-InboundConnector",
            Connector::Outbound(_) => "Remove-OutboundConnector",
        };
        let params = json!({"Identity": connector.identity(), "Confirm": false});
        self.invoke(Route::InvokeCommand, cmdlet, params).await
    }
}
