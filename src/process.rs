//! `newsflow process`: the enrichment core over files, for backfills and tests.
//!
//! A `.jsonl` file is one record a line; a `.json` file is one JSON document when the whole
//! file parses as one, else one record a line; any other file is one article (plain text
//! or HTML); a directory is every regular file in it, in name order. Enriched records go to
//! the output as JSON lines; rejects go to `OUTPUT.rejects.jsonl` with the reason and the
//! original payload (as `payload` when it is UTF-8, else `payload_base64`).
//!
//! Records are enriched in batches on [`ProcessOptions::workers`] threads and written in
//! input order, a batch at a time, so a stopped run leaves whole lines and resumes with
//! [`ProcessOptions::skip`].

use crate::core::{enrich_guarded, Context, Enriched, Input, Reject};
use anyhow::Context as _;
use base64::Engine;
use serde::Serialize;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Counts of one `process` run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProcessSummary {
    /// Input files read (in part or whole).
    pub files: usize,
    /// Records enriched.
    pub enriched: usize,
    /// Records rejected.
    pub rejected: usize,
    /// Records passed over at the start ([`ProcessOptions::skip`]).
    pub skipped: u64,
    /// The run was stopped ([`ProcessOptions::stop`]) before the end of the input.
    pub interrupted: bool,
}

impl ProcessSummary {
    /// Records read, skipped ones included: where a run resumes with `--skip`.
    pub fn position(&self) -> u64 {
        self.skipped + (self.enriched + self.rejected) as u64
    }
}

/// How far a run is, reported after each batch.
#[derive(Debug, Clone, Copy)]
pub struct ProcessProgress {
    /// The counts so far.
    pub summary: ProcessSummary,
    /// Input bytes read so far (skipped records included).
    pub bytes_done: u64,
    /// Input bytes in all.
    pub bytes_total: u64,
}

/// How a `process` run works.
#[derive(Debug)]
pub struct ProcessOptions<'a> {
    /// Threads enriching records (at least 1); output order is input order whatever the
    /// count.
    pub workers: usize,
    /// Records to pass over first (resuming an interrupted run: its summary gives the
    /// number).
    pub skip: u64,
    /// Append to the output and reject files instead of replacing them.
    pub append: bool,
    /// Set (by a signal handler) to stop after the records in hand: what was written stays
    /// whole lines.
    pub stop: &'a AtomicBool,
}

/// Records enriched together: each worker takes every `workers`-th of them.
const BATCH_PER_WORKER: usize = 8;

#[derive(Serialize)]
struct RejectLine<'a> {
    file: String,
    /// 1-based line for line-oriented files.
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    kind: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payload_base64: Option<String>,
}

/// Path of the reject file beside `output`.
pub fn rejects_path(output: &Path) -> PathBuf {
    let mut name = output.as_os_str().to_owned();
    name.push(".rejects.jsonl");
    PathBuf::from(name)
}

/// Files to read for `input` (a file, or a directory's regular files in name order).
pub fn input_files(input: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let meta = std::fs::metadata(input)
        .with_context(|| format!("cannot read input {}", input.display()))?;
    if meta.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(input)
            .with_context(|| format!("cannot list directory {}", input.display()))?
        {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        Ok(files)
    } else {
        Ok(vec![input.to_path_buf()])
    }
}

/// One input record: where it came from and its bytes.
struct Record {
    file: usize,
    /// 1-based line for line-oriented files.
    line: Option<usize>,
    payload: Vec<u8>,
    /// Input bytes up to the end of this record (over all files).
    bytes_after: u64,
}

/// Whether a file is read a line a record (JSON lines, or a `.json` file that is not one
/// JSON object).
fn is_line_oriented(path: &Path, bytes: Option<&[u8]>) -> bool {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match (ext.as_deref(), bytes) {
        (Some("jsonl") | Some("ndjson"), _) => true,
        (Some("json"), Some(bytes)) => !serde_json::from_slice::<serde_json::Value>(bytes)
            .map(|v| v.is_object())
            .unwrap_or(false),
        _ => false,
    }
}

/// The records of `files` in order: JSON-lines files streamed a line at a time, other
/// files read whole.
fn records(files: &[PathBuf]) -> impl Iterator<Item = anyhow::Result<Record>> + '_ {
    let mut before = 0u64;
    files.iter().enumerate().flat_map(move |(file, path)| {
        let start = before;
        before += std::fs::metadata(path).map_or(0, |m| m.len());
        file_records(file, path, start)
    })
}

fn file_records(
    file: usize,
    path: &Path,
    start: u64,
) -> Box<dyn Iterator<Item = anyhow::Result<Record>>> {
    let shown = path.display().to_string();
    let cannot_read =
        move |e: std::io::Error| anyhow::Error::new(e).context(format!("cannot read {shown}"));
    let streamed = is_line_oriented(path, None);
    let whole = if streamed {
        None
    } else {
        match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) => return Box::new(std::iter::once(Err(cannot_read(e)))),
        }
    };
    if let Some(bytes) = whole.filter(|b| !is_line_oriented(path, Some(b))) {
        let bytes_after = start + bytes.len() as u64;
        return Box::new(std::iter::once(Ok(Record {
            file,
            line: None,
            payload: bytes,
            bytes_after,
        })));
    }
    let reader: Box<dyn BufRead> = match File::open(path) {
        Ok(f) => Box::new(BufReader::new(f)),
        Err(e) => return Box::new(std::iter::once(Err(cannot_read(e)))),
    };
    let mut offset = start;
    Box::new(
        reader
            .split(b'\n')
            .enumerate()
            .filter_map(move |(i, line)| {
                let mut line = match line {
                    Ok(l) => l,
                    Err(e) => return Some(Err(cannot_read(e))),
                };
                offset += line.len() as u64 + 1;
                if !line.iter().any(|b| !b.is_ascii_whitespace()) {
                    return None;
                }
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                Some(Ok(Record {
                    file,
                    line: Some(i + 1),
                    payload: line,
                    bytes_after: offset,
                }))
            }),
    )
}

/// Opens an output file, truncating it or appending to it.
fn open_output(path: &Path, append: bool) -> anyhow::Result<BufWriter<File>> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    Ok(BufWriter::new(file))
}

/// Enriches the records of a batch on `workers` threads; results in input order.
fn enrich_batch(batch: &[Record], ctx: &Context, workers: usize) -> Vec<Result<Enriched, Reject>> {
    let enrich = |r: &Record| {
        enrich_guarded(
            Input {
                payload: &r.payload,
                key: None,
                provenance: None,
            },
            ctx,
        )
    };
    if workers <= 1 || batch.len() <= 1 {
        return batch.iter().map(enrich).collect();
    }
    let mut results: Vec<Option<Result<Enriched, Reject>>> = Vec::new();
    results.resize_with(batch.len(), || None);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(batch.len()))
            .map(|k| {
                scope.spawn(move || {
                    (k..batch.len())
                        .step_by(workers)
                        .map(|i| (i, enrich(&batch[i])))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            // enrich_guarded catches panics of the core: a worker thread does not panic.
            if let Ok(done) = h.join() {
                for (i, r) in done {
                    results[i] = Some(r);
                }
            }
        }
    });
    results
        .into_iter()
        .map(|r| {
            r.unwrap_or_else(|| {
                Err(Reject::new(
                    crate::core::RejectKind::InternalError,
                    "enrichment worker failed",
                ))
            })
        })
        .collect()
}

/// Enriches every record under `input`, writing JSON lines to `output` and rejects beside
/// it, in input order; `on_progress` hears after each batch.
pub fn process_path(
    input: &Path,
    output: &Path,
    ctx: &Context,
    opts: &ProcessOptions<'_>,
    on_progress: &mut dyn FnMut(&ProcessProgress),
) -> anyhow::Result<ProcessSummary> {
    let files = input_files(input)?;
    let bytes_total = files
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    let mut out = open_output(output, opts.append)?;
    let rej_path = rejects_path(output);
    let mut rej = open_output(&rej_path, opts.append)?;
    let workers = opts.workers.max(1);
    let mut summary = ProcessSummary::default();
    let mut last_file = None;
    let mut bytes_done = 0;
    let mut batch: Vec<Record> = Vec::with_capacity(workers * BATCH_PER_WORKER);
    let mut source = records(&files).peekable();
    while source.peek().is_some() {
        if opts.stop.load(Ordering::Relaxed) {
            summary.interrupted = true;
            break;
        }
        batch.clear();
        while batch.len() < workers * BATCH_PER_WORKER {
            let Some(record) = source.next() else { break };
            let record = record?;
            bytes_done = record.bytes_after;
            if last_file != Some(record.file) {
                last_file = Some(record.file);
                summary.files += 1;
            }
            if summary.skipped < opts.skip {
                summary.skipped += 1;
            } else {
                batch.push(record);
            }
        }
        for (record, result) in batch.iter().zip(enrich_batch(&batch, ctx, workers)) {
            match result {
                Ok(e) => {
                    out.write_all(&e.payload)?;
                    out.write_all(b"\n")?;
                    summary.enriched += 1;
                }
                Err(reject) => {
                    write_reject(
                        &mut rej,
                        &files[record.file],
                        record.line,
                        &reject,
                        &record.payload,
                    )?;
                    summary.rejected += 1;
                }
            }
        }
        // Whole lines reach the files before the progress says they are done.
        out.flush()
            .with_context(|| format!("cannot write {}", output.display()))?;
        rej.flush()
            .with_context(|| format!("cannot write {}", rej_path.display()))?;
        on_progress(&ProcessProgress {
            summary,
            bytes_done,
            bytes_total,
        });
    }
    Ok(summary)
}

fn write_reject(
    w: &mut impl Write,
    path: &Path,
    line: Option<usize>,
    reject: &Reject,
    payload: &[u8],
) -> anyhow::Result<()> {
    let text = std::str::from_utf8(payload).ok();
    let record = RejectLine {
        file: path.display().to_string(),
        line,
        kind: reject.kind.as_str(),
        message: &reject.message,
        payload: text,
        payload_base64: text
            .is_none()
            .then(|| base64::engine::general_purpose::STANDARD.encode(payload)),
    };
    serde_json::to_writer(&mut *w, &record)?;
    w.write_all(b"\n")?;
    Ok(())
}
