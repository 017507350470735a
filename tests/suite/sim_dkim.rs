//! The rehearsal's Exchange DKIM cmdlets over real HTTP, with Exchange Online's rules: no
//! signing config for a domain the tenant has not verified, and no signing turned on while
//! the zone does not serve both selector CNAMEs as Exchange names them; a config removed
//! (`Remove-DkimSigningConfig`) is gone, and the executor reads both back.

use cutover::exchange::Route;
use cutover::executor::reconcile::check_exchange;
use cutover::plan::change::Change;
use cutover::sim::{Sim, SimOptions};
use serde_json::json;

#[tokio::test]
async fn dkim_configs_follow_verification_and_the_live_cnames() {
    let sim = Sim::start(SimOptions {
        users: 5,
        ..SimOptions::default()
    })
    .await
    .expect("sim");
    let domain = sim.domain().to_string();
    let dashes = domain.replace('.', "-");
    let src = sim.exchange_client("source").expect("client");
    let dst = sim.exchange_client("destination").expect("client");
    let get = |d: &str| json!({"Identity": d});

    // The source signs for the domain, with the selectors the zone serves.
    let got = src
        .invoke(Route::InvokeCommand, "Get-DkimSigningConfig", get(&domain))
        .await
        .expect("source config");
    let src_initial = sim.tenant("source").expect("t").initial_domain.clone();
    assert_eq!(got.values[0]["Enabled"], true);
    assert_eq!(
        got.values[0]["Selector1CNAME"],
        format!("selector1-{dashes}._domainkey.{src_initial}")
    );

    // The destination has none, and may not create one while the domain is not verified there.
    let err = dst
        .invoke(Route::InvokeCommand, "Get-DkimSigningConfig", get(&domain))
        .await
        .expect_err("no config yet");
    assert!(err.to_string().contains("couldn't be found"), "{err}");
    let new = json!({"DomainName": domain, "Enabled": false});
    let err = dst
        .invoke_write(Route::InvokeCommand, "New-DkimSigningConfig", new.clone())
        .await
        .expect_err("unverified");
    assert!(err.to_string().contains("not an accepted domain"), "{err}");

    sim.move_domain("source", "destination").expect("move");
    // The source's config went with its domain.
    assert!(
        src.invoke(Route::InvokeCommand, "Get-DkimSigningConfig", get(&domain))
            .await
            .is_err()
    );
    dst.invoke_write(Route::InvokeCommand, "New-DkimSigningConfig", new.clone())
        .await
        .expect("created disabled");
    let err = dst
        .invoke_write(Route::InvokeCommand, "New-DkimSigningConfig", new)
        .await
        .expect_err("exists");
    assert!(err.to_string().contains("already exists"), "{err}");
    let got = dst
        .invoke(Route::InvokeCommand, "Get-DkimSigningConfig", get(&domain))
        .await
        .expect("config");
    let dst_initial = sim.tenant("destination").expect("t").initial_domain.clone();
    let targets: Vec<String> = ["Selector1CNAME", "Selector2CNAME"]
        .iter()
        .map(|k| got.values[0][k].as_str().expect("cname").to_string())
        .collect();
    assert_eq!(
        targets,
        [1, 2].map(|n| format!("selector{n}-{dashes}._domainkey.{dst_initial}"))
    );
    assert_eq!(got.values[0]["Enabled"], false);

    // The zone still serves the source's selectors: enabling is refused, and so with one only.
    let enable = json!({"Identity": domain, "Enabled": true});
    let err = dst
        .invoke_write(
            Route::InvokeCommand,
            "Set-DkimSigningConfig",
            enable.clone(),
        )
        .await
        .expect_err("cnames missing");
    assert!(
        err.to_string().contains("CNAME record does not exist"),
        "{err}"
    );
    let one = format!("{}.", targets[0]);
    sim.set_dns_records("selector1._domainkey", "CNAME", 3600, &[one.as_str()])
        .expect("publish");
    let err = dst
        .invoke_write(
            Route::InvokeCommand,
            "Set-DkimSigningConfig",
            enable.clone(),
        )
        .await
        .expect_err("selector2 missing");
    assert!(err.to_string().contains("selector2._domainkey"), "{err}");
    assert!(!err.to_string().contains("selector1._domainkey"), "{err}");
    let two = format!("{}.", targets[1]);
    sim.set_dns_records("selector2._domainkey", "CNAME", 3600, &[two.as_str()])
        .expect("publish");
    dst.invoke_write(Route::InvokeCommand, "Set-DkimSigningConfig", enable)
        .await
        .expect("enabled");
    let got = dst
        .invoke(Route::InvokeCommand, "Get-DkimSigningConfig", get(&domain))
        .await
        .expect("config");
    assert_eq!(got.values[0]["Enabled"], true);
    dst.invoke_write(
        Route::InvokeCommand,
        "Set-DkimSigningConfig",
        json!({"Identity": domain, "Enabled": false}),
    )
    .await
    .expect("disabled");
    assert_eq!(
        sim.mutations().of("destination", &format!("dkim:{domain}")),
        3,
        "created, enabled, disabled"
    );

    // The executor's read-back of a config created or removed, through Get-DkimSigningConfig.
    let create = Change::new_dkim_config("destination", &domain);
    let remove = Change::remove_dkim_config("destination", &domain);
    let holds = |c: &Change| {
        let c = c.clone();
        let dst = &dst;
        async move { check_exchange(dst, &c).await.expect("read back").holds }
    };
    assert!(holds(&create).await && !holds(&remove).await);
    dst.invoke_write(
        Route::InvokeCommand,
        "Remove-DkimSigningConfig",
        json!({"Identity": domain, "Confirm": false}),
    )
    .await
    .expect("removed");
    assert!(!holds(&create).await && holds(&remove).await);
    let err = dst
        .invoke_write(
            Route::InvokeCommand,
            "Remove-DkimSigningConfig",
            json!({"Identity": domain, "Confirm": false}),
        )
        .await
        .expect_err("gone");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        sim.mutations().of("destination", &format!("dkim:{domain}")),
        4,
        "created, enabled, disabled, removed"
    );
}
