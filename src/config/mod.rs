//! Typed service configuration: one TOML file, `NEWSFLOW_SECTION__KEY` environment
//! overrides, and validation that rejects unknown keys and impossible values.
//!
//! Every key is documented in `config/newsflow.toml`, which is also the default file.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

mod env;
mod validate;

use env::{parse_env_value, set_path};
pub use validate::{
    is_managed_property, is_secret_property, MANAGED_IN_EXACTLY_ONCE, MANAGED_PROPERTIES,
};

/// Errors raised while loading or validating configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// Path of the file.
        path: String,
        /// Underlying I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema (unknown key, wrong type).
    #[error("invalid config{origin}: {message}")]
    Parse {
        /// Where the bad value came from (file or environment).
        origin: String,
        /// Parser message, naming the key.
        message: String,
    },
    /// A value parsed but is not acceptable.
    #[error("invalid config value `{key}`: {message}")]
    Invalid {
        /// Dotted key path.
        key: String,
        /// Why it is rejected.
        message: String,
    },
}

/// Delivery guarantee of the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DeliveryMode {
    /// Commit input offsets only after the output (or DLQ) record is acknowledged.
    #[default]
    AtLeastOnce,
    /// Consume, enrich and produce inside Kafka transactions; input offsets are committed in
    /// the same transaction (`send_offsets_to_transaction`), so a `read_committed` reader
    /// sees each input exactly once (its output or its DLQ record).
    ExactlyOnce,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log shippers).
    #[default]
    Json,
    /// Human-readable text.
    Text,
}

/// Top-level configuration.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Kafka connection and topics.
    pub kafka: KafkaConfig,
    /// Concurrency, limits and timeouts of the pipeline.
    pub pipeline: PipelineConfig,
    /// Metrics and health endpoints.
    pub http: HttpConfig,
    /// Logging.
    pub log: LogConfig,
    /// Duplicate flagging.
    pub dedup: DedupConfig,
    /// Entity-tagging tier.
    pub tagger: TaggerConfig,
    /// The user's watchlists.
    pub watchlists: WatchlistsConfig,
}

/// The user's watchlists (see `core::watchlist` and the README for the file formats).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WatchlistsConfig {
    /// List files (`.jsonl` or `.tsv`); the list name is the file name without its
    /// extension. Read at start-up (an invalid list stops the service) and on reload.
    pub files: Vec<String>,
    /// How often the files are checked for changes, milliseconds (0: only on SIGHUP).
    pub reload_interval_ms: u64,
}

impl Default for WatchlistsConfig {
    fn default() -> Self {
        WatchlistsConfig {
            files: Vec::new(),
            reload_interval_ms: 5000,
        }
    }
}

/// Entity-tagging tier: `fast` (the linear model) or `accurate` (the transformer encoder).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TaggerConfig {
    /// `"fast"` or `"accurate"`.
    pub mode: crate::core::tag::Tier,
    /// The accurate tier's model file (read at start-up; a missing or corrupt file stops
    /// the service with an error naming it). A relative path is read against the
    /// configuration file's directory (the working directory without a file). Unset: the
    /// model is searched for (`NEWSFLOW_MODEL_DIR`, `share/newsflow/models` beside the
    /// executable, `/usr/share/newsflow/models`, the build's source tree, the copy linked
    /// into the binary; see [`crate::models`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accurate_model: Option<String>,
}

impl Default for TaggerConfig {
    fn default() -> Self {
        TaggerConfig {
            mode: crate::core::tag::Tier::Accurate,
            accurate_model: None,
        }
    }
}

/// Duplicate flagging over a window of recent articles (per instance).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DedupConfig {
    /// Flag exact and near duplicates in the output (`duplicate_of`).
    pub enabled: bool,
    /// How many recent articles are remembered (memory is about 150 bytes each).
    pub window: usize,
    /// Largest SimHash Hamming distance (0-15) that counts as a near-duplicate.
    pub max_distance: u32,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig {
            enabled: true,
            window: 100_000,
            max_distance: 3,
        }
    }
}

/// Kafka connection, topics and pass-through client properties.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `bootstrap.servers`.
    pub brokers: String,
    /// Consumer group id; instances with the same id share the partitions.
    pub group_id: String,
    /// Topic of raw articles.
    pub input_topic: String,
    /// Topic of enriched records.
    pub output_topic: String,
    /// Dead-letter topic.
    pub dlq_topic: String,
    /// Topic of watchlist alerts: one compact record for each article with at least one
    /// watchlist hit, in the same delivery mode as the output. Empty: no alerts.
    pub alerts_topic: String,
    /// Where a new group starts: `earliest` or `latest`.
    pub auto_offset_reset: String,
    /// `fetch.wait.max.ms`: how long the broker may hold a fetch.
    pub fetch_wait_max_ms: u32,
    /// Interval of librdkafka statistics (consumer lag, broker state), milliseconds.
    pub statistics_interval_ms: u32,
    /// Delivery guarantee.
    pub delivery: DeliveryMode,
    /// Identity of this instance, stable across restarts (e.g. the pod name of a
    /// StatefulSet). Exactly-once mode uses `transactional.id = <group_id>-<instance_id>`;
    /// empty means `$HOSTNAME`.
    pub instance_id: String,
    /// librdkafka properties applied to both consumer and producer (security settings go here).
    pub properties: BTreeMap<String, String>,
    /// librdkafka properties for the consumer only.
    pub consumer_properties: BTreeMap<String, String>,
    /// librdkafka properties for the producer only.
    pub producer_properties: BTreeMap<String, String>,
    /// librdkafka properties (both clients) whose value is the content of a file, e.g.
    /// `"sasl.password" = "/run/secrets/kafka-password"` (trailing newline trimmed). For
    /// secrets mounted as files; only the path is ever printed.
    pub property_files: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: "127.0.0.1:9092".into(),
            group_id: "newsflow".into(),
            input_topic: "articles.raw".into(),
            output_topic: "articles.enriched".into(),
            dlq_topic: "articles.dlq".into(),
            alerts_topic: String::new(),
            auto_offset_reset: "earliest".into(),
            fetch_wait_max_ms: 100,
            statistics_interval_ms: 5000,
            delivery: DeliveryMode::AtLeastOnce,
            instance_id: String::new(),
            properties: BTreeMap::new(),
            consumer_properties: BTreeMap::new(),
            producer_properties: BTreeMap::new(),
            property_files: BTreeMap::new(),
        }
    }
}

/// Concurrency, limits and timeouts.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// CPU worker threads for the enrichment stages; 0 means one per core.
    pub workers: usize,
    /// Maximum messages consumed but not yet acknowledged by the broker (backpressure bound).
    pub max_in_flight: usize,
    /// Input messages larger than this many bytes go to the DLQ as `oversize`.
    pub max_message_bytes: usize,
    /// How often delivered offsets are committed, milliseconds.
    pub commit_interval_ms: u64,
    /// On SIGTERM/SIGINT: maximum time to drain, flush and commit, milliseconds.
    pub shutdown_timeout_ms: u64,
    /// On partition revoke: maximum wait for in-flight work of those partitions, milliseconds.
    pub rebalance_drain_timeout_ms: u64,
    /// Backoff between retries of a failed produce, milliseconds.
    pub produce_retry_backoff_ms: u64,
    /// Readiness fails when messages are in flight and none has finished for this long
    /// (a stuck worker or a producer that cannot deliver), milliseconds; 0 disables it.
    pub stall_timeout_ms: u64,
    /// Forward payloads unchanged instead of enriching them (measures the Kafka I/O ceiling
    /// in benchmarks; never in production).
    pub passthrough: bool,
    /// Exactly-once mode: a transaction is committed after this many input messages…
    pub transaction_max_messages: usize,
    /// …or this many milliseconds after its first message, whichever comes first.
    pub transaction_max_ms: u64,
    /// Exactly-once mode: timeout of one transaction API call (init, send offsets, commit,
    /// abort), milliseconds.
    pub transaction_op_timeout_ms: u64,
    /// Exactly-once mode: after a transaction committed, also commit the same offsets
    /// through the consumer (same values, same group generation). Redundant on Kafka; needed
    /// on brokers that do not store transactional offsets, such as librdkafka's mock cluster
    /// used by the tests.
    pub transaction_mirror_offsets: bool,
}

impl Default for PipelineConfig {
    fn default() -> Self {
        PipelineConfig {
            workers: 0,
            max_in_flight: 1024,
            max_message_bytes: 1_000_000,
            commit_interval_ms: 1000,
            shutdown_timeout_ms: 20_000,
            rebalance_drain_timeout_ms: 10_000,
            produce_retry_backoff_ms: 500,
            stall_timeout_ms: 120_000,
            passthrough: false,
            transaction_max_messages: 500,
            transaction_max_ms: 100,
            transaction_op_timeout_ms: 30_000,
            transaction_mirror_offsets: false,
        }
    }
}

impl PipelineConfig {
    /// Worker thread count after resolving `0` to the number of cores.
    pub fn effective_workers(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        } else {
            self.workers
        }
    }
}

/// Metrics and health HTTP server.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Listen address of `/metrics`, `/healthz`, `/readyz`; empty disables the server.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: "0.0.0.0:9464".into(),
        }
    }
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `json` or `text`.
    pub format: LogFormat,
    /// Filter directive (`info`, `newsflow=debug,rdkafka=warn`); `RUST_LOG` wins when set.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Json,
            level: "info".into(),
        }
    }
}

/// Prefix of environment overrides: `NEWSFLOW_KAFKA__BROKERS=...` sets `kafka.brokers`.
pub const ENV_PREFIX: &str = "NEWSFLOW_";

impl Config {
    /// Loads a file (or the defaults when `path` is `None`), applies environment overrides
    /// from the process environment, and validates the result.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            None => String::new(),
        };
        let origin = path
            .map(|p| format!(" in {}", p.display()))
            .unwrap_or_default();
        let mut config = Config::from_toml_with_env(&text, &origin, std::env::vars())?;
        if let Some(dir) = path.and_then(Path::parent) {
            config.resolve_paths_against(dir);
        }
        Ok(config)
    }

    /// Reads relative file paths of the configuration (the accurate model) against `dir`,
    /// the configuration file's directory, so the service finds them from any working
    /// directory.
    pub fn resolve_paths_against(&mut self, dir: &Path) {
        if let Some(model) = &self.tagger.accurate_model {
            let model = Path::new(model);
            if model.is_relative() && !dir.as_os_str().is_empty() {
                self.tagger.accurate_model = Some(dir.join(model).display().to_string());
            }
        }
    }

    /// Parses TOML text, applies the given `NEWSFLOW_` overrides, and validates.
    pub fn from_toml_with_env(
        text: &str,
        origin: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut value: toml::Table = toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_string(),
            message: e.to_string(),
        })?;
        let mut applied = Vec::new();
        for (name, raw) in env {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if !rest.contains("__") {
                continue; // e.g. NEWSFLOW_CONFIG, not an override
            }
            let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
            set_path(&mut value, &path, parse_env_value(&raw)).map_err(|message| {
                ConfigError::Invalid {
                    key: name.clone(),
                    message,
                }
            })?;
            applied.push(name);
        }
        let origin = if applied.is_empty() {
            origin.to_string()
        } else {
            format!(
                "{origin} (with environment overrides {})",
                applied.join(", ")
            )
        };
        let config: Config =
            toml::Value::Table(value)
                .try_into()
                .map_err(|e: toml::de::Error| ConfigError::Parse {
                    origin,
                    message: e.to_string(),
                })?;
        config.validate()?;
        Ok(config)
    }

    /// Properties read from `kafka.property_files` (file content, trailing whitespace
    /// trimmed). Unreadable files were rejected by [`Config::validate`]; one that vanished
    /// since is an error here.
    pub fn file_properties(&self) -> Result<Vec<(String, String)>, ConfigError> {
        self.kafka
            .property_files
            .iter()
            .map(|(k, path)| {
                std::fs::read_to_string(path)
                    .map(|v| (k.clone(), v.trim_end().to_string()))
                    .map_err(|source| ConfigError::Read {
                        path: path.clone(),
                        source,
                    })
            })
            .collect()
    }

    /// The instance id: `kafka.instance_id`, else `$HOSTNAME`; `None` when neither is set.
    pub fn instance_id(&self) -> Option<String> {
        let id = self.kafka.instance_id.trim();
        if !id.is_empty() {
            return Some(id.to_string());
        }
        std::env::var("HOSTNAME")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
    }

    /// `transactional.id` of the exactly-once producer: `<group_id>-<instance_id>`. Stable
    /// across restarts of the same instance (so a restarted instance fences its zombie and
    /// aborts its open transaction), distinct between instances (so they scale out).
    pub fn transactional_id(&self) -> Option<String> {
        self.instance_id()
            .map(|i| format!("{}-{}", self.kafka.group_id, i))
    }

    /// The configuration as TOML with secret-looking librdkafka properties redacted.
    pub fn to_redacted_toml(&self) -> String {
        let mut copy = self.clone();
        for props in [
            &mut copy.kafka.properties,
            &mut copy.kafka.consumer_properties,
            &mut copy.kafka.producer_properties,
        ] {
            for (key, value) in props.iter_mut() {
                if is_secret_property(key) {
                    *value = "<redacted>".into();
                }
            }
        }
        toml::to_string_pretty(&copy).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml_with_env(
            text,
            "",
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )
    }

    #[test]
    fn shipped_config_file_is_valid_and_matches_defaults() {
        let text = include_str!("../../config/newsflow.toml");
        let c = parse(text, &[]).expect("shipped config parses");
        assert_eq!(c.kafka.input_topic, "articles.raw");
        assert_eq!(c.kafka.output_topic, "articles.enriched");
        assert_eq!(c.kafka.dlq_topic, "articles.dlq");
        let d = Config::default();
        assert_eq!(c.pipeline.max_in_flight, d.pipeline.max_in_flight);
        assert_eq!(c.pipeline.max_message_bytes, d.pipeline.max_message_bytes);
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let err = parse("[kafka]\nbrokerz = \"x\"\n", &[]).unwrap_err();
        assert!(err.to_string().contains("brokerz"), "{err}");
        let err = parse("[nope]\n", &[]).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
    }

    #[test]
    fn env_overrides_apply_and_are_typed() {
        let c = parse(
            "[pipeline]\nworkers = 2\n",
            &[
                ("NEWSFLOW_KAFKA__BROKERS", "10.1.1.1:9093"),
                ("NEWSFLOW_PIPELINE__WORKERS", "7"),
                ("NEWSFLOW_KAFKA__PROPERTIES__SASL_MECHANISM", "PLAIN"),
                ("NEWSFLOW_CONFIG", "ignored.toml"),
                ("OTHER__X", "1"),
            ],
        )
        .unwrap();
        assert_eq!(c.kafka.brokers, "10.1.1.1:9093");
        assert_eq!(c.pipeline.workers, 7);
        assert_eq!(c.kafka.properties["sasl.mechanism"], "PLAIN");
    }

    #[test]
    fn unknown_env_override_is_rejected() {
        let err = parse("", &[("NEWSFLOW_KAFKA__BROKER", "x")]).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("broker") && msg.contains("NEWSFLOW_KAFKA__BROKER"),
            "{msg}"
        );
    }

    #[test]
    fn wrong_types_and_bad_values_are_rejected() {
        assert!(parse("[pipeline]\nworkers = \"many\"\n", &[]).is_err());
        assert!(parse("[pipeline]\nmax_in_flight = 0\n", &[]).is_err());
        assert!(parse("[http]\nlisten = \"nowhere\"\n", &[]).is_err());
        assert!(parse("[kafka]\ninput_topic = \"articles.enriched\"\n", &[]).is_err());
        assert!(parse("[kafka.properties]\n\"group.id\" = \"x\"\n", &[]).is_err());
        assert!(parse("[kafka]\ndelivery = \"sometimes\"\n", &[]).is_err());
    }

    #[test]
    fn secrets_are_redacted() {
        let c = parse(
            "[kafka.properties]\n\"sasl.password\" = \"hunter2\"\n\"sasl.username\" = \"svc\"\n",
            &[],
        )
        .unwrap();
        let out = c.to_redacted_toml();
        assert!(!out.contains("hunter2"));
        assert!(out.contains("<redacted>") && out.contains("svc"));
    }

    #[test]
    fn exactly_once_needs_an_instance_id_and_owns_transactional_properties() {
        let c = parse(
            "[kafka]\ndelivery = \"exactly-once\"\ninstance_id = \"pod-3\"\ngroup_id = \"g\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.kafka.delivery, DeliveryMode::ExactlyOnce);
        assert_eq!(c.transactional_id().as_deref(), Some("g-pod-3"));
        let env = [("NEWSFLOW_KAFKA__INSTANCE_ID", "pod-7")];
        let c = parse("[kafka]\ndelivery = \"exactly-once\"\n", &env).unwrap();
        assert_eq!(c.transactional_id().as_deref(), Some("newsflow-pod-7"));
        assert!(parse(
            "[kafka]\ndelivery = \"exactly-once\"\ninstance_id = \"a\"\n[kafka.producer_properties]\n\"transactional.id\" = \"x\"\n",
            &[]
        )
        .is_err());
        assert!(parse("[pipeline]\ntransaction_max_messages = 0\n", &[]).is_err());
    }

    #[test]
    fn property_files_are_read_and_only_their_paths_printed() {
        let dir = std::env::temp_dir().join(format!("newsflow-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("password");
        std::fs::write(&secret, "s3cr3t-from-file\n").unwrap();
        let text = format!(
            "[kafka.property_files]\n\"sasl.password\" = \"{}\"\n",
            secret.display()
        );
        let c = parse(&text, &[]).unwrap();
        assert_eq!(
            c.file_properties().unwrap(),
            vec![("sasl.password".to_string(), "s3cr3t-from-file".to_string())]
        );
        assert!(!c.to_redacted_toml().contains("s3cr3t"));
        assert!(parse(
            "[kafka.property_files]\n\"sasl.password\" = \"/nonexistent/x\"\n",
            &[]
        )
        .is_err());
        assert!(parse(
            "[kafka.property_files]\n\"group.id\" = \"/etc/hostname\"\n",
            &[]
        )
        .is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
