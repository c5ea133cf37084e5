//! Burst benchmark: a backlog of ~5 KB Hebrew articles sent at once to a running
//! `newsflow run` (accurate tier by default) through tansu, as on an election night or when
//! a backfill is sent to the live topic.
//!
//! ```text
//! cargo build --release --bins --examples
//! target/release/examples/burst [--articles 10000] [--workers 2] [--tier accurate]
//!     [--partitions 4] [--sample-secs 10] [--sigterm-at SECS] [--out burst.md]
//! ```
//!
//! Every `--sample-secs` it records the service's RSS, `/readyz`, and from `/metrics` the
//! consumer lag, messages in flight, partitions held, rebalances, records produced and
//! skipped offsets, beside the records read back from the output and DLQ topics. At the
//! end: drain time (first send to last record read back), peak RSS, rebalances, how long a
//! SIGTERM takes with work still queued, and whether every input came out (lost = 0; exit
//! status 1 otherwise). `--sigterm-at` also stops the service mid-burst and restarts it.
//!
//! Inputs are written one record per batch (`batch.num.messages=1`): tansu answers a fetch
//! that starts inside a batch with the next batch, and a restart must test newsflow, not
//! that.

use newsflow_testkit::service::{http_get, rss_kib_of, service_toml};
use newsflow_testkit::tansu::{free_port, Tansu};
use newsflow_testkit::{bench, corpus};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use std::collections::HashSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const RAW: &str = "articles.raw";
const OUT: &str = "articles.enriched";
const DLQ: &str = "articles.dlq";

struct Args {
    articles: usize,
    workers: usize,
    tier: String,
    partitions: u32,
    sample_secs: u64,
    sigterm_at: Option<u64>,
    binary: PathBuf,
    out: Option<PathBuf>,
    max_minutes: u64,
}

fn parse_args() -> Args {
    let mut a = Args {
        articles: 10_000,
        workers: 2,
        tier: "accurate".into(),
        partitions: 4,
        sample_secs: 10,
        sigterm_at: None,
        binary: PathBuf::from("target/release/newsflow"),
        out: None,
        max_minutes: 120,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--articles" => a.articles = v.parse().expect("--articles N"),
            "--workers" => a.workers = v.parse().expect("--workers N"),
            "--tier" => a.tier = v,
            "--partitions" => a.partitions = v.parse().expect("--partitions N"),
            "--sample-secs" => a.sample_secs = v.parse().expect("--sample-secs N"),
            "--sigterm-at" => a.sigterm_at = Some(v.parse().expect("--sigterm-at SECS")),
            "--binary" => a.binary = PathBuf::from(v),
            "--out" => a.out = Some(PathBuf::from(v)),
            "--max-minutes" => a.max_minutes = v.parse().expect("--max-minutes N"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

/// `n` distinct ~5 KB Hebrew articles as JSON records: windows of NEMO train sentences
/// (from `../shared`), else of the repository's own Hebrew sample.
fn articles(n: usize) -> Vec<(String, Vec<u8>)> {
    let sentences = corpus::default_shared_dir()
        .and_then(|d| corpus::nemo_sentences(&d))
        .unwrap_or_else(|| {
            std::fs::read_to_string("samples/he_plain.txt")
                .unwrap_or_default()
                .split(['.', '\n'])
                .filter(|s| !s.trim().is_empty())
                .map(|s| format!("{} .", s.trim()))
                .collect()
        });
    assert!(
        !sentences.is_empty(),
        "no Hebrew text to build articles from"
    );
    (0..n)
        .map(|i| {
            let mut body = String::new();
            let mut j = i * 7;
            while body.len() < 5000 {
                body.push_str(&sentences[j % sentences.len()]);
                body.push(' ');
                j += 1;
            }
            let record = serde_json::json!({
                "url": format!("https://example.org/burst/{i}"),
                "source": "burst",
                "published_at": "2025-08-21T09:00:00Z",
                "title": format!("כתבה {i}"),
                "body": body,
            });
            (format!("b{i}"), record.to_string().into_bytes())
        })
        .collect()
}

/// Sum of the series of a metric family in Prometheus text, or of those whose labels
/// start as `name` says (`family{label="x"`).
fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with([' ', '{', ',', '}']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .fold(0.0, |a, b| a + b)
}

struct Newsflow {
    child: Child,
    port: u16,
}

impl Newsflow {
    fn start(args: &Args, config: &Path, log: &Path) -> Newsflow {
        let text = std::fs::read_to_string(config).expect("config");
        let port = text
            .lines()
            .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
            .and_then(|rest| rest.trim_end_matches('"').parse().ok())
            .expect("http port in config");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let child = Command::new(&args.binary)
            .args(["run", "--config"])
            .arg(config)
            .env("NEWSFLOW_TAGGER__MODE", &args.tier)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start newsflow (cargo build --release first)");
        Newsflow { child, port }
    }

    fn wait_ready(&self, timeout: Duration) -> Duration {
        let t0 = Instant::now();
        while http_get(self.port, "/readyz").0 != 200 {
            assert!(t0.elapsed() < timeout, "newsflow never became ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        t0.elapsed()
    }

    /// SIGTERM; how long it took to exit, and whether it exited cleanly.
    fn terminate(&mut self) -> (Duration, bool) {
        let t0 = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().expect("wait for newsflow");
        (t0.elapsed(), status.success())
    }
}

impl Drop for Newsflow {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Input keys read back, and records read (duplicates included).
type ReadBack = Arc<Mutex<(HashSet<String>, usize)>>;

/// Reads the output and DLQ topics, remembering each input key seen and the records read,
/// and when the last new key came.
fn start_reader(brokers: &str) -> (ReadBack, Arc<Mutex<Instant>>) {
    let seen = Arc::new(Mutex::new((HashSet::new(), 0usize)));
    let last = Arc::new(Mutex::new(Instant::now()));
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "burst-reader")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "50")
        .create()
        .expect("reader");
    c.subscribe(&[OUT, DLQ]).expect("subscribe");
    let (s, l) = (seen.clone(), last.clone());
    tokio::spawn(async move {
        loop {
            if let Ok(m) = c.recv().await {
                let key = String::from_utf8_lossy(m.key().unwrap_or_default()).into_owned();
                let mut g = s.lock().expect("reader state");
                g.1 += 1;
                if g.0.insert(key) {
                    *l.lock().expect("reader state") = Instant::now();
                }
            }
        }
    });
    (seen, last)
}

/// Sends every item at once, one record per batch; returns when the broker has them all.
fn send_burst(brokers: &str, items: &[(String, Vec<u8>)]) {
    let p: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("batch.num.messages", "1")
        .set("linger.ms", "0")
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "2000000")
        .create()
        .expect("producer");
    for (k, v) in items {
        let mut record = BaseRecord::to(RAW).key(k).payload(v);
        loop {
            match p.send(record) {
                Ok(()) => break,
                Err((_, r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
    p.flush(Duration::from_secs(300)).expect("burst delivered");
}

#[derive(Default)]
struct Summary {
    peak_rss_mib: f64,
    not_ready_samples: usize,
    samples: usize,
    max_lag: f64,
}

fn sample(svc: &Newsflow, t: f64, seen: usize, s: &mut Summary, table: &mut String) {
    let rss = rss_kib_of(svc.child.id()).unwrap_or(0) as f64 / 1024.0;
    let (ready, body) = http_get(svc.port, "/readyz");
    let (_, m) = http_get(svc.port, "/metrics");
    let lag = metric_sum(&m, "newsflow_consumer_lag");
    s.peak_rss_mib = s.peak_rss_mib.max(rss);
    s.max_lag = s.max_lag.max(lag);
    s.samples += 1;
    if ready != 200 {
        s.not_ready_samples += 1;
    }
    let row = format!(
        "| {t:.0} | {rss:.0} | {ready} {} | {lag:.0} | {:.0} | {:.0} | {:.0}/{:.0} | {:.0} | {:.0} | {seen} |",
        if ready == 200 { "" } else { body.trim() },
        metric_sum(&m, "newsflow_in_flight"),
        metric_sum(&m, "newsflow_assigned_partitions"),
        metric_sum(&m, "newsflow_rebalances_total{kind=\"assign\""),
        metric_sum(&m, "newsflow_rebalances_total{kind=\"revoke\""),
        metric_sum(&m, "newsflow_produced_total") + metric_sum(&m, "newsflow_dead_lettered_total"),
        metric_sum(&m, "newsflow_input_offset_gaps_total"),
    );
    println!("{row}");
    table.push_str(&row);
    table.push('\n');
}

fn count_in_log(log: &Path, needle: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(needle))
        .count()
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let cpu = bench::cpu_model();
    println!(
        "# burst: {} articles, {} tier, {} workers, {} partitions; {cpu}, {} cores",
        args.articles,
        args.tier,
        args.workers,
        args.partitions,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let tansu = Tansu::start_required();
    tansu.create_service_topics(args.partitions);
    let brokers = format!("127.0.0.1:{}", tansu.port);
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("burst.toml");
    let http = free_port();
    std::fs::write(
        &config,
        service_toml(
            &brokers,
            "burst",
            "",
            &format!(
                "[pipeline]\nworkers = {}\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
                args.workers
            ),
        ),
    )
    .expect("write config");
    let log = dir.path().join("newsflow.log");
    let items = articles(args.articles);
    let bytes: usize = items.iter().map(|(_, v)| v.len()).sum();

    let mut svc = Newsflow::start(&args, &config, &log);
    let startup = svc.wait_ready(Duration::from_secs(120));
    println!(
        "ready after {:.1} s; sending {} records ({:.1} MB)",
        startup.as_secs_f64(),
        items.len(),
        bytes as f64 / 1e6
    );
    let (seen, last_new) = start_reader(&brokers);

    let t0 = Instant::now();
    let sender = {
        let (b, items) = (brokers.clone(), items.clone());
        std::thread::spawn(move || send_burst(&b, &items))
    };
    let mut table = String::from(
        "| t (s) | RSS (MiB) | /readyz | lag | in flight | partitions held | rebalances assign/revoke | produced + DLQ | offset gaps | read back |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    println!("{}", table.trim_end());
    let mut summary = Summary::default();
    let mut sent_secs = None;
    let mut sigterm: Option<(f64, Duration, bool, Duration)> = None;
    let deadline = t0 + Duration::from_secs(args.max_minutes * 60);
    loop {
        tokio::time::sleep(Duration::from_secs(args.sample_secs)).await;
        if sent_secs.is_none() && sender.is_finished() {
            sent_secs = Some(t0.elapsed().as_secs_f64());
        }
        let n = seen.lock().expect("reader state").0.len();
        sample(
            &svc,
            t0.elapsed().as_secs_f64(),
            n,
            &mut summary,
            &mut table,
        );
        if let Some(at) = args.sigterm_at {
            if sigterm.is_none() && t0.elapsed() >= Duration::from_secs(at) {
                let at = t0.elapsed().as_secs_f64();
                let (stop, clean) = svc.terminate();
                let mut again = Newsflow::start(&args, &config, &log);
                let ready = again.wait_ready(Duration::from_secs(120));
                std::mem::swap(&mut svc, &mut again);
                println!("SIGTERM at {at:.0} s: exited in {:.1} s (clean: {clean}); ready again {:.1} s later", stop.as_secs_f64(), ready.as_secs_f64());
                sigterm = Some((at, stop, clean, ready));
            }
        }
        if n >= items.len() || Instant::now() > deadline {
            break;
        }
    }
    let drain = last_new.lock().expect("reader state").duration_since(t0);
    let _ = sender.join();
    let (read_back, records) = {
        let g = seen.lock().expect("reader state");
        (g.0.len(), g.1)
    };
    let (rss_end, in_flight_at_end) = (
        rss_kib_of(svc.child.id()).unwrap_or(0) as f64 / 1024.0,
        metric_sum(&http_get(svc.port, "/metrics").1, "newsflow_in_flight"),
    );
    let (stop, clean) = svc.terminate();
    let lost = items.len() - read_back;
    let mut report = String::new();
    let _ = writeln!(report, "Burst of {} × ~{:.1} KB Hebrew articles ({:.0} MB), {} tier, {} workers, {} input partitions, tansu; {cpu}, {} cores.\n",
        items.len(), bytes as f64 / items.len() as f64 / 1000.0, bytes as f64 / 1e6, args.tier, args.workers, args.partitions,
        std::thread::available_parallelism().map_or(1, |n| n.get()));
    let _ = writeln!(report, "| figure | value |\n| --- | --- |");
    let _ = writeln!(
        report,
        "| burst written to the broker | {:.1} s |",
        sent_secs.unwrap_or(f64::NAN)
    );
    let _ = writeln!(
        report,
        "| drain time (first send → last record read back) | {:.0} s ({:.1} articles/s) |",
        drain.as_secs_f64(),
        read_back as f64 / drain.as_secs_f64().max(1e-9)
    );
    let _ = writeln!(
        report,
        "| peak RSS (sampled every {} s) | {:.0} MiB (at the end {rss_end:.0} MiB) |",
        args.sample_secs, summary.peak_rss_mib
    );
    let _ = writeln!(report, "| peak consumer lag | {:.0} |", summary.max_lag);
    let _ = writeln!(
        report,
        "| /readyz not 200 | {} of {} samples |",
        summary.not_ready_samples, summary.samples
    );
    let _ = writeln!(
        report,
        "| rebalances (assign/revoke, log) | {} / {} |",
        count_in_log(&log, "partitions assigned"),
        count_in_log(&log, "partitions revoked")
    );
    let _ = writeln!(
        report,
        "| max.poll.interval exceeded (log) | {} |",
        count_in_log(&log, "max.poll.interval")
    );
    let _ = writeln!(
        report,
        "| offset gaps (log) | {} |",
        count_in_log(&log, "\"event\":\"offset_gap\"")
    );
    if let Some((at, stop, clean, ready)) = sigterm {
        let _ = writeln!(report, "| SIGTERM mid-burst (at {at:.0} s) | exited in {:.1} s, clean {clean}; ready again after {:.1} s |", stop.as_secs_f64(), ready.as_secs_f64());
    }
    let _ = writeln!(report, "| SIGTERM at the end ({in_flight_at_end:.0} in flight) | exited in {:.1} s, clean {clean} |", stop.as_secs_f64());
    let _ = writeln!(
        report,
        "| records read back (output + DLQ) | {records} for {read_back} distinct inputs |"
    );
    let _ = writeln!(report, "| **lost** | **{lost}** |");
    println!("\n{report}");
    if let Some(out) = &args.out {
        std::fs::write(out, format!("{report}\nTimeline:\n\n{table}")).expect("write --out");
    }
    if lost > 0 {
        std::process::exit(1);
    }
}
