//! Used by the benches and `examples/tag_loop.rs`: the tagging workload, the thread's CPU
//! time and the CPU model printed beside every speed figure (figures differ up to 3x
//! between machines).

/// ~5 KB Hebrew articles (40 of them), built from NEMO train sentences when `../shared` is
/// present, else from the repository's own samples.
pub fn articles() -> Vec<String> {
    let nemo = std::path::Path::new("../shared/data/nemo/token-single_train.bmes");
    let sentences: Vec<String> = match std::fs::read_to_string(nemo) {
        Ok(text) => newsflow::training::bmes::parse(&text)
            .into_iter()
            .map(|s| s.tokens.join(" "))
            .collect(),
        Err(_) => {
            let text = std::fs::read_to_string("samples/he_plain.txt").unwrap_or_default();
            text.split(['.', '\n'])
                .filter(|s| !s.trim().is_empty())
                .map(|s| format!("{} .", s.trim()))
                .collect()
        }
    };
    join_articles(&sentences)
}

/// About forty ~5 KB English articles for the benchmarks: Universal NER's English Web
/// Treebank dev sentences when `../shared` is present, else the English sample article.
pub fn english_articles() -> Vec<String> {
    let ewt = std::path::Path::new("../shared/data/english/uner_ewt/en_ewt-ud-dev.iob2");
    let sentences: Vec<String> = match std::fs::read_to_string(ewt) {
        Ok(text) => newsflow::training::bmes::parse_iob2(&text)
            .into_iter()
            .map(|s| s.tokens.join(" "))
            .collect(),
        Err(_) => {
            let text = std::fs::read_to_string("samples/en_summit.json").unwrap_or_default();
            let body = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["body"].as_str().map(str::to_string))
                .unwrap_or_default();
            body.split_inclusive(". ").map(str::to_string).collect()
        }
    };
    join_articles(&sentences)
}

/// Sentences joined into ~5 KB articles (at most forty).
fn join_articles(sentences: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for s in sentences.iter().cycle().take(sentences.len().max(1) * 2) {
        cur.push_str(s);
        cur.push(' ');
        if cur.len() >= 5000 {
            out.push(std::mem::take(&mut cur));
            if out.len() == 40 {
                break;
            }
        }
    }
    if out.is_empty() {
        out.push(cur);
    }
    out
}

/// Nanoseconds this thread has run on a CPU (Linux `schedstat`), if available.
pub fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// The CPU model.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
