//! Delta queries (`/users/delta`, `/groups/delta`): a first round lists everything, the
//! `@odata.deltaLink` it ends with then returns only what changed, so a live refresh of a
//! 100,000-user tenant transfers only the changes.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::client::{GROUP_SELECT, GraphClient, Response, USER_SELECT};
use super::error::GraphError;
use super::model::{Group, User};

/// One delta round: objects added or changed, ids removed, and the link for the next round.
#[derive(Debug, Clone)]
pub struct Delta<T> {
    pub changed: Vec<T>,
    pub removed: Vec<String>,
    pub delta_link: String,
}

#[derive(Deserialize)]
struct DeltaPage {
    value: Vec<serde_json::Value>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

impl GraphClient {
    /// Follow a delta query (a path or a previous delta link) through its pages.
    pub async fn delta<T: DeserializeOwned>(&self, start: &str) -> Result<Delta<T>, GraphError> {
        let mut out = Delta {
            changed: Vec::new(),
            removed: Vec::new(),
            delta_link: String::new(),
        };
        let mut next = start.to_string();
        loop {
            let page: Response<DeltaPage> = self.get(&next).await?;
            for item in page.body.value {
                if item.get("@removed").is_some() {
                    if let Some(id) = item.get("id").and_then(|v| v.as_str()) {
                        out.removed.push(id.to_string());
                    }
                    continue;
                }
                let obj = serde_json::from_value(item).map_err(|e| GraphError::Decode {
                    url: next.clone(),
                    message: e.to_string(),
                })?;
                out.changed.push(obj);
            }
            match (page.body.next_link, page.body.delta_link) {
                (Some(n), _) => next = n,
                (None, Some(d)) => {
                    out.delta_link = d;
                    return Ok(out);
                }
                (None, None) => {
                    return Err(GraphError::Decode {
                        url: next,
                        message: "a delta page with neither nextLink nor deltaLink".into(),
                    });
                }
            }
        }
    }

    /// Users: the first round when `link` is `None`, else the changes since that link.
    pub async fn users_delta(&self, link: Option<&str>) -> Result<Delta<User>, GraphError> {
        let start = format!("/v1.0/users/delta?$select={USER_SELECT}");
        self.delta(link.unwrap_or(&start)).await
    }

    /// Groups, as [`GraphClient::users_delta`].
    pub async fn groups_delta(&self, link: Option<&str>) -> Result<Delta<Group>, GraphError> {
        let start = format!("/v1.0/groups/delta?$select={GROUP_SELECT}");
        self.delta(link.unwrap_or(&start)).await
    }

    /// A delta link from now on without listing anything (`$deltatoken=latest`), for a
    /// caller that already holds a full listing.
    pub async fn latest_delta_link(&self, collection: &str) -> Result<String, GraphError> {
        let select = if collection == "groups" {
            GROUP_SELECT
        } else {
            USER_SELECT
        };
        let d: Delta<serde_json::Value> = self
            .delta(&format!(
                "/v1.0/{collection}/delta?$select={select}&$deltatoken=latest"
            ))
            .await?;
        Ok(d.delta_link)
    }
}
