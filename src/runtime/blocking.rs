//! Running blocking librdkafka calls without stalling the async runtime.

use std::time::Duration;

/// Runs a blocking closure on the current thread, telling tokio to move its other tasks
/// elsewhere meanwhile when on a multi-thread runtime.
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Runs a blocking librdkafka call on a thread of its own and waits for it at most `timeout`;
/// `None` if it is still running then (the thread is left to finish, or to end with the
/// process).
///
/// librdkafka can block without end when the group coordinator stops answering: a
/// synchronous commit, and the close that dropping a consumer performs, retry the coordinator
/// look-up forever (confluentinc/librdkafka#3740). Such a call must hold up neither the
/// service's shutdown nor the tokio runtime's, which waits for every task of its blocking
/// pool; hence a plain thread rather than `spawn_blocking`.
pub async fn off_thread<R: Send + 'static>(
    name: &str,
    timeout: Duration,
    f: impl FnOnce() -> R + Send + 'static,
) -> Option<R> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name(name.to_string())
        .spawn(move || {
            let _ = tx.send(f());
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, thread = name, "cannot start a thread for a Kafka call");
        return None;
    }
    match tokio::time::timeout(timeout, rx).await {
        Ok(Ok(r)) => Some(r),
        _ => None,
    }
}
