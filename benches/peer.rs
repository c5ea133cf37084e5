//! The accurate tier's encoder beside a peer runtime (issue 25), Rust half.
//!
//! Tags the benchmark's ~5 KB Hebrew articles with the accurate tier while recording the
//! chunks of each call its labeller is given, turns them into the batches of encoder windows
//! the labeller runs (`EncoderLabeler::batches`, the same code), and times the encoder alone
//! over them on this thread. Under `cargo bench --bench peer` (which passes `--bench`) it
//! also measures the core's int8 multiply-add peak and times the whole tagging stage of both
//! tiers on the same articles, and writes, for `scripts/peer-bench.py`:
//!
//! - `target/peer/windows.tsv`: one window a line, `batch<TAB>ids<TAB>firsts<TAB>labels`
//!   (the label the Rust encoder scores highest at each word's first piece);
//! - `target/peer/rust.json`: the CPU, token and piece counts, and the timings.
//!
//! `scripts/peer-bench.sh` runs both halves in one go.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use newsflow::core::segment::tokenize;
use newsflow::core::tag::accurate::{EncoderLabeler, Int8Isa, Window, DEFAULT_MODEL_PATH};
use newsflow::core::tag::gazetteer::GazTag;
use newsflow::core::tag::{
    builtin_resources, Chunk, FastTagger, Kernel, Labeler, LinearLabeler, Pipeline, Span, Tagger,
    Tier,
};
use newsflow_testkit::bench::{articles, cpu_model, thread_cpu_ns};
use std::hint::black_box;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Articles of the comparison (each ~5 KB, ~900 tokens).
const ARTICLES: usize = 12;

/// The encoder labeller, recording the chunks of each call it is given.
#[derive(Debug)]
struct Recording {
    inner: EncoderLabeler,
    calls: Mutex<Vec<Vec<Vec<String>>>>,
}

impl Recording {
    fn record(&self, chunks: &[Chunk<'_>]) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(
                chunks
                    .iter()
                    .map(|(words, _)| words.iter().map(|w| w.to_string()).collect())
                    .collect(),
            );
        }
    }
}

impl Labeler for Recording {
    fn spans(&self, words: &[&str], gaz: &[GazTag], out: &mut Vec<Span>) {
        self.record(&[(words, gaz)]);
        self.inner.spans(words, gaz, out)
    }
    fn spans_batch(&self, chunks: &[Chunk<'_>], out: &mut Vec<Vec<Span>>) {
        self.record(chunks);
        self.inner.spans_batch(chunks, out)
    }
    fn kernel(&self) -> Kernel {
        self.inner.kernel()
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn cost(&self, words: &[&str]) -> usize {
        self.inner.cost(words)
    }
    fn english(&self) -> bool {
        self.inner.english()
    }
}

/// The batches of windows the accurate tier's encoder runs for `docs`, and the pipeline
/// that ran them.
fn recorded_batches(bytes: &[u8], docs: &[String]) -> (Vec<Vec<Window>>, Pipeline<Recording>) {
    let (gazetteer, fast) = builtin_resources().expect("built-in resources");
    let lexicon = Arc::clone(fast.lexicon());
    let labeler = Recording {
        inner: EncoderLabeler::from_bytes(bytes).expect("model parses"),
        calls: Mutex::new(Vec::new()),
    };
    let pipeline = Pipeline::new(Tier::Accurate, gazetteer, lexicon, labeler).with_fallback(
        newsflow::core::tag::accurate::ENCODER_FIELD_PIECES,
        Box::new(LinearLabeler::new(fast)),
    );
    for d in docs {
        black_box(pipeline.tag_article("", d, None));
    }
    let calls = std::mem::take(&mut *pipeline.labeler().calls.lock().expect("lock"));
    let batches = calls
        .iter()
        .flat_map(|chunks| {
            let words: Vec<Vec<&str>> = chunks
                .iter()
                .map(|c| c.iter().map(String::as_str).collect())
                .collect();
            let slices: Vec<&[&str]> = words.iter().map(Vec::as_slice).collect();
            pipeline.labeler().inner.batches(&slices)
        })
        .collect();
    (batches, pipeline)
}

/// CPU seconds of this thread (wall seconds where the kernel does not say) for one pass of
/// `f`, the best of passes until `secs` have gone.
fn best_pass(secs: f64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut best = f64::INFINITY;
    while start.elapsed().as_secs_f64() < secs || best.is_infinite() {
        let (w0, c0) = (Instant::now(), thread_cpu_ns());
        f();
        let took = match (c0, thread_cpu_ns()) {
            (Some(a), Some(b)) => (b - a) as f64 / 1e9,
            _ => w0.elapsed().as_secs_f64(),
        };
        best = best.min(took);
    }
    best
}

/// int8 multiply-adds a second this core sustains in `vpdpbusd` alone (24 independent
/// 512-bit accumulators, operands in registers, no loads): the measured ceiling of the
/// roofline, free of guesses about turbo clocks. `None` without AVX-512 VNNI.
fn measured_int8_peak() -> Option<f64> {
    #[cfg(target_arch = "x86_64")]
    {
        if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni")) {
            return None;
        }
        const STEPS: usize = 20_000_000;
        let run = || {
            let (w0, c0) = (Instant::now(), thread_cpu_ns());
            // SAFETY: the CPU has AVX-512 F and VNNI (checked above).
            let sink = unsafe { vnni_loop(STEPS) };
            black_box(sink);
            match (c0, thread_cpu_ns()) {
                (Some(a), Some(b)) => (b - a) as f64 / 1e9,
                _ => w0.elapsed().as_secs_f64(),
            }
        };
        let best = (0..3).map(|_| run()).fold(f64::INFINITY, f64::min);
        // 24 instructions a step, 64 multiply-adds each.
        Some((STEPS * 24 * 64) as f64 / best)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

/// `steps` rounds of 24 independent `vpdpbusd`.
///
/// # Safety
/// The CPU must have AVX-512 F and VNNI.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vnni")]
unsafe fn vnni_loop(steps: usize) -> i32 {
    use std::arch::x86_64::*;
    let a = _mm512_set1_epi32(black_box(0x0102_0304));
    let b = _mm512_set1_epi32(black_box(0x0101_0101));
    let mut acc = [_mm512_setzero_si512(); 24];
    for _ in 0..steps {
        for v in acc.iter_mut() {
            *v = _mm512_dpbusd_epi32(*v, a, b);
        }
    }
    let mut sum = _mm512_setzero_si512();
    for v in acc {
        sum = _mm512_add_epi32(sum, v);
    }
    _mm512_reduce_add_epi32(sum)
}

/// The label each word's first piece scores highest, over all `batches`.
fn batch_labels(encoder: &EncoderLabeler, batches: &[Vec<Window>]) -> Vec<usize> {
    let labels = newsflow::core::tag::labels::N_LABELS;
    batches
        .iter()
        .flat_map(|b| argmax_labels(&encoder.batch_log_probs(b), labels))
        .collect()
}

/// The encoder on every other kernel this CPU has (int8 AVX2 where the main one is VNNI,
/// f32), timed over the same batches in the same run, with the share of labels equal to
/// the main kernel's `labels`.
fn other_kernels(
    bytes: &[u8],
    main: &EncoderLabeler,
    batches: &[Vec<Window>],
    labels: &[usize],
    tokens: usize,
) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for choice in [Some(Int8Isa::Vnni), Some(Int8Isa::Avx2), None] {
        if choice.is_some_and(|isa| !isa.supported()) {
            continue;
        }
        let encoder = EncoderLabeler::with_kernel(bytes, choice).expect("model parses");
        if encoder.kernel() == main.kernel() {
            continue;
        }
        let got = batch_labels(&encoder, batches);
        let equal = got.iter().zip(labels).filter(|(a, b)| a == b).count();
        let secs = best_pass(10.0, || {
            for b in batches {
                black_box(encoder.batch_log_probs(b));
            }
        });
        println!(
            "  on the {} kernel: {:.0} tokens per CPU-second, labels {:.2}% equal",
            encoder.kernel(),
            tokens as f64 / secs,
            100.0 * equal as f64 / labels.len().max(1) as f64
        );
        out.push(serde_json::json!({
            "kernel": encoder.kernel().as_str(),
            "encoder_cpu_s": secs,
            "labels_equal": equal,
            "labels": labels.len(),
        }));
    }
    out
}

/// As [`best_pass`] for several functions whose passes take turns, the best of each.
fn best_interleaved<const N: usize>(secs: f64, mut fs: [&mut dyn FnMut(); N]) -> [f64; N] {
    let start = Instant::now();
    let mut best = [f64::INFINITY; N];
    while start.elapsed().as_secs_f64() < secs || best.iter().any(|b| b.is_infinite()) {
        for (f, b) in fs.iter_mut().zip(best.iter_mut()) {
            *b = b.min(best_pass(0.0, &mut **f));
        }
    }
    best
}

fn argmax_labels(logp: &[f32], labels: usize) -> Vec<usize> {
    logp.chunks_exact(labels)
        .map(|row| {
            row.iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map_or(0, |(i, _)| i)
        })
        .collect()
}

fn join<T: ToString>(v: &[T]) -> String {
    v.iter().map(T::to_string).collect::<Vec<_>>().join(" ")
}

fn bench(c: &mut Criterion) {
    let Ok(bytes) = std::fs::read(DEFAULT_MODEL_PATH) else {
        eprintln!("peer bench skipped: {DEFAULT_MODEL_PATH} is missing");
        return;
    };
    let all = articles();
    // Under `cargo test` (no `--bench`) two articles check that the bench runs; under
    // `--profile-time` (scripts/peer-bench.sh's perf run) the encoder alone runs, on all of
    // them, without the same-run table.
    let args: Vec<String> = std::env::args().collect();
    let benching = args.iter().any(|a| a == "--bench");
    let measuring = benching && !args.iter().any(|a| a == "--profile-time");
    let docs = &all[..all.len().min(if benching { ARTICLES } else { 2 })];
    let tokens: usize = docs.iter().map(|d| tokenize(d).len()).sum();
    let (batches, pipeline) = recorded_batches(&bytes, docs);
    let encoder = &pipeline.labeler().inner;
    let windows: usize = batches.iter().map(Vec::len).sum();
    let pieces: usize = batches.iter().flatten().map(|w| w.ids.len()).sum();
    eprintln!(
        "{} articles, {tokens} tokens, {windows} windows in {} batches, {pieces} pieces",
        docs.len(),
        batches.len()
    );
    let run_all = || {
        for b in &batches {
            black_box(encoder.batch_log_probs(b));
        }
    };
    if measuring {
        let labels = newsflow::core::tag::labels::N_LABELS;
        let out_dir = std::path::Path::new("target/peer");
        std::fs::create_dir_all(out_dir).expect("create target/peer");
        let mut lines = Vec::new();
        for (i, batch) in batches.iter().enumerate() {
            let best = argmax_labels(&encoder.batch_log_probs(batch), labels);
            let mut row = 0;
            for w in batch {
                let n = w.firsts.len();
                lines.push(format!(
                    "{i}\t{}\t{}\t{}",
                    join(&w.ids),
                    join(&w.firsts),
                    join(&best[row..row + n])
                ));
                row += n;
            }
        }
        std::fs::write(out_dir.join("windows.tsv"), lines.join("\n") + "\n")
            .expect("write windows.tsv");
        // Batched as the tier runs them, and the same windows one at a time (as before
        // batching), passes interleaved so that both see the same neighbours.
        let [encoder_s, alone_s] = best_interleaved(
            20.0,
            [&mut || run_all(), &mut || {
                for w in batches.iter().flatten() {
                    black_box(encoder.batch_log_probs(std::slice::from_ref(w)));
                }
            }],
        );
        let accurate_s = best_pass(10.0, || {
            for d in docs {
                black_box(pipeline.tag_article("", d, None));
            }
        });
        let fast = FastTagger::builtin().expect("fast model");
        let fast_s = best_pass(3.0, || {
            for d in docs {
                black_box(fast.tag_article("", d, None));
            }
        });
        println!("CPU: {}", cpu_model());
        println!(
            "Rust encoder ({}): {:.0} tokens per CPU-second ({:.0} one window at a time); accurate stage {:.0}; fast stage {:.0}",
            encoder.kernel(),
            tokens as f64 / encoder_s,
            tokens as f64 / alone_s,
            tokens as f64 / accurate_s,
            tokens as f64 / fast_s
        );
        let others = other_kernels(
            &bytes,
            encoder,
            &batches,
            &batch_labels(encoder, &batches),
            tokens,
        );
        let report = serde_json::json!({
            "cpu": cpu_model(),
            "kernel": encoder.kernel().as_str(),
            "articles": docs.len(),
            "tokens": tokens,
            "windows": windows,
            "batches": batches.len(),
            "batch_pieces": newsflow::core::tag::accurate::BATCH_PIECES,
            "pieces": pieces,
            "encoder_cpu_s": encoder_s,
            "encoder_one_window_at_a_time_cpu_s": alone_s,
            "accurate_stage_cpu_s": accurate_s,
            "fast_stage_cpu_s": fast_s,
            "measured_int8_peak_macs_per_s": measured_int8_peak(),
            "other_kernels": others,
        });
        std::fs::write(out_dir.join("rust.json"), report.to_string()).expect("write rust.json");
    }
    let mut g = c.benchmark_group("peer");
    g.throughput(Throughput::Elements(pieces as u64));
    g.sample_size(10);
    g.bench_function("encoder_windows", |b| b.iter(run_all));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
