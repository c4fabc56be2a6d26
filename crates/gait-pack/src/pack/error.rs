//! Why a pack operation failed, classified for the exit-code contract.

/// A pack operation that could not produce a report.
///
/// The class decides the CLI exit code:
/// [`is_verification_failure`](Self::is_verification_failure) (2),
/// [`is_io`](Self::is_io) (1), anything else is bad input such as a file
/// that is not a pack at all (6). A zip-layer or runpack error is kept as
/// the [`source`](std::error::Error::source) and decides the class.
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
    /// The zip layer refused the file: an unsafe or corrupt archive is a
    /// verification failure, anything else (not a zip, unreadable) bad
    /// input.
    #[error("{}", prefixed(context, source))]
    Archive {
        /// What was being done (`open zip`, `hash <entry>`).
        context: String,
        /// The archive error.
        #[source]
        source: crate::archive::ArchiveError,
    },
    /// The runpack a pack is built from, or verified as, could not be read
    /// or does not verify; the class is the runpack error's.
    #[error("{}", prefixed(context, source))]
    Runpack {
        /// What was being done (`read runpack`); may be empty.
        context: String,
        /// The runpack error.
        #[source]
        source: crate::runpack::RunpackError,
    },
}

/// `<context>: <source>`, or the source alone without a context.
fn prefixed(context: &str, source: &dyn std::fmt::Display) -> String {
    if context.is_empty() {
        source.to_string()
    } else {
        format!("{context}: {source}")
    }
}

impl PackError {
    /// Whether this is a verification failure (exit 2).
    pub fn is_verification_failure(&self) -> bool {
        match self {
            PackError::Verification(_) => true,
            PackError::Archive { source, .. } => {
                matches!(source, crate::archive::ArchiveError::Unsafe(_))
            }
            PackError::Runpack { source, .. } => source.is_verification_failure(),
            PackError::Invalid(_) | PackError::Io(_) => false,
        }
    }

    /// Whether this is a local I/O failure (exit 1).
    pub fn is_io(&self) -> bool {
        match self {
            PackError::Io(_) => true,
            PackError::Runpack { source, .. } => source.is_io(),
            PackError::Verification(_) | PackError::Invalid(_) | PackError::Archive { .. } => false,
        }
    }

    pub(crate) fn verification(message: impl Into<String>) -> Self {
        PackError::Verification(message.into())
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        PackError::Invalid(message.into())
    }
}

/// An archive error met while doing `context`: an unreadable file or a
/// non-zip is bad input; an unsafe or corrupt archive (CRC mismatch,
/// inconsistent headers, bad names) is a verification failure.
pub(crate) fn from_archive(
    context: impl Into<String>,
    source: crate::archive::ArchiveError,
) -> PackError {
    PackError::Archive {
        context: context.into(),
        source,
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
    /// A rule of the contract does not hold; the message names the entry,
    /// line or value.
    #[error("{0}")]
    Detail(String),
    /// A required entry is absent.
    #[error("missing {0}")]
    MissingEntry(&'static str),
    /// A required entry whose name is computed is absent
    /// (`evidence/<path>` of an authorization pack).
    #[error("missing {0}")]
    MissingNamedEntry(String),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::ArchiveError;
    use crate::runpack::RunpackError;
    use std::error::Error as _;

    #[test]
    fn wrapped_errors_keep_their_class_text_and_source() {
        let unsafe_zip = from_archive("open zip", ArchiveError::Unsafe("bad name".into()));
        assert!(unsafe_zip.is_verification_failure());
        assert!(!unsafe_zip.is_io());
        assert_eq!(
            unsafe_zip.to_string(),
            "open zip: unsafe zip archive: bad name"
        );
        assert!(unsafe_zip.source().is_some());
        let not_zip = from_archive("open zip", ArchiveError::NotAnArchive("eof".into()));
        assert!(!not_zip.is_verification_failure() && !not_zip.is_io());
        assert_eq!(
            not_zip.to_string(),
            "open zip: not a readable zip archive: eof"
        );

        let io = PackError::Runpack {
            context: String::new(),
            source: RunpackError::Io("disk full".into()),
        };
        assert!(io.is_io() && !io.is_verification_failure());
        assert_eq!(io.to_string(), "disk full");
        let tampered = PackError::Runpack {
            context: "read runpack".into(),
            source: RunpackError::Verification("hash mismatch".into()),
        };
        assert!(tampered.is_verification_failure());
        assert_eq!(tampered.to_string(), "read runpack: hash mismatch");
    }
}
