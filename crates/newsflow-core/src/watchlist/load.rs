//! Reading and validating list files.
//!
//! - `.jsonl`: one entry a line, `{"id": "c-17", "type": "ORG", "names": ["בנק הפועלים",
//!   "Bank Hapoalim"], "exclude": [...], "tags": [...]}` (`exclude`, `tags` optional);
//! - `.tsv`: `id<TAB>type<TAB>name|alias|...` a line.
//!
//! Blank lines and lines starting with `#` are skipped. Every problem (a bad line, a
//! duplicate id, an empty name) is an error naming `file:line`; nothing is half-loaded.

use super::{Entry, List};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// Longest accepted id, type or name, in bytes.
const MAX_FIELD: usize = 1000;

/// A list that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WatchlistError {
    /// The file cannot be read.
    #[error("watchlist {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file name does not say the format.
    #[error("watchlist {path}: unknown format (the file name must end in .jsonl or .tsv)")]
    Format {
        /// The file.
        path: String,
    },
    /// A line is wrong.
    #[error("{path}:{line}: {message}")]
    Line {
        /// The file.
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// Two files share a name (the list name is the file name without its extension).
    #[error("watchlist {path}: another file already defines the list {name:?}")]
    DuplicateList {
        /// The list name.
        name: String,
        /// The second file.
        path: String,
    },
    /// The matcher could not be built (too many or too long names).
    #[error("watchlists: cannot build the matcher: {0}")]
    Build(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEntry {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    names: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
}

/// The match keys of an entry's names and exclude words, computed once while validating.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    pub(crate) names: Vec<String>,
    pub(crate) exclude: Vec<String>,
}

/// Reads and validates one list file.
pub fn load(path: &Path) -> Result<List, WatchlistError> {
    load_keyed(path).map(|(list, _)| list)
}

/// [`load`], with the entries' match keys.
pub(crate) fn load_keyed(path: &Path) -> Result<(List, Vec<Keys>), WatchlistError> {
    let p = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| WatchlistError::Read {
        path: p.clone(),
        source,
    })?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("")
        .to_string();
    let (entries, keys) = match ext {
        "jsonl" => parse(&text, &p, parse_json_line)?,
        "tsv" => parse(&text, &p, parse_tsv_line)?,
        _ => return Err(WatchlistError::Format { path: p }),
    };
    Ok((
        List {
            name,
            path: p,
            entries,
        },
        keys,
    ))
}

/// Lines a thread parses at least (below this, one thread does it all).
const LINES_PER_THREAD: usize = 20_000;

/// Parses the lines of a list with `line` (entry or message) and checks the entries, on
/// all cores for large files; an error names the first bad line of the file, and
/// duplicate ids are then looked for in file order.
pub(crate) fn parse(
    text: &str,
    path: &str,
    line: fn(&str) -> Result<Entry, String>,
) -> Result<(Vec<Entry>, Vec<Keys>), WatchlistError> {
    let err = |n: usize, message: String| WatchlistError::Line {
        path: path.to_string(),
        line: n,
        message,
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, raw)| (i + 1, raw.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .collect();
    let one = |&(n, l): &(usize, &str)| -> Result<(usize, Entry, Keys), WatchlistError> {
        let e = line(l).map_err(|m| err(n, m))?;
        let k = check(&e).map_err(|m| err(n, m))?;
        Ok((n, e, k))
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(lines.len().div_ceil(LINES_PER_THREAD))
        .max(1);
    let chunks = super::in_parallel(&lines, threads, "a list parsing", |_, c| {
        c.iter().map(one).collect::<Result<Vec<_>, _>>()
    })?;
    let mut entries = Vec::with_capacity(lines.len());
    let mut keys = Vec::with_capacity(lines.len());
    let mut numbers = Vec::with_capacity(lines.len());
    for chunk in chunks {
        for (n, e, k) in chunk? {
            numbers.push(n);
            entries.push(e);
            keys.push(k);
        }
    }
    // Duplicate ids, in file order (borrowing the ids: no copies of a million strings).
    let mut ids: HashMap<&str, usize> = HashMap::with_capacity(entries.len());
    for (e, &n) in entries.iter().zip(&numbers) {
        if let Some(first) = ids.insert(e.id.as_str(), n) {
            return Err(err(
                n,
                format!("duplicate id {:?} (first on line {first})", e.id),
            ));
        }
    }
    drop(ids);
    Ok((entries, keys))
}

fn parse_json_line(l: &str) -> Result<Entry, String> {
    let j: JsonEntry = serde_json::from_str(l).map_err(|e| format!("not a list entry: {e}"))?;
    Ok(Entry {
        id: j.id,
        kind: j.kind,
        names: j.names,
        exclude: j.exclude,
        tags: j.tags,
    })
}

fn parse_tsv_line(l: &str) -> Result<Entry, String> {
    let cols: Vec<&str> = l.split('\t').collect();
    let [id, kind, names] = cols[..] else {
        return Err(format!(
            "expected 3 tab-separated columns (id, type, names), found {}",
            cols.len()
        ));
    };
    Ok(Entry {
        id: id.trim().to_string(),
        kind: kind.trim().to_string(),
        names: names.split('|').map(|s| s.trim().to_string()).collect(),
        exclude: Vec::new(),
        tags: Vec::new(),
    })
}

/// Checks one entry (non-empty id, a type without spaces, at least one name, no name or
/// exclude word that is empty once normalized) and returns its match keys.
fn check(e: &Entry) -> Result<Keys, String> {
    if e.id.trim().is_empty() {
        return Err("empty id".into());
    }
    if e.kind.is_empty() || e.kind.chars().any(char::is_whitespace) {
        return Err(format!("type {:?} must be one word (e.g. ORG)", e.kind));
    }
    if e.names.is_empty() {
        return Err(format!("entry {:?} has no names", e.id));
    }
    for f in std::iter::once(&e.id)
        .chain(std::iter::once(&e.kind))
        .chain(&e.names)
        .chain(&e.exclude)
    {
        if f.len() > MAX_FIELD {
            return Err(format!(
                "a field of entry {:?} is over {MAX_FIELD} bytes",
                e.id
            ));
        }
    }
    let key = |s: &String, what: &str| {
        let k = super::match_key(s);
        if k.is_empty() {
            Err(format!("entry {:?} has an empty {what}", e.id))
        } else {
            Ok(k)
        }
    };
    Ok(Keys {
        names: e
            .names
            .iter()
            .map(|n| key(n, "name"))
            .collect::<Result<_, _>>()?,
        exclude: e
            .exclude
            .iter()
            .map(|x| key(x, "exclude word"))
            .collect::<Result<_, _>>()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Result<Vec<Entry>, WatchlistError> {
        parse(text, "lists/clients.jsonl", parse_json_line).map(|(e, _)| e)
    }

    #[test]
    fn reads_both_formats() {
        let e = json(
            "# clients\n{\"id\": \"c-17\", \"type\": \"ORG\", \"names\": [\"בנק הפועלים\", \"Bank Hapoalim\"], \"tags\": [\"bank\"]}\n\n",
        )
        .unwrap();
        assert_eq!(e[0].names.len(), 2);
        assert_eq!(e[0].tags, vec!["bank"]);
        let (t, k) = parse(
            "c-17\tORG\tבנק הפועלים|Bank Hapoalim\r\n",
            "x.tsv",
            parse_tsv_line,
        )
        .unwrap();
        assert_eq!(t[0].names, vec!["בנק הפועלים", "Bank Hapoalim"]);
        assert_eq!(k[0].names, vec!["בנק הפועלים", "bank hapoalim"]);
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let cases = [
            (
                "{\"id\": \"a\", \"type\": \"ORG\", \"names\": [\"x\"]}\n{\"id\": \"a\", \"type\": \"ORG\", \"names\": [\"y\"]}",
                "lists/clients.jsonl:2: duplicate id \"a\" (first on line 1)",
            ),
            (
                "\n{\"id\": \"a\", \"type\": \"ORG\", \"names\": []}",
                "lists/clients.jsonl:2: entry \"a\" has no names",
            ),
            (
                "{\"id\": \"a\", \"type\": \"ORG\", \"names\": [\" \\u200f \"]}",
                "lists/clients.jsonl:1: entry \"a\" has an empty name",
            ),
            ("{\"id\": \"a\"", "lists/clients.jsonl:1: not a list entry"),
            (
                "{\"id\": \"a\", \"type\": \"ORG\", \"names\": [\"x\"], \"alias\": 1}",
                "lists/clients.jsonl:1: not a list entry: unknown field",
            ),
            (
                "{\"id\": \"\", \"type\": \"ORG\", \"names\": [\"x\"]}",
                "lists/clients.jsonl:1: empty id",
            ),
        ];
        for (text, want) in cases {
            let got = json(text).unwrap_err().to_string();
            assert!(
                got.starts_with(want),
                "{got:?} does not start with {want:?}"
            );
        }
        let bad_tsv = parse("a\tORG\n", "x.tsv", parse_tsv_line).unwrap_err();
        assert!(bad_tsv.to_string().starts_with("x.tsv:1: expected 3"));
    }

    #[test]
    fn large_files_parse_on_all_cores_with_errors_in_file_order() {
        let n = LINES_PER_THREAD * 3;
        let lines: Vec<String> = (0..n)
            .map(|i| format!("e-{i}\tORG\tname {i}|alias {i}\n"))
            .collect();
        let (e, k) = parse(&lines.concat(), "big.tsv", parse_tsv_line).unwrap();
        assert_eq!((e.len(), k.len()), (n, n));
        assert_eq!(e[n - 1].id, format!("e-{}", n - 1));
        assert_eq!(k[n - 1].names[1], format!("alias {}", n - 1));
        // A duplicate of the first id at the very end (another thread's chunk).
        let dup = format!("{}e-0\tORG\tagain\n", lines.concat());
        let got = parse(&dup, "big.tsv", parse_tsv_line)
            .unwrap_err()
            .to_string();
        assert!(
            got.starts_with(&format!(
                "big.tsv:{}: duplicate id \"e-0\" (first on line 1)",
                n + 1
            )),
            "{got}"
        );
        // Bad lines in the first and the last chunk: the first one in the file is named.
        let mut bad = lines.clone();
        bad[9] = "broken line\n".into();
        bad[n - 2] = "also broken\n".into();
        let got = parse(&bad.concat(), "big.tsv", parse_tsv_line)
            .unwrap_err()
            .to_string();
        assert!(got.starts_with("big.tsv:10: expected 3"), "{got}");
    }

    #[test]
    fn files_are_read_by_extension() {
        let dir = std::env::temp_dir().join(format!("newsflow-wl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("brands.tsv");
        std::fs::write(&f, "b-1\tBRAND\tTeva|טבע\n").unwrap();
        let l = load(&f).unwrap();
        assert_eq!((l.name.as_str(), l.entries.len()), ("brands", 1));
        let other = dir.join("brands.csv");
        std::fs::write(&other, "x").unwrap();
        assert!(matches!(load(&other), Err(WatchlistError::Format { .. })));
        let missing = load(&dir.join("nope.jsonl")).unwrap_err().to_string();
        assert!(missing.contains("nope.jsonl"), "{missing}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
