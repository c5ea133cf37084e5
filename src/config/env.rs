//! `NEWSFLOW_SECTION__KEY` environment overrides, applied to the parsed TOML before it
//! is typed.

pub(super) fn parse_env_value(raw: &str) -> toml::Value {
    // Integers and booleans become typed values; everything else stays a string.
    if let Ok(i) = raw.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match raw {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(raw.to_string()),
    }
}

pub(super) fn set_path(
    table: &mut toml::Table,
    path: &[String],
    value: toml::Value,
) -> Result<(), String> {
    let (last, parents) = path.split_last().ok_or_else(|| "empty key".to_string())?;
    let mut cur = table;
    for part in parents {
        let entry = cur
            .entry(part.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{part}` is not a table"))?;
    }
    // Pass-through property tables keep the dotted librdkafka name: `..._PROPERTIES__SASL_MECHANISM`
    // maps to `sasl.mechanism`.
    let key = if parents.last().is_some_and(|p| p.ends_with("properties")) {
        last.replace('_', ".")
    } else {
        last.clone()
    };
    // Keep strings for property tables even when they look numeric.
    let value = if parents.last().is_some_and(|p| p.ends_with("properties")) {
        match value {
            toml::Value::String(s) => toml::Value::String(s),
            other => toml::Value::String(other.to_string()),
        }
    } else {
        value
    };
    cur.insert(key, value);
    Ok(())
}
