//! The tagging pipeline both tiers share. Only the sequence labeller differs between the
//! fast and the accurate tier; the rest is common, so both emit the same entities for the
//! same reading: tokenize a window, scan the gazetteer, label each sentence-like chunk
//! (English chunks by capitalisation rules, others by the tier's [`Labeler`]), then merge
//! the model's, the gazetteer's and the rules' entities (`merge.rs`).

pub use super::entity::Span;
use super::entity::{Component, Entity, EntityType, Field};
use super::gazetteer::GazTag;
use super::gazetteer::{self, Gazetteer, GazetteerMatch};
use super::lexicon::Lexicon;
use super::names::is_title;
use super::window::{chunks, window_end, Window};
use super::{address, english, merge, Kernel, Tagger, Tier};
use crate::segment::{tokenize, Token};
use chrono::NaiveDate;
use std::sync::Arc;

/// One chunk given to a labeller: its words and their gazetteer tags.
pub type Chunk<'a> = (&'a [&'a str], &'a [GazTag]);

/// The part of tagging that differs between tiers: reads the words of one sentence-like
/// chunk (with their gazetteer tags) and appends the entity spans it finds.
pub trait Labeler: Send + Sync + std::fmt::Debug {
    /// Labels one chunk; spans are chunk-relative token ranges.
    fn spans(&self, words: &[&str], gaz: &[GazTag], out: &mut Vec<Span>);

    /// Labels several chunks of one field, `out[i]` the spans of `chunks[i]`. A labeller
    /// that runs faster on batches (the encoder) overrides it; by default, one at a time.
    fn spans_batch(&self, chunks: &[Chunk<'_>], out: &mut Vec<Vec<Span>>) {
        out.clear();
        for &(words, gaz) in chunks {
            let mut spans = Vec::new();
            self.spans(words, gaz, &mut spans);
            out.push(spans);
        }
    }

    /// How the labeller computes, for start-up logs.
    fn kernel(&self) -> Kernel;

    /// Its model in one line (size, features, training notes), for evaluations.
    fn describe(&self) -> String;

    /// What labelling `words` costs, in the unit of the pipeline's budget
    /// ([`Pipeline::with_fallback`]): one a word unless the labeller counts otherwise.
    fn cost(&self, words: &[&str]) -> usize {
        words.len()
    }

    /// Whether its model was trained on English: English chunks go to it then, and to the
    /// capitalisation rules ([`english`]) otherwise.
    fn english(&self) -> bool {
        false
    }
}

/// Runs of at least this many symbol-only tokens (no letter or digit: brackets, dashes,
/// punctuation art) are not given to the labeller: no entity is made of them, and a byte of
/// punctuation is a token, so a hostile field of brackets would cost the encoder as much as
/// many articles.
pub const SYMBOL_RUN: usize = 8;

/// The shared pipeline around a tier's labeller.
#[derive(Debug)]
pub struct Pipeline<L> {
    tier: Tier,
    gazetteer: Gazetteer,
    /// Prefix and frequency tables (prefix letters of entity starts, and whether a
    /// gazetteer match behind a prefix is a real word).
    lexicon: Arc<Lexicon>,
    labeler: L,
    /// The labeller of what a field holds past its budget (a slow tier's bound on the work
    /// one huge field can cause, in [`Labeler::cost`] units), if any.
    fallback: Option<(usize, Box<dyn Labeler>)>,
}

impl<L: Labeler> Pipeline<L> {
    /// A pipeline from its resources.
    pub fn new(tier: Tier, gazetteer: Gazetteer, lexicon: Arc<Lexicon>, labeler: L) -> Self {
        Pipeline {
            tier,
            gazetteer,
            lexicon,
            labeler,
            fallback: None,
        }
    }

    /// Each field gives the tier's labeller chunks worth at most `budget` (in its
    /// [`Labeler::cost`]); from the first chunk that does not fit on, `fallback` labels the
    /// field's chunks instead.
    pub fn with_fallback(mut self, budget: usize, fallback: Box<dyn Labeler>) -> Self {
        self.fallback = Some((budget, fallback));
        self
    }

    /// The gazetteer.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gazetteer
    }

    /// The tables used for prefix decisions.
    pub fn lexicon(&self) -> &Lexicon {
        &self.lexicon
    }

    /// The tier's labeller.
    pub fn labeler(&self) -> &L {
        &self.labeler
    }

    /// Tags one window of a field (offsets relative to `text`), spending the field's
    /// labelling `budget`.
    fn tag_window(
        &self,
        budget: &mut Budget,
        text: &str,
        field: Field,
        anchor: Option<NaiveDate>,
        out: &mut Vec<Entity>,
    ) {
        let tokens = tokenize(text);
        let w = Window {
            text,
            tokens: &tokens,
            field,
            lexicon: &self.lexicon,
        };
        let mut gtags = vec![0; tokens.len()];
        let gaz_matches = gazetteer::scan(&self.gazetteer, &tokens, &mut gtags);
        let first_new = out.len();
        self.label_chunks(budget, &w, &gtags, &gaz_matches, out);
        merge::drop_spans_made_of_known_names(&w, &gaz_matches, first_new, out);
        merge::apply_gazetteer(&w, &self.gazetteer, &gaz_matches, first_new, out);
        merge::apply_rules(&w, anchor, first_new, out);
        merge::finish(first_new, out);
    }

    /// The labeller of a chunk of `words`: the tier's while the field's budget lasts. An
    /// English chunk the tier's labeller cannot read costs nothing (the rules take it).
    fn labeler_for(&self, budget: &mut Budget, words: &[&str], is_english: bool) -> &dyn Labeler {
        let Some((_, fallback)) = &self.fallback else {
            return &self.labeler;
        };
        if is_english && !self.labeler.english() {
            return &self.labeler;
        }
        // Each word costs at least one unit: a chunk longer than what is left (or any chunk
        // once the budget is spent) goes to the fallback without pricing it, since pricing
        // means segmenting every word (hostile fields are megabytes of one script).
        if words.len() > budget.left {
            budget.left = 0;
            return fallback.as_ref();
        }
        let cost = self.labeler.cost(words);
        if cost <= budget.left {
            budget.left -= cost;
            &self.labeler
        } else {
            budget.left = 0;
            fallback.as_ref()
        }
    }

    /// Model entities of every chunk: by the tier's labeller (titles before a name are cut
    /// off the span), except English chunks when the labeller has no English (then the
    /// capitalisation rules), and runs of symbols by none.
    fn label_chunks(
        &self,
        budget: &mut Budget,
        w: &Window<'_>,
        gtags: &[GazTag],
        gaz_matches: &[GazetteerMatch],
        out: &mut Vec<Entity>,
    ) {
        let tokens = w.tokens;
        let mut covered = vec![false; tokens.len()];
        let mut last_names: Vec<&str> = Vec::new();
        for m in gaz_matches {
            if !m.weak {
                covered[m.first..m.last].iter_mut().for_each(|c| *c = true);
            }
            if m.last - m.first >= 2 && self.gazetteer.entry(m.entry).kind == EntityType::PER {
                last_names.push(tokens[m.last - 1].text);
            }
        }
        // Who labels each chunk, in order (the budget is spent in chunk order): a labeller,
        // or the capitalisation rules (None).
        let mut jobs: Vec<(usize, usize, Option<&dyn Labeler>)> = Vec::new();
        let mut words: Vec<&str> = Vec::new();
        for (a, b) in chunks(w.text, tokens)
            .into_iter()
            .flat_map(|(a, b)| without_symbol_runs(tokens, a, b))
        {
            words.clear();
            words.extend(tokens[a..b].iter().map(|t| t.text));
            let is_english = english::is_english(&tokens[a..b]);
            let labeler = self.labeler_for(budget, &words, is_english);
            let by_model = !is_english || labeler.english();
            jobs.push((a, b, by_model.then_some(labeler)));
        }
        let found = label_in_batches(&jobs, tokens, gtags);
        for (&(a, b, labeler), spans) in jobs.iter().zip(&found) {
            if labeler.is_none() {
                let title = w.field == Field::Title;
                for sp in english::spans(tokens, a, b, &covered, &last_names, title) {
                    if sp.kind == EntityType::PER && sp.last - sp.first >= 2 {
                        last_names.push(tokens[sp.last - 1].text);
                    }
                    let mut e = w.entity(sp.first, sp.last, sp.kind);
                    e.source = Component::Rule;
                    e.confidence = sp.confidence;
                    out.push(e);
                }
                continue;
            }
            for sp in spans {
                // Titles are not part of names: `גנרל ארה"ב` is ארה"ב after a title, and
                // `President Macron` is Macron.
                // So are the period of an abbreviated title and any stop or comma before
                // a name (`Dr. White` is White).
                let mut first = sp.first;
                while sp.last - first >= 2 && {
                    let word = tokens[a + first].text;
                    is_title(word) || english::is_title(word) || is_stop(word)
                } {
                    first += 1;
                }
                // A Hebrew title alone is no one's name (`האדמירל` before `האיטלקי`).
                if sp.kind == EntityType::PER
                    && sp.last - first == 1
                    && is_title(tokens[a + first].text)
                {
                    continue;
                }
                let mut e = w.entity(a + first, a + sp.last, sp.kind);
                e.confidence = (sp.confidence * 100.0).round() / 100.0;
                out.push(e);
            }
        }
    }
}

/// The spans of each job's chunk (empty for chunks left to the rules): each labeller gets
/// all of its chunks in one [`Labeler::spans_batch`] call.
fn label_in_batches(
    jobs: &[(usize, usize, Option<&dyn Labeler>)],
    tokens: &[Token<'_>],
    gtags: &[GazTag],
) -> Vec<Vec<Span>> {
    let mut found: Vec<Vec<Span>> = vec![Vec::new(); jobs.len()];
    let mut done = vec![false; jobs.len()];
    let mut batch = Vec::new();
    for i in 0..jobs.len() {
        let Some(labeler) = jobs[i].2 else { continue };
        if done[i] {
            continue;
        }
        let same: Vec<usize> = (i..jobs.len())
            .filter(|&j| jobs[j].2.is_some_and(|m| std::ptr::addr_eq(m, labeler)))
            .collect();
        let recased: Vec<Option<Vec<String>>> = same
            .iter()
            .map(|&j| english::readable_case(&tokens[jobs[j].0..jobs[j].1]))
            .collect();
        let words: Vec<Vec<&str>> = same
            .iter()
            .zip(&recased)
            .map(|(&j, recased)| match recased {
                Some(ws) => ws.iter().map(String::as_str).collect(),
                None => tokens[jobs[j].0..jobs[j].1]
                    .iter()
                    .map(|t| t.text)
                    .collect(),
            })
            .collect();
        let chunks: Vec<Chunk<'_>> = same
            .iter()
            .zip(&words)
            .map(|(&j, ws)| (ws.as_slice(), &gtags[jobs[j].0..jobs[j].1]))
            .collect();
        labeler.spans_batch(&chunks, &mut batch);
        for (&j, spans) in same.iter().zip(batch.drain(..)) {
            found[j] = spans;
            done[j] = true;
        }
    }
    found
}

/// Whether a token is a full stop, comma, colon or semicolon: none starts a name.
fn is_stop(token: &str) -> bool {
    matches!(token, "." | "," | ":" | ";")
}

/// What is left of a field's labelling budget.
struct Budget {
    left: usize,
}

/// Whether a token has no letter and no digit.
fn is_symbols(token: &str) -> bool {
    !token.chars().any(char::is_alphanumeric)
}

/// The parts of the chunk `[a, b)` outside runs of [`SYMBOL_RUN`] or more symbol-only
/// tokens (the whole chunk when it has none).
fn without_symbol_runs(tokens: &[Token<'_>], a: usize, b: usize) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut start = a;
    let mut i = a;
    while i < b {
        if !is_symbols(tokens[i].text) {
            i += 1;
            continue;
        }
        let run = i;
        while i < b && is_symbols(tokens[i].text) {
            i += 1;
        }
        if i - run >= SYMBOL_RUN {
            if run > start {
                parts.push((start, run));
            }
            start = i;
        }
    }
    if start < b {
        parts.push((start, b));
    }
    parts
}

impl<L: Labeler> Tagger for Pipeline<L> {
    fn tier(&self) -> Tier {
        self.tier
    }

    fn kernel(&self) -> Kernel {
        self.labeler().kernel()
    }

    fn describe(&self) -> String {
        self.labeler().describe()
    }

    fn tag_article(&self, title: &str, body: &str, published: Option<NaiveDate>) -> Vec<Entity> {
        let mut out = Vec::new();
        self.tag_field_at(title, Field::Title, published, &mut out);
        self.tag_field_at(body, Field::Body, published, &mut out);
        super::coherence::cohere(&mut out, &self.gazetteer, title, body);
        // Coherence may have found a name again inside an address.
        let (in_title, in_body) = (address::spans(title), address::spans(body));
        out.retain(|e| {
            let addresses = if e.field == Field::Title {
                &in_title
            } else {
                &in_body
            };
            !address::inside(addresses, e)
        });
        out
    }

    fn tag_field_at(
        &self,
        text: &str,
        field: Field,
        anchor: Option<NaiveDate>,
        out: &mut Vec<Entity>,
    ) {
        let mut budget = Budget {
            left: self.fallback.as_ref().map_or(usize::MAX, |(b, _)| *b),
        };
        let first_new = out.len();
        let mut byte = 0;
        let mut chars = 0;
        while byte < text.len() {
            let end = window_end(text, byte);
            let window = &text[byte..end];
            let first = out.len();
            self.tag_window(&mut budget, window, field, anchor, out);
            for e in &mut out[first..] {
                e.start += chars;
                e.end += chars;
            }
            chars += window.chars().count();
            byte = end;
        }
        let addresses = address::spans(text);
        if !addresses.is_empty() {
            let found = out.split_off(first_new);
            out.extend(
                found
                    .into_iter()
                    .filter(|e| !address::inside(&addresses, e)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A labeller that only counts the words it is given.
    #[derive(Debug, Default)]
    struct Counting(Arc<AtomicUsize>);

    impl Labeler for Counting {
        fn spans(&self, words: &[&str], _gaz: &[GazTag], _out: &mut Vec<Span>) {
            self.0.fetch_add(words.len(), Ordering::Relaxed);
        }
        fn kernel(&self) -> Kernel {
            Kernel::F32
        }
        fn describe(&self) -> String {
            "counting".into()
        }
    }

    /// What a [`Scripted`] labeller calls an entity in every chunk.
    #[derive(Debug, Clone, Copy)]
    enum Script {
        /// The first `n` words (all of them when `None`) are one person.
        PersonAtStart(Option<usize>),
        /// Every word is a date of its own.
        EachWordADate,
    }

    /// A labeller trained on English that follows its [`Script`] and keeps the words it
    /// was given.
    #[derive(Debug)]
    struct Scripted {
        script: Script,
        seen: std::sync::Mutex<Vec<String>>,
    }

    impl Labeler for Scripted {
        fn spans(&self, words: &[&str], _gaz: &[GazTag], out: &mut Vec<Span>) {
            if let Ok(mut seen) = self.seen.lock() {
                seen.extend(words.iter().map(|w| w.to_string()));
            }
            let span = |first: usize, last: usize, kind: EntityType| Span {
                first,
                last,
                kind,
                confidence: 0.9,
            };
            match self.script {
                Script::PersonAtStart(n) => {
                    let last = n.unwrap_or(words.len());
                    if last > 0 && words.len() >= last {
                        out.push(span(0, last, EntityType::PER));
                    }
                }
                Script::EachWordADate => {
                    out.extend((0..words.len()).map(|i| span(i, i + 1, EntityType::DATE)));
                }
            }
        }
        fn english(&self) -> bool {
            true
        }
        fn kernel(&self) -> Kernel {
            Kernel::F32
        }
        fn describe(&self) -> String {
            format!("scripted: {:?}", self.script)
        }
    }

    /// An accurate-tier pipeline whose labeller follows `script`.
    fn scripted(script: Script) -> Pipeline<Scripted> {
        let (gazetteer, model) = crate::tag::builtin_resources().unwrap();
        let lexicon = Arc::clone(model.lexicon());
        let labeler = Scripted {
            script,
            seen: std::sync::Mutex::default(),
        };
        Pipeline::new(Tier::Accurate, gazetteer, lexicon, labeler)
    }

    /// An accurate-tier pipeline whose labeller calls the first `words` words of a chunk
    /// (all of them when `None`) a person.
    fn person_at_start(words: Option<usize>) -> Pipeline<Scripted> {
        scripted(Script::PersonAtStart(words))
    }

    #[test]
    fn capitals_reach_the_labeller_in_headline_case_and_entities_keep_the_text() {
        let p = person_at_start(Some(1));
        let mut out = Vec::new();
        p.tag_field("JAPAN GET LUCKY WIN", Field::Title, &mut out);
        let seen = p.labeler.seen.lock().unwrap().clone();
        assert_eq!(seen, ["Japan", "Get", "Lucky", "Win"]);
        assert!(out.iter().any(|e| e.text == "JAPAN"), "{out:?}");
    }

    #[test]
    fn a_title_and_its_period_are_not_part_of_the_name() {
        let p = person_at_start(None);
        let mut out = Vec::new();
        p.tag_field("Dr. Lasdon", Field::Body, &mut out);
        let names: Vec<&str> = out.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(names, ["Lasdon"]);
    }

    #[test]
    fn a_hebrew_title_alone_is_not_a_person() {
        let p = person_at_start(Some(1));
        let mut out = Vec::new();
        p.tag_field("האדמירל האיטלקי אמר", Field::Body, &mut out);
        assert!(out.iter().all(|e| e.kind != EntityType::PER), "{out:?}");
        p.tag_field("דראגונה אמר", Field::Body, &mut out);
        assert!(out.iter().any(|e| e.text == "דראגונה"), "{out:?}");
    }

    #[test]
    fn nothing_is_found_inside_web_and_mail_addresses() {
        let p = person_at_start(Some(1));
        let mut out = Vec::new();
        p.tag_field("janette.elbertson@enron.com wrote", Field::Body, &mut out);
        assert!(out.is_empty(), "{out:?}");
        // A link opening a chunk: its first word would be the labeller's person.
        let body = "Kate Olsen@ENRON wrote.\nhttps://www.enron.com/news/2001/05/01 is new";
        let out = p.tag_article("", body, None);
        assert!(out.iter().any(|e| e.text == "Kate"), "{out:?}");
        let link = "Kate Olsen@ENRON wrote.\n".chars().count();
        assert!(out.iter().all(|e| e.end <= link), "{out:?}");
    }

    #[test]
    fn model_dates_inside_one_rule_date_become_one_entity() {
        let p = scripted(Script::EachWordADate);
        let mut out = Vec::new();
        p.tag_field("met on Jan. 5, 2021 here", Field::Body, &mut out);
        let dates: Vec<&Entity> = out.iter().filter(|e| e.text.contains("2021")).collect();
        assert_eq!(dates.len(), 1, "{out:?}");
        assert_eq!(dates[0].text, "Jan. 5, 2021");
        assert_eq!(dates[0].value.as_deref(), Some("2021-01-05"));
        let mut spans: Vec<(usize, usize)> = out.iter().map(|e| (e.start, e.end)).collect();
        spans.dedup();
        assert_eq!(spans.len(), out.len(), "{out:?}");
    }

    /// A pipeline with a counting main labeller (budget `budget` words a field) and a
    /// counting fallback; returns it and the two counters.
    fn counting_pipeline(
        budget: usize,
    ) -> (Pipeline<Counting>, Arc<AtomicUsize>, Arc<AtomicUsize>) {
        let (gazetteer, model) = crate::tag::builtin_resources().unwrap();
        let lexicon = Arc::clone(model.lexicon());
        let (main, rest) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let p = Pipeline::new(Tier::Accurate, gazetteer, lexicon, Counting(main.clone()))
            .with_fallback(budget, Box::new(Counting(rest.clone())));
        (p, main, rest)
    }

    #[test]
    fn runs_of_symbols_reach_no_labeller() {
        let (p, main, rest) = counting_pipeline(1000);
        let brackets = format!("ראש הממשלה נפגש היום {} עם שר החוץ", "[".repeat(200_000));
        let mut out = Vec::new();
        p.tag_field(&brackets, Field::Body, &mut out);
        // The words around the run are labelled; the 200,000 brackets are not.
        let (m, r) = (main.load(Ordering::Relaxed), rest.load(Ordering::Relaxed));
        assert!(m + r < 20, "{m} + {r} words labelled");
        // Short runs of punctuation stay in the text the labeller reads.
        main.store(0, Ordering::Relaxed);
        p.tag_field("הוא אמר: \"(...)\" ויצא.", Field::Body, &mut out);
        assert!(main.load(Ordering::Relaxed) >= 9);
    }

    #[test]
    fn a_field_past_its_budget_goes_to_the_fallback() {
        let (p, main, rest) = counting_pipeline(1000);
        let words = "א ב ג ד ה ו ז ח ט י ".repeat(10_000);
        let mut out = Vec::new();
        p.tag_field(&words, Field::Body, &mut out);
        let (m, r) = (main.load(Ordering::Relaxed), rest.load(Ordering::Relaxed));
        assert!(m <= 1000 && m > 500, "main labeller: {m} words");
        assert_eq!(m + r, 100_000, "every word labelled once");
        // Each field has its own budget.
        main.store(0, Ordering::Relaxed);
        p.tag_field("ראש הממשלה נפגש היום עם שר החוץ", Field::Title, &mut out);
        assert_eq!(main.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn english_chunks_go_to_the_rules_unless_the_labeller_reads_english() {
        let text = "Capitol Hill staffers met Goldman Sachs bankers on Tuesday.";
        let (p, main, rest) = counting_pipeline(1000);
        let mut out = Vec::new();
        p.tag_field(text, Field::Body, &mut out);
        assert_eq!(
            main.load(Ordering::Relaxed) + rest.load(Ordering::Relaxed),
            0
        );
        assert!(out.iter().all(|e| e.source != Component::Model), "{out:?}");

        let p = person_at_start(Some(2));
        let mut out = Vec::new();
        p.tag_field(text, Field::Body, &mut out);
        let model_spans: Vec<&str> = out
            .iter()
            .filter(|e| e.source == Component::Model)
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(model_spans, ["Capitol Hill"], "{out:?}");
        // Titles stay outside names the model finds in English too.
        let mut out = Vec::new();
        p.tag_field("President Macron spoke.", Field::Body, &mut out);
        assert!(out.iter().any(|e| e.text == "Macron"), "{out:?}");
    }

    #[test]
    fn symbol_runs_split_chunks_only_when_long() {
        let text = "a , b ( ) - - - - - - - - c";
        let tokens = tokenize(text);
        let parts = without_symbol_runs(&tokens, 0, tokens.len());
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(tokens[parts[1].0].text, "c");
        let short = tokenize("a ( ) , . b");
        assert_eq!(
            without_symbol_runs(&short, 0, short.len()),
            vec![(0, short.len())]
        );
    }
}
