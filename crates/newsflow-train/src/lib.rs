//! Training and evaluation of the fast tier's model: BIOES gold files, the perceptron and
//! CRF learners, and the NEMO scoring rule. Used by `newsflow train-ner` and `ner-eval`,
//! never by the service: nothing under `core` or `runtime` imports this module.

pub mod bmes;
pub mod crf;
pub mod eval;
pub mod name_lists;
pub mod score;
pub mod silver;
pub(crate) mod tables;
pub mod train;
