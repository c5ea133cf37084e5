//! Entity-tagging stage: finds persons, organisations, places and other entities in the
//! normalized title and body, with character offsets, canonical forms and provenance.
//!
//! Two tiers implement [`Tagger`] over one shared [`pipeline`]: the gazetteer, the English
//! capitalisation rules, the date/amount rules and the merge passes are common, and only
//! the sequence labeller differs: the fast tier's linear model ([`fast`]) or the accurate
//! tier's fine-tuned transformer encoder ([`accurate`]).
//!
//! Layout: the tiers are [`fast`] (the linear model, its file format, features and word
//! classes) and [`accurate`] (tokenizer, encoder, int8 kernel). Shared by both:
//! [`pipeline`] (the passes around a labeller), [`entity`] (public types), [`lexicon`]
//! (prefix and frequency facts about words), [`gazetteer`], [`names`] (titles, prefix
//! letters), [`window`] (where text is cut), [`merge`] (the merge passes), [`rules`]
//! (dates, times, money, percentages), [`english`], [`canonical`], [`labels`] and
//! [`decoder`] (BIOSE labels, Viterbi), [`hash`] (word hashing). Training and evaluation
//! live in the `newsflow-train` crate, which nothing here imports.

// The tiers.
pub mod accurate;
pub(crate) mod address;
pub mod fast;

// Shared by both tiers. `decoder`, `english`, `hash` and `window` are public for
// `newsflow-train`, which scores and trains the labellers with the same functions.
pub(crate) mod canonical;
pub(crate) mod coherence;
pub mod decoder;
pub mod english;
pub(crate) mod entity;
pub mod gazetteer;
pub mod hash;
pub mod labels;
pub mod lexicon;
pub(crate) mod merge;
pub(crate) mod names;
pub(crate) mod pipeline;
pub(crate) mod rules;
pub mod window;

pub use accurate::AccurateTagger;
pub use entity::{Component, Entity, EntityType, Field, TagError};
pub use fast::LinearLabeler;
pub use pipeline::{Chunk, Labeler, Pipeline, Span};

use chrono::NaiveDate;
use fast::linear::Model;
use gazetteer::Gazetteer;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// The gazetteer shipped in the binary.
pub const BUILTIN_GAZETTEER: &str = include_str!("../../../../models/gazetteer.tsv");

/// The fast tier's model shipped in the binary (`newsflow train-ner` writes it).
pub const BUILTIN_MODEL: &[u8] = include_bytes!("../../../../models/ner.bin");

/// Which tagger tier: the linear `fast` tier or the transformer `accurate` tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// The linear model: hundreds of thousands of tokens a second per core.
    Fast,
    /// The fine-tuned transformer encoder: thousands of tokens a second per core, finds
    /// more unseen names. The default.
    #[default]
    Accurate,
}

impl Tier {
    /// The tier's name in config, CLI flags and records.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Fast => "fast",
            Tier::Accurate => "accurate",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Tier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fast" => Ok(Tier::Fast),
            "accurate" => Ok(Tier::Accurate),
            other => Err(format!(
                "unknown tagger `{other}` (expected \"fast\" or \"accurate\")"
            )),
        }
    }
}

/// How a tier's labeller computes: decided once when its model loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// The fast tier's integer linear model.
    Linear,
    /// The accurate tier's int8 products with AVX-512 VNNI.
    Int8Vnni,
    /// The accurate tier's int8 products with AVX2 (CPUs without VNNI, or
    /// `NEWSFLOW_ENCODER_KERNEL=avx2`): the same outputs at a fraction of VNNI's speed.
    Int8Avx2,
    /// The accurate tier's f32 products: CPUs without AVX2, or
    /// `NEWSFLOW_ENCODER_KERNEL=f32`.
    F32,
}

impl Kernel {
    /// The kernel's name in logs and benchmarks.
    pub fn as_str(self) -> &'static str {
        match self {
            Kernel::Linear => "linear",
            Kernel::Int8Vnni => "int8-vnni",
            Kernel::Int8Avx2 => "int8-avx2",
            Kernel::F32 => "f32",
        }
    }
}

impl std::fmt::Display for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entity tagger: text in, entities out. Both tiers implement it; the service, `process`,
/// the benches and `ner-eval` hold a `dyn Tagger`.
pub trait Tagger: Send + Sync + std::fmt::Debug {
    /// Which tier this is (named in every record's `pipeline`).
    fn tier(&self) -> Tier;

    /// How the tier's labeller computes on this CPU.
    fn kernel(&self) -> Kernel;

    /// The tier's model in one line (size, features, training notes).
    fn describe(&self) -> String;

    /// Tags one normalized field, appending entities to `out`. `anchor` is the article's
    /// date for resolving relative dates. Long fields are tagged in windows (see
    /// [`window::WINDOW_BYTES`]) so the cost stays linear in the length of the text.
    fn tag_field_at(
        &self,
        text: &str,
        field: Field,
        anchor: Option<NaiveDate>,
        out: &mut Vec<Entity>,
    );

    /// Tags title and body; relative dates are resolved against `published` (the
    /// article's date), and person names are unified across the article.
    fn tag_article(&self, title: &str, body: &str, published: Option<NaiveDate>) -> Vec<Entity> {
        let mut out = Vec::new();
        self.tag_field_at(title, Field::Title, published, &mut out);
        self.tag_field_at(body, Field::Body, published, &mut out);
        canonical::unify(&mut out);
        out
    }

    /// Tags title and body (no date anchor).
    fn tag(&self, title: &str, body: &str) -> Vec<Entity> {
        self.tag_article(title, body, None)
    }

    /// Tags one normalized field without a date anchor.
    fn tag_field(&self, text: &str, field: Field, out: &mut Vec<Entity>) {
        self.tag_field_at(text, field, None, out);
    }
}

/// The fast tier: the shared pipeline around the linear model.
pub type FastTagger = Pipeline<LinearLabeler>;

impl FastTagger {
    /// The fast tier with the resources compiled into the binary.
    pub fn builtin() -> Result<FastTagger, TagError> {
        Ok(FastTagger::from_parts(
            Gazetteer::parse(BUILTIN_GAZETTEER)?,
            Model::from_bytes(BUILTIN_MODEL)?,
        ))
    }

    /// The fast tier from explicit resources.
    pub fn from_parts(gazetteer: Gazetteer, model: Model) -> FastTagger {
        let model = Arc::new(model);
        Pipeline::new(
            Tier::Fast,
            gazetteer,
            Arc::clone(model.lexicon()),
            LinearLabeler::new(model),
        )
    }

    /// The fast tier with the built-in gazetteer and the model file at `path` (one that
    /// `newsflow train-ner` wrote). Errors name the file.
    pub fn from_file(path: &Path) -> Result<FastTagger, TagError> {
        let bytes = std::fs::read(path).map_err(|source| TagError::Io {
            path: path.display().to_string(),
            source,
        })?;
        let model = Model::from_bytes(&bytes).map_err(|e| match e {
            TagError::Model(message) => TagError::ModelFile {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })?;
        Ok(FastTagger::from_parts(
            Gazetteer::parse(BUILTIN_GAZETTEER)?,
            model,
        ))
    }

    /// The linear model.
    pub fn model(&self) -> &Model {
        self.labeler().model()
    }
}

/// Where the accurate tier's model comes from: a file, or bytes the program holds.
#[derive(Debug, Clone, Copy)]
pub enum ModelSource<'a> {
    /// A model file, read at load.
    File(&'a Path),
    /// A model file's bytes (e.g. linked into the binary); `origin` names them in errors.
    Bytes {
        /// The file's contents.
        bytes: &'a [u8],
        /// Where they came from.
        origin: &'a str,
    },
}

impl std::fmt::Display for ModelSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSource::File(path) => write!(f, "{}", path.display()),
            ModelSource::Bytes { origin, .. } => f.write_str(origin),
        }
    }
}

/// The tagger of a tier: the fast tier from the binary's resources, the accurate tier from
/// its model (`accurate_model`, read only for that tier; errors name the file).
pub fn load(
    tier: Tier,
    accurate_model: Option<ModelSource<'_>>,
) -> Result<Box<dyn Tagger>, TagError> {
    Ok(match (tier, accurate_model) {
        (Tier::Fast, _) => Box::new(FastTagger::builtin()?),
        (Tier::Accurate, None) => return Err(TagError::NoModel),
        (Tier::Accurate, Some(ModelSource::File(path))) => Box::new(AccurateTagger::load(path)?),
        (Tier::Accurate, Some(ModelSource::Bytes { bytes, origin })) => {
            Box::new(AccurateTagger::from_model_bytes(bytes, origin)?)
        }
    })
}

/// The built-in gazetteer and fast model, shared by the tiers.
pub fn builtin_resources() -> Result<(Gazetteer, Arc<Model>), TagError> {
    Ok((
        Gazetteer::parse(BUILTIN_GAZETTEER)?,
        Arc::new(Model::from_bytes(BUILTIN_MODEL)?),
    ))
}

#[cfg(test)]
mod tests {
    use super::window::{char_to_byte, window_end, WINDOW_BYTES};
    use super::*;
    use crate::segment::tokenize;
    use std::collections::BTreeSet;

    fn tagger() -> FastTagger {
        FastTagger::builtin().expect("builtin gazetteer parses")
    }

    fn chars(s: &str, start: usize, end: usize) -> String {
        s.chars().skip(start).take(end - start).collect()
    }

    #[test]
    fn char_to_byte_matches_a_scan_from_the_start() {
        let text = "ראש הממשלה, נפגש  עם Macron ב-Paris!  e\u{301}x ";
        let tokens = tokenize(text);
        for c in 0..=text.chars().count() {
            let naive = text.char_indices().nth(c).map_or(text.len(), |(b, _)| b);
            assert_eq!(char_to_byte(text, &tokens, c), naive, "char {c}");
        }
    }

    #[test]
    fn long_fields_are_tagged_in_windows_with_offsets_into_the_field() {
        let t = tagger();
        let para = "ראש הממשלה נפגש היום בירושלים עם שר החוץ של צרפת ועם נציגי נאט\"ו.\n";
        let text = para.repeat(2 * WINDOW_BYTES / para.len() + 7);
        assert!(text.len() > 2 * WINDOW_BYTES);
        let mut alone = Vec::new();
        t.tag_field_at(para, Field::Body, None, &mut alone);
        assert!(alone.len() >= 2, "{alone:?}");
        let mut out = Vec::new();
        t.tag_field_at(&text, Field::Body, None, &mut out);
        assert_eq!(out.len(), alone.len() * text.matches(para).count());
        for e in &out {
            assert_eq!(chars(&text, e.start, e.end), e.text);
        }
        let canon: BTreeSet<&str> = out.iter().map(|e| e.canonical.as_str()).collect();
        let canon_alone: BTreeSet<&str> = alone.iter().map(|e| e.canonical.as_str()).collect();
        assert_eq!(canon, canon_alone);
    }

    #[test]
    fn window_ends_prefer_paragraphs_then_sentences_then_spaces() {
        let p = "a".repeat(WINDOW_BYTES - 100) + "\n" + &"b ".repeat(200);
        assert_eq!(window_end(&p, 0), WINDOW_BYTES - 99);
        let s = "c. ".repeat(WINDOW_BYTES);
        assert_eq!(&s[..window_end(&s, 0)].chars().last(), &Some(' '));
        let w = "ש".repeat(WINDOW_BYTES);
        let end = window_end(&w, 0);
        assert!(w.is_char_boundary(end) && end <= WINDOW_BYTES && end > 0);
    }

    #[test]
    fn prefix_letters_are_outside_the_span() {
        let text = "השר נסע לקייב, ובוושינגטון דיברו על נאט\"ו";
        let ents = tagger().tag("", text);
        let kyiv = ents
            .iter()
            .find(|e| e.canonical == "Kyiv")
            .expect("Kyiv found");
        assert_eq!(kyiv.text, "קייב");
        assert_eq!(chars(text, kyiv.start, kyiv.end), "קייב");
        // The type is the model's: the silver-trained fast model reads this Kyiv as a
        // person (a known error, BENCHMARKS.md); the accurate tier reads a GPE.
        assert!(matches!(kyiv.kind, EntityType::GPE | EntityType::PER));
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
        assert!(tagger().gazetteer().len() > 50);
        assert!(Gazetteer::parse("PER\tX\t-\n").is_err());
        assert!(Gazetteer::parse("XXX\tX\t-\tx\n").is_err());
    }
}
