//! Cancelling a device-code sign-in (Esc in the dashboard's dialog) against the rehearsal
//! environment: the waiting sign-in stops at once and no new prompt follows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cutover::graph::auth::{Auth, DeviceEvent, SignIn};
use cutover::graph::client::GLOBAL_GRAPH_SCOPE;
use cutover::graph::{GraphClient, GraphError};
use cutover::sim::{Sim, SimOptions};

#[tokio::test]
async fn a_cancelled_device_code_sign_in_stops_and_does_not_prompt_again() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let tenant = sim.tenant("destination").expect("destination").clone();
    let prompts = Arc::new(AtomicUsize::new(0));
    let ends = Arc::new(AtomicUsize::new(0));
    let (seen, ended) = (prompts.clone(), ends.clone());
    let client = Arc::new(
        GraphClient::with_sign_in(
            &sim.graph_url(),
            SignIn {
                login_url: sim.login_url(),
                tenant: tenant.id.clone(),
                client_id: tenant.client_id.clone(),
                scope: GLOBAL_GRAPH_SCOPE.into(),
                auth: Auth::DeviceCode {
                    prompt: Some(Arc::new(move |event: DeviceEvent<'_>| {
                        match event {
                            DeviceEvent::Code(_) => seen.fetch_add(1, Ordering::SeqCst),
                            DeviceEvent::Ended => ended.fetch_add(1, Ordering::SeqCst),
                        };
                    })),
                },
                cache: None,
                warn: None,
            },
        )
        .expect("client"),
    );
    let waiting = tokio::spawn({
        let client = client.clone();
        async move { client.tokens().access_token().await }
    });
    // The code was shown and nobody approves it: the sign-in waits.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while prompts.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no prompt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!waiting.is_finished());
    assert_eq!(ends.load(Ordering::SeqCst), 0, "still waiting: not ended");

    client.tokens().cancel_sign_in();
    let result = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("the cancelled sign-in returns at once")
        .expect("task");
    match result {
        Err(GraphError::Auth { error, .. }) => assert_eq!(error, "sign_in_cancelled"),
        other => panic!("expected a cancelled sign-in, got {other:?}"),
    }
    // The prompt heard the end (a dialog showing the code closes).
    assert_eq!(ends.load(Ordering::SeqCst), 1);
    // Later requests fail the same way without showing a new code.
    let again = client.organization().await;
    assert!(
        matches!(&again, Err(GraphError::Auth { error, .. }) if error == "sign_in_cancelled"),
        "{again:?}"
    );
    assert_eq!(prompts.load(Ordering::SeqCst), 1);
    sim.shutdown().await;
}
