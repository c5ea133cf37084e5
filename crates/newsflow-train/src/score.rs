//! Model-only scoring: a built model (pruned and quantized, as it ships) decodes gold
//! tokens and is scored with the NEMO rule, without the pipeline's rules and merges.

use super::bmes::{self, Corpus, Scheme};
use newsflow_core::tag::decoder::Scratch;
use newsflow_core::tag::fast::clusters::WordClusters;
use newsflow_core::tag::fast::features::{tok_info, TokInfo};
use newsflow_core::tag::gazetteer::tags_for_words as gaz_tags_for_words;
use newsflow_core::tag::gazetteer::Gazetteer;
use newsflow_core::tag::labels::Pos;

/// Model-only micro F1 of a built model (pruned and quantized, as it ships) on each
/// corpus: the run-time scorer and decoder, without the pipeline's rules and merges.
pub fn model_scores(
    model: &newsflow_core::tag::fast::linear::Model,
    gaz: &Gazetteer,
    clusters: &WordClusters,
    dev: &[Corpus],
) -> Vec<f64> {
    let mut emis = Vec::new();
    let mut pred = Vec::new();
    let mut scratch = Scratch::<i32>::default();
    dev.iter()
        .map(|c| {
            let pred_tags: Vec<Vec<String>> = c
                .sentences
                .iter()
                .map(|s| {
                    let words: Vec<&str> = s.tokens.iter().map(String::as_str).collect();
                    let infos = sentence_infos(gaz, clusters, &words);
                    model.emissions(&infos, &mut emis);
                    model.decode(&emis, &mut scratch, &mut pred);
                    labels_to_scheme(&pred, c.scheme)
                })
                .collect();
            bmes::score(&c.sentences, &pred_tags).micro.f1()
        })
        .collect()
}

/// Production labels → tags of a scheme (types outside the scheme become `O`, and a span
/// is dropped whole).
pub fn labels_to_scheme(labels: &[u8], scheme: Scheme) -> Vec<String> {
    labels
        .iter()
        .map(|&l| {
            let (pos, t) = newsflow_core::tag::labels::split_label(l);
            match t.and_then(|t| scheme.map(t)) {
                Some(cat) => {
                    let p = match pos {
                        Pos::B => "B",
                        Pos::I => "I",
                        Pos::E => "E",
                        _ => "S",
                    };
                    format!("{p}-{cat}")
                }
                None => "O".to_string(),
            }
        })
        .collect()
}

/// Per-token infos of a tokenized sentence (gazetteer tags and word clusters included).
pub fn sentence_infos(gaz: &Gazetteer, clusters: &WordClusters, words: &[&str]) -> Vec<TokInfo> {
    let tags = gaz_tags_for_words(gaz, words);
    words
        .iter()
        .zip(tags)
        .map(|(w, g)| tok_info(w, g, clusters))
        .collect()
}
