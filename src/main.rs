//! newsflow command line: `run`, `demo`, `process`, `check-config`, `train-ner`, `ner-eval`.

mod cli;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    Run(cli::run::Args),
    /// Run the whole service path against an embedded broker with the built-in samples.
    Demo(cli::demo::Args),
    /// Enrich files (JSON lines, JSON, plain text or HTML) into a JSON-lines file.
    Process(cli::process::Args),
    /// Move dead-lettered records back to the raw topic after a fix (per-filter progress is
    /// committed, so a second run only re-drives new DLQ records).
    Redrive(cli::redrive::Args),
    /// Validate a configuration file and print the effective configuration (secrets redacted).
    CheckConfig(cli::check_config::Args),
    /// Train the entity-tagging model from the NEMO and BMC corpora (train splits).
    TrainNer(cli::train_ner::Args),
    /// Tag running text with the accurate tier's encoder into silver training data for the
    /// fast tier (BIOSE, NEMO scheme): `newsflow train-ner --silver FILE` reads it.
    Silver(cli::silver::Args),
    /// Evaluate the production tagger on a gold BIOSE file (NEMO scoring rule).
    NerEval(cli::ner_eval::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Run(args) => cli::run::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Process(args) => cli::process::run(args),
        Command::Redrive(args) => cli::redrive::run(args),
        Command::CheckConfig(args) => cli::check_config::run(args),
        Command::TrainNer(args) => cli::train_ner::run(args),
        Command::Silver(args) => cli::silver::run(args),
        Command::NerEval(args) => cli::ner_eval::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
