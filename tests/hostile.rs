//! Hostile inputs through the real binary against tansu (a broker process; the in-process
//! mock cluster keeps only a few MB per partition and drops 10 MB records): the corpus in
//! `tests/hostile/` plus large cases generated here (10 MB bodies, huge and deeply nested
//! JSON, HTML bombs, thousands of combining marks). Every input must end in the output or
//! the DLQ with a reason, the process must not panic, and its memory must stay bounded:
//! peak RSS under a fixed ceiling, and the resident memory after a second pass over the same
//! corpus no higher than after the first (no growth per hostile input).

use newsflow_testkit as common;

use common::service::{http_get, Service};
use common::tansu::free_port;
use common::tansu::Tansu;
use common::*;
use rdkafka::config::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// Peak RSS ceiling of the service for this corpus (MiB).
const RSS_CEILING_MIB: u64 = 1024;

/// The corpus files, as (name, bytes).
fn corpus_files() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hostile");
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("tests/hostile")
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(files.len() >= 30, "corpus present");
    files
}

/// Large hostile inputs, generated (too big to keep in git).
fn generated() -> Vec<(String, Vec<u8>)> {
    const MB: usize = 1 << 20;
    let json = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
    let sentence = "The mayor of Jerusalem met NATO officials in Brussels on Monday. ";
    let he = "ראש הממשלה נפגש היום בירושלים עם שר החוץ של צרפת. ";
    vec![
        (
            "gen_body_10mb.json".into(),
            json(
                serde_json::json!({"id": "big", "body": sentence.repeat(10 * MB / sentence.len())}),
            ),
        ),
        (
            "gen_plain_10mb_hebrew.txt".into(),
            he.repeat(10 * MB / he.len()).into_bytes(),
        ),
        ("gen_json_200k_keys.json".into(), {
            let mut m = serde_json::Map::new();
            m.insert("body".into(), "Paris.".into());
            for i in 0..200_000 {
                m.insert(format!("k{i}"), i.into());
            }
            json(serde_json::Value::Object(m))
        }),
        (
            "gen_json_nested_100k.json".into(),
            format!(
                "{{\"body\":\"x\",\"e\":{}{}}}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )
            .into_bytes(),
        ),
        (
            "gen_json_huge_string_array.json".into(),
            json(serde_json::json!({"body": "Rome.", "tags": vec!["x".repeat(100); 50_000]})),
        ),
        (
            "gen_html_deep_100k.json".into(),
            json(serde_json::json!({"html": format!(
                "<html><body>{}Putin met Macron in Paris.{}</body></html>",
                "<div>".repeat(100_000),
                "</div>".repeat(100_000)
            )})),
        ),
        (
            "gen_html_unclosed_200k.json".into(),
            json(
                serde_json::json!({"html": format!("<p>Berlin{}", "<b><i><span>".repeat(70_000))}),
            ),
        ),
        (
            "gen_html_huge_attribute.json".into(),
            json(serde_json::json!({"html": format!(
                "<p title=\"{}\" data-x='{}'>Obama visited Cairo.</p>",
                "A".repeat(5 * MB),
                "\"".repeat(1000)
            )})),
        ),
        (
            "gen_html_many_elements.json".into(),
            json(serde_json::json!({"html": "<p>Madrid &amp; Lisbon.</p>".repeat(200_000)})),
        ),
        (
            "gen_combining_200k.json".into(),
            json(
                serde_json::json!({"body": format!("Paris e{} London", "\u{0301}\u{0327}".repeat(100_000))}),
            ),
        ),
        (
            "gen_bidi_100k.json".into(),
            json(
                serde_json::json!({"body": format!("Tel Aviv {} Haifa", "\u{202e}\u{2067}x\u{2069}\u{202c}".repeat(20_000))}),
            ),
        ),
        (
            "gen_long_word_5mb.txt".into(),
            "Jerusalem".repeat(5 * MB / 9).into_bytes(),
        ),
        ("gen_newlines_1m.txt".into(), {
            let mut v = b"Paris\n".to_vec();
            v.extend(std::iter::repeat_n(b'\n', MB));
            v
        }),
        ("gen_nul_1mb.txt".into(), vec![0u8; MB]),
        // Not JSON (read as text): 200,000 punctuation tokens, which cost the encoder
        // 30 s a message before runs of symbols were kept from it.
        (
            "gen_brackets_200k.json".into(),
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        ("gen_binary_5mb.bin".into(), {
            let mut x = 0x2545_f491_4f6c_dd1du64;
            (0..5 * MB)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect()
        }),
        (
            "gen_oversize_13mb.txt".into(),
            "Paris ".repeat(13 * MB / 6).into_bytes(),
        ),
    ]
}

async fn produce_big(brokers: &str, items: &[(String, Vec<u8>)]) {
    let p: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.max.bytes", "20000000")
        .set("linger.ms", "5")
        .set("message.timeout.ms", "60000")
        .create()
        .unwrap();
    for (k, v) in items {
        p.send(
            FutureRecord::to(RAW).key(k).payload(v),
            Duration::from_secs(60),
        )
        .await
        .map_err(|(e, _)| e)
        .expect("produce hostile input");
    }
}

fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_end_in_output_or_dlq_without_panics_and_bounded_memory() {
    hostile_run(&[], 3).await;
}

/// The same corpus with the accurate tier: the encoder reads the first 32 KB of a field and
/// the fast model the rest, so huge bodies cost about what they cost in fast mode. One pass
/// (the encoder makes each pass about two minutes in the test build).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_in_accurate_mode() {
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/ner-accurate.bin");
    hostile_run(
        &[
            ("NEWSFLOW_TAGGER__MODE", "accurate"),
            ("NEWSFLOW_TAGGER__ACCURATE_MODEL", model),
        ],
        1,
    )
    .await;
}

async fn hostile_run(env: &[(&str, &str)], passes: usize) {
    let Some(tansu) = Tansu::start() else { return };
    for t in [RAW, OUT, DLQ] {
        tansu.create_topic(t, 2);
    }
    let brokers = tansu.brokers();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("newsflow.toml");
    let http_port = free_port();
    // Let 10 MB inputs reach the core (the default limit would dead-letter them unread).
    let sections = format!(
        "[pipeline]\nmax_message_bytes = 12000000\nmax_in_flight = 8\nworkers = 2\n\
         [http]\nlisten = \"127.0.0.1:{http_port}\"\n"
    );
    let toml = service::service_toml(&brokers, "hostile", "", &sections);
    std::fs::write(&config, toml).unwrap();
    let mut svc = Service::start(&config, env, dir.path().join("svc.log"));
    let mut inputs = corpus_files();
    inputs.extend(generated());
    let r = reader(&brokers, &[OUT, DLQ]);
    let mut settled = Vec::new();
    let mut all_seen = Vec::new();
    for pass in 0..passes {
        let items: Vec<(String, Vec<u8>)> = inputs
            .iter()
            .map(|(k, v)| (format!("{pass}/{k}"), v.clone()))
            .collect();
        let started = Instant::now();
        produce_big(&brokers, &items).await;
        let exp: BTreeSet<String> = items.iter().map(|(k, _)| k.clone()).collect();
        let seen = read_all_expected(
            &r,
            &exp,
            Duration::from_secs(300),
            Duration::from_millis(500),
        )
        .await;
        assert_complete(&seen, &exp, false, &svc.log_tail());
        // Resident memory once the pass is done (allocator caches settle within a moment).
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = svc.rss_kib().unwrap_or(0) / 1024;
        eprintln!(
            "pass {pass}: {} inputs in {:.1}s, peak RSS so far {} MiB, RSS now {now} MiB",
            items.len(),
            started.elapsed().as_secs_f64(),
            peak_rss_mib(svc.pid()),
        );
        settled.push(now);
        all_seen.extend(seen);
    }
    // Outcomes: every DLQ record has a kind and a message; no caught panics.
    let mut table = Vec::new();
    for s in all_seen.iter().filter(|s| s.key.starts_with("0/")) {
        let (dest, kind) = if s.topic == DLQ {
            let kind = s
                .headers
                .get("newsflow-error-kind")
                .cloned()
                .unwrap_or_default();
            let msg = s
                .headers
                .get("newsflow-error-message")
                .cloned()
                .unwrap_or_default();
            assert!(
                !kind.is_empty() && !msg.is_empty(),
                "{}: DLQ without a reason",
                s.key
            );
            assert_ne!(
                kind, "internal_error",
                "{}: the core panicked: {msg}",
                s.key
            );
            ("dlq", kind)
        } else {
            let rec = s.json();
            assert!(rec["body"].is_string(), "{}: output has a body", s.key);
            ("output", String::new())
        };
        table.push(format!("{:40} {dest:6} {kind}", &s.key[2..]));
    }
    table.sort();
    table.dedup();
    eprintln!("{}", table.join("\n"));
    // 10 MB inputs are processed by the core; whether their enriched record fits the output
    // topic is the producer's message.max.bytes (1 MB default): refused → DLQ.
    let big = all_seen
        .iter()
        .find(|s| s.key == "0/gen_body_10mb.json")
        .unwrap();
    assert_eq!(big.topic, DLQ);
    assert_eq!(big.headers["newsflow-error-kind"], "output_rejected");
    let over = all_seen
        .iter()
        .find(|s| s.key == "0/gen_oversize_13mb.txt")
        .unwrap();
    assert_eq!(over.headers["newsflow-error-kind"], "oversize");

    let log = std::fs::read_to_string(&svc.log).unwrap();
    assert!(!log.contains("panicked"), "no panic in the log");
    assert_eq!(http_get(http_port, "/healthz").0, 200, "still alive");
    let peak = peak_rss_mib(svc.pid());
    assert!(
        peak < RSS_CEILING_MIB,
        "peak RSS {peak} MiB above the {RSS_CEILING_MIB} MiB ceiling"
    );
    // The peak depends on which large inputs happen to be in flight together; what must
    // not happen is memory kept per processed input.
    // The first pass warms the allocator's arenas (how much it keeps depends on which 10 MB
    // inputs were in flight together); memory kept per input would grow pass after pass.
    if let [_, second, third, ..] = settled[..] {
        assert!(
            third <= second + second / 4 + 16,
            "RSS after the third pass {third} MiB, after the second {second} MiB: memory grows per input"
        );
    }
    svc.signal("-TERM");
    let status = svc.wait_exit(Duration::from_secs(30)).expect("exits");
    assert!(status.success(), "log:\n{}", svc.log_tail());
}
