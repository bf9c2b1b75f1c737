//! Scalar value syntaxes of the ownership spec: durations and percentages.

use std::time::Duration;

/// `"250ms"`, `"2s"`, `"5m"`, `"1h"`: a whole number and a unit, nothing else, so every
/// duration in the spec reads the same way.
pub fn parse_duration(text: &str) -> Result<Duration, &'static str> {
    let digits_end = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    if number.is_empty() {
        return Err("expected a number first");
    }
    let number: u64 = number.parse().map_err(|_| "number too large")?;
    let millis_per_unit = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "" => return Err("missing unit"),
        _ => return Err("unknown unit"),
    };
    number.checked_mul(millis_per_unit).map(Duration::from_millis).ok_or("number too large")
}

/// `"1%"`, `"0.1%"`: a percentage in (0, 100].
pub fn parse_percent(text: &str) -> Result<f64, &'static str> {
    let number = text.strip_suffix('%').ok_or("missing `%`")?;
    if number.is_empty() || !number.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err("expected a decimal number before `%`");
    }
    let value: f64 = number.parse().map_err(|_| "expected a decimal number before `%`")?;
    if value <= 0.0 || value > 100.0 {
        return Err("must be above 0% and at most 100%");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("5 m"), Err("unknown unit"));
        assert_eq!(parse_duration("1.5s"), Err("unknown unit"));
        assert_eq!(parse_duration("ms"), Err("expected a number first"));
        assert_eq!(parse_duration("10"), Err("missing unit"));
        assert_eq!(parse_duration("99999999999999999999s"), Err("number too large"));
    }

    #[test]
    fn percents() {
        assert_eq!(parse_percent("1%"), Ok(1.0));
        assert_eq!(parse_percent("0.1%"), Ok(0.1));
        assert_eq!(parse_percent("1"), Err("missing `%`"));
        assert_eq!(parse_percent("0%"), Err("must be above 0% and at most 100%"));
        assert_eq!(parse_percent("-1%"), Err("expected a decimal number before `%`"));
    }
}
