//! `newsflow process`: the enrichment core over files, for backfills and tests.
//!
//! A `.jsonl` file is one record a line; a `.json` file is one JSON document when the whole
//! file parses as one, else one record a line; any other file is one article (plain text
//! or HTML); a directory is every regular file in it, in name order. Enriched records go to
//! the output as JSON lines; rejects go to `OUTPUT.rejects.jsonl` with the reason and the
//! original payload (as `payload` when it is UTF-8, else `payload_base64`).

use crate::core::{enrich_guarded, Context, Input, Reject};
use anyhow::Context as _;
use base64::Engine;
use serde::Serialize;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Counts of one `process` run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProcessSummary {
    /// Input files read.
    pub files: usize,
    /// Records enriched.
    pub enriched: usize,
    /// Records rejected.
    pub rejected: usize,
}

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

/// Splits a file into records: `(line number, payload)`.
fn records(path: &Path, bytes: &[u8]) -> Vec<(Option<usize>, Vec<u8>)> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let by_line = |bytes: &[u8]| {
        bytes
            .split(|b| *b == b'\n')
            .enumerate()
            .filter(|(_, l)| l.iter().any(|b| !b.is_ascii_whitespace()))
            .map(|(i, l)| (Some(i + 1), l.strip_suffix(b"\r").unwrap_or(l).to_vec()))
            .collect()
    };
    match ext.as_deref() {
        Some("jsonl") | Some("ndjson") => by_line(bytes),
        Some("json") => {
            let whole_object = serde_json::from_slice::<serde_json::Value>(bytes)
                .map(|v| v.is_object())
                .unwrap_or(false);
            if whole_object {
                vec![(None, bytes.to_vec())]
            } else {
                by_line(bytes)
            }
        }
        _ => vec![(None, bytes.to_vec())],
    }
}

/// Enriches every record under `input`, writing JSON lines to `output` and rejects beside it.
pub fn process_path(input: &Path, output: &Path, ctx: &Context) -> anyhow::Result<ProcessSummary> {
    let files = input_files(input)?;
    let out_file = File::create(output)
        .with_context(|| format!("cannot create output {}", output.display()))?;
    let rej_path = rejects_path(output);
    let rej_file = File::create(&rej_path)
        .with_context(|| format!("cannot create reject file {}", rej_path.display()))?;
    let mut out = BufWriter::new(out_file);
    let mut rej = BufWriter::new(rej_file);
    let mut summary = ProcessSummary::default();
    for path in &files {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        summary.files += 1;
        for (line, payload) in records(path, &bytes) {
            let input = Input {
                payload: &payload,
                key: None,
                provenance: None,
            };
            match enrich_guarded(input, ctx) {
                Ok(e) => {
                    out.write_all(&e.payload)?;
                    out.write_all(b"\n")?;
                    summary.enriched += 1;
                }
                Err(reject) => {
                    write_reject(&mut rej, path, line, &reject, &payload)?;
                    summary.rejected += 1;
                }
            }
        }
    }
    out.flush()
        .with_context(|| format!("cannot write {}", output.display()))?;
    rej.flush()
        .with_context(|| format!("cannot write {}", rej_path.display()))?;
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
