//! Who holds a domain, seen from outside: the tenant id in the domain's OpenID configuration
//! (documented, no sign-in), the namespace type from the user-realm lookup (undocumented, no
//! sign-in) and Graph's `findTenantInformationByDomainName` (documented, needs a token with
//! `CrossTenantInformation.ReadBasic.All`). Each source answers on its own: a fault in one is
//! reported for that source and never hides what the others said.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::transport;
use super::{GraphClient, GraphError};

/// One of the three places that can tell who holds a domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `GET {login}/{domain}/v2.0/.well-known/openid-configuration`.
    OpenidConfiguration,
    /// `GET {login}/getuserrealm.srf?login=someone@{domain}&json=1`.
    UserRealm,
    /// `GET /v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='…')`.
    FindTenantInformation,
}

impl Source {
    pub const ALL: [Source; 3] = [
        Source::OpenidConfiguration,
        Source::UserRealm,
        Source::FindTenantInformation,
    ];

    /// Whether Microsoft documents the endpoint (the user-realm lookup it does not).
    pub fn documented(self) -> bool {
        !matches!(self, Source::UserRealm)
    }

    pub fn label(self) -> &'static str {
        match self {
            Source::OpenidConfiguration => "openid-configuration",
            Source::UserRealm => "user realm",
            Source::FindTenantInformation => "findTenantInformationByDomainName",
        }
    }
}

/// What one source said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Answer<T> {
    /// The source names a tenant (or, for the realm, a Managed/Federated namespace).
    Found(T),
    /// The source answered that no tenant has the domain (`AADSTS90002`, `Unknown`, 404).
    NotFound { detail: String },
    /// No usable answer: timeout, 5xx, refused, unreadable.
    Failed { error: String },
    /// Not asked (e.g. no configured tenant to ask Graph through).
    Skipped { reason: String },
}

impl<T> Answer<T> {
    pub fn found(&self) -> Option<&T> {
        match self {
            Answer::Found(t) => Some(t),
            _ => None,
        }
    }

    pub fn is_failed(&self) -> bool {
        matches!(self, Answer::Failed { .. })
    }
}

/// From the OpenID configuration document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenidTenant {
    pub tenant_id: String,
    pub issuer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_region_scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloud_instance_name: Option<String>,
}

/// From the user-realm lookup (field names as Microsoft sends them, PascalCase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRealm {
    /// `Managed`, `Federated` or `Unknown`.
    #[serde(rename(deserialize = "NameSpaceType"))]
    pub namespace_type: String,
    #[serde(
        rename(deserialize = "DomainName"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub domain_name: Option<String>,
    #[serde(
        rename(deserialize = "FederationBrandName"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub federation_brand_name: Option<String>,
    #[serde(
        rename(deserialize = "CloudInstanceName"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cloud_instance_name: Option<String>,
    /// The federation service's sign-in page (federated domains only).
    #[serde(
        rename(deserialize = "AuthURL"),
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub auth_url: Option<String>,
}

/// Graph's `tenantInformation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantInformation {
    #[serde(rename(deserialize = "tenantId"))]
    pub tenant_id: String,
    #[serde(rename(deserialize = "displayName"), default)]
    pub display_name: Option<String>,
    #[serde(rename(deserialize = "defaultDomainName"), default)]
    pub default_domain_name: Option<String>,
    #[serde(rename(deserialize = "federationBrandName"), default)]
    pub federation_brand_name: Option<String>,
}

/// The three answers for one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outside {
    pub domain: String,
    pub openid_configuration: Answer<OpenidTenant>,
    pub user_realm: Answer<UserRealm>,
    pub find_tenant_information: Answer<TenantInformation>,
}

/// What the sources add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// At least one source names a tenant or a managed/federated namespace.
    Held,
    /// Every source asked answered "no tenant".
    Free,
    /// Nothing found, and some source could not answer: no conclusion.
    Unknown,
}

/// Which of the configured tenants holds the domain, seen from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Holder {
    Source,
    Destination,
    /// A tenant that is neither of the configured ones (their ids are known).
    Other,
    /// The configured tenants' ids are not known (yet): no comparison is possible.
    Unknown,
}

impl Holder {
    pub fn as_str(self) -> &'static str {
        match self {
            Holder::Source => "source",
            Holder::Destination => "destination",
            Holder::Other => "other",
            Holder::Unknown => "unconfigured",
        }
    }
}

impl Outside {
    /// Which configured tenant holds the domain (`None` when no tenant id was found). The
    /// dashboard and `cutover owner` both ask this, with each configured tenant (`Source`,
    /// `Destination`; a tenant that is not configured is left out) and its id where known:
    /// "other" only when every configured tenant's id is known and none matches.
    pub fn holder(&self, configured: &[(Holder, Option<&str>)]) -> Option<Holder> {
        let id = self.tenant_id()?;
        if let Some((who, _)) = configured
            .iter()
            .find(|(_, known)| known.is_some_and(|k| k.eq_ignore_ascii_case(id)))
        {
            return Some(*who);
        }
        let all_known = !configured.is_empty() && configured.iter().all(|(_, k)| k.is_some());
        Some(if all_known {
            Holder::Other
        } else {
            Holder::Unknown
        })
    }

    /// The tenant id: from the OpenID configuration, else from Graph.
    pub fn tenant_id(&self) -> Option<&str> {
        self.openid_configuration
            .found()
            .map(|o| o.tenant_id.as_str())
            .or_else(|| {
                self.find_tenant_information
                    .found()
                    .map(|t| t.tenant_id.as_str())
            })
    }

    /// `Managed`, `Federated` or `Unknown`, when the realm lookup answered.
    pub fn namespace_type(&self) -> Option<&str> {
        match &self.user_realm {
            Answer::Found(r) => Some(r.namespace_type.as_str()),
            Answer::NotFound { .. } => Some("Unknown"),
            _ => None,
        }
    }

    /// Graph's display name of the holding tenant, or the realm's brand name.
    pub fn tenant_name(&self) -> Option<&str> {
        self.find_tenant_information
            .found()
            .and_then(|t| t.display_name.as_deref())
            .or_else(|| {
                self.user_realm
                    .found()
                    .and_then(|r| r.federation_brand_name.as_deref())
            })
    }

    pub fn verdict(&self) -> Verdict {
        let found = self.openid_configuration.found().is_some()
            || self.user_realm.found().is_some()
            || self.find_tenant_information.found().is_some();
        if found {
            return Verdict::Held;
        }
        let failed = self.openid_configuration.is_failed()
            || self.user_realm.is_failed()
            || self.find_tenant_information.is_failed();
        if failed {
            Verdict::Unknown
        } else {
            Verdict::Free
        }
    }

    /// Sources that failed, with their error.
    pub fn faults(&self) -> Vec<(Source, &str)> {
        [
            (
                Source::OpenidConfiguration,
                failure(&self.openid_configuration),
            ),
            (Source::UserRealm, failure(&self.user_realm)),
            (
                Source::FindTenantInformation,
                failure(&self.find_tenant_information),
            ),
        ]
        .into_iter()
        .filter_map(|(source, e)| e.map(|e| (source, e)))
        .collect()
    }
}

fn failure<T>(answer: &Answer<T>) -> Option<&str> {
    match answer {
        Answer::Failed { error } => Some(error),
        _ => None,
    }
}

/// Asks the sign-in service's public endpoints about domains; no credentials involved.
#[derive(Debug, Clone)]
pub struct DiscoveryClient {
    http: reqwest::Client,
    login_url: String,
}

/// How long one anonymous lookup may take before it counts as failed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

impl DiscoveryClient {
    /// `login_url` is the cloud's sign-in host, e.g. `https://login.microsoftonline.com`.
    pub fn new(login_url: &str, timeout: Duration) -> Result<Self, GraphError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .user_agent(concat!("cutover/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| GraphError::Config(e.to_string()))?;
        Ok(DiscoveryClient {
            http,
            login_url: login_url.trim_end_matches('/').to_string(),
        })
    }

    pub fn login_url(&self) -> &str {
        &self.login_url
    }

    /// All three sources at once; `graph` is the client of a configured tenant, if any.
    pub async fn lookup(&self, domain: &str, graph: Option<&GraphClient>) -> Outside {
        let graph_answer = async {
            match graph {
                Some(client) => find_tenant_information(client, domain).await,
                None => Answer::Skipped {
                    reason: "no configured tenant to ask Graph through".into(),
                },
            }
        };
        let (openid, realm, info) =
            tokio::join!(self.openid(domain), self.user_realm(domain), graph_answer);
        Outside {
            domain: domain.to_string(),
            openid_configuration: openid,
            user_realm: realm,
            find_tenant_information: info,
        }
    }

    /// The tenant whose sign-in the domain leads to, from the issuer of its OpenID document.
    pub async fn openid(&self, domain: &str) -> Answer<OpenidTenant> {
        let url = format!(
            "{}/{domain}/v2.0/.well-known/openid-configuration",
            self.login_url
        );
        let (status, text) = match self.get(&url, &[]).await {
            Ok(r) => r,
            Err(error) => return Answer::Failed { error },
        };
        if status == 200 {
            #[derive(Deserialize)]
            struct Doc {
                issuer: String,
                tenant_region_scope: Option<String>,
                cloud_instance_name: Option<String>,
            }
            return match serde_json::from_str::<Doc>(&text) {
                Ok(doc) => match tenant_in_issuer(&doc.issuer) {
                    Some(tenant_id) => Answer::Found(OpenidTenant {
                        tenant_id,
                        issuer: doc.issuer,
                        tenant_region_scope: doc.tenant_region_scope,
                        cloud_instance_name: doc.cloud_instance_name,
                    }),
                    None => Answer::Failed {
                        error: format!("no tenant id in the issuer '{}'", doc.issuer),
                    },
                },
                Err(e) => Answer::Failed {
                    error: format!("unexpected answer from {url}: {e}"),
                },
            };
        }
        #[derive(Deserialize, Default)]
        struct AadError {
            #[serde(default)]
            error: String,
            #[serde(default)]
            error_description: String,
            #[serde(default)]
            error_codes: Vec<u64>,
        }
        let err: AadError = serde_json::from_str(&text).unwrap_or_default();
        let first_line = err.error_description.lines().next().unwrap_or_default();
        if status == 400 && (err.error_codes.contains(&90002) || first_line.contains("AADSTS90002"))
        {
            return Answer::NotFound {
                detail: first_line.to_string(),
            };
        }
        Answer::Failed {
            error: match (err.error.is_empty(), first_line.is_empty()) {
                (false, false) => format!("HTTP {status} {}: {first_line}", err.error),
                (false, true) => format!("HTTP {status} {}", err.error),
                _ => format!("HTTP {status} from {url}"),
            },
        }
    }

    /// The namespace type (Managed / Federated / Unknown) of the domain's sign-in realm.
    pub async fn user_realm(&self, domain: &str) -> Answer<UserRealm> {
        let url = format!("{}/getuserrealm.srf", self.login_url);
        let login = format!("someone@{domain}");
        let (status, text) = match self
            .get(&url, &[("login", login.as_str()), ("json", "1")])
            .await
        {
            Ok(r) => r,
            Err(error) => return Answer::Failed { error },
        };
        if status != 200 {
            return Answer::Failed {
                error: format!("HTTP {status} from {url}"),
            };
        }
        match serde_json::from_str::<UserRealm>(&text) {
            Ok(realm) if realm.namespace_type.eq_ignore_ascii_case("Unknown") => Answer::NotFound {
                detail: "NameSpaceType Unknown".into(),
            },
            Ok(realm) => Answer::Found(realm),
            Err(e) => Answer::Failed {
                error: format!("unexpected answer from {url}: {e}"),
            },
        }
    }

    async fn get(&self, url: &str, query: &[(&str, &str)]) -> Result<(u16, String), String> {
        let response = self
            .http
            .get(url)
            .query(query)
            .header("client-request-id", uuid::Uuid::new_v4().to_string())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(|e| transport(url, e).to_string())?;
        let status = response.status().as_u16();
        let text = response
            .text()
            .await
            .map_err(|e| transport(url, e).to_string())?;
        Ok((status, text))
    }
}

/// Graph's `findTenantInformationByDomainName` through a configured tenant's client. A profile
/// that must sign in interactively first is skipped, not failed.
pub async fn find_tenant_information(
    client: &GraphClient,
    domain: &str,
) -> Answer<TenantInformation> {
    let path = format!(
        "/v1.0/tenantRelationships/findTenantInformationByDomainName(domainName='{domain}')"
    );
    match client.get::<TenantInformation>(&path).await {
        Ok(r) => Answer::Found(r.body),
        Err(e) if e.status() == Some(404) => Answer::NotFound {
            detail: e.to_string(),
        },
        Err(GraphError::Auth { error, .. }) if error == "interaction_required" => Answer::Skipped {
            reason: "the profile has not signed in yet ('cutover login')".into(),
        },
        Err(GraphError::Auth { error, .. }) if error == "sign_in_cancelled" => Answer::Skipped {
            reason: "the profile's sign-in was cancelled".into(),
        },
        Err(e) => Answer::Failed {
            error: e.to_string(),
        },
    }
}

/// The tenant id (a GUID) in an issuer such as `https://login.microsoftonline.com/{id}/v2.0`
/// or `https://sts.windows.net/{id}/`.
pub fn tenant_in_issuer(issuer: &str) -> Option<String> {
    let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
    rest.split('/')
        .skip(1)
        .find_map(|segment| uuid::Uuid::try_parse(segment).ok())
        .map(|id| id.hyphenated().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_id_comes_from_either_issuer_form() {
        let id = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        assert_eq!(
            tenant_in_issuer(&format!("https://login.microsoftonline.com/{id}/v2.0")).as_deref(),
            Some(id)
        );
        assert_eq!(
            tenant_in_issuer(&format!("https://sts.windows.net/{id}/")).as_deref(),
            Some(id)
        );
        assert_eq!(
            tenant_in_issuer("https://login.microsoftonline.com/common/v2.0"),
            None
        );
    }

    #[test]
    fn holder_is_other_only_when_both_tenants_are_known() {
        let held_by = |id: &str| Outside {
            domain: "contoso.example".into(),
            openid_configuration: Answer::Found(OpenidTenant {
                tenant_id: id.into(),
                issuer: format!("https://sts.windows.net/{id}/"),
                tenant_region_scope: None,
                cloud_instance_name: None,
            }),
            user_realm: Answer::Skipped { reason: "-".into() },
            find_tenant_information: Answer::Skipped { reason: "-".into() },
        };
        let (s, d) = (
            "11111111-1111-1111-1111-111111111111",
            "22222222-2222-2222-2222-222222222222",
        );
        let o = held_by(&s.to_uppercase());
        let both = [(Holder::Source, Some(s)), (Holder::Destination, Some(d))];
        assert_eq!(o.holder(&both), Some(Holder::Source));
        assert_eq!(held_by(d).holder(&both), Some(Holder::Destination));
        let third = held_by("33333333-3333-3333-3333-333333333333");
        assert_eq!(third.holder(&both), Some(Holder::Other));
        // The destination's id not known yet: no claim that a third tenant holds it.
        let half = [(Holder::Source, Some(s)), (Holder::Destination, None)];
        assert_eq!(third.holder(&half), Some(Holder::Unknown));
        assert_eq!(third.holder(&[]), Some(Holder::Unknown));
        // Freeing a domain with no destination tenant: another tenant holding it is "other".
        assert_eq!(
            third.holder(&[(Holder::Source, Some(s))]),
            Some(Holder::Other)
        );
        let free = Outside {
            openid_configuration: Answer::NotFound {
                detail: "AADSTS90002".into(),
            },
            ..held_by(s)
        };
        assert_eq!(free.holder(&both), None);
    }

    #[test]
    fn realm_reads_microsofts_field_names() {
        let realm: UserRealm = serde_json::from_str(
            r#"{"State":4,"UserState":1,"Login":"someone@contoso.com","NameSpaceType":"Managed",
                "DomainName":"contoso.com","FederationBrandName":"Contoso","CloudInstanceName":"microsoftonline.com"}"#,
        )
        .expect("realm");
        assert_eq!(realm.namespace_type, "Managed");
        assert_eq!(realm.federation_brand_name.as_deref(), Some("Contoso"));
    }

    #[test]
    fn verdict_needs_every_source_to_say_free() {
        let mut o = Outside {
            domain: "contoso.example".into(),
            openid_configuration: Answer::NotFound { detail: "x".into() },
            user_realm: Answer::NotFound { detail: "y".into() },
            find_tenant_information: Answer::Skipped { reason: "z".into() },
        };
        assert_eq!(o.verdict(), Verdict::Free);
        o.user_realm = Answer::Failed {
            error: "HTTP 503".into(),
        };
        assert_eq!(o.verdict(), Verdict::Unknown);
        assert_eq!(o.faults(), vec![(Source::UserRealm, "HTTP 503")]);
        o.find_tenant_information = Answer::Found(TenantInformation {
            tenant_id: "t".into(),
            display_name: None,
            default_domain_name: None,
            federation_brand_name: None,
        });
        assert_eq!(o.verdict(), Verdict::Held);
        assert_eq!(o.tenant_id(), Some("t"));
    }
}
