//! Watchlist reload: on SIGHUP and when a list file changes (polled every
//! `watchlists.reload_interval_ms`), the lists are read and validated again and swapped in
//! atomically; articles in flight finish with the lists they started with. A reload that
//! fails validation keeps the old lists, logs the error once and counts it; readiness is
//! unaffected.

use crate::core::watchlist::{SharedWatchlists, Watchlists};
use crate::telemetry::{Event, Telemetry};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// The modification time and length of every file (`None` for a file that cannot be
/// read: a change like any other, reported by the reload that follows).
fn stamps(files: &[String]) -> Vec<Option<(SystemTime, u64)>> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .ok()
                .and_then(|m| Some((m.modified().ok()?, m.len())))
        })
        .collect()
}

/// Reads the lists again and swaps them in, or keeps the old ones. The reading runs on
/// the blocking pool: a million entries take seconds and several threads.
async fn reload(files: &[String], lists: &SharedWatchlists, telemetry: &Telemetry, why: &str) {
    let paths = files.to_vec();
    let loaded = tokio::task::spawn_blocking(move || Watchlists::from_files(&paths))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    match loaded {
        Ok(new) => {
            let entries = new.len();
            lists.swap(new);
            telemetry.emit(Event::WatchlistReload { ok: true, entries });
            tracing::info!(entries, trigger = why, "watchlists reloaded");
        }
        Err(error) => {
            telemetry.emit(Event::WatchlistReload {
                ok: false,
                entries: 0,
            });
            tracing::error!(%error, trigger = why, "watchlist reload failed; the previous lists stay in force");
        }
    }
}

/// Watches for SIGHUP and file changes until `stop`.
pub(crate) async fn watch(
    files: Vec<String>,
    interval: Duration,
    lists: SharedWatchlists,
    telemetry: Arc<Telemetry>,
    stop: CancellationToken,
) {
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGHUP; watchlists reload on file change only");
            None
        }
    };
    // After the SIGHUP handler is in place: the gauge tells that a SIGHUP now reloads.
    telemetry.emit(Event::WatchlistReload {
        ok: true,
        entries: lists.current().len(),
    });
    let mut seen = stamps(&files);
    let poll = !interval.is_zero() && !files.is_empty();
    let mut tick = tokio::time::interval(if poll {
        interval
    } else {
        Duration::from_secs(3600)
    });
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(s) => s.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<()>>();
        tokio::select! {
            () = stop.cancelled() => return,
            _ = hangup => {
                seen = stamps(&files);
                reload(&files, &lists, &telemetry, "SIGHUP").await;
            }
            _ = tick.tick(), if poll => {
                let now = stamps(&files);
                if now != seen {
                    seen = now;
                    reload(&files, &lists, &telemetry, "file change").await;
                }
            }
        }
    }
}
