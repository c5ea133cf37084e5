//! Normalization stage: HTML to text, Unicode and Hebrew clean-up, publication time,
//! language and fingerprints. Pure and synchronous.

pub(crate) mod dates;
pub mod fingerprint;
pub mod html;
pub mod language;
pub mod text;

use super::decode::{InputFormat, RawArticle};
use super::reject::{Reject, RejectKind};
pub use dates::PublishedAt;
pub use fingerprint::Fingerprint;
pub use language::LanguageInfo;
use serde_json::{Map, Value};

/// An article after normalization: clean text plus metadata, ready for tagging.
#[derive(Debug, Clone)]
pub struct NormalizedArticle {
    /// Scraper id.
    pub id: Option<String>,
    /// Article URL.
    pub url: Option<String>,
    /// Publisher or feed.
    pub source: Option<String>,
    /// Fetch time as given.
    pub fetched_at: Option<String>,
    /// Parsed publication time (from the record, the text header or the page).
    pub published: Option<PublishedAt>,
    /// Normalized title (may be empty).
    pub title: String,
    /// Normalized body, paragraphs separated by `\n\n`.
    pub body: String,
    /// Detected or claimed language.
    pub language: LanguageInfo,
    /// Content hash and near-duplicate fingerprint.
    pub fingerprint: Fingerprint,
    /// Unknown input fields.
    pub extra: Map<String, Value>,
    /// Input form.
    pub format: InputFormat,
    /// Non-fatal problems (e.g. an unparseable `published_at`), reported in the output.
    pub warnings: Vec<String>,
    /// Map from `body` character offsets back to the input text.
    pub body_offsets: BodyOffsets,
    /// Sentence spans of `body` (character offsets).
    pub sentences: Vec<[usize; 2]>,
}

/// What body offsets map back to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OffsetReference {
    /// The JSON record's `body` string.
    Body,
    /// The whole plain-text payload (including its `date` header).
    Payload,
    /// The text extracted from the HTML page before Unicode normalization (not HTML source
    /// positions).
    HtmlText,
}

/// Anchors mapping normalized `body` offsets to the input (see [`text::OffsetMap`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BodyOffsets {
    /// What the source offsets refer to.
    pub refers_to: OffsetReference,
    /// `[normalized, source]` anchors.
    pub anchors: text::OffsetMap,
}

/// Runs the normalization stage.
pub fn normalize(raw: RawArticle) -> Result<NormalizedArticle, Reject> {
    let mut warnings = Vec::new();
    let RawArticle {
        id,
        url,
        source,
        published_at,
        fetched_at,
        language,
        title,
        body,
        html,
        extra,
        mut format,
        body_offset,
    } = raw;

    let BodyText {
        text: body_text,
        page,
        anchors,
        refers_to,
    } = body_text(body.as_deref(), html.as_deref(), &mut format, body_offset)?;

    let title = title
        .as_deref()
        .or(page.as_ref().and_then(|p| p.title.as_deref()))
        .map(text::normalize_text)
        .unwrap_or_default();

    let published_raw = published_at.or(page.as_ref().and_then(|p| p.published_at.clone()));
    let published = published_raw.as_deref().and_then(|raw| {
        let parsed = dates::parse_published_at(raw);
        if parsed.is_none() {
            warnings.push(format!("published_at {raw:?} is not a recognised date"));
        }
        parsed
    });

    let claimed = language.or(page.as_ref().and_then(|p| p.lang.clone()));
    let language = language::detect(&title, &body_text, claimed.as_deref());
    let fingerprint = Fingerprint::of(&title, &body_text);

    let sentences = crate::segment::sentences(&body_text);
    Ok(NormalizedArticle {
        id,
        url,
        source,
        fetched_at,
        published,
        title,
        body: body_text,
        language,
        fingerprint,
        extra,
        format,
        warnings,
        body_offsets: BodyOffsets { refers_to, anchors },
        sentences,
    })
}

/// The body's normalized text, where it came from, and its offset anchors.
struct BodyText {
    text: String,
    /// The extracted page, when the body was HTML.
    page: Option<html::HtmlExtract>,
    anchors: text::OffsetMap,
    refers_to: OffsetReference,
}

/// Normalizes the body: HTML either from the `html` field or a body that is really a
/// page (then `format` becomes HTML), else the body's text. Anchors are shifted by
/// `body_offset` (where the body starts in the payload). Empty text is a reject.
fn body_text(
    body: Option<&str>,
    html: Option<&str>,
    format: &mut InputFormat,
    body_offset: usize,
) -> Result<BodyText, Reject> {
    let html_source = match (body, html) {
        (Some(b), _) if !b.trim().is_empty() && html::looks_like_html(b) => Some(b),
        (Some(b), _) if !b.trim().is_empty() => None,
        (_, Some(h)) => Some(h),
        _ => None,
    };
    let (text, page, mut anchors) = match html_source {
        Some(h) => {
            *format = InputFormat::JsonHtml;
            let page = html::extract(h);
            let (t, m) = text::normalize_text_mapped(&page.text);
            (t, Some(page), m)
        }
        None => {
            let (t, m) = text::normalize_text_mapped(body.unwrap_or(""));
            (t, None, m)
        }
    };
    let refers_to = match (&page, *format) {
        (Some(_), _) => OffsetReference::HtmlText,
        (None, InputFormat::Text) => OffsetReference::Payload,
        _ => OffsetReference::Body,
    };
    if body_offset > 0 {
        let shift = u32::try_from(body_offset).unwrap_or(u32::MAX);
        for a in &mut anchors.0 {
            a[1] = a[1].saturating_add(shift);
        }
    }
    if text.is_empty() {
        return Err(match page {
            Some(_) => Reject::new(RejectKind::HtmlNoText, "HTML page yields no article text"),
            None => Reject::new(
                RejectKind::EmptyText,
                "text is empty after normalization (only whitespace, controls or marks)",
            ),
        });
    }
    Ok(BodyText {
        text,
        page,
        anchors,
        refers_to,
    })
}
