//! Errors from loading a policy.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why a policy could not be loaded.
///
/// Every variant knows the file it came from (when loaded with
/// [`Policy::from_path`](super::Policy::from_path)) and, where one exists, the
/// 1-based line and column of the offending YAML node (`0` when unknown) and
/// the dotted path of the field, such as `rules[2].match.endpoint_classes[0]`
/// (`rules[i]` counts rules in file order, before sorting). The reference
/// reports all of these as exit code 6.
///
/// `Display` renders `path:line:column: field: message`, leaving out what is
/// unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The file could not be read.
    #[error("{}read policy: {message}", Loc(.path.as_deref(), 0, 0))]
    Io {
        /// The file.
        path: Option<PathBuf>,
        /// The operating system's message.
        message: String,
    },
    /// The input is larger than [`MAX_POLICY_BYTES`](super::MAX_POLICY_BYTES).
    #[error("{}policy is {size} bytes, more than the limit of {limit}", Loc(.path.as_deref(), 0, 0))]
    TooLarge {
        /// The file, if any.
        path: Option<PathBuf>,
        /// The input's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// The input is not UTF-8.
    #[error("{}policy is not valid UTF-8", Loc(.path.as_deref(), 0, 0))]
    NotUtf8 {
        /// The file, if any.
        path: Option<PathBuf>,
    },
    /// The YAML itself is malformed, has more than one document, or exceeds a
    /// resource budget (for example an alias bomb).
    #[error("{}invalid policy yaml: {message}", Loc(.path.as_deref(), *.line, *.column))]
    Syntax {
        /// The file, if any.
        path: Option<PathBuf>,
        /// Line (1-based, 0 if unknown).
        line: u64,
        /// Column (1-based, 0 if unknown).
        column: u64,
        /// The YAML parser's message.
        message: String,
    },
    /// A mapping has the same key twice.
    #[error("{}duplicate key {key:?}", Loc(.path.as_deref(), *.line, *.column))]
    DuplicateKey {
        /// The file, if any.
        path: Option<PathBuf>,
        /// Line of the second occurrence.
        line: u64,
        /// Column of the second occurrence.
        column: u64,
        /// The repeated key.
        key: String,
    },
    /// The top level uses keys of the withdrawn policy proposal format.
    #[error("{}{message}", Loc(.path.as_deref(), *.line, *.column))]
    LegacyFields {
        /// The file, if any.
        path: Option<PathBuf>,
        /// Line of the first legacy key.
        line: u64,
        /// Column of the first legacy key.
        column: u64,
        /// The legacy keys found, in the reference's canonical order.
        fields: Vec<String>,
        /// The full message, with each key's replacement.
        message: String,
    },
    /// A key that `gait.gate.policy` 1.0.0 does not define.
    #[error("{}{field}: unknown field", Loc(.path.as_deref(), *.line, *.column))]
    UnknownField {
        /// The file, if any.
        path: Option<PathBuf>,
        /// Line of the key.
        line: u64,
        /// Column of the key.
        column: u64,
        /// Dotted path of the unknown key.
        field: String,
    },
    /// A value of the wrong YAML type.
    #[error("{}{field}: expected {expected}, found {found}", Loc(.path.as_deref(), *.line, *.column))]
    WrongType {
        /// The file, if any.
        path: Option<PathBuf>,
        /// Line of the value.
        line: u64,
        /// Column of the value.
        column: u64,
        /// Dotted path of the field.
        field: String,
        /// What the field takes.
        expected: &'static str,
        /// What the YAML holds.
        found: &'static str,
    },
    /// A well-typed value that the policy rules reject (unknown verdict,
    /// negative count, missing required field, ...).
    #[error("{}{field}: {message}", Loc(.path.as_deref(), *.line, *.column))]
    Invalid {
        /// The file, if any.
        path: Option<PathBuf>,
        /// Line of the value (or of its enclosing mapping).
        line: u64,
        /// Column of the value (or of its enclosing mapping).
        column: u64,
        /// Dotted path of the field.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl PolicyError {
    /// The file the policy was loaded from, if it was loaded from a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Io { path, .. }
            | Self::TooLarge { path, .. }
            | Self::NotUtf8 { path }
            | Self::Syntax { path, .. }
            | Self::DuplicateKey { path, .. }
            | Self::LegacyFields { path, .. }
            | Self::UnknownField { path, .. }
            | Self::WrongType { path, .. }
            | Self::Invalid { path, .. } => path.as_deref(),
        }
    }

    /// The 1-based line and column of the problem, if known.
    pub fn position(&self) -> Option<(u64, u64)> {
        let (line, column) = match self {
            Self::Io { .. } | Self::TooLarge { .. } | Self::NotUtf8 { .. } => return None,
            Self::Syntax { line, column, .. }
            | Self::DuplicateKey { line, column, .. }
            | Self::LegacyFields { line, column, .. }
            | Self::UnknownField { line, column, .. }
            | Self::WrongType { line, column, .. }
            | Self::Invalid { line, column, .. } => (*line, *column),
        };
        (line > 0).then_some((line, column))
    }

    /// The dotted path of the offending field, if the error is about one.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::UnknownField { field, .. }
            | Self::WrongType { field, .. }
            | Self::Invalid { field, .. } => Some(field),
            Self::DuplicateKey { key, .. } => Some(key),
            _ => None,
        }
    }

    /// Attaches the file the policy was read from.
    pub(crate) fn with_path(mut self, file: &Path) -> Self {
        match &mut self {
            Self::Io { path, .. }
            | Self::TooLarge { path, .. }
            | Self::NotUtf8 { path }
            | Self::Syntax { path, .. }
            | Self::DuplicateKey { path, .. }
            | Self::LegacyFields { path, .. }
            | Self::UnknownField { path, .. }
            | Self::WrongType { path, .. }
            | Self::Invalid { path, .. } => *path = Some(file.to_path_buf()),
        }
        self
    }
}

/// Renders the `path:line:column: ` prefix of a message.
struct Loc<'a>(Option<&'a Path>, u64, u64);

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Loc(path, line, column) = *self;
        match (path, line) {
            (Some(p), 0) => write!(f, "{}: ", p.display()),
            (Some(p), l) => write!(f, "{}:{l}:{column}: ", p.display()),
            (None, 0) => Ok(()),
            (None, l) => write!(f, "line {l} column {column}: "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_includes_path_position_and_field() {
        let e = PolicyError::UnknownField {
            path: None,
            line: 3,
            column: 5,
            field: "rules[0].match.tool_nam".into(),
        };
        assert_eq!(
            e.to_string(),
            "line 3 column 5: rules[0].match.tool_nam: unknown field"
        );
        let e = e.with_path(Path::new("p.yaml"));
        assert_eq!(
            e.to_string(),
            "p.yaml:3:5: rules[0].match.tool_nam: unknown field"
        );
        assert_eq!(e.path(), Some(Path::new("p.yaml")));
        assert_eq!(e.position(), Some((3, 5)));
        assert_eq!(e.field(), Some("rules[0].match.tool_nam"));
    }

    #[test]
    fn unknown_position_is_left_out() {
        let e = PolicyError::Io {
            path: Some("x.yaml".into()),
            message: "not found".into(),
        };
        assert_eq!(e.to_string(), "x.yaml: read policy: not found");
        assert_eq!(e.position(), None);
        assert_eq!(e.field(), None);
    }
}
