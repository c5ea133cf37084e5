//! Validation of a parsed configuration: values that parse but cannot work, and the
//! librdkafka properties newsflow manages itself.

use super::{Config, ConfigError, DeliveryMode};

impl Config {
    /// Checks values that parse but cannot work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_topics()?;
        self.check_properties()?;
        self.check_pipeline()?;
        self.check_rest()
    }

    /// Brokers, group and topics: present, and never the service's own output.
    fn check_topics(&self) -> Result<(), ConfigError> {
        let k = &self.kafka;
        for (key, v) in [
            ("kafka.brokers", &k.brokers),
            ("kafka.group_id", &k.group_id),
            ("kafka.input_topic", &k.input_topic),
            ("kafka.output_topic", &k.output_topic),
            ("kafka.dlq_topic", &k.dlq_topic),
        ] {
            if v.trim().is_empty() {
                return Err(invalid(key, "must not be empty"));
            }
        }
        if k.input_topic == k.output_topic || k.input_topic == k.dlq_topic {
            return Err(invalid(
                "kafka.input_topic",
                "must differ from output_topic and dlq_topic (the service would consume its own output)",
            ));
        }
        if k.input_topic == k.alerts_topic {
            return Err(invalid(
                "kafka.alerts_topic",
                "must differ from input_topic (the service would consume its own alerts)",
            ));
        }
        if !matches!(k.auto_offset_reset.as_str(), "earliest" | "latest") {
            return Err(invalid(
                "kafka.auto_offset_reset",
                "must be `earliest` or `latest`",
            ));
        }
        Ok(())
    }

    /// The librdkafka property tables: secret files readable, no key newsflow manages.
    fn check_properties(&self) -> Result<(), ConfigError> {
        let k = &self.kafka;
        for (key, path) in &k.property_files {
            if let Err(e) = std::fs::metadata(path) {
                return Err(invalid(
                    &format!("kafka.property_files.{key}"),
                    &format!("cannot read {path}: {e}"),
                ));
            }
        }
        for (table, props) in [
            ("kafka.properties", &k.properties),
            ("kafka.consumer_properties", &k.consumer_properties),
            ("kafka.producer_properties", &k.producer_properties),
            ("kafka.property_files", &k.property_files),
        ] {
            for key in props.keys() {
                if MANAGED_PROPERTIES.contains(&key.as_str()) {
                    return Err(invalid(
                        &format!("{table}.{key}"),
                        "is managed by newsflow; set the dedicated newsflow key instead",
                    ));
                }
                if k.delivery == DeliveryMode::ExactlyOnce
                    && MANAGED_IN_EXACTLY_ONCE.contains(&key.as_str())
                {
                    return Err(invalid(
                        &format!("{table}.{key}"),
                        "is managed by newsflow in exactly-once mode (see kafka.instance_id)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Pipeline limits, and the instance id exactly-once mode needs.
    fn check_pipeline(&self) -> Result<(), ConfigError> {
        let k = &self.kafka;
        let p = &self.pipeline;
        if p.max_in_flight == 0 {
            return Err(invalid("pipeline.max_in_flight", "must be at least 1"));
        }
        if p.max_message_bytes == 0 {
            return Err(invalid("pipeline.max_message_bytes", "must be at least 1"));
        }
        if p.commit_interval_ms == 0 {
            return Err(invalid("pipeline.commit_interval_ms", "must be at least 1"));
        }
        if p.transaction_max_messages == 0 {
            return Err(invalid(
                "pipeline.transaction_max_messages",
                "must be at least 1",
            ));
        }
        if p.transaction_max_ms == 0 {
            return Err(invalid("pipeline.transaction_max_ms", "must be at least 1"));
        }
        if k.delivery == DeliveryMode::ExactlyOnce && self.transactional_id().is_none() {
            return Err(invalid(
                "kafka.instance_id",
                "exactly-once mode needs an instance id stable across restarts (set it, or $HOSTNAME)",
            ));
        }
        Ok(())
    }

    /// Workers, duplicate flagging and the HTTP address.
    fn check_rest(&self) -> Result<(), ConfigError> {
        let p = &self.pipeline;
        if p.workers > 1024 {
            return Err(invalid("pipeline.workers", "must be at most 1024"));
        }
        if self.dedup.max_distance > 15 {
            return Err(invalid("dedup.max_distance", "must be at most 15"));
        }
        if self.dedup.window == 0 {
            return Err(invalid("dedup.window", "must be at least 1"));
        }
        if !self.http.listen.is_empty() && self.http.listen.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(invalid(
                "http.listen",
                "must be an `IP:PORT` socket address (or empty to disable)",
            ));
        }
        Ok(())
    }
}

fn invalid(key: &str, message: &str) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        message: message.into(),
    }
}

/// librdkafka properties that newsflow sets itself, from dedicated keys or because its
/// delivery guarantees rest on them: refused in the user's property tables.
pub const MANAGED_PROPERTIES: &[&str] = &[
    "bootstrap.servers",
    "group.id",
    "enable.auto.commit",
    "enable.auto.offset.store",
    "enable.partition.eof",
    "auto.offset.reset",
    "fetch.wait.max.ms",
    "statistics.interval.ms",
];

/// Properties newsflow also manages in exactly-once mode (transactions and fencing).
pub const MANAGED_IN_EXACTLY_ONCE: &[&str] =
    &["transactional.id", "isolation.level", "enable.idempotence"];

/// Whether newsflow manages `key` in this delivery mode (the client configuration sets
/// it last; validation refuses it in the user's tables).
pub fn is_managed_property(key: &str, delivery: DeliveryMode) -> bool {
    MANAGED_PROPERTIES.contains(&key)
        || (delivery == DeliveryMode::ExactlyOnce && MANAGED_IN_EXACTLY_ONCE.contains(&key))
}

/// Whether a librdkafka property holds a secret that must never be printed.
pub fn is_secret_property(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.contains("password") || k.contains("secret") || k.ends_with(".key.pem") || k.contains("token")
}
