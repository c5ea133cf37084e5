//! `train-ner` and `ner-eval`: file handling and reporting around `core::tag`.

use anyhow::{bail, Context as _};
use newsflow::core::tag::accurate::DEFAULT_MODEL_PATH;
use newsflow::core::tag::clusters::WordClusters;
use newsflow::core::tag::gazetteer::Gazetteer;
use newsflow::core::tag::{AccurateTagger, FastTagger, Tagger, Tier, BUILTIN_GAZETTEER};
use newsflow::training::bmes::{self, Scheme};
use newsflow::training::train::{self, Corpus, TrainOptions};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

fn read_bmes(path: &Path) -> anyhow::Result<Vec<bmes::Sentence>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(bmes::parse(&text))
}

/// `newsflow train-ner`.
/// Where `train-ner` reads its training data besides NEMO and BMC train.
pub struct TrainSources<'a> {
    /// BIOSE files whose sentences are never trained on (besides the dev splits).
    pub exclude: &'a [std::path::PathBuf],
    /// Times each BMC sentence is seen per epoch.
    pub bmc_repeat: usize,
    /// Word clusters file (None: train without).
    pub clusters: Option<&'a Path>,
    /// Name-list folder (None: train without name-list features).
    pub name_lists: Option<&'a Path>,
    /// Silver BIOSE files (NEMO scheme) from `newsflow silver`.
    pub silver: &'a [std::path::PathBuf],
    /// Also train on IAHLT Knesset train (NEMO categories; TTL, TIMEX and MISC left open).
    pub iahlt: bool,
    /// Cross-validate over this many folds of the gold data instead of training the model.
    pub folds: usize,
}

/// `newsflow train-ner`.
pub fn train(
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
        let built = newsflow::core::tag::linear::Model::new(data);
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

/// `newsflow silver`: `inputs` are `FILE` or `FILE:N` (N lines spread over the file).
pub fn silver(
    inputs: &[String],
    output: &Path,
    min_confidence: f32,
    model: &Path,
    threads: usize,
) -> anyhow::Result<()> {
    use newsflow::training::silver;
    let t0 = Instant::now();
    let bytes = std::fs::read(model).with_context(|| format!("reading {}", model.display()))?;
    let labeler = newsflow::core::tag::accurate::EncoderLabeler::from_bytes(&bytes)
        .with_context(|| format!("loading {}", model.display()))?;
    let mut texts = Vec::new();
    for spec in inputs {
        let (path, count) = match spec.rsplit_once(':') {
            Some((p, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
                (p, Some(n.parse::<usize>().context("--input FILE:N")?))
            }
            _ => (spec.as_str(), None),
        };
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
        texts.push((path.to_string(), text, count));
    }
    let mut lines: Vec<&str> = Vec::new();
    for (path, text, count) in &texts {
        let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let picked = silver::spread(&all, count.unwrap_or(all.len()));
        eprintln!("{path}: {} of {} lines", picked.len(), all.len());
        lines.extend(picked);
    }
    let (sentences, st) = silver::tag_lines(&labeler, &lines, min_confidence, threads);
    std::fs::write(output, bmes::write(&sentences))
        .with_context(|| format!("writing {}", output.display()))?;
    println!(
        "{} lines -> {} chunks, {} tokens, {} mentions ({} chunks dropped below confidence {min_confidence}, {} English or shorter than 3 tokens) in {:.0}s on {threads} threads ({} kernel) -> {}",
        st.lines,
        st.kept,
        st.tokens,
        st.mentions,
        st.uncertain,
        st.skipped,
        t0.elapsed().as_secs_f64(),
        newsflow::core::tag::Labeler::kernel(&labeler),
        output.display()
    );
    Ok(())
}

/// `newsflow ner-eval`.
#[allow(clippy::too_many_arguments)]
pub fn eval(
    tier: Tier,
    gold: &Path,
    scheme: &str,
    predictions_out: Option<&Path>,
    baseline: Option<&Path>,
    baseline_key: Option<&str>,
    tolerance: f64,
    model: Option<&Path>,
    unseen_from: &[std::path::PathBuf],
) -> anyhow::Result<ExitCode> {
    let scheme = Scheme::parse(scheme).context("--scheme must be nemo or bmc")?;
    let t0 = Instant::now();
    let (tagger, about): (Box<dyn Tagger>, String) = match (tier, model) {
        (Tier::Fast, Some(m)) => {
            let bytes = std::fs::read(m).with_context(|| format!("reading {}", m.display()))?;
            let model = newsflow::core::tag::linear::Model::from_bytes(&bytes)
                .with_context(|| format!("loading {}", m.display()))?;
            let t = FastTagger::from_parts(Gazetteer::parse(BUILTIN_GAZETTEER)?, model);
            let about = fast_about(&t, bytes.len());
            (Box::new(t), about)
        }
        (Tier::Fast, None) => {
            let t = FastTagger::builtin()?;
            let about = fast_about(&t, newsflow::core::tag::BUILTIN_MODEL.len());
            (Box::new(t), about)
        }
        (Tier::Accurate, m) => {
            let path = m.unwrap_or(Path::new(DEFAULT_MODEL_PATH));
            let t = AccurateTagger::load(path)?;
            let about = format!(
                "accurate model {}: {:.1} MB file, {:.1} MB in memory",
                path.display(),
                t.labeler().file_bytes as f64 / 1e6,
                t.labeler().memory_bytes() as f64 / 1e6
            );
            (Box::new(t), about)
        }
    };
    let load = t0.elapsed();
    let mut sentences = read_bmes(gold)?;
    if sentences.is_empty() {
        bail!("{} has no sentences", gold.display());
    }
    bmes::keep_scheme_categories(&mut sentences, scheme);
    let r = newsflow::training::eval::evaluate(tagger.as_ref(), &sentences, scheme);
    if let Some(p) = predictions_out {
        std::fs::write(p, bmes::write(&r.predictions))
            .with_context(|| format!("writing {}", p.display()))?;
    }
    println!(
        "{} ({} scheme): {} sentences, {} tokens; tagger loaded in {:.0} ms, tagged in {:.0} ms",
        gold.display(),
        scheme.as_str(),
        sentences.len(),
        r.tokens,
        load.as_secs_f64() * 1e3,
        r.elapsed.as_secs_f64() * 1e3
    );
    println!("tagger {tier}: {about}");
    print!("{}", bmes::format_scores(&r.scores));
    println!("confidence reliability (predicted entities by component and confidence; correct = same tokens and type as a gold mention):");
    println!(
        "{:<10} {:>11} {:>9} {:>8} {:>9}",
        "component", "confidence", "entities", "correct", "precision"
    );
    for ((source, bin), b) in &r.reliability {
        let (lo, hi) = newsflow::training::eval::CONFIDENCE_BINS[*bin];
        println!(
            "{:<10} {:>11} {:>9} {:>8} {:>8.1}%",
            format!("{source:?}").to_lowercase(),
            format!("{lo:.2}-{:.2}", hi.min(1.0)),
            b.predicted,
            b.correct,
            100.0 * b.correct as f64 / b.predicted.max(1) as f64
        );
    }
    if !unseen_from.is_empty() {
        let mut seen = std::collections::HashSet::new();
        for p in unseen_from {
            for s in read_bmes(p)? {
                seen.extend(s.tokens);
            }
        }
        let (found, total) = bmes::unseen_recall(&sentences, &r.predictions, &seen);
        println!(
            "recall on mentions with a word unseen in training: {:.4} ({found} of {total})",
            found as f64 / total.max(1) as f64
        );
    }
    let f1 = r.scores.micro.f1();
    println!(
        "micro P {:.4} R {:.4} F1 {:.4}",
        r.scores.micro.precision(),
        r.scores.micro.recall(),
        f1
    );
    if let Some(b) = baseline {
        let text =
            std::fs::read_to_string(b).with_context(|| format!("reading {}", b.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)?;
        let key = baseline_key.map(str::to_string).unwrap_or_else(|| {
            gold.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        let Some(recorded) = v
            .get(&key)
            .and_then(|e| e.get("f1"))
            .and_then(|f| f.as_f64())
        else {
            bail!("{} has no {key}.f1", b.display());
        };
        if f1 + tolerance < recorded {
            eprintln!(
                "REGRESSION: F1 {f1:.4} is more than {tolerance} below the recorded {recorded:.4} ({key} in {})",
                b.display()
            );
            return Ok(ExitCode::FAILURE);
        }
        println!("ok: F1 {f1:.4} vs recorded {recorded:.4} (tolerance {tolerance})");
    }
    Ok(ExitCode::SUCCESS)
}

fn fast_about(t: &FastTagger, file_bytes: usize) -> String {
    format!(
        "{} features, {:.1} MB file, {:.1} MB in memory ({})",
        t.model().n_features(),
        file_bytes as f64 / 1e6,
        t.model().memory_bytes() as f64 / 1e6,
        t.model().info
    )
}
