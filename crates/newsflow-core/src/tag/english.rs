//! English entities without English training data: capitalisation, titles and name heads.
//! Runs on sentence chunks without Hebrew letters (the Hebrew model is not used there);
//! known names come from the gazetteer, dates and amounts from the rules.
//!
//! - A title (`President`, `Foreign Minister`, `Admiral`, `Gen.`, `Mr`, ...) followed by
//!   capitalised words: the words after the last title are a person.
//! - A run of capitalised words (joined by `of`, `the`, `for`, `and`) that contains an
//!   organisation head (`Ministry`, `Committee`, `Court`, `Party`, `Bank`, ...) is an
//!   organisation; a facility or location head makes a FAC or LOC.
//! - Any other run of two or three capitalised words is a person (news style); a single
//!   capitalised word is a person when it is the last name of a person already found.

use super::entity::Span;
use super::EntityType;
use crate::segment::Token;

const TITLES: &[&str] = &[
    "President",
    "Minister",
    "Admiral",
    "Adm",
    "General",
    "Gen",
    "Secretary",
    "Chancellor",
    "King",
    "Queen",
    "Pope",
    "Mr",
    "Mrs",
    "Ms",
    "Dr",
    "Senator",
    "Sen",
    "Rep",
    "Governor",
    "Mayor",
    "Chairman",
    "Chairwoman",
    "Prince",
    "Princess",
    "Sheikh",
    "Ayatollah",
    "Judge",
    "Justice",
    "Ambassador",
    "Envoy",
    "Prosecutor",
    "Colonel",
    "Col",
    "Captain",
    "Lt",
    "Sergeant",
    "Rabbi",
    "Premier",
    "spokesman",
    "spokeswoman",
    "spokesperson",
    "leader",
    "envoy",
    "minister",
    "president",
    "chief",
    "Chief",
    "CEO",
    "Commander",
];

const ORG_HEADS: &[&str] = &[
    "Ministry",
    "Committee",
    "Council",
    "Court",
    "Agency",
    "Organization",
    "Organisation",
    "Union",
    "Party",
    "Bank",
    "University",
    "Commission",
    "Department",
    "Forces",
    "Army",
    "Navy",
    "Institute",
    "Corporation",
    "Company",
    "Inc",
    "Ltd",
    "Group",
    "Association",
    "Alliance",
    "Authority",
    "Office",
    "Parliament",
    "Assembly",
    "Fund",
    "Service",
    "Movement",
    "Front",
    "Brigades",
    "Coalition",
    "Federation",
    "Foundation",
    "Times",
    "Post",
    "News",
    "Agency",
    "Guard",
    "Police",
    "Cabinet",
    "Senate",
    "Congress",
    "Board",
];
const FAC_HEADS: &[&str] = &[
    "Airport",
    "Bridge",
    "Square",
    "Tower",
    "Hospital",
    "Palace",
    "Station",
    "Street",
    "Stadium",
    "Base",
    "Plant",
    "Port",
    "Prison",
    "Mosque",
    "Church",
    "Synagogue",
    "Temple",
    "Building",
];
const LOC_HEADS: &[&str] = &[
    "River",
    "Sea",
    "Mountains",
    "Mountain",
    "Ocean",
    "Valley",
    "Desert",
    "Gulf",
    "Strait",
    "Lake",
    "Island",
    "Islands",
    "Peninsula",
    "Coast",
];
const CONNECTORS: &[&str] = &["of", "the", "for", "and", "de", "al", "von", "van", "bin"];
const NOT_NAMES: &[&str] = &[
    "The",
    "A",
    "An",
    "In",
    "On",
    "At",
    "For",
    "From",
    "By",
    "With",
    "As",
    "But",
    "And",
    "Or",
    "If",
    "When",
    "While",
    "After",
    "Before",
    "During",
    "More",
    "Most",
    "Some",
    "Any",
    "All",
    "This",
    "That",
    "These",
    "Those",
    "He",
    "She",
    "It",
    "They",
    "We",
    "I",
    "His",
    "Her",
    "Their",
    "Its",
    "Our",
    "There",
    "Here",
    "Overnight",
    "Yesterday",
    "Today",
    "Tomorrow",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Last",
    "Next",
    "According",
    "Asked",
    "Meanwhile",
    "However",
    "Earlier",
    "Later",
    "Both",
    "Such",
    "No",
    "Not",
    "What",
    "Who",
    "Why",
    "How",
    "Mr",
];

/// Function words that headline Title Case writes in lower case inside a headline.
pub const HEADLINE_SMALL_WORDS: &[&str] = &[
    "a", "an", "and", "as", "at", "but", "by", "for", "from", "in", "of", "on", "or", "the", "to",
    "with",
];

/// Common words of three letters or fewer: in capitals they are not acronyms (`IS`, `NEW`),
/// so [`readable_case`] capitalises them like longer words instead of keeping `US`-style.
const COMMON_SHORT_WORDS: &[&str] = &[
    "i", "is", "it", "be", "we", "he", "me", "my", "no", "so", "up", "do", "go", "if", "am", "are",
    "was", "has", "had", "not", "you", "his", "her", "its", "our", "all", "can", "get", "got",
    "new", "now", "out", "one", "two", "off", "who", "how", "why", "may", "say", "see", "set",
    "too", "few", "big", "day", "man", "men", "way", "yet", "own", "per", "via", "vs", "any",
    "did", "let", "lot", "old", "six", "ten", "top", "war", "win", "won", "end", "far", "bad",
    "hit", "put", "run", "she", "him",
];

/// The words of a chunk in headline case when the labellers should not read it as written.
/// An English chunk written all in capitals (a wire headline, a dateline: `LONDON`,
/// `JAPAN GET LUCKY WIN`) goes to them in headline Title Case (`London`, `Japan Get Lucky
/// Win`): the models learned names from mixed-case text, and in capitals every word looks
/// like one. Words of three letters or fewer that are not common words stay in capitals
/// (`US`, `EU`, `FBI`), short function words inside go lower case. `None` for every other
/// chunk, which is read as written.
pub fn readable_case(tokens: &[Token<'_>]) -> Option<Vec<String>> {
    let letters = || {
        tokens
            .iter()
            .flat_map(|t| t.text.chars())
            .filter(|c| c.is_alphabetic())
    };
    let shouting =
        is_english(tokens) && letters().count() >= 4 && !letters().any(char::is_lowercase);
    if !shouting {
        return None;
    }
    let mut first = true;
    let words = tokens.iter().map(|t| {
        let n = t.text.chars().filter(|c| c.is_alphabetic()).count();
        if n == 0 {
            return t.text.to_string();
        }
        let lower = t.text.to_lowercase();
        let opening = std::mem::replace(&mut first, false);
        if !opening && HEADLINE_SMALL_WORDS.contains(&lower.as_str()) {
            lower
        } else if n <= 3
            && !HEADLINE_SMALL_WORDS.contains(&lower.as_str())
            && !COMMON_SHORT_WORDS.contains(&lower.as_str())
        {
            t.text.to_string()
        } else {
            let mut chars = lower.chars();
            chars
                .next()
                .into_iter()
                .flat_map(char::to_uppercase)
                .chain(chars)
                .collect()
        }
    });
    Some(words.collect())
}

/// Whether a chunk of tokens is English text for this component (Latin letters, no Hebrew).
pub fn is_english(tokens: &[Token<'_>]) -> bool {
    let mut latin = false;
    for t in tokens {
        for c in t.text.chars() {
            if ('\u{05D0}'..='\u{05EA}').contains(&c) {
                return false;
            }
            latin |= c.is_ascii_alphabetic();
        }
    }
    latin
}

fn is_cap(t: &Token<'_>) -> bool {
    t.is_word && t.text.starts_with(|c: char| c.is_uppercase())
}

/// Whether `s` is an English title (`President`, `Gen.`, `Mr`, ...), never part of a name.
pub(crate) fn is_title(s: &str) -> bool {
    TITLES.contains(&without_period(s))
}

/// `s` without the period an abbreviation keeps as part of its token (`Inc.` → `Inc`).
fn without_period(s: &str) -> &str {
    s.strip_suffix('.').unwrap_or(s)
}

/// Proposes entities on `tokens[a..b]`; `covered` marks tokens that known names (the
/// gazetteer) already explain; `known_last_names` are last names of persons found so far.
pub fn spans(
    tokens: &[Token<'_>],
    a: usize,
    b: usize,
    covered: &[bool],
    known_last_names: &[&str],
    is_title_field: bool,
) -> Vec<Span> {
    let mut out = Vec::new();
    if is_title_field && is_title_case(&tokens[a..b]) {
        return out;
    }
    let free_cap = |j: usize| j < b && !covered[j] && is_cap(&tokens[j]);
    let mut i = a;
    while i < b {
        if !free_cap(i) {
            i += 1;
            continue;
        }
        let j = run_end(tokens, i, b, &free_cap);
        let mut first = i;
        while first < j
            && (NOT_NAMES.contains(&without_period(tokens[first].text))
                || tokens[first].text == ".")
        {
            first += 1;
        }
        let run = Run {
            tokens,
            start: a,
            cap_start: i,
            first,
            end: j,
            words: (first..j).filter(|&k| tokens[k].is_word).collect(),
        };
        if !run.words.is_empty() {
            out.extend(run.classify(known_last_names));
        }
        i = j.max(i + 1);
    }
    out
}

/// A title in title case (`Leaders Weigh A Summit In Geneva`): capitalisation says
/// nothing there, so only the gazetteer and the rules speak.
fn is_title_case(tokens: &[Token<'_>]) -> bool {
    let words = tokens
        .iter()
        .filter(|t| t.is_word && t.text.chars().any(char::is_alphabetic));
    let (n_words, n_caps) = words.fold((0, 0), |(n, c), t| (n + 1, c + usize::from(is_cap(t))));
    n_words >= 4 && n_caps * 10 >= n_words * 7
}

/// The end of the run of capitalised words starting at `i`: initials and abbreviations
/// (`Gen.` `J.`) and connectors between capitalised words (`Bank of England`) included.
fn run_end(tokens: &[Token<'_>], i: usize, b: usize, free_cap: &impl Fn(usize) -> bool) -> usize {
    let mut j = i;
    loop {
        if free_cap(j) {
            j += 1;
            if j + 1 < b
                && tokens[j].text == "."
                && free_cap(j + 1)
                && tokens[j - 1].text.len() <= 3
            {
                j += 1;
            }
        } else if j < b && CONNECTORS.contains(&tokens[j].text) && free_cap(j + 1) && j > i {
            j += 1;
        } else {
            return j;
        }
    }
}

/// One run of capitalised tokens, `[first, end)` after leading non-names.
struct Run<'t, 'a> {
    tokens: &'t [Token<'a>],
    /// Start of the window.
    start: usize,
    /// Where the capitalised run began (before leading non-names were dropped).
    cap_start: usize,
    first: usize,
    end: usize,
    /// The word tokens of `[first, end)`.
    words: Vec<usize>,
}

impl Run<'_, '_> {
    /// The run's entity, by its head words, a title before it, its length, or a known
    /// last name.
    fn classify(&self, known_last_names: &[&str]) -> Option<Span> {
        let tokens = self.tokens;
        let (first, j) = (self.first, self.end);
        let texts: Vec<&str> = self
            .words
            .iter()
            .map(|&k| without_period(tokens[k].text))
            .collect();
        let last_word = *texts.last().unwrap_or(&"");
        let has = |heads: &[&str]| texts.iter().any(|t| heads.contains(t));
        let span = |first: usize, kind: EntityType, confidence: f32| {
            Some(Span {
                first,
                last: j,
                kind,
                confidence,
            })
        };
        let after_title = first > self.start && is_title(tokens[first - 1].text);
        let n = self.words.len();
        if has(ORG_HEADS) {
            span(first, EntityType::ORG, 0.6)
        } else if FAC_HEADS.contains(&last_word) {
            span(first, EntityType::FAC, 0.6)
        } else if LOC_HEADS.contains(&last_word)
            || texts.first().is_some_and(|t| LOC_HEADS.contains(t))
        {
            span(first, EntityType::LOC, 0.6)
        } else if let Some(t) = self.words.iter().rposition(|&k| is_title(tokens[k].text)) {
            // `French President Emmanuel Macron`: the name follows the last title.
            let mut start = self.words.get(t + 1).copied().unwrap_or(j);
            if start < j && tokens[start].text == "." {
                start += 1;
            }
            (start < j && j - start <= 4)
                .then(|| span(start, EntityType::PER, 0.75))
                .flatten()
        } else if (2..=3).contains(&n)
            && (first == 0
                || !matches!(tokens[first - 1].text, "." | "!" | "?")
                || first > self.cap_start)
        {
            span(
                first,
                EntityType::PER,
                if after_title { 0.75 } else { 0.55 },
            )
        } else if n == 1 {
            (known_last_names.contains(&texts[0]) || after_title)
                .then(|| span(first, EntityType::PER, 0.7))
                .flatten()
        } else if n >= 2 {
            span(first, EntityType::PER, 0.4)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tokenize;

    fn readable(text: &str) -> String {
        let tokens = tokenize(text);
        match readable_case(&tokens) {
            Some(words) => words.join(" "),
            None => tokens.iter().map(|t| t.text).collect::<Vec<_>>().join(" "),
        }
    }

    #[test]
    fn capitals_are_read_in_headline_case_and_nothing_else_changes() {
        assert_eq!(
            readable("US AND EU SANCTIONS ON THE KREMLIN IS NEW"),
            "US and EU Sanctions on the Kremlin Is New"
        );
        assert_eq!(readable("LONDON 1996-08-30"), "London 1996-08-30");
        assert_eq!(readable("THE END OF NATO"), "The End of Nato");
        // Mixed case, short capitals and Hebrew are left as written.
        assert_eq!(readable("NATO said The End"), "NATO said The End");
        assert_eq!(readable("FBI"), "FBI");
        assert_eq!(readable("NATO ו-EU"), "NATO ו-EU");
    }

    fn run(text: &str) -> Vec<(String, EntityType)> {
        let toks = tokenize(text);
        let covered = vec![false; toks.len()];
        spans(&toks, 0, toks.len(), &covered, &["Dragone"], false)
            .into_iter()
            .map(|s| {
                let words: Vec<&str> = toks[s.first..s.last].iter().map(|t| t.text).collect();
                (words.join(" "), s.kind)
            })
            .collect()
    }

    #[test]
    fn titles_names_and_heads() {
        assert_eq!(
            run("the chair, Italian Admiral Giuseppe Cavo Dragone, said"),
            vec![("Giuseppe Cavo Dragone".to_string(), EntityType::PER)]
        );
        assert_eq!(
            run("the alliance's Military Committee met"),
            vec![("Military Committee".to_string(), EntityType::ORG)]
        );
        assert_eq!(
            run("Dragone wrote on X"),
            vec![("Dragone".to_string(), EntityType::PER)]
        );
        assert!(run("The talks were candid.").is_empty());
        let head = "Leaders Weigh A Summit In Geneva As Talks Stall";
        let toks = tokenize(head);
        let covered = vec![false; toks.len()];
        assert!(spans(&toks, 0, toks.len(), &covered, &[], true).is_empty());
        assert_eq!(run("Dragone met Senator Jane Whitfield").len(), 2);
        assert_eq!(
            run("officials met John Smith in town"),
            vec![("John Smith".to_string(), EntityType::PER)]
        );
    }
}
