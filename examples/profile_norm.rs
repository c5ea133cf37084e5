//! Per-step CPU cost of the normalization stage on the benchmark corpus, measured in thread
//! CPU time (unaffected by other processes on a busy machine).
//! Run: `cargo run --release --example profile_norm`
use corpus::*;
use newsflow::core::decode::decode;
use newsflow::core::normalize::{fingerprint, language, normalize, text};
use newsflow_testkit::corpus;

fn cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

fn rate(name: &str, bytes: usize, rounds: usize, mut f: impl FnMut()) {
    let t = cpu_secs();
    for _ in 0..rounds {
        f();
    }
    let secs = cpu_secs() - t;
    println!(
        "{name:<28} {:>8.1} MB/s per core",
        (bytes * rounds) as f64 / 1e6 / secs
    );
}

fn main() {
    let items = generate(
        &CorpusSpec {
            n: 400,
            ..CorpusSpec::default()
        },
        default_shared_dir().as_deref(),
    );
    for (label, kind) in [
        ("plain", CorpusKind::HebrewJson),
        ("html", CorpusKind::HebrewHtml),
    ] {
        let set: Vec<&CorpusItem> = items.iter().filter(|i| i.kind == kind).take(100).collect();
        let bytes: usize = set.iter().map(|i| i.payload.len()).sum();
        rate(&format!("{label}: decode+normalize"), bytes, 20, || {
            for i in &set {
                std::hint::black_box(normalize(decode(&i.payload, usize::MAX).unwrap()).unwrap());
            }
        });
    }
    let bodies: Vec<String> = items
        .iter()
        .filter(|i| i.kind == CorpusKind::HebrewJson)
        .map(|i| {
            serde_json::from_slice::<serde_json::Value>(&i.payload).unwrap()["body"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let bytes: usize = bodies.iter().map(|b| b.len()).sum();
    rate("  text::normalize_text", bytes, 20, || {
        bodies.iter().for_each(|b| {
            std::hint::black_box(text::normalize_text(b));
        })
    });
    rate("  text::normalize_text_mapped", bytes, 20, || {
        bodies.iter().for_each(|b| {
            std::hint::black_box(text::normalize_text_mapped(b));
        })
    });
    rate("  language::detect", bytes, 20, || {
        bodies.iter().for_each(|b| {
            std::hint::black_box(language::detect("", b, None));
        })
    });
    rate("  Fingerprint::of", bytes, 20, || {
        bodies.iter().for_each(|b| {
            std::hint::black_box(fingerprint::Fingerprint::of("", b));
        })
    });
    rate("    simhash", bytes, 20, || {
        bodies.iter().for_each(|b| {
            std::hint::black_box(fingerprint::simhash(b));
        })
    });
    rate("    blake3", bytes, 20, || {
        bodies.iter().for_each(|b| {
            std::hint::black_box(blake3::hash(b.as_bytes()));
        })
    });
    rate("  segment::sentences", bytes, 20, || {
        bodies.iter().for_each(|b| {
            std::hint::black_box(newsflow::core::segment::sentences(b));
        })
    });
    let html: Vec<String> = items
        .iter()
        .filter(|i| i.kind == CorpusKind::HebrewHtml)
        .map(|i| {
            serde_json::from_slice::<serde_json::Value>(&i.payload).unwrap()["html"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let hbytes: usize = html.iter().map(|b| b.len()).sum();
    rate("  html::extract", hbytes, 20, || {
        html.iter().for_each(|h| {
            std::hint::black_box(newsflow::core::normalize::html::extract(h));
        })
    });
}
