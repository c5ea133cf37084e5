//! librdkafka client configuration for every client newsflow creates (the service's
//! consumer and producer, `redrive`'s), with one precedence and one error policy.
//!
//! Precedence, lowest first:
//! 1. newsflow's defaults for the role (fetch sizes, batching, idempotence);
//! 2. `kafka.properties`, then the role's own table (`consumer_properties` or
//!    `producer_properties`);
//! 3. secrets read from `kafka.property_files`;
//! 4. the properties newsflow manages: those with a dedicated key (`kafka.brokers`,
//!    `group_id`, `auto_offset_reset`, `fetch_wait_max_ms`, `statistics_interval_ms`) and
//!    those its delivery guarantees rest on (manual offset commits; the transactional id and
//!    `read_committed` in exactly-once mode). Configuration validation refuses them in the
//!    tables ([`crate::config::MANAGED_PROPERTIES`]); here they win regardless.
//!
//! A secret file that cannot be read is an error: the client is not created.

use crate::config::{Config, ConfigError, DeliveryMode};
use crate::telemetry::{Event, Telemetry};
use rdkafka::config::ClientConfig;
use rdkafka::error::KafkaError;
use rdkafka::producer::FutureProducer;
use rdkafka::statistics::Statistics;
use rdkafka::ClientContext;
use std::sync::Arc;
use std::time::Duration;

/// Which client a configuration is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role<'a> {
    /// The service's consumer of the raw topic.
    Consumer,
    /// The service's producer (output, DLQ, alerts).
    Producer,
    /// `redrive`'s consumer of the DLQ, in its own group.
    RedriveConsumer {
        /// The redrive group.
        group: &'a str,
    },
    /// `redrive`'s producer to the raw topic.
    RedriveProducer,
}

impl Role<'_> {
    fn is_consumer(self) -> bool {
        matches!(self, Role::Consumer | Role::RedriveConsumer { .. })
    }
}

/// Room for record and batch framing around the largest accepted message (bytes).
const FETCH_OVERHEAD: usize = 64 * 1024;

/// The librdkafka configuration of one client (see the module doc for the precedence).
pub fn kafka_client_config(config: &Config, role: Role<'_>) -> Result<ClientConfig, ConfigError> {
    let k = &config.kafka;
    let mut c = ClientConfig::new();
    match role {
        Role::Consumer => {
            // Fetch sizes follow `pipeline.max_message_bytes`, so a message the pipeline
            // accepts is also fetched by brokers without KIP-74 (which return nothing when
            // the first record of a partition exceeds the limit, stalling that partition).
            let partition_fetch = (config.pipeline.max_message_bytes + FETCH_OVERHEAD).max(1 << 20);
            let fetch = partition_fetch.max(52_428_800);
            c.set("max.partition.fetch.bytes", partition_fetch.to_string())
                .set("fetch.max.bytes", fetch.to_string())
                .set(
                    "receive.message.max.bytes",
                    (fetch + FETCH_OVERHEAD).max(100_000_000).to_string(),
                );
        }
        Role::Producer => {
            c.set("enable.idempotence", "true")
                .set("acks", "all")
                .set("linger.ms", "5");
        }
        Role::RedriveProducer => {
            c.set("enable.idempotence", "true").set("acks", "all");
        }
        Role::RedriveConsumer { .. } => {}
    }
    let own = if role.is_consumer() {
        &k.consumer_properties
    } else {
        &k.producer_properties
    };
    for (key, v) in k.properties.iter().chain(own) {
        c.set(key, v);
    }
    for (key, v) in config.file_properties()? {
        c.set(key, v);
    }
    for (key, value) in managed_properties(config, role) {
        c.set(key, value);
    }
    Ok(c)
}

/// The properties newsflow manages for a role, set last (precedence 4). Every key is one
/// that configuration validation refuses in the user's tables
/// ([`crate::config::is_managed_property`]); a test holds the two together.
fn managed_properties(config: &Config, role: Role<'_>) -> Vec<(&'static str, String)> {
    let k = &config.kafka;
    let exactly_once = k.delivery == DeliveryMode::ExactlyOnce;
    let mut m = vec![("bootstrap.servers", k.brokers.clone())];
    match role {
        Role::Consumer => {
            m.extend([
                ("group.id", k.group_id.clone()),
                ("auto.offset.reset", k.auto_offset_reset.clone()),
                ("fetch.wait.max.ms", k.fetch_wait_max_ms.to_string()),
                (
                    "statistics.interval.ms",
                    k.statistics_interval_ms.to_string(),
                ),
                ("enable.auto.commit", "false".into()),
                ("enable.auto.offset.store", "false".into()),
                ("enable.partition.eof", "false".into()),
            ]);
            if exactly_once {
                // Inputs produced in transactions: never process aborted or open ones.
                m.push(("isolation.level", "read_committed".into()));
            }
        }
        Role::Producer => {
            m.push((
                "statistics.interval.ms",
                k.statistics_interval_ms.to_string(),
            ));
            if exactly_once {
                if let Some(id) = config.transactional_id() {
                    m.push(("transactional.id", id));
                }
            }
        }
        Role::RedriveConsumer { group } => m.extend([
            ("group.id", group.to_owned()),
            ("enable.auto.commit", "false".into()),
            ("enable.partition.eof", "false".into()),
        ]),
        Role::RedriveProducer => {}
    }
    m
}

/// Client context of the service's producer: logs client errors, reports statistics.
pub struct ProducerClientContext {
    /// Where statistics go.
    pub telemetry: Arc<Telemetry>,
}

impl ClientContext for ProducerClientContext {
    fn stats(&self, stats: Statistics) {
        self.telemetry.emit(client_stats("producer", &stats));
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(error = %error, reason, "kafka producer client error");
    }
}

/// The service's producer.
pub type Producer = FutureProducer<ProducerClientContext>;

/// The request counters and round trip of one client's statistics, as an event (the
/// evidence that injected faults and broker trouble reached the client).
pub fn client_stats(client: &'static str, stats: &Statistics) -> Event<'static> {
    let brokers = stats.brokers.values().filter(|b| b.nodeid >= 0);
    let (mut retries, mut errors, mut timeouts, mut rtt) = (0, 0, 0, 0i64);
    for b in brokers {
        retries += b.txretries;
        errors += b.txerrs + b.rxerrs;
        timeouts += b.req_timeouts;
        rtt = rtt.max(b.rtt.as_ref().map_or(0, |w| w.p99));
    }
    Event::ClientStats {
        client,
        retries,
        errors,
        timeouts,
        rtt_p99: Duration::from_micros(u64::try_from(rtt).unwrap_or(0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        Config::from_toml_with_env(toml, "", std::iter::empty()).unwrap()
    }

    #[test]
    fn role_properties_override_defaults_but_not_guarantees() {
        let c = config(
            r#"
            [kafka]
            group_id = "g"
            delivery = "exactly-once"
            instance_id = "i1"
            [kafka.properties]
            "linger.ms" = "20"
            [kafka.consumer_properties]
            "max.partition.fetch.bytes" = "2000000"
            "#,
        );
        // Validation refuses these keys in the file; even when set past it, they lose.
        let mut c = c;
        for (k, v) in [("enable.auto.commit", "true"), ("group.id", "other")] {
            c.kafka.consumer_properties.insert(k.into(), v.into());
        }
        let consumer = kafka_client_config(&c, Role::Consumer).unwrap();
        assert_eq!(consumer.get("max.partition.fetch.bytes"), Some("2000000"));
        assert_eq!(consumer.get("enable.auto.commit"), Some("false"));
        assert_eq!(consumer.get("group.id"), Some("g"));
        assert_eq!(consumer.get("isolation.level"), Some("read_committed"));
        let producer = kafka_client_config(&c, Role::Producer).unwrap();
        assert_eq!(producer.get("linger.ms"), Some("20"));
        assert_eq!(producer.get("transactional.id"), Some("g-i1"));
        assert_eq!(producer.get("max.partition.fetch.bytes"), None);
        let redrive =
            kafka_client_config(&c, Role::RedriveConsumer { group: "g-redrive" }).unwrap();
        assert_eq!(redrive.get("group.id"), Some("g-redrive"));
        assert_eq!(redrive.get("max.partition.fetch.bytes"), Some("2000000"));
    }

    /// Every property the client configuration forces is one validation refuses in the
    /// user's tables, so a user's value is refused, never silently overridden.
    #[test]
    fn every_forced_property_is_refused_by_validation() {
        for delivery in ["at-least-once", "exactly-once"] {
            let c = config(&format!(
                "[kafka]\ndelivery = \"{delivery}\"\ninstance_id = \"i\"\n"
            ));
            for role in [
                Role::Consumer,
                Role::Producer,
                Role::RedriveConsumer { group: "r" },
                Role::RedriveProducer,
            ] {
                for (key, _) in managed_properties(&c, role) {
                    assert!(
                        crate::config::is_managed_property(key, c.kafka.delivery),
                        "{delivery} {role:?}: {key} is forced but not refused by validation"
                    );
                    let mut user = c.clone();
                    user.kafka.properties.insert(key.into(), "x".into());
                    let e = user.validate().unwrap_err().to_string();
                    assert!(e.contains(key), "{delivery} {role:?} {key}: {e}");
                }
            }
        }
    }

    #[test]
    fn an_unreadable_secret_file_is_an_error_for_every_role() {
        let mut c = config("[kafka]\n");
        c.kafka.property_files.insert(
            "sasl.password".into(),
            "/nonexistent/newsflow-secret".into(),
        );
        for role in [
            Role::Consumer,
            Role::Producer,
            Role::RedriveConsumer { group: "r" },
            Role::RedriveProducer,
        ] {
            let e = kafka_client_config(&c, role).unwrap_err();
            assert!(e.to_string().contains("newsflow-secret"), "{role:?}: {e}");
        }
    }
}
