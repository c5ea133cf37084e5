//! Why a message could not be enriched. Every reject has a stable machine-readable kind
//! (used as the DLQ header and the metrics label) and a human-readable message.

use std::fmt;

/// Stable reason codes for dead-lettered messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    /// Payload bytes are not UTF-8.
    InvalidUtf8,
    /// Payload starts like a JSON object but does not parse (or nests too deeply).
    MalformedJson,
    /// Payload is valid JSON but not an object.
    NotAnObject,
    /// A known field has the wrong JSON type.
    InvalidField,
    /// A JSON record has neither `body` nor `html`.
    MissingText,
    /// The text is empty or whitespace only, before or after normalization.
    EmptyText,
    /// HTML that yields no article text.
    HtmlNoText,
    /// Payload larger than `pipeline.max_message_bytes`.
    Oversize,
    /// The enriched record was refused by the output topic (e.g. too large).
    OutputRejected,
    /// Processing this message panicked (a bug; the message is kept for re-drive).
    InternalError,
}

impl RejectKind {
    /// Every kind, for metrics pre-registration and docs.
    pub const ALL: [RejectKind; 10] = [
        RejectKind::InvalidUtf8,
        RejectKind::MalformedJson,
        RejectKind::NotAnObject,
        RejectKind::InvalidField,
        RejectKind::MissingText,
        RejectKind::EmptyText,
        RejectKind::HtmlNoText,
        RejectKind::Oversize,
        RejectKind::OutputRejected,
        RejectKind::InternalError,
    ];

    /// The snake_case code used in headers, metrics and reject files.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectKind::InvalidUtf8 => "invalid_utf8",
            RejectKind::MalformedJson => "malformed_json",
            RejectKind::NotAnObject => "not_an_object",
            RejectKind::InvalidField => "invalid_field",
            RejectKind::MissingText => "missing_text",
            RejectKind::EmptyText => "empty_text",
            RejectKind::HtmlNoText => "html_no_text",
            RejectKind::Oversize => "oversize",
            RejectKind::OutputRejected => "output_rejected",
            RejectKind::InternalError => "internal_error",
        }
    }

    /// Parses a code produced by [`RejectKind::as_str`].
    pub fn parse(code: &str) -> Option<RejectKind> {
        RejectKind::ALL.into_iter().find(|k| k.as_str() == code)
    }
}

impl fmt::Display for RejectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that cannot be enriched, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct Reject {
    /// Machine-readable reason.
    pub kind: RejectKind,
    /// Human-readable detail.
    pub message: String,
}

impl Reject {
    /// Builds a reject.
    pub fn new(kind: RejectKind, message: impl Into<String>) -> Reject {
        Reject {
            kind,
            message: message.into(),
        }
    }
}
