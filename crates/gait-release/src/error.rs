//! The crate's error type.

use std::path::PathBuf;

/// Everything that stops `gait-release` from signing or verifying at all.
///
/// A release that is present but does not verify is not an error: it is a
/// [`VerifyReport`](crate::VerifyReport) with failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is unusable: a missing or unreadable directory, a file
    /// name that cannot be listed, a subdirectory or symlink in a release,
    /// a provenance field that is not valid.
    #[error("{}: {reason}", path.display())]
    Input {
        /// The file or directory concerned.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be written or hashed because of the local
    /// environment.
    #[error("{}: {reason}", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The operating system's reason.
        reason: String,
    },
}

impl Error {
    /// Whether the failure is the local environment's (exit 1) rather than
    /// the input's (exit 6).
    pub fn is_io(&self) -> bool {
        matches!(self, Error::Io { .. })
    }
}
