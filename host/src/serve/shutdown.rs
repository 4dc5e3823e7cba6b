//! SIGTERM and SIGINT: the gateway stops accepting connections, lets the requests
//! in flight finish (connections are closed once idle), and exits 0 within the grace
//! period, as a Deployment's rolling update expects.

use tokio::signal::unix::{SignalKind, signal};

/// Resolves on the first SIGTERM or SIGINT.
pub async fn signalled() -> &'static str {
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    let mut int = match signal(SignalKind::interrupt()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}

/// SIGHUP's default action ends the process, in-flight requests unanswered. Files are
/// reloaded when they change, so a hang-up (a closed terminal, an operator's habit of
/// `kill -HUP` to reload) is logged and otherwise ignored.
pub fn ignore_hangups() {
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGHUP");
            return;
        }
    };
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            tracing::info!(
                "SIGHUP ignored: the gateway reloads its files when they change, and stops on SIGTERM"
            );
        }
    });
}
