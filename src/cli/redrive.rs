//! `newsflow redrive`: move dead-lettered records back to the raw topic after a fix and
//! print how many of each error kind were (or, with `--dry-run`, would be) re-driven.

use super::runtime;
use newsflow::config::{Config, LogConfig, LogFormat};
use newsflow::telemetry;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Configuration file (TOML): brokers, topics, group id, security.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    config: Option<PathBuf>,
    /// Only records with this error kind (repeatable); default: all kinds.
    #[arg(long = "kind")]
    kinds: Vec<String>,
    /// Count what would be re-driven; produce and commit nothing.
    #[arg(long)]
    dry_run: bool,
    /// Stop after re-driving this many records.
    #[arg(long)]
    max: Option<usize>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        config,
        kinds,
        dry_run,
        max,
    } = args;
    let config = Config::load(config.as_deref())?;
    telemetry::logging::init(&LogConfig {
        format: LogFormat::Text,
        level: "warn".into(),
    });
    let opts = newsflow::redrive::RedriveOptions {
        kinds,
        dry_run,
        max,
    };
    let group = newsflow::redrive::group_for(&config, &opts.kinds);
    let report = runtime()?.block_on(newsflow::redrive::redrive(&config, &opts))?;
    let verb = if dry_run {
        "would re-drive"
    } else {
        "re-drove"
    };
    let total: usize = report.redriven.values().sum();
    println!(
        "{verb} {total} record(s) from {} to {} (group {group})",
        config.kafka.dlq_topic, config.kafka.input_topic
    );
    for (kind, n) in &report.redriven {
        println!("  {kind:<16} {n}");
    }
    let skipped: usize = report.skipped.values().sum();
    if skipped > 0 {
        println!("skipped {skipped} record(s) of other kinds");
    }
    if report.omitted > 0 {
        println!(
            "{} record(s) had their payload omitted from the DLQ and cannot be re-driven",
            report.omitted
        );
    }
    Ok(ExitCode::SUCCESS)
}
