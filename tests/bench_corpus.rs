//! The benchmark corpus generator's own tests (it lives with the benches, which have no
//! test harness).

#[path = "../benches/support/corpus.rs"]
mod corpus;
