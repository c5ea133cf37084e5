//! Criterion benchmarks of the enrichment core on the deterministic corpus (`src/corpus.rs`):
//! normalization MB/s for plain text and HTML, and whole-core articles/s on one thread and
//! on all cores. Run: `cargo bench --bench core` (uses ../shared NEMO sentences if present).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use newsflow::core::decode::decode;
use newsflow::core::normalize::normalize;
use newsflow::core::{enrich, Context, Input};
use newsflow::corpus::{default_shared_dir, generate, CorpusItem, CorpusKind, CorpusSpec};
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

fn normalization(c: &mut Criterion) {
    let items = corpus();
    for (name, kind) in [
        ("plain", CorpusKind::HebrewJson),
        ("html", CorpusKind::HebrewHtml),
    ] {
        let set: Vec<&CorpusItem> = items.iter().filter(|i| i.kind == kind).take(100).collect();
        let bytes: usize = set.iter().map(|i| i.payload.len()).sum();
        let mut g = c.benchmark_group("normalize");
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
    targets = normalization, whole_core
}
criterion_main!(benches);
