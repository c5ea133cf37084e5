//! `newsflow run`: the service — consume the raw topic, enrich, produce to the output
//! topic and DLQ, with the HTTP endpoints up, until SIGTERM or SIGINT.

use super::{log_tagger, runtime, spawn_signal_handler, RUNTIME_SHUTDOWN_TIMEOUT};
use newsflow::app::{self, App};
use newsflow::config::Config;
use newsflow::telemetry;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Configuration file (TOML). Environment overrides NEWSFLOW_SECTION__KEY apply.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    telemetry::logging::init(&config.log);
    let ctx = Arc::new(app::build_context(&config, super::linked_model())?);
    log_tagger(ctx.tagger.as_ref());
    let rt = runtime()?;
    let result = rt.block_on(async move {
        let app = App::start(config, ctx).await?;
        spawn_signal_handler(app.stop.clone());
        app.wait().await
    });
    // A thread still inside a librdkafka call (brokers gone) must not keep the
    // process from exiting.
    rt.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    result?;
    Ok(ExitCode::SUCCESS)
}
