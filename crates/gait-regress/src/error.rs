//! The one error type of this crate.

/// Why a regress or capture operation could not complete.
///
/// The variant is the exit-code class: [`Invalid`](Self::Invalid) and
/// [`Unsupported`](Self::Unsupported) are bad input (exit 6),
/// [`Io`](Self::Io) a failure of the local environment (exit 1). A
/// regression itself is not an error: it is a [`RunResult`](crate::RunResult)
/// whose status is `fail`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegressError {
    /// Bad input: a missing or malformed config, fixture or source.
    #[error("{0}")]
    Invalid(String),
    /// An input this build does not handle yet (session chains).
    #[error("{0}")]
    Unsupported(String),
    /// Reading or writing local files failed.
    #[error("{0}")]
    Io(String),
}

impl RegressError {
    /// Whether this is an I/O failure of the local environment (exit 1).
    pub fn is_io(&self) -> bool {
        matches!(self, RegressError::Io(_))
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        RegressError::Invalid(msg.into())
    }

    pub(crate) fn from_runpack(context: &str, e: &gait_pack::runpack::RunpackError) -> Self {
        if e.is_io() {
            RegressError::Io(format!("{context}: {e}"))
        } else {
            RegressError::Invalid(format!("{context}: {e}"))
        }
    }
}
