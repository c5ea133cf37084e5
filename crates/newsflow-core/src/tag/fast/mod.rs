//! The fast tier's labeller: the linear model over hashed features, decoded with integer
//! Viterbi; a span's confidence comes from its score margins.
//!
//! Rooms: [`model_file`] (the file format `train-ner` writes), [`linear`] (the run-time
//! weight table), [`features`] (feature templates) and [`clusters`] (word classes and
//! name-list flags, its inputs).

pub mod clusters;
pub mod features;
pub mod linear;
pub mod model_file;

use self::features::{tok_info, TokInfo};
use self::linear::Model;
use crate::tag::decoder::Scratch;
use crate::tag::gazetteer::GazTag;
use crate::tag::labels::{path_spans, split_label, N_LABELS};
use crate::tag::pipeline::{Labeler, Span};
use crate::tag::Kernel;
use std::cell::RefCell;
use std::sync::Arc;

/// The linear model as a [`Labeler`].
#[derive(Debug, Clone)]
pub struct LinearLabeler {
    model: Arc<Model>,
}

/// Reusable buffers of one thread's labelling calls.
#[derive(Default)]
struct Buffers {
    infos: Vec<TokInfo>,
    emis: Vec<i32>,
    labels: Vec<u8>,
    scratch: Scratch<i32>,
}

thread_local! {
    static BUFFERS: RefCell<Buffers> = RefCell::new(Buffers::default());
}

impl LinearLabeler {
    /// The labeller of a loaded model.
    pub fn new(model: Arc<Model>) -> Self {
        LinearLabeler { model }
    }

    /// The model.
    pub fn model(&self) -> &Model {
        &self.model
    }
}

impl Labeler for LinearLabeler {
    fn kernel(&self) -> Kernel {
        Kernel::Linear
    }

    fn english(&self) -> bool {
        self.model.english()
    }

    fn describe(&self) -> String {
        let m = &self.model;
        format!(
            "{} features, {:.1} MB file, {:.1} MB in memory ({})",
            m.n_features(),
            m.file_bytes() as f64 / 1e6,
            m.memory_bytes() as f64 / 1e6,
            m.info
        )
    }

    fn spans(&self, words: &[&str], gaz: &[GazTag], out: &mut Vec<Span>) {
        BUFFERS.with(|b| {
            let mut b = b.borrow_mut();
            let b = &mut *b;
            let clusters = self.model.clusters();
            b.infos.clear();
            b.infos.extend(
                words
                    .iter()
                    .zip(gaz)
                    .map(|(w, &g)| tok_info(w, g, clusters)),
            );
            self.model.emissions(&b.infos, &mut b.emis);
            self.model.decode(&b.emis, &mut b.scratch, &mut b.labels);
            spans_of_labels(&self.model, &b.emis, &b.labels, out);
        });
    }
}

/// Entity spans of a decoded label path, with confidences: the mean of the least certain
/// token's margin (over the best label of another type, or O: how sure the model is of the
/// entity and its type, not of B vs S) and the path margin of the whole span.
fn spans_of_labels(model: &Model, emis: &[i32], labels: &[u8], out: &mut Vec<Span>) {
    for (start, end, kind) in path_spans(labels) {
        let margin = (start..end)
            .map(|j| {
                let row = &emis[j * N_LABELS..(j + 1) * N_LABELS];
                let l = usize::from(labels[j]);
                let kind_of = |k: usize| split_label(k as u8).1;
                let other = row
                    .iter()
                    .enumerate()
                    .filter(|&(k, _)| kind_of(k) != kind_of(l))
                    .map(|(_, &v)| v)
                    .max()
                    .unwrap_or(0);
                row[l] - other
            })
            .min()
            .unwrap_or(0);
        let path = model.span_margin(emis, labels, start, end);
        let margin = (margin + path) / 2;
        let confidence = 1.0 / (1.0 + (-(margin as f32) * model.scale).exp());
        out.push(Span {
            first: start,
            last: end,
            kind,
            confidence,
        });
    }
}
