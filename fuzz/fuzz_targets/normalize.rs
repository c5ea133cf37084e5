//! Text normalization and HTML extraction on arbitrary strings: no panics, idempotence, and
//! the offset map stays inside the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use newsflow::core::normalize::{html, text};

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let (once, map) = text::normalize_text_mapped(&s);
    assert_eq!(text::normalize_text(&once), once, "idempotent");
    let n = s.chars().count();
    for i in 0..once.chars().count() {
        assert!(map.to_source(i) < n.max(1));
    }
    let page = html::extract(&s);
    let _ = text::normalize_text(&page.text);
});
