//! `newsflow ner-eval`: score a tagger tier (or a given model file) on a gold BIOSE file
//! under the NEMO rule, with confidence reliability, unseen-word recall and a baseline check.

use anyhow::{bail, Context as _};
use newsflow::core::tag::{self, FastTagger, Tagger, Tier};
use newsflow::training::bmes::{self, Scheme};
use newsflow::training::casing::{self, Casing};
use newsflow::training::recipe::read_bmes;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Gold file: one `token TAG` a line, blank line between sentences (BIOSE), or a
    /// Universal NER `.iob2` file (tab-separated, IOB2 tags).
    #[arg(long)]
    gold: PathBuf,
    /// Annotation scheme of the gold file: nemo, bmc, uner (Universal NER: PER, ORG and
    /// LOC for any place) or gum (scripts/english-gold.py's GUM names).
    #[arg(long, value_parser = ["nemo", "bmc", "uner", "gum"])]
    scheme: String,
    /// Write predictions in the same format.
    #[arg(long)]
    predictions_out: Option<PathBuf>,
    /// Fail when micro F1 is more than --tolerance below the figure recorded in this
    /// JSON file (e.g. models/ner-eval.json) under --baseline-key.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Key of the recorded figure in the baseline file (default: the gold file's name).
    #[arg(long)]
    baseline_key: Option<String>,
    /// Allowed drop below the recorded F1.
    #[arg(long, default_value_t = 0.05)]
    tolerance: f64,
    /// Entity-tagging tier to evaluate.
    #[arg(long, value_enum, default_value_t)]
    tagger: Tier,
    /// Use this model file instead of the tier's own (fast: the one built into the
    /// binary; accurate: the one found as `newsflow run` finds it).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Training files (repeatable): also report recall on the gold mentions that
    /// contain a word none of them has.
    #[arg(long = "unseen-from")]
    unseen_from: Vec<PathBuf>,

    /// Also read every N consecutive sentences as one article and score it with and without
    /// the article-level coherence step (one type per name, names found again, ...), counting
    /// names tagged with two types in one article
    #[arg(long, value_name = "N")]
    documents: Option<usize>,
    /// Score the gold re-cased: every word in CAPITALS (wire headlines, datelines), lower
    /// case, or headline Title Case; the tags stay (how much a tier leans on capitals)
    #[arg(long, value_parser = ["upper", "lower", "title"])]
    recase: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let tier = args.tagger;
    let gold = args.gold.as_path();
    let scheme = Scheme::parse(&args.scheme).context("--scheme must be nemo, bmc, uner or gum")?;
    let t0 = Instant::now();
    let (tagger, about) = load_tagger(tier, args.model.as_deref())?;
    let load = t0.elapsed();
    let mut sentences = read_bmes(gold)?;
    if sentences.is_empty() {
        bail!("{} has no sentences", gold.display());
    }
    bmes::keep_scheme_categories(&mut sentences, scheme);
    if let Some(c) = args.recase.as_deref().and_then(Casing::parse) {
        sentences = sentences.iter().map(|s| casing::recase(s, c)).collect();
    }
    let r = newsflow::training::eval::evaluate(tagger.as_ref(), &sentences, scheme);
    if let Some(p) = &args.predictions_out {
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
    print_reliability(&r);
    if !args.unseen_from.is_empty() {
        print_unseen_recall(&sentences, &r.predictions, &args.unseen_from)?;
    }
    if let Some(k) = args.documents {
        print_documents(&newsflow::training::eval::evaluate_documents(
            tagger.as_ref(),
            &sentences,
            scheme,
            k,
        ));
    }
    let f1 = r.scores.micro.f1();
    println!(
        "micro P {:.4} R {:.4} F1 {:.4}",
        r.scores.micro.precision(),
        r.scores.micro.recall(),
        f1
    );
    match &args.baseline {
        Some(b) => check_baseline(f1, b, args.baseline_key.as_deref(), gold, args.tolerance),
        None => Ok(ExitCode::SUCCESS),
    }
}

/// The document-level figures of `--documents`.
fn print_documents(d: &newsflow::training::eval::DocumentEval) {
    println!(
        "as {} articles of {} sentences: names with two types {} -> {} with the article-level step; micro F1 {:.4} -> {:.4} (P {:.4} -> {:.4}, R {:.4} -> {:.4})",
        d.documents,
        d.sentences_per_document,
        d.two_types.0,
        d.two_types.1,
        d.without.micro.f1(),
        d.with.micro.f1(),
        d.without.micro.precision(),
        d.with.micro.precision(),
        d.without.micro.recall(),
        d.with.micro.recall(),
    );
}

/// The tier's tagger, from `model` where given, and a line about its model.
fn load_tagger(tier: Tier, model: Option<&Path>) -> anyhow::Result<(Box<dyn Tagger>, String)> {
    Ok(match (tier, model) {
        (Tier::Fast, Some(m)) => {
            let tagger = FastTagger::from_file(m)?;
            let about = tagger.describe();
            (Box::new(tagger), about)
        }
        (Tier::Fast, None) => {
            let tagger = tag::load(tier, None)?;
            let about = tagger.describe();
            (tagger, about)
        }
        (Tier::Accurate, m) => {
            let found = super::accurate_model(m)?;
            let tagger = tag::load(tier, Some(found.source()))?;
            let about = format!("accurate model {found}: {}", tagger.describe());
            (tagger, about)
        }
    })
}

/// Precision of the predicted entities by component and confidence.
fn print_reliability(r: &newsflow::training::eval::EvalResult) {
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
}

/// Recall on the gold mentions with a word none of the training files has.
fn print_unseen_recall(
    gold: &[bmes::Sentence],
    predictions: &[bmes::Sentence],
    training_files: &[PathBuf],
) -> anyhow::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for p in training_files {
        for s in read_bmes(p)? {
            seen.extend(s.tokens);
        }
    }
    let (found, total) = bmes::unseen_recall(gold, predictions, &seen);
    println!(
        "recall on mentions with a word unseen in training: {:.4} ({found} of {total})",
        found as f64 / total.max(1) as f64
    );
    Ok(())
}

/// Fails when `f1` is more than `tolerance` below the figure recorded in `baseline`
/// under `key` (default: the gold file's name).
fn check_baseline(
    f1: f64,
    baseline: &Path,
    key: Option<&str>,
    gold: &Path,
    tolerance: f64,
) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(baseline)
        .with_context(|| format!("reading {}", baseline.display()))?;
    let v: serde_json::Value = serde_json::from_str(&text)?;
    let key = key.map(str::to_string).unwrap_or_else(|| {
        gold.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let Some(recorded) = v
        .get(&key)
        .and_then(|e| e.get("f1"))
        .and_then(|f| f.as_f64())
    else {
        bail!("{} has no {key}.f1", baseline.display());
    };
    if f1 + tolerance < recorded {
        eprintln!(
            "REGRESSION: F1 {f1:.4} is more than {tolerance} below the recorded {recorded:.4} ({key} in {})",
            baseline.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    println!("ok: F1 {f1:.4} vs recorded {recorded:.4} (tolerance {tolerance})");
    Ok(ExitCode::SUCCESS)
}
