//! Web and e-mail addresses in a field: no entity lies inside one. Articles carry contact
//! lines and links (`janette.elbertson@enron.com`, `https://www.enron.com/news/2001/`),
//! whose pieces look like names and dates to the labellers and the rules, but an address
//! names nothing in the article's text.

use super::entity::Entity;

/// Prefixes that open a web address (compared case-insensitively).
const URL_PREFIXES: &[&str] = &["http://", "https://", "ftp://", "www.", "mailto:"];

/// Characters that may close a sentence or a bracket right after an address.
const CLOSERS: &[char] = &[
    ')', ']', '>', '}', '"', '\'', '»', '”', '.', ',', ';', ':', '!', '?',
];

/// The character ranges `[start, end)` of the addresses in `text`, in order. Only the
/// words around a mark (an `@`, the `:` of `://`, the `.` of `www.`: every address has
/// one) are examined, found in one `memchr3` pass.
pub(crate) fn spans(text: &str) -> Vec<(usize, usize)> {
    let raw = text.as_bytes();
    let marks = memchr::memchr3_iter(b'@', b':', b'.', raw).filter(|&i| match raw[i] {
        b'@' => true,
        b':' => raw[i + 1..].starts_with(b"//"),
        _ => i >= 3 && raw[i - 3..i].eq_ignore_ascii_case(b"www"),
    });
    let mut bytes = Vec::new();
    let mut from = 0;
    for hit in marks {
        if hit < from {
            continue;
        }
        let start = text[from..hit]
            .char_indices()
            .rev()
            .find(|&(_, c)| c.is_whitespace())
            .map_or(from, |(i, c)| from + i + c.len_utf8());
        let end = text[hit..]
            .find(char::is_whitespace)
            .map_or(text.len(), |i| hit + i);
        if let Some((a, b)) = find_in(&text[start..end]) {
            bytes.push((start + a, start + b));
        }
        from = end;
    }
    // Byte ranges to character ranges, counting forward once.
    let (mut at, mut chars) = (0, 0);
    let mut to_chars = |b: usize| {
        chars += text[at..b].chars().count();
        at = b;
        chars
    };
    bytes
        .into_iter()
        .map(|(s, e)| (to_chars(s), to_chars(e)))
        .collect()
}

/// The byte range of the address in a whitespace-free word, if it holds one: a web address
/// from its prefix (`(https://x.org/a).` → `https://x.org/a`) or an e-mail address
/// (`ל-<desk@ynet.co.il>` → `desk@ynet.co.il`). `Olsen@ENRON` (a mail system's name for a
/// person, no domain) and `@handle` are not addresses.
fn find_in(word: &str) -> Option<(usize, usize)> {
    let lower = word.to_ascii_lowercase();
    for p in URL_PREFIXES {
        let Some(at) = lower.find(p) else { continue };
        let opens = !word[..at]
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric);
        let rest = word[at..].trim_end_matches(CLOSERS);
        if opens && rest.len() > p.len() {
            return Some((at, at + rest.len()));
        }
    }
    let at = word.find('@')?;
    let in_local = |c: char| c.is_ascii_alphanumeric() || "._%+-".contains(c);
    let start = word[..at]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| in_local(c))
        .last()
        .map(|(i, _)| i)?;
    let domain_len = word[at + 1..]
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .unwrap_or(word.len() - at - 1);
    let domain = word[at + 1..at + 1 + domain_len].trim_end_matches(['.', '-']);
    let (host, tld) = domain.rsplit_once('.')?;
    let valid = !host.is_empty() && tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
    valid.then(|| (start, at + 1 + domain.len()))
}

/// Whether entity `e` overlaps one of `addresses` (from [`spans`] of its field's text).
pub(crate) fn inside(addresses: &[(usize, usize)], e: &Entity) -> bool {
    addresses.iter().any(|&(s, t)| s < e.end && e.start < t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        spans(text)
            .into_iter()
            .map(|(s, e)| chars[s..e].iter().collect())
            .collect()
    }

    #[test]
    fn web_and_mail_addresses_are_found_without_their_punctuation() {
        assert_eq!(
            found(
                "Write to janette.elbertson@enron.com, or see (https://www.enron.com/news/2001/)."
            ),
            [
                "janette.elbertson@enron.com",
                "https://www.enron.com/news/2001/"
            ]
        );
        assert_eq!(
            found("כתבו ל-<mailto:desk@ynet.co.il> או www.ynet.co.il"),
            ["mailto:desk@ynet.co.il", "www.ynet.co.il"]
        );
        // A mail system's person name, a handle, a bare prefix and plain text are not.
        assert!(found("Kate Olsen@ENRON wrote to @newsflow about www. and http://").is_empty());
        assert!(found("נתניהו נפגש עם ביידן").is_empty());
    }

    #[test]
    fn offsets_count_characters_not_bytes() {
        let text = "ראו www.example.org עכשיו";
        assert_eq!(spans(text), [(4, 19)]);
    }
}
