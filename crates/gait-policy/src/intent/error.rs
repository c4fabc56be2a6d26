//! The intent error type and the lazily rendered field paths it names.

use std::fmt;

/// Why an intent request is invalid.
///
/// Every variant except [`IntentError::Json`] names the offending field as a
/// path such as `targets[2].kind` or `context.sandbox.writable_paths[0]`,
/// with indexes counted in the *input* (before de-duplication and sorting).
/// The reference rejects all of these with exit code 6.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IntentError {
    /// The input is not strict JSON (syntax error, duplicate member name,
    /// lone surrogate, number outside the f64 range, trailing data).
    #[error("invalid intent JSON: {message}")]
    Json {
        /// What the parser reported.
        message: String,
    },
    /// A field holds a JSON value of the wrong type (the reference's typed
    /// decoding fails).
    #[error("{path}: expected {expected}, found {found}")]
    Type {
        /// The field.
        path: String,
        /// The JSON type the field needs.
        expected: &'static str,
        /// The JSON type the input has.
        found: &'static str,
    },
    /// A timestamp is not RFC 3339.
    #[error("{path}: invalid RFC 3339 time {value:?}")]
    Time {
        /// The field.
        path: String,
        /// The offending text (truncated).
        value: String,
    },
    /// A required field is empty or missing after normalization.
    #[error("{path}: required")]
    Missing {
        /// The field.
        path: String,
    },
    /// A field holds a value outside its closed set.
    #[error("{path}: unsupported value {value:?}")]
    Unsupported {
        /// The field.
        path: String,
        /// The normalized value (truncated).
        value: String,
    },
    /// Two member names of one object are equal ignoring letter case (the
    /// reference's decoding would pick one of them by case-insensitive
    /// matching, an exact-key reader the other). A deliberate difference
    /// from the reference, which accepts such input.
    #[error(
        "{path}: member names {first:?} and {second:?} differ only in letter case; \
         refusing the ambiguous object"
    )]
    CaseVariantMembers {
        /// The object.
        path: String,
        /// The earlier member name (truncated).
        first: String,
        /// The later member name (truncated).
        second: String,
    },
    /// An integer literal beyond ±(2^53 − 1), which an IEEE double (and so
    /// the digest) cannot hold exactly. A deliberate difference from the
    /// reference, which rounds it.
    #[error(
        "{path}: integer {literal} is beyond 2^53-1 and cannot be represented exactly \
         (digests round it); send such ids as strings"
    )]
    ImpreciseInteger {
        /// The number.
        path: String,
        /// The literal (truncated).
        literal: String,
    },
    /// Any other rule violation (digest format, time ordering, delegation
    /// chain continuity, raw credential material, ...).
    #[error("{path}: {reason}")]
    Invalid {
        /// The field.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl IntentError {
    /// The path of the offending field, when the error is about one field.
    pub fn path(&self) -> Option<&str> {
        match self {
            IntentError::Json { .. } => None,
            IntentError::Type { path, .. }
            | IntentError::Time { path, .. }
            | IntentError::Missing { path }
            | IntentError::Unsupported { path, .. }
            | IntentError::Invalid { path, .. }
            | IntentError::CaseVariantMembers { path, .. }
            | IntentError::ImpreciseInteger { path, .. } => Some(path),
        }
    }

    pub(crate) fn missing(path: &FieldPath<'_>) -> Self {
        IntentError::Missing {
            path: path.render(),
        }
    }

    pub(crate) fn unsupported(path: &FieldPath<'_>, value: &str) -> Self {
        IntentError::Unsupported {
            path: path.render(),
            value: excerpt(value),
        }
    }

    pub(crate) fn invalid(path: &FieldPath<'_>, reason: impl Into<String>) -> Self {
        IntentError::Invalid {
            path: path.render(),
            reason: reason.into(),
        }
    }
}

/// Truncates `s` to at most 64 bytes (on a character boundary) for messages.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_owned();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", s.get(..end).unwrap_or_default())
}

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    /// The document root, rendered as its label when the path is the root
    /// alone.
    Root(&'static str),
    Key(&'a str),
    Index(usize),
}

/// A field path built on the stack while walking the input and rendered to a
/// string only when an error is reported.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FieldPath<'a> {
    parent: Option<&'a FieldPath<'a>>,
    segment: Segment<'a>,
}

impl FieldPath<'static> {
    /// The document root.
    pub(crate) const ROOT: FieldPath<'static> = FieldPath::root("intent");

    /// The root of another document (a tool-call payload), rendered as
    /// `label` when the path is the root alone.
    pub(crate) const fn root(label: &'static str) -> FieldPath<'static> {
        FieldPath {
            parent: None,
            segment: Segment::Root(label),
        }
    }
}

impl<'a> FieldPath<'a> {
    /// The member `key` of this object.
    pub(crate) fn key<'b>(&'b self, key: &'b str) -> FieldPath<'b> {
        FieldPath {
            parent: Some(self),
            segment: Segment::Key(key),
        }
    }

    /// The element `index` of this array.
    pub(crate) fn index(&self, index: usize) -> FieldPath<'_> {
        FieldPath {
            parent: Some(self),
            segment: Segment::Index(index),
        }
    }

    /// `a.b[2].c`; the root alone renders as `intent`.
    pub(crate) fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut node = Some(self);
        while let Some(n) = node {
            segments.push(n.segment);
            node = n.parent;
        }
        let mut out = String::new();
        let mut label = "intent";
        for segment in segments.iter().rev() {
            match segment {
                Segment::Root(l) => label = l,
                Segment::Key(k) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out.push_str(k);
                }
                Segment::Index(i) => {
                    out.push('[');
                    out.push_str(&i.to_string());
                    out.push(']');
                }
            }
        }
        if out.is_empty() {
            out.push_str(label);
        }
        out
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_paths() {
        let root = FieldPath::ROOT;
        assert_eq!(root.render(), "intent");
        let targets = root.key("targets");
        let t2 = targets.index(2);
        assert_eq!(t2.key("kind").render(), "targets[2].kind");
        let ctx = root.key("context");
        let sb = ctx.key("sandbox");
        assert_eq!(
            sb.key("writable_paths").index(0).render(),
            "context.sandbox.writable_paths[0]"
        );
    }

    #[test]
    fn messages_name_the_field() {
        let root = FieldPath::ROOT;
        let t = root.key("targets");
        let t2 = t.index(2);
        let err = IntentError::unsupported(&t2.key("kind"), "foo");
        assert_eq!(
            err.to_string(),
            r#"targets[2].kind: unsupported value "foo""#
        );
        assert_eq!(err.path(), Some("targets[2].kind"));
        assert_eq!(
            IntentError::Json {
                message: "x".into()
            }
            .path(),
            None
        );
    }

    #[test]
    fn excerpts_long_values() {
        let long = "é".repeat(100);
        let e = excerpt(&long);
        assert!(e.len() <= 64 + '…'.len_utf8());
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("short"), "short");
    }
}
