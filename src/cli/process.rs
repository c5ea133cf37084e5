//! `newsflow process`: enrich files (JSON lines, JSON, plain text or HTML) into a
//! JSON-lines file, rejects beside it, without Kafka.

use newsflow::config::Config;
use newsflow::core::tag::Tier;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Input file or directory.
    #[arg(long)]
    input: PathBuf,
    /// Output JSON-lines file; rejects go to OUTPUT.rejects.jsonl.
    #[arg(long)]
    output: PathBuf,
    /// Configuration file (TOML); `process` uses its `[pipeline]` and `[dedup]` settings
    /// (size limit, dedup window). Defaults and env overrides without it.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    config: Option<PathBuf>,
    /// Entity-tagging tier, overriding `[tagger] mode`.
    #[arg(long, value_enum)]
    tagger: Option<Tier>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        input,
        output,
        config,
        tagger,
    } = args;
    let mut config = Config::load(config.as_deref())?;
    if let Some(t) = tagger {
        config.tagger.mode = t;
    }
    let ctx = newsflow::app::build_context(&config)?;
    let started = std::time::Instant::now();
    let s = newsflow::process::process_path(&input, &output, &ctx)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} files, {} enriched, {} rejected ({}) in {:.2}s ({:.0} records/s)",
        s.files,
        s.enriched,
        s.rejected,
        newsflow::process::rejects_path(&output).display(),
        secs,
        (s.enriched + s.rejected) as f64 / secs.max(1e-9)
    );
    Ok(ExitCode::SUCCESS)
}
