//! `newsflow silver`: tag running text with the accurate tier's encoder into silver
//! training data (BIOSE, NEMO scheme) for the fast tier's `train-ner --silver`.

use anyhow::Context as _;
use newsflow::training::bmes;
use newsflow::training::silver;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Text files, one paragraph or sentence a line; `FILE:N` takes N lines spread
    /// evenly over the file (repeatable).
    #[arg(long, required = true)]
    input: Vec<String>,
    /// Output BIOSE file.
    #[arg(long)]
    output: PathBuf,
    /// Drop a chunk when one of its spans has a lower confidence than this.
    #[arg(long, default_value_t = 0.0)]
    min_confidence: f32,
    /// The accurate tier's model file [default: found as `newsflow run` finds it].
    #[arg(long)]
    model: Option<PathBuf>,
    /// Tagging threads (default: the cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Label the English chunks (and skip the others) instead of the Hebrew ones: English
    /// silver, where only persons, organisations, places and events are taught.
    #[arg(long)]
    english: bool,
}

/// `input` holds `FILE` or `FILE:N` (N lines spread over the file).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let Args {
        input,
        output,
        min_confidence,
        model,
        threads,
        english,
    } = args;
    let language = if english {
        silver::Language::English
    } else {
        silver::Language::Hebrew
    };
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let t0 = Instant::now();
    let model = super::accurate_model(model.as_deref())?;
    let bytes: std::borrow::Cow<[u8]> = match &model {
        newsflow::models::Located::File(path) => std::fs::read(path)
            .with_context(|| format!("reading {}", path.display()))?
            .into(),
        newsflow::models::Located::Linked(m) => m.bytes.into(),
    };
    let labeler = newsflow::core::tag::accurate::EncoderLabeler::from_bytes(&bytes)
        .with_context(|| format!("loading {model}"))?;
    let mut texts = Vec::new();
    for spec in &input {
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
    let (sentences, st) = silver::tag_lines(&labeler, &lines, min_confidence, threads, language);
    std::fs::write(&output, bmes::write(&sentences))
        .with_context(|| format!("writing {}", output.display()))?;
    println!(
        "{} lines -> {} chunks, {} tokens, {} mentions ({} chunks dropped below confidence {min_confidence}, {} of the other language or shorter than 3 tokens, {} with a type English silver does not teach) in {:.0}s on {threads} threads ({} kernel) -> {}",
        st.lines,
        st.kept,
        st.tokens,
        st.mentions,
        st.uncertain,
        st.skipped,
        st.untaught,
        t0.elapsed().as_secs_f64(),
        newsflow::core::tag::Labeler::kernel(&labeler),
        output.display()
    );
    Ok(ExitCode::SUCCESS)
}
