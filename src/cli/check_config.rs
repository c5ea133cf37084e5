//! `newsflow check-config`: validate a configuration file (including that its tagger and
//! watchlists load) and print the effective configuration with secrets redacted.

use anyhow::Context as _;
use newsflow::config::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Configuration file (TOML).
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    config: PathBuf,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = args.config;
    let c = Config::load(Some(&config))?;
    let t0 = std::time::Instant::now();
    let model = newsflow::app::locate_model(&c, super::linked_model())?;
    newsflow::core::tag::load(c.tagger.mode, model.as_ref().map(|m| m.source()))
        .with_context(|| format!("tagger mode {}", c.tagger.mode))?;
    if let Some(m) = &model {
        println!("# accurate model: {m}");
    }
    let lists = newsflow::core::watchlist::Watchlists::from_files(&c.watchlists.files)?;
    for l in lists.lists() {
        println!("# watchlist {} ({}): {} entries", l.name, l.path, l.entries);
    }
    println!(
        "# tagger {} loads ({:.0} ms)",
        c.tagger.mode,
        t0.elapsed().as_secs_f64() * 1e3
    );
    println!("# {} is valid; effective configuration:", config.display());
    print!("{}", c.to_redacted_toml());
    Ok(ExitCode::SUCCESS)
}
