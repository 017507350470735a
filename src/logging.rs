//! Trace log to `<data dir>/logs/cutover.<YYYY-MM-DD>.log` (daily files) through a non-blocking
//! writer; never to the terminal, which the dashboard owns. No secret is ever logged: clients
//! log URLs, statuses and request ids, not headers or bodies.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

/// Keeps the background writer alive; dropping it flushes the log.
pub struct LogGuard {
    _guard: WorkerGuard,
}

/// Default filter when neither `--log-filter` nor `CUTOVER_LOG` is given.
pub const DEFAULT_FILTER: &str = "info";

/// Start logging. `filter` uses `RUST_LOG` syntax (`info`, `cutover=debug,reqwest=warn`).
pub fn init(logs_dir: &Path, filter: &str) -> Result<LogGuard, String> {
    let filter = EnvFilter::try_new(filter).map_err(|e| {
        format!("invalid log filter '{filter}': {e}; use RUST_LOG syntax such as 'info' or 'cutover=debug'")
    })?;
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix("cutover")
        .filename_suffix("log")
        .build(logs_dir)
        .map_err(|e| format!("cannot write logs in {}: {e}", logs_dir.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .finish();
    // A second init in one process (tests) keeps the first subscriber; that is fine.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(LogGuard { _guard: guard })
}
