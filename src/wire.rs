//! The wire contract: names and versions that consumers of newsflow's topics rely on.
//! Changing one is a breaking change for every downstream reader, so they live here and
//! nowhere else.

/// Version of the enriched record layout (`schema/enriched-article.v1.schema.json`);
/// bumped on incompatible changes. The core writes it into every record.
pub use newsflow_core::SCHEMA_VERSION;

/// Header names newsflow writes on output, alert and DLQ records.
pub mod headers {
    /// `application/json` on enriched records.
    pub const CONTENT_TYPE: &str = "content-type";
    /// Output schema version on enriched records.
    pub const SCHEMA_VERSION: &str = "newsflow-schema-version";
    /// DLQ: machine-readable reason (`malformed_json`, …).
    pub const ERROR_KIND: &str = "newsflow-error-kind";
    /// DLQ: human-readable reason.
    pub const ERROR_MESSAGE: &str = "newsflow-error-message";
    /// DLQ: source topic.
    pub const SOURCE_TOPIC: &str = "newsflow-source-topic";
    /// DLQ: source partition.
    pub const SOURCE_PARTITION: &str = "newsflow-source-partition";
    /// DLQ: source offset.
    pub const SOURCE_OFFSET: &str = "newsflow-source-offset";
    /// DLQ: time the record was dead-lettered (RFC 3339).
    pub const DLQ_TIME: &str = "newsflow-dlq-time";
    /// DLQ: newsflow version that dead-lettered it.
    pub const VERSION: &str = "newsflow-version";
    /// DLQ: set when the original payload was too large for the DLQ topic and was omitted.
    pub const PAYLOAD_OMITTED: &str = "newsflow-payload-omitted";
    /// Exactly-once mode: the transaction that wrote the record (for audits).
    pub const TRANSACTION: &str = "newsflow-transaction";
    /// Prefix of every header newsflow writes (`redrive` strips them).
    pub const PREFIX: &str = "newsflow-";
}
