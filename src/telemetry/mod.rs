//! Observability: metrics, health state, the HTTP endpoints and logging set-up.

pub(crate) mod events;
pub mod http;
pub mod logging;
pub(crate) mod metrics;

pub use events::Event;
pub use metrics::Metrics;

use std::sync::atomic::{AtomicBool, Ordering};

/// Health of one service instance, read by `/readyz`.
#[derive(Debug, Default)]
pub struct Health {
    broker_up: AtomicBool,
    shutting_down: AtomicBool,
}

impl Health {
    /// Records whether at least one broker connection is up.
    pub fn set_broker_up(&self, up: bool) -> bool {
        self.broker_up.swap(up, Ordering::Relaxed) != up
    }

    /// Marks the instance as draining (not ready for new work).
    pub fn set_shutting_down(&self) {
        self.shutting_down.store(true, Ordering::Relaxed);
    }

    /// Ready: a broker is reachable and the instance is not shutting down.
    pub fn is_ready(&self) -> bool {
        self.broker_up.load(Ordering::Relaxed) && !self.shutting_down.load(Ordering::Relaxed)
    }
}

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
                tracing::info!("broker connection up; ready");
            } else {
                tracing::warn!("no broker reachable; not ready (librdkafka keeps retrying)");
            }
        }
        self.metrics.emit(Event::Ready(self.health.is_ready()));
    }
}
