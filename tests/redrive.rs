//! `newsflow redrive` on the in-process mock cluster.

use newsflow_testkit as common;

use common::*;
use newsflow::redrive::{redrive, RedriveOptions};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::FutureRecord;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redrive_filters_by_kind_dry_runs_and_remembers_its_position() {
    let cluster = MockCluster::new(1).unwrap();
    for (t, n) in [
        ("articles.raw", 1),
        ("articles.enriched", 1),
        ("articles.dlq", 2),
    ] {
        cluster.create_topic(t, n, 1).unwrap();
    }
    let brokers = cluster.bootstrap_servers();
    let p = producer(&brokers);
    let dlq = [
        ("m1", "malformed_json", false),
        ("i1", "internal_error", false),
        ("m2", "malformed_json", false),
        ("i2", "internal_error", false),
        ("big", "internal_error", true),
        ("m3", "malformed_json", false),
    ];
    for (key, kind, omitted) in dlq {
        let mut h = OwnedHeaders::new()
            .insert(Header {
                key: "x-origin",
                value: Some("scraper-7"),
            })
            .insert(Header {
                key: "newsflow-error-kind",
                value: Some(kind),
            })
            .insert(Header {
                key: "newsflow-error-message",
                value: Some("boom"),
            })
            .insert(Header {
                key: "newsflow-source-offset",
                value: Some("3"),
            });
        if omitted {
            h = h.insert(Header {
                key: "newsflow-payload-omitted",
                value: Some("too large"),
            });
        }
        let payload = if omitted {
            String::new()
        } else {
            format!("payload of {key}")
        };
        let rec = FutureRecord::to("articles.dlq")
            .key(key)
            .payload(&payload)
            .headers(h);
        p.send(rec, Duration::from_secs(10))
            .await
            .map_err(|(e, _)| e)
            .unwrap();
    }
    let config = test_config(&brokers, "svc");

    let dry = redrive(
        &config,
        &RedriveOptions {
            dry_run: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(dry.redriven.get("malformed_json"), Some(&3));
    assert_eq!(dry.redriven.get("internal_error"), Some(&2));
    assert_eq!(dry.omitted, 1);

    let only = RedriveOptions {
        kinds: vec!["internal_error".into()],
        ..Default::default()
    };
    let first = redrive(&config, &only).await.unwrap();
    assert_eq!(first.redriven.get("internal_error"), Some(&2));
    assert_eq!(first.skipped.get("malformed_json"), Some(&3));
    let r = reader(&brokers, &["articles.raw"]);
    let raw = read_until(&r, Duration::from_secs(20), |s| s.len() >= 2).await;
    let mut keys: Vec<&str> = raw.iter().map(|s| s.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, vec!["i1", "i2"]);
    for s in &raw {
        assert_eq!(
            s.payload,
            format!("payload of {}", s.key).into_bytes(),
            "original bytes"
        );
        assert_eq!(s.headers["x-origin"], "scraper-7", "original headers kept");
        assert!(
            s.headers.keys().all(|k| !k.starts_with("newsflow-")),
            "DLQ headers dropped"
        );
    }

    let again = redrive(&config, &only).await.unwrap();
    assert!(
        again.redriven.is_empty(),
        "position remembered: nothing new"
    );
    let all = redrive(&config, &RedriveOptions::default()).await.unwrap();
    assert_eq!(
        all.redriven.values().sum::<usize>(),
        5,
        "the all-kinds filter has its own position"
    );

    let bad = redrive(
        &config,
        &RedriveOptions {
            kinds: vec!["nonsense".into()],
            ..Default::default()
        },
    )
    .await;
    assert!(bad.unwrap_err().to_string().contains("unknown error kind"));
}
