//! Publication times from the forms scrapers send, normalized to RFC 3339.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat};

/// A parsed publication time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedAt {
    /// RFC 3339 with the timezone of the input (UTC `Z` when only a date or a naive time
    /// was given).
    pub rfc3339: String,
    /// The calendar date in the article's own timezone: the anchor for relative dates.
    pub date: NaiveDate,
    /// Whether the input carried a time of day (`false` for `YYYY-MM-DD`).
    pub has_time: bool,
}

/// Parses ISO dates (`2025-08-21`), RFC 3339 (`2025-08-21T09:30:00+03:00`), naive ISO
/// date-times (taken as UTC), and RFC 2822 (`Thu, 21 Aug 2025 09:30:00 +0300`).
pub fn parse_published_at(raw: &str) -> Option<PublishedAt> {
    let s = raw.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(from_datetime(dt));
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(s) {
        return Some(from_datetime(dt));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(from_datetime(naive.and_utc().fixed_offset()));
        }
    }
    for fmt in ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y"] {
        if let Ok(date) = NaiveDate::parse_from_str(s, fmt) {
            let dt = date.and_hms_opt(0, 0, 0)?.and_utc().fixed_offset();
            return Some(PublishedAt {
                rfc3339: dt.to_rfc3339_opts(SecondsFormat::Secs, true),
                date,
                has_time: false,
            });
        }
    }
    None
}

fn from_datetime(dt: DateTime<FixedOffset>) -> PublishedAt {
    PublishedAt {
        rfc3339: dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        date: dt.date_naive(),
        has_time: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_input_forms() {
        let d = parse_published_at("2025-08-21").unwrap();
        assert_eq!(d.rfc3339, "2025-08-21T00:00:00Z");
        assert!(!d.has_time);
        let r = parse_published_at("2025-08-21T09:30:00+03:00").unwrap();
        assert_eq!(r.rfc3339, "2025-08-21T09:30:00+03:00");
        assert_eq!(r.date.to_string(), "2025-08-21");
        let late = parse_published_at("2025-08-21T23:30:00-05:00").unwrap();
        assert_eq!(
            late.date.to_string(),
            "2025-08-21",
            "date in the article's timezone"
        );
        let m = parse_published_at("Thu, 21 Aug 2025 09:30:00 +0300").unwrap();
        assert_eq!(m.rfc3339, "2025-08-21T09:30:00+03:00");
        let n = parse_published_at("2025-08-21 09:30:00").unwrap();
        assert_eq!(n.rfc3339, "2025-08-21T09:30:00Z");
        assert_eq!(
            parse_published_at("21.08.2025").unwrap().date.to_string(),
            "2025-08-21"
        );
        assert!(parse_published_at("yesterday").is_none());
        assert!(parse_published_at("2025-13-45").is_none());
    }
}
