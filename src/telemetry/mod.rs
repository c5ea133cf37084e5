//! Observability: metrics, health state, the HTTP endpoints and logging set-up.

pub(crate) mod events;
pub mod health;
pub mod http;
pub mod logging;
pub(crate) mod metrics;

pub use events::Event;
pub use metrics::Metrics;

pub use health::{Health, NotReady};

/// Metrics plus health: what the runtime reports into and the endpoints read.
#[derive(Default)]
pub struct Telemetry {
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// Readiness state.
    pub health: Health,
}

impl Telemetry {
    /// Fresh telemetry with its own registry.
    pub fn new() -> Telemetry {
        Telemetry::default()
    }

    /// Reports an event: its log line (if it has one) and its metrics, together.
    pub fn emit(&self, event: Event<'_>) {
        event.log();
        self.metrics.emit(event);
    }

    /// Updates broker reachability, logging and reporting changes once.
    pub fn broker_up(&self, up: bool) {
        if self.health.set_broker_up(up) {
            if up {
                tracing::info!("broker connection up");
            } else {
                tracing::warn!("no broker reachable (librdkafka keeps retrying)");
            }
        }
        let _ = self.report_ready();
    }

    /// Evaluates readiness, sets `newsflow_ready` and logs a change once, with the reason.
    /// Called on broker and group changes, on client statistics, and by the HTTP handlers
    /// (readiness also changes with time: a stall, a rebalance past its grace).
    pub fn report_ready(&self) -> Result<(), NotReady> {
        let readiness = self.health.readiness();
        let ready = readiness.is_ok();
        if self.health.note_reported(ready) {
            match &readiness {
                Ok(()) => tracing::info!("ready"),
                Err(why) => tracing::warn!(reason = %why, "not ready"),
            }
        }
        self.metrics.emit(Event::Ready(ready));
        readiness
    }
}
