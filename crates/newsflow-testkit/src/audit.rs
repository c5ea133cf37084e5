//! Read-committed view on librdkafka's mock cluster.
//!
//! The mock cluster speaks the transactional protocol but does not apply it: EndTxn writes
//! no markers, Fetch reports no aborted transactions (records of aborted and open
//! transactions are returned to `read_committed` readers) and TxnOffsetCommit does not store
//! offsets. The tests therefore (1) run the service with
//! `pipeline.transaction_mirror_offsets` (the committed transaction's offsets are also
//! committed through the consumer), and (2) build the read_committed view themselves: every
//! record carries the `newsflow-transaction` header, and a record counts only if the service
//! reported that transaction as committed (its `transaction_committed` event, captured here
//! from the in-process tracing events or from the binary's JSON log by the `event` field).

use super::Seen;
use std::collections::HashSet;
use std::fmt::Debug;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

fn committed() -> &'static Mutex<HashSet<String>> {
    static C: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    C.get_or_init(Default::default)
}

/// The service's event name for a committed transaction.
const COMMITTED: &str = "transaction_committed";

#[derive(Default)]
struct Fields {
    event: String,
    transaction: String,
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        match field.name() {
            "event" => self.event = format!("{value:?}"),
            "transaction" => self.transaction = format!("{value:?}"),
            _ => {}
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "event" => self.event = value.to_string(),
            "transaction" => self.transaction = value.to_string(),
            _ => {}
        }
    }
}

struct Capture;

impl<S: tracing::Subscriber> Layer<S> for Capture {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        let mut f = Fields::default();
        event.record(&mut f);
        if f.event == COMMITTED && !f.transaction.is_empty() {
            committed().lock().unwrap().insert(f.transaction);
        }
    }
}

/// Captures the `transaction_committed` events of in-process service instances.
pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        // NEWSFLOW_TEST_LOG=1 also prints the service's events (debugging a failed test).
        let print = std::env::var_os("NEWSFLOW_TEST_LOG").map(|_| {
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
        });
        let _ = tracing_subscriber::registry()
            .with(Capture)
            .with(print)
            .try_init();
    });
}

/// Transactions reported committed by in-process instances so far.
pub fn committed_in_process() -> HashSet<String> {
    committed().lock().unwrap().clone()
}

/// Transactions reported committed in a service's JSON log file.
pub fn committed_in_log(path: &Path) -> HashSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let field = |v: &serde_json::Value, name: &str| {
        v.pointer(&format!("/fields/{name}"))
            .or_else(|| v.get(name))
            .and_then(|t| t.as_str())
            .map(str::to_string)
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| field(v, "event").as_deref() == Some(COMMITTED))
        .filter_map(|v| field(&v, "transaction"))
        .collect()
}

/// The records a read_committed reader of a real broker would see.
pub fn committed_view(seen: &[Seen], committed: &HashSet<String>) -> Vec<Seen> {
    seen.iter()
        .filter(|s| {
            s.headers
                .get("newsflow-transaction")
                .is_some_and(|t| committed.contains(t))
        })
        .cloned()
        .collect()
}
