//! Entity-tagging stage: finds persons, organisations, places and other entities in the
//! normalized title and body, with character offsets, canonical forms and provenance.

pub mod gazetteer;

use crate::core::segment::tokenize;
use gazetteer::Gazetteer;
use serde::Serialize;
use std::path::Path;

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
    /// A resource file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
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

    /// Parses a type code.
    pub fn parse(s: &str) -> Option<EntityType> {
        EntityType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// Which component found an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
}

/// The tagger with its loaded resources, shared read-only by all workers.
#[derive(Debug)]
pub struct Tagger {
    gazetteer: Gazetteer,
}

/// The gazetteer shipped in the binary.
pub const BUILTIN_GAZETTEER: &str = include_str!("../../../models/gazetteer.tsv");

impl Tagger {
    /// The tagger with the resources compiled into the binary.
    pub fn builtin() -> Result<Tagger, TagError> {
        Ok(Tagger {
            gazetteer: Gazetteer::parse(BUILTIN_GAZETTEER)?,
        })
    }

    /// A tagger whose gazetteer is read from a file.
    pub fn with_gazetteer_file(path: &Path) -> Result<Tagger, TagError> {
        let text = std::fs::read_to_string(path).map_err(|source| TagError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Tagger {
            gazetteer: Gazetteer::parse(&text)?,
        })
    }

    /// Number of gazetteer entries (for start-up logs).
    pub fn gazetteer_len(&self) -> usize {
        self.gazetteer.len()
    }

    /// Tags one normalized field, appending entities to `out`.
    pub fn tag_field(&self, text: &str, field: Field, out: &mut Vec<Entity>) {
        let tokens = tokenize(text);
        let mut i = 0;
        while i < tokens.len() {
            if !tokens[i].is_word {
                i += 1;
                continue;
            }
            if let Some(m) = self.gazetteer.match_at(&tokens, i) {
                let entry = self.gazetteer.entry(m.entry);
                let first = &tokens[m.first];
                let last = &tokens[m.last - 1];
                let start = first.start + m.prefix_chars;
                let byte_start = first.byte_start
                    + first
                        .text
                        .char_indices()
                        .nth(m.prefix_chars)
                        .map_or(0, |(b, _)| b);
                let byte_end = last.byte_start + last.text.len();
                out.push(Entity {
                    kind: entry.kind,
                    text: text[byte_start..byte_end].to_string(),
                    field,
                    start,
                    end: last.end,
                    canonical: entry.canonical.clone(),
                    wikidata: entry.wikidata.clone(),
                    confidence: 0.9,
                    source: Component::Gazetteer,
                });
                i = m.last;
            } else {
                i += 1;
            }
        }
    }

    /// Tags title and body.
    pub fn tag(&self, title: &str, body: &str) -> Vec<Entity> {
        let mut out = Vec::new();
        self.tag_field(title, Field::Title, &mut out);
        self.tag_field(body, Field::Body, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tagger() -> Tagger {
        Tagger::builtin().expect("builtin gazetteer parses")
    }

    fn chars(s: &str, start: usize, end: usize) -> String {
        s.chars().skip(start).take(end - start).collect()
    }

    #[test]
    fn prefix_letters_are_outside_the_span() {
        let text = "השר נסע לקייב ובוושינגטון דיברו על נאט\"ו";
        let ents = tagger().tag("", text);
        let kyiv = ents
            .iter()
            .find(|e| e.canonical == "Kyiv")
            .expect("Kyiv found");
        assert_eq!(kyiv.text, "קייב");
        assert_eq!(chars(text, kyiv.start, kyiv.end), "קייב");
        assert_eq!(kyiv.kind, EntityType::GPE);
        let dc = ents
            .iter()
            .find(|e| e.canonical == "Washington, D.C.")
            .unwrap();
        assert_eq!(dc.text, "וושינגטון");
        let nato = ents.iter().find(|e| e.canonical == "NATO").unwrap();
        assert_eq!(nato.wikidata.as_deref(), Some("Q7184"));
    }

    #[test]
    fn aliases_share_a_canonical_form() {
        let t = tagger();
        let a = t.tag("", "ארה\"ב");
        let b = t.tag("", "ארצות הברית");
        let c = t.tag("", "the United States");
        assert_eq!(a[0].canonical, "United States");
        assert_eq!(b[0].canonical, "United States");
        assert_eq!(c[0].canonical, "United States");
        assert_eq!(b[0].text, "ארצות הברית");
    }

    #[test]
    fn every_gazetteer_line_is_valid() {
        assert!(tagger().gazetteer_len() > 50);
        assert!(Gazetteer::parse("PER\tX\t-\n").is_err());
        assert!(Gazetteer::parse("XXX\tX\t-\tx\n").is_err());
    }
}
