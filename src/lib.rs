//! newsflow: turns raw scraped news articles into enriched, entity-tagged JSON records.
//!
//! - [`core`]: the pure enrichment pipeline (decode → normalize → tag → encode).
//! - [`runtime`]: the Kafka service around it (consume, dispatch, produce, DLQ, offsets).
//! - [`telemetry`]: metrics, health endpoints, logging.
//! - [`process`]: the same core over files; [`demo`]: an embedded end-to-end run;
//!   [`redrive`]: DLQ records back to the raw topic.
//! - [`wire`]: the names and versions downstream readers rely on (headers, schema).

pub mod app;
pub mod config;
pub mod demo;
pub mod models;
pub mod process;
pub mod redrive;
pub mod runtime;
pub mod telemetry;
pub mod wire;

/// The enrichment core (crate `newsflow-core`), under the name the service uses for it.
pub use newsflow_core as core;
/// Training and evaluation (crate `newsflow-train`): the `train-ner`, `ner-eval` and
/// `silver` commands' library.
pub use newsflow_train as training;

/// The crate version, reported in records (`pipeline.version`) and `newsflow_build_info`.
pub const VERSION: &str = newsflow_core::VERSION;
