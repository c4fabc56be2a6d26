//! The crate's error type.

/// Everything that can go wrong in `gait-digest`.
///
/// Messages never contain more than a short excerpt of the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not well-formed JSON (or not I-JSON: a lone surrogate, a
    /// number out of the f64 range, nesting deeper than the limit).
    #[error("invalid JSON at line {line} column {column}: {message}")]
    Json {
        /// 1-based line of the error, 0 when unknown.
        line: usize,
        /// 1-based column of the error, 0 when unknown.
        column: usize,
        /// What the parser saw.
        message: String,
    },
    /// An object holds the same member name twice (RFC 8785 requires I-JSON).
    #[error("duplicate key {key:?} in JSON object at line {line} column {column}")]
    DuplicateKey {
        /// The repeated member name.
        key: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// A value could not be turned into JSON (for example a map with
    /// non-string keys, or a non-finite float).
    #[error("value cannot be represented as JSON: {0}")]
    Unrepresentable(String),
    /// A digest string is not 64 hexadecimal characters.
    #[error("invalid sha256 digest {0:?}: expected 64 hex characters")]
    InvalidDigest(String),
    /// A timestamp is not RFC 3339.
    #[error("invalid RFC 3339 time {input:?}: {reason}")]
    InvalidTime {
        /// The offending text (truncated to 64 characters).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An identifier holds a character with no place in one line of
    /// visible text (see [`crate::identifier_control_char`]).
    #[error(
        "{field} contains a control character (U+{:04X}); identifiers must be one line of visible text",
        u32::from(*.found)
    )]
    ControlCharacter {
        /// The field (or flag) the identifier came from.
        field: String,
        /// The first refused character.
        found: char,
    },
    /// A duration is not Go `time.ParseDuration` syntax, or overflows
    /// Go's `int64` nanoseconds.
    #[error("time: invalid duration {input:?}")]
    InvalidDuration {
        /// The whole duration text.
        input: String,
    },
    /// A number of a duration has no unit.
    #[error("time: missing unit in duration {input:?}")]
    MissingDurationUnit {
        /// The whole duration text.
        input: String,
    },
    /// A duration names a unit Go does not know.
    #[error("time: unknown unit {unit:?} in duration {input:?}")]
    UnknownDurationUnit {
        /// The unit as written.
        unit: String,
        /// The whole duration text.
        input: String,
    },
}

pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
