//! Throughput of at-least-once vs exactly-once on the in-process mock cluster (for
//! BENCHMARKS.md): `cargo test --release --test throughput -- --ignored --nocapture`.

use newsflow_testkit as common;

use common::*;
use newsflow::config::DeliveryMode;
use rdkafka::mocking::MockCluster;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

async fn drain_rate(mode: DeliveryMode, batch: usize, n: usize) -> f64 {
    let c = MockCluster::new(1).unwrap();
    for t in ["articles.raw", "articles.enriched", "articles.dlq"] {
        c.create_topic(t, 3, 1).unwrap();
    }
    let brokers = c.bootstrap_servers();
    let items = mixed_inputs("t", n, 0);
    produce_all(&brokers, "articles.raw", &items).await;
    let mut cfg = test_config(&brokers, "throughput");
    cfg.kafka.delivery = mode;
    cfg.kafka.instance_id = "bench-0".into();
    cfg.pipeline.max_in_flight = 1024;
    cfg.pipeline.workers = 0;
    cfg.pipeline.transaction_max_messages = batch;
    cfg.pipeline.transaction_max_ms = 100;
    let exp: BTreeSet<String> = items.iter().map(|(k, _)| k.clone()).collect();
    let r = reader(&brokers, &["articles.enriched", "articles.dlq"]);
    let started = Instant::now();
    let inst = Instance::start(cfg);
    let seen = read_until(&r, Duration::from_secs(300), |s| s.len() >= exp.len()).await;
    let secs = started.elapsed().as_secs_f64();
    assert!(seen.len() >= exp.len());
    inst.shutdown().await;
    n as f64 / secs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark"]
async fn at_least_once_vs_exactly_once() {
    let n = 5000;
    let alo = drain_rate(DeliveryMode::AtLeastOnce, 500, n).await;
    println!("at-least-once: {alo:.0} articles/s");
    for batch in [50, 500] {
        let eos = drain_rate(DeliveryMode::ExactlyOnce, batch, n).await;
        println!(
            "exactly-once, transaction_max_messages={batch}: {eos:.0} articles/s ({:+.0}%)",
            (eos / alo - 1.0) * 100.0
        );
    }
}
