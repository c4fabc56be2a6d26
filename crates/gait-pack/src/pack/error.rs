//! Why a pack operation failed, classified for the exit-code contract.

/// A pack operation that could not produce a report.
///
/// The class decides the CLI exit code: [`PackError::Verification`] is a
/// verification failure (2), [`PackError::Invalid`] is bad input such as a
/// file that is not a pack at all (6), [`PackError::Io`] is a local I/O
/// failure while writing (1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// The artifact is readable but does not verify (tampered, duplicate
    /// entries, wrong pack id, bad proof records, broken payload contract).
    #[error("{0}")]
    Verification(String),
    /// The input is not usable: unreadable, not a zip, not a pack, invalid
    /// options.
    #[error("{0}")]
    Invalid(String),
    /// Writing the output failed.
    #[error("{0}")]
    Io(String),
}

impl PackError {
    /// Whether this is a verification failure (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        matches!(self, PackError::Verification(_))
    }

    /// Whether this is a local I/O failure (exit 1).
    pub fn is_io(&self) -> bool {
        matches!(self, PackError::Io(_))
    }

    pub(crate) fn verification(message: impl Into<String>) -> Self {
        PackError::Verification(message.into())
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        PackError::Invalid(message.into())
    }

    /// Prefixes the message with `context: `, keeping the class.
    pub(crate) fn context(self, context: &str) -> Self {
        match self {
            PackError::Verification(m) => PackError::Verification(format!("{context}: {m}")),
            PackError::Invalid(m) => PackError::Invalid(format!("{context}: {m}")),
            PackError::Io(m) => PackError::Io(format!("{context}: {m}")),
        }
    }
}

/// Maps an archive error: an unreadable file or a non-zip is bad input; an
/// unsafe or corrupt archive (CRC mismatch, inconsistent headers, bad
/// names) is a verification failure.
pub(crate) fn from_archive(e: crate::archive::ArchiveError) -> PackError {
    use crate::archive::ArchiveError;
    match e {
        ArchiveError::Unsafe(_) => PackError::Verification(e.to_string()),
        ArchiveError::NotAnArchive(_) | ArchiveError::Missing(_) | ArchiveError::Io(_) => {
            PackError::Invalid(e.to_string())
        }
    }
}
