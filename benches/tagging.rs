//! Throughput of the whole tagging stage (tokenize, gazetteer, features, model, Viterbi,
//! rules, canonical forms) on ~5 KB Hebrew articles: built from NEMO train sentences when
//! `../shared` is present, else from the repository's own samples; and ~5 KB English
//! articles (Universal NER EWT dev sentences, else the English sample). Prints tokens/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use newsflow::core::segment::tokenize;
use newsflow::core::tag::accurate::DEFAULT_MODEL_PATH;
use newsflow::core::tag::{AccurateTagger, FastTagger, Tagger};
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use newsflow_testkit::bench::{articles, cpu_model, english_articles, thread_cpu_ns};

/// Tags `docs` for at least `secs` seconds; prints tokens per second of wall time and per
/// CPU-second of this thread.
fn measure(name: &str, tagger: &dyn Tagger, docs: &[String], tokens: usize, secs: f64) {
    let t = Instant::now();
    let cpu0 = thread_cpu_ns();
    let mut n = 0;
    while t.elapsed().as_secs_f64() < secs {
        for d in docs {
            black_box(tagger.tag_article("", d, None));
        }
        n += tokens;
    }
    let wall = t.elapsed().as_secs_f64();
    println!(
        "{name} tier, tagging stage: {:.0} tokens/s on one core",
        n as f64 / wall
    );
    // On a shared machine the wall-clock figure includes time the thread waited for a
    // core; the CPU-time figure does not.
    if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
        let cpu = (b - a) as f64 / 1e9;
        println!(
            "{name} tier, tagging stage: {:.0} tokens per CPU-second ({:.0}% of the wall time on a core)",
            n as f64 / cpu,
            100.0 * cpu / wall
        );
    }
}

fn bench(c: &mut Criterion) {
    let t0 = Instant::now();
    let tagger = FastTagger::builtin().expect("model loads");
    // stderr: stdout is the test list when a test runner lists the benches.
    eprintln!(
        "fast model load: {:.1} ms",
        t0.elapsed().as_secs_f64() * 1e3
    );
    let t0 = Instant::now();
    let accurate = AccurateTagger::load(Path::new(DEFAULT_MODEL_PATH));
    match &accurate {
        Ok(_) => eprintln!(
            "accurate model load: {:.1} ms",
            t0.elapsed().as_secs_f64() * 1e3
        ),
        Err(e) => eprintln!("accurate tier skipped: {e}"),
    }
    let docs = articles();
    let tokens: usize = docs.iter().map(|d| tokenize(d).len()).sum();
    let bytes: usize = docs.iter().map(String::len).sum();
    eprintln!(
        "{} articles, {} tokens, {} bytes (avg {} bytes)",
        docs.len(),
        tokens,
        bytes,
        bytes / docs.len()
    );
    // Plain timings for the README figures, both tiers in the same run, independent of
    // criterion's report format (only under `cargo bench`, not when a test runner
    // smoke-runs the benches).
    if std::env::args().any(|a| a == "--bench") {
        println!("CPU: {}", cpu_model());
        measure("fast", &tagger, &docs, tokens, 2.0);
        if let Ok(acc) = &accurate {
            let few = &docs[..docs.len().min(4)];
            let few_tokens: usize = few.iter().map(|d| tokenize(d).len()).sum();
            measure("accurate", acc, few, few_tokens, 10.0);
        }
        let en = english_articles();
        let en_tokens: usize = en.iter().map(|d| tokenize(d).len()).sum();
        eprintln!("{} English articles, {en_tokens} tokens", en.len());
        measure("fast (English)", &tagger, &en, en_tokens, 2.0);
        if let Ok(acc) = &accurate {
            let few = &en[..en.len().min(4)];
            let few_tokens: usize = few.iter().map(|d| tokenize(d).len()).sum();
            measure("accurate (English)", acc, few, few_tokens, 10.0);
        }
    }
    let mut g = c.benchmark_group("tagging");
    g.throughput(Throughput::Elements(tokens as u64));
    g.sample_size(20);
    g.bench_function("tag_article_5kb_hebrew", |b| {
        b.iter(|| {
            for d in &docs {
                black_box(tagger.tag_article("", d, None));
            }
        })
    });
    g.finish();
    if let Ok(acc) = &accurate {
        let one = &docs[0];
        let mut g = c.benchmark_group("tagging_accurate");
        g.throughput(Throughput::Elements(tokenize(one).len() as u64));
        g.sample_size(10);
        g.bench_function("tag_article_5kb_hebrew", |b| {
            b.iter(|| black_box(acc.tag_article("", one, None)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
