//! `newsflow demo`: the whole service path against an embedded broker with the built-in
//! samples; prints the enriched records, alerts and dead letters (or throughput with
//! `--repeat`).

use super::{runtime, spawn_signal_handler, RUNTIME_SHUTDOWN_TIMEOUT};
use newsflow::config::{LogConfig, LogFormat};
use newsflow::core::tag::Tier;
use newsflow::telemetry;
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Keep running with /metrics, /healthz and /readyz up after printing.
    #[arg(long)]
    serve: bool,
    /// Publish the samples N times and report throughput instead of printing records.
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Listen address of the endpoints with --serve.
    #[arg(long, default_value = "127.0.0.1:9464")]
    listen: String,
    /// Entity-tagging tier [default: accurate, or fast where no accurate model is found].
    #[arg(long, value_enum)]
    tagger: Option<Tier>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        serve,
        repeat,
        listen,
        tagger,
    } = args;
    telemetry::logging::init(&LogConfig {
        format: LogFormat::Text,
        level: "error".into(),
    });
    let rt = runtime()?;
    let opts = newsflow::demo::DemoOptions {
        serve,
        repeat,
        listen,
        tagger,
        linked_model: super::linked_model(),
    };
    let report = rt.block_on(async {
        let shutdown = CancellationToken::new();
        spawn_signal_handler(shutdown.clone());
        newsflow::demo::run_demo(&opts, shutdown).await
    });
    rt.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    let report = report?;
    print_demo(&report, repeat);
    Ok(ExitCode::SUCCESS)
}

fn print_demo(report: &newsflow::demo::DemoReport, repeat: usize) {
    if repeat <= 1 {
        for rec in &report.enriched {
            match serde_json::from_str::<serde_json::Value>(rec) {
                Ok(v) => println!(
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_else(|_| rec.clone())
                ),
                Err(_) => println!("{rec}"),
            }
        }
    }
    if repeat <= 1 {
        println!(
            "--- alerts topic (watchlist hits, samples/watchlist.jsonl): {} alert(s)",
            report.alerts.len()
        );
        for a in &report.alerts {
            println!("  {a}");
        }
    }
    println!(
        "--- dead-letter topic: {} record(s)",
        report.dead_letters.len()
    );
    if repeat <= 1 {
        for (kind, message, len) in &report.dead_letters {
            println!("  {kind:<16} {len:>6} bytes  {message}");
        }
    } else {
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for (kind, _, _) in &report.dead_letters {
            *kinds.entry(kind).or_default() += 1;
        }
        for (k, n) in kinds {
            println!("  {k:<16} {n}");
        }
    }
    let n = report.enriched.len() + report.dead_letters.len();
    print!(
        "--- {} enriched, {} dead-lettered, {n} articles in {:.2}s including the consumer-group join",
        report.enriched.len(),
        report.dead_letters.len(),
        report.elapsed.as_secs_f64(),
    );
    if repeat > 1 {
        print!(
            "; {:.0} articles/s from first to last record through the embedded broker",
            (n.saturating_sub(1)) as f64 / report.steady.as_secs_f64().max(1e-9)
        );
    }
    println!();
}
