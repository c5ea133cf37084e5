//! Tags the tagging bench's ~5 KB Hebrew articles `PASSES` times with the fast tier and
//! prints tokens per CPU-second: a small, deterministic workload for `perf` and for
//! valgrind's cachegrind, whose instruction and cache-miss counts do not move with the host
//! (see `scripts/bench-fast-model.sh`). Usage: `tag_loop [MODEL.bin] [PASSES]`.

use newsflow::core::segment::tokenize;
use newsflow::core::tag::fast::linear::Model;
use newsflow::core::tag::{builtin_resources, FastTagger, Tagger};
use std::hint::black_box;

use newsflow_testkit::bench::{articles, thread_cpu_ns};

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
    let t0 = thread_cpu_ns().unwrap_or(0);
    let mut n = 0;
    for _ in 0..passes {
        for d in &docs {
            n += black_box(tagger.tag_article("", d, None)).len();
        }
    }
    let secs = (thread_cpu_ns().unwrap_or(0) - t0) as f64 / 1e9;
    println!(
        "{} tokens x {passes} passes, {n} entities: {:.0} tokens per CPU-second",
        tokens,
        (tokens * passes) as f64 / secs
    );
    Ok(())
}
