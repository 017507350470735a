//! Cancelling a device-code sign-in (Esc in the dashboard's dialog) against the rehearsal
//! environment: the waiting sign-in stops at once and no new prompt follows.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cutover::graph::auth::DeviceEvent;
use cutover::graph::{GraphClient, GraphError};
use cutover::sim::{Sim, SimOptions};

/// A device-code client of the sim's `label` tenant whose prompt counts the codes shown and
/// the ends it is told of.
fn counting_client(sim: &Sim, label: &str) -> (GraphClient, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let (shown, ended) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (s, e) = (shown.clone(), ended.clone());
    let prompt = Arc::new(move |event: DeviceEvent<'_>| {
        match event {
            DeviceEvent::Code(_) => s.fetch_add(1, Ordering::SeqCst),
            DeviceEvent::Ended => e.fetch_add(1, Ordering::SeqCst),
        };
    });
    let sign_in = sim.device_code_sign_in(label, prompt).expect("tenant");
    let client = GraphClient::with_sign_in(&sim.graph_url(), sign_in).expect("client");
    (client, shown, ended)
}

#[tokio::test]
async fn a_cancelled_device_code_sign_in_stops_and_does_not_prompt_again() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let (client, prompts, ends) = counting_client(&sim, "destination");
    let client = Arc::new(client);
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

/// A sign-in whose request is dropped while the code waits (its task aborted) still tells the
/// prompt it has ended, so the dashboard's dialog for it closes.
#[tokio::test]
async fn a_dropped_sign_in_still_says_it_ended() {
    let sim = Sim::start(SimOptions::default()).await.expect("sim");
    let (client, shown, ended) = counting_client(&sim, "source");
    let waiting = tokio::spawn(async move { client.organization().await });
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while shown.load(Ordering::SeqCst) == 0 {
        assert!(tokio::time::Instant::now() < deadline, "no prompt");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(ended.load(Ordering::SeqCst), 0);
    waiting.abort();
    let _ = waiting.await;
    assert_eq!(ended.load(Ordering::SeqCst), 1, "the end was told");
    sim.shutdown().await;
}
