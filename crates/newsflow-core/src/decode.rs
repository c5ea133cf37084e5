//! Bytes → [`RawArticle`]: recognises scraper JSON records and plain-text articles and
//! rejects everything else with a typed [`Reject`]. Bytes stay bytes until here; nothing is
//! modified except what the record says (the DLQ keeps the original payload).

use super::reject::{Reject, RejectKind};
use serde_json::{Map, Value};

/// Known fields of a scraper record; everything else is kept under `extra`.
const KNOWN_FIELDS: &[&str] = &[
    "id",
    "url",
    "source",
    "published_at",
    "fetched_at",
    "language",
    "title",
    "body",
    "html",
];

/// How the article arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InputFormat {
    /// JSON object with a `body` text.
    Json,
    /// JSON object with an `html` page.
    JsonHtml,
    /// Plain UTF-8 text, optionally starting with `date YYYY-MM-DD `.
    Text,
}

/// A decoded but not yet normalized article.
#[derive(Debug, Clone)]
pub struct RawArticle {
    /// Scraper-assigned id.
    pub id: Option<String>,
    /// Canonical URL of the article.
    pub url: Option<String>,
    /// Publisher or feed name.
    pub source: Option<String>,
    /// Publication time as given (any supported form).
    pub published_at: Option<String>,
    /// Fetch time as given.
    pub fetched_at: Option<String>,
    /// Language claimed by the scraper.
    pub language: Option<String>,
    /// Title as given.
    pub title: Option<String>,
    /// Text body (plain text).
    pub body: Option<String>,
    /// HTML page, when the scraper kept it.
    pub html: Option<String>,
    /// Unknown fields, kept verbatim.
    pub extra: Map<String, Value>,
    /// Input form.
    pub format: InputFormat,
    /// For plain-text input: characters of the payload before the body (leading whitespace
    /// and the `date` header), so body offsets can be mapped back to the payload.
    pub body_offset: usize,
}

/// Decodes one message payload. `max_bytes` is the oversize limit.
pub fn decode(payload: &[u8], max_bytes: usize) -> Result<RawArticle, Reject> {
    if payload.len() > max_bytes {
        return Err(Reject::new(
            RejectKind::Oversize,
            format!(
                "message is {} bytes, limit is {max_bytes} (pipeline.max_message_bytes)",
                payload.len()
            ),
        ));
    }
    // SIMD validation (several times faster than std on Hebrew text); std's validator only
    // to describe the error.
    let text = simdutf8::basic::from_utf8(payload).or_else(|_| {
        std::str::from_utf8(payload).map_err(|e| {
            Reject::new(
                RejectKind::InvalidUtf8,
                format!("payload is not valid UTF-8: {e}"),
            )
        })
    })?;
    let trimmed = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    match trimmed.as_bytes().first() {
        Some(b'{') => {
            let value: Value = serde_json::from_str(trimmed).map_err(|e| {
                Reject::new(RejectKind::MalformedJson, format!("malformed JSON: {e}"))
            })?;
            match value {
                Value::Object(map) => from_object(map),
                _ => unreachable_object(),
            }
        }
        Some(b'[') => match serde_json::from_str::<Value>(trimmed) {
            Ok(_) => Err(Reject::new(
                RejectKind::NotAnObject,
                "JSON payload is an array, expected an object with `body` or `html`",
            )),
            // A text that merely starts with '[' (e.g. "[Update] ...") is plain text.
            Err(_) => from_text(trimmed, text[..text.len() - trimmed.len()].chars().count()),
        },
        Some(_) => from_text(trimmed, text[..text.len() - trimmed.len()].chars().count()),
        None => Err(Reject::new(
            RejectKind::EmptyText,
            "payload is empty or whitespace only",
        )),
    }
}

fn unreachable_object() -> Result<RawArticle, Reject> {
    // serde_json only returns an object for input starting with '{'; keep a typed error anyway.
    Err(Reject::new(
        RejectKind::NotAnObject,
        "JSON payload is not an object",
    ))
}

fn from_object(mut map: Map<String, Value>) -> Result<RawArticle, Reject> {
    let mut take = |name: &str| -> Result<Option<String>, Reject> {
        match map.remove(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) if name == "id" => Ok(Some(n.to_string())),
            Some(other) => Err(Reject::new(
                RejectKind::InvalidField,
                format!(
                    "field `{name}` must be a string, found {}",
                    json_type_name(&other)
                ),
            )),
        }
    };
    let id = take("id")?;
    let url = take("url")?;
    let source = take("source")?;
    let published_at = take("published_at")?;
    let fetched_at = take("fetched_at")?;
    let language = take("language")?;
    let title = take("title")?;
    let body = take("body")?;
    let html = take("html")?;
    debug_assert!(KNOWN_FIELDS.iter().all(|f| !map.contains_key(*f)));
    let format = match (&body, &html) {
        (Some(b), _) if !b.trim().is_empty() => InputFormat::Json,
        (_, Some(h)) if !h.trim().is_empty() => InputFormat::JsonHtml,
        (None, None) => {
            return Err(Reject::new(
                RejectKind::MissingText,
                "record has neither `body` nor `html`",
            ))
        }
        _ => {
            return Err(Reject::new(
                RejectKind::EmptyText,
                "`body`/`html` is empty or whitespace only",
            ))
        }
    };
    Ok(RawArticle {
        id,
        url,
        source,
        published_at,
        fetched_at,
        language,
        title,
        body,
        html,
        extra: map,
        format,
        body_offset: 0,
    })
}

fn from_text(text: &str, lead_chars: usize) -> Result<RawArticle, Reject> {
    let (published_at, rest) = split_date_header(text);
    let body_offset = lead_chars + text[..text.len() - rest.len()].chars().count();
    if rest.trim().is_empty() {
        return Err(Reject::new(
            RejectKind::EmptyText,
            "plain-text article has no text after its header",
        ));
    }
    Ok(RawArticle {
        id: None,
        url: None,
        source: None,
        published_at,
        fetched_at: None,
        language: None,
        title: None,
        body: Some(rest.to_string()),
        html: None,
        extra: Map::new(),
        format: InputFormat::Text,
        body_offset,
    })
}

/// Splits a leading `date YYYY-MM-DD ` header off a plain-text article.
fn split_date_header(text: &str) -> (Option<String>, &str) {
    let Some(rest) = text.strip_prefix("date ") else {
        return (None, text);
    };
    let rest = rest.trim_start_matches(' ');
    let b = rest.as_bytes();
    let is_date = b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10].is_ascii_whitespace());
    if is_date {
        (Some(rest[..10].to_string()), &rest[10..])
    } else {
        (None, text)
    }
}

fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(payload: &[u8]) -> RejectKind {
        decode(payload, 1000).unwrap_err().kind
    }

    #[test]
    fn json_record_with_unknown_fields() {
        let a = decode(
            br#"{"id":7,"url":"https://x.test/a","title":"T","body":"B","lang_hint":"he","tags":["a"]}"#,
            1000,
        )
        .unwrap();
        assert_eq!(a.id.as_deref(), Some("7"));
        assert_eq!(a.body.as_deref(), Some("B"));
        assert_eq!(a.format, InputFormat::Json);
        assert_eq!(a.extra.len(), 2);
        assert_eq!(a.extra["tags"], serde_json::json!(["a"]));
    }

    #[test]
    fn html_record() {
        let a = decode(br#"{"html":"<p>x</p>"}"#, 1000).unwrap();
        assert_eq!(a.format, InputFormat::JsonHtml);
    }

    #[test]
    fn plain_text_with_date_header() {
        let a = decode("date 2025-08-21 שלום עולם".as_bytes(), 1000).unwrap();
        assert_eq!(a.published_at.as_deref(), Some("2025-08-21"));
        assert_eq!(a.body.as_deref(), Some(" שלום עולם"));
        assert_eq!(a.format, InputFormat::Text);
        assert_eq!(a.body_offset, "date 2025-08-21".chars().count());
        let b = decode(b"date of birth unknown", 1000).unwrap();
        assert_eq!(b.published_at, None);
        assert_eq!(b.body.as_deref(), Some("date of birth unknown"));
        let c = decode(b"[Update] text", 1000).unwrap();
        assert_eq!(c.format, InputFormat::Text);
    }

    #[test]
    fn bad_inputs_have_typed_kinds() {
        assert_eq!(kind(b"\xff\xfe bad"), RejectKind::InvalidUtf8);
        assert_eq!(kind(b"{\"body\": \"x\""), RejectKind::MalformedJson);
        assert_eq!(kind(b"[1,2,3]"), RejectKind::NotAnObject);
        assert_eq!(kind(b"{\"title\":\"only\"}"), RejectKind::MissingText);
        assert_eq!(kind(b"{\"body\":\"   \"}"), RejectKind::EmptyText);
        assert_eq!(kind(b"   \n"), RejectKind::EmptyText);
        assert_eq!(kind(b""), RejectKind::EmptyText);
        assert_eq!(kind(b"date 2025-01-01 "), RejectKind::EmptyText);
        assert_eq!(kind(b"{\"body\": 5}"), RejectKind::InvalidField);
        assert_eq!(kind(&[b'a'; 1001]), RejectKind::Oversize);
    }

    #[test]
    fn deeply_nested_json_is_rejected_not_overflowed() {
        let mut s = String::from("{\"body\":\"x\",\"deep\":");
        s.push_str(&"[".repeat(100_000));
        assert_eq!(
            decode(s.as_bytes(), usize::MAX).unwrap_err().kind,
            RejectKind::MalformedJson
        );
    }
}
