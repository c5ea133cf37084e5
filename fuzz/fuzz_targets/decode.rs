//! Decoding arbitrary payloads (JSON records, plain text, HTML, garbage): never panics, a
//! reject always carries a non-empty reason, and the size limit is enforced.
#![no_main]
use libfuzzer_sys::fuzz_target;
use newsflow::core::decode::decode;

fuzz_target!(|data: &[u8]| {
    if let Err(r) = decode(data, 1_000_000) {
        assert!(!r.message.is_empty(), "reject without a reason");
    }
    // A limit below the size is always an oversize reject.
    if !data.is_empty() {
        assert!(decode(data, data.len() - 1).is_err());
    }
});
