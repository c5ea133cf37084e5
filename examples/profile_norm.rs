use newsflow::core::normalize::{fingerprint, language, text};
use newsflow::corpus::*;
use std::time::Instant;
fn main() {
    let items = generate(
        &CorpusSpec {
            n: 200,
            ..CorpusSpec::default()
        },
        default_shared_dir().as_deref(),
    );
    let bodies: Vec<String> = items
        .iter()
        .filter(|i| i.kind == CorpusKind::HebrewJson)
        .map(|i| {
            let v: serde_json::Value = serde_json::from_slice(&i.payload).unwrap();
            v["body"].as_str().unwrap().to_string()
        })
        .collect();
    let bytes: usize = bodies.iter().map(|b| b.len()).sum();
    let mb = bytes as f64 / 1e6;
    let t = Instant::now();
    for _ in 0..5 {
        for b in &bodies {
            std::hint::black_box(text::normalize_text(b));
        }
    }
    println!(
        "normalize_text {:.1} MB/s",
        5.0 * mb / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..5 {
        for b in &bodies {
            std::hint::black_box(language::detect("", b, None));
        }
    }
    println!("language {:.1} MB/s", 5.0 * mb / t.elapsed().as_secs_f64());
    let t = Instant::now();
    for _ in 0..5 {
        for b in &bodies {
            std::hint::black_box(fingerprint::Fingerprint::of("", b));
        }
    }
    println!(
        "fingerprint {:.1} MB/s",
        5.0 * mb / t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    for _ in 0..5 {
        for i in &items {
            std::hint::black_box(newsflow::core::decode::decode(&i.payload, usize::MAX).ok());
        }
    }
    println!(
        "decode {:.1} MB/s",
        5.0 * (items.iter().map(|i| i.payload.len()).sum::<usize>() as f64 / 1e6)
            / t.elapsed().as_secs_f64()
    );
}
