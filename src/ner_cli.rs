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
pub fn train(
    data: &Path,
    out: &Path,
    opts: &TrainOptions,
    exclude: &[std::path::PathBuf],
    bmc_repeat: usize,
    clusters: Option<&Path>,
) -> anyhow::Result<()> {
    let TrainOptions {
        epochs,
        seed,
        prune,
        min_count,
        runs,
        learner,
    } = *opts;
    let started = Instant::now();
    let gaz = Gazetteer::parse(BUILTIN_GAZETTEER)?;
    let clusters = match clusters {
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
    let nemo = data.join("nemo/token-single_train.bmes");
    let multi = data.join("nemo/token-multi_train.bmes");
    let bmc = data.join("bmc/bmc_train.bmes");
    let mut corpora = vec![
        Corpus {
            sentences: read_bmes(&nemo)?,
            scheme: Scheme::Nemo,
        },
        Corpus {
            sentences: read_bmes(&bmc)?,
            scheme: Scheme::Bmc,
        },
    ];

    let mut dev = Vec::new();
    for (f, scheme) in [
        ("nemo/token-single_dev.bmes", Scheme::Nemo),
        ("bmc/bmc_dev.bmes", Scheme::Bmc),
    ] {
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
    for p in exclude {
        held_out.extend(read_bmes(p)?.iter().map(|s| s.tokens.join(" ")));
    }
    for c in &mut corpora {
        let before = c.sentences.len();
        c.sentences
            .retain(|s| !held_out.contains(&s.tokens.join(" ")));
        eprintln!(
            "{}: dropped {} training sentences that occur in held-out files",
            c.scheme.as_str(),
            before - c.sentences.len()
        );
    }
    // BMC is oversampled: every sentence appears `bmc_repeat` times (shuffled apart).
    let bmc_sentences = corpora[1].sentences.len();
    let one = corpora[1].sentences.clone();
    for _ in 1..bmc_repeat.max(1) {
        corpora[1].sentences.extend(one.iter().cloned());
    }
    let multi = if multi.exists() {
        read_bmes(&multi)?
    } else {
        Vec::new()
    };
    eprintln!(
        "training on {} NEMO + {bmc_sentences} BMC sentences (x{bmc_repeat}), {epochs} epochs x {runs} runs, seed {seed}",
        corpora[0].sentences.len(),
    );
    let mut model = train::train(&gaz, &clusters, &corpora, &dev, &multi, opts, |r| {
        let dev: Vec<String> = r.dev_f1.iter().map(|f| format!("{:.4}", f)).collect();
        let run = if r.run == 0 {
            "mean of runs".to_string()
        } else {
            format!("run {}", r.run)
        };
        eprintln!(
            "{run} epoch {:>2}: {}; dev F1 (model only, nemo/bmc) {}  [{:.1}s]",
            r.epoch,
            r.fit,
            dev.join(" / "),
            started.elapsed().as_secs_f64()
        );
    });
    let secs = started.elapsed().as_secs_f64();
    model.info = format!(
        "newsflow {} train-ner: NEMO token-single train + BMC train x{bmc_repeat} (minus sentences in the dev splits), {} word clusters, {epochs} epochs x {runs} runs, {learner:?}, seed {seed}, prune {prune}, min-count {min_count}; trained in {secs:.1}s",
        newsflow::VERSION,
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
