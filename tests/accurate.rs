//! The accurate tier: its model file loads (and a missing or corrupt one is an error naming
//! the file), its tokenizer and encoder reproduce the training code's (fixtures written by
//! `scripts/accurate/check.py` from the project's own sentences), it tags Hebrew sensibly
//! through the shared pipeline, and hostile text never breaks it.

use newsflow::core::tag::accurate::file::EncoderFile;
use newsflow::core::tag::accurate::{EncoderLabeler, Int8Isa};
use newsflow::core::tag::labels::N_LABELS;
use newsflow::core::tag::{AccurateTagger, EntityType, Labeler, Tagger, Tier};
use newsflow::training::casing::{self, Casing};
use newsflow::training::{bmes, eval};
use std::path::Path;
use std::sync::OnceLock;

const MODEL: &str = "models/ner-accurate.bin";

fn tagger() -> &'static AccurateTagger {
    static T: OnceLock<AccurateTagger> = OnceLock::new();
    T.get_or_init(|| AccurateTagger::load(Path::new(MODEL)).expect("the shipped model loads"))
}

#[test]
fn shipped_model_loads_and_is_within_its_size_budget() {
    let size = std::fs::metadata(MODEL).expect("model file present").len();
    assert!(size <= 60_000_000, "{size} bytes");
    let t = tagger();
    assert_eq!(t.tier(), Tier::Accurate);
    assert!(t.labeler().memory_bytes() > 10_000_000);
}

#[test]
fn missing_and_corrupt_model_files_are_errors_naming_the_file() {
    let err = AccurateTagger::load(Path::new("no/such/model.bin")).unwrap_err();
    assert!(err.to_string().contains("no/such/model.bin"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(MODEL).unwrap();
    for (name, content) in [
        ("empty.bin", Vec::new()),
        ("magic.bin", b"NOTAMODEL-------".to_vec()),
        ("truncated.bin", bytes[..bytes.len() / 2].to_vec()),
        ("trailing.bin", [bytes.as_slice(), b"xx"].concat()),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let err = AccurateTagger::load(&p).unwrap_err().to_string();
        assert!(err.contains(name), "{err}");
    }
}

/// Checks every `word TAB piece ids` line of `text` against the Rust tokenizer; returns
/// the number of words.
fn check_tokens(text: &str) -> usize {
    let tok = tagger().labeler().tokenizer();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (word, ids) = line.split_once('\t').unwrap();
        let want: Vec<u32> = ids.split(' ').map(|s| s.parse().unwrap()).collect();
        let mut got = Vec::new();
        tok.word(word, &mut got);
        assert_eq!(got, want, "word {word:?}");
        n += 1;
    }
    n
}

#[test]
fn tokenizer_matches_the_training_tokenizer() {
    // From scripts/accurate/check.py over the project's own sentences.
    let fixture = std::fs::read_to_string("tests/fixtures/accurate_tokens.tsv").unwrap();
    let n = check_tokens(&fixture);
    assert!(n >= 200, "{n} words");
    // The same check over 1,000 dev sentences of ../shared, when check.py has written it.
    let reference = Path::new("target/accurate/tokens-reference.tsv");
    match std::fs::read_to_string(reference) {
        Ok(text) => eprintln!(
            "reference tokenization: {} words agree",
            check_tokens(&text)
        ),
        Err(_) => eprintln!("skipped: {} absent", reference.display()),
    }
}

/// The reference log-probabilities (word, 53 values a line; a blank line between
/// sentences) and the same from `labeler`.
fn compare_with_reference(labeler: &EncoderLabeler) -> Vec<(String, Vec<f32>, Vec<f32>)> {
    let fixture = std::fs::read_to_string("tests/fixtures/accurate_logits.tsv").unwrap();
    let mut out = Vec::new();
    for block in fixture.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let rows: Vec<(&str, Vec<f32>)> = block
            .lines()
            .map(|l| {
                let (w, v) = l.split_once('\t').unwrap();
                (w, v.split(' ').map(|x| x.parse().unwrap()).collect())
            })
            .collect();
        let words: Vec<&str> = rows.iter().map(|r| r.0).collect();
        let got = labeler.word_log_probs(&words);
        assert_eq!(got.len(), words.len() * N_LABELS);
        for (i, (w, want)) in rows.into_iter().enumerate() {
            out.push((
                w.to_string(),
                want,
                got[i * N_LABELS..(i + 1) * N_LABELS].to_vec(),
            ));
        }
    }
    out
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).fold(0, |b, i| if v[i] > v[b] { i } else { b })
}

#[test]
fn encoder_reproduces_the_reference_log_probabilities() {
    let bytes = std::fs::read(MODEL).unwrap();
    let f32_labeler = EncoderLabeler::with_kernel(&bytes, None).unwrap();
    let rows = compare_with_reference(&f32_labeler);
    assert!(rows.len() >= 20);
    for (w, want, got) in &rows {
        for (l, (&v, &g)) in want.iter().zip(got).enumerate() {
            // Probabilities that matter agree closely; tiny ones may drift in log space.
            assert!(
                (g - v).abs() < 2e-3 || (v < -8.0 && (g - v).abs() < 0.05),
                "{w} label {l}: {g} vs {v}"
            );
        }
    }
    // Each int8 kernel this CPU has reads the same labels, and the kernels give the same
    // scores bit for bit (the same integer products).
    let mut int8_scores = Vec::new();
    for isa in [Int8Isa::Vnni, Int8Isa::Avx2] {
        if !isa.supported() {
            eprintln!("skipped {isa:?}: not on this CPU");
            continue;
        }
        let fast = EncoderLabeler::with_kernel(&bytes, Some(isa)).unwrap();
        eprintln!("kernel: {}", fast.kernel());
        let rows = compare_with_reference(&fast);
        for (w, want, got) in &rows {
            assert_eq!(argmax(want), argmax(got), "{w}");
            let best = argmax(want);
            assert!(
                (want[best] - got[best]).abs() < 0.1,
                "{w}: {} vs {}",
                want[best],
                got[best]
            );
        }
        int8_scores.push(rows.into_iter().map(|(_, _, got)| got).collect::<Vec<_>>());
    }
    if let [vnni, avx2] = int8_scores.as_slice() {
        assert_eq!(vnni, avx2, "the VNNI and AVX2 kernels disagree");
    }
}

/// Batching windows changes nothing: each chunk's spans and confidences are the same as
/// when it is labelled alone, in both kernels (activations are quantized row by row and
/// attention stays within a window). Chunks of different lengths, one longer than a
/// window, so batches hold windows of several sizes and split across chunk boundaries.
#[test]
fn batched_windows_label_exactly_as_alone() {
    let bytes = std::fs::read(MODEL).unwrap();
    let sentences = [
        "ראש הממשלה נפגש אתמול בירושלים עם שר החוץ של צרפת .",
        "בנק ישראל הודיע כי הריבית תעלה .",
        "The meeting in Washington ended without agreement .",
        "משה כהן מתל אביב",
    ];
    let mut chunks: Vec<Vec<String>> = Vec::new();
    for i in 0..40 {
        let s = sentences[i % sentences.len()];
        let words: Vec<String> = s.split(' ').map(str::to_string).collect();
        chunks.push(
            words
                .iter()
                .cycle()
                .take(words.len() * (1 + i % 3))
                .cloned()
                .collect(),
        );
    }
    // One chunk of more than a window's pieces.
    chunks.push(
        sentences[0]
            .split(' ')
            .cycle()
            .take(400)
            .map(str::to_string)
            .collect(),
    );
    let words: Vec<Vec<&str>> = chunks
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let gaz: Vec<Vec<u16>> = words.iter().map(|w| vec![0; w.len()]).collect();
    let batch: Vec<(&[&str], &[u16])> = words
        .iter()
        .zip(&gaz)
        .map(|(w, g)| (w.as_slice(), g.as_slice()))
        .collect();
    for int8 in [None, Some(Int8Isa::Vnni), Some(Int8Isa::Avx2)] {
        if int8.is_some_and(|isa| !isa.supported()) {
            continue;
        }
        let labeler = EncoderLabeler::with_kernel(&bytes, int8).unwrap();
        let slices: Vec<&[&str]> = words.iter().map(Vec::as_slice).collect();
        assert!(labeler.batches(&slices).len() > 1, "several batches");
        let mut together = Vec::new();
        labeler.spans_batch(&batch, &mut together);
        assert_eq!(together.len(), batch.len());
        for (i, &(w, g)) in batch.iter().enumerate() {
            let mut alone = Vec::new();
            labeler.spans(w, g, &mut alone);
            assert_eq!(together[i], alone, "chunk {i}, int8 {int8:?}");
        }
        assert!(together.iter().any(|s| !s.is_empty()));
    }
}

#[test]
fn tags_hebrew_people_places_and_organisations() {
    let ents = tagger().tag(
        "",
        "ראש הממשלה נפגש אתמול בירושלים עם שר החוץ של צרפת ועם נציגי האיחוד האירופי.",
    );
    let kinds: Vec<(EntityType, &str)> = ents.iter().map(|e| (e.kind, e.text.as_str())).collect();
    assert!(
        kinds
            .iter()
            .any(|&(k, t)| k == EntityType::GPE && t == "ירושלים"),
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .any(|&(k, t)| k == EntityType::GPE && t == "צרפת"),
        "{kinds:?}"
    );
}

/// English headlines in CAPITALS reach the encoder in headline case, whose vocabulary
/// also holds the pieces of capitalised words: the project's English set still scores in
/// every casing (before: 72.2 in capitals).
#[test]
fn english_set_scores_in_every_casing() {
    let gold = bmes::parse(include_str!("fixtures/ner_en.bmes"));
    for (casing, floor) in [
        (Casing::Upper, 0.85),
        (Casing::Title, 0.85),
        (Casing::Lower, 0.75),
    ] {
        let recased: Vec<_> = gold.iter().map(|s| casing::recase(s, casing)).collect();
        let r = eval::evaluate(tagger(), &recased, bmes::Scheme::Nemo);
        assert!(
            r.scores.micro.f1() > floor,
            "{casing:?}: {}",
            bmes::format_scores(&r.scores)
        );
    }
}

#[test]
fn hostile_text_never_breaks_it() {
    let t = tagger();
    let long_word = "א".repeat(5000);
    let many_words = "מילה ".repeat(600);
    let mixed = "\u{202e}ב\u{0}ג\u{feff}ד 💥💥💥 ".repeat(40);
    for text in [
        "",
        " ",
        ".",
        &long_word,
        &many_words,
        &mixed,
        "ש\"ח 5% 12:00 🇮🇱",
    ] {
        let ents = t.tag(text, text);
        for e in ents {
            let field_text = text;
            let s: String = field_text
                .chars()
                .skip(e.start)
                .take(e.end - e.start)
                .collect();
            assert_eq!(s, e.text);
        }
    }
}

#[test]
fn a_small_model_round_trips_through_the_file_format() {
    let f = EncoderFile::parse(&std::fs::read(MODEL).unwrap()).unwrap();
    let again = EncoderFile::parse(&f.to_bytes()).unwrap();
    assert_eq!(again.dims, f.dims);
    assert_eq!(again.vocab.pieces, f.vocab.pieces);
    assert_eq!(again.tensors.len(), f.tensors.len());
    assert_eq!(again.languages, f.languages);
}

/// The shipped model reads English; a version-1 file (Hebrew only, no languages word)
/// still loads, and leaves English to the capitalisation rules.
#[test]
fn model_files_say_which_languages_they_read() {
    use newsflow::core::tag::accurate::file::{LANG_ENGLISH, LANG_HEBREW, MAGIC_V1};
    let f = EncoderFile::parse(&std::fs::read(MODEL).unwrap()).unwrap();
    assert_eq!(f.languages, LANG_HEBREW | LANG_ENGLISH);
    let v2 = f.to_bytes();
    // Version 1: the old magic, and no languages word after the epsilon (byte 36).
    let mut v1 = MAGIC_V1.to_vec();
    v1.extend_from_slice(&v2[8..36]);
    v1.extend_from_slice(&v2[40..]);
    let old = EncoderFile::parse(&v1).unwrap();
    assert_eq!(old.languages, LANG_HEBREW);
    assert_eq!(old.vocab.pieces, f.vocab.pieces);
}

/// `newsflow silver` labels one language's chunks: Hebrew silver skips English lines and
/// English silver (`--english`) skips Hebrew ones, and the names it writes are the model's.
#[test]
fn silver_takes_the_chunks_of_its_language() {
    use newsflow::training::silver::{tag_lines, Language};
    let bytes = std::fs::read(MODEL).unwrap();
    let labeler = EncoderLabeler::from_bytes(&bytes).unwrap();
    let lines = [
        "Angela Merkel met Emmanuel Macron in Berlin on Tuesday to discuss the budget.",
        "ראש הממשלה נפגש אתמול בירושלים עם שר החוץ של צרפת.",
    ];
    let (english, st) = tag_lines(&labeler, &lines, 0.0, 1, Language::English);
    assert_eq!(english.len(), 1, "{english:?}");
    assert_eq!(st.skipped, 1);
    let s = &english[0];
    assert_eq!(s.tokens[0], "Angela");
    let tag_of = |w: &str| &s.tags[s.tokens.iter().position(|t| t == w).unwrap()];
    assert_eq!(tag_of("Angela"), "B-PER");
    assert_eq!(tag_of("Macron"), "E-PER");
    assert!(tag_of("Berlin").ends_with("GPE"), "{s:?}");
    assert_eq!(tag_of("budget"), "O");
    let (hebrew, st) = tag_lines(&labeler, &lines, 0.0, 1, Language::Hebrew);
    assert_eq!(hebrew.len(), 1, "{hebrew:?}");
    assert_eq!(st.skipped, 1);
    assert!(hebrew[0].tokens.iter().any(|t| t == "בירושלים"));
    assert!(
        hebrew[0].tags.iter().any(|t| t.ends_with("GPE")),
        "{hebrew:?}"
    );
}
