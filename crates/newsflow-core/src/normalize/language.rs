//! Language identification with `whatlang`, reconciled with the scraper's claim.

use serde::Serialize;

/// Where the output language came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LanguageSource {
    /// Detected; the input did not claim one.
    Detected,
    /// The input's claim, consistent with (or not contradicted by) detection.
    Input,
    /// The input claimed another language but detection is reliable and disagrees.
    DetectedOverridesInput,
}

/// Language of an article.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LanguageInfo {
    /// ISO 639-1 code where one exists (`he`, `en`), else ISO 639-3; `und` when unknown.
    pub code: String,
    /// Detector confidence in [0, 1] for the detected language.
    pub confidence: f64,
    /// Whether the code is the input's claim or the detector's.
    pub source: LanguageSource,
    /// The input's claim, when it was overridden.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed: Option<String>,
}

/// Bytes of text given to the detector (more adds time, not accuracy). Text in a script used
/// by few languages (Hebrew: Hebrew or Yiddish) needs a shorter sample than Latin script.
const SAMPLE_BYTES: usize = 384;
/// Sample for Hebrew-script text.
const HEBREW_SAMPLE_BYTES: usize = 192;

/// Detects the language of an article and reconciles it with `claimed`.
pub fn detect(title: &str, body: &str, claimed: Option<&str>) -> LanguageInfo {
    let hebrew_script = body
        .chars()
        .filter(|&c| is_alphabetic(c))
        .take(16)
        .all(|c| ('\u{0590}'..='\u{05FF}').contains(&c));
    let limit = if hebrew_script {
        HEBREW_SAMPLE_BYTES
    } else {
        SAMPLE_BYTES
    };
    let mut end = body.len().min(limit);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    let sample = if body.is_empty() { title } else { &body[..end] };
    let detected = whatlang::detect(sample);
    let claimed_code = claimed
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty())
        .map(|c| c.split(['-', '_']).next().unwrap_or("").to_string());
    match (detected, claimed_code) {
        (Some(info), Some(claim)) => {
            let code = iso639_1(info.lang());
            if code == claim || !info.is_reliable() {
                LanguageInfo {
                    code: claim,
                    confidence: info.confidence(),
                    source: LanguageSource::Input,
                    claimed: None,
                }
            } else {
                LanguageInfo {
                    code: code.to_string(),
                    confidence: info.confidence(),
                    source: LanguageSource::DetectedOverridesInput,
                    claimed: Some(claim),
                }
            }
        }
        (Some(info), None) => LanguageInfo {
            code: iso639_1(info.lang()).to_string(),
            confidence: info.confidence(),
            source: LanguageSource::Detected,
            claimed: None,
        },
        (None, Some(claim)) => LanguageInfo {
            code: claim,
            confidence: 0.0,
            source: LanguageSource::Input,
            claimed: None,
        },
        (None, None) => LanguageInfo {
            code: "und".into(),
            confidence: 0.0,
            source: LanguageSource::Detected,
            claimed: None,
        },
    }
}

/// `char::is_alphabetic` without the Unicode table look-up for ASCII and Hebrew letters.
#[inline]
fn is_alphabetic(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic()
    } else {
        ('\u{05D0}'..='\u{05EA}').contains(&c) || c.is_alphabetic()
    }
}

fn iso639_1(lang: whatlang::Lang) -> &'static str {
    use whatlang::Lang::*;
    match lang {
        Heb => "he",
        Eng => "en",
        Ara => "ar",
        Rus => "ru",
        Ukr => "uk",
        Fra => "fr",
        Deu => "de",
        Spa => "es",
        Ita => "it",
        Por => "pt",
        Yid => "yi",
        Tur => "tr",
        Pes => "fa",
        Nld => "nl",
        Pol => "pl",
        Cmn => "zh",
        Jpn => "ja",
        other => other.code(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_hebrew_and_english() {
        let he = detect(
            "",
            "שרי החוץ של המדינות נפגשו היום בירושלים כדי לדון בהסכם החדש",
            None,
        );
        assert_eq!(
            (he.code.as_str(), he.source),
            ("he", LanguageSource::Detected)
        );
        let en = detect(
            "",
            "The foreign ministers met in Jerusalem today to discuss the new agreement.",
            None,
        );
        assert_eq!(en.code, "en");
    }

    #[test]
    fn claim_wins_unless_clearly_wrong() {
        let ok = detect(
            "",
            "The ministers met today to discuss the agreement in detail.",
            Some("EN-us"),
        );
        assert_eq!((ok.code.as_str(), ok.source), ("en", LanguageSource::Input));
        let wrong = detect(
            "",
            "שרי החוץ של המדינות נפגשו היום בירושלים כדי לדון בהסכם החדש",
            Some("en"),
        );
        assert_eq!(wrong.code, "he");
        assert_eq!(wrong.source, LanguageSource::DetectedOverridesInput);
        assert_eq!(wrong.claimed.as_deref(), Some("en"));
    }
}
