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

/// Why a payload entry, a job record or a guard manifest breaks its
/// contract (the checks of [`RunPayload::validate`](super::RunPayload::validate),
/// [`check_job_contract`](super::check_job_contract),
/// [`context_envelope`](super::context_envelope) and the strict parsers).
/// The message names the entry and field.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// Not strict JSON: malformed, a repeated member, a trailing value.
    #[error("{0}")]
    Json(#[source] gait_digest::Error),
    /// JSON of the wrong shape: an unknown member, a wrong type.
    #[error("{0}")]
    Shape(#[source] serde_json::Error),
    /// A rule of the contract does not hold (the message names the field).
    #[error("{0}")]
    Rule(&'static str),
    /// A required entry is absent.
    #[error("missing {0}")]
    MissingEntry(&'static str),
    /// An entry could not be read from the archive.
    #[error("read {entry}: {source}")]
    Read {
        /// The entry.
        entry: String,
        /// The archive error.
        #[source]
        source: crate::archive::ArchiveError,
    },
    /// An entry does not parse.
    #[error("parse {entry}: {source}")]
    Parse {
        /// The entry.
        entry: &'static str,
        /// Why.
        #[source]
        source: Box<ContractError>,
    },
    /// A `job_events.jsonl` line is longer than the limit.
    #[error("parse job_events.jsonl line {line}: line too long")]
    EventLineTooLong {
        /// 1-based line number.
        line: usize,
    },
    /// A `job_events.jsonl` line does not parse.
    #[error("parse job_events.jsonl line {line}: {source}")]
    Event {
        /// 1-based line number.
        line: usize,
        /// Why.
        #[source]
        source: Box<ContractError>,
    },
    /// The pack type has no payload contract in this build.
    #[error("pack type {0} not supported by this build")]
    UnsupportedType(String),
}

impl ContractError {
    pub(crate) fn parse(entry: &'static str, e: ContractError) -> Self {
        ContractError::Parse {
            entry,
            source: Box::new(e),
        }
    }
}

/// Decodes one JSON value strictly: repeated members and trailing values
/// refused (by the strict parser), then unknown members (by serde).
pub(crate) fn parse_strict<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, ContractError> {
    let value = gait_digest::canonical::parse_strict(bytes).map_err(ContractError::Json)?;
    serde_json::from_value(value).map_err(ContractError::Shape)
}
