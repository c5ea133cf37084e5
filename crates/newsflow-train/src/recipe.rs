//! The `train-ner` recipe as library functions: read the gold, silver and dev corpora
//! from the shared data folder (dropping training sentences that occur in held-out
//! files), build the word features (classes and name lists), train the shipped model, or
//! cross-validate it over contiguous folds. The command prints what these return.

use crate::bmes::{self, Corpus, Scheme, Sentence};
use crate::casing;
use crate::name_lists::{self, NameLists};
use crate::train::{self, TrainOptions};
use newsflow_core::tag::fast::clusters::WordClusters;
use newsflow_core::tag::fast::linear::Model;
use newsflow_core::tag::fast::model_file::ModelData;
use newsflow_core::tag::gazetteer::Gazetteer;
use newsflow_core::tag::TagError;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A training input that cannot be used. Each names its file.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The word-classes file is malformed.
    #[error("parsing {path}: {source}")]
    Clusters {
        /// The file.
        path: String,
        /// What is wrong, with its line.
        source: TagError,
    },
}

/// Reads a gold file: BIOSE (one `token TAG` a line, blank line between sentences), or
/// Universal NER's IOB2 when the name ends in `.iob2`.
pub fn read_bmes(path: &Path) -> Result<Vec<Sentence>, TrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| TrainError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if path.extension().is_some_and(|e| e == "iob2") {
        return Ok(bmes::parse_iob2(&text));
    }
    Ok(bmes::parse(&text))
}

/// Where the training data lies, and which extras to train with.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The shared data folder (`nemo/`, `bmc/`, `iahlt/`).
    pub data: PathBuf,
    /// BIOSE files whose sentences are never trained on (besides the dev splits).
    pub exclude: Vec<PathBuf>,
    /// Times each BMC sentence is seen per epoch.
    pub bmc_repeat: usize,
    /// Times each English gold sentence is seen per epoch (with [`Sources::english`]).
    pub english_repeat: usize,
    /// Also train on a copy of each English gold sentence in another casing (all
    /// capitals, lower case, title case in turn: [`casing`]).
    pub case_variants: bool,
    /// Word classes file (`None`: train without).
    pub clusters: Option<PathBuf>,
    /// Name-list folder (`None`: train without name-list features).
    pub name_lists: Option<PathBuf>,
    /// Silver BIOSE files (NEMO scheme) from `newsflow silver`.
    pub silver: Vec<PathBuf>,
    /// Also train on IAHLT Knesset train (NEMO categories; TTL, TIMEX and MISC left open).
    pub iahlt: bool,
    /// Also train on English gold: the folder `scripts/english-gold.py` writes
    /// (`uner_ewt_dev.bmes`, `gum_names.bmes`; `uner_ewt_test.bmes` is the English dev set).
    pub english: Option<PathBuf>,
}

impl Sources {
    /// Times each sentence of a gold corpus in `scheme` is seen per epoch.
    pub fn repeat(&self, scheme: Scheme) -> usize {
        match scheme {
            Scheme::Bmc => self.bmc_repeat,
            Scheme::Uner | Scheme::Gum => self.english_repeat,
            Scheme::Nemo => 1,
        }
        .max(1)
    }
}

/// The English gold files under [`Sources::english`]: (file, scheme, name).
pub const ENGLISH_GOLD: [(&str, Scheme, &str); 2] = [
    ("uner_ewt_dev.bmes", Scheme::Uner, "uner"),
    ("gum_names.bmes", Scheme::Gum, "gum"),
];

/// The English dev file under [`Sources::english`] (never trained on).
pub const ENGLISH_DEV: &str = "uner_ewt_test.bmes";

/// Word classes and name-list flags, the model's word features.
pub fn word_features(
    clusters: Option<&Path>,
    name_lists: Option<&Path>,
    progress: &mut dyn FnMut(&str),
) -> Result<WordClusters, TrainError> {
    let classes = match clusters {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|source| TrainError::Read {
                path: format!("word clusters {} (or pass --no-clusters)", p.display()),
                source,
            })?;
            let c = WordClusters::parse_tsv(&text).map_err(|source| TrainError::Clusters {
                path: p.display().to_string(),
                source,
            })?;
            progress(&format!(
                "word clusters: {} words from {}",
                c.len(),
                p.display()
            ));
            c
        }
        None => WordClusters::empty(),
    };
    let Some(dir) = name_lists else {
        return Ok(classes);
    };
    let NameLists { flags, skipped } =
        name_lists::load(dir).map_err(|source| TrainError::Read {
            path: format!("name lists in {}", dir.display()),
            source,
        })?;
    let not_lists = if skipped.is_empty() {
        String::new()
    } else {
        format!(" (not name lists: {})", skipped.join(", "))
    };
    progress(&format!(
        "name lists: {} words from {}{not_lists}",
        flags.len(),
        dir.display()
    ));
    Ok(classes.with_names(flags))
}

/// Everything a training run reads: gold (NEMO, BMC, then IAHLT when asked), silver, the
/// dev splits, and NEMO's multi-token training file (for prefix tables).
#[derive(Debug, Clone)]
pub struct TrainingData {
    /// Gold corpora, training sentences found in held-out files dropped.
    pub gold: Vec<Corpus>,
    /// Silver corpora, likewise.
    pub silver: Vec<Corpus>,
    /// The dev splits that exist (NEMO, BMC, IAHLT when asked).
    pub dev: Vec<Corpus>,
    /// NEMO token-multi train (empty where absent).
    pub multi: Vec<Sentence>,
    /// Names of the gold corpora, in `gold`'s order.
    pub gold_names: Vec<&'static str>,
    /// Names of the dev corpora, in `dev`'s order.
    pub dev_names: Vec<&'static str>,
}

/// Reads the corpora of `src`. Decontamination: NEMO and BMC share source text (309 of
/// NEMO dev's 500 sentences are in BMC train, 64 of BMC dev's 247 in NEMO train), so
/// training sentences that occur in either dev split (or in `exclude` files) are dropped
/// to keep the dev figures honest.
pub fn read_data(
    src: &Sources,
    progress: &mut dyn FnMut(&str),
) -> Result<TrainingData, TrainError> {
    let data = &src.data;
    let mut gold = vec![
        corpus(&data.join("nemo/token-single_train.bmes"), Scheme::Nemo)?,
        corpus(&data.join("bmc/bmc_train.bmes"), Scheme::Bmc)?,
    ];
    let mut gold_names = vec!["nemo", "bmc"];
    let mut dev_files = vec![
        (
            data.join("nemo/token-single_dev.bmes"),
            Scheme::Nemo,
            "nemo",
        ),
        (data.join("bmc/bmc_dev.bmes"), Scheme::Bmc, "bmc"),
    ];
    if src.iahlt {
        gold.push(corpus(
            &data.join("iahlt/knesset_ne_train.bmes"),
            Scheme::Nemo,
        )?);
        gold_names.push("iahlt");
        dev_files.push((
            data.join("iahlt/knesset_ne_dev.bmes"),
            Scheme::Nemo,
            "iahlt",
        ));
    }
    if let Some(dir) = &src.english {
        for (file, scheme, name) in ENGLISH_GOLD {
            gold.push(corpus(&dir.join(file), scheme)?);
            gold_names.push(name);
        }
        dev_files.push((dir.join(ENGLISH_DEV), Scheme::Uner, "english"));
    }
    let silver = src
        .silver
        .iter()
        .map(|p| corpus(p, Scheme::Nemo))
        .collect::<Result<Vec<_>, _>>()?;
    let mut dev = Vec::new();
    let mut dev_names = Vec::new();
    for (p, scheme, name) in dev_files {
        if p.exists() {
            dev.push(corpus(&p, scheme)?);
            dev_names.push(name);
        }
    }
    let mut held_out: HashSet<String> = dev.iter().flat_map(sentence_texts).collect();
    for p in &src.exclude {
        held_out.extend(read_bmes(p)?.iter().map(|s| s.tokens.join(" ")));
    }
    let mut out = TrainingData {
        gold,
        silver,
        dev,
        multi: Vec::new(),
        gold_names,
        dev_names,
    };
    out.drop_held_out(&held_out, progress);
    let multi = data.join("nemo/token-multi_train.bmes");
    if multi.exists() {
        out.multi = read_bmes(&multi)?;
    }
    Ok(out)
}

fn corpus(path: &Path, scheme: Scheme) -> Result<Corpus, TrainError> {
    Ok(Corpus {
        sentences: read_bmes(path)?,
        scheme,
    })
}

fn sentence_texts(c: &Corpus) -> impl Iterator<Item = String> + '_ {
    c.sentences.iter().map(|s| s.tokens.join(" "))
}

impl TrainingData {
    /// Drops the gold and silver sentences whose text is in `held_out`.
    fn drop_held_out(&mut self, held_out: &HashSet<String>, progress: &mut dyn FnMut(&str)) {
        let named = self
            .gold_names
            .iter()
            .zip(self.gold.iter_mut())
            .chain(std::iter::repeat(&"silver").zip(self.silver.iter_mut()));
        for (name, c) in named {
            let before = c.sentences.len();
            c.sentences
                .retain(|s| !held_out.contains(&s.tokens.join(" ")));
            progress(&format!(
                "{name}: {} training sentences ({} dropped: they occur in held-out files)",
                c.sentences.len(),
                before - c.sentences.len()
            ));
        }
    }

    /// Silver sentences in all.
    pub fn silver_sentences(&self) -> usize {
        self.silver.iter().map(|c| c.sentences.len()).sum()
    }
}

/// The corpora one training run sees: gold (BMC `src.bmc_repeat` times and the English
/// gold `src.english_repeat` times, shuffled apart by the trainer; with
/// `src.case_variants`, each English sentence once more in another casing) and silver.
pub fn training_set(gold: &[Corpus], silver: &[Corpus], src: &Sources) -> Vec<Corpus> {
    let mut out: Vec<Corpus> = gold.to_vec();
    for c in &mut out {
        let one = c.sentences.clone();
        for _ in 1..src.repeat(c.scheme) {
            c.sentences.extend(one.iter().cloned());
        }
        if src.case_variants && c.scheme.is_english() {
            let variants = one.iter().enumerate().map(|(n, s)| casing::variant(s, n));
            c.sentences.extend(variants);
        }
    }
    out.extend(silver.iter().cloned());
    out
}

/// Trains the model `train-ner` ships, with its description (`info`) filled in.
/// `on_epoch` sees each epoch's fit and model-only dev F1.
pub fn train_model(
    gaz: &Gazetteer,
    clusters: &WordClusters,
    data: &TrainingData,
    src: &Sources,
    opts: &TrainOptions,
    on_epoch: impl FnMut(&train::EpochReport),
) -> ModelData {
    let started = Instant::now();
    let corpora = training_set(&data.gold, &data.silver, src);
    let mut model = train::train(
        gaz,
        clusters,
        &corpora,
        &data.dev,
        &data.multi,
        opts,
        on_epoch,
    );
    let secs = started.elapsed().as_secs_f64();
    let TrainOptions {
        epochs,
        seed,
        prune,
        min_count,
        runs,
        learner,
    } = *opts;
    let silver = data.silver_sentences();
    model.english = src.english.is_some();
    model.info = format!(
        "newsflow {} train-ner: NEMO token-single train + BMC train x{}{}{}{}{} (minus sentences in the dev splits), {} word clusters, {epochs} epochs x {runs} runs, {learner:?}, seed {seed}, prune {prune}, min-count {min_count}; trained in {secs:.1}s",
        newsflow_core::VERSION,
        src.bmc_repeat,
        if src.iahlt { " + IAHLT Knesset train" } else { "" },
        if src.english.is_some() {
            " + UNER EWT dev + GUM names (English)"
        } else {
            ""
        },
        match src.english_repeat {
            n if n > 1 && src.english.is_some() => format!(" x{n}"),
            _ => String::new(),
        } + if src.case_variants && src.english.is_some() {
            " + case variants"
        } else {
            ""
        },
        if data.silver.is_empty() {
            String::new()
        } else {
            format!(" + {silver} silver sentences")
        },
        clusters.len()
    );
    model
}

/// One cross-validation fold's F1 per gold corpus: the model as trained, and as it would
/// ship (pruned, quantized, laid out for run time).
#[derive(Debug, Clone)]
pub struct FoldScores {
    /// Model-only F1 of the trained weights, per gold corpus.
    pub model_only: Vec<f64>,
    /// F1 of the shipped form of the same model, per gold corpus.
    pub shipped: Vec<f64>,
    /// Features the shipped form keeps.
    pub shipped_features: usize,
}

/// K-fold cross-validation over the gold corpora (silver is always trained on): fold k
/// holds out the k-th contiguous block of each gold corpus, and training sentences
/// identical to a held-out one (NEMO and BMC share text) are dropped. `on_fold` sees each
/// fold's scores as it ends; the folds' scores are returned.
pub fn cross_validate(
    gaz: &Gazetteer,
    clusters: &WordClusters,
    data: &TrainingData,
    src: &Sources,
    opts: &TrainOptions,
    folds: usize,
    mut on_fold: impl FnMut(usize, &FoldScores),
) -> Vec<FoldScores> {
    let mut out = Vec::with_capacity(folds);
    for fold in 0..folds {
        let (train_gold, held) = split_fold(&data.gold, fold, folds);
        let corpora = training_set(&train_gold, &data.silver, src);
        let mut last = Vec::new();
        let trained = train::train(gaz, clusters, &corpora, &held, &data.multi, opts, |r| {
            if !r.dev_f1.is_empty() {
                last.clone_from(&r.dev_f1);
            }
        });
        let built = Model::new(trained);
        let scores = FoldScores {
            model_only: last,
            shipped: train::model_scores(&built, gaz, clusters, &held),
            shipped_features: built.n_features(),
        };
        on_fold(fold, &scores);
        out.push(scores);
    }
    out
}

/// Fold `fold` of `folds`: (training corpora, held-out corpora). Contiguous blocks: the
/// corpora keep an article's sentences together, so a block fold holds out whole articles
/// and their names (random sentence folds leak them and over-state quality the way the
/// dev sets do).
pub fn split_fold(gold: &[Corpus], fold: usize, folds: usize) -> (Vec<Corpus>, Vec<Corpus>) {
    let mut train_gold = Vec::new();
    let mut held = Vec::new();
    for c in gold {
        let n = c.sentences.len().max(1);
        let (mut tr, mut he) = (Vec::new(), Vec::new());
        for (i, s) in c.sentences.iter().enumerate() {
            if i * folds / n == fold {
                he.push(s.clone());
            } else {
                tr.push(s.clone());
            }
        }
        train_gold.push(Corpus {
            sentences: tr,
            scheme: c.scheme,
        });
        held.push(Corpus {
            sentences: he,
            scheme: c.scheme,
        });
    }
    let held_text: HashSet<String> = held.iter().flat_map(sentence_texts).collect();
    for c in &mut train_gold {
        c.sentences
            .retain(|s| !held_text.contains(&s.tokens.join(" ")));
    }
    (train_gold, held)
}

/// Mean and sample standard deviation.
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64;
    (mean, var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(words: &str) -> Sentence {
        let tokens: Vec<String> = words.split(' ').map(str::to_string).collect();
        Sentence {
            tags: vec!["O".to_string(); tokens.len()],
            tokens,
        }
    }

    fn corpus_of(texts: &[&str], scheme: Scheme) -> Corpus {
        Corpus {
            sentences: texts.iter().map(|t| sentence(t)).collect(),
            scheme,
        }
    }

    fn texts(c: &Corpus) -> Vec<String> {
        sentence_texts(c).collect()
    }

    #[test]
    fn folds_hold_out_contiguous_blocks_and_their_twins() {
        let nemo = corpus_of(&["a", "b", "c", "d"], Scheme::Nemo);
        // BMC shares sentence "a" with NEMO (the corpora share source text).
        let bmc = corpus_of(&["x", "a", "y", "z"], Scheme::Bmc);
        let gold = [nemo, bmc];
        let (train, held) = split_fold(&gold, 0, 2);
        assert_eq!(texts(&held[0]), ["a", "b"]);
        assert_eq!(texts(&held[1]), ["x", "a"]);
        assert_eq!(texts(&train[0]), ["c", "d"]);
        assert_eq!(texts(&train[1]), ["y", "z"]);
        let (train, held) = split_fold(&gold, 1, 2);
        assert_eq!(texts(&held[0]), ["c", "d"]);
        // "a" is held out nowhere in fold 1, so both corpora train on it.
        assert_eq!(texts(&train[0]), ["a", "b"]);
        assert_eq!(texts(&train[1]), ["x", "a"]);
        assert_eq!(held[1].scheme, Scheme::Bmc);
    }

    #[test]
    fn the_training_set_repeats_bmc_and_english_and_ends_with_silver() {
        let gold = [
            corpus_of(&["n"], Scheme::Nemo),
            corpus_of(&["b1", "b2"], Scheme::Bmc),
            corpus_of(&["e"], Scheme::Uner),
            corpus_of(&["g"], Scheme::Gum),
        ];
        let silver = [corpus_of(&["s"], Scheme::Nemo)];
        let src = Sources {
            bmc_repeat: 3,
            english_repeat: 2,
            ..sources(PathBuf::from("nowhere"))
        };
        let set = training_set(&gold, &silver, &src);
        assert_eq!(set.len(), 5);
        assert_eq!(texts(&set[0]), ["n"]);
        assert_eq!(texts(&set[1]), ["b1", "b2", "b1", "b2", "b1", "b2"]);
        assert_eq!(texts(&set[2]), ["e", "e"]);
        assert_eq!(texts(&set[3]), ["g", "g"]);
        assert_eq!(texts(&set[4]), ["s"]);
    }

    #[test]
    fn case_variants_add_one_recased_copy_of_each_english_sentence() {
        let gold = [
            corpus_of(&["n"], Scheme::Nemo),
            corpus_of(&["Ann", "Bo"], Scheme::Uner),
            corpus_of(&["Cy"], Scheme::Gum),
        ];
        let src = Sources {
            case_variants: true,
            ..sources(PathBuf::from("nowhere"))
        };
        let set = training_set(&gold, &[], &src);
        assert_eq!(texts(&set[0]), ["n"]);
        assert_eq!(texts(&set[1]), ["Ann", "Bo", "ANN", "bo"]);
        assert_eq!(texts(&set[2]), ["Cy", "CY"]);
    }

    fn sources(data: PathBuf) -> Sources {
        Sources {
            data,
            exclude: Vec::new(),
            bmc_repeat: 1,
            english_repeat: 1,
            case_variants: false,
            clusters: None,
            name_lists: None,
            silver: Vec::new(),
            iahlt: false,
            english: None,
        }
    }

    #[test]
    fn training_sentences_found_in_held_out_files_are_dropped() {
        let dir = std::env::temp_dir().join(format!("nf-recipe-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("nemo")).unwrap();
        std::fs::create_dir_all(dir.join("bmc")).unwrap();
        let write = |p: &str, text: &str| std::fs::write(dir.join(p), text).unwrap();
        write("nemo/token-single_train.bmes", "א O\nב S-PER\n\nג O\n");
        write("nemo/token-single_dev.bmes", "ג O\n");
        write("bmc/bmc_train.bmes", "ד O\n\nה S-LOC\n");
        write("exclude.bmes", "ה O\n");
        let src = Sources {
            exclude: vec![dir.join("exclude.bmes")],
            ..sources(dir.clone())
        };
        let mut lines = Vec::new();
        let data = read_data(&src, &mut |l| lines.push(l.to_string())).unwrap();
        assert_eq!(texts(&data.gold[0]), ["א ב"]);
        assert_eq!(texts(&data.gold[1]), ["ד"]);
        assert_eq!(data.dev.len(), 1, "the BMC dev file is absent");
        assert!(
            lines[0].contains("nemo: 1 training sentences (1 dropped"),
            "{lines:?}"
        );
        let missing = Sources {
            data: dir.join("nowhere"),
            ..src
        };
        let e = read_data(&missing, &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("nowhere/nemo/token-single_train.bmes"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn mean_and_sample_sd() {
        let (m, sd) = mean_sd(&[1.0, 3.0]);
        assert_eq!(m, 2.0);
        assert!((sd - 2f64.sqrt()).abs() < 1e-12);
        assert_eq!(mean_sd(&[5.0]), (5.0, 0.0));
    }
}
