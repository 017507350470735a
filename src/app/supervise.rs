//! No task dies unnoticed: the pollers are watched through their join handles and the threads
//! (journal writer, progress saver) report their own end, so a panic or an unexpected return
//! becomes an action on screen while the dashboard keeps drawing.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::{AbortHandle, JoinHandle};

use super::action::Action;

/// How a watched task is meant to end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ends {
    /// Runs for the whole session (a poller): any end is reported.
    Never,
    /// Does one job and returns (the snapshot): only a panic is reported.
    Once,
}

type Watch = Pin<Box<dyn Future<Output = Option<Action>> + Send>>;

/// The background tasks of one dashboard session. Dropping it aborts them.
#[derive(Default)]
pub struct Supervisor {
    running: FuturesUnordered<Watch>,
    aborts: Vec<AbortHandle>,
}

impl Supervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Watch a spawned task; its end is reported by [`Supervisor::stopped`] as
    /// [`Action::TaskStopped`] unless it is the end `ends` allows.
    pub fn watch(&mut self, name: &str, ends: Ends, handle: JoinHandle<()>) {
        self.aborts.push(handle.abort_handle());
        let name = name.to_string();
        self.running.push(Box::pin(async move {
            let reason = match handle.await {
                Ok(()) if ends == Ends::Once => return None,
                Ok(()) => "it ended".to_string(),
                Err(e) if e.is_panic() => {
                    format!("it panicked: {}", panic_message(e.into_panic().as_ref()))
                }
                // Cancelled: only by `abort_all` when the dashboard closes.
                Err(_) => return None,
            };
            Some(Action::TaskStopped { name, reason })
        }));
    }

    /// The next task that ended when it should not have. Pending while none has, so it can sit
    /// in the loop's `select!` (cancel-safe: a task's end is not lost when another branch wins).
    pub async fn stopped(&mut self) -> Action {
        loop {
            match self.running.next().await {
                Some(Some(action)) => return action,
                Some(None) => {}
                None => std::future::pending::<()>().await,
            }
        }
    }

    pub fn abort_all(&self) {
        for task in &self.aborts {
            task.abort();
        }
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// Run `work` on a thread named `name`. If it ends other than by returning `Ok` — an error it
/// returns or a panic — `report(reason)` is sent to the loop.
pub fn spawn_thread<F>(
    name: &str,
    actions: UnboundedSender<Action>,
    report: fn(String) -> Action,
    work: F,
) -> std::io::Result<std::thread::JoinHandle<()>>
where
    F: FnOnce() -> Result<(), String> + Send + 'static,
{
    std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let reason = match catch_unwind(AssertUnwindSafe(work)) {
                Ok(Ok(())) => return,
                Ok(Err(reason)) => reason,
                Err(payload) => format!("it panicked: {}", panic_message(payload.as_ref())),
            };
            tracing::error!(reason, "background thread ended");
            let _ = actions.send(report(reason));
        })
}

/// The text a panic was raised with.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "no message".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::mpsc::unbounded_channel;

    fn stopped(name: &str, reason: &str) -> Action {
        Action::TaskStopped {
            name: name.into(),
            reason: reason.into(),
        }
    }

    #[tokio::test]
    async fn a_poller_that_panics_is_reported_with_its_message() {
        let (tx, mut rx) = unbounded_channel();
        let mut tasks = Supervisor::new();
        let mut polls = 0;
        // The real poll loop, with a poll that fails its own invariant on the second round.
        let handle = super::super::pollers::spawn_every(Duration::from_millis(5), tx, move || {
            polls += 1;
            let n = polls;
            async move {
                assert!(n < 2, "poll {n} found the impossible");
                vec![Action::SnapshotReady(format!("poll {n}"))]
            }
        });
        tasks.watch("dns", Ends::Never, handle);
        let action = tokio::time::timeout(Duration::from_secs(5), tasks.stopped())
            .await
            .expect("the panic is reported");
        assert_eq!(
            action,
            stopped("dns", "it panicked: poll 2 found the impossible")
        );
        assert_eq!(
            rx.recv().await,
            Some(Action::SnapshotReady("poll 1".into()))
        );
    }

    #[tokio::test]
    async fn a_poller_that_returns_is_reported_a_one_off_task_is_not() {
        let mut tasks = Supervisor::new();
        tasks.watch("snapshot", Ends::Once, tokio::spawn(async {}));
        tasks.watch("inventory", Ends::Never, tokio::spawn(async {}));
        let action = tokio::time::timeout(Duration::from_secs(5), tasks.stopped())
            .await
            .expect("the end is reported");
        assert_eq!(action, stopped("inventory", "it ended"));
        // Nothing else to report: pending, not a spurious action.
        let more = tokio::time::timeout(Duration::from_millis(50), tasks.stopped()).await;
        assert!(more.is_err(), "{more:?}");
    }

    #[tokio::test]
    async fn aborted_tasks_are_not_reported() {
        let mut tasks = Supervisor::new();
        tasks.watch("dns", Ends::Never, tokio::spawn(std::future::pending()));
        tasks.abort_all();
        let more = tokio::time::timeout(Duration::from_millis(50), tasks.stopped()).await;
        assert!(more.is_err(), "{more:?}");
    }

    #[test]
    fn a_thread_that_panics_or_fails_reports_why() {
        let (tx, mut rx) = unbounded_channel();
        let report: fn(String) -> Action = Action::AuditStopped;
        let t = spawn_thread("t1", tx.clone(), report, || panic!("disk on fire")).unwrap();
        t.join().unwrap();
        assert_eq!(
            rx.try_recv().ok(),
            Some(Action::AuditStopped("it panicked: disk on fire".into()))
        );
        let t = spawn_thread("t2", tx.clone(), report, || Err("no space".into())).unwrap();
        t.join().unwrap();
        assert_eq!(
            rx.try_recv().ok(),
            Some(Action::AuditStopped("no space".into()))
        );
        let t = spawn_thread("t3", tx, report, || Ok(())).unwrap();
        t.join().unwrap();
        assert!(rx.try_recv().is_err());
    }
}
