//! librdkafka's mock cluster with the parts the rdkafka crate does not wrap: per-broker
//! error stacks (whose remaining count shows whether an injected fault fired) and request
//! tracking (which broker received which request).
//!
//! A fault test makes its evidence unambiguous by placing the clients apart: the raw
//! topic's partitions on broker 1, the output and DLQ topics' on broker 2. Errors pushed on
//! broker 2's Produce stack can then only reach the service's producer, and errors on broker
//! 1's Fetch stack only the service's consumer (the tests' own producer and reader talk to
//! the other broker for those requests).

use rdkafka::bindings as rd;
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseProducer, DefaultProducerContext, Producer};
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use std::collections::HashMap;
use std::sync::Mutex;

/// A mock cluster owned by an idle client.
pub struct Mock {
    client: BaseProducer,
    raw: *mut rd::rd_kafka_mock_cluster_t,
    /// Errors pushed per (broker, API).
    pushed: Mutex<HashMap<(i32, i16), usize>>,
}

impl Mock {
    /// A cluster of `brokers` brokers (ids 1..=brokers).
    pub fn new(brokers: i32) -> Mock {
        let client: BaseProducer = ClientConfig::new()
            .set("test.mock.num.brokers", brokers.to_string())
            .create()
            .expect("mock cluster client");
        // SAFETY: the handle is valid while `client` lives, and `Mock` owns `client`.
        let raw = unsafe { rd::rd_kafka_handle_mock_cluster(client.client().native_ptr()) };
        assert!(!raw.is_null(), "the client has no mock cluster");
        Mock {
            client,
            raw,
            pushed: Mutex::new(HashMap::new()),
        }
    }

    /// The rdkafka wrapper, for what it does wrap.
    pub fn cluster(&self) -> MockCluster<'_, DefaultProducerContext> {
        self.client.client().mock_cluster().expect("mock cluster")
    }

    pub fn bootstrap_servers(&self) -> String {
        self.cluster().bootstrap_servers()
    }

    /// Pushes errors that broker `broker` returns, in order, to its next `api` requests.
    pub fn push_errors(&self, broker: i32, api: RDKafkaApiKey, errors: &[RDKafkaRespErr]) {
        let answers: Vec<(RDKafkaRespErr, i32)> = errors.iter().map(|&e| (e, 0)).collect();
        self.push_answers(broker, api, &answers);
    }

    /// Pushes (error, round-trip ms) pairs for broker `broker`'s next `api` requests. With
    /// `NO_ERROR` the broker handles the request as usual and holds the response for the
    /// round trip: the request takes effect, its answer comes late.
    pub fn push_answers(&self, broker: i32, api: RDKafkaApiKey, answers: &[(RDKafkaRespErr, i32)]) {
        for &(e, rtt) in answers {
            // SAFETY: `raw` is valid (see `new`); the variadic part is one (error, rtt) pair,
            // both promoted to C int.
            let r = unsafe {
                rd::rd_kafka_mock_broker_push_request_error_rtts(
                    self.raw,
                    broker,
                    api as i16,
                    1,
                    e as std::os::raw::c_int,
                    rtt as std::os::raw::c_int,
                )
            };
            assert_eq!(r, RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR, "push error");
        }
        *self
            .pushed
            .lock()
            .unwrap()
            .entry((broker, api as i16))
            .or_default() += answers.len();
    }

    /// Errors pushed so far on broker `broker`'s stack for `api`.
    pub fn errors_pushed(&self, broker: i32, api: RDKafkaApiKey) -> usize {
        let pushed = self.pushed.lock().unwrap();
        pushed.get(&(broker, api as i16)).copied().unwrap_or(0)
    }

    /// Errors still waiting on broker `broker`'s stack for `api` (0: all were returned).
    pub fn errors_left(&self, broker: i32, api: RDKafkaApiKey) -> usize {
        let mut n = 0usize;
        // SAFETY: `raw` is valid; `n` outlives the call.
        let r = unsafe {
            rd::rd_kafka_mock_broker_error_stack_cnt(self.raw, broker, api as i16, &mut n)
        };
        assert_eq!(
            r,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NO_ERROR,
            "error stack count"
        );
        n
    }

    /// Starts recording which broker receives which request.
    pub fn track_requests(&self) {
        // SAFETY: `raw` is valid.
        unsafe { rd::rd_kafka_mock_start_request_tracking(self.raw) }
    }

    /// The requests recorded since tracking started or the last call, as (broker, API),
    /// and clears them.
    pub fn take_requests(&self) -> Vec<(i32, i16)> {
        let mut n = 0usize;
        // SAFETY: `raw` is valid; the returned array holds `n` requests that we destroy
        // (with the array) after reading them.
        unsafe {
            let reqs = rd::rd_kafka_mock_get_requests(self.raw, &mut n);
            let mut out = Vec::with_capacity(n);
            if !reqs.is_null() {
                for i in 0..n {
                    let r = *reqs.add(i);
                    out.push((
                        rd::rd_kafka_mock_request_id(r),
                        rd::rd_kafka_mock_request_api_key(r),
                    ));
                }
                rd::rd_kafka_mock_request_destroy_array(reqs, n);
            }
            rd::rd_kafka_mock_clear_requests(self.raw);
            out
        }
    }
}
