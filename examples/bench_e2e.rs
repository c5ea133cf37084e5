//! End-to-end benchmark: the release `newsflow` binary against tansu on 127.0.0.1.
//!
//! For each mode (enriched, pass-through) and run: start a fresh tansu, preload the raw
//! topic with the deterministic corpus, start the service, and measure
//! - the sustained rate (first to last output record, articles/s),
//! - peak RSS and CPU use of the service process,
//! - end-to-end latency at half the measured rate (send → record read back by a consumer;
//!   includes that consumer's fetch wait).
//!
//! Prints a markdown table of medians and writes it to `--out`.
//!
//! Run: `cargo build --release && cargo run --release --example bench_e2e -- --articles 20000`

use newsflow_testkit::tansu;

use corpus::{default_shared_dir, generate, CorpusSpec};
use newsflow_testkit::corpus;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tansu::{free_port, Tansu};

struct Args {
    articles: usize,
    runs: usize,
    partitions: u32,
    latency_secs: u64,
    binary: PathBuf,
    out: Option<PathBuf>,
    delivery: String,
    load: f64,
    fetch_wait_ms: u32,
    linger_ms: u32,
}

fn parse_args() -> Args {
    let mut a = Args {
        articles: 20_000,
        runs: 3,
        partitions: 4,
        latency_secs: 15,
        binary: PathBuf::from("target/release/newsflow"),
        out: None,
        delivery: "at-least-once".into(),
        load: 0.5,
        fetch_wait_ms: 10,
        linger_ms: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_default();
        match flag.as_str() {
            "--articles" => a.articles = v.parse().expect("--articles N"),
            "--runs" => a.runs = v.parse().expect("--runs N"),
            "--partitions" => a.partitions = v.parse().expect("--partitions N"),
            "--latency-seconds" => a.latency_secs = v.parse().expect("--latency-seconds N"),
            "--binary" => a.binary = PathBuf::from(v),
            "--out" => a.out = Some(PathBuf::from(v)),
            "--delivery" => a.delivery = v,
            "--load" => a.load = v.parse().expect("--load FRACTION"),
            "--fetch-wait-ms" => a.fetch_wait_ms = v.parse().expect("--fetch-wait-ms N"),
            "--linger-ms" => a.linger_ms = v.parse().expect("--linger-ms N"),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn proc_stats(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields
        .get(11)
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
    (hwm_kb * 1024, ticks / 100.0)
}

fn producer(brokers: &str, linger_ms: u32) -> FutureProducer {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", linger_ms.to_string())
        .set("queue.buffering.max.messages", "1000000")
        .create()
        .expect("producer")
}

fn reader(brokers: &str, group: &str, fetch_wait_ms: u32) -> StreamConsumer {
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", fetch_wait_ms.to_string())
        .create()
        .expect("reader");
    c.subscribe(&["articles.enriched", "articles.dlq"])
        .expect("subscribe");
    c
}

async fn send_all(p: &FutureProducer, items: &[(String, Vec<u8>)]) {
    let mut pending = Vec::with_capacity(items.len());
    for (k, v) in items {
        let mut rec = FutureRecord::to("articles.raw").key(k).payload(v);
        loop {
            match p.send_result(rec) {
                Ok(d) => {
                    pending.push(d);
                    break;
                }
                Err((_, r)) => {
                    rec = r;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        }
    }
    for d in pending {
        let _ = d.await;
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct RunResult {
    rate: f64,
    mb_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    rss_mb: f64,
    cpu_pct: f64,
}

async fn one_run(args: &Args, passthrough: bool, corpus: &[(String, Vec<u8>)]) -> RunResult {
    let tansu = Tansu::start_required();
    tansu.create_service_topics(args.partitions);
    let port = tansu.port;
    let brokers = format!("127.0.0.1:{port}");
    let p = producer(&brokers, args.linger_ms);
    send_all(&p, corpus).await;

    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("bench.toml");
    std::fs::write(
        &cfg,
        format!(
            "[kafka]\nbrokers = \"{brokers}\"\ngroup_id = \"bench\"\nfetch_wait_max_ms = {}\ndelivery = \"{}\"\n\
             [kafka.producer_properties]\n\"linger.ms\" = \"{}\"\n\
             [pipeline]\nmax_in_flight = 2048\npassthrough = {passthrough}\n[http]\nlisten = \"127.0.0.1:{}\"\n\
             [log]\nformat = \"json\"\nlevel = \"warn\"\n",
            args.fetch_wait_ms,
            args.delivery,
            args.linger_ms,
            free_port()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let service = Proc(
        Command::new(&args.binary)
            .args(["run", "--config"])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start newsflow (build it with cargo build --release)"),
    );
    let pid = service.0.id();
    let r = reader(&brokers, "bench-reader", args.fetch_wait_ms);
    let total = corpus.len();
    let bytes: usize = corpus.iter().map(|(_, v)| v.len()).sum();
    let mut seen = 0usize;
    let mut first: Option<Instant> = None;
    let deadline = Instant::now() + Duration::from_secs(600);
    while seen < total && Instant::now() < deadline {
        if let Ok(Ok(_m)) = tokio::time::timeout(Duration::from_secs(5), r.recv()).await {
            first.get_or_insert_with(Instant::now);
            seen += 1;
        }
    }
    assert_eq!(seen, total, "all records came through");
    let window = first
        .map_or(Duration::ZERO, |f| f.elapsed())
        .as_secs_f64()
        .max(1e-6);
    let (rss, cpu_secs) = proc_stats(pid);
    let rate = (total - 1) as f64 / window;
    let cpu_pct = 100.0 * cpu_secs / started.elapsed().as_secs_f64();

    // Latency at half the measured rate.
    let target = (rate * args.load).max(1.0);
    let n = (target * args.latency_secs as f64) as usize;
    let mut sent: HashMap<String, Instant> = HashMap::with_capacity(n);
    let begin = Instant::now();
    let mut lat = Vec::with_capacity(n);
    let mut i = 0usize;
    let mut received = 0usize;
    while received < n && begin.elapsed() < Duration::from_secs(args.latency_secs + 60) {
        // Pace the sends; read back whatever is ready in between.
        let due = ((begin.elapsed().as_secs_f64() * target) as usize).min(n);
        while i < due {
            let (k0, v) = &corpus[i % corpus.len()];
            let k = format!("lat-{i}-{k0}");
            let rec = FutureRecord::to("articles.raw").key(&k).payload(v);
            if p.send_result(rec).is_ok() {
                sent.insert(k, Instant::now());
            }
            i += 1;
        }
        if let Ok(Ok(m)) = tokio::time::timeout(Duration::from_millis(2), r.recv()).await {
            let key = String::from_utf8_lossy(m.key().unwrap_or(&[])).into_owned();
            if let Some(t) = sent.remove(&key) {
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                received += 1;
            }
        }
    }
    let _ = p.flush(Duration::from_secs(5));
    let (rss_after, _) = proc_stats(pid);
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    drop(service);
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |f: f64| {
        lat.get(((lat.len() as f64 - 1.0) * f) as usize)
            .copied()
            .unwrap_or(f64::NAN)
    };
    RunResult {
        rate,
        mb_per_s: rate * (bytes as f64 / total as f64) / 1e6,
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
        rss_mb: rss.max(rss_after) as f64 / 1e6,
        cpu_pct,
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = parse_args();
    let spec = CorpusSpec {
        n: args.articles,
        ..CorpusSpec::default()
    };
    let corpus: Vec<(String, Vec<u8>)> = generate(&spec, default_shared_dir().as_deref())
        .into_iter()
        .map(|i| (i.key, i.payload))
        .collect();
    let avg = corpus.iter().map(|(_, v)| v.len()).sum::<usize>() / corpus.len().max(1);
    let mut rows = Vec::new();
    let mut rates = HashMap::new();
    for (mode, passthrough) in [("enriched", false), ("pass-through", true)] {
        let mut results = Vec::new();
        for run in 0..args.runs {
            let r = one_run(&args, passthrough, &corpus).await;
            eprintln!("{mode} run {}: {r:?}", run + 1);
            results.push(r);
        }
        let m = |f: fn(&RunResult) -> f64| median(results.iter().map(f).collect());
        rates.insert(mode, m(|r| r.rate));
        rows.push(format!(
            "| {mode} ({}) | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {:.0} | {:.0}% |",
            args.delivery,
            m(|r| r.rate),
            m(|r| r.mb_per_s),
            m(|r| r.p50_ms),
            m(|r| r.p99_ms),
            m(|r| r.max_ms),
            m(|r| r.rss_mb),
            m(|r| r.cpu_pct),
        ));
    }
    let table = format!(
        "{} articles (avg {avg} bytes), {} partitions, median of {} runs, tansu on 127.0.0.1, release build, \
         fetch.wait.max.ms {} and linger.ms {} (service and harness)\n\n\
         | mode | articles/s | MB/s | p50 ms @50% | p99 ms @50% | max ms @50% | peak RSS MB | CPU (of 200%) |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- |\n{}\n\nenriched / pass-through rate: {:.2}\n",
        args.articles,
        args.partitions,
        args.runs,
        args.fetch_wait_ms,
        args.linger_ms,
        rows.join("\n"),
        rates["enriched"] / rates["pass-through"]
    );
    println!("{table}");
    if let Some(out) = &args.out {
        std::fs::write(out, &table).expect("write --out");
    }
}
