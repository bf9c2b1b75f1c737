//! YAML scalars: a JSON string is a valid YAML double-quoted scalar, so every generated string
//! is written that way and no value can change the document's structure.

pub fn quote(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// A number as Prometheus and YAML read it, without a trailing `.0` noise or exponent.
pub fn number(value: f64) -> String {
    let text = format!("{value:.9}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text.is_empty() || text == "-" { "0".to_string() } else { text.to_string() }
}

/// A duration in Prometheus' notation: whole minutes as `5m`, whole hours as `1h`, else seconds.
pub fn prom_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs > 0 && secs.is_multiple_of(3600) {
        format!("{}h", secs / 3600)
    } else if secs > 0 && secs.is_multiple_of(60) {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}
