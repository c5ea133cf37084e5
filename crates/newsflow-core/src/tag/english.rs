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

fn is_title(s: &str) -> bool {
    TITLES.contains(&s)
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
    // A title in title case (`Leaders Weigh A Summit In Geneva`): capitalisation says
    // nothing there, so only the gazetteer and the rules speak.
    let words = tokens[a..b]
        .iter()
        .filter(|t| t.is_word && t.text.chars().any(char::is_alphabetic));
    let (n_words, n_caps) = words.fold((0, 0), |(n, c), t| (n + 1, c + usize::from(is_cap(t))));
    if is_title_field && n_words >= 4 && n_caps * 10 >= n_words * 7 {
        return out;
    }
    let mut i = a;
    let free_cap = |j: usize| j < b && !covered[j] && is_cap(&tokens[j]);
    while i < b {
        if !free_cap(i) {
            i += 1;
            continue;
        }
        let mut j = i;
        loop {
            if free_cap(j) {
                j += 1;
                // Initials and abbreviations: `Gen.` `J.`
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
                break;
            }
        }
        let mut first = i;
        while first < j && (NOT_NAMES.contains(&tokens[first].text) || tokens[first].text == ".") {
            first += 1;
        }
        let words: Vec<usize> = (first..j).filter(|&k| tokens[k].is_word).collect();
        let next = j;
        if words.is_empty() {
            i = next.max(i + 1);
            continue;
        }
        let texts: Vec<&str> = words.iter().map(|&k| tokens[k].text).collect();
        let last_word = *texts.last().unwrap_or(&"");
        let has = |heads: &[&str]| texts.iter().any(|t| heads.contains(t));
        if has(ORG_HEADS) {
            out.push(Span {
                first,
                last: j,
                kind: EntityType::ORG,
                confidence: 0.6,
            });
        } else if FAC_HEADS.contains(&last_word) {
            out.push(Span {
                first,
                last: j,
                kind: EntityType::FAC,
                confidence: 0.6,
            });
        } else if LOC_HEADS.contains(&last_word)
            || texts.first().is_some_and(|t| LOC_HEADS.contains(t))
        {
            out.push(Span {
                first,
                last: j,
                kind: EntityType::LOC,
                confidence: 0.6,
            });
        } else if let Some(t) = words.iter().rposition(|&k| is_title(tokens[k].text)) {
            // `French President Emmanuel Macron`: the name follows the last title.
            let mut start = words.get(t + 1).copied().unwrap_or(j);
            if start < j && tokens[start].text == "." {
                start += 1;
            }
            if start < j && j - start <= 4 {
                out.push(Span {
                    first: start,
                    last: j,
                    kind: EntityType::PER,
                    confidence: 0.75,
                });
            }
        } else if (2..=3).contains(&words.len())
            && (first == 0 || !matches!(tokens[first - 1].text, "." | "!" | "?") || first > i)
        {
            let after_title = first > a && is_title(tokens[first - 1].text);
            let conf = if after_title { 0.75 } else { 0.55 };
            out.push(Span {
                first,
                last: j,
                kind: EntityType::PER,
                confidence: conf,
            });
        } else if words.len() == 1 {
            let t = texts[0];
            let after_title = first > a && is_title(tokens[first - 1].text);
            if known_last_names.contains(&t) || after_title {
                out.push(Span {
                    first,
                    last: j,
                    kind: EntityType::PER,
                    confidence: 0.7,
                });
            }
        } else if words.len() >= 2 {
            out.push(Span {
                first,
                last: j,
                kind: EntityType::PER,
                confidence: 0.4,
            });
        }
        i = next.max(i + 1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tokenize;

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
