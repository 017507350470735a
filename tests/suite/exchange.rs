//! The Exchange client against the rehearsal environment over loopback: paging of Get-Mailbox
//! and Get-Recipient, address changes that Graph then shows, Exchange's refusals, the anchor
//! and audience checks, throttling, connectors, and the documented Admin API route.

use std::collections::HashSet;
use std::time::Duration;

use cutover::exchange::plan::{
    ConnectorAction, apply_address_change, plan_connectors, plan_recipient,
};
use cutover::exchange::{ExchangeClient, ExchangeError, GLOBAL_EXCHANGE_SCOPE, RecipientKind};
use cutover::graph::auth::{Auth, SignIn};
use cutover::graph::model::User;
use cutover::graph::{GraphClient, RetryPolicy};
use cutover::sim::{Sim, SimOptions};

const DOMAIN: &str = "contoso.example";

async fn sim(users: usize) -> Sim {
    Sim::start(SimOptions {
        users,
        ..SimOptions::default()
    })
    .await
    .expect("sim")
}

fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(20),
        max_delay: Duration::from_secs(2),
    }
}

fn exchange(sim: &Sim, label: &str) -> ExchangeClient {
    sim.exchange_client(label)
        .expect("client")
        .with_retry(quick())
}

fn graph(sim: &Sim, label: &str) -> GraphClient {
    sim.graph_client(label).expect("graph")
}

fn initial(sim: &Sim) -> String {
    sim.tenant("source").expect("source").initial_domain.clone()
}

async fn graph_user(g: &GraphClient, id: &str) -> User {
    g.get::<User>(&format!(
        "/v1.0/users/{id}?$select=id,mail,proxyAddresses,userPrincipalName"
    ))
    .await
    .expect("graph user")
    .body
}

#[tokio::test]
async fn mailboxes_and_recipients_page_to_the_end() {
    let sim = sim(230).await;
    let x = exchange(&sim, "source").with_page_size(40);
    let g = graph(&sim, "source");

    let with_mail: HashSet<String> = g
        .users()
        .await
        .expect("users")
        .into_iter()
        .filter(|u| u.mail.is_some())
        .map(|u| u.id)
        .collect();
    let mailboxes = x.mailboxes().await.expect("Get-Mailbox");
    let ids: Vec<String> = mailboxes
        .items
        .iter()
        .filter_map(|m| m.external_directory_object_id.clone())
        .collect();
    assert_eq!(ids.len(), with_mail.len(), "one mailbox per user with mail");
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "no duplicates"
    );
    assert_eq!(ids.iter().cloned().collect::<HashSet<_>>(), with_mail);
    assert_eq!(
        mailboxes.request_ids.len(),
        with_mail.len().div_ceil(40),
        "one request per page"
    );
    assert!(
        mailboxes
            .items
            .iter()
            .any(|m| m.recipient_type_details == "SharedMailbox")
    );

    // The documented Admin API route lists the same mailboxes.
    let documented = x.mailboxes_documented().await.expect("v2.0 Mailbox");
    assert_eq!(documented.items, mailboxes.items);

    let recipients = x.recipients().await.expect("Get-Recipient");
    let groups = g.groups().await.expect("groups");
    let mail_groups = groups.iter().filter(|g| g.mail.is_some()).count();
    let contacts = g.contacts().await.expect("contacts").len();
    assert_eq!(
        recipients.items.len(),
        with_mail.len() + mail_groups + contacts
    );
    let holding = x.recipients_in(DOMAIN).await.expect("in domain");
    assert!(!holding.items.is_empty());
    assert!(holding.items.iter().all(|r| r.holds(DOMAIN)));
    assert!(
        holding
            .items
            .iter()
            .any(|r| r.kind() == RecipientKind::UnifiedGroup)
    );

    let accepted = x.accepted_domains().await.expect("accepted domains");
    let names: Vec<&str> = accepted
        .items
        .iter()
        .map(|d| d.domain_name.as_str())
        .collect();
    assert!(names.contains(&DOMAIN) && names.contains(&initial(&sim).as_str()));
}

#[tokio::test]
async fn removed_addresses_and_a_new_primary_show_in_graph() {
    let sim = sim(40).await;
    let x = exchange(&sim, "source");
    let g = graph(&sim, "source");
    let mailboxes = x.mailboxes().await.expect("mailboxes").items;
    let m = mailboxes
        .iter()
        .find(|m| {
            m.email_addresses
                .iter()
                .filter(|a| a.starts_with("smtp:") && a.ends_with(DOMAIN))
                .count()
                > 0
        })
        .expect("a mailbox with a secondary address in the domain");
    let id = m.external_directory_object_id.clone().expect("id");
    let secondary = m
        .email_addresses
        .iter()
        .find(|a| a.starts_with("smtp:") && a.ends_with(DOMAIN))
        .expect("secondary")
        .clone();

    let since = g.latest_delta_link("users").await.expect("delta link");
    let done = x
        .change_addresses(
            RecipientKind::Mailbox,
            &m.primary_smtp_address,
            &[],
            std::slice::from_ref(&secondary),
        )
        .await
        .expect("Set-Mailbox remove");
    assert_eq!(done.request_ids.len(), 1);
    let after = graph_user(&g, &id).await;
    assert!(!after.proxy_addresses.contains(&secondary), "{after:?}");
    assert!(after.proxy_addresses.iter().any(|p| p.starts_with("SMTP:")));
    // Graph's delta reports exactly that user, with the new addresses.
    let delta = g.users_delta(Some(&since)).await.expect("delta");
    assert_eq!(delta.changed.len(), 1, "{:?}", delta.changed);
    assert_eq!(delta.changed[0].id, id);
    assert!(!delta.changed[0].proxy_addresses.contains(&secondary));

    // The whole plan for the mailbox: primary to the onmicrosoft domain, nothing left in the domain.
    let fresh = x
        .mailboxes()
        .await
        .expect("mailboxes")
        .items
        .into_iter()
        .find(|r| r.external_directory_object_id.as_deref() == Some(id.as_str()))
        .expect("again");
    let change = plan_recipient(&fresh, DOMAIN, &initial(&sim)).expect("a change");
    apply_address_change(&x, &change).await.expect("applied");
    let after = graph_user(&g, &id).await;
    assert!(
        after
            .mail
            .as_deref()
            .is_some_and(|m| m.ends_with(&initial(&sim))),
        "{after:?}"
    );
    assert!(
        !after
            .proxy_addresses
            .iter()
            .any(|p| p.to_ascii_lowercase().ends_with(&format!("@{DOMAIN}"))),
        "{after:?}"
    );
    // The same change again changes nothing and says so.
    let again = x
        .change_addresses(RecipientKind::Mailbox, &id, &[], &change.remove)
        .await
        .expect("idempotent");
    assert_eq!(again.warnings.len(), 1, "{:?}", again.warnings);

    // A distribution group and a Microsoft 365 group through their own cmdlets.
    for kind in [
        RecipientKind::DistributionGroup,
        RecipientKind::UnifiedGroup,
    ] {
        let r = x
            .recipients_in(DOMAIN)
            .await
            .expect("recipients")
            .items
            .into_iter()
            .find(|r| r.kind() == kind)
            .expect("a group");
        let change = plan_recipient(&r, DOMAIN, &initial(&sim)).expect("change");
        apply_address_change(&x, &change)
            .await
            .expect("group change");
        let gid = r.external_directory_object_id.expect("id");
        let group = g
            .groups()
            .await
            .expect("groups")
            .into_iter()
            .find(|g| g.id == gid)
            .expect("group in Graph");
        assert!(
            group
                .mail
                .as_deref()
                .is_some_and(|m| m.ends_with(&initial(&sim)))
        );
        assert!(
            !group.proxy_addresses.iter().any(|p| p.ends_with(DOMAIN)),
            "{group:?}"
        );
    }
}

#[tokio::test]
async fn exchange_rules_are_enforced() {
    let sim = sim(30).await;
    let x = exchange(&sim, "source");
    let g = graph(&sim, "source");
    let mailboxes = x.mailboxes().await.expect("mailboxes").items;
    let m = &mailboxes[0];
    let id = m.external_directory_object_id.clone().expect("id");
    let primary = format!("SMTP:{}", m.primary_smtp_address);

    let err = x
        .change_addresses(
            RecipientKind::Mailbox,
            &id,
            &[],
            std::slice::from_ref(&primary),
        )
        .await
        .expect_err("removing the primary");
    assert_eq!(err.status(), Some(400), "{err}");
    assert!(err.to_string().contains("primary SMTP address"), "{err}");
    assert!(graph_user(&g, &id).await.proxy_addresses.contains(&primary));

    let err = x
        .change_addresses(
            RecipientKind::Mailbox,
            &id,
            &["smtp:someone@not-accepted.example".to_string()],
            &[],
        )
        .await
        .expect_err("not an accepted domain");
    assert!(err.to_string().contains("accepted domain"), "{err}");

    let taken = format!("smtp:{}", mailboxes[1].primary_smtp_address);
    let err = x
        .change_addresses(RecipientKind::Mailbox, &id, &[taken], &[])
        .await
        .expect_err("address of another recipient");
    assert!(err.to_string().contains("already being used"), "{err}");

    let err = x
        .set_primary(
            RecipientKind::Mailbox,
            "nobody@contoso.example",
            "x@contoso.example",
        )
        .await
        .expect_err("unknown identity");
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("couldn't be found"), "{err}");
    assert!(err.to_string().contains("Ex6F9304"), "{err}");
    assert!(err.to_string().contains("request-id"), "{err}");

    // Set-Mailbox does not reach a group.
    let group = x
        .recipients_in(DOMAIN)
        .await
        .expect("recipients")
        .items
        .into_iter()
        .find(|r| r.kind() == RecipientKind::DistributionGroup)
        .expect("group");
    let err = x
        .change_addresses(
            RecipientKind::Mailbox,
            &group.primary_smtp_address,
            &[],
            &[],
        )
        .await
        .expect_err("group through Set-Mailbox");
    assert!(err.is_not_found(), "{err}");
}

#[tokio::test]
async fn anchor_and_audience_are_checked() {
    let sim = sim(10).await;
    let x = exchange(&sim, "source");
    let token = x.tokens().access_token().await.expect("token");
    let tenant = sim.tenant("source").expect("t").id.clone();
    let url = format!(
        "{}/adminapi/beta/{tenant}/InvokeCommand",
        sim.exchange_url()
    );
    let body = serde_json::json!({"CmdletInput": {"CmdletName": "Get-Mailbox", "Parameters": {}}});
    let http = reqwest::Client::new();

    let r = http
        .post(&url)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    let text = r.text().await.expect("text");
    assert!(text.contains("ErrorMissingRoutingHint"), "{text}");

    let other = sim.tenant("destination").expect("d").initial_domain.clone();
    let r = http
        .post(&url)
        .bearer_auth(&token)
        .header("X-AnchorMailbox", format!("UPN:admin@{other}"))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    assert!(
        r.text()
            .await
            .expect("text")
            .contains("ErrorIncorrectRoutingHint")
    );

    // A Graph token is not an Exchange token.
    let g = graph(&sim, "source");
    let graph_token = g.tokens().access_token().await.expect("graph token");
    let r = http
        .post(&url)
        .bearer_auth(&graph_token)
        .header("X-AnchorMailbox", cutover::exchange::system_anchor(&tenant))
        .json(&body)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);

    // The client's own requests carry what is needed; an unknown parameter is Exchange's error.
    let err = x
        .invoke(
            cutover::exchange::Route::InvokeCommand,
            "Get-Mailbox",
            serde_json::json!({"Bogus": 1}),
        )
        .await
        .expect_err("unknown parameter");
    assert!(err.to_string().contains("'Bogus'"), "{err}");
    // The documented route refuses what it does not document.
    let err = x
        .invoke(
            cutover::exchange::Route::AdminApi("Mailbox"),
            "Set-Mailbox",
            serde_json::json!({"Identity": "info", "EmailAddresses": []}),
        )
        .await
        .expect_err("not on the documented endpoint");
    assert_eq!(err.status(), Some(400));
}

#[tokio::test]
async fn throttled_requests_are_retried() {
    let sim = sim(10).await;
    let x = exchange(&sim, "source");
    sim.throttle_exchange(2);
    let listed = x.recipients().await.expect("retried through two 429s");
    assert!(!listed.items.is_empty());

    // More throttling than tries: the 429 comes back as a typed error.
    sim.throttle_exchange(10);
    let err = x.recipients().await.expect_err("gives up");
    assert_eq!(err.status(), Some(429), "{err}");
    assert!(matches!(err, ExchangeError::Api { .. }));
    sim.throttle_exchange(0);
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once_and_the_call_goes_through() {
    let sim = sim(10).await;
    let x = exchange(&sim, "source");
    let g = graph(&sim, "source");
    let before = x.recipients().await.expect("first call signs in");
    g.users().await.expect("graph signs in");
    // The tokens are still within their lifetime, so only the 401 tells the clients.
    sim.revoke_access_tokens();
    let after = x.recipients().await.expect("a fresh token after the 401");
    assert_eq!(after.items.len(), before.items.len());
    g.users().await.expect("graph too");
}

#[tokio::test]
async fn connectors_referencing_the_domain_are_listed_and_removed() {
    let sim = sim(10).await;
    let x = exchange(&sim, "source");
    let all = x.connectors().await.expect("connectors");
    assert_eq!(all.len(), 4);
    let plan = plan_connectors(&all, DOMAIN);
    assert_eq!(plan.len(), 3, "{plan:?}");
    assert!(plan.iter().all(|c| c.action == ConnectorAction::Remove));
    assert!(plan.iter().any(|c| {
        c.references
            .iter()
            .any(|r| r.starts_with("SmartHosts relay."))
    }));
    for c in &plan {
        x.remove_connector(&c.connector).await.expect("removed");
    }
    let left = x.connectors().await.expect("connectors");
    assert_eq!(left.len(), 1);
    assert!(plan_connectors(&left, DOMAIN).is_empty());
    let err = x
        .remove_connector(&plan[0].connector)
        .await
        .expect_err("already gone");
    assert!(err.is_not_found(), "{err}");

    // The destination tenant has no connectors.
    assert!(
        exchange(&sim, "destination")
            .connectors()
            .await
            .expect("d")
            .is_empty()
    );
}

#[tokio::test]
async fn a_wrong_secret_is_a_sign_in_error_without_the_secret() {
    let sim = sim(5).await;
    let t = sim.tenant("source").expect("tenant");
    let wrong = "not-the-secret-~q8Z".to_string();
    let x = ExchangeClient::new(
        &sim.exchange_url(),
        SignIn {
            login_url: sim.login_url(),
            tenant: t.id.clone(),
            client_id: t.client_id.clone(),
            scope: GLOBAL_EXCHANGE_SCOPE.into(),
            auth: Auth::ClientSecret(wrong.clone()),
            cache: None,
            warn: None,
        },
    )
    .expect("client")
    .with_retry(quick());
    let err = x.recipients().await.expect_err("refused");
    assert!(matches!(err, ExchangeError::SignIn(_)), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(
        !text.contains(&wrong) && !text.contains(&t.client_secret),
        "{text}"
    );
}
