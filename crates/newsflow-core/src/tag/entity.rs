//! The tagger's public types: entity types, mentions, the fields they point into, the
//! component that found them, and the errors of loading tagger resources.

use serde::Serialize;

/// Errors loading tagger resources.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// A gazetteer line is malformed.
    #[error("gazetteer line {line}: {message}")]
    Gazetteer {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A resource file could not be read (the OS error is the source, not repeated here).
    #[error("cannot read {path}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The model file is malformed.
    #[error("NER model: {0}")]
    Model(String),
    /// A model file read from disk is malformed.
    #[error("NER model file {path}: {message}")]
    ModelFile {
        /// File path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The encoder kernel asked for (`NEWSFLOW_ENCODER_KERNEL`) is not one there is.
    #[error("{0}")]
    Kernel(String),
    /// The accurate tier was asked for without a model.
    #[error("the accurate tier needs its model file, and none was given")]
    NoModel,
    /// A word-cluster line is malformed.
    #[error("word clusters line {line}: {message}")]
    Clusters {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Entity types: the NEMO scheme plus BMC's temporal and numeric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum EntityType {
    /// Person.
    PER,
    /// Organisation.
    ORG,
    /// Geo-political entity (country, city, state).
    GPE,
    /// Non-GPE location (region, river, mountain).
    LOC,
    /// Facility (building, airport, road).
    FAC,
    /// Event.
    EVE,
    /// Work of art (book, film, song).
    WOA,
    /// Product ("DUC").
    DUC,
    /// Language ("ANG").
    ANG,
    /// Date expression.
    DATE,
    /// Time of day.
    TIME,
    /// Monetary amount.
    MONEY,
    /// Percentage.
    PERCENT,
}

impl EntityType {
    /// All types, for metrics and docs.
    pub const ALL: [EntityType; 13] = [
        EntityType::PER,
        EntityType::ORG,
        EntityType::GPE,
        EntityType::LOC,
        EntityType::FAC,
        EntityType::EVE,
        EntityType::WOA,
        EntityType::DUC,
        EntityType::ANG,
        EntityType::DATE,
        EntityType::TIME,
        EntityType::MONEY,
        EntityType::PERCENT,
    ];

    /// The type's code.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::PER => "PER",
            EntityType::ORG => "ORG",
            EntityType::GPE => "GPE",
            EntityType::LOC => "LOC",
            EntityType::FAC => "FAC",
            EntityType::EVE => "EVE",
            EntityType::WOA => "WOA",
            EntityType::DUC => "DUC",
            EntityType::ANG => "ANG",
            EntityType::DATE => "DATE",
            EntityType::TIME => "TIME",
            EntityType::MONEY => "MONEY",
            EntityType::PERCENT => "PERCENT",
        }
    }

    /// Whether the type names something (persons, organisations, places, ...), as opposed
    /// to a value (dates, times, amounts, percentages).
    pub fn is_name(self) -> bool {
        !matches!(
            self,
            EntityType::DATE | EntityType::TIME | EntityType::MONEY | EntityType::PERCENT
        )
    }

    /// Parses a type code.
    pub fn parse(s: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Which component found an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The statistical sequence model.
    Model,
    /// A gazetteer lookup.
    Gazetteer,
    /// A hand-written rule (dates, amounts, titles).
    Rule,
}

/// Which text field an entity's offsets refer to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The normalized `title`.
    Title,
    /// The normalized `body`.
    Body,
}

/// One entity mention.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entity {
    /// Entity type.
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Surface text, exactly `field[start..end]` (characters).
    pub text: String,
    /// Field the offsets refer to.
    pub field: Field,
    /// Start character offset (Unicode scalar values) into the normalized field.
    pub start: usize,
    /// End character offset (exclusive).
    pub end: usize,
    /// Canonical form shared by spelling variants and aliases.
    pub canonical: String,
    /// Wikidata id when the gazetteer knows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wikidata: Option<String>,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Component that found it.
    pub source: Component,
    /// Resolved value: ISO 8601 date (`2025-08-20`) or month (`2023-03`) for dates;
    /// absent when the expression is ambiguous or has no anchor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// An entity proposed on tokens `[first, last)` (of the chunk a labeller or the English
/// rules read).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// First token (chunk-relative).
    pub first: usize,
    /// One past the last token.
    pub last: usize,
    /// Entity type.
    pub kind: EntityType,
    /// Confidence in [0, 1].
    pub confidence: f32,
}
