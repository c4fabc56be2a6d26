//! The one error type of this crate.

use gait_pack::archive::ArchiveError;
use gait_pack::runpack::RunpackError;

/// Why a regress or capture operation could not complete.
///
/// [`is_io`](Self::is_io) gives the exit-code class: a failure of the local
/// environment (exit 1) or bad input (exit 6). A regression itself is not
/// an error: it is a [`RunResult`](crate::RunResult) whose status is
/// [`Fail`](crate::Status::Fail). Errors of the crates below are kept as
/// the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegressError {
    /// Bad input found by this crate: a malformed config, fixture,
    /// receipt or source, an unknown name. The message names the file or
    /// field.
    #[error("{0}")]
    Invalid(String),
    /// An input this build does not handle yet.
    #[error("{0}")]
    Unsupported(String),
    /// A runpack could not be resolved, read or verified.
    #[error("{context}: {source}")]
    Runpack {
        /// What was being done (`verify source runpack <path>`).
        context: String,
        /// The runpack error; its class decides [`is_io`](Self::is_io).
        #[source]
        source: RunpackError,
    },
    /// A gate trace given as a capture source is not a valid record.
    #[error("{path} is not a valid gate trace record: {source}")]
    TraceRecord {
        /// The trace file as given.
        path: String,
        /// What is wrong with it.
        #[source]
        source: crate::capture::TraceRecordError,
    },
    /// A session chain or its checkpoint does not resolve or verify.
    #[error("{0}")]
    SessionChain(#[source] RunpackError),
    /// A pack given as a source could not be opened or read.
    #[error("{context}: {source}")]
    Archive {
        /// What was being done (`open pack <path>`).
        context: String,
        /// The archive error.
        #[source]
        source: ArchiveError,
    },
    /// An input file could not be read.
    #[error("{context}: {source}")]
    Read {
        /// What was being read (`read fixture metadata <path>`).
        context: String,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The fixtures directory could not be listed.
    #[error("list fixtures: {0}")]
    ListFixtures(#[source] std::io::Error),
    /// A value could not be encoded as JSON.
    #[error("encode json: {0}")]
    Encode(#[source] serde_json::Error),
    /// An output file could not be written.
    #[error("{context}: {source}")]
    Write {
        /// What was being written (`write regress result <path>`).
        context: String,
        /// Why the write failed.
        #[source]
        source: gait_sign::Error,
    },
}

impl RegressError {
    /// Whether this is an I/O failure of the local environment (exit 1).
    pub fn is_io(&self) -> bool {
        match self {
            RegressError::Runpack { source, .. } => source.is_io(),
            RegressError::ListFixtures(_)
            | RegressError::Encode(_)
            | RegressError::Write { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        RegressError::Invalid(msg.into())
    }

    pub(crate) fn from_runpack(context: &str, e: RunpackError) -> Self {
        RegressError::Runpack {
            context: context.to_owned(),
            source: e,
        }
    }
}
