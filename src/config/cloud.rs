//! Which Microsoft cloud a profile signs in to, and its login, Graph and Exchange hosts.

use std::collections::HashMap;

use super::{Checker, Field};

/// A Microsoft cloud, or explicit URLs (the rehearsal environment is reached this way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cloud {
    Global,
    /// Microsoft Cloud for US Government (GCC High; L4).
    UsGov,
    /// Microsoft 365 operated by 21Vianet.
    China,
    Custom(CloudEndpoints),
}

/// Base URLs without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudEndpoints {
    pub login_url: String,
    pub graph_url: String,
    pub exchange_url: String,
}

impl Cloud {
    pub fn name(&self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::UsGov => "usgov",
            Cloud::China => "china",
            Cloud::Custom(_) => "custom",
        }
    }

    /// Login and Graph hosts are from Microsoft's "national cloud deployments" page; the
    /// Exchange hosts are the ones the ExchangeOnlineManagement module connects to.
    pub fn endpoints(&self) -> CloudEndpoints {
        let (login, graph, exchange) = match self {
            Cloud::Global => (
                "https://login.microsoftonline.com",
                "https://graph.microsoft.com",
                "https://outlook.office365.com",
            ),
            Cloud::UsGov => (
                "https://login.microsoftonline.us",
                "https://graph.microsoft.us",
                "https://outlook.office365.us",
            ),
            Cloud::China => (
                "https://login.chinacloudapi.cn",
                "https://microsoftgraph.chinacloudapi.cn",
                "https://partner.outlook.cn",
            ),
            Cloud::Custom(e) => return e.clone(),
        };
        CloudEndpoints {
            login_url: login.into(),
            graph_url: graph.into(),
            exchange_url: exchange.into(),
        }
    }

    /// The `.default` scope for Exchange Online tokens: the cloud's Exchange host; a custom
    /// cloud keeps the global resource id, as for Graph.
    pub fn exchange_scope(&self) -> String {
        match self {
            Cloud::UsGov | Cloud::China => format!("{}/.default", self.endpoints().exchange_url),
            Cloud::Global | Cloud::Custom(_) => "https://outlook.office365.com/.default".into(),
        }
    }

    /// The `.default` scope for Graph app-only tokens. National clouds use their own Graph
    /// host; a custom cloud (the rehearsal environment, a proxy) keeps the global resource id.
    pub fn graph_scope(&self) -> String {
        match self {
            Cloud::UsGov | Cloud::China => format!("{}/.default", self.endpoints().graph_url),
            Cloud::Global | Cloud::Custom(_) => "https://graph.microsoft.com/.default".into(),
        }
    }
}

const URL_KEYS: [&str; 3] = ["login_url", "graph_url", "exchange_url"];

pub(super) fn check(
    c: &mut Checker<'_>,
    profile: &str,
    fields: &HashMap<&str, Field>,
) -> Option<Cloud> {
    let cloud = fields.get("cloud");
    let kind = cloud.map(|f| f.value.trim()).unwrap_or("global");
    let urls: Vec<(&str, Option<&Field>)> = URL_KEYS.iter().map(|k| (*k, fields.get(k))).collect();
    match kind {
        "global" | "usgov" | "china" => {
            for (key, field) in &urls {
                if let Some(f) = field {
                    c.problem(
                        f,
                        format!(
                            "tenants.{profile}.{key} is only used with cloud = \"custom\"; remove it or set cloud = \"custom\""
                        ),
                    );
                }
            }
            Some(match kind {
                "global" => Cloud::Global,
                "usgov" => Cloud::UsGov,
                _ => Cloud::China,
            })
        }
        "custom" => {
            let mut values = Vec::new();
            for (key, field) in &urls {
                match field {
                    None => c.nowhere(format!(
                        "tenants.{profile}.{key} is missing; cloud = \"custom\" needs login_url, graph_url and exchange_url"
                    )),
                    Some(f) => match check_url(&f.value) {
                        Ok(u) => values.push(u),
                        Err(why) => c.problem(f, format!("tenants.{profile}.{key}: {why}")),
                    },
                }
            }
            let [login_url, graph_url, exchange_url] = <[String; 3]>::try_from(values).ok()?;
            Some(Cloud::Custom(CloudEndpoints {
                login_url,
                graph_url,
                exchange_url,
            }))
        }
        other => {
            if let Some(f) = cloud {
                c.problem(
                    f,
                    format!(
                        "tenants.{profile}.cloud '{other}' is not one of global, usgov, china, custom"
                    ),
                );
            }
            None
        }
    }
}

/// An http(s) base URL without query or fragment, returned without its trailing slash.
fn check_url(raw: &str) -> Result<String, String> {
    let u = raw.trim();
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"))
        .ok_or_else(|| format!("'{u}' must start with https:// (or http:// for loopback)"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() || u.contains(['?', '#', ' ']) {
        return Err(format!(
            "'{u}' is not a base URL (scheme, host, optional path)"
        ));
    }
    Ok(u.trim_end_matches('/').to_string())
}
