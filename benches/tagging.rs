//! Throughput of the whole tagging stage (tokenize, gazetteer, features, model, Viterbi,
//! rules, canonical forms) on ~5 KB Hebrew articles: built from NEMO train sentences when
//! `../shared` is present, else from the repository's own samples. Prints tokens/s.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use newsflow::core::segment::tokenize;
use newsflow::core::tag::{FastTagger, Tagger};
use std::hint::black_box;
use std::time::Instant;

fn articles() -> Vec<String> {
    let nemo = std::path::Path::new("../shared/data/nemo/token-single_train.bmes");
    let sentences: Vec<String> = match std::fs::read_to_string(nemo) {
        Ok(text) => newsflow::training::bmes::parse(&text)
            .into_iter()
            .map(|s| s.tokens.join(" "))
            .collect(),
        Err(_) => {
            let text = std::fs::read_to_string("samples/he_plain.txt").unwrap_or_default();
            text.split(['.', '\n'])
                .filter(|s| !s.trim().is_empty())
                .map(|s| format!("{} .", s.trim()))
                .collect()
        }
    };
    let mut out = Vec::new();
    let mut cur = String::new();
    for s in sentences.iter().cycle().take(sentences.len().max(1) * 2) {
        cur.push_str(s);
        cur.push(' ');
        if cur.len() >= 5000 {
            out.push(std::mem::take(&mut cur));
            if out.len() == 40 {
                break;
            }
        }
    }
    if out.is_empty() {
        out.push(cur);
    }
    out
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), if available.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn bench(c: &mut Criterion) {
    let t0 = Instant::now();
    let tagger = FastTagger::builtin().expect("model loads");
    // stderr: stdout is the test list when a test runner lists the benches.
    eprintln!("model load: {:.1} ms", t0.elapsed().as_secs_f64() * 1e3);
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
    // A plain timing for the README figure, independent of criterion's report format
    // (only under `cargo bench`, not when `cargo test --all-targets` smoke-runs benches).
    if std::env::args().any(|a| a == "--bench") {
        let t = Instant::now();
        let cpu0 = thread_cpu_ns();
        let mut n = 0;
        while t.elapsed().as_secs_f64() < 2.0 {
            for d in &docs {
                black_box(tagger.tag_article("", d, None));
            }
            n += tokens;
        }
        let wall = t.elapsed().as_secs_f64();
        println!("tagging stage: {:.0} tokens/s on one core", n as f64 / wall);
        // On a shared machine the wall-clock figure includes time the thread waited for a
        // core; the CPU-time figure does not.
        if let (Some(a), Some(b)) = (cpu0, thread_cpu_ns()) {
            let cpu = (b - a) as f64 / 1e9;
            println!(
                "tagging stage: {:.0} tokens per CPU-second ({:.0}% of the wall time on a core)",
                n as f64 / cpu,
                100.0 * cpu / wall
            );
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
}

criterion_group!(benches, bench);
criterion_main!(benches);
