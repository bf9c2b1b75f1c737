//! Request fields that must be present.

use ::nova_runtime::LogicError;
use ::nova_runtime::convert::text;

/// A text field that must not be empty (nor hold NUL): `INVALID_ARGUMENT` naming it otherwise.
pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str, LogicError> {
    let value = text(field, value)?;
    if value.trim().is_empty() {
        return Err(LogicError::invalid_argument(format!("{field} must not be empty")));
    }
    Ok(value)
}
