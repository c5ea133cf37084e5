//! Any payload through the whole core (decode → normalize → tag → encode): must never panic,
//! and every success must be valid JSON whose entity offsets fit the text.
#![no_main]
use libfuzzer_sys::fuzz_target;
use newsflow::core::{enrich, Context, Input};
use std::sync::OnceLock;

static CTX: OnceLock<Context> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let ctx = CTX.get_or_init(|| Context::builtin(1_000_000).expect("builtin context"));
    let input = Input { payload: data, key: None, provenance: None };
    if let Ok(e) = enrich(input, ctx) {
        let v: serde_json::Value = serde_json::from_slice(&e.payload).expect("output is JSON");
        let body_chars = v["body"].as_str().map_or(0, |b| b.chars().count());
        for ent in v["entities"].as_array().into_iter().flatten() {
            if ent["field"] == "body" {
                assert!(ent["end"].as_u64().unwrap_or(0) as usize <= body_chars);
            }
        }
    }
});
