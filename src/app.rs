//! Wiring, written once: a [`Config`] turned into the core's [`Context`] and into a running
//! service (telemetry, HTTP endpoints, the Kafka runtime). `newsflow run`, the demo and the
//! tests start the service through [`App`]; `process` and `check-config` build the context
//! through [`build_context`].

use crate::config::Config;
use crate::core::tag::Tier;
use crate::core::{Context, ContextError, ContextSettings, DedupSettings};
use crate::models::{self, LinkedModel, Located, ModelNotFound};
use crate::telemetry::{self, Telemetry};
use anyhow::Context as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Why the core's context could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The accurate tier's model is nowhere it was looked for.
    #[error(transparent)]
    Model(#[from] ModelNotFound),
    /// The tagger or the watchlists did not load.
    #[error(transparent)]
    Context(#[from] ContextError),
}

/// The core's settings, as configured (`[tagger]`, `[pipeline]`, `[dedup]`, `[watchlists]`),
/// with the accurate model where it was found.
pub fn context_settings<'a>(config: &'a Config, model: Option<&'a Located>) -> ContextSettings<'a> {
    let d = &config.dedup;
    ContextSettings {
        tier: config.tagger.mode,
        accurate_model: model.map(Located::source),
        max_message_bytes: config.pipeline.max_message_bytes,
        dedup: d.enabled.then_some(DedupSettings {
            window: d.window,
            max_distance: d.max_distance,
        }),
        watchlist_files: &config.watchlists.files,
    }
}

/// Finds the accurate tier's model for `config` ([`models::locate`]; `linked` is the copy
/// in the binary, if any); `None` for the fast tier, which needs none.
pub fn locate_model(
    config: &Config,
    linked: Option<LinkedModel>,
) -> Result<Option<Located>, ModelNotFound> {
    match config.tagger.mode {
        Tier::Fast => Ok(None),
        Tier::Accurate => {
            let configured = config.tagger.accurate_model.as_deref().map(Path::new);
            models::locate(configured, linked).map(Some)
        }
    }
}

/// The core's context for a service or `process` run: the tagger tier loaded (the accurate
/// model found as [`locate_model`] says), the watchlists read.
pub fn build_context(config: &Config, linked: Option<LinkedModel>) -> Result<Context, BuildError> {
    let model = locate_model(config, linked)?;
    if let Some(m) = &model {
        tracing::info!(model = %m, "accurate tier model");
    }
    Ok(Context::new(&context_settings(config, model.as_ref()))?)
}

/// A running service: the Kafka runtime in a task of its own, its telemetry, and the token
/// that stops it.
pub struct App {
    /// The service's metrics and health.
    pub telemetry: Arc<Telemetry>,
    /// Cancelling it starts the graceful shutdown.
    pub stop: CancellationToken,
    /// The service task: `Err` when the service failed.
    pub task: JoinHandle<anyhow::Result<()>>,
    /// Where the HTTP endpoints listen, when `http.listen` is set.
    pub endpoints: Option<SocketAddr>,
}

impl App {
    /// Binds the HTTP endpoints (where `http.listen` is set) and starts the service. Runs
    /// inside a tokio runtime; the endpoints stop when the service does.
    pub async fn start(config: Config, ctx: Arc<Context>) -> anyhow::Result<App> {
        let telemetry = Arc::new(Telemetry::new());
        let http_stop = CancellationToken::new();
        let endpoints = if config.http.listen.is_empty() {
            None
        } else {
            let addr: SocketAddr = config
                .http
                .listen
                .parse()
                .with_context(|| format!("parsing http.listen `{}`", config.http.listen))?;
            let (bound, _) = telemetry::http::serve(addr, telemetry.clone(), http_stop.clone())
                .await
                .with_context(|| format!("binding the HTTP endpoints on {addr}"))?;
            tracing::info!(%bound, "endpoints listening");
            Some(bound)
        };
        Ok(App::launch(
            config,
            ctx,
            telemetry,
            endpoints,
            Some(http_stop),
        ))
    }

    /// Starts the service without HTTP endpoints (whatever `http.listen` says), with the
    /// given telemetry. Runs inside a tokio runtime.
    pub fn spawn(config: Config, ctx: Arc<Context>, telemetry: Arc<Telemetry>) -> App {
        App::launch(config, ctx, telemetry, None, None)
    }

    fn launch(
        config: Config,
        ctx: Arc<Context>,
        telemetry: Arc<Telemetry>,
        endpoints: Option<SocketAddr>,
        http_stop: Option<CancellationToken>,
    ) -> App {
        let stop = CancellationToken::new();
        let task = {
            let telemetry = telemetry.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let result = crate::runtime::run(&config, ctx, telemetry, stop).await;
                if let Some(http) = http_stop {
                    http.cancel();
                }
                result
            })
        };
        App {
            telemetry,
            stop,
            task,
            endpoints,
        }
    }

    /// Waits for the service to end (after [`App::stop`] is cancelled, or a fatal error).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task
            .await
            .unwrap_or_else(|e| Err(anyhow::anyhow!("the service task failed: {e}")))
    }
}
