//! The Kafka runtime around the pure core: consume → dispatch to CPU workers → produce to
//! the output topic or the DLQ → commit the contiguous prefix of acknowledged offsets.
//!
//! - [`service`]: the [`Service`] type (start, run, shut down).
//! - [`delivery`]: the delivery mode, at-least-once (default: an input offset is committed
//!   only after its output or DLQ record was acknowledged) or exactly-once ([`txn`]).
//! - [`progress`] and [`offsets`]: in-flight messages and commit watermarks.
//! - [`consumer`], [`sink`], [`workers`]: the consumer context, the producer side, the CPU
//!   pool. [`clients`]: the librdkafka configuration of every client.

pub(crate) mod blocking;
pub(crate) mod clients;
pub(crate) mod consumer;
pub(crate) mod delivery;
pub(crate) mod offsets;
pub(crate) mod progress;
mod reload;
pub(crate) mod service;
pub(crate) mod settings;
pub(crate) mod sink;
pub(crate) mod txn;
pub(crate) mod workers;

use crate::config::Config;
use crate::core::Context;
use crate::telemetry::Telemetry;
pub use service::Service;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Starts the service and runs it until `shutdown` is cancelled (or a fatal error), then
/// drains in-flight work, flushes, commits and returns. `Err` means the service failed
/// (exit non-zero).
pub async fn run(
    config: &Config,
    ctx: Arc<Context>,
    telemetry: Arc<Telemetry>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    Service::start(config, ctx, telemetry)
        .await?
        .run(shutdown)
        .await
}
