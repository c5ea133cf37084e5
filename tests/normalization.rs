//! Normalization: golden outputs of the project's samples, the HTML/plain equivalence of the
//! real article in ../shared (skipped when absent), and property tests (idempotence, no
//! panics on any bytes).

use newsflow_testkit::shared as support;

use newsflow::core::decode::decode;
use newsflow::core::normalize::{html, normalize, text::normalize_text};
use newsflow::core::{enrich_guarded, Context, Input, RejectKind};
use proptest::prelude::*;

fn normalized(payload: &[u8]) -> (String, String) {
    let a = normalize(decode(payload, usize::MAX).expect("decodes")).expect("normalizes");
    (a.title, a.body)
}

#[test]
fn golden_samples() {
    for (sample, golden) in [
        ("samples/he_budget.json", "he_budget"),
        ("samples/he_plain.txt", "he_plain"),
        ("samples/he_heatwave.html.json", "he_heatwave"),
        ("samples/en_summit.json", "en_summit"),
    ] {
        let (title, body) = normalized(&std::fs::read(sample).unwrap());
        let want_body = std::fs::read_to_string(format!("tests/golden/{golden}.body.txt")).unwrap();
        let want_title =
            std::fs::read_to_string(format!("tests/golden/{golden}.title.txt")).unwrap();
        assert_eq!(body, want_body, "{sample} body");
        assert_eq!(title, want_title, "{sample} title");
    }
}

#[test]
fn html_page_chrome_is_gone_and_text_is_clean() {
    let (title, body) = normalized(&std::fs::read("samples/he_heatwave.html.json").unwrap());
    assert_eq!(title, "גל חום כבד צפוי בסוף השבוע", "h1 wins over <title>");
    for chrome in [
        "פרסומת",
        "דף הבית",
        "עוד כתבות",
        "כל הזכויות",
        "tracking",
        "display",
    ] {
        assert!(!body.contains(chrome), "{chrome} leaked into the body");
    }
    assert!(!body.contains('\u{200F}') && !body.contains('\u{A0}'));
    assert_eq!(body.split("\n\n").count(), 3, "three paragraphs");
}

#[test]
fn messy_hebrew_is_cleaned_to_one_form() {
    let messy = "\u{FEFF}\u{200F}שָׁלוֹם   לְכֻלָּם!\r\nנאט״ו ו\u{FB2A}\u{05B8}ר\u{05BE}החוץ  \u{202B}אמר\u{202C}:\u{A0}“כן”\r\n\r\n\r\nפסקה\u{2003}שנייה";
    assert_eq!(
        normalize_text(messy),
        "שלום לכלם!\nנאט\"ו ושר-החוץ אמר: \"כן\"\n\nפסקה שנייה"
    );
}

#[test]
fn real_article_html_and_plain_forms_give_the_same_text() {
    let Some(dir) = support::shared("data/articles") else {
        return;
    };
    let (_, txt) = normalized(&std::fs::read(dir.join("nato_guarantees_he.txt")).unwrap());
    let (_, json) = normalized(&std::fs::read(dir.join("nato_guarantees_he.json")).unwrap());
    let (html_title, html) =
        normalized(&std::fs::read(dir.join("nato_guarantees_he.html.json")).unwrap());
    let paragraphs = |s: &str| s.split("\n\n").map(str::to_string).collect::<Vec<_>>();
    assert_eq!(
        paragraphs(&html),
        paragraphs(&txt),
        "HTML vs plain text, paragraph by paragraph"
    );
    assert_eq!(json, txt);
    assert!(!html_title.is_empty());
}

fn ctx() -> &'static Context {
    static CTX: std::sync::OnceLock<Context> = std::sync::OnceLock::new();
    CTX.get_or_init(|| Context::builtin(1_000_000).unwrap())
}

/// Strings rich in the characters normalization cares about.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "ש",
        "ל",
        "ו",
        "ם",
        "א",
        "\u{05B8}",
        "\u{05BC}",
        "\u{0591}",
        "\u{05BE}",
        "\u{05F3}",
        "\u{05F4}",
        "\u{FB2A}",
        "\u{FB4F}",
        "\u{FB21}",
        "\u{200F}",
        "\u{202B}",
        "\u{2067}",
        "\u{200B}",
        "\u{FEFF}",
        "\u{A0}",
        "\u{2003}",
        "\u{2029}",
        "\u{2028}",
        " ",
        "\n",
        "\r",
        "\t",
        "\u{0}",
        "\u{7}",
        "e\u{301}",
        "\u{301}",
        "\u{1100}\u{1161}",
        "a",
        "Z",
        "1",
        ".",
        "\"",
        "'",
        "”",
        "’",
        "-",
        "—",
        "<",
        ">",
        "&amp;",
        "\u{10FFFF}",
    ]);
    prop::collection::vec(pieces, 0..64).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn normalize_text_is_idempotent(s in tricky_text()) {
        let once = normalize_text(&s);
        prop_assert_eq!(normalize_text(&once), once);
    }

    #[test]
    fn normalize_text_is_idempotent_on_any_string(s in any::<String>()) {
        let once = normalize_text(&s);
        prop_assert_eq!(normalize_text(&once), once);
    }

    #[test]
    fn enrich_never_panics_on_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let input = Input { payload: &bytes, key: None, provenance: None };
        let r = enrich_guarded(input, ctx());
        if let Err(rej) = r { prop_assert_ne!(rej.kind, RejectKind::InternalError); }
    }

    #[test]
    fn enrich_never_panics_on_json_records(body in tricky_text(), title in tricky_text(), date in ".{0,30}") {
        let payload = serde_json::to_vec(&serde_json::json!({"title": title, "body": body, "published_at": date})).unwrap();
        let input = Input { payload: &payload, key: None, provenance: None };
        if let Err(rej) = enrich_guarded(input, ctx()) {
            prop_assert_ne!(rej.kind, RejectKind::InternalError);
        }
    }

    #[test]
    fn html_extraction_never_panics(s in "(<[a-z/!]{0,8}( [a-z]{1,5}=\"[^\"]{0,10}\")?>|[^<]{0,20}|&[a-z#0-9]{0,6};?){0,40}") {
        let e = html::extract(&s);
        prop_assert_eq!(normalize_text(&e.text), normalize_text(&normalize_text(&e.text)));
    }
}

#[test]
fn body_offsets_map_entities_back_to_the_input() {
    use newsflow::core::normalize::text::OffsetMap;
    let ctx = ctx();
    for sample in ["samples/he_plain.txt", "samples/en_summit.json"] {
        let payload = std::fs::read(sample).unwrap();
        let input = Input {
            payload: &payload,
            key: None,
            provenance: None,
        };
        let rec: serde_json::Value =
            serde_json::from_slice(&enrich_guarded(input, ctx).unwrap().payload).unwrap();
        let anchors: Vec<[u32; 2]> =
            serde_json::from_value(rec["body_offsets"]["anchors"].clone()).unwrap();
        let map = OffsetMap(anchors);
        let source: Vec<char> = match rec["body_offsets"]["refers_to"].as_str().unwrap() {
            "payload" => String::from_utf8(payload.clone())
                .unwrap()
                .chars()
                .collect(),
            "body" => {
                let v: serde_json::Value = serde_json::from_slice(&payload).unwrap();
                v["body"].as_str().unwrap().chars().collect()
            }
            other => panic!("unexpected reference {other}"),
        };
        let mut checked = 0;
        for e in rec["entities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["field"] == "body")
        {
            let (s, t) = (
                e["start"].as_u64().unwrap() as usize,
                e["end"].as_u64().unwrap() as usize,
            );
            let (a, b) = (map.to_source(s), map.to_source(t - 1) + 1);
            let original: String = source[a..b].iter().collect();
            assert_eq!(original, e["text"].as_str().unwrap(), "{sample}");
            checked += 1;
        }
        assert!(checked > 2, "{sample}: entities checked");
    }
}

proptest! {
    #[test]
    fn mapped_normalization_agrees_and_stays_in_range(s in tricky_text()) {
        let (text, map) = newsflow::core::normalize::text::normalize_text_mapped(&s);
        prop_assert_eq!(&text, &normalize_text(&s));
        let n = s.chars().count();
        for i in 0..text.chars().count() {
            prop_assert!(map.to_source(i) < n.max(1));
        }
    }
}
