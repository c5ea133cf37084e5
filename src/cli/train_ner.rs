//! `newsflow train-ner`: train the fast tier's entity-tagging model from the NEMO and BMC
//! corpora (plus IAHLT and silver data when asked), or cross-validate it with `--folds`.

use anyhow::Context as _;
use newsflow::core::tag::fast::clusters::WordClusters;
use newsflow::core::tag::gazetteer::Gazetteer;
use newsflow::core::tag::BUILTIN_GAZETTEER;
use newsflow::training::recipe::{self, FoldScores, Sources, TrainingData};
use newsflow::training::train::{Learner, TrainOptions};
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
    /// Also train on English gold: the folder `scripts/english-gold.py` writes (UNER
    /// EWT dev and GUM's names; its `uner_ewt_test.bmes` is reported as the English dev
    /// set). The model then tags English text itself instead of the capitalisation rules.
    #[arg(long, value_name = "DIR")]
    english: Option<PathBuf>,
    /// How many times each English gold sentence is seen per epoch (with `--english`;
    /// the English gold is a tenth of the Hebrew training data).
    #[arg(long, default_value_t = 1, requires = "english")]
    english_repeat: usize,
    /// Also train on a copy of each English gold sentence in another casing (all
    /// capitals, lower case, headline title case, in turn), so all-capitals headlines and
    /// datelines, Title Case headlines and lower-case posts are read too.
    #[arg(long, requires = "english")]
    case_variants: bool,
    /// Cross-validate over this many folds of the gold training data (silver is always
    /// trained on) and print each fold's F1 and the mean ± sd; writes no model.
    #[arg(long, default_value_t = 0)]
    folds: usize,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opts = TrainOptions {
        epochs: args.epochs,
        seed: args.seed,
        prune: args.prune,
        min_count: args.min_count,
        runs: args.runs,
        learner: if args.crf {
            Learner::Crf {
                rate: args.crf_rate,
                l1: args.crf_l1,
            }
        } else {
            Learner::Perceptron
        },
    };
    let name_lists = if args.no_name_lists {
        None
    } else {
        args.name_lists
            .or_else(|| Some(args.data.join("gazetteers")).filter(|d| d.is_dir()))
    };
    let src = Sources {
        data: args.data,
        exclude: args.exclude,
        bmc_repeat: args.bmc_repeat,
        english_repeat: args.english_repeat,
        case_variants: args.case_variants,
        clusters: (!args.no_clusters).then_some(args.clusters),
        name_lists,
        silver: args.silver,
        iahlt: args.iahlt,
        english: args.english,
    };
    let mut progress = |line: &str| eprintln!("{line}");
    let gaz = Gazetteer::parse(BUILTIN_GAZETTEER)?;
    let clusters = recipe::word_features(
        src.clusters.as_deref(),
        src.name_lists.as_deref(),
        &mut progress,
    )?;
    let data = recipe::read_data(&src, &mut progress)?;
    if args.folds > 1 {
        cross_validate(&gaz, &clusters, &data, &src, &opts, args.folds);
    } else {
        train(&gaz, &clusters, &data, &src, &opts, &args.out)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Trains and writes the model, printing each epoch's dev F1.
fn train(
    gaz: &Gazetteer,
    clusters: &WordClusters,
    data: &TrainingData,
    src: &Sources,
    opts: &TrainOptions,
    out: &Path,
) -> anyhow::Result<()> {
    let TrainOptions {
        epochs, seed, runs, ..
    } = *opts;
    let silver = if data.silver.is_empty() {
        String::new()
    } else {
        format!(" + {} silver", data.silver_sentences())
    };
    let corpora: Vec<String> = data
        .gold
        .iter()
        .zip(&data.gold_names)
        .map(|(c, n)| {
            let times = match src.repeat(c.scheme) {
                1 => String::new(),
                k => format!(" (x{k})"),
            };
            format!("{} {n}{times}", c.sentences.len())
        })
        .collect();
    eprintln!(
        "training on {} sentences{silver}, {epochs} epochs x {runs} runs, seed {seed}",
        corpora.join(" + "),
    );
    let started = Instant::now();
    let model = recipe::train_model(gaz, clusters, data, src, opts, |r| {
        let dev: Vec<String> = r.dev_f1.iter().map(|f| format!("{:.4}", f)).collect();
        let run = if r.run == 0 {
            "mean of runs".to_string()
        } else {
            format!("run {}", r.run)
        };
        eprintln!(
            "{run} epoch {:>2}: {}; dev F1 (model only, {}) {}  [{:.1}s]",
            r.epoch,
            r.fit,
            data.dev_names.join("/"),
            dev.join(" / "),
            started.elapsed().as_secs_f64()
        );
    });
    let secs = started.elapsed().as_secs_f64();
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

/// Cross-validates, printing each fold's F1 per corpus and the mean ± sd.
fn cross_validate(
    gaz: &Gazetteer,
    clusters: &WordClusters,
    data: &TrainingData,
    src: &Sources,
    opts: &TrainOptions,
    k: usize,
) {
    let line = |v: &[f64]| -> String {
        v.iter()
            .zip(&data.gold_names)
            .map(|(f, n)| format!("{n} {:.4}", f))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let started = Instant::now();
    let folds = recipe::cross_validate(gaz, clusters, data, src, opts, k, |fold, s| {
        println!(
            "fold {}/{k}: {}  | shipped model ({} features): {}  [{:.0}s]",
            fold + 1,
            line(&s.model_only),
            s.shipped_features,
            line(&s.shipped),
            started.elapsed().as_secs_f64()
        );
    });
    let summary = |pick: fn(&FoldScores) -> &Vec<f64>| -> String {
        (0..data.gold.len())
            .zip(&data.gold_names)
            .map(|(c, n)| {
                let v: Vec<f64> = folds
                    .iter()
                    .filter_map(|f| pick(f).get(c).copied())
                    .collect();
                let (mean, sd) = recipe::mean_sd(&v);
                format!("{n} {mean:.4} ± {sd:.4}")
            })
            .collect::<Vec<_>>()
            .join("  ")
    };
    println!(
        "cross-validation ({k} folds), model-only F1 mean ± sd: {}",
        summary(|f| &f.model_only)
    );
    println!(
        "cross-validation ({k} folds), shipped model (pruned at {}, quantized) F1 mean ± sd: {}",
        opts.prune,
        summary(|f| &f.shipped)
    );
}
