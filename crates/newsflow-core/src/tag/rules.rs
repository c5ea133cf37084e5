//! Rules for dates, times, amounts and percentages in Hebrew and English, with dates
//! resolved against the article's date (the anchor).
//!
//! Resolution (documented in the README):
//! - `אתמול`/`yesterday` = anchor − 1, `היום`/`today` = anchor, `מחר`/`tomorrow` = anchor + 1,
//!   `שלשום` = anchor − 2; a weekday in parentheses after them (`אתמול (רביעי)`) must agree,
//!   otherwise the value is left empty.
//! - A bare weekday (`ביום שני`, `on Monday`, `(רביעי)`, `בלילה שבין שלישי לרביעי`) is the
//!   most recent such day before the anchor (news reports the past); on the anchor's own
//!   weekday it is the anchor itself (a Thursday report's "on Thursday" is that day; a week
//!   ago would be "last Thursday"). `האחרון`/`שעבר`/`last` = the most recent such day
//!   strictly before the anchor (a week back on the same weekday); `הקרוב`/`הבא`/`next`/
//!   `this coming` = the next one after.
//! - `מרץ 2023`/`March 2023` = `2023-03`; `21 באוגוסט 2025`, `21.8.2025`, `August 21, 2025`
//!   = full dates (day.month.year order for numeric dates); a day and month without a
//!   year take the anchor's year (the previous year when that would be more than two
//!   months after the anchor); a year alone after `ב-`/`בשנת`/`in` = `2023`.
//! - A month name alone is tagged without a value.

use super::EntityType;
use crate::segment::{prefix_splits, Token};
use chrono::{Datelike, Duration, NaiveDate, Weekday};

/// A rule match (character offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// Type.
    pub kind: EntityType,
    /// Start character.
    pub start: usize,
    /// End character (exclusive).
    pub end: usize,
    /// Resolved value.
    pub value: Option<String>,
}

const HE_WEEKDAYS: [(&str, Weekday); 7] = [
    ("ראשון", Weekday::Sun),
    ("שני", Weekday::Mon),
    ("שלישי", Weekday::Tue),
    ("רביעי", Weekday::Wed),
    ("חמישי", Weekday::Thu),
    ("שישי", Weekday::Fri),
    ("שבת", Weekday::Sat),
];

const EN_WEEKDAYS: [(&str, Weekday); 7] = [
    ("sunday", Weekday::Sun),
    ("monday", Weekday::Mon),
    ("tuesday", Weekday::Tue),
    ("wednesday", Weekday::Wed),
    ("thursday", Weekday::Thu),
    ("friday", Weekday::Fri),
    ("saturday", Weekday::Sat),
];

const HE_MONTHS: [(&str, u32); 14] = [
    ("ינואר", 1),
    ("פברואר", 2),
    ("מרץ", 3),
    ("מרס", 3),
    ("מארס", 3),
    ("אפריל", 4),
    ("מאי", 5),
    ("יוני", 6),
    ("יולי", 7),
    ("אוגוסט", 8),
    ("ספטמבר", 9),
    ("אוקטובר", 10),
    ("נובמבר", 11),
    ("דצמבר", 12),
];

const EN_MONTHS: [(&str, u32); 21] = [
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("aug", 8),
    ("sep", 9),
    ("sept", 9),
    ("oct", 10),
    ("nov", 11),
];

const HE_CURRENCIES: [&str; 14] = [
    "שקל",
    "שקלים",
    "ש\"ח",
    "דולר",
    "דולרים",
    "יורו",
    "אירו",
    "ליש\"ט",
    "אג'",
    "אגורות",
    "ליטות",
    "רובל",
    "רובלים",
    "יואן",
];
const EN_CURRENCIES: [&str; 8] = [
    "dollars", "dollar", "euros", "euro", "shekels", "shekel", "pounds", "rubles",
];
const MULTIPLIERS: [&str; 9] = [
    "מיליון",
    "מיליארד",
    "אלף",
    "אלפי",
    "טריליון",
    "million",
    "billion",
    "trillion",
    "thousand",
];

fn he_weekday(s: &str) -> Option<Weekday> {
    HE_WEEKDAYS.iter().find(|(n, _)| *n == s).map(|x| x.1)
}
fn en_weekday(s: &str) -> Option<Weekday> {
    EN_WEEKDAYS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|x| x.1)
}
fn he_month(s: &str) -> Option<u32> {
    HE_MONTHS.iter().find(|(n, _)| *n == s).map(|x| x.1)
}
fn en_month(s: &str) -> Option<u32> {
    if !s.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    EN_MONTHS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|x| x.1)
}
fn year(s: &str) -> Option<i32> {
    (s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|y| (1900..=2100).contains(y))
}
fn day(s: &str) -> Option<u32> {
    (s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|d| (1..=31).contains(d))
}
fn hour(s: &str) -> Option<u32> {
    (s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
        .filter(|h| *h < 24)
}
fn number(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
}

/// Most recent `wd` strictly before `anchor` (a week back on the same weekday).
fn last_weekday(anchor: NaiveDate, wd: Weekday) -> NaiveDate {
    let diff = (anchor.weekday().num_days_from_monday() + 7 - wd.num_days_from_monday()) % 7;
    let diff = if diff == 0 { 7 } else { diff };
    anchor - Duration::days(i64::from(diff))
}

/// Next `wd` strictly after `anchor`.
fn next_weekday(anchor: NaiveDate, wd: Weekday) -> NaiveDate {
    let diff = (wd.num_days_from_monday() + 7 - anchor.weekday().num_days_from_monday()) % 7;
    let diff = if diff == 0 { 7 } else { diff };
    anchor + Duration::days(i64::from(diff))
}

#[derive(Clone, Copy)]
enum Rel {
    Bare,
    Last,
    Next,
}

fn resolve_weekday(anchor: Option<NaiveDate>, wd: Weekday, rel: Rel) -> Option<String> {
    let a = anchor?;
    let d = match rel {
        Rel::Bare if a.weekday() == wd => a,
        Rel::Bare | Rel::Last => last_weekday(a, wd),
        Rel::Next => next_weekday(a, wd),
    };
    Some(d.to_string())
}

fn day_month(anchor: Option<NaiveDate>, d: u32, m: u32, y: Option<i32>) -> Option<String> {
    let y = match y {
        Some(y) => y,
        None => {
            let a = anchor?;
            let this = NaiveDate::from_ymd_opt(a.year(), m, d)?;
            if this > a + Duration::days(62) {
                a.year() - 1
            } else {
                a.year()
            }
        }
    };
    NaiveDate::from_ymd_opt(y, m, d).map(|x| x.to_string())
}

/// Numeric date `21.8.2025`, `21/8/2025`, `21.8.25`.
fn numeric_date(s: &str) -> Option<NaiveDate> {
    let parts: Vec<&str> = s.split(['.', '/']).collect();
    if parts.len() != 3 || !parts.iter().all(|p| !p.is_empty() && p.len() <= 4) {
        return None;
    }
    let d: u32 = parts[0].parse().ok()?;
    let m: u32 = parts[1].parse().ok()?;
    let y: i32 = parts[2].parse().ok()?;
    let y = match parts[2].len() {
        2 => 2000 + y,
        4 => y,
        _ => return None,
    };
    NaiveDate::from_ymd_opt(y, m, d)
}

struct Scanner<'t, 'a> {
    toks: &'t [Token<'a>],
    anchor: Option<NaiveDate>,
    out: Vec<RuleMatch>,
    /// Prefix splits of every token, computed once: (prefix characters, stem).
    splits: Vec<[(u8, &'a str); 4]>,
    n_splits: Vec<u8>,
}

impl Scanner<'_, '_> {
    /// The first split of token `i` (unsplit first) whose stem satisfies `f`: the
    /// prefix letters' character count and `f`'s value.
    fn stem_match<T>(&self, i: usize, f: impl Fn(&str) -> Option<T>) -> Option<(usize, T)> {
        let n = usize::from(*self.n_splits.get(i)?);
        self.splits[i][..n]
            .iter()
            .find_map(|&(prefix, stem)| f(stem).map(|v| (usize::from(prefix), v)))
    }

    fn text(&self, i: usize) -> &str {
        self.toks.get(i).map_or("", |t| t.text)
    }

    /// Records a match over tokens `[first, last]`, starting `prefix` characters into
    /// the first token.
    fn push(
        &mut self,
        kind: EntityType,
        first: usize,
        prefix: usize,
        last: usize,
        value: Option<String>,
    ) {
        self.out.push(RuleMatch {
            kind,
            start: self.toks[first].start + prefix,
            end: self.toks[last].end,
            value,
        });
    }

    /// Tries every pattern family at token `i`, in order; returns the index after the
    /// first match.
    fn at(&mut self, i: usize) -> Option<usize> {
        self.deictic_day(i)
            .or_else(|| self.hebrew_weekday(i))
            .or_else(|| self.hebrew_weekday_range(i))
            .or_else(|| self.weekday_in_parentheses(i))
            .or_else(|| self.english_weekday(i))
            .or_else(|| self.numeric_date(i))
            .or_else(|| self.day_and_month(i))
            .or_else(|| self.hebrew_month(i))
            .or_else(|| self.english_month(i))
            .or_else(|| self.year_after_marker(i))
            .or_else(|| self.clock_time(i))
            .or_else(|| self.currency_amount(i))
            .or_else(|| self.number_with_unit(i))
    }

    /// Deictic days (`אתמול`, `today`), with an optional weekday in parentheses.
    fn deictic_day(&mut self, i: usize) -> Option<usize> {
        let t = self.text(i);
        let (prefix, off) = self
            .stem_match(i, |s| match s {
                "אתמול" => Some(-1),
                "היום" => Some(0),
                "מחר" => Some(1),
                "שלשום" => Some(-2),
                "מחרתיים" => Some(2),
                _ => None,
            })
            .or_else(|| {
                [("yesterday", -1), ("today", 0), ("tomorrow", 1)]
                    .iter()
                    .find(|(w, _)| w.eq_ignore_ascii_case(t))
                    .map(|&(_, off)| (0, off))
            })?;
        let date = self.anchor.map(|a| a + Duration::days(off));
        if self.text(i + 1) == "(" && self.text(i + 3) == ")" {
            if let Some(wd) = he_weekday(self.text(i + 2)).or_else(|| en_weekday(self.text(i + 2)))
            {
                let v = date.filter(|d| d.weekday() == wd).map(|d| d.to_string());
                self.push(EntityType::DATE, i, prefix, i + 3, v);
                return Some(i + 4);
            }
        }
        self.push(EntityType::DATE, i, prefix, i, date.map(|d| d.to_string()));
        Some(i + 1)
    }

    /// Hebrew `[ב]יום <weekday> [האחרון|שעבר|הקרוב|הבא]`.
    fn hebrew_weekday(&mut self, i: usize) -> Option<usize> {
        let (prefix, ()) = self.stem_match(i, |s| (s == "יום").then_some(()))?;
        let wd = he_weekday(self.text(i + 1))?;
        let (rel, last) = match self.text(i + 2) {
            "האחרון" | "שעבר" => (Rel::Last, i + 2),
            "הקרוב" | "הבא" => (Rel::Next, i + 2),
            _ => (Rel::Bare, i + 1),
        };
        let v = resolve_weekday(self.anchor, wd, rel);
        self.push(EntityType::DATE, i, prefix, last, v);
        Some(last + 1)
    }

    /// Hebrew `[ש]בין [יום] <weekday> ל[יום]<weekday>` (the night between Tuesday and
    /// Wednesday): both days.
    fn hebrew_weekday_range(&mut self, i: usize) -> Option<usize> {
        self.stem_match(i, |s| (s == "בין").then_some(()))?;
        let day_word = |j: usize| usize::from(self.text(j) == "יום");
        let a = i + 1 + day_word(i + 1);
        let first = he_weekday(self.text(a))?;
        let (prefix, second) = self
            .stem_match(a + 1, |s| he_weekday(s).map(|wd| (wd, 0)))
            .or_else(|| {
                let (p, ()) = self.stem_match(a + 1, |s| (s == "יום").then_some(()))?;
                he_weekday(self.text(a + 2)).map(|wd| (p, (wd, 1)))
            })
            .filter(|(p, _)| *p == 1 && self.text(a + 1).starts_with('ל'))?;
        let (second, extra) = second;
        let v = resolve_weekday(self.anchor, first, Rel::Bare);
        self.push(EntityType::DATE, i + 1, 0, a, v);
        let v = resolve_weekday(self.anchor, second, Rel::Bare);
        self.push(EntityType::DATE, a + 1, prefix, a + 1 + extra, v);
        Some(a + 2 + extra)
    }

    /// A weekday alone in parentheses: `(רביעי)`, `(Wednesday)`.
    fn weekday_in_parentheses(&mut self, i: usize) -> Option<usize> {
        if i == 0 || self.text(i - 1) != "(" || self.text(i + 1) != ")" {
            return None;
        }
        let wd = he_weekday(self.text(i)).or_else(|| en_weekday(self.text(i)))?;
        let v = resolve_weekday(self.anchor, wd, Rel::Bare);
        self.push(EntityType::DATE, i, 0, i, v);
        Some(i + 1)
    }

    /// English `[last|next|this] <Weekday>`, or a capitalised weekday alone.
    fn english_weekday(&mut self, i: usize) -> Option<usize> {
        let t = self.text(i);
        let is = |w: &str| w.eq_ignore_ascii_case(t);
        let rel_word = if is("last") || is("past") {
            Some(Rel::Last)
        } else if is("next") || is("coming") {
            Some(Rel::Next)
        } else {
            None
        };
        if let (Some(rel), Some(wd)) = (rel_word, en_weekday(self.text(i + 1))) {
            let v = resolve_weekday(self.anchor, wd, rel);
            self.push(EntityType::DATE, i, 0, i + 1, v);
            return Some(i + 2);
        }
        let wd = en_weekday(t).filter(|_| t.starts_with(|c: char| c.is_ascii_uppercase()))?;
        let v = resolve_weekday(self.anchor, wd, Rel::Bare);
        self.push(EntityType::DATE, i, 0, i, v);
        Some(i + 1)
    }

    /// A numeric date (`21.8.2025`, day first).
    fn numeric_date(&mut self, i: usize) -> Option<usize> {
        let (prefix, d) = self.stem_match(i, numeric_date)?;
        self.push(EntityType::DATE, i, prefix, i, Some(d.to_string()));
        Some(i + 1)
    }

    /// Hebrew `[ה-]21 [ב]אוגוסט [2025]`, English `21 August [2025]`.
    fn day_and_month(&mut self, i: usize) -> Option<usize> {
        let (prefix, d) = self.stem_match(i, day)?;
        let m = self
            .stem_match(i + 1, he_month)
            .map(|(_, m)| m)
            .or_else(|| en_month(self.text(i + 1)))?;
        let y = year(self.text(i + 2));
        let last = if y.is_some() { i + 2 } else { i + 1 };
        self.push(
            EntityType::DATE,
            i,
            prefix,
            last,
            day_month(self.anchor, d, m, y),
        );
        Some(last + 1)
    }

    /// Hebrew month `[ב]מרץ [2023]`; a month name alone only with a prefix or an
    /// unambiguous name.
    fn hebrew_month(&mut self, i: usize) -> Option<usize> {
        let (prefix, m) = self.stem_match(i, he_month)?;
        if let Some(y) = year(self.text(i + 1)) {
            let v = Some(format!("{y:04}-{m:02}"));
            self.push(EntityType::DATE, i, prefix, i + 1, v);
            return Some(i + 2);
        }
        if prefix > 0 || !matches!(self.text(i), "מאי" | "יולי") {
            self.push(EntityType::DATE, i, prefix, i, None);
            return Some(i + 1);
        }
        None
    }

    /// English `March [21][,] [2023]`.
    fn english_month(&mut self, i: usize) -> Option<usize> {
        let t = self.text(i);
        let m = en_month(t).filter(|_| {
            t != "May" || year(self.text(i + 1)).is_some() || day(self.text(i + 1)).is_some()
        })?;
        let mut j = i + 1;
        if self.text(j) == "." {
            j += 1;
        }
        if let Some(d) = day(self.text(j)) {
            let mut k = j + 1;
            if self.text(k) == "," {
                k += 1;
            }
            if let Some(y) = year(self.text(k)) {
                self.push(EntityType::DATE, i, 0, k, day_month(None, d, m, Some(y)));
                return Some(k + 1);
            }
            let v = day_month(self.anchor, d, m, None);
            self.push(EntityType::DATE, i, 0, j, v);
            return Some(j + 1);
        }
        if let Some(y) = year(self.text(j)) {
            self.push(EntityType::DATE, i, 0, j, Some(format!("{y:04}-{m:02}")));
            return Some(j + 1);
        }
        self.push(EntityType::DATE, i, 0, i, None);
        Some(i + 1)
    }

    /// A year after `ב-`, `בשנת`, `in`.
    fn year_after_marker(&mut self, i: usize) -> Option<usize> {
        let (prefix, y) = self.stem_match(i, year)?;
        let prev = if i > 0 { self.text(i - 1) } else { "" };
        if prefix > 0 || matches!(prev, "שנת" | "בשנת" | "משנת" | "in" | "In" | "since")
        {
            self.push(EntityType::DATE, i, prefix, i, Some(format!("{y:04}")));
            return Some(i + 1);
        }
        None
    }

    /// Time `13:00`, `בשעה 13:00`.
    fn clock_time(&mut self, i: usize) -> Option<usize> {
        let (prefix, h) = self.stem_match(i, hour)?;
        let adjacent = |a: usize, b: usize| {
            self.toks
                .get(b)
                .is_some_and(|n| n.start == self.toks[a].end)
        };
        let minutes = self.text(i + 2);
        let is_time = self.text(i + 1) == ":"
            && adjacent(i, i + 1)
            && adjacent(i + 1, i + 2)
            && minutes.len() == 2
            && minutes.parse::<u32>().is_ok_and(|m| m < 60);
        if !is_time {
            return None;
        }
        let hour_word = |s: &str| matches!(s, "שעה" | "השעה").then_some(());
        let (first, prefix) = match (i > 0).then(|| self.stem_match(i - 1, hour_word)) {
            Some(Some((p, ()))) if prefix == 0 => (i - 1, p),
            _ => (i, prefix),
        };
        let v = format!("{h:02}:{minutes}");
        self.push(EntityType::TIME, first, prefix, i + 2, Some(v));
        Some(i + 3)
    }

    /// A currency sign before a number: `$5`, `€ 5 מיליון`.
    fn currency_amount(&mut self, i: usize) -> Option<usize> {
        if !(matches!(self.text(i), "$" | "€" | "₪") && number(self.text(i + 1))) {
            return None;
        }
        let mut last = i + 1;
        if MULTIPLIERS.contains(&self.text(i + 2)) {
            last = i + 2;
        }
        self.push(EntityType::MONEY, i, 0, last, None);
        Some(last + 1)
    }

    /// A number with a unit: `5%`, `5 אחוזים`, `5 percent`, `5 מיליון דולר`.
    fn number_with_unit(&mut self, i: usize) -> Option<usize> {
        let (prefix, ()) = self.stem_match(i, |s| number(s).then_some(()))?;
        let mut j = i + 1;
        if self.text(j) == "%" && self.toks[j].start == self.toks[i].end {
            self.push(EntityType::PERCENT, i, prefix, j, None);
            return Some(j + 1);
        }
        while MULTIPLIERS.contains(&self.text(j)) {
            j += 1;
        }
        let unit = self.text(j);
        if matches!(unit, "אחוז" | "אחוזים" | "percent" | "%") {
            self.push(EntityType::PERCENT, i, prefix, j, None);
            return Some(j + 1);
        }
        if HE_CURRENCIES.contains(&unit)
            || EN_CURRENCIES.iter().any(|c| c.eq_ignore_ascii_case(unit))
        {
            self.push(EntityType::MONEY, i, prefix, j, None);
            return Some(j + 1);
        }
        None
    }
}

/// Finds rule entities in a tokenized field.
pub fn find(tokens: &[Token<'_>], anchor: Option<NaiveDate>) -> Vec<RuleMatch> {
    let mut splits = Vec::with_capacity(tokens.len());
    let mut n_splits = Vec::with_capacity(tokens.len());
    for t in tokens {
        let mut a = [(0u8, ""); 4];
        let mut n = 0;
        if t.is_word {
            for (p, stem) in prefix_splits(t.text).take(4) {
                a[n] = (p.chars().count() as u8, stem);
                n += 1;
            }
        } else {
            a[0] = (0, t.text);
            n = 1;
        }
        splits.push(a);
        n_splits.push(n as u8);
    }
    let mut s = Scanner {
        toks: tokens,
        anchor,
        out: Vec::new(),
        splits,
        n_splits,
    };
    let mut i = 0;
    while i < tokens.len() {
        if !tokens[i].is_word && !matches!(tokens[i].text, "$" | "€" | "₪") {
            i += 1;
            continue;
        }
        i = s.at(i).unwrap_or(i + 1);
    }
    s.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::segment::tokenize;

    fn run(text: &str) -> Vec<(String, Option<String>, EntityType)> {
        let anchor = NaiveDate::from_ymd_opt(2025, 8, 21);
        let toks = tokenize(text);
        find(&toks, anchor)
            .into_iter()
            .map(|m| {
                let s: String = text.chars().skip(m.start).take(m.end - m.start).collect();
                (s, m.value, m.kind)
            })
            .collect()
    }

    fn one(text: &str) -> (String, Option<String>) {
        let v = run(text);
        assert_eq!(v.len(), 1, "{text}: {v:?}");
        (v[0].0.clone(), v[0].1.clone())
    }

    #[test]
    fn issue_examples_hebrew() {
        assert_eq!(
            one("השרים דנו אתמול (רביעי) בערבויות"),
            ("אתמול (רביעי)".into(), Some("2025-08-20".into()))
        );
        assert_eq!(
            one("וביום שני אירח את נשיא אוקראינה"),
            ("יום שני".into(), Some("2025-08-18".into()))
        );
        assert_eq!(
            one("נפגש ביום שישי האחרון עם נשיא רוסיה"),
            ("יום שישי האחרון".into(), Some("2025-08-15".into()))
        );
        assert_eq!(
            one("על צו מעצר ממרץ 2023 בגין"),
            ("מרץ 2023".into(), Some("2023-03".into()))
        );
    }

    #[test]
    fn issue_examples_english() {
        assert_eq!(
            one("Zelensky said on Wednesday that"),
            ("Wednesday".into(), Some("2025-08-20".into()))
        );
        assert_eq!(
            one("met Putin last Friday in Alaska"),
            ("last Friday".into(), Some("2025-08-15".into()))
        );
        assert_eq!(
            one("a warrant issued in March 2023 for"),
            ("March 2023".into(), Some("2023-03".into()))
        );
        assert_eq!(
            one("said yesterday"),
            ("yesterday".into(), Some("2025-08-20".into()))
        );
    }

    #[test]
    fn full_dates_and_ambiguity() {
        assert_eq!(
            one("ב-21 באוגוסט 2025 נחתם"),
            ("21 באוגוסט 2025".into(), Some("2025-08-21".into()))
        );
        assert_eq!(one("ב-21.8.2025 נחתם").1, Some("2025-08-21".into()));
        assert_eq!(
            one("on August 21, 2025 the"),
            ("August 21, 2025".into(), Some("2025-08-21".into()))
        );
        // Same weekday as the article: that day (a week ago would be "last Thursday").
        assert_eq!(one("ביום חמישי נפגשו").1, Some("2025-08-21".into()));
        assert_eq!(one("said on Thursday.").1, Some("2025-08-21".into()));
        assert_eq!(one("last Thursday.").1, Some("2025-08-14".into()));
        // A weekday in parentheses that disagrees: no value.
        assert_eq!(one("אתמול (שני)").1, None);
        assert_eq!(one("ביום שלישי הבא").1, Some("2025-08-26".into()));
        assert_eq!(one("בדצמבר").1, None);
    }

    #[test]
    fn weekdays_between_and_in_parentheses() {
        assert_eq!(
            run("בלילה שבין שלישי לרביעי נפגעו"),
            vec![
                ("שלישי".into(), Some("2025-08-19".into()), EntityType::DATE),
                ("רביעי".into(), Some("2025-08-20".into()), EntityType::DATE),
            ]
        );
        assert_eq!(
            run("בין יום שני ליום רביעי"),
            vec![
                (
                    "יום שני".into(),
                    Some("2025-08-18".into()),
                    EntityType::DATE
                ),
                (
                    "יום רביעי".into(),
                    Some("2025-08-20".into()),
                    EntityType::DATE
                ),
            ]
        );
        assert_eq!(
            one("ההודעה (רביעי) פורסמה"),
            ("רביעי".into(), Some("2025-08-20".into()))
        );
        // `בין` without two weekdays is no date.
        assert!(run("בין שלישי לבין")
            .iter()
            .all(|x| x.0 != "שלישי" || x.1.is_some()));
    }

    #[test]
    fn times_amounts_percentages() {
        let v = run("בשעה 13:00 שילמו 54 מיליון דולר, עלייה של 12% ו-3 אחוזים");
        let kinds: Vec<EntityType> = v.iter().map(|x| x.2).collect();
        assert_eq!(
            kinds,
            vec![
                EntityType::TIME,
                EntityType::MONEY,
                EntityType::PERCENT,
                EntityType::PERCENT
            ]
        );
        assert_eq!(v[0].0, "שעה 13:00");
        assert_eq!(v[1].0, "54 מיליון דולר");
        assert_eq!(v[3].0, "3 אחוזים");
        assert!(run("פגעו ב-15 אנשים").is_empty());
    }

    #[test]
    fn no_anchor_no_value() {
        let toks = tokenize("ביום שני");
        let m = find(&toks, None);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].value, None);
    }
}
