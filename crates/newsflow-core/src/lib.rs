//! newsflow's enrichment core: decode → normalize → tag → watchlists → encode, one message
//! at a time. The service, `newsflow process`, the benchmarks and the evaluations all call
//! [`enrich`] with a [`Context`] built from plain [`ContextSettings`].
//!
//! It owns: input decoding ([`decode`]), text clean-up, language and fingerprints
//! ([`normalize`]), tokens and sentences ([`segment`]), both entity-tagger tiers ([`tag`]),
//! watchlist matching ([`watchlist`]), duplicate flagging and the record's JSON layout.
//!
//! It must not import: Kafka clients, an async runtime, metrics or HTTP crates (tokio,
//! rdkafka, prometheus, axum), the service's configuration types, or the training crate.
//! It is pure and synchronous: the layers above decide threads, I/O and error reporting.
//! `cargo tree -p newsflow-core` is the check.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod decode;
pub(crate) mod dedup;
pub(crate) mod encode;
pub mod geo;
pub mod normalize;
pub(crate) mod reject;
pub mod salience;
pub mod segment;
pub mod tag;
pub mod watchlist;

pub use encode::{Findings, Provenance, StageTimings, SCHEMA_VERSION};
pub use reject::{Reject, RejectKind};

use std::time::{Duration, Instant};

/// The crate version, reported in records (`pipeline.version`); the workspace's crates share it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
use tag::{EntityType, FastTagger, Tagger};

/// Resources shared by all workers: read-only models, plus the (internally locked) index of
/// recent articles for duplicate flagging.
#[derive(Debug)]
pub struct Context {
    /// The entity tagger (either tier).
    pub tagger: Box<dyn Tagger>,
    /// Oversize limit in bytes.
    pub max_message_bytes: usize,
    /// Recent-article index; `None` disables duplicate flagging.
    pub dedup: Option<dedup::DedupIndex>,
    /// The user's watchlists (swapped by a reload; each article uses one snapshot).
    pub watchlists: watchlist::SharedWatchlists,
}

/// A context that cannot be built: a tagger model or a watchlist is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The tagger's resources.
    #[error(transparent)]
    Tagger(#[from] tag::TagError),
    /// A watchlist file.
    #[error(transparent)]
    Watchlist(#[from] watchlist::WatchlistError),
}

impl Context {
    /// Context with the built-in tagger resources and no duplicate flagging.
    pub fn builtin(max_message_bytes: usize) -> Result<Context, tag::TagError> {
        Ok(Context {
            tagger: Box::new(FastTagger::builtin()?),
            max_message_bytes,
            dedup: None,
            watchlists: watchlist::SharedWatchlists::default(),
        })
    }

    /// Context from plain settings (the service builds them from its configuration): the
    /// tagger tier, the lists of watchlists, duplicate flagging.
    pub fn new(settings: &ContextSettings<'_>) -> Result<Context, ContextError> {
        Ok(Context {
            tagger: tag::load(settings.tier, settings.accurate_model)?,
            max_message_bytes: settings.max_message_bytes,
            dedup: settings
                .dedup
                .map(|d| dedup::DedupIndex::new(d.window, d.max_distance)),
            watchlists: watchlist::SharedWatchlists::new(watchlist::Watchlists::from_files(
                settings.watchlist_files,
            )?),
        })
    }
}

/// What a [`Context`] is built from. Plain values: the core knows nothing of the service's
/// configuration format.
#[derive(Debug, Clone, Copy)]
pub struct ContextSettings<'a> {
    /// Which tagger tier.
    pub tier: tag::Tier,
    /// The accurate tier's model (read only for that tier, which fails without one).
    pub accurate_model: Option<tag::ModelSource<'a>>,
    /// Oversize limit in bytes.
    pub max_message_bytes: usize,
    /// Duplicate flagging; `None` disables it.
    pub dedup: Option<DedupSettings>,
    /// Watchlist files (JSON lines).
    pub watchlist_files: &'a [String],
}

/// Duplicate flagging: how many recent articles are kept, and how close two fingerprints
/// must be (Hamming distance in bits) to flag a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DedupSettings {
    /// Recent articles kept.
    pub window: usize,
    /// Largest fingerprint distance that still counts as a duplicate.
    pub max_distance: u32,
}

/// One message to enrich.
#[derive(Debug, Clone, Copy)]
pub struct Input<'a> {
    /// Raw payload bytes.
    pub payload: &'a [u8],
    /// Message key, if any.
    pub key: Option<&'a [u8]>,
    /// Source topic/partition/offset (absent for files).
    pub provenance: Option<&'a Provenance>,
}

/// The result of enriching one message.
#[derive(Debug, Clone)]
pub struct Enriched {
    /// Output key: the input key, else the article id, URL or content hash.
    pub key: Vec<u8>,
    /// The JSON record.
    pub payload: Vec<u8>,
    /// Stage timings (also inside the record).
    pub timings: StageTimings,
    /// Encode time (not inside the record).
    pub encode_time: Duration,
    /// Entity types found, one per mention (for metrics).
    pub entity_types: Vec<EntityType>,
    /// Whether the article was flagged as a duplicate of a recent one.
    pub duplicate: bool,
    /// The list of every watchlist hit (for metrics).
    pub watchlist_hits: Vec<std::sync::Arc<str>>,
    /// The alert record, when the article has watchlist hits.
    pub alert: Option<Vec<u8>>,
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Enriches one message: decode, normalize, tag, match the watchlists, encode.
pub fn enrich(input: Input<'_>, ctx: &Context) -> Result<Enriched, Reject> {
    let t0 = Instant::now();
    let raw = decode::decode(input.payload, ctx.max_message_bytes)?;
    let t1 = Instant::now();
    let article = normalize::normalize(raw)?;
    let t2 = Instant::now();
    let entities = ctx.tagger.tag_article(
        &article.title,
        &article.body,
        article.published.as_ref().map(|p| p.date),
    );
    let hits = ctx
        .watchlists
        .current()
        .find(&article.title, &article.body, &entities);
    let t3 = Instant::now();
    let timings = StageTimings {
        decode_us: micros(t1 - t0),
        normalize_us: micros(t2 - t1),
        tag_us: micros(t3 - t2),
    };
    let id = article
        .id
        .as_deref()
        .or(article.url.as_deref())
        .unwrap_or(&article.fingerprint.content_hash)
        .to_string();
    let key = match input.key {
        Some(k) if !k.is_empty() => k.to_vec(),
        _ => id.as_bytes().to_vec(),
    };
    let duplicate_of = ctx.dedup.as_ref().and_then(|d| {
        d.check_and_insert(
            &id,
            article.fingerprint.exact64,
            article.fingerprint.simhash_bits(),
        )
    });
    let payload = encode::encode(
        &article,
        &id,
        Findings {
            entities: &entities,
            watchlist_hits: &hits,
        },
        duplicate_of.as_ref(),
        input.provenance,
        timings,
        ctx.tagger.tier(),
    );
    let alert = (!hits.is_empty()).then(|| encode::encode_alert(&article, &id, &hits));
    Ok(Enriched {
        key,
        alert,
        payload,
        timings,
        encode_time: t3.elapsed(),
        entity_types: entities.iter().map(|e| e.kind).collect(),
        duplicate: duplicate_of.is_some(),
        watchlist_hits: hits.into_iter().map(|h| h.list).collect(),
    })
}

/// [`enrich`], with a panic in the core turned into an `internal_error` reject so that one
/// bad message can never take down a worker (defence in depth: the core is not expected to
/// panic, and the fuzz and property tests check that).
pub fn enrich_guarded(input: Input<'_>, ctx: &Context) -> Result<Enriched, Reject> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| enrich(input, ctx))).unwrap_or_else(
        |panic| {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(panic = %what, "enrichment panicked; rejecting the message");
            Err(Reject::new(
                RejectKind::InternalError,
                format!("enrichment panicked: {what}"),
            ))
        },
    )
}
