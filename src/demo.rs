//! `newsflow demo`: the full service path against an in-process Kafka-protocol broker
//! (librdkafka's mock cluster), fed with the project's own sample articles.

use crate::app::{self, App};
use crate::config::Config;
use crate::core::tag::Tier;
use crate::models::LinkedModel;
use anyhow::Context as _;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::{Headers, Message};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The sample watchlist the demo runs with (names in the sample articles).
pub const SAMPLE_WATCHLIST: &str = include_str!("../samples/watchlist.jsonl");

/// The demo's sample inputs: (name, payload). Written for this project.
pub const SAMPLES: &[(&str, &[u8])] = &[
    (
        "he_budget.json",
        include_bytes!("../samples/he_budget.json"),
    ),
    ("he_plain.txt", include_bytes!("../samples/he_plain.txt")),
    (
        "he_heatwave.html.json",
        include_bytes!("../samples/he_heatwave.html.json"),
    ),
    (
        "en_summit.json",
        include_bytes!("../samples/en_summit.json"),
    ),
    (
        "bad/invalid_utf8.bin",
        include_bytes!("../samples/bad/invalid_utf8.bin"),
    ),
    (
        "bad/malformed.json",
        include_bytes!("../samples/bad/malformed.json"),
    ),
    (
        "bad/array.json",
        include_bytes!("../samples/bad/array.json"),
    ),
    (
        "bad/no_text.json",
        include_bytes!("../samples/bad/no_text.json"),
    ),
];

/// Options of the demo command.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Keep running with the endpoints up after printing.
    pub serve: bool,
    /// Publish the samples this many times (throughput measurement); records are printed
    /// only when 1.
    pub repeat: usize,
    /// HTTP listen address for `--serve`.
    pub listen: String,
    /// Entity-tagging tier; `None` asks for the accurate tier, or the fast tier (said in
    /// one line) where no accurate model is found.
    pub tagger: Option<Tier>,
    /// The accurate model linked into the binary, if any.
    pub linked_model: Option<LinkedModel>,
}

/// What the demo observed.
#[derive(Debug, Clone, Default)]
pub struct DemoReport {
    /// Enriched records (JSON text), in arrival order.
    pub enriched: Vec<String>,
    /// Watchlist alerts (JSON text) from the alerts topic, in arrival order.
    pub alerts: Vec<String>,
    /// DLQ records: (error kind, error message, payload length).
    pub dead_letters: Vec<(String, String, usize)>,
    /// Wall time from first publish to last record read.
    pub elapsed: Duration,
    /// Wall time from the first record read to the last (steady-state, without the
    /// consumer-group join at start).
    pub steady: Duration,
}

fn header(msg: &impl Message, name: &str) -> String {
    msg.headers()
        .and_then(|h| {
            h.iter()
                .find(|x| x.key == name)
                .and_then(|x| x.value)
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
        .unwrap_or_default()
}

/// Runs the demo and returns what came out of the output and DLQ topics.
pub async fn run_demo(
    opts: &DemoOptions,
    shutdown: CancellationToken,
) -> anyhow::Result<DemoReport> {
    let cluster = MockCluster::new(1).context("starting the in-process Kafka mock cluster")?;
    let brokers = cluster.bootstrap_servers();
    let lists_dir = std::env::temp_dir().join(format!("newsflow-demo-{}", std::process::id()));
    let mut config = demo_config(&brokers, opts, &lists_dir)?;
    let (tier, note) = demo_tier(opts.tagger, app::locate_model(&config, opts.linked_model));
    if let Some(note) = note {
        eprintln!("{note}");
    }
    config.tagger.mode = tier;
    for (topic, partitions) in [
        (config.kafka.input_topic.as_str(), 3),
        (config.kafka.output_topic.as_str(), 3),
        (config.kafka.dlq_topic.as_str(), 1),
        (config.kafka.alerts_topic.as_str(), 1),
    ] {
        cluster
            .create_topic(topic, partitions, 1)
            .with_context(|| format!("creating topic {topic}"))?;
    }

    let ctx = Arc::new(app::build_context(&config, opts.linked_model)?);
    let service = App::start(config.clone(), ctx).await?;
    if let Some(bound) = service.endpoints {
        eprintln!("endpoints: http://{bound}/metrics /healthz /readyz");
    }
    let reader = output_reader(&brokers, &config)?;
    let started = Instant::now();
    let total = SAMPLES.len() * opts.repeat.max(1);
    let publisher = spawn_publisher(&brokers, &config.kafka.input_topic, opts.repeat.max(1))?;
    let mut report = collect(&reader, &config, opts, total, &shutdown).await?;
    report.elapsed = started.elapsed();
    let producer = publisher.await.context("publisher task")??;
    drop(producer);

    if opts.serve {
        eprintln!("demo records processed; serving endpoints until Ctrl-C");
        shutdown.cancelled().await;
    }
    service.stop.cancel();
    service.wait().await?;
    // Clients leave the group before the broker goes away (else their close waits for it).
    drop(reader);
    drop(cluster);
    std::fs::remove_dir_all(&lists_dir).ok();
    Ok(report)
}

/// The service's configuration for the demo: the mock cluster, short waits, the sample
/// watchlist (written to `lists_dir`, read through the same loading as a configured one),
/// alerts on.
/// The tier the demo runs: the one asked for, else the accurate tier where its model is
/// found (`located`), else the fast tier with a one-line note saying why.
fn demo_tier(
    requested: Option<Tier>,
    located: Result<Option<crate::models::Located>, crate::models::ModelNotFound>,
) -> (Tier, Option<String>) {
    match (requested, located) {
        (Some(tier), _) => (tier, None),
        (None, Ok(_)) => (Tier::Accurate, None),
        (None, Err(e)) => (
            Tier::Fast,
            Some(format!("newsflow demo: running the fast tier: {e}")),
        ),
    }
}

fn demo_config(
    brokers: &str,
    opts: &DemoOptions,
    lists_dir: &std::path::Path,
) -> anyhow::Result<Config> {
    let mut config = Config::default();
    config.kafka.brokers = brokers.to_owned();
    config.kafka.group_id = "newsflow-demo".into();
    config.kafka.statistics_interval_ms = 1000;
    config.kafka.fetch_wait_max_ms = 10;
    config.pipeline.commit_interval_ms = 200;
    config.tagger.mode = opts.tagger.unwrap_or(Tier::Accurate);
    std::fs::create_dir_all(lists_dir).context("creating the demo's watchlist directory")?;
    let list = lists_dir.join("watchlist.jsonl");
    std::fs::write(&list, SAMPLE_WATCHLIST).context("writing the demo's watchlist")?;
    config.watchlists.files = vec![list.display().to_string()];
    config.kafka.alerts_topic = "articles.alerts".into();
    config.http.listen = if opts.serve {
        opts.listen.clone()
    } else {
        String::new()
    };
    Ok(config)
}

/// A consumer of the output, DLQ and alerts topics.
fn output_reader(brokers: &str, config: &Config) -> anyhow::Result<StreamConsumer> {
    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "newsflow-demo-reader")
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "10")
        .create()
        .context("creating the demo reader")?;
    reader.subscribe(&[
        &config.kafka.output_topic,
        &config.kafka.dlq_topic,
        &config.kafka.alerts_topic,
    ])?;
    Ok(reader)
}

/// Publishes the samples `repeat` times to `topic` in a task of its own; the task returns
/// the producer once every record is acknowledged.
fn spawn_publisher(
    brokers: &str,
    topic: &str,
    repeat: usize,
) -> anyhow::Result<tokio::task::JoinHandle<anyhow::Result<FutureProducer>>> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .create()
        .context("creating the demo producer")?;
    let topic = topic.to_owned();
    Ok(tokio::spawn(async move {
        // Enqueue without waiting for each acknowledgement (librdkafka batches them),
        // then wait for all of them.
        let mut deliveries = Vec::with_capacity(SAMPLES.len() * repeat);
        for round in 0..repeat {
            for (name, payload) in SAMPLES {
                let key = format!("{name}#{round}");
                let mut record = FutureRecord::to(&topic).key(&key).payload(*payload);
                loop {
                    match producer.send_result(record) {
                        Ok(d) => {
                            deliveries.push((name, d));
                            break;
                        }
                        Err((e, r))
                            if e.rdkafka_error_code()
                                == Some(rdkafka::types::RDKafkaErrorCode::QueueFull) =>
                        {
                            record = r;
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        Err((e, _)) => return Err(anyhow::anyhow!("publishing {name}: {e}")),
                    }
                }
            }
        }
        for (name, d) in deliveries {
            match d.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(anyhow::anyhow!("publishing {name}: {e}")),
                Err(_) => return Err(anyhow::anyhow!("publishing {name}: cancelled")),
            }
        }
        Ok(producer)
    }))
}

/// Reads the output, DLQ and alerts topics until every one of `total` inputs has come
/// out (and, when records are kept, every alert they announce).
async fn collect(
    reader: &StreamConsumer,
    config: &Config,
    opts: &DemoOptions,
    total: usize,
    shutdown: &CancellationToken,
) -> anyhow::Result<DemoReport> {
    let mut report = DemoReport::default();
    let mut first_seen: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(60 + total as u64 / 50);
    while report.enriched.len() + report.dead_letters.len() < total {
        let msg = tokio::select! {
            m = reader.recv() => m,
            () = tokio::time::sleep_until(deadline.into()) => {
                anyhow::bail!("demo timed out: {} of {total} records seen", report.enriched.len() + report.dead_letters.len());
            }
            () = shutdown.cancelled() => anyhow::bail!("interrupted"),
        };
        let msg = msg.context("reading the output topics")?;
        first_seen.get_or_insert_with(Instant::now);
        if msg.topic() == config.kafka.alerts_topic {
            if opts.repeat <= 1 {
                report.alerts.push(payload_text(&msg));
            }
            continue;
        }
        if msg.topic() == config.kafka.dlq_topic {
            report.dead_letters.push((
                header(&msg, crate::wire::headers::ERROR_KIND),
                header(&msg, crate::wire::headers::ERROR_MESSAGE),
                msg.payload_len(),
            ));
        } else if opts.repeat <= 1 {
            report.enriched.push(payload_text(&msg));
        } else {
            report.enriched.push(String::new());
        }
    }
    // Alerts are produced beside their records: wait for the ones not read yet.
    if opts.repeat <= 1 {
        let expected = report
            .enriched
            .iter()
            .filter(|r| r.contains("\"watchlist_hits\""))
            .count();
        while report.alerts.len() < expected {
            let msg = tokio::select! {
                m = reader.recv() => m.context("reading the alerts topic")?,
                () = tokio::time::sleep_until(deadline.into()) => {
                    anyhow::bail!("demo timed out: {} of {expected} alerts seen", report.alerts.len());
                }
                () = shutdown.cancelled() => anyhow::bail!("interrupted"),
            };
            if msg.topic() == config.kafka.alerts_topic {
                report.alerts.push(payload_text(&msg));
            }
        }
    }
    report.steady = first_seen.map_or(Duration::ZERO, |t| t.elapsed());
    Ok(report)
}

fn payload_text(msg: &impl Message) -> String {
    String::from_utf8_lossy(msg.payload().unwrap_or(&[])).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{Located, ModelNotFound};

    #[test]
    fn the_demo_falls_back_to_the_fast_tier_only_when_no_tier_was_asked_for() {
        let missing = || Err(ModelNotFound::Searched(vec!["/x/ner-accurate.bin".into()]));
        let (tier, note) = demo_tier(None, missing());
        assert_eq!(tier, Tier::Fast);
        let note = note.expect("the fallback is said");
        assert!(
            !note.contains('\n') && note.contains("/x/ner-accurate.bin"),
            "{note}"
        );
        let found = Ok(Some(Located::File("/m/ner-accurate.bin".into())));
        assert_eq!(demo_tier(None, found), (Tier::Accurate, None));
        // Asked for explicitly: no fallback (the model error surfaces when loading).
        assert_eq!(demo_tier(Some(Tier::Accurate), missing()).0, Tier::Accurate);
        assert_eq!(demo_tier(Some(Tier::Fast), missing()), (Tier::Fast, None));
    }
}
