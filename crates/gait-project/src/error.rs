//! The one error type of this crate.

/// Why a project file could not be read or written.
///
/// [`Invalid`](Self::Invalid) is bad input (exit 6), [`Io`](Self::Io) a
/// failure of the local environment (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProjectError {
    /// A missing or malformed file, an unknown template, a bad value.
    #[error("{0}")]
    Invalid(String),
    /// Writing failed.
    #[error("{0}")]
    Io(String),
}

impl ProjectError {
    /// Whether this is an I/O failure (exit 1).
    pub fn is_io(&self) -> bool {
        matches!(self, ProjectError::Io(_))
    }
}
