//! Training and evaluation of newsflow's entity taggers: BIOES gold files, the perceptron
//! and CRF learners of the fast tier, model-only scoring, silver data from the accurate
//! tier, cross-validation, and the NEMO scoring rule. `newsflow train-ner`, `ner-eval` and
//! `silver` are thin commands over this crate.
//!
//! It imports `newsflow-core` (the same features, decoder and pipeline the service runs),
//! and nothing of the service. Nothing in `newsflow-core` or the service's runtime imports
//! it.

pub mod bmes;
pub mod casing;
pub mod crf;
pub mod eval;
pub mod name_lists;
pub mod recipe;
pub mod score;
pub mod silver;
pub(crate) mod tables;
pub mod train;
