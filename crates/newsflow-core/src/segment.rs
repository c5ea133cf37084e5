//! Tokenization of normalized text with character offsets, and Hebrew prefix analysis.
//!
//! A token is a maximal run of letters and digits, joined across `"`, `'`, `-`, `.`, `/`
//! and `,` when a letter or digit follows (ארה"ב, ג'וזפה, אל-ספאדי, U.S, 3.5, 1,000,
//! 21/08); a trailing `'` after a Hebrew letter stays (גרינקוויץ'). An English clitic
//! (`'s 're 'll 've 'd 'm` after a Latin letter) is a token of its own, as in the English
//! treebanks the taggers learn from (`Russia` `'s`). Every other non-space character is a
//! one-character punctuation token.

/// One token of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The token text.
    pub text: &'a str,
    /// Byte offset of the first byte.
    pub byte_start: usize,
    /// Character (Unicode scalar) offset of the first character.
    pub start: usize,
    /// Character offset one past the last character.
    pub end: usize,
    /// Whether this is a word/number (not punctuation).
    pub is_word: bool,
}

/// Letter or digit, with fast paths for ASCII and Hebrew letters (the Unicode property
/// look-up is the slow part of tokenizing Hebrew text).
#[inline]
pub fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        is_hebrew_letter(c) || c.is_alphanumeric()
    }
}

/// Alphabetic, with the same fast paths (Hebrew letters first: most tokens are Hebrew).
#[inline]
pub fn is_letter(c: char) -> bool {
    if is_hebrew_letter(c) {
        true
    } else if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        c.is_alphabetic()
    }
}

/// A Hebrew letter (א–ת, final forms included).
#[inline]
pub fn is_hebrew_letter(c: char) -> bool {
    ('\u{05D0}'..='\u{05EA}').contains(&c)
}

/// Splits `text` into tokens.
pub fn tokenize(text: &str) -> Vec<Token<'_>> {
    let mut tokens = Vec::with_capacity(text.len() / 5);
    let mut iter = text.char_indices().peekable();
    let mut char_pos = 0usize;
    while let Some((b, c)) = iter.next() {
        let start_char = char_pos;
        char_pos += 1;
        if c.is_whitespace() {
            continue;
        }
        if !is_word_char(c) {
            tokens.push(Token {
                text: &text[b..b + c.len_utf8()],
                byte_start: b,
                start: start_char,
                end: char_pos,
                is_word: false,
            });
            continue;
        }
        let mut end_byte = b + c.len_utf8();
        let mut last = c;
        let mut clitic = 0usize;
        loop {
            match iter.peek().copied() {
                Some((nb, nc)) if is_word_char(nc) => {
                    iter.next();
                    char_pos += 1;
                    end_byte = nb + nc.len_utf8();
                    last = nc;
                }
                Some((nb, '\''))
                    if last.is_ascii_alphabetic() && english_clitic(&text[nb..]) > 0 =>
                {
                    clitic = english_clitic(&text[nb..]);
                    break;
                }
                Some((nb, nc)) if matches!(nc, '"' | '\'' | '-' | '.' | '/' | ',') => {
                    // Joiner: keep only if followed by a letter/digit (lookahead of 2).
                    let after = text[nb + 1..].chars().next();
                    let joins = match nc {
                        ',' | '/' => {
                            last.is_ascii_digit() && after.is_some_and(|a| a.is_ascii_digit())
                        }
                        '.' => after.is_some_and(is_word_char) && !last.is_whitespace(),
                        _ => after.is_some_and(is_word_char),
                    };
                    if joins {
                        iter.next();
                        char_pos += 1;
                        end_byte = nb + 1;
                        last = nc;
                    } else if nc == '\'' && is_hebrew_letter(last) {
                        // Trailing geresh of a transliteration (גרינקוויץ').
                        iter.next();
                        char_pos += 1;
                        end_byte = nb + 1;
                        break;
                    } else {
                        break;
                    }
                }
                _ => break,
            }
        }
        // An initial keeps its period (`George W. Bush`), as English treebanks write it:
        // the labellers learned `W.` as one word, and a `.` alone reads as a sentence end.
        // Only before a capitalised Latin word: `ברשת X. "אנו` ends a sentence.
        // So does a title or company abbreviation (`Dr.`, `Inc.`), for the same reason.
        let keeps_period = text.as_bytes().get(end_byte) == Some(&b'.')
            && if end_byte == b + 1 {
                c.is_ascii_uppercase() && precedes_initial(&text[end_byte..])
            } else {
                PERIOD_ABBREVIATIONS.contains(&&text[b..end_byte])
            };
        if keeps_period {
            iter.next();
            char_pos += 1;
            end_byte += 1;
        }
        tokens.push(Token {
            text: &text[b..end_byte],
            byte_start: b,
            start: start_char,
            end: char_pos,
            is_word: true,
        });
        if clitic > 0 {
            // The clitic is ASCII: bytes and characters agree.
            for _ in 0..clitic {
                iter.next();
            }
            tokens.push(Token {
                text: &text[end_byte..end_byte + clitic],
                byte_start: end_byte,
                start: char_pos,
                end: char_pos + clitic,
                is_word: false,
            });
            char_pos += clitic;
        }
    }
    tokens
}

/// Whether `rest` is the period of an initial: `.`, spaces, then a capital Latin letter.
fn precedes_initial(rest: &str) -> bool {
    rest.strip_prefix('.').is_some_and(|after| {
        let next = after.trim_start_matches(' ');
        next.len() < after.len() && next.starts_with(|c: char| c.is_ascii_uppercase())
    })
}

/// Length in bytes of the English clitic that `rest` starts with (`'s`, `'re`, `'ll`, `'ve`,
/// `'d`, `'m`, any case, ending the word), or 0. `O'Brien` and `rock'n'roll` are not clitics.
fn english_clitic(rest: &str) -> usize {
    let bytes = rest.as_bytes();
    ["'s", "'re", "'ll", "'ve", "'d", "'m"]
        .iter()
        .find(|c| {
            bytes.len() >= c.len()
                && bytes[..c.len()].eq_ignore_ascii_case(c.as_bytes())
                && !rest[c.len()..].starts_with(is_word_char)
        })
        .map_or(0, |c| c.len())
}

/// Abbreviations that keep their period as one token (`Dr.`, `Inc.`), as the English
/// treebanks write them; a period after them does not end a sentence either.
const PERIOD_ABBREVIATIONS: &[&str] = &[
    "Mr", "Mrs", "Ms", "Dr", "Prof", "Gen", "Col", "Lt", "Sgt", "Capt", "Adm", "Gov", "Sen", "Rep",
    "St", "Jr", "Sr", "Inc", "Ltd", "Co", "Corp",
];

/// Other abbreviations after which a period does not end a sentence. Their `.` stays a token
/// of its own: the date rules read months (`Jan` `.`), and the gazetteer's alias is `U.S`.
const ABBREVIATIONS: &[&str] = &[
    "vs", "etc", "No", "Jan", "Feb", "Mar", "Apr", "Jun", "Jul", "Aug", "Sep", "Sept", "Oct",
    "Nov", "Dec", "U.S", "U.K", "U.N", "e.g", "i.e",
];

/// Sentence spans `[start, end)` in character offsets.
///
/// A sentence ends at a line or paragraph break, or after `.`, `!`, `?`, `…` or the Hebrew
/// sof pasuq (optionally followed by closing quotes or brackets) when whitespace follows and
/// the next word does not start with a lowercase Latin letter; a period after a known
/// abbreviation, a single letter (initials) or inside a number does not end a sentence.
/// Spans are trimmed of surrounding whitespace.
pub fn sentences(text: &str) -> Vec<[usize; 2]> {
    // Find spans in bytes first, then convert all offsets to characters in one pass.
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut push = |s: usize, e: usize| {
        let piece = &text[s..e];
        let trimmed_start = s + (piece.len() - piece.trim_start().len());
        let trimmed_end = s + piece.trim_end().len();
        if trimmed_end > trimmed_start {
            spans.push((trimmed_start, trimmed_end));
        }
    };
    let bytes = text.as_bytes();
    let mut start = 0usize;
    let mut resume = 0usize;
    let mut b = 0usize;
    while let Some(found) = next_candidate(bytes, b) {
        // `found` is the first byte of a candidate character (see [`next_candidate`]).
        let (cb, c) = found;
        b = cb + c.len_utf8();
        if cb < resume {
            continue;
        }
        if c == '\n' {
            push(start, cb);
            start = cb + 1;
        } else {
            let mut j = b;
            while let Some(n) = text[j..].chars().next() {
                if matches!(n, '"' | '\'' | ')' | ']' | '»' | '.' | '!' | '?') {
                    j += n.len_utf8();
                } else {
                    break;
                }
            }
            let at_space = j >= bytes.len() || bytes[j] == b' ';
            let lower_next = text[j..]
                .trim_start()
                .chars()
                .next()
                .is_some_and(|n| n.is_ascii_lowercase());
            let abbreviation = c == '.' && is_abbreviation_before(text, cb);
            if at_space && !lower_next && !abbreviation {
                push(start, j);
                start = j;
                resume = j;
            }
        }
    }
    push(start, text.len());
    // Byte → character offsets, in one forward pass over the (sorted) span ends.
    let mut out = Vec::with_capacity(spans.len());
    let mut chars = 0usize;
    let mut at = 0usize;
    let mut to_chars = |b: usize| {
        chars += text[at..b].chars().count();
        at = b;
        chars
    };
    for (s, e) in spans {
        let cs = to_chars(s);
        let ce = to_chars(e);
        out.push([cs, ce]);
    }
    out
}

/// Bytes that mark a sentence-splitting candidate: `\n . ! ?`, the first byte of `…`
/// (E2 80 A6) and the last byte of sof pasuq U+05C3 (D7 83). Bytes of Hebrew letters (D7 90–
/// D7 AA) are never among them, so most blocks of Hebrew text hold none.
const CANDIDATE_BYTE: [bool; 256] = {
    let mut t = [false; 256];
    t[b'\n' as usize] = true;
    t[b'.' as usize] = true;
    t[b'!' as usize] = true;
    t[b'?' as usize] = true;
    t[0xE2] = true;
    t[0x83] = true;
    t
};

/// The next character at or after byte `from` that can end a sentence (`\n . ! ? …` or sof
/// pasuq), with its byte offset. A byte scan: these characters are rare, and their last
/// bytes rarely occur in other characters (checked when they do).
#[inline]
fn next_candidate(bytes: &[u8], from: usize) -> Option<(usize, char)> {
    let mut i = from;
    while i < bytes.len() {
        let end = (i + BLOCK).min(bytes.len());
        // Most blocks hold no candidate byte: skip them with one vectorized test.
        if let Some(block) = bytes.get(i..i + BLOCK) {
            let block: &[u8; BLOCK] = block.try_into().unwrap_or(&[0; BLOCK]);
            if block
                .iter()
                .fold(0u8, |any, &b| any | u8::from(is_candidate_byte(b)))
                == 0
            {
                i = end;
                continue;
            }
        }
        for j in i..end {
            let b = bytes[j];
            if !CANDIDATE_BYTE[b as usize] {
                continue;
            }
            match b {
                b'\n' => return Some((j, '\n')),
                b'.' => return Some((j, '.')),
                b'!' => return Some((j, '!')),
                b'?' => return Some((j, '?')),
                0xE2 if bytes.get(j + 1..j + 3) == Some(&[0x80, 0xA6]) => return Some((j, '…')),
                0x83 if j > from && bytes[j - 1] == 0xD7 => return Some((j - 1, '\u{05C3}')),
                _ => {}
            }
        }
        i = end;
    }
    None
}

/// Bytes per block in [`next_candidate`]'s skip test.
const BLOCK: usize = 32;

/// [`CANDIDATE_BYTE`] as comparisons, which the compiler vectorizes over a block.
#[inline(always)]
fn is_candidate_byte(b: u8) -> bool {
    (b == b'\n') | (b == b'.') | (b == b'!') | (b == b'?') | (b == 0xE2) | (b == 0x83)
}

/// Whether the word before the period at byte `dot` is a known abbreviation or a single
/// capital Latin letter (an initial). The word is the run of letters, digits and periods
/// before the dot; every abbreviation is ASCII, so a word with a non-ASCII letter is not one
/// (found without a Unicode table look-up for Hebrew letters).
pub(crate) fn is_abbreviation_before(text: &str, dot: usize) -> bool {
    let bytes = text.as_bytes();
    let mut i = dot;
    while i > 0 {
        let b = bytes[i - 1];
        if b.is_ascii() {
            if b.is_ascii_alphanumeric() || b == b'.' {
                i -= 1;
                continue;
            }
            break;
        }
        // A non-ASCII character ends the word unless it is a letter or digit, which rules
        // the word out.
        if text[..i].chars().next_back().is_some_and(is_word_char) {
            return false;
        }
        break;
    }
    let word = &text[i..dot];
    PERIOD_ABBREVIATIONS.contains(&word)
        || ABBREVIATIONS.contains(&word)
        || (word.len() == 1 && word.as_bytes()[0].is_ascii_uppercase())
}

/// Hebrew proclitic letters: ו ה ב כ ל מ ש.
pub const PREFIX_LETTERS: [char; 7] = ['ו', 'ה', 'ב', 'כ', 'ל', 'מ', 'ש'];

/// Candidate (prefix, stem) splits of a Hebrew token, the unsplit token first; at most three
/// prefix letters, a stem of at least two letters. Non-Hebrew tokens yield only themselves.
pub fn prefix_splits(token: &str) -> impl Iterator<Item = (&str, &str)> {
    let mut cut = 0usize;
    let mut n = 0;
    let mut done = false;
    std::iter::once(("", token)).chain(std::iter::from_fn(move || {
        if done || n >= 3 {
            return None;
        }
        let c = token[cut..].chars().next()?;
        if !PREFIX_LETTERS.contains(&c) {
            done = true;
            return None;
        }
        cut += c.len_utf8();
        n += 1;
        let stem = &token[cut..];
        // A stem keeps at least two letters and starts with a letter (not a quote or dash,
        // except ה-/ב- before digits or Latin, which is handled by the caller).
        let mut chars = stem.chars();
        match (chars.next(), chars.next()) {
            (Some(a), Some(_)) if is_word_char(a) => Some((&token[..cut], stem)),
            (Some('-'), Some(_)) => Some((&token[..cut + 1], &stem[1..])),
            _ => {
                done = true;
                None
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<&str> {
        tokenize(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn keeps_acronyms_hyphens_numbers_whole() {
        assert_eq!(
            texts("נאט\"ו, ארה\"ב ואל-ספאדי: 1,000 ב-15 (רביעי) גרינקוויץ' אמר U.S. 3.5%"),
            vec![
                "נאט\"ו",
                ",",
                "ארה\"ב",
                "ואל-ספאדי",
                ":",
                "1,000",
                "ב-15",
                "(",
                "רביעי",
                ")",
                "גרינקוויץ'",
                "אמר",
                "U.S",
                ".",
                "3.5",
                "%"
            ]
        );
        assert_eq!(texts("\"דיון כן\""), vec!["\"", "דיון", "כן", "\""]);
    }

    #[test]
    fn an_initial_keeps_its_period() {
        assert_eq!(
            texts("George W. Bush and Plan B . A.B. Yehoshua"),
            vec!["George", "W.", "Bush", "and", "Plan", "B", ".", "A.B", ".", "Yehoshua"]
        );
        // A letter at a sentence's end keeps its full stop apart.
        assert_eq!(
            texts("ברשת X. \"אנו\" on X. then X.Y"),
            vec!["ברשת", "X", ".", "\"", "אנו", "\"", "on", "X", ".", "then", "X.Y"]
        );
        let t = tokenize("W. Bush");
        assert_eq!((t[0].start, t[0].end, t[1].start), (0, 2, 3));
    }

    #[test]
    fn a_title_or_company_abbreviation_keeps_its_period() {
        assert_eq!(
            texts("Dr. Lasdon of Acme Inc. met Mr. Ruiz Jr. on Jan. 5 (Drs. too)"),
            vec![
                "Dr.", "Lasdon", "of", "Acme", "Inc.", "met", "Mr.", "Ruiz", "Jr.", "on", "Jan",
                ".", "5", "(", "Drs", ".", "too", ")"
            ]
        );
        let t = tokenize("Dr. X");
        assert_eq!((t[0].end, t[1].start), (3, 4));
    }

    #[test]
    fn english_clitics_are_tokens_of_their_own() {
        assert_eq!(
            texts("Russia's O'Brien we'll IT'S Smiths' d'Arc 's"),
            vec![
                "Russia", "'s", "O'Brien", "we", "'ll", "IT", "'S", "Smiths", "'", "d'Arc", "'",
                "s"
            ]
        );
        let t = tokenize("בנק Russia's x");
        assert_eq!((t[2].text, t[2].start, t[2].end), ("'s", 10, 12));
        assert_eq!((t[3].text, t[3].start), ("x", 13));
    }

    #[test]
    fn char_offsets_are_scalar_positions() {
        let s = "אבג דה";
        let t = tokenize(s);
        assert_eq!((t[1].start, t[1].end), (4, 6));
        assert_eq!(t[1].byte_start, "אבג ".len());
    }

    fn sentence_texts(s: &str) -> Vec<String> {
        let chars: Vec<char> = s.chars().collect();
        sentences(s)
            .into_iter()
            .map(|[a, b]| chars[a..b].iter().collect())
            .collect()
    }

    #[test]
    fn sentences_split_on_terminators_and_breaks() {
        assert_eq!(
            sentence_texts(
                "שר החוץ אמר: \"זה לא יעבוד\". הוא הוסיף כי 3.5% מהציבור תומכים.\n\nפסקה חדשה!"
            ),
            vec![
                "שר החוץ אמר: \"זה לא יעבוד\".",
                "הוא הוסיף כי 3.5% מהציבור תומכים.",
                "פסקה חדשה!"
            ]
        );
        assert_eq!(
            sentence_texts("Mr. Smith met Gen. Jones in the U.S. on Monday. J. R. Tolkien wrote it. e.g. not here"),
            vec![
                "Mr. Smith met Gen. Jones in the U.S. on Monday.",
                "J. R. Tolkien wrote it. e.g. not here"
            ]
        );
        assert!(sentences("   ").is_empty());
    }

    #[test]
    fn candidates_across_blocks_and_multibyte_terminators() {
        // Terminators at every position relative to the 32-byte blocks of the byte scan.
        for pad in 0..40 {
            let text = format!("{} סוף… התחלה׃ עוד. ד\"ר. J. Smith!", "א".repeat(pad));
            assert_eq!(
                sentence_texts(&text),
                vec![
                    format!("{} סוף…", "א".repeat(pad)).trim_start().to_string(),
                    "התחלה׃".to_string(),
                    "עוד.".to_string(),
                    "ד\"ר.".to_string(),
                    "J. Smith!".to_string(),
                ],
                "{pad}"
            );
        }
        // A Hebrew word before a period is never an abbreviation; "St" is.
        assert_eq!(
            sentence_texts("ביקר בשדרות St. James. אחר כך הלך."),
            vec!["ביקר בשדרות St. James.", "אחר כך הלך."]
        );
    }

    #[test]
    fn prefix_splits_of_hebrew_tokens() {
        let splits: Vec<_> = prefix_splits("ובקייב").collect();
        assert_eq!(splits, vec![("", "ובקייב"), ("ו", "בקייב"), ("וב", "קייב")]);
        let splits: Vec<_> = prefix_splits("ב-15").collect();
        assert_eq!(splits, vec![("", "ב-15"), ("ב-", "15")]);
        assert_eq!(prefix_splits("Kyiv").count(), 1);
        assert_eq!(prefix_splits("בו").count(), 1);
    }
}
