//! Organizational contacts and application registrations in the source tenant, and their
//! Graph routes (`/v1.0/contacts`, `/v1.0/applications`): the other objects that can hold the
//! domain (a contact's mail or proxy address, an application's identifier URIs).

use axum::extract::State;
use axum::http::{Extensions, HeaderMap};
use axum::response::Response;
use serde_json::{Value, json};

use super::graph::{Collection, Listing, RawQuery, list_route, render};
use super::http::Shared;
use super::rng::Rng;

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub id: String,
    pub display_name: String,
    pub mail: Option<String>,
    pub proxy_addresses: Vec<String>,
    /// `ExternalEmailAddress`: where Exchange sends the contact's mail; it must stay among
    /// the contact's addresses.
    pub external: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    pub identifier_uris: Vec<String>,
    /// `signInAudience` other than AzureADMyOrg: forced deletion refuses to rename it.
    pub multitenant: bool,
    /// `web.redirectUris`: where sign-ins come back (Microsoft does not hold a domain for them).
    pub redirect_uris: Vec<String>,
}

const PARTNERS: &[&str] = &["fabrikam.example", "northwind.example", "adatum.example"];

/// `count` contacts: mostly partners' addresses; every fourth holds the domain: half of those
/// send to an address in the domain (a forwarding contact someone made), the other half send
/// to a partner but carry an `smtp:` alias in the domain (an address people here once used).
pub(crate) fn contacts(seed: u64, count: usize, domain: &str) -> Vec<Contact> {
    let mut rng = Rng::derive(seed, "source/contacts");
    (0..count)
        .map(|i| {
            let holds = i % 4 == 3;
            let in_domain = holds && i % 8 != 7;
            let host = if in_domain {
                domain.to_string()
            } else {
                PARTNERS[i % PARTNERS.len()].to_string()
            };
            // Partners' people, named like the staff: any script, ASCII addresses.
            let person = super::names::person(&mut rng);
            // `.{i}`: no user or group local part ends that way, so addresses stay unique.
            let local = format!("{}.{i}", person.local);
            let mut proxy_addresses = vec![format!("SMTP:{local}@{host}")];
            if holds && !in_domain {
                proxy_addresses.push(format!("smtp:{local}@{domain}"));
            }
            Contact {
                id: rng.guid(),
                display_name: person.display,
                mail: Some(format!("{local}@{host}")),
                proxy_addresses,
                external: format!("SMTP:{local}@{host}"),
            }
        })
        .collect()
}

/// Three registrations: one with identifier URIs on the domain, used by other organisations
/// (multitenant: forceDelete refuses while its URIs name the domain), one on the initial
/// domain, one with none.
pub(crate) fn applications(seed: u64, domain: &str, initial: &str) -> Vec<Application> {
    let mut rng = Rng::derive(seed, "source/applications");
    let mut app = |name: &str, uris: Vec<String>| Application {
        id: rng.guid(),
        app_id: rng.guid(),
        display_name: name.to_string(),
        identifier_uris: uris,
        multitenant: false,
        redirect_uris: Vec::new(),
    };
    let mut intranet = app(
        "Intranet",
        vec![
            format!("https://intranet.{domain}"),
            format!("api://{domain}/intranet"),
        ],
    );
    intranet.multitenant = true;
    intranet.redirect_uris = vec![format!("https://intranet.{domain}/signin-oidc")];
    // An app whose sign-ins come back to the domain while its URIs are elsewhere.
    let mut payroll = app("Payroll", vec![format!("https://payroll.{initial}")]);
    payroll.redirect_uris = vec![format!("https://payroll.{domain}/auth/callback")];
    vec![intranet, payroll, app("Build agent", Vec::new())]
}

const CONTACT_PROPS: &[&str] = &["id", "displayName", "mail", "proxyAddresses"];
const APPLICATION_PROPS: &[&str] = &[
    "id",
    "appId",
    "displayName",
    "identifierUris",
    "signInAudience",
    "web",
];

fn contact_property(c: &Contact, prop: &str) -> Value {
    match prop {
        "id" => json!(c.id),
        "displayName" => json!(c.display_name),
        "mail" => json!(c.mail),
        "proxyAddresses" => json!(c.proxy_addresses),
        _ => Value::Null,
    }
}

fn application_property(a: &Application, prop: &str) -> Value {
    match prop {
        "id" => json!(a.id),
        "appId" => json!(a.app_id),
        "displayName" => json!(a.display_name),
        "identifierUris" => json!(a.identifier_uris),
        "web" => json!({
            "homePageUrl": null,
            "logoutUrl": null,
            "redirectUris": a.redirect_uris,
            "implicitGrantSettings": {"enableAccessTokenIssuance": false, "enableIdTokenIssuance": false},
        }),
        "signInAudience" => json!(if a.multitenant {
            "AzureADMultipleOrgs"
        } else {
            "AzureADMyOrg"
        }),
        _ => Value::Null,
    }
}

fn render_contact(c: &Contact, select: Option<&Vec<&'static str>>, _typed: bool) -> Value {
    render(c, select, CONTACT_PROPS, contact_property, None)
}

fn render_application(a: &Application, select: Option<&Vec<&'static str>>, _typed: bool) -> Value {
    render(a, select, APPLICATION_PROPS, application_property, None)
}

pub(crate) async fn contacts_route(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let listing = Listing {
        known: &[CONTACT_PROPS],
        entity: "microsoft.graph.orgContact",
        items: |t| t.contacts.as_slice(),
        collection: Collection::Contacts,
        name: "contacts",
        render: render_contact,
        required: &super::permissions::CONTACTS,
    };
    list_route(&state, &headers, &extensions, query, &listing)
}

pub(crate) async fn applications_route(
    State(state): State<Shared>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let listing = Listing {
        known: &[APPLICATION_PROPS],
        entity: "microsoft.graph.application",
        items: |t| t.applications.as_slice(),
        collection: Collection::Applications,
        name: "applications",
        render: render_application,
        required: &super::permissions::APPLICATIONS,
    };
    list_route(&state, &headers, &extensions, query, &listing)
}

/// `GET /v1.0/applications/{id}` (by object id), with `$select`.
pub(crate) async fn application_route(
    State(state): State<Shared>,
    axum::extract::Path(id): axum::extract::Path<String>,
    headers: HeaderMap,
    extensions: Extensions,
    query: RawQuery,
) -> Response {
    let ctx = begin_or_return!(state, headers, extensions, super::permissions::APPLICATIONS);
    let opts = match super::graph::parse_options(
        query,
        &[APPLICATION_PROPS],
        "microsoft.graph.application",
        &ctx.ids,
    ) {
        Ok(o) => o,
        Err(r) => return *r,
    };
    let Some(a) = ctx
        .tenant()
        .applications
        .iter()
        .find(|a| a.id.eq_ignore_ascii_case(&id))
    else {
        return super::http::graph_error(
            axum::http::StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            &format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
            ),
            &ctx.ids,
        );
    };
    let mut v = render_application(a, opts.select.as_ref(), false);
    if let Value::Object(obj) = &mut v {
        obj.insert(
            "@odata.context".into(),
            json!(format!(
                "{}/$entity",
                super::graph::context("applications", opts.select.as_ref())
            )),
        );
    }
    super::graph::ok(v)
}
