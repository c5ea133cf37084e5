//! `newsflow run`: the service — consume the raw topic, enrich, produce to the output
//! topic and DLQ, with the HTTP endpoints up, until SIGTERM or SIGINT.

use super::{log_tagger, runtime, spawn_signal_handler, RUNTIME_SHUTDOWN_TIMEOUT};
use anyhow::Context as _;
use newsflow::config::Config;
use newsflow::core::Context;
use newsflow::telemetry::{self, Telemetry};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Configuration file (TOML). Environment overrides NEWSFLOW_SECTION__KEY apply.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = Config::load(args.config.as_deref())?;
    telemetry::logging::init(&config.log);
    let ctx = Arc::new(Context::for_config(&config)?);
    log_tagger(ctx.tagger.as_ref());
    let rt = runtime()?;
    let result = rt.block_on(async move {
        let telemetry = Arc::new(Telemetry::new());
        let shutdown = CancellationToken::new();
        spawn_signal_handler(shutdown.clone());
        let http_stop = CancellationToken::new();
        if !config.http.listen.is_empty() {
            let addr = config.http.listen.parse()?;
            let (bound, _) = telemetry::http::serve(addr, telemetry.clone(), http_stop.clone())
                .await
                .with_context(|| format!("binding the HTTP endpoints on {addr}"))?;
            tracing::info!(%bound, "endpoints listening");
        }
        let result = newsflow::runtime::run(&config, ctx, telemetry, shutdown).await;
        http_stop.cancel();
        result
    });
    // A thread still inside a librdkafka call (brokers gone) must not keep the
    // process from exiting.
    rt.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
    result?;
    Ok(ExitCode::SUCCESS)
}
