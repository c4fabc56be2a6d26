//! The crate's error type.

/// Why a request got no decision. Every error means "do not execute".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The request or its payload is invalid (exit 6, HTTP 400).
    #[error("{0}")]
    InvalidInput(String),
    /// The request body is larger than the configured cap (HTTP 413).
    #[error("request body exceeds max-request-bytes ({0})")]
    TooLarge(usize),
    /// The decision could not be made or its trace not written (exit 1,
    /// HTTP 500). No verdict is returned.
    #[error("{0}")]
    Internal(String),
    /// Configuration error at startup (exit 6).
    #[error("{0}")]
    Config(String),
}

impl ServeError {
    /// The `gait` exit code of the error.
    pub fn exit_code(&self) -> u8 {
        match self {
            ServeError::InvalidInput(_) | ServeError::TooLarge(_) | ServeError::Config(_) => 6,
            ServeError::Internal(_) => 1,
        }
    }

    /// The HTTP status of the error.
    pub fn http_status(&self) -> u16 {
        match self {
            ServeError::InvalidInput(_) | ServeError::Config(_) => 400,
            ServeError::TooLarge(_) => 413,
            ServeError::Internal(_) => 500,
        }
    }
}
