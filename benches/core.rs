//! Criterion benchmarks of the enrichment core on the deterministic corpus (`src/corpus.rs`):
//! normalization MB/s for plain text and HTML (in wall-clock time, group `normalize`, and in
//! the thread's CPU time, group `normalize_cpu`: per-core throughput that other processes on
//! a shared machine do not distort), and whole-core articles/s on one thread and on all
//! cores. Run: `cargo bench --bench core` (uses ../shared NEMO sentences if present).

use corpus::{default_shared_dir, generate, CorpusItem, CorpusKind, CorpusSpec};
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use newsflow::core::decode::decode;
use newsflow::core::normalize::normalize;
use newsflow::core::{enrich, Context, Input};
use newsflow_testkit::corpus;
use std::time::{Duration, Instant};

fn corpus() -> Vec<CorpusItem> {
    let shared = default_shared_dir();
    eprintln!(
        "corpus source: {}",
        if shared.is_some() {
            "NEMO train sentences"
        } else {
            "own sentences"
        }
    );
    generate(
        &CorpusSpec {
            n: 400,
            ..CorpusSpec::default()
        },
        shared.as_deref(),
    )
}

/// CPU time of the calling thread (`CLOCK_THREAD_CPUTIME_ID`), reported like wall-clock time.
struct ThreadCpuTime;

impl ThreadCpuTime {
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we pass.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        Self::now()
    }
    fn end(&self, start: Duration) -> Duration {
        Self::now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        static WALL: WallTime = WallTime;
        WALL.formatter()
    }
}

fn normalization<M: Measurement>(c: &mut Criterion<M>, group: &str) {
    let items = corpus();
    for (name, kind) in [
        ("plain", CorpusKind::HebrewJson),
        ("html", CorpusKind::HebrewHtml),
    ] {
        let set: Vec<&CorpusItem> = items.iter().filter(|i| i.kind == kind).take(100).collect();
        let bytes: usize = set.iter().map(|i| i.payload.len()).sum();
        let mut g = c.benchmark_group(group);
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                for item in &set {
                    let raw = decode(&item.payload, usize::MAX).unwrap();
                    std::hint::black_box(normalize(raw).unwrap());
                }
            })
        });
        g.finish();
    }
}

fn normalization_wall(c: &mut Criterion) {
    normalization(c, "normalize");
}

fn normalization_cpu(c: &mut Criterion<ThreadCpuTime>) {
    normalization(c, "normalize_cpu");
}

fn whole_core(c: &mut Criterion) {
    let items = corpus();
    let ctx = Context::builtin(1_000_000).unwrap();
    let mut g = c.benchmark_group("enrich");
    g.throughput(Throughput::Elements(items.len() as u64));
    g.bench_function("one_thread", |b| {
        b.iter_batched(
            || (),
            |()| {
                for item in &items {
                    let input = Input {
                        payload: &item.payload,
                        key: None,
                        provenance: None,
                    };
                    let _ = std::hint::black_box(enrich(input, &ctx));
                }
            },
            BatchSize::PerIteration,
        )
    });
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    g.bench_function(format!("all_cores_{threads}"), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for chunk in items.chunks(items.len().div_ceil(threads)) {
                        let ctx = &ctx;
                        s.spawn(move || {
                            for item in chunk {
                                let input = Input {
                                    payload: &item.payload,
                                    key: None,
                                    provenance: None,
                                };
                                let _ = std::hint::black_box(enrich(input, ctx));
                            }
                        });
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = normalization_wall, whole_core
}
criterion_group! {
    name = cpu_time;
    config = Criterion::default().with_measurement(ThreadCpuTime).sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    targets = normalization_cpu
}
criterion_main!(benches, cpu_time);
