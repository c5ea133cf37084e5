//! `../shared` (gold data and real articles, never in the repository): tests that need it
//! skip loudly without it, and fail when `NEWSFLOW_REQUIRE_SHARED` is set (`.ci/run` sets
//! it when the directory exists), so a moved or renamed file cannot turn them into silent
//! passes.

use std::path::PathBuf;

/// `../shared/<sub>` if present; `None` (with a skip notice) if absent; a panic if absent
/// while `NEWSFLOW_REQUIRE_SHARED` is set.
pub fn shared(sub: &str) -> Option<PathBuf> {
    let p = PathBuf::from("../shared").join(sub);
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("NEWSFLOW_REQUIRE_SHARED").is_none(),
        "{} is required (NEWSFLOW_REQUIRE_SHARED) but absent",
        p.display()
    );
    eprintln!(
        "SKIPPED: {} is absent (set NEWSFLOW_REQUIRE_SHARED=1 to fail instead)",
        p.display()
    );
    None
}
