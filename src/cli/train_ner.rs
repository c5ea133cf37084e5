//! `newsflow train-ner`: train the fast tier's entity-tagging model from the NEMO and BMC
//! corpora (plus IAHLT and silver data when asked), or cross-validate it with `--folds`.

use super::read_bmes;
use anyhow::Context as _;
use newsflow::core::tag::fast::clusters::WordClusters;
use newsflow::core::tag::gazetteer::Gazetteer;
use newsflow::core::tag::BUILTIN_GAZETTEER;
use newsflow::training::bmes::{self, Scheme};
use newsflow::training::train::{self, Corpus, Learner, TrainOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Directory with nemo/ and bmc/ (the shared data folder).
    #[arg(long, default_value = "../shared/data")]
    data: PathBuf,
    /// Where to write the model (rebuild afterwards to ship it in the binary).
    #[arg(long, default_value = "models/ner.bin")]
    out: PathBuf,
    /// Passes over the training data.
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    /// Shuffling seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Drop averaged weights smaller than this (keeps the model small and fast: with
    /// 4 runs, 0.5 drops 60% of the features at no cost in dev F1).
    #[arg(long, default_value_t = 0.5)]
    prune: f32,
    /// Independent training runs (different shuffles) whose weights are averaged.
    #[arg(long, default_value_t = 4)]
    runs: usize,
    /// Drop features seen fewer times than this in the training data.
    #[arg(long, default_value_t = 1)]
    min_count: u32,
    /// Train a linear-chain CRF (SGD with L1) instead of the averaged perceptron.
    #[arg(long)]
    crf: bool,
    /// CRF: initial learning rate.
    #[arg(long, default_value_t = 0.1)]
    crf_rate: f32,
    /// CRF: L1 regularization strength (higher: smaller model).
    #[arg(long, default_value_t = 1.0)]
    crf_l1: f32,
    /// More BIOSE files whose sentences must not be trained on (the dev splits are
    /// always excluded).
    #[arg(long)]
    exclude: Vec<PathBuf>,
    /// How many times each BMC training sentence is seen per epoch (BMC is the smaller
    /// corpus and closer to current news; 3 gave +1.2 BMC dev F1 for −0.2 on NEMO dev).
    #[arg(long, default_value_t = 3)]
    bmc_repeat: usize,
    /// Word clusters to train with (`word<TAB>c1<TAB>c2<TAB>c3` lines, written by
    /// scripts/word-clusters.py); stored in the model file.
    #[arg(long, default_value = "models/word_clusters.tsv")]
    clusters: PathBuf,
    /// Train without word clusters (for comparison).
    #[arg(long)]
    no_clusters: bool,
    /// Name lists for soft features (`PER_first_names.txt`, `PER_last_names.txt`,
    /// `PER_knesset_members.txt`, `ORG_knesset_factions.txt`, `ORG_gov_ministries.txt`);
    /// default: DATA/gazetteers when it exists. Stored in the model file.
    #[arg(long, value_name = "DIR")]
    name_lists: Option<PathBuf>,
    /// Train without name-list features (for comparison).
    #[arg(long, conflicts_with = "name_lists")]
    no_name_lists: bool,
    /// Silver BIOSE files (NEMO scheme) written by `newsflow silver`, trained on beside
    /// the gold data (repeatable).
    #[arg(long)]
    silver: Vec<PathBuf>,
    /// Also train on IAHLT Knesset train (`iahlt/knesset_ne_train.bmes`, NEMO
    /// categories; its TTL, TIMEX and MISC are left open) and report its dev split.
    #[arg(long)]
    iahlt: bool,
    /// Cross-validate over this many folds of the gold training data (silver is always
    /// trained on) and print each fold's F1 and the mean ± sd; writes no model.
    #[arg(long, default_value_t = 0)]
    folds: usize,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        data,
        out,
        epochs,
        seed,
        prune,
        runs,
        min_count,
        crf,
        crf_rate,
        crf_l1,
        exclude,
        bmc_repeat,
        clusters,
        no_clusters,
        name_lists,
        no_name_lists,
        silver,
        iahlt,
        folds,
    } = args;
    let opts = TrainOptions {
        epochs,
        seed,
        prune,
        min_count,
        runs,
        learner: if crf {
            Learner::Crf {
                rate: crf_rate,
                l1: crf_l1,
            }
        } else {
            Learner::Perceptron
        },
    };
    let name_lists = if no_name_lists {
        None
    } else {
        name_lists.or_else(|| Some(data.join("gazetteers")).filter(|d| d.is_dir()))
    };
    let sources = TrainSources {
        exclude: &exclude,
        bmc_repeat,
        clusters: (!no_clusters).then_some(clusters.as_path()),
        name_lists: name_lists.as_deref(),
        silver: &silver,
        iahlt,
        folds,
    };
    train(&data, &out, &opts, &sources)?;
    Ok(ExitCode::SUCCESS)
}

/// Where `train-ner` reads its training data besides NEMO and BMC train.
struct TrainSources<'a> {
    /// BIOSE files whose sentences are never trained on (besides the dev splits).
    exclude: &'a [PathBuf],
    /// Times each BMC sentence is seen per epoch.
    bmc_repeat: usize,
    /// Word clusters file (None: train without).
    clusters: Option<&'a Path>,
    /// Name-list folder (None: train without name-list features).
    name_lists: Option<&'a Path>,
    /// Silver BIOSE files (NEMO scheme) from `newsflow silver`.
    silver: &'a [PathBuf],
    /// Also train on IAHLT Knesset train (NEMO categories; TTL, TIMEX and MISC left open).
    iahlt: bool,
    /// Cross-validate over this many folds of the gold data instead of training the model.
    folds: usize,
}

/// `newsflow train-ner`.
fn train(
    data: &Path,
    out: &Path,
    opts: &TrainOptions,
    src: &TrainSources<'_>,
) -> anyhow::Result<()> {
    let TrainOptions {
        epochs,
        seed,
        prune,
        min_count,
        runs,
        learner,
    } = *opts;
    let bmc_repeat = src.bmc_repeat;
    let started = Instant::now();
    let gaz = Gazetteer::parse(BUILTIN_GAZETTEER)?;
    let clusters = match src.clusters {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| {
                format!(
                    "reading word clusters {} (or pass --no-clusters)",
                    p.display()
                )
            })?;
            let c = WordClusters::parse_tsv(&text)
                .with_context(|| format!("parsing {}", p.display()))?;
            eprintln!("word clusters: {} words from {}", c.len(), p.display());
            c
        }
        None => WordClusters::empty(),
    };
    let clusters = match src.name_lists {
        Some(dir) => {
            let newsflow::training::name_lists::NameLists {
                flags: names,
                skipped,
            } = newsflow::training::name_lists::load(dir)
                .with_context(|| format!("reading name lists in {}", dir.display()))?;
            eprintln!(
                "name lists: {} words from {}{}",
                names.len(),
                dir.display(),
                if skipped.is_empty() {
                    String::new()
                } else {
                    format!(" (not name lists: {})", skipped.join(", "))
                }
            );
            clusters.with_names(names)
        }
        None => clusters,
    };
    let nemo = data.join("nemo/token-single_train.bmes");
    let multi = data.join("nemo/token-multi_train.bmes");
    let bmc = data.join("bmc/bmc_train.bmes");
    // Gold corpora first (NEMO, BMC, then IAHLT when asked), silver last.
    let mut gold = vec![
        Corpus {
            sentences: read_bmes(&nemo)?,
            scheme: Scheme::Nemo,
        },
        Corpus {
            sentences: read_bmes(&bmc)?,
            scheme: Scheme::Bmc,
        },
    ];
    let mut dev_files = vec![
        ("nemo/token-single_dev.bmes", Scheme::Nemo),
        ("bmc/bmc_dev.bmes", Scheme::Bmc),
    ];
    if src.iahlt {
        gold.push(Corpus {
            sentences: read_bmes(&data.join("iahlt/knesset_ne_train.bmes"))?,
            scheme: Scheme::Nemo,
        });
        dev_files.push(("iahlt/knesset_ne_dev.bmes", Scheme::Nemo));
    }
    let mut silver = Vec::new();
    for p in src.silver {
        silver.push(Corpus {
            sentences: read_bmes(p)?,
            scheme: Scheme::Nemo,
        });
    }

    let mut dev = Vec::new();
    for (f, scheme) in dev_files {
        let p = data.join(f);
        if p.exists() {
            dev.push(Corpus {
                sentences: read_bmes(&p)?,
                scheme,
            });
        }
    }
    // Decontamination: NEMO and BMC share source text (309 of NEMO dev's 500 sentences are
    // in BMC train, 64 of BMC dev's 247 in NEMO train), so training sentences that occur in
    // either dev split (or in --exclude files) are dropped to keep the dev figures honest.
    let mut held_out: std::collections::HashSet<String> = dev
        .iter()
        .flat_map(|c| c.sentences.iter().map(|s| s.tokens.join(" ")))
        .collect();
    for p in src.exclude {
        held_out.extend(read_bmes(p)?.iter().map(|s| s.tokens.join(" ")));
    }
    for (name, c) in ["nemo", "bmc", "iahlt"]
        .iter()
        .zip(gold.iter_mut())
        .chain(std::iter::repeat(&"silver").zip(silver.iter_mut()))
    {
        let before = c.sentences.len();
        c.sentences
            .retain(|s| !held_out.contains(&s.tokens.join(" ")));
        eprintln!(
            "{name}: {} training sentences ({} dropped: they occur in held-out files)",
            c.sentences.len(),
            before - c.sentences.len()
        );
    }
    let multi = if multi.exists() {
        read_bmes(&multi)?
    } else {
        Vec::new()
    };
    if src.folds > 1 {
        return cross_validate(&gaz, &clusters, &gold, &silver, &multi, opts, src);
    }
    let bmc_sentences = gold[1].sentences.len();
    let silver_sentences: usize = silver.iter().map(|c| c.sentences.len()).sum();
    let corpora = training_set(&gold, &silver, bmc_repeat);
    eprintln!(
        "training on {} NEMO + {bmc_sentences} BMC sentences (x{bmc_repeat}){}{}, {epochs} epochs x {runs} runs, seed {seed}",
        gold[0].sentences.len(),
        gold.get(2)
            .map(|c| format!(" + {} IAHLT Knesset", c.sentences.len()))
            .unwrap_or_default(),
        if silver.is_empty() {
            String::new()
        } else {
            format!(" + {silver_sentences} silver")
        },
    );
    let mut model = train::train(&gaz, &clusters, &corpora, &dev, &multi, opts, |r| {
        let dev: Vec<String> = r.dev_f1.iter().map(|f| format!("{:.4}", f)).collect();
        let run = if r.run == 0 {
            "mean of runs".to_string()
        } else {
            format!("run {}", r.run)
        };
        eprintln!(
            "{run} epoch {:>2}: {}; dev F1 (model only, nemo/bmc{}) {}  [{:.1}s]",
            r.epoch,
            r.fit,
            if src.iahlt { "/iahlt" } else { "" },
            dev.join(" / "),
            started.elapsed().as_secs_f64()
        );
    });
    let secs = started.elapsed().as_secs_f64();
    model.info = format!(
        "newsflow {} train-ner: NEMO token-single train + BMC train x{bmc_repeat}{}{} (minus sentences in the dev splits), {} word clusters, {epochs} epochs x {runs} runs, {learner:?}, seed {seed}, prune {prune}, min-count {min_count}; trained in {secs:.1}s",
        newsflow::VERSION,
        if src.iahlt { " + IAHLT Knesset train" } else { "" },
        if silver.is_empty() {
            String::new()
        } else {
            format!(" + {silver_sentences} silver sentences")
        },
        clusters.len()
    );
    let bytes = model.to_bytes();
    std::fs::write(out, &bytes).with_context(|| format!("writing {}", out.display()))?;
    let n_pairs: usize = model.rows.iter().map(|r| r.1.pairs.len()).sum();
    println!(
        "trained in {secs:.1}s: {} features, {} weights, {:.1} MB -> {}",
        model.rows.len(),
        n_pairs,
        bytes.len() as f64 / 1e6,
        out.display()
    );
    println!("rebuild (cargo build --release) to ship the new model in the binary");
    Ok(())
}

/// The corpora one training run sees: gold (BMC `bmc_repeat` times, shuffled apart by the
/// trainer) and silver.
fn training_set(gold: &[Corpus], silver: &[Corpus], bmc_repeat: usize) -> Vec<Corpus> {
    let mut out: Vec<Corpus> = gold.to_vec();
    if let Some(bmc) = out.get_mut(1) {
        let one = bmc.sentences.clone();
        for _ in 1..bmc_repeat.max(1) {
            bmc.sentences.extend(one.iter().cloned());
        }
    }
    out.extend(silver.iter().cloned());
    out
}

/// K-fold cross-validation over the gold corpora (silver is always trained on): fold k
/// holds out the k-th contiguous block of each gold corpus, and training sentences
/// identical to a held-out one (NEMO and BMC share text) are dropped. Prints each fold's
/// model-only F1 per corpus and the mean ± sd.
fn cross_validate(
    gaz: &Gazetteer,
    clusters: &WordClusters,
    gold: &[Corpus],
    silver: &[Corpus],
    multi: &[bmes::Sentence],
    opts: &TrainOptions,
    src: &TrainSources<'_>,
) -> anyhow::Result<()> {
    let k = src.folds;
    let names = ["nemo", "bmc", "iahlt"];
    // Contiguous blocks: the corpora keep an article's sentences together, so a block
    // fold holds out whole articles and their names (random sentence folds leak them
    // and over-state quality the way the dev sets do).
    let fold_of = |c: usize, i: usize| -> usize { i * k / gold[c].sentences.len().max(1) };
    let mut scores: Vec<Vec<f64>> = vec![Vec::new(); gold.len()];
    let mut shipped: Vec<Vec<f64>> = vec![Vec::new(); gold.len()];
    let started = Instant::now();
    for fold in 0..k {
        let mut train_gold = Vec::new();
        let mut held = Vec::new();
        for (ci, c) in gold.iter().enumerate() {
            let (mut tr, mut he) = (Vec::new(), Vec::new());
            for (i, s) in c.sentences.iter().enumerate() {
                if fold_of(ci, i) == fold {
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
        let held_text: std::collections::HashSet<String> = held
            .iter()
            .flat_map(|c| c.sentences.iter().map(|s| s.tokens.join(" ")))
            .collect();
        for c in &mut train_gold {
            c.sentences
                .retain(|s| !held_text.contains(&s.tokens.join(" ")));
        }
        let corpora = training_set(&train_gold, silver, src.bmc_repeat);
        let mut last = Vec::new();
        let data = train::train(gaz, clusters, &corpora, &held, multi, opts, |r| {
            if !r.dev_f1.is_empty() {
                last.clone_from(&r.dev_f1);
            }
        });
        // The same fold scored with the model as it would ship: pruned (`--prune`),
        // quantized and laid out for run time.
        let built = newsflow::core::tag::fast::linear::Model::new(data);
        let as_shipped = train::model_scores(&built, gaz, clusters, &held);
        let line = |v: &[f64]| -> String {
            v.iter()
                .zip(names)
                .map(|(f, n)| format!("{n} {:.4}", f))
                .collect::<Vec<_>>()
                .join("  ")
        };
        println!(
            "fold {}/{k}: {}  | shipped model ({} features): {}  [{:.0}s]",
            fold + 1,
            line(&last),
            built.n_features(),
            line(&as_shipped),
            started.elapsed().as_secs_f64()
        );
        for (s, f) in scores.iter_mut().zip(&last) {
            s.push(*f);
        }
        for (s, f) in shipped.iter_mut().zip(&as_shipped) {
            s.push(*f);
        }
    }
    let summary = |scores: &[Vec<f64>]| -> String {
        scores
            .iter()
            .zip(names)
            .map(|(s, n)| {
                let mean = s.iter().sum::<f64>() / s.len().max(1) as f64;
                let var =
                    s.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (s.len().max(2) - 1) as f64;
                format!("{n} {:.4} ± {:.4}", mean, var.sqrt())
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!(
        "cross-validation ({k} folds), model-only F1 mean ± sd: {}",
        summary(&scores)
    );
    println!(
        "cross-validation ({k} folds), shipped model (pruned at {}, quantized) F1 mean ± sd: {}",
        opts.prune,
        summary(&shipped)
    );
    Ok(())
}
