//! `newsflow process`: enrich files (JSON lines, JSON, plain text or HTML) into a
//! JSON-lines file, rejects beside it, without Kafka. A backfill: progress on a terminal
//! (a bar) or in the log (a line every few seconds), `--workers` threads, and a clean stop
//! on Ctrl-C that says where to resume.

use indicatif::{ProgressBar, ProgressStyle};
use newsflow::config::Config;
use newsflow::core::tag::Tier;
use newsflow::process::{ProcessOptions, ProcessProgress, ProcessSummary};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Input file or directory.
    #[arg(long)]
    input: PathBuf,
    /// Output JSON-lines file; rejects go to OUTPUT.rejects.jsonl.
    #[arg(long)]
    output: PathBuf,
    /// Configuration file (TOML); `process` uses its `[tagger]`, `[pipeline]` and `[dedup]`
    /// settings (tier, size limit, dedup window). Defaults and env overrides without it.
    #[arg(long, env = "NEWSFLOW_CONFIG")]
    config: Option<PathBuf>,
    /// Entity-tagging tier, overriding `[tagger] mode`.
    #[arg(long, value_enum)]
    tagger: Option<Tier>,
    /// Threads enriching records (output stays in input order).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    workers: u16,
    /// Pass over the first N records (resume an interrupted run; its summary gives N).
    #[arg(long, default_value_t = 0)]
    skip: u64,
    /// Append to OUTPUT and its rejects file instead of replacing them (with --skip).
    #[arg(long)]
    append: bool,
    /// Seconds between progress lines when stderr is not a terminal (0: none).
    #[arg(long, default_value_t = 5)]
    progress_every: u64,
}

/// Exit status of a run stopped by a signal (128 + SIGINT, as shells report it).
const INTERRUPTED: u8 = 130;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = Config::load(args.config.as_deref())?;
    if let Some(t) = args.tagger {
        config.tagger.mode = t;
    }
    let ctx = newsflow::app::build_context(&config, super::linked_model())?;
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once.
        signal_hook::flag::register_conditional_shutdown(
            signal,
            i32::from(INTERRUPTED),
            stop.clone(),
        )?;
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let opts = ProcessOptions {
        workers: usize::from(args.workers),
        skip: args.skip,
        append: args.append,
        stop: &stop,
    };
    let started = Instant::now();
    let mut report = Report::new(args.progress_every);
    let s = newsflow::process::process_path(&args.input, &args.output, &ctx, &opts, &mut |p| {
        report.progress(p)
    })?;
    report.finish();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "{} files, {} enriched, {} rejected ({}) in {:.2}s ({:.0} records/s)",
        s.files,
        s.enriched,
        s.rejected,
        newsflow::process::rejects_path(&args.output).display(),
        secs,
        (s.enriched + s.rejected) as f64 / secs.max(1e-9)
    );
    if s.interrupted {
        eprintln!("{}", resume_hint(&args.input, &args.output, &s));
        return Ok(ExitCode::from(INTERRUPTED));
    }
    Ok(ExitCode::SUCCESS)
}

/// The line that says where an interrupted run resumes.
fn resume_hint(input: &std::path::Path, output: &std::path::Path, s: &ProcessSummary) -> String {
    format!(
        "interrupted: the first {n} records are done (output and rejects hold whole lines); \
         resume with: newsflow process --input {} --output {} --skip {n} --append",
        input.display(),
        output.display(),
        n = s.position()
    )
}

/// Where progress goes: a bar on a terminal, else a line every `every` seconds.
enum Report {
    Bar(ProgressBar, Instant),
    Lines {
        every: Option<Duration>,
        last: Instant,
        started: Instant,
    },
}

impl Report {
    fn new(every_secs: u64) -> Report {
        let now = Instant::now();
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {percent:>3}% {msg} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            Report::Bar(bar, now)
        } else {
            Report::Lines {
                every: (every_secs > 0).then(|| Duration::from_secs(every_secs)),
                last: now,
                started: now,
            }
        }
    }

    fn progress(&mut self, p: &ProcessProgress) {
        match self {
            Report::Bar(bar, started) => {
                bar.set_length(p.bytes_total);
                bar.set_position(p.bytes_done);
                bar.set_message(counts(p, started.elapsed()));
            }
            Report::Lines {
                every: Some(every),
                last,
                started,
            } if last.elapsed() >= *every => {
                *last = Instant::now();
                let eta = eta(p, started.elapsed())
                    .map(|d| format!(", ETA {}", indicatif::HumanDuration(d)))
                    .unwrap_or_default();
                eprintln!(
                    "progress: {}, {:.1}% of input bytes{eta}",
                    counts(p, started.elapsed()),
                    100.0 * p.bytes_done as f64 / (p.bytes_total.max(1)) as f64
                );
            }
            Report::Lines { .. } => {}
        }
    }

    fn finish(&self) {
        if let Report::Bar(bar, _) = self {
            bar.finish();
        }
    }
}

/// `N articles (R rejected), X/s`.
fn counts(p: &ProcessProgress, elapsed: Duration) -> String {
    let s = &p.summary;
    let done = s.enriched + s.rejected;
    format!(
        "{done} articles ({} rejected), {:.1}/s",
        s.rejected,
        done as f64 / elapsed.as_secs_f64().max(1e-9)
    )
}

/// Time left at the rate of the input bytes so far.
fn eta(p: &ProcessProgress, elapsed: Duration) -> Option<Duration> {
    let skipped_bytes_unknown = p.bytes_done == 0;
    if skipped_bytes_unknown || p.bytes_done >= p.bytes_total {
        return None;
    }
    let rate = p.bytes_done as f64 / elapsed.as_secs_f64().max(1e-9);
    Some(Duration::from_secs_f64(
        (p.bytes_total - p.bytes_done) as f64 / rate,
    ))
}
