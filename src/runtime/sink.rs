//! The producer side: enriched records to the output topic, rejects to the DLQ, retries of
//! transient failures, and marking offsets done only after the broker acknowledged.

use super::clients::Producer;
use super::delivery::{AfterSendError, Delivery};
use crate::core::{Enriched, Reject, RejectKind};
use crate::telemetry::Event;
use crate::wire::headers;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, Headers, OwnedHeaders};
use rdkafka::producer::{FutureRecord, Producer as _};
use rdkafka::types::RDKafkaErrorCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_util::sync::CancellationToken;

/// One consumed message on its way through the pipeline.
pub struct Job {
    /// Original payload (sent unchanged to the DLQ on reject).
    pub payload: Vec<u8>,
    /// Original key.
    pub key: Option<Vec<u8>>,
    /// Original headers.
    pub headers: Option<OwnedHeaders>,
    /// Source partition/offset and the tracker epoch.
    pub ticket: super::offsets::Ticket,
    /// Input timestamp (ms since epoch), for end-to-end latency.
    pub timestamp_ms: Option<i64>,
    /// In-flight slot (the bound on consumed, unfinished messages), released when the job
    /// is done.
    pub permit: tokio::sync::OwnedSemaphorePermit,
    /// The message's tracing span.
    pub span: tracing::Span,
}

/// Produces results and completes offsets.
pub struct Sink {
    /// The producer (idempotent; transactional in exactly-once mode).
    pub producer: Arc<Producer>,
    /// The delivery mode (what a failed send does, when an offset is done).
    pub delivery: Arc<Delivery>,
    /// Output topic.
    pub output_topic: String,
    /// DLQ topic.
    pub dlq_topic: String,
    /// Watchlist alerts topic, if configured.
    pub alerts_topic: Option<String>,
    /// Wait between retries.
    pub retry_backoff: Duration,
    /// Cancelled when the shutdown begins: queued jobs not yet started are released (read
    /// again after the restart, by this instance or the partition's next owner) instead of
    /// keeping the partitions from their next owner while they are processed.
    pub stopping: CancellationToken,
    /// Cancelled when the shutdown deadline passed: retry loops give up (offsets stay
    /// uncommitted, so the messages are re-read later).
    pub abort: CancellationToken,
    /// Cancelled on a fatal producer error: the service stops and exits non-zero.
    pub fatal: CancellationToken,
}

/// Whether the broker or librdkafka refused the record itself (retrying cannot help).
fn is_rejection(e: &KafkaError) -> bool {
    matches!(
        e.rdkafka_error_code(),
        Some(
            RDKafkaErrorCode::MessageSizeTooLarge
                | RDKafkaErrorCode::InvalidMessageSize
                | RDKafkaErrorCode::MessageBatchTooLarge
                | RDKafkaErrorCode::InvalidMessage
                | RDKafkaErrorCode::InvalidRecord
                | RDKafkaErrorCode::PolicyViolation
        )
    )
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

enum Outcome {
    Delivered,
    Rejected(KafkaError),
    Aborted,
}

impl Sink {
    fn telemetry(&self) -> &crate::telemetry::Telemetry {
        &self.delivery.progress().telemetry
    }

    /// Why a queued job should not be processed, if so: its partition was revoked since it
    /// was consumed (the next owner reads it again), or the service is stopping.
    pub fn unwanted(&self, job: &Job) -> Option<&'static str> {
        if self.stopping.is_cancelled() {
            Some("the service is stopping")
        } else if !self.delivery.progress().is_current(job.ticket) {
            Some("its partition was revoked")
        } else {
            None
        }
    }

    /// Gives a job up unprocessed: its offset stays pending (uncommitted) and its in-flight
    /// slot is freed.
    pub fn release(&self, job: Job, why: &'static str) {
        tracing::debug!(parent: &job.span, why, "released unprocessed");
        self.delivery.finished(job.ticket, false);
    }

    /// Delivers the result of one job and completes its offset on acknowledgement.
    pub async fn finish(self: Arc<Self>, job: Job, result: Result<Enriched, Reject>) {
        let t = &job.ticket;
        let refused_before = self.delivery.refused_before(t.partition, t.offset);
        let delivered = match result {
            Ok(_) if refused_before.is_some() => {
                // An earlier attempt (in an aborted transaction) was refused by the output
                // topic: dead-letter it straight away.
                let reject = Reject::new(
                    RejectKind::OutputRejected,
                    refused_before.unwrap_or_default(),
                );
                tracing::warn!(parent: &job.span, error = %reject, "enriched record refused before; dead-lettering the input");
                self.dead_letter(&job, &reject).await
            }
            Ok(enriched) => {
                let headers = self.with_txn(output_headers(job.headers.as_ref()));
                let output = self.send(
                    &self.output_topic,
                    &enriched.key,
                    &enriched.payload,
                    &headers,
                    "output",
                    &job.span,
                );
                let (outcome, alert_sent) = tokio::join!(output, self.alert(&job, &enriched));
                match outcome {
                    Outcome::Delivered if !alert_sent => false,
                    Outcome::Delivered => {
                        let e2e = job.timestamp_ms.and_then(|ts| {
                            u64::try_from(now_ms() - ts).ok().map(Duration::from_millis)
                        });
                        self.telemetry().emit(Event::Produced { end_to_end: e2e });
                        true
                    }
                    Outcome::Rejected(e) => {
                        let reject = Reject::new(
                            RejectKind::OutputRejected,
                            format!(
                                "output topic refused the enriched record ({} bytes): {e}",
                                enriched.payload.len()
                            ),
                        );
                        tracing::warn!(parent: &job.span, error = %reject, "enriched record refused; dead-lettering the input");
                        self.delivery
                            .note_refused(t.partition, t.offset, reject.message.clone());
                        self.dead_letter(&job, &reject).await
                    }
                    Outcome::Aborted => false,
                }
            }
            Err(reject) => {
                tracing::warn!(parent: &job.span, kind = %reject.kind, error = %reject.message, "message dead-lettered");
                self.dead_letter(&job, &reject).await
            }
        };
        self.delivery.finished(*t, delivered);
        drop(job.permit);
    }

    /// Sends the article's watchlist alert, if it has one and alerts are configured, in
    /// the same delivery mode as the output; false when it was not delivered and the
    /// offset must stay uncommitted. An alert the topic refuses outright is logged and
    /// counted, and the output (which holds the same hits) still goes through.
    async fn alert(&self, job: &Job, enriched: &Enriched) -> bool {
        let (Some(topic), Some(alert)) = (&self.alerts_topic, &enriched.alert) else {
            return true;
        };
        let headers = self.with_txn(output_headers(job.headers.as_ref()));
        match self
            .send(topic, &enriched.key, alert, &headers, "alert", &job.span)
            .await
        {
            Outcome::Delivered => {
                self.telemetry().emit(Event::AlertSent);
                true
            }
            Outcome::Rejected(e) => {
                self.telemetry().emit(Event::AlertRefused);
                tracing::error!(parent: &job.span, to = %topic, error = %e, bytes = alert.len(), "alerts topic refused the alert; the enriched record still carries the hits");
                true
            }
            Outcome::Aborted => false,
        }
    }

    /// Adds the open transaction's id (exactly-once mode).
    fn with_txn(&self, h: OwnedHeaders) -> OwnedHeaders {
        match self.delivery.transaction_id() {
            Some(id) => h.insert(Header {
                key: headers::TRANSACTION,
                value: Some(&id),
            }),
            None => h,
        }
    }

    async fn dead_letter(&self, job: &Job, reject: &Reject) -> bool {
        let t = &job.ticket;
        let key = job.key.as_deref().unwrap_or(&[]);
        let headers_with = |omitted: Option<&str>| {
            self.with_txn(dlq_headers(
                job.headers.as_ref(),
                reject,
                &self.delivery.progress().input_topic,
                t.partition,
                t.offset,
                omitted,
            ))
        };
        let headers = headers_with(None);
        let outcome = match self
            .send(
                &self.dlq_topic,
                key,
                &job.payload,
                &headers,
                "dlq",
                &job.span,
            )
            .await
        {
            Outcome::Rejected(e) => {
                // The DLQ topic refuses the original bytes (too large): keep the record with
                // its provenance so the input can still be found on the raw topic.
                let note = format!(
                    "original payload of {} bytes refused by the DLQ topic ({e}); fetch it from {}/{}/{}",
                    job.payload.len(),
                    self.delivery.progress().input_topic,
                    t.partition,
                    t.offset
                );
                tracing::error!(parent: &job.span, "{note}");
                let headers = headers_with(Some(&note));
                self.send(&self.dlq_topic, key, &[], &headers, "dlq", &job.span)
                    .await
            }
            other => other,
        };
        match outcome {
            Outcome::Delivered => {
                self.telemetry()
                    .emit(Event::DeadLettered { kind: reject.kind });
                true
            }
            Outcome::Rejected(e) => {
                tracing::error!(parent: &job.span, error = %e, "DLQ refused even the payload-less record; offset not committed");
                false
            }
            Outcome::Aborted => false,
        }
    }

    /// Sends until acknowledged, refused, or aborted; transient errors are retried.
    async fn send(
        &self,
        topic: &str,
        key: &[u8],
        payload: &[u8],
        headers: &OwnedHeaders,
        target: &'static str,
        span: &tracing::Span,
    ) -> Outcome {
        let mut attempt = 0u32;
        loop {
            let record = FutureRecord::to(topic)
                .key(key)
                .payload(payload)
                .headers(headers.clone());
            let result = tokio::select! {
                r = self.producer.send(record, rdkafka::util::Timeout::Never) => r,
                () = self.abort.cancelled() => return Outcome::Aborted,
            };
            match result {
                Ok(_) => return Outcome::Delivered,
                Err((e, _)) if is_rejection(&e) => return Outcome::Rejected(e),
                Err((e, _)) => {
                    if let Some((code, reason)) = self.producer.client().fatal_error() {
                        tracing::error!(parent: span, error = %code, reason, "fatal producer error; stopping");
                        self.fatal.cancel();
                        return Outcome::Aborted;
                    }
                    if self.delivery.after_send_error() == AfterSendError::Abort {
                        // The batch is re-processed after the transaction's rewind.
                        tracing::warn!(parent: span, to = topic, error = %e, "produce failed in a transaction; it will be aborted");
                        return Outcome::Aborted;
                    }
                    attempt += 1;
                    self.telemetry().emit(Event::ProduceRetry { target });
                    tracing::warn!(parent: span, to = topic, attempt, error = %e, "produce failed; retrying");
                    tokio::select! {
                        () = tokio::time::sleep(self.retry_backoff) => {}
                        () = self.abort.cancelled() => return Outcome::Aborted,
                    }
                }
            }
        }
    }
}

fn copy_headers(from: Option<&OwnedHeaders>, skip: &[&str]) -> OwnedHeaders {
    let mut out = OwnedHeaders::new();
    if let Some(h) = from {
        for header in h.iter() {
            if skip.iter().any(|s| header.key.eq_ignore_ascii_case(s)) {
                continue;
            }
            out = out.insert(Header {
                key: header.key,
                value: header.value,
            });
        }
    }
    out
}

/// Input headers plus `content-type` and the schema version.
pub fn output_headers(input: Option<&OwnedHeaders>) -> OwnedHeaders {
    let version = crate::wire::SCHEMA_VERSION.to_string();
    copy_headers(
        input,
        &[
            headers::CONTENT_TYPE,
            headers::SCHEMA_VERSION,
            headers::TRANSACTION,
        ],
    )
    .insert(Header {
        key: headers::CONTENT_TYPE,
        value: Some("application/json"),
    })
    .insert(Header {
        key: headers::SCHEMA_VERSION,
        value: Some(&version),
    })
}

/// Input headers plus the error and provenance headers of a DLQ record.
pub fn dlq_headers(
    input: Option<&OwnedHeaders>,
    reject: &Reject,
    topic: &str,
    partition: i32,
    offset: i64,
    payload_omitted: Option<&str>,
) -> OwnedHeaders {
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let (partition, offset) = (partition.to_string(), offset.to_string());
    let mut h = copy_headers(
        input,
        &[
            headers::ERROR_KIND,
            headers::ERROR_MESSAGE,
            headers::SOURCE_TOPIC,
            headers::SOURCE_PARTITION,
            headers::SOURCE_OFFSET,
            headers::DLQ_TIME,
            headers::VERSION,
            headers::PAYLOAD_OMITTED,
            headers::TRANSACTION,
        ],
    );
    for (key, value) in [
        (headers::ERROR_KIND, reject.kind.as_str()),
        (headers::ERROR_MESSAGE, reject.message.as_str()),
        (headers::SOURCE_TOPIC, topic),
        (headers::SOURCE_PARTITION, &partition),
        (headers::SOURCE_OFFSET, &offset),
        (headers::DLQ_TIME, &time),
        (headers::VERSION, crate::VERSION),
    ] {
        h = h.insert(Header {
            key,
            value: Some(value),
        });
    }
    if let Some(note) = payload_omitted {
        h = h.insert(Header {
            key: headers::PAYLOAD_OMITTED,
            value: Some(note),
        });
    }
    h
}
