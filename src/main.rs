//! newsflow command line: `run`, `demo`, `process`, `check-config`, `train-ner`, `ner-eval`.

mod ner_cli;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use newsflow::config::{Config, LogConfig, LogFormat};
use newsflow::core::Context;
use newsflow::telemetry::{self, Telemetry};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "newsflow",
    version,
    about = "Raw scraped articles in from Kafka, enriched entity-tagged records out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service: consume the raw topic, enrich, produce to the output topic and DLQ.
    Run {
        /// Configuration file (TOML). Environment overrides NEWSFLOW_SECTION__KEY apply.
        #[arg(long, env = "NEWSFLOW_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the whole service path against an embedded broker with the built-in samples.
    Demo {
        /// Keep running with /metrics, /healthz and /readyz up after printing.
        #[arg(long)]
        serve: bool,
        /// Publish the samples N times and report throughput instead of printing records.
        #[arg(long, default_value_t = 1)]
        repeat: usize,
        /// Listen address of the endpoints with --serve.
        #[arg(long, default_value = "127.0.0.1:9464")]
        listen: String,
        /// Entity-tagging tier: fast or accurate.
        #[arg(long, default_value = "accurate", value_parser = ["fast", "accurate"])]
        tagger: String,
    },
    /// Enrich files (JSON lines, JSON, plain text or HTML) into a JSON-lines file.
    Process {
        /// Input file or directory.
        #[arg(long)]
        input: PathBuf,
        /// Output JSON-lines file; rejects go to OUTPUT.rejects.jsonl.
        #[arg(long)]
        output: PathBuf,
        /// Configuration file (TOML); `process` uses its `[pipeline]` and `[dedup]` settings
        /// (size limit, dedup window). Defaults and env overrides without it.
        #[arg(long, env = "NEWSFLOW_CONFIG")]
        config: Option<PathBuf>,
        /// Entity-tagging tier, overriding `[tagger] mode`: fast or accurate.
        #[arg(long, value_parser = ["fast", "accurate"])]
        tagger: Option<String>,
    },
    /// Move dead-lettered records back to the raw topic after a fix (per-filter progress is
    /// committed, so a second run only re-drives new DLQ records).
    Redrive {
        /// Configuration file (TOML): brokers, topics, group id, security.
        #[arg(long, env = "NEWSFLOW_CONFIG")]
        config: Option<PathBuf>,
        /// Only records with this error kind (repeatable); default: all kinds.
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Count what would be re-driven; produce and commit nothing.
        #[arg(long)]
        dry_run: bool,
        /// Stop after re-driving this many records.
        #[arg(long)]
        max: Option<usize>,
    },
    /// Validate a configuration file and print the effective configuration (secrets redacted).
    CheckConfig {
        /// Configuration file (TOML).
        #[arg(long, env = "NEWSFLOW_CONFIG")]
        config: PathBuf,
    },
    /// Train the entity-tagging model from the NEMO and BMC corpora (train splits).
    TrainNer {
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
    },
    /// Tag running text with the accurate tier's encoder into silver training data for the
    /// fast tier (BIOSE, NEMO scheme): `newsflow train-ner --silver FILE` reads it.
    Silver {
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
        /// The accurate tier's model file.
        #[arg(long, default_value = newsflow::core::tag::accurate::DEFAULT_MODEL_PATH)]
        model: PathBuf,
        /// Tagging threads (default: the cores).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Evaluate the production tagger on a gold BIOSE file (NEMO scoring rule).
    NerEval {
        /// Gold file: one `token TAG` a line, blank line between sentences.
        #[arg(long)]
        gold: PathBuf,
        /// Annotation scheme of the gold file: nemo or bmc.
        #[arg(long, value_parser = ["nemo", "bmc"])]
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
        /// Entity-tagging tier to evaluate: fast or accurate.
        #[arg(long, default_value = "fast", value_parser = ["fast", "accurate"])]
        tagger: String,
        /// Use this model file instead of the tier's own (fast: the one built into the
        /// binary; accurate: models/ner-accurate.bin).
        #[arg(long)]
        model: Option<PathBuf>,
        /// Training files (repeatable): also report recall on the gold mentions that
        /// contain a word none of them has.
        #[arg(long = "unseen-from")]
        unseen_from: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Bound on waiting for the async runtime's remaining tasks when the process exits.
const RUNTIME_SHUTDOWN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("newsflow-io")
        .build()
        .context("starting the async runtime")
}

/// Cancels the token on SIGTERM or SIGINT.
fn spawn_signal_handler(token: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::error!("cannot install signal handlers");
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        token.cancel();
    });
}

/// Logs the loaded tagger tier and how it computes; warns when the accurate tier has no
/// int8 kernel on this CPU (it then runs at about a fifth of its speed).
fn log_tagger(tagger: &dyn newsflow::core::tag::Tagger) {
    let (tier, kernel) = (tagger.tier(), tagger.kernel());
    if kernel == "f32" {
        tracing::warn!(
            %tier,
            kernel,
            "this CPU lacks AVX-512 VNNI: the accurate tier runs f32 products, about a fifth \
             of its speed; size the workers for it or set [tagger] mode = \"fast\""
        );
    } else {
        tracing::info!(%tier, kernel, "entity tagger loaded");
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run { config } => {
            let config = Config::load(config.as_deref())?;
            telemetry::logging::init(&config.log);
            let ctx = Arc::new(Context::for_config(&config)?);
            log_tagger(ctx.tagger.as_ref());
            let rt = runtime()?;
            let result = rt.block_on(async move {
                let telemetry = Arc::new(Telemetry::new());
                let shutdown = CancellationToken::new();
                spawn_signal_handler(shutdown.clone());
                let http_stop = CancellationToken::new();
                if !config.http.listen.is_empty() {
                    let addr = config.http.listen.parse()?;
                    let (bound, _) =
                        telemetry::http::serve(addr, telemetry.clone(), http_stop.clone())
                            .await
                            .with_context(|| format!("binding the HTTP endpoints on {addr}"))?;
                    tracing::info!(%bound, "endpoints listening");
                }
                let result = newsflow::runtime::run(&config, ctx, telemetry, shutdown).await;
                http_stop.cancel();
                result
            });
            // A thread still inside a librdkafka call (brokers gone) must not keep the
            // process from exiting.
            rt.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
            result?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            serve,
            repeat,
            listen,
            tagger,
        } => {
            telemetry::logging::init(&LogConfig {
                format: LogFormat::Text,
                level: "error".into(),
            });
            let rt = runtime()?;
            let opts = newsflow::demo::DemoOptions {
                serve,
                repeat,
                listen,
                tagger: tagger.parse().map_err(anyhow::Error::msg)?,
            };
            let report = rt.block_on(async {
                let shutdown = CancellationToken::new();
                spawn_signal_handler(shutdown.clone());
                newsflow::demo::run_demo(&opts, shutdown).await
            });
            rt.shutdown_timeout(RUNTIME_SHUTDOWN_TIMEOUT);
            let report = report?;
            print_demo(&report, repeat);
            Ok(ExitCode::SUCCESS)
        }
        Command::Process {
            input,
            output,
            config,
            tagger,
        } => {
            let mut config = Config::load(config.as_deref())?;
            if let Some(t) = tagger {
                config.tagger.mode = t.parse().map_err(anyhow::Error::msg)?;
            }
            let ctx = Context::for_config(&config)?;
            let started = std::time::Instant::now();
            let s = newsflow::process::process_path(&input, &output, &ctx)?;
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "{} files, {} enriched, {} rejected ({}) in {:.2}s ({:.0} records/s)",
                s.files,
                s.enriched,
                s.rejected,
                newsflow::process::rejects_path(&output).display(),
                secs,
                (s.enriched + s.rejected) as f64 / secs.max(1e-9)
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Redrive {
            config,
            kinds,
            dry_run,
            max,
        } => {
            let config = Config::load(config.as_deref())?;
            telemetry::logging::init(&LogConfig {
                format: LogFormat::Text,
                level: "warn".into(),
            });
            let opts = newsflow::redrive::RedriveOptions {
                kinds,
                dry_run,
                max,
            };
            let group = newsflow::redrive::group_for(&config, &opts.kinds);
            let report = runtime()?.block_on(newsflow::redrive::redrive(&config, &opts))?;
            let verb = if dry_run {
                "would re-drive"
            } else {
                "re-drove"
            };
            let total: usize = report.redriven.values().sum();
            println!(
                "{verb} {total} record(s) from {} to {} (group {group})",
                config.kafka.dlq_topic, config.kafka.input_topic
            );
            for (kind, n) in &report.redriven {
                println!("  {kind:<16} {n}");
            }
            let skipped: usize = report.skipped.values().sum();
            if skipped > 0 {
                println!("skipped {skipped} record(s) of other kinds");
            }
            if report.omitted > 0 {
                println!(
                    "{} record(s) had their payload omitted from the DLQ and cannot be re-driven",
                    report.omitted
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::TrainNer {
            data,
            out,
            epochs,
            seed,
            prune,
            min_count,
            runs,
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
        } => {
            use newsflow::training::train::Learner;
            let opts = newsflow::training::train::TrainOptions {
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
            let sources = ner_cli::TrainSources {
                exclude: &exclude,
                bmc_repeat,
                clusters: (!no_clusters).then_some(clusters.as_path()),
                name_lists: name_lists.as_deref(),
                silver: &silver,
                iahlt,
                folds,
            };
            ner_cli::train(&data, &out, &opts, &sources)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Silver {
            input,
            output,
            min_confidence,
            model,
            threads,
        } => {
            let threads = threads.unwrap_or_else(|| {
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
            });
            ner_cli::silver(&input, &output, min_confidence, &model, threads)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::NerEval {
            gold,
            scheme,
            predictions_out,
            baseline,
            baseline_key,
            tolerance,
            tagger,
            model,
            unseen_from,
        } => ner_cli::eval(
            tagger.parse().map_err(anyhow::Error::msg)?,
            &gold,
            &scheme,
            predictions_out.as_deref(),
            baseline.as_deref(),
            baseline_key.as_deref(),
            tolerance,
            model.as_deref(),
            &unseen_from,
        ),
        Command::CheckConfig { config } => {
            let c = Config::load(Some(&config))?;
            let t0 = std::time::Instant::now();
            let model = std::path::Path::new(&c.tagger.accurate_model);
            newsflow::core::tag::load(c.tagger.mode, model)
                .with_context(|| format!("tagger mode {}", c.tagger.mode))?;
            let lists = newsflow::core::watchlist::Watchlists::from_files(&c.watchlists.files)?;
            for l in lists.lists() {
                println!("# watchlist {} ({}): {} entries", l.name, l.path, l.entries);
            }
            println!(
                "# tagger {} loads ({:.0} ms)",
                c.tagger.mode,
                t0.elapsed().as_secs_f64() * 1e3
            );
            println!("# {} is valid; effective configuration:", config.display());
            print!("{}", c.to_redacted_toml());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_demo(report: &newsflow::demo::DemoReport, repeat: usize) {
    if repeat <= 1 {
        for rec in &report.enriched {
            match serde_json::from_str::<serde_json::Value>(rec) {
                Ok(v) => println!(
                    "{}",
                    serde_json::to_string_pretty(&v).unwrap_or_else(|_| rec.clone())
                ),
                Err(_) => println!("{rec}"),
            }
        }
    }
    if repeat <= 1 {
        println!(
            "--- alerts topic (watchlist hits, samples/watchlist.jsonl): {} alert(s)",
            report.alerts.len()
        );
        for a in &report.alerts {
            println!("  {a}");
        }
    }
    println!(
        "--- dead-letter topic: {} record(s)",
        report.dead_letters.len()
    );
    if repeat <= 1 {
        for (kind, message, len) in &report.dead_letters {
            println!("  {kind:<16} {len:>6} bytes  {message}");
        }
    } else {
        let mut kinds = std::collections::BTreeMap::<&str, usize>::new();
        for (kind, _, _) in &report.dead_letters {
            *kinds.entry(kind).or_default() += 1;
        }
        for (k, n) in kinds {
            println!("  {k:<16} {n}");
        }
    }
    let n = report.enriched.len() + report.dead_letters.len();
    print!(
        "--- {} enriched, {} dead-lettered, {n} articles in {:.2}s including the consumer-group join",
        report.enriched.len(),
        report.dead_letters.len(),
        report.elapsed.as_secs_f64(),
    );
    if repeat > 1 {
        print!(
            "; {:.0} articles/s from first to last record through the embedded broker",
            (n.saturating_sub(1)) as f64 / report.steady.as_secs_f64().max(1e-9)
        );
    }
    println!();
}
