//! The subcommands, one module each, and what several of them share: the async runtime,
//! the shutdown-signal handler and the tagger log line.

pub(crate) mod check_config;
pub(crate) mod demo;
pub(crate) mod ner_eval;
pub(crate) mod process;
pub(crate) mod redrive;
pub(crate) mod run;
pub(crate) mod silver;
pub(crate) mod train_ner;

use anyhow::Context as _;
use newsflow::models::LinkedModel;
use tokio_util::sync::CancellationToken;

/// The accurate tier's model file linked into this binary (cargo feature
/// `embedded-model`): one `static`, so the 39 MB are in the binary once.
#[cfg(feature = "embedded-model")]
static LINKED_MODEL_BYTES: &[u8] = include_bytes!("../../models/ner-accurate.bin");

/// The accurate tier's model linked into this binary, if it was built with one: the last
/// place the model is looked for, so an installed binary runs from any directory.
pub(crate) fn linked_model() -> Option<LinkedModel> {
    #[cfg(feature = "embedded-model")]
    {
        Some(LinkedModel {
            bytes: LINKED_MODEL_BYTES,
            origin: "the model linked into this binary",
        })
    }
    #[cfg(not(feature = "embedded-model"))]
    {
        None
    }
}

/// Bound on waiting for the async runtime's remaining tasks when the process exits.
pub(crate) const RUNTIME_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("newsflow-io")
        .build()
        .context("starting the async runtime")
}

/// The accurate tier's model: `explicit` (a `--model` flag) where given, else the first
/// found of the default places or the linked copy (`newsflow::models`).
pub(crate) fn accurate_model(
    explicit: Option<&std::path::Path>,
) -> Result<newsflow::models::Located, newsflow::models::ModelNotFound> {
    newsflow::models::locate(explicit, linked_model())
}

/// Cancels the token on SIGTERM or SIGINT.
pub(crate) fn spawn_signal_handler(token: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot install signal handlers");
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        token.cancel();
    });
}

/// Logs the loaded tagger tier and how it computes; warns when the accurate tier has no
/// AVX-512 VNNI kernel on this CPU (it then runs at a fraction of its speed).
pub(crate) fn log_tagger(tagger: &dyn newsflow::core::tag::Tagger) {
    use newsflow::core::tag::Kernel;
    let (tier, kernel) = (tagger.tier(), tagger.kernel());
    if matches!(kernel, Kernel::F32 | Kernel::Int8Avx2) {
        tracing::warn!(
            %tier,
            %kernel,
            "the accurate tier runs without AVX-512 VNNI (this CPU or NEWSFLOW_ENCODER_KERNEL): \
             a fraction of its speed; size the workers for it or set [tagger] mode = \"fast\""
        );
    } else {
        tracing::info!(%tier, %kernel, "entity tagger loaded");
    }
}
