//! Name lists for the fast tier's soft features (`train-ner --name-lists DIR`): each word
//! of a listed name gets flags (`clusters::name_flags`) saying which kind of list holds it.
//! The flags are stored in the model file beside the word clusters; the model learns how
//! much each says, so a listed word that is also a common word costs nothing.
//!
//! Files are recognized by name (one name a line): `PER_first_names.txt`,
//! `PER_last_names.txt`, `PER_knesset_members.txt` (first word: first name, last word: last
//! name, every word: public person), `ORG_knesset_factions.txt` and `ORG_gov_ministries.txt`
//! (every word of two letters or more). English lists carry `_en` before `.txt`
//! (`PER_first_names_en.txt`, ...; `PER_people_en.txt` holds full names, as the Knesset
//! members' list does; `scripts/english-names.py` writes them). Other files are skipped and
//! named.

use newsflow_core::tag::fast::clusters::name_flags;
use newsflow_core::tag::hash::hash_bytes;
use std::collections::HashMap;
use std::path::Path;

/// What a name-list file contributes, by its file name.
fn kind_of(file_name: &str) -> Option<Kind> {
    Some(match file_name {
        "PER_first_names.txt" | "PER_first_names_en.txt" => Kind::Word(name_flags::FIRST),
        "PER_last_names.txt" | "PER_last_names_en.txt" => Kind::Word(name_flags::LAST),
        "PER_knesset_members.txt" | "PER_people_en.txt" => Kind::Person,
        "ORG_knesset_factions.txt" | "ORG_gov_ministries.txt" => Kind::Words(name_flags::ORG),
        _ => return None,
    })
}

#[derive(Clone, Copy)]
enum Kind {
    /// Each word of a line gets this flag.
    Word(u8),
    /// A person's full name: first word FIRST, last word LAST, all PUBLIC_PERSON.
    Person,
    /// Each word of two letters or more gets this flag.
    Words(u8),
}

/// The words of a listed name as the tagger sees them (gershayim and geresh as ASCII `"`
/// and `'`, split at spaces and hyphens, outer punctuation dropped).
fn words(line: &str) -> Vec<String> {
    line.replace('\u{05F4}', "\"")
        .replace('\u{05F3}', "'")
        .split(|c: char| c.is_whitespace() || c == '-' || c == '\u{05BE}')
        .map(|w| w.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '"'))
        .map(|w| w.trim_start_matches(['"', '\'']).to_string())
        .filter(|w| w.chars().any(char::is_alphabetic))
        .collect()
}

/// Name-list flags read from a folder.
pub struct NameLists {
    /// (word hash, flags), sorted by hash.
    pub flags: Vec<(u64, u8)>,
    /// Files of the folder that are not name lists.
    pub skipped: Vec<String>,
}

/// The flags of every word in the recognized files of `dir`.
pub fn load(dir: &Path) -> std::io::Result<NameLists> {
    let mut flags: HashMap<u64, u8> = HashMap::new();
    let mut skipped = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(kind) = kind_of(&name) else {
            skipped.push(name);
            continue;
        };
        let text = std::fs::read_to_string(e.path())?;
        for line in text.lines() {
            add_line(&mut flags, kind, line);
        }
    }
    let mut out: Vec<(u64, u8)> = flags.into_iter().collect();
    out.sort_unstable();
    Ok(NameLists {
        flags: out,
        skipped,
    })
}

fn add_line(flags: &mut HashMap<u64, u8>, kind: Kind, line: &str) {
    let ws = words(line);
    let n = ws.len();
    for (i, w) in ws.iter().enumerate() {
        let f = match kind {
            Kind::Word(f) => f,
            Kind::Words(f) if w.chars().count() >= 2 => f,
            Kind::Words(_) => continue,
            Kind::Person => {
                let mut f = name_flags::PUBLIC_PERSON;
                if i == 0 && n > 1 {
                    f |= name_flags::FIRST;
                }
                if i + 1 == n && n > 1 {
                    f |= name_flags::LAST;
                }
                f
            }
        };
        *flags.entry(hash_bytes(1, w.as_bytes())).or_default() |= f;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags_of(kind: Kind, lines: &[&str]) -> HashMap<u64, u8> {
        let mut m = HashMap::new();
        for l in lines {
            add_line(&mut m, kind, l);
        }
        m
    }

    fn get(m: &HashMap<u64, u8>, w: &str) -> u8 {
        m.get(&hash_bytes(1, w.as_bytes())).copied().unwrap_or(0)
    }

    #[test]
    fn a_person_gives_first_last_and_public_flags() {
        let m = flags_of(Kind::Person, &["אבי בן-דוד", "מאיר"]);
        let p = name_flags::PUBLIC_PERSON;
        assert_eq!(get(&m, "אבי"), p | name_flags::FIRST);
        assert_eq!(get(&m, "בן"), p);
        assert_eq!(get(&m, "דוד"), p | name_flags::LAST);
        // A one-word name is neither a first nor a last name.
        assert_eq!(get(&m, "מאיר"), p);
    }

    #[test]
    fn org_words_skip_single_letters_and_punctuation() {
        let m = flags_of(
            Kind::Words(name_flags::ORG),
            &["ש\u{05F4}ס (התאחדות ספרדים)", "ו"],
        );
        assert_eq!(get(&m, "ש\"ס"), name_flags::ORG);
        assert_eq!(get(&m, "התאחדות"), name_flags::ORG);
        assert_eq!(get(&m, "ספרדים"), name_flags::ORG);
        assert_eq!(get(&m, "ו"), 0);
    }

    #[test]
    fn files_are_recognized_by_name() {
        let dir = std::env::temp_dir().join(format!("nf-names-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("PER_first_names.txt"), "דנה\n").unwrap();
        std::fs::write(dir.join("PER_last_names.txt"), "דנה\nלוי\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "x\n").unwrap();
        std::fs::write(dir.join("PER_first_names_en.txt"), "James\n").unwrap();
        std::fs::write(dir.join("PER_people_en.txt"), "Abraham Lincoln\n").unwrap();
        let lists = load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(lists.skipped, vec!["notes.txt".to_string()]);
        let m: HashMap<u64, u8> = lists.flags.into_iter().collect();
        assert_eq!(get(&m, "דנה"), name_flags::FIRST | name_flags::LAST);
        assert_eq!(get(&m, "לוי"), name_flags::LAST);
        assert_eq!(get(&m, "James"), name_flags::FIRST);
        let p = name_flags::PUBLIC_PERSON;
        assert_eq!(get(&m, "Abraham"), p | name_flags::FIRST);
        assert_eq!(get(&m, "Lincoln"), p | name_flags::LAST);
    }
}
