//! The crate's error types.

use std::path::PathBuf;

/// Everything that stops `gait-release` from signing or verifying at all.
///
/// A release that is present but does not verify is not an error: it is a
/// [`VerifyReport`](crate::VerifyReport) with failures. Every variant names
/// the file or field it concerns; [`is_io`](Self::is_io) tells the local
/// environment's failures (exit 1) from bad input (exit 6).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The release directory could not be read.
    #[error("{}: {source}", path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The release path is not a directory.
    #[error("{}: not a directory", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// A release entry is a subdirectory, symlink or special file.
    #[error("{}: a release holds regular files only (no subdirectory, symlink or special file)", path.display())]
    NotARegularFile {
        /// The entry.
        path: PathBuf,
    },
    /// A file name cannot go on a checksum line.
    #[error("{}: file name cannot be listed in SHA256SUMS", path.display())]
    UnlistableName {
        /// The file.
        path: PathBuf,
    },
    /// The directory holds no release file.
    #[error("{}: no release file to sign", path.display())]
    NoReleaseFile {
        /// The directory.
        path: PathBuf,
    },
    /// A file could not be hashed.
    #[error("{}: {source}", path.display())]
    Hash {
        /// The file.
        path: PathBuf,
        /// Why it could not be read.
        #[source]
        source: FileError,
    },
    /// The build information for the provenance statement is invalid.
    #[error(transparent)]
    BuildInfo(#[from] BuildInfoError),
    /// A generated file could not be written.
    #[error("{}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why the write failed.
        #[source]
        source: gait_sign::Error,
    },
}

impl Error {
    /// Whether the failure is the local environment's (exit 1) rather than
    /// the input's (exit 6).
    pub fn is_io(&self) -> bool {
        matches!(self, Error::Write { .. })
    }
}

/// Why a file of a release could not be read or hashed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// A directory, symlink or special file where a regular file belongs.
    #[error("not a regular file")]
    NotRegular,
    /// Larger than the limit for its kind.
    #[error("larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// Opening or reading failed.
    #[error("{0}")]
    Io(#[source] std::io::Error),
}

/// A field of [`BuildInfo`](crate::BuildInfo) that is not valid; the
/// message starts with the field name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildInfoError {
    /// `builder_id` is empty.
    #[error("builder_id: must not be empty")]
    EmptyBuilderId,
    /// `source_commit` is not a 40 or 64 hex character commit id.
    #[error("source_commit: must be a 40 or 64 hex character git commit id, found {commit:?}")]
    SourceCommit {
        /// The value given (trimmed).
        commit: String,
    },
    /// `cargo_lock_sha256` is not 64 hex characters.
    #[error("cargo_lock_sha256: must be 64 hex characters")]
    CargoLockDigest,
}

impl BuildInfoError {
    /// The name of the bad field.
    pub fn field(&self) -> &'static str {
        match self {
            BuildInfoError::EmptyBuilderId => "builder_id",
            BuildInfoError::SourceCommit { .. } => "source_commit",
            BuildInfoError::CargoLockDigest => "cargo_lock_sha256",
        }
    }
}

/// Why a `SHA256SUMS` file does not parse; the message names the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SumsError {
    /// The file is not UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
    /// The file is empty.
    #[error("empty: no file is listed")]
    Empty,
    /// The last line has no newline.
    #[error("last line does not end with a newline")]
    MissingFinalNewline,
    /// A line is not `<hex>  <name>`.
    #[error("line {line}: expected `<sha256 hex>  <name>`")]
    Malformed {
        /// 1-based line number.
        line: usize,
    },
    /// The digest is not 64 lowercase hex characters.
    #[error("line {line}: digest is not 64 lowercase hex characters")]
    Digest {
        /// 1-based line number.
        line: usize,
    },
    /// The digest does not parse.
    #[error("line {line}: {source}")]
    DigestParse {
        /// 1-based line number.
        line: usize,
        /// The parser's reason.
        #[source]
        source: gait_digest::Error,
    },
    /// The file name is not one a release may hold.
    #[error("line {line}: invalid file name {name:?}")]
    InvalidName {
        /// 1-based line number.
        line: usize,
        /// The name.
        name: String,
    },
    /// The names are not strictly increasing.
    #[error("line {line}: {name:?} is out of order or listed twice")]
    OutOfOrder {
        /// 1-based line number.
        line: usize,
        /// The name.
        name: String,
    },
}

/// Why a provenance statement is not one this crate accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProvenanceError {
    /// `_type` is not an in-toto Statement v1.
    #[error("_type must be {}", crate::STATEMENT_TYPE)]
    StatementType,
    /// `predicateType` is not SLSA Provenance v1.
    #[error("predicateType must be {}", crate::PREDICATE_TYPE)]
    PredicateType,
    /// `subject` is not an array.
    #[error("subject must be an array")]
    SubjectNotArray,
    /// A subject lacks its name or SHA-256.
    #[error("subject[{index}] needs name and digest.sha256")]
    Subject {
        /// Index in `subject`.
        index: usize,
    },
}
