//! Deterministic benchmark corpus: N articles of about 5 KB, mostly Hebrew, some English, a
//! share as HTML pages, a few bad records. Built from NEMO training sentences when the
//! shared data directory is present, else from the project's own sentences below.
//!
//! Used by the benches and examples (each uses a part of it); not part of the service.

use std::path::Path;

/// One generated input message.
#[derive(Debug, Clone)]
pub struct CorpusItem {
    /// Message key.
    pub key: String,
    /// Raw payload as a scraper would send it.
    pub payload: Vec<u8>,
    /// What the item is.
    pub kind: CorpusKind,
}

/// Kinds of generated items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorpusKind {
    /// JSON record with a Hebrew `body`.
    HebrewJson,
    /// JSON record with an English `body`.
    EnglishJson,
    /// JSON record with an `html` page (Hebrew).
    HebrewHtml,
    /// Plain text with a `date` header (Hebrew).
    HebrewText,
    /// A record that must be dead-lettered.
    Bad,
}

/// Corpus parameters.
#[derive(Debug, Clone)]
pub struct CorpusSpec {
    /// Number of items.
    pub n: usize,
    /// Seed of the deterministic generator.
    pub seed: u64,
    /// Approximate body size in bytes.
    pub article_bytes: usize,
    /// Percent of English articles.
    pub english_pct: u64,
    /// Percent of HTML articles.
    pub html_pct: u64,
    /// Percent of plain-text articles.
    pub text_pct: u64,
    /// Percent of bad records.
    pub bad_pct: u64,
}

impl Default for CorpusSpec {
    fn default() -> Self {
        CorpusSpec {
            n: 1000,
            seed: 42,
            article_bytes: 5000,
            english_pct: 10,
            html_pct: 20,
            text_pct: 10,
            bad_pct: 1,
        }
    }
}

/// SplitMix64: small, fast, deterministic.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// The project's own Hebrew sentences (fallback when NEMO data is absent).
const OWN_HEBREW: &[&str] = &[
    "ראש הממשלה בנימין נתניהו נפגש אתמול בירושלים עם שר החוץ של צרפת.",
    "לפי הודעת בנק ישראל, הריבית תישאר ללא שינוי עד סוף השנה.",
    "הכנסת אישרה בקריאה ראשונה את הצעת החוק, ברוב של 61 חברי כנסת מול 52.",
    "בתל אביב ובחיפה נרשמו עומסי תנועה כבדים בשעות הבוקר בשל עבודות תשתית.",
    "נשיא ארה\"ב דונלד טראמפ אמר בוושינגטון כי ייפגש עם נשיא רוסיה ולדימיר פוטין בקרוב.",
    "משרד הבריאות פרסם הנחיות חדשות לקראת החורף, כולל המלצה להתחסן נגד שפעת.",
    "שר האוצר הציג את התקציב, שיעמוד על כ-620 מיליארד שקל, בישיבת הממשלה ביום ראשון.",
    "בעקבות הסערה נסגרו כמה כבישים בצפון הארץ, ובנמל אשדוד הופסקה הפעילות.",
    "מזכ\"ל נאט\"ו אמר בבריסל כי הברית תמשיך לתמוך באוקראינה ככל שיידרש.",
    "המשטרה פתחה בחקירה לאחר שאלמונים הציתו רכב בשכונה במזרח העיר.",
    "האוניברסיטה העברית הודיעה על פתיחת מרכז מחקר חדש לבינה מלאכותית.",
    "לפי נתוני הלשכה המרכזית לסטטיסטיקה, האבטלה ירדה ל-3.1% בחודש שעבר.",
    "נציגי האו\"ם ביקרו ברצועת עזה ודיווחו על מחסור חמור במים ובתרופות.",
    "הבורסה בתל אביב נסגרה בעליות שערים, ומדד ת\"א 35 עלה ב-1.2%.",
    "שגרירות ישראל בלונדון אירחה ערב חגיגי לכבוד יום העצמאות.",
];

/// The project's own English sentences.
const OWN_ENGLISH: &[&str] = &[
    "The Prime Minister met the French foreign minister in Jerusalem on Monday.",
    "NATO officials in Brussels said the alliance would keep supporting Ukraine.",
    "The central bank left interest rates unchanged, citing stable inflation.",
    "President Donald Trump said in Washington that talks with Russia would resume.",
    "Heavy rain closed several roads in the north, and the port of Ashdod halted work.",
    "The United Nations warned of severe shortages of water and medicine in Gaza.",
    "Shares in Tel Aviv closed higher, with the main index up 1.2% on the day.",
    "The university announced a new research centre for artificial intelligence.",
];

/// Loads NEMO train sentences (detokenized) from `shared_dir/data/nemo`, if present.
pub fn nemo_sentences(shared_dir: &Path) -> Option<Vec<String>> {
    let path = shared_dir.join("data/nemo/token-single_train.bmes");
    let text = std::fs::read_to_string(path).ok()?;
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(detokenize(&cur));
                cur.clear();
            }
            continue;
        }
        if let Some((tok, _tag)) = line.rsplit_once(' ') {
            cur.push(tok);
        }
    }
    if !cur.is_empty() {
        out.push(detokenize(&cur));
    }
    (!out.is_empty()).then_some(out)
}

/// Joins tokens with spaces, without spaces before closing punctuation.
pub fn detokenize(tokens: &[&str]) -> String {
    let mut s = String::new();
    for t in tokens {
        let closing = matches!(*t, "." | "," | ":" | ";" | ")" | "!" | "?");
        if !s.is_empty() && !closing && !s.ends_with('(') {
            s.push(' ');
        }
        s.push_str(t);
    }
    s
}

fn body(rng: &mut Rng, sentences: &[String], bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 256);
    let mut in_para = 0;
    while out.len() < bytes {
        if in_para >= 4 {
            out.push_str("\n\n");
            in_para = 0;
        } else if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&sentences[rng.below(sentences.len())]);
        in_para += 1;
    }
    out
}

fn html_page(title: &str, body: &str) -> String {
    let mut page = format!(
        "<!DOCTYPE html><html lang=\"he\" dir=\"rtl\"><head><meta charset=\"utf-8\"><title>{title} | חדשות</title>\
         <script>window.dataLayer=[{{\"page\":\"article\"}}];</script><style>.ad{{display:none}}</style></head>\
         <body><nav><a href=\"/\">ראשי</a> | <a href=\"/news\">חדשות</a></nav><div class=\"ad\">פרסומת</div>\
         <article><h1>{title}</h1><time datetime=\"2025-08-21T09:30:00+03:00\">21.08.2025</time>"
    );
    for para in body.split("\n\n") {
        page.push_str("<p>&#x200F;");
        page.push_str(&para.replace('&', "&amp;").replace('"', "&quot;"));
        page.push_str("</p>");
    }
    page.push_str("</article><footer>&copy; 2025</footer></body></html>");
    page
}

/// Generates the corpus. `shared_dir` is the `shared/` directory when available.
pub fn generate(spec: &CorpusSpec, shared_dir: Option<&Path>) -> Vec<CorpusItem> {
    let hebrew: Vec<String> = shared_dir
        .and_then(nemo_sentences)
        .unwrap_or_else(|| OWN_HEBREW.iter().map(|s| s.to_string()).collect());
    let english: Vec<String> = OWN_ENGLISH.iter().map(|s| s.to_string()).collect();
    let mut rng = Rng::new(spec.seed);
    let mut items = Vec::with_capacity(spec.n);
    for i in 0..spec.n {
        let roll = rng.next_u64() % 100;
        let key = format!("bench-{}-{i}", spec.seed);
        let (kind, payload) = if roll < spec.bad_pct {
            let bad: Vec<u8> = match i % 3 {
                0 => b"{\"id\": \"broken\", \"body\": ".to_vec(),
                1 => vec![0xff, 0xfe, 0x00, 0x41],
                _ => b"[\"not\", \"an\", \"object\"]".to_vec(),
            };
            (CorpusKind::Bad, bad)
        } else if roll < spec.bad_pct + spec.english_pct {
            let b = body(&mut rng, &english, spec.article_bytes);
            let rec = serde_json::json!({"id": key, "url": format!("https://bench.invalid/en/{i}"),
                "source": "bench", "language": "en", "published_at": "2025-08-21T12:00:00Z",
                "title": english[rng.below(english.len())], "body": b});
            (CorpusKind::EnglishJson, rec.to_string().into_bytes())
        } else if roll < spec.bad_pct + spec.english_pct + spec.html_pct {
            let b = body(&mut rng, &hebrew, spec.article_bytes);
            let title = &hebrew[rng.below(hebrew.len())];
            let rec = serde_json::json!({"id": key, "url": format!("https://bench.invalid/he/{i}"),
                "source": "bench", "fetched_at": "2025-08-21T09:41:12Z", "html": html_page(title, &b)});
            (CorpusKind::HebrewHtml, rec.to_string().into_bytes())
        } else if roll < spec.bad_pct + spec.english_pct + spec.html_pct + spec.text_pct {
            let b = body(&mut rng, &hebrew, spec.article_bytes);
            (
                CorpusKind::HebrewText,
                format!("date 2025-08-21 {b}").into_bytes(),
            )
        } else {
            let b = body(&mut rng, &hebrew, spec.article_bytes);
            let rec = serde_json::json!({"id": key, "url": format!("https://bench.invalid/he/{i}"),
                "source": "bench", "published_at": "2025-08-21",
                "title": hebrew[rng.below(hebrew.len())], "body": b});
            (CorpusKind::HebrewJson, rec.to_string().into_bytes())
        };
        items.push(CorpusItem { key, payload, kind });
    }
    items
}

/// The `shared/` directory beside the checkout, when present (`../shared` or `$NEWSFLOW_SHARED`).
pub fn default_shared_dir() -> Option<std::path::PathBuf> {
    let candidate = std::env::var_os("NEWSFLOW_SHARED")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("../shared"));
    candidate.join("data").is_dir().then_some(candidate)
}

/// Run by `tests/bench_corpus.rs` (the benches have no test harness).
#[cfg(test)]
mod tests {
    #[allow(unused_imports)]
    use super::*;

    #[test]
    fn deterministic_and_mixed() {
        let spec = CorpusSpec {
            n: 300,
            ..CorpusSpec::default()
        };
        let a = generate(&spec, None);
        let b = generate(&spec, None);
        assert_eq!(a.len(), 300);
        assert!(a.iter().zip(&b).all(|(x, y)| x.payload == y.payload));
        for kind in [
            CorpusKind::HebrewJson,
            CorpusKind::EnglishJson,
            CorpusKind::HebrewHtml,
            CorpusKind::HebrewText,
        ] {
            assert!(a.iter().any(|i| i.kind == kind), "{kind:?} present");
        }
        let he: Vec<_> = a
            .iter()
            .filter(|i| i.kind == CorpusKind::HebrewJson)
            .collect();
        let avg = he.iter().map(|i| i.payload.len()).sum::<usize>() / he.len();
        assert!((4500..7000).contains(&avg), "about 5 KB, got {avg}");
    }

    #[test]
    fn detokenize_attaches_punctuation() {
        assert_eq!(detokenize(&["שלום", ",", "עולם", "."]), "שלום, עולם.");
    }
}
