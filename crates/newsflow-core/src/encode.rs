//! Enriched article → versioned JSON (`schema/enriched-article.v1.schema.json`).

use super::decode::InputFormat;
use super::dedup::DuplicateOf;
use super::geo::{Geo, Places};
use super::normalize::{Fingerprint, LanguageInfo, NormalizedArticle};
use super::salience::{salience, ArticleLength};
use super::tag::{Entity, EntityType, Tier};
use super::watchlist::Hit;
use serde::Serialize;
use serde_json::{Map, Value};

/// Version of the enriched record layout (`schema/enriched-article.v1.schema.json`);
/// bumped on incompatible changes. Part of the wire contract (`newsflow::wire`).
pub const SCHEMA_VERSION: u32 = 1;

/// Where the input message came from (absent for file processing).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Provenance {
    /// Input topic.
    pub topic: String,
    /// Input partition.
    pub partition: i32,
    /// Input offset.
    pub offset: i64,
    /// Input message timestamp (ms since epoch) when the broker gave one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp_ms: Option<i64>,
}

/// Per-stage wall time in microseconds (encode time is only in metrics: a record cannot
/// contain the time taken to write itself).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct StageTimings {
    /// Decode.
    pub decode_us: u64,
    /// Normalize.
    pub normalize_us: u64,
    /// Tag.
    pub tag_us: u64,
}

/// One line of the article-level entity summary.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EntitySummary {
    /// Entity type.
    #[serde(rename = "type")]
    pub kind: EntityType,
    /// Canonical form.
    pub canonical: String,
    /// Wikidata id when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wikidata: Option<String>,
    /// Number of mentions in title and body.
    pub mentions: usize,
    /// How much the article is about this entity, in [0, 1] (`crate::salience`); the
    /// summary is sorted by it.
    pub salience: f32,
    /// Where the place is (GPE and LOC entities the place table knows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub geo: Option<Geo>,
}

#[derive(Serialize)]
struct PipelineInfo<'a> {
    version: &'a str,
    tagger: Tier,
    input_format: InputFormat,
    timings: StageTimings,
}

#[derive(Serialize)]
struct Record<'a> {
    schema_version: u32,
    id: &'a str,
    url: Option<&'a str>,
    source: Option<&'a str>,
    published_at: Option<&'a str>,
    published_date: Option<String>,
    fetched_at: Option<&'a str>,
    language: &'a LanguageInfo,
    title: &'a str,
    body: &'a str,
    body_offsets: &'a super::normalize::BodyOffsets,
    sentences: &'a [[usize; 2]],
    entities: &'a [Entity],
    entity_summary: &'a [EntitySummary],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    watchlist_hits: &'a [Hit],
    fingerprint: &'a Fingerprint,
    duplicate_of: Option<&'a DuplicateOf>,
    pipeline: PipelineInfo<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<&'a Provenance>,
    warnings: &'a [String],
    extra: &'a Map<String, Value>,
}

/// What the article was found to mention: the tagger's entities and the watchlist hits.
#[derive(Debug, Clone, Copy)]
pub struct Findings<'a> {
    /// Tagger entities.
    pub entities: &'a [Entity],
    /// Watchlist hits (their `entity` indexes point into `entities`).
    pub watchlist_hits: &'a [Hit],
}

/// The alert record of an article with watchlist hits (`kafka.alerts_topic`).
#[derive(Serialize)]
struct Alert<'a> {
    schema_version: u32,
    id: &'a str,
    url: Option<&'a str>,
    title: &'a str,
    published_at: Option<&'a str>,
    hits: &'a [Hit],
}

/// Serializes the compact alert record of an article (id, url, title, published_at,
/// hits).
pub fn encode_alert(article: &NormalizedArticle, id: &str, hits: &[Hit]) -> Vec<u8> {
    let alert = Alert {
        schema_version: SCHEMA_VERSION,
        id,
        url: article.url.as_deref(),
        title: &article.title,
        published_at: article.published.as_ref().map(|p| p.rfc3339.as_str()),
        hits,
    };
    // As for records: serializing these types cannot fail.
    serde_json::to_vec(&alert).unwrap_or_default()
}

/// One line per entity (type and canonical form) with its mentions counted, salience and
/// place; most salient first.
pub fn summarize(entities: &[Entity], len: ArticleLength) -> Vec<EntitySummary> {
    let mut groups: Vec<Vec<&Entity>> = Vec::new();
    for e in entities {
        match groups
            .iter_mut()
            .find(|g| g[0].kind == e.kind && g[0].canonical == e.canonical)
        {
            Some(g) => g.push(e),
            None => groups.push(vec![e]),
        }
    }
    let is_place = |k: EntityType| matches!(k, EntityType::GPE | EntityType::LOC);
    let place_names: Vec<Vec<&str>> = groups
        .iter()
        .filter(|g| is_place(g[0].kind))
        .map(|g| {
            let mut names = vec![g[0].canonical.as_str()];
            names.extend(g.iter().map(|e| e.text.as_str()));
            names
        })
        .collect();
    let mut places = Places::builtin().locate(&place_names).into_iter();
    let mut out: Vec<EntitySummary> = groups
        .iter()
        .map(|g| EntitySummary {
            kind: g[0].kind,
            canonical: g[0].canonical.clone(),
            wikidata: g.iter().find_map(|e| e.wikidata.clone()),
            mentions: g.len(),
            salience: salience(g.iter().copied(), len),
            geo: if is_place(g[0].kind) {
                places.next().flatten()
            } else {
                None
            },
        })
        .collect();
    out.sort_by(|a, b| {
        b.salience
            .total_cmp(&a.salience)
            .then(b.mentions.cmp(&a.mentions))
            .then(a.kind.cmp(&b.kind))
            .then(a.canonical.cmp(&b.canonical))
    });
    out
}

/// Serializes one enriched record.
pub fn encode(
    article: &NormalizedArticle,
    id: &str,
    found: Findings<'_>,
    duplicate_of: Option<&DuplicateOf>,
    provenance: Option<&Provenance>,
    timings: StageTimings,
    tagger: Tier,
) -> Vec<u8> {
    let summary = summarize(
        found.entities,
        ArticleLength {
            title: article.title.chars().count(),
            body: article.body.chars().count(),
        },
    );
    let record = Record {
        schema_version: SCHEMA_VERSION,
        id,
        url: article.url.as_deref(),
        source: article.source.as_deref(),
        published_at: article.published.as_ref().map(|p| p.rfc3339.as_str()),
        published_date: article.published.as_ref().map(|p| p.date.to_string()),
        fetched_at: article.fetched_at.as_deref(),
        language: &article.language,
        title: &article.title,
        body: &article.body,
        body_offsets: &article.body_offsets,
        sentences: &article.sentences,
        entities: found.entities,
        entity_summary: &summary,
        watchlist_hits: found.watchlist_hits,
        fingerprint: &article.fingerprint,
        duplicate_of,
        pipeline: PipelineInfo {
            version: crate::VERSION,
            tagger,
            input_format: article.format,
            timings,
        },
        provenance,
        warnings: &article.warnings,
        extra: &article.extra,
    };
    let mut buf = Vec::with_capacity(article.body.len() * 2 + 1024);
    // Serializing these types to a Vec cannot fail (no maps with non-string keys, no I/O).
    if serde_json::to_writer(&mut buf, &record).is_err() {
        buf.clear();
    }
    buf
}
