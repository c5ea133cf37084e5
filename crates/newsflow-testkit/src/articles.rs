//! Synthetic article payloads for the delivery tests and for `examples/soak.rs`.

/// A synthetic article payload number `i` (JSON, Hebrew or English), about 1 KB.
pub fn article(i: usize) -> Vec<u8> {
    let body = if i.is_multiple_of(3) {
        format!("The mayor of Jerusalem met NATO officials in Brussels on Monday, report {i}. ")
            .repeat(8)
    } else {
        format!(
            "ראש הממשלה נפגש היום בירושלים עם שר החוץ של צרפת ודן במצב באוקראינה, דיווח מספר {i}. "
        )
        .repeat(6)
    };
    serde_json::to_vec(&serde_json::json!({
        "id": format!("art-{i}"),
        "url": format!("https://test.invalid/a/{i}"),
        "source": "tests",
        "published_at": "2025-08-21",
        "body": body,
    }))
    .expect("a JSON object serializes")
}
