//! The error every input check returns: which field, which value, and what to do.

use std::fmt;

/// An invalid input value. Services map it to gRPC INVALID_ARGUMENT.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InvalidValue {
    /// Path of the field, such as `schema.fields[2].vector.dimension`.
    pub field: String,
    /// The reason and the fix, written to follow the field and its value.
    pub message: String,
}

impl InvalidValue {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Prefixes the field path, as in `schema` + `fields[2].name` → `schema.fields[2].name`.
    pub fn within(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}

impl fmt::Display for InvalidValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "invalid {}: {}", self.field, self.message)
    }
}

/// Quotes a value for an error message, shortened to 80 characters.
pub fn quote(value: &str) -> String {
    const MAX_CHARS: usize = 80;
    if value.chars().count() <= MAX_CHARS {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(MAX_CHARS).collect();
        format!("{head:?}... ({} bytes)", value.len())
    }
}

/// Checks a name made of `[A-Za-z0-9_-]`, 1 to `max_len` characters long. The characters are checked
/// before the length, so the length is only counted for ASCII names, where characters and bytes agree.
pub fn check_identifier(field: &str, value: &str, max_len: usize) -> Result<(), InvalidValue> {
    if value.is_empty() {
        return Err(InvalidValue::new(
            field,
            format!("{field} is empty; set it to 1 to {max_len} characters from [A-Za-z0-9_-]"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        return Err(InvalidValue::new(
            field,
            format!(
                "{} contains {bad:?}; use only ASCII letters, digits, '_' and '-'",
                quote(value)
            ),
        ));
    }
    if value.len() > max_len {
        return Err(InvalidValue::new(
            field,
            format!(
                "{} is {} characters long; use at most {max_len}",
                quote(value),
                value.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_builds_paths() {
        let error = InvalidValue::new("name", "bad")
            .within("fields[2]")
            .within("schema");
        assert_eq!(error.field, "schema.fields[2].name");
        let error = InvalidValue::new("[3]", "bad").within("vectors");
        assert_eq!(error.field, "vectors[3]");
    }

    #[test]
    fn identifier_names_field_and_value() {
        let error = check_identifier("name", "", 64).unwrap_err();
        assert_eq!(error.field, "name");
        assert_eq!(
            error.to_string(),
            "invalid name: name is empty; set it to 1 to 64 characters from [A-Za-z0-9_-]"
        );
        let error = check_identifier("name", &"x".repeat(65), 64).unwrap_err();
        assert!(
            error
                .message
                .ends_with("is 65 characters long; use at most 64"),
            "{error}"
        );
    }

    #[test]
    fn identifier_reports_non_ascii_before_length() {
        // 40 characters, 80 bytes: the character is the problem, not the length.
        let error = check_identifier("name", &"é".repeat(40), 64).unwrap_err();
        assert!(error.message.contains("contains 'é'"), "{error}");
        assert!(!error.message.contains("long"), "{error}");
        let error = check_identifier("name", &"é".repeat(70), 64).unwrap_err();
        assert!(error.message.contains("contains 'é'"), "{error}");
    }

    #[test]
    fn quote_shortens_long_values() {
        let quoted = quote(&"a".repeat(200));
        assert!(quoted.ends_with("... (200 bytes)"), "{quoted}");
    }
}
