//! Watchlist cost and scale: whole-core articles per CPU-second on one thread without
//! lists and with 10,000 entries of 3 names each (same run, alternating), and the load
//! time and memory of 1,000,000 entries. Run: `cargo bench --bench watchlists`; prints the
//! CPU model beside the figures (they differ up to 3x between machines).

use corpus::{default_shared_dir, generate, CorpusSpec};
use newsflow::core::watchlist::{Entry, List, SharedWatchlists, Watchlists};
use newsflow::core::{enrich, Context, Input};
use newsflow_testkit::corpus;
use std::time::Instant;

use newsflow_testkit::bench::{cpu_model, thread_cpu_ns};

/// Deterministic pseudo-random numbers (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

const HE: &[&str] = &[
    "בר", "כה", "נו", "דל", "מי", "רו", "שק", "טל", "גו", "פז", "אל", "עד",
];
const EN: &[&str] = &[
    "ka", "lo", "mer", "tin", "vo", "sa", "ber", "ga", "ni", "ro", "del", "fa",
];

fn word(r: &mut Rng, syl: &[&str]) -> String {
    (0..2 + r.next() % 3)
        .map(|_| syl[(r.next() % syl.len() as u64) as usize])
        .collect()
}

/// `n` entries with a two-word Hebrew name, a one-word Hebrew alias and a two-word Latin
/// name; the first six carry a common name of the corpus (so that articles hit).
fn entries(n: usize) -> Vec<Entry> {
    let real = [
        "ירושלים",
        "תל אביב",
        "משרד החוץ",
        "הכנסת",
        "ראש הממשלה",
        "Jerusalem",
    ];
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    (0..n)
        .map(|i| {
            let mut names = vec![
                format!("{} {}", word(&mut r, HE), word(&mut r, HE)),
                word(&mut r, HE),
                format!("{} {}", word(&mut r, EN), word(&mut r, EN)),
            ];
            if let Some(r) = real.get(i) {
                names[1] = r.to_string();
            }
            Entry {
                id: format!("e-{i}"),
                kind: "ORG".into(),
                names,
                exclude: Vec::new(),
                tags: Vec::new(),
            }
        })
        .collect()
}

fn lists(n: usize) -> Watchlists {
    Watchlists::compile(vec![List {
        name: "bench".into(),
        path: "bench.jsonl".into(),
        entries: entries(n),
    }])
    .expect("lists compile")
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    // A test runner listing the targets (`--list`) reads stdout as the test list: this
    // bench has no tests to list.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let full = std::env::args().any(|a| a == "--bench");
    let (n_articles, rounds, big) = if full {
        (400, 5, 1_000_000)
    } else {
        (20, 1, 10_000)
    };
    println!("CPU: {}", cpu_model());
    let items = generate(
        &CorpusSpec {
            n: n_articles,
            ..CorpusSpec::default()
        },
        default_shared_dir().as_deref(),
    );
    let plain = Context::builtin(1_000_000).expect("context");
    let mut with = Context::builtin(1_000_000).expect("context");
    let t = Instant::now();
    with.watchlists = SharedWatchlists::new(lists(10_000));
    println!(
        "10,000 entries x 3 names compiled in {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    let run = |ctx: &Context| {
        let t0 = thread_cpu_ns().unwrap_or(0);
        let mut hits = 0;
        for item in &items {
            let input = Input {
                payload: &item.payload,
                key: None,
                provenance: None,
            };
            if let Ok(e) = enrich(input, ctx) {
                hits += e.watchlist_hits.len();
            }
        }
        (
            items.len() as f64 / ((thread_cpu_ns().unwrap_or(0) - t0) as f64 / 1e9),
            hits,
        )
    };
    run(&plain);
    run(&with);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    let mut hits = 0;
    for _ in 0..rounds {
        a.push(run(&plain).0);
        let (r, h) = run(&with);
        b.push(r);
        hits = h;
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    println!(
        "whole core, one thread: {:.0} articles per CPU-second without lists, {:.0} with 10,000 entries ({} hits in {} articles): cost {:.1}%",
        mean(&a),
        mean(&b),
        hits,
        items.len(),
        100.0 * (1.0 - mean(&b) / mean(&a))
    );
    // A list file of `big` entries (JSON lines, as users write them), then its load:
    // read, validate, compile.
    let dir = std::env::temp_dir().join(format!("newsflow-wl-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("big.jsonl");
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("list file"));
        for e in entries(big) {
            let line = serde_json::json!({"id": e.id, "type": e.kind, "names": e.names});
            writeln!(f, "{line}").expect("write list");
        }
    }
    let bytes = std::fs::metadata(&path).map_or(0, |m| m.len());
    // Reset the peak-RSS mark (Linux), so that VmHWM below is the load's own peak.
    std::fs::write("/proc/self/clear_refs", "5").ok();
    let rss0 = status_kb("VmRSS:");
    let t = Instant::now();
    let w = Watchlists::from_files(&[path.display().to_string()]).expect("list loads");
    let secs = t.elapsed().as_secs_f64();
    let rss1 = status_kb("VmRSS:");
    println!(
        "{} entries x 3 names ({} MB of JSON lines): loaded (read, validated, compiled) in {:.2} s; compiled lists {} MB; resident +{} MB after the load, peak during it +{} MB",
        w.len(),
        bytes >> 20,
        secs,
        w.memory_bytes() >> 20,
        rss1.saturating_sub(rss0) / 1024,
        status_kb("VmHWM:").saturating_sub(rss0) / 1024
    );
    std::fs::remove_dir_all(&dir).ok();
}
