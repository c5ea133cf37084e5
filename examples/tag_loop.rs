//! Tags the tagging bench's ~5 KB Hebrew articles `PASSES` times with the fast tier and
//! prints tokens per CPU-second: a small, deterministic workload for `perf` and for
//! valgrind's cachegrind, whose instruction and cache-miss counts do not move with the host
//! (see `scripts/bench-fast-model.sh`). Usage: `tag_loop [MODEL.bin] [PASSES]`.

use newsflow::core::segment::tokenize;
use newsflow::core::tag::linear::Model;
use newsflow::core::tag::{builtin_resources, FastTagger, Tagger};
use std::hint::black_box;

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

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`; 0 elsewhere).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (gazetteer, builtin) = builtin_resources()?;
    let model = match args.first().filter(|a| a.as_str() != "-") {
        Some(path) => Model::from_bytes(&std::fs::read(path)?)?,
        None => (*builtin).clone(),
    };
    let passes: usize = args.get(1).map(|p| p.parse()).transpose()?.unwrap_or(1);
    let tagger = FastTagger::from_parts(gazetteer, model);
    let docs = articles();
    let tokens: usize = docs.iter().map(|d| tokenize(d).len()).sum();
    let t0 = thread_cpu_ns();
    let mut n = 0;
    for _ in 0..passes {
        for d in &docs {
            n += black_box(tagger.tag_article("", d, None)).len();
        }
    }
    let secs = (thread_cpu_ns() - t0) as f64 / 1e9;
    println!(
        "{} tokens x {passes} passes, {n} entities: {:.0} tokens per CPU-second",
        tokens,
        (tokens * passes) as f64 / secs
    );
    Ok(())
}
