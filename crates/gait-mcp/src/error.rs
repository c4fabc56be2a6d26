//! The error type of this crate.

use std::path::PathBuf;

/// Why the proxy could not start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No server command was given.
    #[error("invalid proxy configuration: no MCP server command given")]
    NoServerCommand,
    /// The message size limit is zero.
    #[error("invalid proxy configuration: the message size limit must be positive")]
    ZeroMessageLimit,
    /// A tool-change mode other than `block` or `warn`.
    #[error(
        "invalid proxy configuration: unsupported tool-change mode {0:?} (expected block or warn)"
    )]
    UnsupportedPinChangeMode(String),
    /// A pin file cannot be read or is not a pin file.
    #[error("invalid proxy configuration: pin file {file}: {problem}")]
    PinFile {
        /// The pin file, as given.
        file: String,
        /// What is wrong with it.
        #[source]
        problem: PinFileError,
    },
    /// The MCP server process could not be started.
    #[error("start MCP server {command}: {source}")]
    Spawn {
        /// The program that failed to start.
        command: String,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// The server's standard output could not be captured.
    #[error("server standard output unavailable")]
    ServerOutputUnavailable,
    /// A relay thread could not be started.
    #[error("start relay thread: {0}")]
    RelayThread(#[source] std::io::Error),
    /// The pins could not be encoded.
    #[error("encode pins: {0}")]
    EncodePins(#[source] serde_json::Error),
    /// The pin file could not be written.
    #[error("pin file {}: {source}", path.display())]
    WritePins {
        /// The pin file.
        path: PathBuf,
        /// Why.
        #[source]
        source: gait_sign::Error,
    },
    /// A `tools/call` could not be turned into an intent.
    #[error("tools/call: {0}")]
    Call(#[source] gait_policy::adapters::AdapterError),
}

impl Error {
    /// Whether the error is the operator's configuration (exit 6 at the
    /// CLI) rather than the environment.
    pub fn is_config(&self) -> bool {
        matches!(
            self,
            Error::NoServerCommand
                | Error::ZeroMessageLimit
                | Error::UnsupportedPinChangeMode(_)
                | Error::PinFile { .. }
        )
    }
}

/// What is wrong with a pin file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinFileError {
    /// The file could not be read.
    #[error("{0}")]
    Read(#[source] std::io::Error),
    /// The file is larger than [`crate::MAX_PIN_FILE_BYTES`].
    #[error("larger than {max} bytes", max = crate::MAX_PIN_FILE_BYTES)]
    TooLarge,
    /// The file is not strict JSON.
    #[error("{0}")]
    Json(#[source] gait_digest::Error),
    /// `schema_id` is not [`crate::PINS_SCHEMA_ID`].
    #[error("schema_id must be {id}", id = crate::PINS_SCHEMA_ID)]
    SchemaId,
    /// `schema_version` is not [`crate::PINS_SCHEMA_VERSION`].
    #[error("schema_version must be {version}", version = crate::PINS_SCHEMA_VERSION)]
    SchemaVersion,
    /// `tools` is not an object.
    #[error("tools must be an object")]
    ToolsNotObject,
    /// A tool's digest is not a SHA-256 in hex.
    #[error("tools.{0}.digest must be a SHA-256 in hex")]
    BadDigest(String),
}
